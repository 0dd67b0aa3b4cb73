//! Policy consultations (SPEC §10) on both databases: the draft → open → closed →
//! concluded life, who sees what (audience rules shared with bulletins), answers
//! validated per question kind, one response per KIM revisable until closes_at (also
//! when revisions race), results and tallies, events, and bad input.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use futures_util::future::join_all;
use kim_api::db::schema::{consultation_responses, outbox_events};
use serde_json::{Value, json};

use crate::attachments::{PDF, form, upload_to};
use crate::helpers::{TestApp, on_each_backend, problem, spawn_instance, token};
use crate::reports::json_of;

/// How long after its creation a test consultation closes.
const CLOSES_IN: Duration = Duration::minutes(10);

pub(crate) fn consultation_body(audience: Value) -> Value {
    json!({
        "title": "Jadwal pengangkutan sampah",
        "summary": "Pemerintah kota menimbang perubahan jadwal pengangkutan sampah.",
        "questions": [
            {"id": "setuju", "text": "Apakah warga setuju jadwal diubah?", "kind": "choice",
             "options": ["Setuju", "Tidak setuju", "Ragu-ragu"]},
            {"id": "kepuasan", "text": "Seberapa puas warga dengan layanan sekarang?", "kind": "scale"},
            {"id": "saran", "text": "Saran warga", "kind": "text", "required": false},
        ],
        "audience": audience,
        "opens_at": (kim_api::clock::now() - Duration::minutes(1)).to_rfc3339(),
        // Soon, so the clock passes it within the tokens' lifetime.
        "closes_at": (kim_api::clock::now() + CLOSES_IN).to_rfc3339(),
    })
}

async fn draft(app: &TestApp, gov: &str, audience: Value) -> i64 {
    json_of(
        app.post_as("/api/v1/consultations", gov, &consultation_body(audience))
            .await,
        201,
    )
    .await["id"]
        .as_i64()
        .expect("id")
}

async fn move_to(app: &TestApp, gov: &str, id: i64, body: Value) -> reqwest::Response {
    app.post_as(&format!("/api/v1/consultations/{id}/status"), gov, &body)
        .await
}

async fn respond(app: &TestApp, user: &str, id: i64, body: &Value) -> reqwest::Response {
    app.send(
        reqwest::Method::PUT,
        &format!("/api/v1/consultations/{id}/responses/mine"),
        Some(user),
        Some(body),
    )
    .await
}

async fn events(app: &TestApp, event_type: &'static str) -> usize {
    app.db
        .read(move |conn| {
            Ok(outbox_events::table
                .filter(outbox_events::event_type.eq(event_type))
                .count()
                .get_result::<i64>(conn)?)
        })
        .await
        .expect("outbox") as usize
}

#[tokio::test]
async fn kims_answer_an_open_consultation_and_gov_concludes_it() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let gov = token(&admin);
        let kim_a = app.create_kim_at("KIM Dialog A", "18.72.01.1001", "active").await;
        let kim_b = app.create_kim_at("KIM Dialog B", "18.72.02.1001", "active").await;
        let kim_c = app.create_kim_at("KIM Dialog C", "18.72.01.1002", "active").await;
        let board_a = app.user(&admin, "kim_admin", Some(kim_a)).await;
        let member_a = app.user(&admin, "kim_member", Some(kim_a)).await;
        let board_b = app.user(&admin, "kim_admin", Some(kim_b)).await;
        let board_c = app.user(&admin, "kim_admin", Some(kim_c)).await;
        let id = draft(&app, gov, json!({"scope": "kecamatan", "codes": ["18.72.01"]})).await;
        let path = format!("/api/v1/consultations/{id}");
        let draft_rule = upload_to(&app, &format!("{path}/attachments"), gov, form("rancangan.pdf", "application/pdf", PDF), None).await;
        assert_eq!(draft_rule.status().as_u16(), 201);
        let good = json!({"answers": [
            {"question_id": "setuju", "value": "Setuju"},
            {"question_id": "kepuasan", "value": 4},
            {"question_id": "saran", "value": "Pagi hari lebih baik."}],
            "citizens_consulted": 30});

        // A draft is gov's alone.
        problem(app.get_as(&path, token(&board_a)).await, 404).await;
        problem(respond(&app, token(&board_a), id, &good).await, 404).await;
        let renamed = json_of(app.patch_as(&path, gov, &json!({"title": "Jadwal sampah baru"})).await, 200).await;
        assert_eq!(renamed["status"], "draft");
        let opened = json_of(move_to(&app, gov, id, json!({"status": "open"})).await, 200).await;
        assert_eq!((opened["status"].as_str(), opened["kims_addressed"].as_i64()), (Some("open"), Some(2)));
        assert_eq!(events(&app, "consultation.opened").await, 1);
        let frozen = problem(app.patch_as(&path, gov, &json!({"title": "Lagi"})).await, 409).await;
        assert_eq!(frozen["code"], "consultation_not_draft");

        // Addressed KIMs see it; others and the public do not.
        json_of(app.get_as(&path, token(&member_a)).await, 200).await;
        problem(app.get_as(&path, token(&board_b)).await, 404).await;
        problem(app.get(&path).await, 404).await;
        let seen_by_b = json_of(app.get_as("/api/v1/consultations", token(&board_b)).await, 200).await;
        assert_eq!(seen_by_b["data"].as_array().map(Vec::len), Some(0));

        // Answers are judged against their question, naming it.
        for (answers, field, code) in [
            (json!([{"question_id": "umur", "value": "x"}, {"question_id": "setuju", "value": "Setuju"}, {"question_id": "kepuasan", "value": 3}]), "answers[0].question_id", "unknown_question"),
            (json!([{"question_id": "setuju", "value": "Mungkin"}, {"question_id": "kepuasan", "value": 3}]), "answers[0].value", "invalid_answer"),
            (json!([{"question_id": "setuju", "value": "Setuju"}, {"question_id": "kepuasan", "value": 6}]), "answers[1].value", "invalid_answer"),
            (json!([{"question_id": "setuju", "value": "Setuju"}, {"question_id": "kepuasan", "value": "4"}]), "answers[1].value", "invalid_answer"),
            (json!([{"question_id": "setuju", "value": "Setuju"}, {"question_id": "kepuasan", "value": 2}, {"question_id": "saran", "value": 5}]), "answers[2].value", "invalid_answer"),
            (json!([{"question_id": "setuju", "value": "Setuju"}, {"question_id": "setuju", "value": "Ragu-ragu"}, {"question_id": "kepuasan", "value": 2}]), "answers[1].question_id", "duplicate"),
            (json!([{"question_id": "setuju", "value": "Setuju"}]), "answers", "missing_answer"),
        ] {
            let refused = problem(respond(&app, token(&board_a), id, &json!({"answers": answers, "citizens_consulted": 3})).await, 422).await;
            assert_eq!((refused["errors"][0]["field"].as_str(), refused["errors"][0]["code"].as_str()), (Some(field), Some(code)), "{refused}");
        }
        let missing = problem(respond(&app, token(&board_a), id, &json!({"answers": [{"question_id": "setuju", "value": "Setuju"}], "citizens_consulted": 3})).await, 422).await;
        assert!(missing["errors"][0]["message"].as_str().is_some_and(|m| m.contains("kepuasan")), "{missing}");
        problem(respond(&app, token(&board_a), id, &json!({"answers": [], "citizens_consulted": -1})).await, 422).await;
        problem(respond(&app, token(&board_a), id, &json!({"answers": [], "citizens": 1})).await, 400).await;
        problem(respond(&app, token(&member_a), id, &good).await, 403).await;
        problem(respond(&app, gov, id, &good).await, 403).await;
        problem(respond(&app, token(&board_b), id, &good).await, 404).await;

        // One response per KIM, revised while open.
        let first = json_of(respond(&app, token(&board_a), id, &good).await, 201).await;
        assert_eq!((first["version"].as_i64(), first["kim_id"].as_i64()), (Some(1), Some(kim_a)));
        let revised = json!({"answers": [{"question_id": "setuju", "value": "Ragu-ragu"}, {"question_id": "kepuasan", "value": 2},
                                         {"question_id": "saran", "value": "Malam hari saja."}], "citizens_consulted": 45});
        let second = json_of(respond(&app, token(&board_a), id, &revised).await, 200).await;
        assert_eq!(second["version"], 2);
        let by_c = json!({"answers": [{"question_id": "kepuasan", "value": 5}, {"question_id": "setuju", "value": "Setuju"}], "citizens_consulted": 12});
        json_of(respond(&app, token(&board_c), id, &by_c).await, 201).await;
        let mine = json_of(app.get_as(&format!("{path}/responses/mine"), token(&member_a)).await, 200).await;
        assert_eq!(mine["answers"][0], json!({"question_id": "setuju", "value": "Ragu-ragu"}));
        assert_eq!(mine["citizens_consulted"], 45);
        problem(app.get_as(&format!("{path}/responses/mine"), token(&board_b)).await, 404).await;
        problem(app.get_as(&format!("{path}/responses/mine"), gov).await, 403).await;

        // Results: participation, tallies, text answers with their KIM.
        let results = json_of(app.get_as(&format!("{path}/results"), gov).await, 200).await;
        assert_eq!(
            results,
            json!({"consultation_id": id, "kims_addressed": 2, "kims_answered": 2, "citizens_consulted": 57,
                   "questions": [
                       {"question_id": "setuju", "kind": "choice", "answered": 2,
                        "tally": [{"value": "Setuju", "count": 1}, {"value": "Tidak setuju", "count": 0}, {"value": "Ragu-ragu", "count": 1}]},
                       {"question_id": "kepuasan", "kind": "scale", "answered": 2, "mean": 3.5,
                        "tally": [{"value": "1", "count": 0}, {"value": "2", "count": 1}, {"value": "3", "count": 0}, {"value": "4", "count": 0}, {"value": "5", "count": 1}]},
                       {"question_id": "saran", "kind": "text", "answered": 1,
                        "answers": [{"kim_id": kim_a, "kim_name": "KIM Dialog A", "value": "Malam hari saja."}]},
                   ]})
        );
        problem(app.get_as(&format!("{path}/results"), token(&board_a)).await, 403).await;

        // Past closes_at it is closed: no more responses.
        app.advance_clock(CLOSES_IN + Duration::seconds(1));
        let closed = problem(respond(&app, token(&board_a), id, &good).await, 409).await;
        assert_eq!(closed["code"], "consultation_closed");
        assert_eq!(json_of(app.get_as(&path, token(&board_c)).await, 200).await["status"], "closed");
        let listed = json_of(app.get_as("/api/v1/consultations?status=closed", gov).await, 200).await;
        assert_eq!(listed["data"][0]["id"], id);
        let open_now = json_of(app.get_as("/api/v1/consultations?status=open", gov).await, 200).await;
        assert_eq!(open_now["data"].as_array().map(Vec::len), Some(0));

        // Concluding needs the government's response, which addressed KIMs then read.
        let bare = problem(move_to(&app, gov, id, json!({"status": "concluded"})).await, 422).await;
        assert_eq!(bare["errors"][0]["field"], "government_response");
        problem(move_to(&app, gov, id, json!({"status": "closed", "government_response": "Belum"})).await, 422).await;
        problem(move_to(&app, token(&board_a), id, json!({"status": "concluded", "government_response": "X"})).await, 403).await;
        let concluded = json_of(move_to(&app, gov, id, json!({"status": "concluded", "government_response": "Jadwal tetap pagi hari."})).await, 200).await;
        assert_eq!(concluded["status"], "concluded");
        assert_eq!(events(&app, "consultation.concluded").await, 1);
        let read = json_of(app.get_as(&path, token(&member_a)).await, 200).await;
        assert_eq!(read["government_response"], "Jadwal tetap pagi hari.");
        let again = problem(move_to(&app, gov, id, json!({"status": "open"})).await, 409).await;
        assert_eq!(again["code"], "invalid_transition");
        let late = upload_to(&app, &format!("{path}/attachments"), gov, form("akhir.pdf", "application/pdf", PDF), None).await;
        assert_eq!(problem(late, 409).await["code"], "consultation_concluded");
        // Nor are its documents removed once concluded.
        let listed = json_of(app.get_as(&format!("{path}/attachments"), token(&member_a)).await, 200).await;
        let document = format!("{path}/attachments/{}", listed["data"][0]["id"]);
        problem(app.send(reqwest::Method::DELETE, &document, Some(token(&board_a)), None).await, 403).await;
        let kept = problem(app.send(reqwest::Method::DELETE, &document, Some(gov), None).await, 409).await;
        assert_eq!(kept["code"], "consultation_concluded");
        let by_kim = upload_to(&app, &format!("{path}/attachments"), token(&board_a), form("kim.pdf", "application/pdf", PDF), None).await;
        problem(by_kim, 403).await;
        let engagement = json_of(app.get_as(&format!("/api/v1/kims/{kim_a}/engagement"), gov).await, 200).await;
        assert_eq!(engagement["consultations_answered"], 1);
    })
    .await;
}

#[tokio::test]
async fn public_consultations_are_read_by_everyone_and_drafts_are_checked() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let gov = token(&admin);
        let id = draft(&app, gov, json!({"scope": "public"})).await;
        let path = format!("/api/v1/consultations/{id}");
        problem(app.get(&path).await, 404).await;
        // Documents: gov attaches them; whoever sees the consultation downloads them.
        let files = format!("{path}/attachments");
        let document = json_of(
            upload_to(
                &app,
                &files,
                gov,
                form("rancangan.pdf", "application/pdf", PDF),
                None,
            )
            .await,
            201,
        )
        .await;
        let download = format!("{files}/{}", document["id"]);
        problem(app.get(&download).await, 404).await;
        let early = problem(
            move_to(&app, gov, id, json!({"status": "closed"})).await,
            409,
        )
        .await;
        assert_eq!(early["code"], "invalid_transition");
        json_of(move_to(&app, gov, id, json!({"status": "open"})).await, 200).await;
        let public = json_of(app.get(&path).await, 200).await;
        assert_eq!(
            public["questions"][0]["options"],
            json!(["Setuju", "Tidak setuju", "Ragu-ragu"])
        );
        assert_eq!(public["attachments"][0]["id"], document["id"]);
        let fetched = app.get(&download).await;
        assert_eq!(fetched.status().as_u16(), 200);
        // As kept: without document information (tests/api/media.rs).
        let kept = fetched.bytes().await.expect("bytes");
        assert!(kept.starts_with(b"%PDF-"));
        assert_eq!(Some(kept.len() as u64), document["size_bytes"].as_u64());
        assert_eq!(
            json_of(app.get("/api/v1/consultations").await, 200).await["data"][0]["id"],
            id
        );
        let (client_id, secret, _) = app.integration_client(&admin, &["kims:read"]).await;
        let client = app.client_token(&client_id, &secret).await;
        json_of(app.get_as(&path, &client).await, 200).await;
        problem(
            upload_to(
                &app,
                &files,
                &client,
                form("lain.pdf", "application/pdf", PDF),
                None,
            )
            .await,
            403,
        )
        .await;
        problem(
            app.post_as(
                "/api/v1/consultations",
                &client,
                &consultation_body(json!({"scope": "public"})),
            )
            .await,
            403,
        )
        .await;
        problem(app.get_as(&format!("{path}/results"), &client).await, 403).await;
        // Opened ahead of its opens_at: visible, but not yet taking responses.
        let kim = app.create_kim_at("KIM Dialog Awal", "18.72.01.1001", "active").await;
        let board = app.user(&admin, "kim_admin", Some(kim)).await;
        let mut later = consultation_body(json!({"scope": "all_kims"}));
        later["opens_at"] = json!((kim_api::clock::now() + Duration::days(1)).to_rfc3339());
        later["closes_at"] = json!((kim_api::clock::now() + Duration::days(8)).to_rfc3339());
        let ahead = json_of(app.post_as("/api/v1/consultations", gov, &later).await, 201).await["id"].as_i64().expect("id");
        json_of(move_to(&app, gov, ahead, json!({"status": "open"})).await, 200).await;
        let answers = json!({"answers": [{"question_id": "setuju", "value": "Setuju"}, {"question_id": "kepuasan", "value": 3}], "citizens_consulted": 1});
        let not_yet = problem(respond(&app, token(&board), ahead, &answers).await, 409).await;
        assert_eq!(not_yet["code"], "consultation_not_open");
        let early_close = json_of(
            move_to(&app, gov, id, json!({"status": "closed"})).await,
            200,
        )
        .await;
        assert_eq!(early_close["status"], "closed");

        // Bad drafts: a clear problem naming the field.
        let mut cases = Vec::new();
        let mut empty = consultation_body(json!({"scope": "all_kims"}));
        empty["questions"] = json!([]);
        cases.push((empty, "questions"));
        let mut twice = consultation_body(json!({"scope": "all_kims"}));
        twice["questions"][1]["id"] = json!("setuju");
        cases.push((twice, "questions[1].id"));
        let mut lonely = consultation_body(json!({"scope": "all_kims"}));
        lonely["questions"][0]["options"] = json!(["Setuju"]);
        cases.push((lonely, "questions[0].options"));
        let mut text_options = consultation_body(json!({"scope": "all_kims"}));
        text_options["questions"][2]["options"] = json!(["A", "B"]);
        cases.push((text_options, "questions[2].options"));
        let mut bad_id = consultation_body(json!({"scope": "all_kims"}));
        bad_id["questions"][0]["id"] = json!("Setuju Warga");
        cases.push((bad_id, "questions[0].id"));
        let mut backwards = consultation_body(json!({"scope": "all_kims"}));
        backwards["closes_at"] = json!((Utc::now() - Duration::days(1)).to_rfc3339());
        cases.push((backwards, "closes_at"));
        let mut unknown_kim = consultation_body(json!({"scope": "kims", "kim_ids": [999_999]}));
        unknown_kim["title"] = json!("Untuk KIM yang tidak ada");
        cases.push((unknown_kim, "audience.kim_ids[0]"));
        for (bad, field) in cases {
            let refused = problem(app.post_as("/api/v1/consultations", gov, &bad).await, 422).await;
            assert_eq!(refused["errors"][0]["field"], field, "{refused}");
        }
        let mut unknown_kind = consultation_body(json!({"scope": "all_kims"}));
        unknown_kind["questions"][0]["kind"] = json!("ranking");
        problem(
            app.post_as("/api/v1/consultations", gov, &unknown_kind)
                .await,
            400,
        )
        .await;
        problem(app.get("/api/v1/consultations?status=maybe").await, 400).await;
    })
    .await;
}

#[tokio::test]
async fn a_kim_keeps_one_response_when_revisions_race() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let gov = token(&admin);
        let kim = app.create_kim_at("KIM Dialog", "18.72.01.1001", "active").await;
        let board = app.user(&admin, "kim_admin", Some(kim)).await;
        let other = spawn_instance(&app, |_| {}).await;
        let id = draft(&app, gov, json!({"scope": "all_kims"})).await;
        json_of(move_to(&app, gov, id, json!({"status": "open"})).await, 200).await;
        let bodies: Vec<Value> = (1..=5)
            .map(|n| json!({"answers": [{"question_id": "setuju", "value": "Setuju"}, {"question_id": "kepuasan", "value": n}], "citizens_consulted": n}))
            .collect();
        let racing = bodies.iter().enumerate().map(|(index, body)| {
            let instance = if index % 2 == 0 { &app } else { &other };
            respond(instance, token(&board), id, body)
        });
        let statuses: Vec<u16> = join_all(racing).await.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 4, "{statuses:?}");
        let stored: Vec<i64> = app
            .db
            .read(move |conn| {
                Ok(consultation_responses::table
                    .filter(consultation_responses::consultation_id.eq(id))
                    .select(consultation_responses::version)
                    .load(conn)?)
            })
            .await
            .expect("responses");
        assert_eq!(stored, vec![5]);
    })
    .await;
}
