use diesel::prelude::*;
use kim_api::db::schema::{idempotency_keys, users};
use serde_json::{Value, json};

use crate::helpers::{TestApp, USER_PASSWORD, on_each_backend, problem};

async fn post_with_key(
    app: &TestApp,
    token: &str,
    key: &str,
    path: &str,
    body: &Value,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .expect("request")
}

async fn user_count(app: &TestApp) -> i64 {
    app.db
        .read(|conn| Ok(users::table.count().get_result(conn)?))
        .await
        .expect("count")
}

#[tokio::test]
async fn a_retried_create_answers_the_first_response_without_a_second_record() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let token = &admin.session.access_token;
        let body =
            json!({"username": "petugas.satu", "password": USER_PASSWORD, "role": "gov_officer"});
        let first = post_with_key(&app, token, "7b0c6b9e-retry-1", "/api/v1/users", &body).await;
        assert_eq!(first.status().as_u16(), 201);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let location = first.headers()["location"].clone();
        let first_body: Value = first.json().await.expect("json");
        let count = user_count(&app).await;

        // Whitespace and key order do not make it another request.
        let reordered =
            json!({"role": "gov_officer", "password": USER_PASSWORD, "username": "petugas.satu"});
        let retry =
            post_with_key(&app, token, "7b0c6b9e-retry-1", "/api/v1/users", &reordered).await;
        assert_eq!(retry.status().as_u16(), 201, "the same status code");
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(retry.headers()["location"], location);
        let retry_body: Value = retry.json().await.expect("json");
        assert_eq!(retry_body, first_body, "the same id and body");
        assert_eq!(user_count(&app).await, count, "no second record");

        let other =
            json!({"username": "petugas.dua", "password": USER_PASSWORD, "role": "gov_officer"});
        let reused = post_with_key(&app, token, "7b0c6b9e-retry-1", "/api/v1/users", &other).await;
        assert_eq!(problem(reused, 422).await["code"], "idempotency_key_reused");
        assert_eq!(user_count(&app).await, count);

        // Keys belong to their caller: another caller's same key is a new request.
        let kim = app.create_kim("KIM Idem").await;
        let board = app.user(&admin, "kim_admin", Some(kim)).await;
        let member =
            json!({"username": "anggota.idem", "password": USER_PASSWORD, "role": "kim_member"});
        let theirs = post_with_key(
            &app,
            &board.session.access_token,
            "7b0c6b9e-retry-1",
            "/api/v1/users",
            &member,
        )
        .await;
        assert_eq!(theirs.status().as_u16(), 201);
        assert!(theirs.headers().get("idempotent-replayed").is_none());

        let too_long = post_with_key(&app, token, &"k".repeat(256), "/api/v1/users", &body).await;
        assert_eq!(problem(too_long, 400).await["code"], "invalid_header");
    })
    .await;
}

#[tokio::test]
async fn concurrent_retries_create_exactly_one_record() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let before = user_count(&app).await;
        let body =
            json!({"username": "serentak", "password": USER_PASSWORD, "role": "gov_officer"});
        let attempts = (0..6).map(|_| {
            post_with_key(
                &app,
                &admin.session.access_token,
                "burst-key",
                "/api/v1/users",
                &body,
            )
        });
        let responses = futures_util::future::join_all(attempts).await;
        let mut ids = Vec::new();
        for response in responses {
            assert_eq!(response.status().as_u16(), 201);
            let created: Value = response.json().await.expect("json");
            ids.push(created["id"].clone());
        }
        ids.dedup();
        assert_eq!(
            ids.len(),
            1,
            "every attempt answers the same record: {ids:?}"
        );
        assert_eq!(user_count(&app).await, before + 1);
    })
    .await;
}

#[tokio::test]
async fn a_replayed_client_secret_is_stored_encrypted() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let body = json!({"name": "Retrying connector", "scopes": ["kims:read"]});
        let path = "/api/v1/integration-clients";
        let first: Value =
            post_with_key(&app, &admin.session.access_token, "client-1", path, &body)
                .await
                .json()
                .await
                .expect("json");
        let again: Value =
            post_with_key(&app, &admin.session.access_token, "client-1", path, &body)
                .await
                .json()
                .await
                .expect("json");
        assert_eq!(again, first, "the retry gets the secret it missed");
        let secret = first["client_secret"].as_str().expect("secret").to_owned();
        let stored: Vec<String> = app
            .db
            .read(|conn| {
                Ok(idempotency_keys::table
                    .select(idempotency_keys::response)
                    .load(conn)?)
            })
            .await
            .expect("rows");
        assert!(!stored.is_empty());
        assert!(
            stored
                .iter()
                .all(|row| !row.contains(&secret) && row.starts_with("v1:"))
        );
    })
    .await;
}

async fn nik_reads(app: &TestApp) -> i64 {
    use kim_api::db::schema::audit_log;
    app.db
        .read(|conn| {
            Ok(audit_log::table
                .filter(audit_log::action.eq("member.nik_viewed"))
                .count()
                .get_result(conn)?)
        })
        .await
        .expect("count")
}

#[tokio::test]
async fn a_replay_is_authorised_again_and_audited_like_the_first_answer() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let kim = app.create_kim("KIM Ulang").await;
        let other_kim = app.create_kim("KIM Lain").await;
        let board = app.user(&admin, "kim_admin", Some(kim)).await;
        let path = format!("/api/v1/kims/{kim}/members");
        let body = json!({"full_name": "Warga Ulang", "nik": "1872011708900001",
                          "gender": "male", "birth_date": "1990-08-17", "position": "anggota"});
        let token = &board.session.access_token;
        let first = post_with_key(&app, token, "member-retry-1", &path, &body).await;
        assert_eq!(first.status().as_u16(), 201);
        assert_eq!(nik_reads(&app).await, 1);
        let replay = post_with_key(&app, token, "member-retry-1", &path, &body).await;
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
        let replayed: Value = replay.json().await.expect("json");
        assert_eq!(replayed["nik"], "1872011708900001");
        assert_eq!(
            nik_reads(&app).await,
            2,
            "showing the whole NIK again is audited"
        );

        // Moved to another KIM, the same account may no longer see the first answer.
        let moved = app
            .patch_as(
                &format!("/api/v1/users/{}", board.id),
                &admin.session.access_token,
                &json!({"kim_id": other_kim}),
            )
            .await;
        assert_eq!(moved.status().as_u16(), 200);
        let session = app.session(&board.username, USER_PASSWORD).await;
        let refused =
            post_with_key(&app, &session.access_token, "member-retry-1", &path, &body).await;
        problem(refused, 404).await;
        assert_eq!(nik_reads(&app).await, 2);
    })
    .await;
}

/// A request body of the walk below.
#[derive(Clone)]
enum Body {
    Json(Value),
    File(Vec<u8>),
}

async fn keyed(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: &Body,
) -> reqwest::Response {
    let request = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key);
    match body {
        Body::Json(value) => request.json(value),
        Body::File(bytes) => request
            .header(
                "Content-Type",
                format!(
                    "multipart/form-data; boundary={}",
                    crate::attachments::BOUNDARY
                ),
            )
            .body(bytes.clone()),
    }
    .send()
    .await
    .expect("request")
}

async fn id_from(response: reqwest::Response) -> i64 {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("id")
}

/// Every operation whose OpenAPI document lists `Idempotency-Key` honours it the same
/// way: the same key and request replay the first answer (`Idempotent-Replayed`), the
/// same key with another body is `422 idempotency_key_reused`. The walk is taken from
/// the served document, so an operation that starts listing the header joins it.
#[tokio::test]
async fn every_operation_that_lists_idempotency_key_honours_it() {
    use crate::attachments::{PDF, PNG, decode, form, jpeg};
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let gov = admin.session.access_token.clone();
        let kim = app.create_kim_at("KIM Kunci", "18.72.01.1001", "active").await;
        let board = app.user(&admin, "kim_admin", Some(kim)).await;
        let member = app.user(&admin, "kim_member", Some(kim)).await;
        let (board_token, member_token) = (
            board.session.access_token.clone(),
            member.session.access_token.clone(),
        );
        let mut nominees = Vec::new();
        for nik in ["1872011708900901", "1872011708900902"] {
            let added = app
                .post_as(
                    &format!("/api/v1/kims/{kim}/members"),
                    &board_token,
                    &json!({"full_name": "Peserta", "nik": nik, "gender": "male",
                            "birth_date": "1990-08-17", "position": "anggota"}),
                )
                .await;
            nominees.push(id_from(added).await);
        }
        let bulletin = |title: &str, scope: &str| {
            json!({"title": title, "body": "Isi", "category": "umum", "audience": {"scope": scope}})
        };
        let public = id_from(app.post_as("/api/v1/bulletins", &gov, &bulletin("Umum", "public")).await).await;
        let published = app
            .post_as(&format!("/api/v1/bulletins/{public}/publish"), &gov, &json!({}))
            .await;
        assert_eq!(published.status().as_u16(), 200);
        let draft = id_from(app.post_as("/api/v1/bulletins", &gov, &bulletin("Draf", "public")).await).await;
        let report_body = |title: &str| {
            json!({"kind": "complaint", "category_code": "infrastruktur", "title": title,
                   "description": "Di depan pasar.", "kelurahan_code": "18.72.01.1001"})
        };
        let report = id_from(app.post_as("/api/v1/reports", &member_token, &report_body("Lubang")).await).await;
        let activity_body = |title: &str| {
            json!({"date": "2026-11-02", "kind": "diskusi", "title": title, "participants": 10, "reach": 40})
        };
        let activity = id_from(
            app.post_as(&format!("/api/v1/kims/{kim}/activities"), &board_token, &activity_body("Rapat"))
                .await,
        )
        .await;
        let consultation_body = |title: &str| {
            json!({"title": title, "summary": "Ringkasan",
                "questions": [{"id": "setuju", "text": "Setuju?", "kind": "choice", "options": ["Ya", "Tidak"]}],
                "audience": {"scope": "all_kims"},
                "opens_at": (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339(),
                "closes_at": (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339()})
        };
        let consultation =
            id_from(app.post_as("/api/v1/consultations", &gov, &consultation_body("Konsultasi")).await).await;
        let starts = chrono::Utc::now() + chrono::Duration::days(3);
        let session_body = |title: &str| {
            json!({"title": title, "kind": "pendampingan", "topic": "tik",
                "starts_at": starts.to_rfc3339(), "ends_at": (starts + chrono::Duration::hours(2)).to_rfc3339(),
                "location": "Balai", "audience": {"scope": "all_kims"}, "capacity": 5})
        };
        let session = id_from(app.post_as("/api/v1/mentoring-sessions", &gov, &session_body("Sesi")).await).await;
        let (_, _, client) = app.integration_client(&admin, &["reports:write"]).await;
        let uploaded = async |token: &str| {
            let id = crate::resumable_uploads::complete_upload(&app, token, &decode(PNG)).await;
            Body::Json(json!({ "upload_id": id }))
        };
        let (gov_upload, gov_other) = (uploaded(&gov).await, uploaded(&gov).await);
        let (gov_upload_2, gov_other_2) = (uploaded(&gov).await, uploaded(&gov).await);
        let (board_upload, board_other) = (uploaded(&board_token).await, uploaded(&board_token).await);
        let (member_upload, member_other) = (uploaded(&member_token).await, uploaded(&member_token).await);
        let png = Body::File(form("foto.png", "image/png", &decode(PNG)));
        let other_file = Body::File(form("foto.jpg", "image/jpeg", &jpeg()));
        let pdf = Body::File(form("surat.pdf", "application/pdf", PDF));
        let j = Body::Json;
        let push_keys = json!({
            "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
            "auth": "tBHItJI5svbpez7KI4CCXg",
        });
        // (documented path, concrete path, caller, body, another body)
        let walk: Vec<(&str, String, &str, Body, Body)> = vec![
            ("/api/v1/bulletins", "/api/v1/bulletins".into(), &gov, j(bulletin("A", "all_kims")), j(bulletin("B", "all_kims"))),
            ("/api/v1/bulletins/{id}/attachments", format!("/api/v1/bulletins/{draft}/attachments"), &gov, png.clone(), pdf.clone()),
            ("/api/v1/bulletins/{id}/attachments/from-upload", format!("/api/v1/bulletins/{draft}/attachments/from-upload"), &gov, gov_upload, gov_other),
            ("/api/v1/bulletins/{id}/acknowledgements", format!("/api/v1/bulletins/{public}/acknowledgements"), &board_token, j(json!({"reach": 3})), j(json!({"reach": 4}))),
            ("/api/v1/consultations", "/api/v1/consultations".into(), &gov, j(consultation_body("A")), j(consultation_body("B"))),
            ("/api/v1/consultations/{id}/attachments", format!("/api/v1/consultations/{consultation}/attachments"), &gov, pdf.clone(), png.clone()),
            ("/api/v1/consultations/{id}/attachments/from-upload", format!("/api/v1/consultations/{consultation}/attachments/from-upload"), &gov, gov_upload_2, gov_other_2),
            ("/api/v1/holidays", "/api/v1/holidays".into(), &gov, j(json!({"date": "2031-01-02", "name": "A"})), j(json!({"date": "2031-01-02", "name": "B"}))),
            ("/api/v1/integration-clients", "/api/v1/integration-clients".into(), &gov, j(json!({"name": "A", "scopes": ["kims:read"]})), j(json!({"name": "B", "scopes": ["kims:read"]}))),
            ("/api/v1/integration-clients/{id}/api-keys", format!("/api/v1/integration-clients/{client}/api-keys"), &gov, j(json!({})), j(json!({"lain": 1}))),
            ("/api/v1/kims", "/api/v1/kims".into(), &gov, j(json!({"name": "KIM A", "kelurahan_code": "18.72.01.1002", "area_type": "urban"})), j(json!({"name": "KIM B", "kelurahan_code": "18.72.01.1002", "area_type": "urban"}))),
            ("/api/v1/kims/{id}/activities", format!("/api/v1/kims/{kim}/activities"), &board_token, j(activity_body("A")), j(activity_body("B"))),
            ("/api/v1/kims/{id}/activities/{aid}/attachments", format!("/api/v1/kims/{kim}/activities/{activity}/attachments"), &board_token, png.clone(), other_file.clone()),
            ("/api/v1/kims/{id}/activities/{aid}/attachments/from-upload", format!("/api/v1/kims/{kim}/activities/{activity}/attachments/from-upload"), &board_token, board_upload, board_other),
            ("/api/v1/kims/{id}/members", format!("/api/v1/kims/{kim}/members"), &board_token,
                j(json!({"full_name": "A", "nik": "1872011708900903", "gender": "male", "birth_date": "1990-08-17", "position": "anggota"})),
                j(json!({"full_name": "B", "nik": "1872011708900904", "gender": "male", "birth_date": "1990-08-17", "position": "anggota"}))),
            ("/api/v1/mentoring-sessions", "/api/v1/mentoring-sessions".into(), &gov, j(session_body("A")), j(session_body("B"))),
            ("/api/v1/mentoring-sessions/{id}/participants", format!("/api/v1/mentoring-sessions/{session}/participants"), &board_token,
                j(json!({"member_id": nominees[0]})), j(json!({"member_id": nominees[1]}))),
            ("/api/v1/push/subscriptions", "/api/v1/push/subscriptions".into(), &member_token,
                j(json!({"endpoint": "https://push.example.org/send/a", "keys": push_keys})),
                j(json!({"endpoint": "https://push.example.org/send/b", "keys": push_keys}))),
            ("/api/v1/report-categories", "/api/v1/report-categories".into(), &gov, j(json!({"code": "kunci_a", "name": "A"})), j(json!({"code": "kunci_b", "name": "B"}))),
            ("/api/v1/reports", "/api/v1/reports".into(), &member_token, j(report_body("A")), j(report_body("B"))),
            ("/api/v1/reports/{id}/attachments", format!("/api/v1/reports/{report}/attachments"), &member_token, png.clone(), pdf.clone()),
            ("/api/v1/reports/{id}/attachments/from-upload", format!("/api/v1/reports/{report}/attachments/from-upload"), &member_token, member_upload, member_other),
            ("/api/v1/reports/{id}/comments", format!("/api/v1/reports/{report}/comments"), &gov, j(json!({"body": "A", "visibility": "public"})), j(json!({"body": "B", "visibility": "public"}))),
            ("/api/v1/users", "/api/v1/users".into(), &gov,
                j(json!({"username": "kunci-a", "password": USER_PASSWORD, "role": "kim_member", "kim_id": kim})),
                j(json!({"username": "kunci-b", "password": USER_PASSWORD, "role": "kim_member", "kim_id": kim}))),
            ("/api/v1/alert-sources", "/api/v1/alert-sources".into(), &gov,
                j(json!({"url": "https://www.bmkg.go.id/a.xml", "active": false})),
                j(json!({"url": "https://www.bmkg.go.id/b.xml", "active": false}))),
            ("/api/v1/webhooks", "/api/v1/webhooks".into(), &gov,
                j(json!({"url": "https://sipd.metrokota.go.id/hooks/a", "events": ["report.created"]})),
                j(json!({"url": "https://sipd.metrokota.go.id/hooks/b", "events": ["report.created"]}))),
        ];

        let document: Value = app.get("/api-docs/openapi.json").await.json().await.expect("document");
        let mut listed: Vec<String> = document["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .filter(|(_, item)| {
                item["post"]["parameters"].as_array().is_some_and(|parameters| {
                    parameters.iter().any(|parameter| {
                        parameter["name"].as_str().is_some_and(|name| name.eq_ignore_ascii_case("idempotency-key"))
                            || parameter["$ref"].as_str().is_some_and(|r| r.contains("Idempotency"))
                    })
                })
            })
            .map(|(path, _)| path.clone())
            .collect();
        listed.sort();
        let mut walked: Vec<String> = walk.iter().map(|(documented, ..)| (*documented).to_owned()).collect();
        walked.sort();
        assert_eq!(walked, listed, "the walk covers exactly the operations listing the header");

        for (documented, path, token, first, other) in walk {
            let key = format!("walk-{documented}");
            let answered = keyed(&app, &path, token, &key, &first).await;
            let status = answered.status().as_u16();
            let body: Value = answered.json().await.expect("json");
            assert!((200..300).contains(&status), "{documented}: {status} {body}");
            let replayed = keyed(&app, &path, token, &key, &first).await;
            assert_eq!(replayed.status().as_u16(), status, "{documented}");
            assert_eq!(
                replayed.headers().get("idempotent-replayed").map(|v| v.as_bytes()),
                Some(&b"true"[..]),
                "{documented}"
            );
            let again: Value = replayed.json().await.expect("json");
            assert_eq!(again["id"], body["id"], "{documented}");
            let reused = problem(keyed(&app, &path, token, &key, &other).await, 422).await;
            assert_eq!(reused["code"], "idempotency_key_reused", "{documented}");
        }
    })
    .await;
}
