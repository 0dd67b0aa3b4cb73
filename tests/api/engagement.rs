//! A KIM's engagement figures (SPEC §10) against a hand-computed fixture, the same on
//! both databases, and who may read them.

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, problem, token};
use crate::mentoring::{add_member, plan, session_starting_soon, start_now};
use crate::reports::{json_of, report, submit};

async fn published(app: &TestApp, author: &str, audience: Value) -> i64 {
    let created = json_of(
        app.post_as(
            "/api/v1/bulletins",
            author,
            &json!({"title": "Kabar", "body": "Isi", "category": "umum", "audience": audience}),
        )
        .await,
        201,
    )
    .await;
    let id = created["id"].as_i64().expect("id");
    json_of(
        app.post_as(
            &format!("/api/v1/bulletins/{id}/publish"),
            author,
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    id
}

#[tokio::test]
async fn engagement_counts_what_the_fixture_holds() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let gov = token(&admin);
        let kim_a = app.create_kim_at("KIM Aktif A", "18.72.01.1001", "active").await;
        let kim_b = app.create_kim_at("KIM Aktif B", "18.72.02.1001", "active").await;
        let board_a = app.user(&admin, "kim_admin", Some(kim_a)).await;
        let member_a = app.user(&admin, "kim_member", Some(kim_a)).await;
        let board_b = app.user(&admin, "kim_admin", Some(kim_b)).await;

        // Activities: three of A in the period (reach 60), one of A too old, one of B.
        let today = (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive();
        let activities = format!("/api/v1/kims/{kim_a}/activities");
        for (days_ago, reach) in [(0, 10), (40, 20), (300, 30), (400, 1000)] {
            let date = (today - chrono::Duration::days(days_ago)).to_string();
            let body = json!({"date": date, "kind": "diskusi", "title": "Diskusi", "participants": 5, "reach": reach});
            json_of(app.post_as(&activities, token(&board_a), &body).await, 201).await;
        }
        let other = json!({"date": today.to_string(), "kind": "liputan", "title": "Liputan", "participants": 1, "reach": 500});
        json_of(app.post_as(&format!("/api/v1/kims/{kim_b}/activities"), token(&board_b), &other).await, 201).await;

        // Bulletins: two reach A (all KIMs, its kecamatan); one is B's only; A's own is
        // not counted; A acknowledges one.
        let to_all = published(&app, gov, json!({"scope": "all_kims"})).await;
        published(&app, gov, json!({"scope": "kecamatan", "codes": ["18.72.01"]})).await;
        published(&app, gov, json!({"scope": "kims", "kim_ids": [kim_b]})).await;
        published(&app, token(&board_a), json!({"scope": "all_kims"})).await;
        let acked = app.post_as(&format!("/api/v1/bulletins/{to_all}/acknowledgements"), token(&member_a), &json!({"reach": 40})).await;
        assert_eq!(acked.status().as_u16(), 201);

        // Reports: two by A's users.
        submit(&app, token(&member_a), &report("normal")).await;
        submit(&app, token(&board_a), &report("normal")).await;

        // Sessions: one member attends two held sessions, another misses one.
        let first = add_member(&app, token(&board_a), kim_a, 41).await;
        let second = add_member(&app, token(&board_a), kim_a, 42).await;
        let mut attendances = Vec::new();
        for (title, members) in [("Sesi 1", vec![(first, true), (second, false)]), ("Sesi 2", vec![(first, true)])] {
            let session = plan(&app, gov, &session_starting_soon(title, json!({"scope": "all_kims"}), 10)).await;
            let nominations = format!("/api/v1/mentoring-sessions/{session}/participants");
            let mut nominated = Vec::new();
            for (member, attended) in members {
                let nomination = json_of(app.post_as(&nominations, token(&board_a), &json!({"member_id": member})).await, 201).await;
                nominated.push((nomination["id"].as_i64().expect("id"), attended));
            }
            start_now(&app);
            for (pid, attended) in nominated {
                json_of(app.patch_as(&format!("{nominations}/{pid}"), gov, &json!({"attended": attended})).await, 200).await;
            }
            json_of(app.post_as(&format!("/api/v1/mentoring-sessions/{session}/status"), gov, &json!({"status": "held"})).await, 200).await;
            attendances.push(session);
        }

        let figures = json_of(app.get_as(&format!("/api/v1/kims/{kim_a}/engagement"), token(&admin)).await, 200).await;
        let year_ago = today.checked_sub_months(chrono::Months::new(12)).and_then(|d| d.succ_opt()).expect("date");
        assert_eq!(
            figures,
            json!({"kim_id": kim_a, "from": year_ago.to_string(), "to": today.to_string(),
                   "activities": 3, "reach": 60, "bulletins_addressed": 2, "bulletins_acknowledged": 1,
                   "acknowledgement_rate": 0.5, "reports_submitted": 2, "members_trained": 1,
                   "session_attendances": 2, "consultations_answered": 0})
        );
        let month = json_of(app.get_as(&format!("/api/v1/kims/{kim_a}/engagement?months=1"), gov).await, 200).await;
        assert_eq!((month["activities"].as_i64(), month["reach"].as_i64()), (Some(1), Some(10)));
        let b = json_of(app.get_as(&format!("/api/v1/kims/{kim_b}/engagement?months=36"), gov).await, 200).await;
        assert_eq!((b["activities"].as_i64(), b["bulletins_addressed"].as_i64(), b["acknowledgement_rate"].as_f64()), (Some(1), Some(3), Some(0.0)));

        for bad in ["?months=0", "?months=37", "?months=x", "?weeks=2"] {
            problem(app.get_as(&format!("/api/v1/kims/{kim_a}/engagement{bad}"), gov).await, 400).await;
        }
        problem(app.get_as("/api/v1/kims/999999/engagement", gov).await, 404).await;
        problem(app.get_as(&format!("/api/v1/kims/{kim_a}/engagement"), token(&board_a)).await, 403).await;
        problem(app.get(&format!("/api/v1/kims/{kim_a}/engagement")).await, 401).await;
    })
    .await;
}
