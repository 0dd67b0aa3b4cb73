//! The audit log as gov_admin reads it: filters by actor, action, target, period and
//! request id, newest first, paged without gaps or repeats; read only; gov_admin only.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, problem, token};
use crate::reports::{id_of, json_of, move_to, report, submit, town};

async fn records(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let page = json_of(
        app.get_as(&format!("/api/v1/audit-log?{query}"), admin)
            .await,
        200,
    )
    .await;
    page["data"].as_array().expect("data").clone()
}

fn actions(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|record| record["action"].as_str().expect("action"))
        .collect()
}

#[tokio::test]
async fn gov_admin_finds_who_did_what_to_which_record() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        let started = chrono::Utc::now() - chrono::Duration::seconds(1);
        let filed = submit(&app, token(&t.member_a), &report("normal")).await;
        let id = id_of(&filed);
        let verified = app
            .client
            .post(app.url(&format!("/api/v1/reports/{id}/status")))
            .bearer_auth(token(&t.officer))
            .header("x-request-id", "dasbor.verifikasi-1")
            .json(&json!({"status": "verified", "note": "Dicek", "assigned_agency": "Dinas PUPR"}))
            .send()
            .await
            .expect("send");
        assert_eq!(verified.status().as_u16(), 200);
        let moved = move_to(
            &app,
            token(&t.officer),
            id,
            json!({"status": "in_progress"}),
        )
        .await;
        assert_eq!(moved.status().as_u16(), 200);

        let about_report =
            records(&app, admin, &format!("target_type=report&target_id={id}")).await;
        assert_eq!(
            actions(&about_report),
            [
                "report.status_changed",
                "report.status_changed",
                "report.created"
            ],
            "newest first"
        );
        let created = &about_report[2];
        assert_eq!(created["actor_type"], "user");
        assert_eq!(created["actor_id"], t.member_a.id.to_string());
        assert!(
            created["request_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty())
        );

        let by_request = records(&app, admin, "request_id=dasbor.verifikasi-1").await;
        assert_eq!(actions(&by_request), ["report.status_changed"]);
        assert_eq!(by_request[0]["actor_id"], t.officer.id.to_string());

        let by_officer = records(
            &app,
            admin,
            &format!("actor_type=user&actor_id={}", t.officer.id),
        )
        .await;
        let officer_id = t.officer.id.to_string();
        assert!(
            by_officer
                .iter()
                .all(|record| record["actor_id"].as_str() == Some(officer_id.as_str()))
        );
        assert_eq!(
            by_officer
                .iter()
                .filter(|record| record["action"] == "report.status_changed")
                .count(),
            2
        );
        let every_report_action = records(&app, admin, "action=report.*&limit=100").await;
        assert_eq!(every_report_action.len(), 3);
        let created_only = records(&app, admin, "action=report.created").await;
        assert_eq!(created_only.len(), 1);
        let clients = records(&app, admin, "actor_type=client&limit=100").await;
        assert!(
            clients
                .iter()
                .all(|record| record["actor_type"] == "client")
        );

        let since = urlencoding(&started.to_rfc3339());
        let in_window = records(&app, admin, &format!("from={since}&action=report.*")).await;
        assert_eq!(in_window.len(), 3);
        let before = records(&app, admin, &format!("to={since}&action=report.*")).await;
        assert!(before.is_empty());

        // Paging one record at a time visits every record once, newest first.
        let everything = records(&app, admin, "limit=100").await;
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(cursor) => format!("/api/v1/audit-log?limit=1&cursor={cursor}"),
                None => "/api/v1/audit-log?limit=1".to_owned(),
            };
            let page = json_of(app.get_as(&path, admin).await, 200).await;
            walked.extend(page["data"].as_array().expect("data").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let ids = |records: &[Value]| -> Vec<i64> {
            records
                .iter()
                .map(|record| record["id"].as_i64().expect("id"))
                .collect()
        };
        assert_eq!(ids(&walked), ids(&everything));
        assert!(walked.len() > 5);
    })
    .await;
}

fn urlencoding(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn only_gov_admin_reads_the_log_and_nobody_changes_it() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        for who in [
            token(&t.officer),
            token(&t.board_a),
            token(&t.member_a),
            t.writer.as_str(),
        ] {
            problem(app.get_as("/api/v1/audit-log", who).await, 403).await;
        }
        problem(app.get("/api/v1/audit-log").await, 401).await;
        for (query, field) in [
            ("actor_id=5", "actor_id"),
            ("target_id=5", "target_id"),
            ("actor_type=robot", "actor_type"),
            ("action=Report!", "action"),
            ("action=report.*.x", "action"),
            ("from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z", "to"),
            ("from=kemarin", "from"),
            ("cursor=bukan", "cursor"),
            ("request_id=x", "request_id"),
        ] {
            let query = if field == "request_id" {
                format!("request_id={}", "x".repeat(65))
            } else {
                query.to_owned()
            };
            let body = problem(
                app.get_as(&format!("/api/v1/audit-log?{query}"), admin)
                    .await,
                400,
            )
            .await;
            assert_eq!(body["errors"][0]["field"], field, "{query}");
        }
        let before = records(&app, admin, "limit=100").await;
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let response = app
                .send(
                    method.clone(),
                    "/api/v1/audit-log",
                    Some(admin),
                    Some(&json!({})),
                )
                .await;
            assert_eq!(response.status().as_u16(), 405, "{method}");
        }
        let after = records(&app, admin, "limit=100").await;
        assert_eq!(before, after, "the log is unchanged");
    })
    .await;
}
