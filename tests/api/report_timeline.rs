//! A report's timeline (SPEC §7): comments and status changes in one order, internal
//! notes for government eyes only, and who may write what.

use diesel::prelude::*;
use kim_api::db::schema::outbox_events;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, problem, token};
use crate::reports::{Town, id_of, json_of, move_to, report, submit, town};

async fn comment(app: &TestApp, who: &str, id: i64, body: Value) -> reqwest::Response {
    app.post_as(&format!("/api/v1/reports/{id}/comments"), who, &body)
        .await
}

async fn timeline(app: &TestApp, who: &str, id: i64) -> Vec<Value> {
    let page = json_of(
        app.get_as(&format!("/api/v1/reports/{id}/comments?limit=100"), who)
            .await,
        200,
    )
    .await;
    page["data"].as_array().cloned().expect("entries")
}

fn bodies(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| match entry["entry_type"].as_str() {
            Some("status") => format!("→{}", entry["to_status"].as_str().unwrap_or("?")),
            _ => entry["body"].as_str().unwrap_or("?").to_owned(),
        })
        .collect()
}

/// A report of KIM A with, in order: its submission, an internal note, the
/// verification, a public answer and the citizen's reply through the KIM.
async fn conversation(app: &TestApp, t: &Town) -> i64 {
    let id = id_of(&submit(app, token(&t.member_a), &report("normal")).await);
    let officer = token(&t.officer);
    let note = json!({"body": "Anggaran pemeliharaan masih ada.", "visibility": "internal"});
    json_of(comment(app, officer, id, note).await, 201).await;
    let verified = move_to(
        app,
        officer,
        id,
        json!({"status": "verified",
        "assigned_agency": "Dinas Perhubungan"}),
    )
    .await;
    assert_eq!(verified.status().as_u16(), 200);
    let answer = json!({"body": "Petugas ke lokasi hari Kamis.", "visibility": "public"});
    json_of(comment(app, officer, id, answer).await, 201).await;
    let reply = json!({"body": "Warga: terima kasih.", "visibility": "public"});
    let replied = json_of(comment(app, token(&t.member_a), id, reply).await, 201).await;
    assert_eq!(replied["author_side"], "kim");
    assert_eq!(replied["author_id"], Value::Null);
    id
}

#[tokio::test]
async fn the_timeline_is_one_order_and_internal_notes_stay_with_the_government() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = conversation(&app, &t).await;

        let for_gov = timeline(&app, token(&t.officer), id).await;
        assert_eq!(
            bodies(&for_gov),
            [
                "→submitted",
                "Anggaran pemeliharaan masih ada.",
                "→verified",
                "Petugas ke lokasi hari Kamis.",
                "Warga: terima kasih.",
            ]
        );
        assert_eq!(for_gov[1]["visibility"], "internal");
        assert_eq!(for_gov[1]["author_side"], "government");
        assert_eq!(for_gov[1]["author_id"], t.officer.id);
        assert_eq!(for_gov[2]["from_status"], "submitted");
        assert_eq!(for_gov[2]["assigned_agency"], "Dinas Perhubungan");
        assert_eq!(for_gov[0]["author_side"], "kim");

        let public = [
            "→submitted",
            "→verified",
            "Petugas ke lokasi hari Kamis.",
            "Warga: terima kasih.",
        ];
        for reader in [token(&t.member_a), token(&t.board_a), t.reader.as_str()] {
            let seen = timeline(&app, reader, id).await;
            assert_eq!(bodies(&seen), public);
            assert!(seen.iter().all(|entry| entry["author_id"].is_null()));
        }
        let other_kim = app
            .get_as(
                &format!("/api/v1/reports/{id}/comments"),
                token(&t.member_b),
            )
            .await;
        problem(other_kim, 404).await;
        let anonymous = app
            .send(
                Method::GET,
                &format!("/api/v1/reports/{id}/comments"),
                None,
                None,
            )
            .await;
        problem(anonymous, 401).await;

        // Paging keeps the order across pages.
        let first = json_of(
            app.get_as(
                &format!("/api/v1/reports/{id}/comments?limit=3"),
                token(&t.admin),
            )
            .await,
            200,
        )
        .await;
        let cursor = first["next_cursor"].as_str().expect("a second page");
        let second = json_of(
            app.get_as(
                &format!("/api/v1/reports/{id}/comments?limit=3&cursor={cursor}"),
                token(&t.admin),
            )
            .await,
            200,
        )
        .await;
        let paged: Vec<Value> = [first["data"].clone(), second["data"].clone()]
            .iter()
            .flat_map(|data| data.as_array().cloned().unwrap_or_default())
            .collect();
        assert_eq!(bodies(&paged), bodies(&for_gov));
        assert_eq!(second["next_cursor"], Value::Null);

        let events: i64 = app
            .db
            .read(|conn| {
                Ok(outbox_events::table
                    .filter(outbox_events::event_type.eq("report.commented"))
                    .count()
                    .get_result(conn)?)
            })
            .await
            .expect("events");
        assert_eq!(events, 3);
    })
    .await;
}

#[tokio::test]
async fn who_may_comment_and_how() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        let public = json!({"body": "Masih padam.", "visibility": "public"});
        let internal = json!({"body": "Catatan dalam.", "visibility": "internal"});

        // The submitting KIM speaks publicly only; others who see it only read.
        problem(
            comment(&app, token(&t.member_a), id, internal.clone()).await,
            403,
        )
        .await;
        json_of(
            comment(&app, token(&t.board_a), id, public.clone()).await,
            201,
        )
        .await;
        problem(
            comment(&app, token(&t.member_b), id, public.clone()).await,
            404,
        )
        .await;
        problem(comment(&app, &t.reader, id, public.clone()).await, 403).await;
        problem(comment(&app, &t.writer, id, public.clone()).await, 404).await;
        json_of(
            comment(&app, token(&t.admin), id, internal.clone()).await,
            201,
        )
        .await;
        let anonymous = app
            .send(
                Method::POST,
                &format!("/api/v1/reports/{id}/comments"),
                None,
                Some(&public),
            )
            .await;
        problem(anonymous, 401).await;
        problem(
            comment(&app, token(&t.admin), 999_999, public.clone()).await,
            404,
        )
        .await;

        // The submitting client relays the citizen on its own report; one the reader
        // sees is still not its to answer.
        let own = id_of(&submit(&app, &t.writer, &report("normal")).await);
        let relayed = json_of(comment(&app, &t.writer, own, public.clone()).await, 201).await;
        assert_eq!(relayed["author_side"], "integration");
        problem(comment(&app, &t.writer, own, internal.clone()).await, 403).await;

        // Bad bodies are clear problems and add nothing.
        let over = "x".repeat(kim_api::domain::text::limits::TIMELINE_BODY + 1);
        for (body, status, field) in [
            (json!({"body": "x"}), 400, ""),
            (json!({"body": "x", "visibility": "secret"}), 400, ""),
            (
                json!({"body": "x", "visibility": "public", "pinned": true}),
                400,
                "",
            ),
            (json!({"body": "   ", "visibility": "public"}), 422, "body"),
            (json!({"body": over, "visibility": "public"}), 422, "body"),
            (json!({"body": 5, "visibility": "public"}), 400, ""),
        ] {
            let refused = problem(
                comment(&app, token(&t.officer), id, body.clone()).await,
                status,
            )
            .await;
            if !field.is_empty() {
                assert_eq!(refused["errors"][0]["field"], field, "{body}");
            }
        }
        assert_eq!(timeline(&app, token(&t.admin), id).await.len(), 3);

        // A retried comment is one comment.
        let send = |key: &'static str| {
            let request = app
                .client
                .post(app.url(&format!("/api/v1/reports/{id}/comments")))
                .bearer_auth(token(&t.officer).to_owned())
                .header("Idempotency-Key", key)
                .json(&json!({"body": "Sekali saja.", "visibility": "public"}));
            async move { request.send().await.expect("send") }
        };
        let first = json_of(send("komentar-1").await, 201).await;
        let again = json_of(send("komentar-1").await, 201).await;
        assert_eq!(first["id"], again["id"]);
        assert_eq!(timeline(&app, token(&t.admin), id).await.len(), 4);
    })
    .await;
}

async fn track(app: &TestApp, code: &str) -> reqwest::Response {
    app.send(
        Method::GET,
        &format!("/api/v1/reports/track/{code}"),
        None,
        None,
    )
    .await
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|object| object.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

#[tokio::test]
async fn tracking_shows_progress_and_the_public_timeline_and_nothing_personal() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = conversation(&app, &t).await;
        let full = json_of(
            app.get_as(&format!("/api/v1/reports/{id}"), token(&t.admin))
                .await,
            200,
        )
        .await;
        let code = full["tracking_code"].as_str().expect("code").to_owned();

        let response = track(&app, &code).await;
        assert_eq!(response.headers()["cache-control"], "no-store");
        let tracked = json_of(response, 200).await;
        assert_eq!(
            keys(&tracked),
            [
                "category_code",
                "created_at",
                "first_response_at",
                "kelurahan_code",
                "resolved_at",
                "response_due_at",
                "status",
                "timeline",
                "tracking_code",
                "updated_at",
                "verify_due_at",
            ]
        );
        assert_eq!(tracked["status"], "verified");
        assert_eq!(tracked["category_code"], "infrastruktur");
        assert_eq!(tracked["kelurahan_code"], "18.72.01.1001");
        assert_eq!(tracked["tracking_code"], code.as_str());
        let entries = tracked["timeline"].as_array().cloned().expect("timeline");
        assert_eq!(
            bodies(&entries),
            [
                "→submitted",
                "→verified",
                "Petugas ke lokasi hari Kamis.",
                "Warga: terima kasih.",
            ]
        );
        assert_eq!(entries[1]["assigned_agency"], "Dinas Perhubungan");
        assert_eq!(entries[2]["author_side"], "government");
        let text = tracked.to_string();
        for personal in ["Siti", "3456", "Lampu jalan", "balai RW", "Anggaran"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
        assert!(entries.iter().all(|entry| entry.get("author_id").is_none()));

        // However a citizen types it down.
        let compact = code.replace('-', "");
        for typed in [
            code.to_lowercase(),
            compact.clone(),
            compact.to_lowercase(),
            code.replace('-', " "),
        ] {
            let again = json_of(track(&app, &typed.replace(' ', "%20")).await, 200).await;
            assert_eq!(again["tracking_code"], code.as_str(), "{typed}");
        }

        // An anonymous report tracks like any other, without its reporter.
        let anonymous = submit(&app, token(&t.member_a), &report("anonymous")).await;
        let seen = json_of(
            track(&app, anonymous["tracking_code"].as_str().expect("code")).await,
            200,
        )
        .await;
        assert_eq!(seen["category_code"], "infrastruktur");
        assert!(!seen.to_string().contains("Siti"));
    })
    .await;
}

#[tokio::test]
async fn a_confidential_report_tracks_as_status_and_dates_and_unknown_codes_are_plain_404s() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let secret = submit(&app, token(&t.member_a), &report("confidential")).await;
        let id = id_of(&secret);
        let public_note = json!({"body": "Ditangani.", "visibility": "public"});
        json_of(comment(&app, token(&t.officer), id, public_note).await, 201).await;
        let code = secret["tracking_code"].as_str().expect("code");

        let tracked = json_of(track(&app, code).await, 200).await;
        assert_eq!(tracked["status"], "submitted");
        assert_eq!(tracked["category_code"], Value::Null);
        assert_eq!(tracked["kelurahan_code"], Value::Null);
        assert_eq!(tracked["timeline"], Value::Null);
        assert!(tracked["created_at"].is_string() && tracked["verify_due_at"].is_string());
        assert!(!tracked.to_string().contains("Ditangani"));

        // A well-formed unknown code, a malformed one and a path of the wrong shape all
        // answer the same problem.
        let unknown = problem(track(&app, "MTR-2222-2222").await, 404).await;
        let malformed = problem(track(&app, "MTR-0000-OOOO").await, 404).await;
        let long = problem(track(&app, &"X".repeat(300)).await, 404).await;
        for other in [&malformed, &long] {
            for field in ["type", "title", "detail", "code"] {
                assert_eq!(other[field], unknown[field], "{field}");
            }
        }
    })
    .await;
}
