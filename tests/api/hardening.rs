//! Findings of the adversarial probe (issue 19) that belong to no one resource: JSON
//! with a key twice, problems with thousands of field errors, over-long request targets,
//! Open311 keys after their client lost the right to use them.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{on_each_backend, problem, spawn_app_with, token};
use crate::reports::{json_of, report, submit, town};

async fn report_count(app: &crate::helpers::TestApp, user: &str) -> usize {
    let listed = json_of(app.get_as("/api/v1/reports", user).await, 200).await;
    listed["data"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_key_given_twice_is_refused_and_nothing_is_stored() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let body = report("confidential").to_string();
        // The last `privacy` would have won: a confidential report stored as public.
        let twice = body.replacen(
            r#""privacy":"confidential""#,
            r#""privacy":"confidential","privacy":"normal""#,
            1,
        );
        assert_ne!(body, twice);
        let response = app
            .client
            .post(app.url("/api/v1/reports"))
            .bearer_auth(token(&t.member_a))
            .header("Content-Type", "application/json")
            .body(twice)
            .send()
            .await
            .expect("post");
        let refused = problem(response, 400).await;
        assert_eq!(refused["errors"][0]["field"], "privacy", "{refused}");
        assert_eq!(refused["errors"][0]["code"], "duplicate_key", "{refused}");
        assert_eq!(report_count(&app, token(&t.member_a)).await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_problem_lists_at_most_a_hundred_field_errors_and_counts_the_rest() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let gov = admin.session.access_token.as_str();
        let kim = app
            .create_kim_at("KIM Banyak Salah", "18.72.01.1001", "active")
            .await;
        let board = app.user(&admin, "kim_admin", Some(kim)).await;
        let consultation = json_of(
            app.post_as(
                "/api/v1/consultations",
                gov,
                &json!({
                    "title": "Jadwal posyandu",
                    "summary": "Pemerintah kota menimbang jadwal posyandu.",
                    "questions": [{"id": "setuju", "text": "Setuju?", "kind": "choice",
                                   "options": ["Ya", "Tidak"]}],
                    "audience": {"scope": "all_kims"},
                    "opens_at": (Utc::now() - Duration::minutes(1)).to_rfc3339(),
                    "closes_at": (Utc::now() + Duration::days(7)).to_rfc3339(),
                }),
            )
            .await,
            201,
        )
        .await;
        let id = consultation["id"].as_i64().expect("id");
        json_of(
            app.post_as(
                &format!("/api/v1/consultations/{id}/status"),
                gov,
                &json!({"status": "open"}),
            )
            .await,
            200,
        )
        .await;
        let answers: Vec<Value> = (0..5000)
            .map(|n| json!({"question_id": format!("q{n}"), "value": "Ya"}))
            .collect();
        let response = app
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/consultations/{id}/responses/mine"),
                Some(&board.session.access_token),
                Some(&json!({"answers": answers, "citizens_consulted": 10})),
            )
            .await;
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        assert_eq!(status, 422, "{}", &text[..text.len().min(500)]);
        assert!(text.len() < 30_000, "{} bytes", text.len());
        let refused: Value = serde_json::from_str(&text).expect("problem");
        assert_eq!(refused["errors"].as_array().map(Vec::len), Some(100));
        // 5 000 unknown questions and the one required question left unanswered.
        assert_eq!(
            refused["errors_omitted"], 4901,
            "{}",
            refused["errors_omitted"]
        );
        let mut blank_title = report("normal");
        blank_title["title"] = json!("  ");
        let small = problem(
            app.post_as("/api/v1/reports", token_of(&board), &blank_title)
                .await,
            422,
        )
        .await;
        assert!(small.get("errors_omitted").is_none(), "{small}");
    })
    .await;
}

fn token_of(user: &crate::helpers::TestUser) -> &str {
    &user.session.access_token
}

#[tokio::test]
async fn an_over_long_request_target_is_414_problem_json() {
    on_each_backend(async |app| {
        let long = format!("/api/v1/regions?q={}", "a".repeat(9 * 1024));
        let response = app.get(&long).await;
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let refused = problem(response, 414).await;
        assert_eq!(refused["code"], "uri_too_long");
        // Just under the limit is judged as usual (here: an unknown parameter).
        let under = format!("/api/v1/regions?q={}", "a".repeat(8 * 1024 - 32));
        assert_eq!(app.get(&under).await.status().as_u16(), 400);
    })
    .await;
}

/// Disabling a client, or taking `reports:write` away, revokes its Open311 keys for
/// good: enabling it again or granting the scope again does not revive them.
#[tokio::test]
async fn open311_keys_revoked_by_a_client_change_stay_revoked() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        for change in [
            json!({"disabled": true}),
            json!({"scopes": ["reports:read"]}),
        ] {
            let (client_id, _, key) = crate::open311::api_key(&app, admin).await;
            let post = || {
                app.client
                    .post(app.url("/open311/v2/requests.json"))
                    .form(&[
                        ("api_key", key.as_str()),
                        ("service_code", "infrastruktur"),
                        ("attribute[kelurahan_code]", "18.72.01.1001"),
                        ("lat", "-5.1131"),
                        ("long", "105.3067"),
                        ("description", "Jalan berlubang di depan sekolah"),
                    ])
                    .send()
            };
            assert_eq!(post().await.expect("post").status().as_u16(), 201);
            let path = format!("/api/v1/integration-clients/{client_id}");
            json_of(app.patch_as(&path, admin, &change).await, 200).await;
            assert_eq!(
                post().await.expect("post").status().as_u16(),
                403,
                "{change}"
            );
            json_of(
                app.patch_as(
                    &path,
                    admin,
                    &json!({"disabled": false, "scopes": ["reports:write"]}),
                )
                .await,
                200,
            )
            .await;
            assert_eq!(
                post().await.expect("post").status().as_u16(),
                403,
                "revoked stays revoked after {change} is undone"
            );
        }
        let _ = submit(&app, token(&t.member_a), &report("normal")).await;
    })
    .await;
}

/// Tracking lookups are limited per client address (as trusted proxies report it), so
/// codes cannot be guessed fast; another address keeps its own allowance.
#[tokio::test]
async fn tracking_lookups_are_limited_per_client_address() {
    for backend in crate::helpers::backends() {
        let app = spawn_app_with(backend, |config| {
            config.track_rate_per_minute = 3;
            config.trusted_proxies = vec![crate::helpers::loopback()];
        })
        .await;
        let t = town(&app).await;
        let created = submit(&app, token(&t.member_a), &report("normal")).await;
        let code = created["tracking_code"].as_str().expect("code").to_owned();
        let track = |from: &'static str, code: String| {
            app.client
                .get(app.url(&format!("/api/v1/reports/track/{code}")))
                .header("X-Forwarded-For", from)
                .send()
        };
        for _ in 0..3 {
            let answered = track("203.0.113.5", code.clone()).await.expect("track");
            assert_eq!(answered.status().as_u16(), 200);
        }
        let limited = track("203.0.113.5", "MTR-2222-2222".into())
            .await
            .expect("track");
        let retry_after: u64 = limited.headers()["retry-after"]
            .to_str()
            .ok()
            .and_then(|text| text.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        assert_eq!(problem(limited, 429).await["code"], "too_many_requests");
        let other = track("198.51.100.7", code.clone()).await.expect("track");
        assert_eq!(
            other.status().as_u16(),
            200,
            "another address is not limited"
        );
    }
}

/// One rule for users of a dissolved KIM: every write they could make before is now
/// `409 kim_dissolved`, and nothing is written.
#[tokio::test]
async fn a_dissolved_kims_users_can_write_nothing() {
    use crate::attachments::{PNG, decode, form};
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let gov = admin.session.access_token.clone();
        let kim = app.create_kim_at("KIM Bubar", "18.72.01.1001", "active").await;
        let board = app.user(&admin, "kim_admin", Some(kim)).await;
        let member = app.user(&admin, "kim_member", Some(kim)).await;
        let (board, member) = (board.session.access_token.clone(), member.session.access_token.clone());
        let id_of = |value: &Value| value["id"].as_i64().expect("id");
        let member_row = id_of(
            &json_of(
                app.post_as(
                    &format!("/api/v1/kims/{kim}/members"),
                    &board,
                    &json!({"full_name": "Anggota", "nik": "1872011708900911", "gender": "male",
                            "birth_date": "1990-08-17", "position": "anggota"}),
                )
                .await,
                201,
            )
            .await,
        );
        let bulletin = |title: &str| {
            json!({"title": title, "body": "Isi", "category": "umum", "audience": {"scope": "all_kims"}})
        };
        let government = id_of(&json_of(app.post_as("/api/v1/bulletins", &gov, &bulletin("Pemerintah")).await, 201).await);
        json_of(app.post_as(&format!("/api/v1/bulletins/{government}/publish"), &gov, &json!({})).await, 200).await;
        let own = id_of(&json_of(app.post_as("/api/v1/bulletins", &board, &bulletin("Milik KIM")).await, 201).await);
        let submitted = id_of(&json_of(app.post_as("/api/v1/reports", &member, &report("normal")).await, 201).await);
        let starts = Utc::now() + Duration::days(3);
        let session = id_of(
            &json_of(
                app.post_as(
                    "/api/v1/mentoring-sessions",
                    &gov,
                    &json!({"title": "Sesi", "kind": "pendampingan", "topic": "tik",
                        "starts_at": starts.to_rfc3339(), "ends_at": (starts + Duration::hours(2)).to_rfc3339(),
                        "location": "Balai", "audience": {"scope": "all_kims"}, "capacity": 5}),
                )
                .await,
                201,
            )
            .await,
        );
        let consultation = id_of(
            &json_of(
                app.post_as(
                    "/api/v1/consultations",
                    &gov,
                    &json!({"title": "Konsultasi", "summary": "Ringkasan",
                        "questions": [{"id": "setuju", "text": "Setuju?", "kind": "choice", "options": ["Ya", "Tidak"]}],
                        "audience": {"scope": "all_kims"},
                        "opens_at": (Utc::now() - Duration::minutes(1)).to_rfc3339(),
                        "closes_at": (Utc::now() + Duration::days(3)).to_rfc3339()}),
                )
                .await,
                201,
            )
            .await,
        );
        json_of(app.post_as(&format!("/api/v1/consultations/{consultation}/status"), &gov, &json!({"status": "open"})).await, 200).await;
        let activity = id_of(
            &json_of(
                app.post_as(
                    &format!("/api/v1/kims/{kim}/activities"),
                    &board,
                    &json!({"date": "2026-11-02", "kind": "diskusi", "title": "Rapat", "participants": 10, "reach": 40}),
                )
                .await,
                201,
            )
            .await,
        );
        json_of(
            app.post_as(&format!("/api/v1/kims/{kim}/status"), &gov, &json!({"status": "dissolved", "reason": "Tidak aktif lagi"}))
                .await,
            200,
        )
        .await;

        let png = form("foto.png", "image/png", &decode(PNG));
        let writes: Vec<(&str, reqwest::Method, String, &str, Option<Value>)> = vec![
            ("create bulletin", reqwest::Method::POST, "/api/v1/bulletins".into(), &board, Some(bulletin("Baru"))),
            ("edit bulletin", reqwest::Method::PATCH, format!("/api/v1/bulletins/{own}"), &board, Some(json!({"title": "Ubah"}))),
            ("publish bulletin", reqwest::Method::POST, format!("/api/v1/bulletins/{own}/publish"), &board, Some(json!({}))),
            ("delete bulletin", reqwest::Method::DELETE, format!("/api/v1/bulletins/{own}"), &board, None),
            ("acknowledge", reqwest::Method::POST, format!("/api/v1/bulletins/{government}/acknowledgements"), &member, Some(json!({"reach": 5}))),
            ("submit report", reqwest::Method::POST, "/api/v1/reports".into(), &member, Some(report("normal"))),
            ("comment", reqwest::Method::POST, format!("/api/v1/reports/{submitted}/comments"), &member, Some(json!({"body": "Masih rusak", "visibility": "public"}))),
            ("nominate", reqwest::Method::POST, format!("/api/v1/mentoring-sessions/{session}/participants"), &board, Some(json!({"member_id": member_row}))),
            ("respond", reqwest::Method::PUT, format!("/api/v1/consultations/{consultation}/responses/mine"), &board,
                Some(json!({"answers": [{"question_id": "setuju", "value": "Ya"}], "citizens_consulted": 3}))),
            ("edit profile", reqwest::Method::PATCH, format!("/api/v1/kims/{kim}"), &board, Some(json!({"description": "Baru"}))),
            ("member leaves", reqwest::Method::DELETE, format!("/api/v1/kims/{kim}/members/{member_row}"), &board, None),
            ("edit activity", reqwest::Method::PATCH, format!("/api/v1/kims/{kim}/activities/{activity}"), &board, Some(json!({"reach": 41}))),
        ];
        for (what, method, path, who, body) in writes {
            let refused = problem(app.send(method, &path, Some(who), body.as_ref()).await, 409).await;
            assert_eq!(refused["code"], "kim_dissolved", "{what}: {refused}");
        }
        for path in [
            format!("/api/v1/bulletins/{own}/attachments"),
            format!("/api/v1/reports/{submitted}/attachments"),
            format!("/api/v1/kims/{kim}/activities/{activity}/attachments"),
        ] {
            let who = if path.contains("/reports/") { &member } else { &board };
            let refused = problem(crate::attachments::upload_to(&app, &path, who, png.clone(), None).await, 409).await;
            assert_eq!(refused["code"], "kim_dissolved", "{path}");
        }
        assert_eq!(crate::attachments::stored_files(&app).await, (0, 0));
    })
    .await;
}

/// Sends a request head announcing 1 000 bytes and only the first ones of `body`, then
/// reads until the server closes the connection: what it answered.
async fn trickle(app: &crate::helpers::TestApp, head: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let request = format!("{head}Host: {address}\r\nContent-Length: 1000\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("head");
    stream
        .write_all(&body[..body.len().min(10)])
        .await
        .expect("start of the body");
    let mut answer = Vec::new();
    // Ends when the server closes the connection; the outer bound only keeps a broken
    // server from hanging the test.
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answered and closed the connection")
    .expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

/// A body that stops arriving gets `408` problem+json after `BODY_READ_TIMEOUT_SECS`,
/// and the connection closes, whichever extractor was reading it (JSON, multipart,
/// an Open311 form); nothing is kept.
#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408_and_the_connection_closes() {
    for backend in crate::helpers::backends() {
        let app = spawn_app_with(backend, |config| config.body_read_timeout_secs = 1).await;
        let t = town(&app).await;
        let bearer = format!("Authorization: Bearer {}\r\n", token(&t.member_a));
        let report_id = submit(&app, token(&t.member_a), &report("normal")).await["id"]
            .as_i64()
            .expect("id");
        for (what, head) in [
            (
                "json",
                format!("POST /api/v1/reports HTTP/1.1\r\n{bearer}Content-Type: application/json\r\n"),
            ),
            (
                "multipart",
                format!(
                    "POST /api/v1/reports/{report_id}/attachments HTTP/1.1\r\n{bearer}\
                     Content-Type: multipart/form-data; boundary={}\r\n",
                    crate::attachments::BOUNDARY
                ),
            ),
            (
                "open311 form",
                "POST /open311/v2/requests.json HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    .to_owned(),
            ),
        ] {
            let started = std::time::Instant::now();
            let answer = trickle(&app, &head, br#"{"kind": "complaint""#).await;
            assert!(answer.starts_with("HTTP/1.1 408"), "{what}: {answer}");
            assert!(answer.contains("application/problem+json"), "{what}: {answer}");
            assert!(answer.contains("\"code\":\"request_timeout\""), "{what}: {answer}");
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "{what}");
        }
        assert_eq!(
            report_count(&app, token(&t.member_a)).await,
            1,
            "nothing was stored"
        );
        assert_eq!(crate::attachments::stored_files(&app).await, (0, 0));
    }
}
