//! Feedback after resolution (SPEC §11): the submitting KIM's users say once each,
//! within ten days, whether a resolution satisfied them; "no" reopens the report.

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, problem, token};
use crate::reports::{id_of, json_of, move_to, report, submit, town};

async fn resolved_report(app: &TestApp, submitter: &str, officer: &str) -> i64 {
    let id = id_of(&submit(app, submitter, &report("normal")).await);
    for step in [
        json!({"status": "verified"}),
        json!({"status": "in_progress"}),
        json!({"status": "resolved", "note": "Lampu diganti"}),
    ] {
        assert_eq!(move_to(app, officer, id, step).await.status().as_u16(), 200);
    }
    id
}

async fn feedback(app: &TestApp, who: &str, id: i64, body: Value) -> reqwest::Response {
    app.post_as(&format!("/api/v1/reports/{id}/feedback"), who, &body)
        .await
}

async fn status_of(app: &TestApp, who: &str, id: i64) -> Value {
    json_of(app.get_as(&format!("/api/v1/reports/{id}"), who).await, 200).await["status"].clone()
}

#[tokio::test]
async fn the_submitting_kim_answers_once_each_and_no_reopens_the_report() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = resolved_report(&app, token(&t.member_a), token(&t.officer)).await;

        // Only the submitting KIM's users have a say.
        let other_kim = feedback(&app, token(&t.member_b), id, json!({"satisfied": true})).await;
        assert_eq!(problem(other_kim, 404).await["code"], "not_found");
        let gov = feedback(&app, token(&t.officer), id, json!({"satisfied": true})).await;
        assert_eq!(problem(gov, 403).await["code"], "forbidden");
        let client = feedback(&app, &t.reader, id, json!({"satisfied": true})).await;
        assert_eq!(problem(client, 403).await["code"], "forbidden");

        let thanks = json!({"satisfied": true, "comment": "Terima kasih"});
        let pleased = json_of(feedback(&app, token(&t.member_a), id, thanks).await, 201).await;
        assert_eq!(pleased["satisfied"], true);
        assert_eq!(pleased["reopened"], false);
        assert_eq!(pleased["comment"], "Terima kasih");
        assert_eq!(status_of(&app, token(&t.member_a), id).await, "resolved");
        let again = feedback(&app, token(&t.member_a), id, json!({"satisfied": false})).await;
        assert_eq!(problem(again, 409).await["code"], "feedback_given");

        let unhappy = json!({"satisfied": false, "comment": "Lampu masih mati di ujung gang"});
        let reopened = json_of(feedback(&app, token(&t.board_a), id, unhappy).await, 201).await;
        assert_eq!(reopened["reopened"], true);
        assert_eq!(status_of(&app, token(&t.officer), id).await, "in_progress");
        let timeline = json_of(
            app.get_as(
                &format!("/api/v1/reports/{id}/comments?limit=100"),
                token(&t.officer),
            )
            .await,
            200,
        )
        .await;
        let last = timeline["data"]
            .as_array()
            .and_then(|entries| entries.last().cloned())
            .expect("entry");
        assert_eq!(last["to_status"], "in_progress");
        assert_eq!(last["body"], "Lampu masih mati di ujung gang");

        // Reopened, it takes no more feedback until it is resolved again.
        let late = feedback(&app, token(&t.member_a), id, json!({"satisfied": true})).await;
        assert_eq!(problem(late, 409).await["code"], "feedback_closed");

        let figures = json_of(
            app.get_as("/api/v1/stats/overview", token(&t.officer))
                .await,
            200,
        )
        .await;
        assert_eq!(
            figures["feedback"],
            json!({"answers": 2, "satisfied": 1, "satisfaction_rate": 0.5})
        );
    })
    .await;
}

#[tokio::test]
async fn feedback_is_taken_within_ten_days_of_the_resolution_only() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let open = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        let early = feedback(&app, token(&t.member_a), open, json!({"satisfied": true})).await;
        assert_eq!(problem(early, 409).await["code"], "feedback_closed");

        let id = resolved_report(&app, token(&t.member_a), token(&t.officer)).await;
        app.advance_clock(chrono::Duration::days(10) - chrono::Duration::minutes(1));
        let member = app.signed_in_again(&t.member_a).await;
        let in_time = feedback(&app, token(&member), id, json!({"satisfied": true})).await;
        assert_eq!(in_time.status().as_u16(), 201);
        app.advance_clock(chrono::Duration::minutes(2));
        let board = app.signed_in_again(&t.board_a).await;
        let too_late = feedback(&app, token(&board), id, json!({"satisfied": false})).await;
        assert_eq!(problem(too_late, 409).await["code"], "feedback_closed");
        assert_eq!(status_of(&app, token(&board), id).await, "resolved");
    })
    .await;
}

#[tokio::test]
async fn two_unhappy_answers_at_once_reopen_the_report_once() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = resolved_report(&app, token(&t.member_a), token(&t.officer)).await;
        let other = crate::helpers::spawn_instance(&app, |_| {}).await;
        let no = json!({"satisfied": false, "comment": "Belum beres"});
        let (first, second) = tokio::join!(
            feedback(&app, token(&t.member_a), id, no.clone()),
            feedback(&other, token(&t.board_a), id, no.clone()),
        );
        let mut statuses = [first.status().as_u16(), second.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409]);
        let timeline = json_of(
            app.get_as(
                &format!("/api/v1/reports/{id}/comments?limit=100"),
                token(&t.officer),
            )
            .await,
            200,
        )
        .await;
        let reopenings = timeline["data"]
            .as_array()
            .expect("entries")
            .iter()
            .filter(|entry| entry["from_status"] == "resolved")
            .count();
        assert_eq!(reopenings, 1);
    })
    .await;
}

#[tokio::test]
async fn bad_feedback_is_refused_and_changes_nothing() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = resolved_report(&app, token(&t.member_a), token(&t.officer)).await;
        for body in [
            json!({}),
            json!({"satisfied": "yes"}),
            json!({"satisfied": true, "rating": 5}),
            json!([true]),
        ] {
            let refused = feedback(&app, token(&t.member_a), id, body).await;
            assert_eq!(problem(refused, 400).await["code"], "invalid_body");
        }
        let long = "x".repeat(kim_api::domain::text::limits::TIMELINE_BODY + 1);
        let refused = feedback(
            &app,
            token(&t.member_a),
            id,
            json!({"satisfied": false, "comment": long}),
        )
        .await;
        assert_eq!(problem(refused, 422).await["errors"][0]["field"], "comment");
        let missing = feedback(
            &app,
            token(&t.member_a),
            999_999,
            json!({"satisfied": true}),
        )
        .await;
        assert_eq!(problem(missing, 404).await["code"], "not_found");
        let anonymous = app
            .client
            .post(format!("{}/api/v1/reports/{id}/feedback", app.address))
            .json(&json!({"satisfied": true}))
            .send()
            .await
            .expect("request");
        assert_eq!(anonymous.status().as_u16(), 401);
        assert_eq!(status_of(&app, token(&t.member_a), id).await, "resolved");
        // Nothing was kept: the first valid answer is still accepted.
        let accepted = feedback(&app, token(&t.member_a), id, json!({"satisfied": true})).await;
        assert_eq!(accepted.status().as_u16(), 201);
    })
    .await;
}
