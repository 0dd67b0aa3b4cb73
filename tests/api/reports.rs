//! Citizen reports (SPEC §7): submission and its validation, idempotent retries, the
//! workflow per role, simultaneous moves, service levels and privacy per role.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, problem, token};

/// The shared town, and integration clients that write or only read reports.
pub struct Town {
    base: crate::helpers::Town,
    pub writer: String,
    pub reader: String,
}

impl std::ops::Deref for Town {
    type Target = crate::helpers::Town;

    fn deref(&self) -> &Self::Target {
        &self.base
    }
}

pub async fn town(app: &TestApp) -> Town {
    let base = crate::helpers::town(app).await;
    let (writer_id, writer_secret, _) = app
        .integration_client(&base.admin, &["reports:write"])
        .await;
    let (reader_id, reader_secret, _) =
        app.integration_client(&base.admin, &["reports:read"]).await;
    Town {
        writer: app.client_token(&writer_id, &writer_secret).await,
        reader: app.client_token(&reader_id, &reader_secret).await,
        base,
    }
}

pub fn report(privacy: &str) -> Value {
    json!({
        "kind": "complaint",
        "category_code": "infrastruktur",
        "title": "Lampu jalan padam",
        "description": "Lampu jalan di depan balai RW 03 padam sejak seminggu.",
        "kelurahan_code": "18.72.01.1001",
        "address": "Jl. Ahmad Yani, RW 03",
        "latitude": -5.1131,
        "longitude": 105.3067,
        "reporter_name": "Siti Rahayu",
        "reporter_contact": "0812-3456-7890",
        "privacy": privacy
    })
}

pub async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).expect("json")
}

pub async fn submit(app: &TestApp, token: &str, body: &Value) -> Value {
    json_of(app.post_as("/api/v1/reports", token, body).await, 201).await
}

pub async fn move_to(app: &TestApp, token: &str, id: i64, body: Value) -> reqwest::Response {
    app.post_as(&format!("/api/v1/reports/{id}/status"), token, &body)
        .await
}

pub fn id_of(report: &Value) -> i64 {
    report["id"].as_i64().expect("id")
}

#[tokio::test]
async fn a_kim_submits_and_the_report_carries_its_kim_code_and_service_level() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let created = submit(&app, token(&t.member_a), &report("normal")).await;
        assert_eq!(created["kim_id"], t.kim_a);
        assert_eq!(created["submitted_by"], t.member_a.id);
        assert_eq!(created["channel"], "kim");
        assert_eq!(created["status"], "submitted");
        assert_eq!(created["kecamatan_code"], "18.72.01");
        assert_eq!(created["reporter_contact"], "+6281234567890");
        assert_eq!(created["overdue"], false);
        let code = created["tracking_code"].as_str().expect("code");
        assert!(code.starts_with("MTR-") && code.len() == 13, "{code}");
        // Due at 23:59:59 WIB (16:59:59 UTC) of a working day three or more days on.
        let due =
            chrono::DateTime::parse_from_rfc3339(created["verify_due_at"].as_str().expect("due"))
                .expect("date-time");
        assert_eq!(due.format("%H:%M:%S").to_string(), "16:59:59");
        assert!(due.with_timezone(&chrono::Utc) > chrono::Utc::now() + chrono::Duration::days(3));

        // Stored encrypted: the column does not hold the number.
        let id = id_of(&created);
        let stored: Option<String> = app
            .db
            .read(move |conn| {
                use diesel::prelude::*;
                use kim_api::db::schema::reports;
                Ok(reports::table
                    .find(id)
                    .select(reports::reporter_contact)
                    .first(conn)?)
            })
            .await
            .expect("row");
        assert!(!stored.unwrap_or_default().contains("81234567890"));

        let from_client = submit(&app, &t.writer, &report("normal")).await;
        assert_eq!(from_client["channel"], "integration");
        assert_eq!(from_client["kim_id"], Value::Null);

        for who in [token(&t.admin), token(&t.officer), t.reader.as_str()] {
            let refused = app.post_as("/api/v1/reports", who, &report("normal")).await;
            assert_eq!(refused.status().as_u16(), 403);
        }
        let anonymous = app
            .send(
                Method::POST,
                "/api/v1/reports",
                None,
                Some(&report("normal")),
            )
            .await;
        assert_eq!(anonymous.status().as_u16(), 401);
    })
    .await;
}

#[tokio::test]
async fn bad_submissions_are_clear_problems() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let with = |field: &str, value: Value| {
            let mut body = report("normal");
            body[field] = value;
            body
        };
        let without = |field: &str| {
            let mut body = report("normal");
            body.as_object_mut().expect("object").remove(field);
            body
        };
        for (body, status, field) in [
            (with("kim_id", json!(t.kim_a)), 400, "kim_id"),
            (with("kind", json!("keluhan")), 400, "kind"),
            (with("privacy", json!("rahasia")), 400, "privacy"),
            (without("title"), 400, "title"),
            (with("title", json!("   ")), 422, "title"),
            (with("title", json!("x".repeat(201))), 422, "title"),
            (
                with("description", json!("x".repeat(4001))),
                422,
                "description",
            ),
            (
                with("category_code", json!("tidak-ada")),
                422,
                "category_code",
            ),
            (
                with("kelurahan_code", json!("18.72.09.9999")),
                422,
                "kelurahan_code",
            ),
            (
                with("kelurahan_code", json!("18.72.01")),
                422,
                "kelurahan_code",
            ),
            (without("longitude"), 422, "longitude"),
            (with("latitude", json!(91.0)), 422, "latitude"),
            (with("longitude", json!(-181.0)), 422, "longitude"),
            // Bandar Lampung, not Kota Metro.
            (with("latitude", json!(-5.43)), 422, "latitude"),
            (
                with("reporter_contact", json!("bukan nomor")),
                422,
                "reporter_contact",
            ),
            (
                with("reporter_contact", json!("siti@")),
                422,
                "reporter_contact",
            ),
        ] {
            let answer = problem(
                app.post_as("/api/v1/reports", token(&t.member_a), &body)
                    .await,
                status,
            )
            .await;
            assert_eq!(answer["errors"][0]["field"], field, "{body}");
        }
        let email = submit(
            &app,
            token(&t.member_a),
            &with("reporter_contact", json!(" Siti@Example.ID ")),
        )
        .await;
        assert!(
            email["reporter_contact"]
                .as_str()
                .expect("contact")
                .contains('@')
        );
        let listed = json_of(app.get_as("/api/v1/reports", token(&t.admin)).await, 200).await;
        assert_eq!(
            listed["data"].as_array().map(Vec::len),
            Some(1),
            "nothing else was stored"
        );
    })
    .await;
}

#[tokio::test]
async fn a_retried_submission_makes_one_report_even_when_retries_race() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let send = |key: &'static str| {
            let (url, client, access) = (
                app.url("/api/v1/reports"),
                app.client.clone(),
                t.member_a.session.access_token.clone(),
            );
            async move {
                client
                    .post(url)
                    .bearer_auth(access)
                    .header("Idempotency-Key", key)
                    .json(&report("normal"))
                    .send()
                    .await
                    .expect("send")
            }
        };
        let first = json_of(send("lapor-1").await, 201).await;
        let again = send("lapor-1").await;
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json_of(again, 201).await["id"], first["id"]);

        let start = Arc::new(tokio::sync::Barrier::new(6));
        let mut racing = Vec::new();
        for _ in 0..6 {
            let (start, request) = (start.clone(), send("lapor-2"));
            racing.push(tokio::spawn(async move {
                start.wait().await;
                let response = request.await;
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.expect("json"))
            }));
        }
        let mut ids = std::collections::BTreeSet::new();
        for task in racing {
            let (status, body) = task.await.expect("task");
            assert!(status == 201 || status == 409, "{status} {body}");
            if status == 201 {
                ids.insert(body["id"].as_i64().expect("id"));
            }
        }
        assert_eq!(ids.len(), 1, "one report for one key: {ids:?}");
        let listed = json_of(app.get_as("/api/v1/reports", token(&t.admin)).await, 200).await;
        assert_eq!(listed["data"].as_array().map(Vec::len), Some(2));
    })
    .await;
}

#[tokio::test]
async fn the_workflow_moves_as_each_role_may() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        let gov = token(&t.officer);

        // KIM users only reopen; a move that does not exist is 409.
        let by_member = move_to(&app, token(&t.member_a), id, json!({"status": "verified"})).await;
        assert_eq!(by_member.status().as_u16(), 403);
        let skip = move_to(&app, gov, id, json!({"status": "resolved"})).await;
        assert_eq!(problem(skip, 409).await["code"], "invalid_transition");
        let rejected_without_note = move_to(&app, gov, id, json!({"status": "rejected"})).await;
        assert_eq!(
            problem(rejected_without_note, 422).await["errors"][0]["field"],
            "note"
        );

        let verified = json_of(
            move_to(
                &app,
                gov,
                id,
                json!({"status": "verified", "note": "Diteruskan ke dinas.",
                "assigned_agency": "Dinas Pekerjaan Umum dan Penataan Ruang"}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(
            verified["assigned_agency"],
            "Dinas Pekerjaan Umum dan Penataan Ruang"
        );
        assert!(verified["response_due_at"].is_string());
        assert!(verified["first_response_at"].is_string());
        for status in ["in_progress", "resolved"] {
            json_of(move_to(&app, gov, id, json!({"status": status})).await, 200).await;
        }
        let resolved = json_of(app.get_as(&format!("/api/v1/reports/{id}"), gov).await, 200).await;
        assert!(resolved["resolved_at"].is_string());

        // Another KIM cannot see it to reopen it; the submitting KIM can.
        let other_kim = move_to(
            &app,
            token(&t.member_b),
            id,
            json!({"status": "in_progress"}),
        )
        .await;
        assert_eq!(other_kim.status().as_u16(), 404);
        let by_gov = move_to(&app, gov, id, json!({"status": "in_progress"})).await;
        assert_eq!(problem(by_gov, 409).await["code"], "invalid_transition");
        // The agency is the government's to set, shown publicly: a reopening KIM may not.
        for kim_user in [&t.board_a, &t.member_a] {
            let with_agency = move_to(
                &app,
                token(kim_user),
                id,
                json!({"status": "in_progress", "assigned_agency": "Dinas Palsu"}),
            )
            .await;
            let refused = problem(with_agency, 403).await;
            assert_eq!(refused["code"], "field_not_allowed");
            assert_eq!(refused["errors"][0]["field"], "assigned_agency");
        }
        let unchanged = json_of(app.get_as(&format!("/api/v1/reports/{id}"), gov).await, 200).await;
        assert_eq!(unchanged["status"], "resolved", "nothing moved");
        let reopened = json_of(
            move_to(
                &app,
                token(&t.board_a),
                id,
                json!({"status": "in_progress", "note": "Masih padam."}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(reopened["status"], "in_progress");
        assert_eq!(reopened["resolved_at"], Value::Null);

        assert_eq!(
            reopened["assigned_agency"], "Dinas Pekerjaan Umum dan Penataan Ruang",
            "the agency stays the government's"
        );

        // A rejection needs a note and ends the report; invisible characters are no note.
        let second = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        for invisible in ["\u{200B}", "\u{FEFF}", "\u{AD}", "\u{2800}", " \u{2060} "] {
            let blank_note = move_to(
                &app,
                gov,
                second,
                json!({"status": "rejected", "note": invisible}),
            )
            .await;
            let refused = problem(blank_note, 422).await;
            assert_eq!(
                refused["errors"][0]["field"], "note",
                "{invisible:?}: {refused}"
            );
        }
        json_of(
            move_to(
                &app,
                gov,
                second,
                json!({"status": "rejected", "note": "Bukan kewenangan Pemkot."}),
            )
            .await,
            200,
        )
        .await;
        let after = move_to(&app, gov, second, json!({"status": "verified"})).await;
        assert_eq!(problem(after, 409).await["code"], "invalid_transition");

        // A stale If-Match is 412.
        let third = submit(&app, token(&t.member_a), &report("normal")).await;
        let stale = app
            .client
            .post(app.url(&format!("/api/v1/reports/{}/status", id_of(&third))))
            .bearer_auth(gov)
            .header("If-Match", "\"99\"")
            .json(&json!({"status": "verified"}))
            .send()
            .await
            .expect("send");
        assert_eq!(stale.status().as_u16(), 412);
    })
    .await;
}

#[tokio::test]
async fn two_officers_moving_one_report_at_once_cannot_both_win() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let second = crate::helpers::spawn_instance(&app, |_| {}).await;
        for _ in 0..3 {
            let id = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
            let start = Arc::new(tokio::sync::Barrier::new(8));
            let mut moves = Vec::new();
            for n in 0..8 {
                let target = if n % 2 == 0 { "verified" } else { "rejected" };
                let url = if n % 4 < 2 {
                    app.url("")
                } else {
                    second.url("")
                };
                let (client, start, access) = (
                    app.client.clone(),
                    start.clone(),
                    t.officer.session.access_token.clone(),
                );
                moves.push(tokio::spawn(async move {
                    start.wait().await;
                    client
                        .post(format!("{url}/api/v1/reports/{id}/status"))
                        .bearer_auth(access)
                        // Both officers read the report as submitted (version 1).
                        .header("If-Match", "\"1\"")
                        .json(&json!({"status": target, "note": "Serentak."}))
                        .send()
                        .await
                        .expect("send")
                        .status()
                        .as_u16()
                }));
            }
            let mut statuses = Vec::new();
            for task in moves {
                statuses.push(task.await.expect("task"));
            }
            assert_eq!(
                statuses.iter().filter(|s| **s == 200).count(),
                1,
                "{statuses:?}"
            );
            assert!(
                statuses.iter().all(|s| [200, 409, 412].contains(s)),
                "{statuses:?}"
            );
            let entries: i64 = app
                .db
                .read(move |conn| {
                    use diesel::prelude::*;
                    use kim_api::db::schema::report_timeline;
                    Ok(report_timeline::table
                        .filter(report_timeline::report_id.eq(id))
                        .count()
                        .get_result(conn)?)
                })
                .await
                .expect("count");
            assert_eq!(entries, 2, "submitted + the one move");
        }
    })
    .await;
}

#[tokio::test]
async fn who_sees_which_reports_and_whose_names() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let normal = submit(&app, token(&t.member_a), &report("normal")).await;
        let anonymous = submit(&app, token(&t.member_a), &report("anonymous")).await;
        let confidential = submit(&app, token(&t.member_a), &report("confidential")).await;
        let ids = |page: &Value| -> Vec<i64> {
            page["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(id_of)
                .collect()
        };
        let all = vec![id_of(&confidential), id_of(&anonymous), id_of(&normal)];

        for who in [
            token(&t.admin),
            token(&t.officer),
            token(&t.member_a),
            token(&t.board_a),
        ] {
            let page = json_of(app.get_as("/api/v1/reports", who).await, 200).await;
            assert_eq!(ids(&page), all);
        }
        let other_kim = json_of(app.get_as("/api/v1/reports", token(&t.member_b)).await, 200).await;
        assert!(ids(&other_kim).is_empty());
        let reader = json_of(app.get_as("/api/v1/reports", &t.reader).await, 200).await;
        assert_eq!(ids(&reader), vec![id_of(&anonymous), id_of(&normal)]);
        for page in [&reader] {
            for item in page["data"].as_array().expect("data") {
                assert_eq!(item["reporter_name"], Value::Null);
                assert_eq!(item["reporter_contact"], Value::Null);
            }
        }
        let one = |who: &str, report: &Value| {
            let path = format!("/api/v1/reports/{}", id_of(report));
            let who = who.to_owned();
            let app = &app;
            async move { app.get_as(&path, &who).await }
        };
        assert_eq!(
            one(token(&t.member_b), &normal).await.status().as_u16(),
            404
        );
        assert_eq!(one(&t.reader, &confidential).await.status().as_u16(), 404);
        assert_eq!(one(&t.writer, &normal).await.status().as_u16(), 404);

        // The reporter of an anonymous report: gov_admin only.
        let by_admin = json_of(one(token(&t.admin), &anonymous).await, 200).await;
        assert_eq!(by_admin["reporter_name"], "Siti Rahayu");
        assert_eq!(by_admin["reporter_contact"], "+6281234567890");
        for who in [token(&t.officer), token(&t.member_a)] {
            let seen = json_of(one(who, &anonymous).await, 200).await;
            assert_eq!(seen["reporter_name"], Value::Null);
            assert_eq!(seen["reporter_contact"], Value::Null);
            let normal_seen = json_of(one(who, &normal).await, 200).await;
            assert_eq!(normal_seen["reporter_name"], "Siti Rahayu");
        }
    })
    .await;
}

#[tokio::test]
async fn lists_filter_and_page_alike_on_both_databases() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let mut ids = Vec::new();
        for n in 0..5 {
            let mut body = report(if n == 4 { "anonymous" } else { "normal" });
            body["title"] = json!(format!("Laporan nomor {n}"));
            if n % 2 == 0 {
                body["kind"] = json!("aspiration");
                body["kelurahan_code"] = json!("18.72.01.1002");
            }
            ids.push(id_of(&submit(&app, token(&t.member_a), &body).await));
        }
        let gov = token(&t.admin);
        json_of(
            move_to(
                &app,
                gov,
                ids[0],
                json!({"status": "verified", "assigned_agency": "Dinas Kesehatan"}),
            )
            .await,
            200,
        )
        .await;
        let count = |query: &'static str| {
            let app = &app;
            async move {
                let page = json_of(
                    app.get_as(&format!("/api/v1/reports{query}"), gov).await,
                    200,
                )
                .await;
                page["data"].as_array().map_or(0, Vec::len)
            }
        };
        assert_eq!(count("?kind=aspiration").await, 3);
        assert_eq!(count("?kelurahan_code=18.72.01.1002").await, 3);
        assert_eq!(count("?kecamatan_code=18.72.01").await, 5);
        assert_eq!(count("?status=verified").await, 1);
        assert_eq!(count("?assigned_agency=Dinas%20Kesehatan").await, 1);
        assert_eq!(count("?privacy=anonymous").await, 1);
        assert_eq!(count("?channel=kim").await, 5);
        assert_eq!(count("?q=NOMOR%203").await, 1);
        assert_eq!(count("?overdue=false").await, 5);
        assert_eq!(count("?overdue=true").await, 0);
        assert_eq!(count("?from=2999-01-01T00:00:00Z").await, 0);

        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = match &cursor {
                Some(cursor) => format!("/api/v1/reports?limit=2&cursor={cursor}"),
                None => "/api/v1/reports?limit=2".to_owned(),
            };
            let page = json_of(app.get_as(&query, gov).await, 200).await;
            seen.extend(page["data"].as_array().expect("data").iter().map(id_of));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        ids.reverse();
        assert_eq!(seen, ids);
        let long_q = format!("?q={}", "x".repeat(101));
        for bad in [
            "?status=selesai",
            "?overdue=mungkin",
            "?kim=1",
            long_q.as_str(),
        ] {
            let response = app.get_as(&format!("/api/v1/reports{bad}"), gov).await;
            assert_eq!(response.status().as_u16(), 400, "{bad}");
        }
    })
    .await;
}

#[tokio::test]
async fn due_dates_skip_holidays_and_overdue_reports_are_found() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        // The next two weekdays (WIB) become holidays: the due date moves past them.
        use chrono::Datelike;
        let today = (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive();
        let plain = submit(&app, token(&t.member_a), &report("normal")).await;
        let weekdays = today
            .iter_days()
            .skip(1)
            .filter(|day| day.weekday().number_from_monday() <= 5)
            .take(2);
        for day in weekdays {
            let response = app
                .post_as(
                    "/api/v1/holidays",
                    token(&t.admin),
                    &json!({"date": day.to_string(), "name": "Libur uji"}),
                )
                .await;
            assert_eq!(response.status().as_u16(), 201);
        }
        let later = submit(&app, token(&t.member_a), &report("normal")).await;
        let due = |report: &Value| {
            chrono::DateTime::parse_from_rfc3339(report["verify_due_at"].as_str().expect("due"))
                .expect("date-time")
        };
        assert!(
            due(&later) > due(&plain),
            "{} vs {}",
            due(&later),
            due(&plain)
        );

        // Time passes: the first due moment lies behind, the later one not yet.
        let id = id_of(&plain);
        app.set_clock((due(&plain) + chrono::Duration::minutes(1)).with_timezone(&chrono::Utc));
        let officer = app.signed_in_again(&t.officer).await;
        let overdue = json_of(
            app.get_as("/api/v1/reports?overdue=true", token(&officer))
                .await,
            200,
        )
        .await;
        assert_eq!(overdue["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(overdue["data"][0]["id"], id);
        assert_eq!(overdue["data"][0]["overdue"], true);
        // Verifying ends the first service level and starts the second.
        let verified = json_of(
            move_to(&app, token(&officer), id, json!({"status": "verified"})).await,
            200,
        )
        .await;
        assert_eq!(verified["overdue"], false);
    })
    .await;
}

/// A KIM's dissolution holds the KIM's row lock, as every change of it does; a
/// submission made meanwhile waits for it and then finds the KIM dissolved, instead of
/// filing a report into a KIM that no longer exists (PostgreSQL; SQLite has one writer).
#[tokio::test]
async fn a_report_submitted_while_its_kim_is_dissolved_is_refused() {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    if !crate::helpers::backends().contains(&crate::helpers::Backend::Postgres) {
        return;
    }
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Postgres).await;
    let t = town(&app).await;
    let url = app.database.url();
    let mut dissolving = diesel::PgConnection::establish(&url).expect("connect");
    dissolving
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM kims WHERE id = {} FOR UPDATE;",
            t.kim_a
        ))
        .expect("hold the KIM");
    let submitting = {
        let (client, address, access) = (
            app.client.clone(),
            app.url("/api/v1/reports"),
            t.member_a.session.access_token.clone(),
        );
        tokio::spawn(async move {
            client
                .post(address)
                .bearer_auth(access)
                .json(&report("normal"))
                .send()
                .await
                .expect("send")
        })
    };
    crate::helpers::wait_for_lock_waiter(&url).await;
    let kim = t.kim_a;
    tokio::task::spawn_blocking(move || {
        dissolving
            .batch_execute(&format!(
                "UPDATE kims SET status = 'dissolved' WHERE id = {kim}; COMMIT;"
            ))
            .expect("dissolve");
    })
    .await
    .expect("dissolving");
    let answer = problem(submitting.await.expect("task"), 409).await;
    assert_eq!(answer["code"], "kim_dissolved");
    let listed = json_of(app.get_as("/api/v1/reports", token(&t.admin)).await, 200).await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(0));
}
