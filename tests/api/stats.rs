//! Dashboard statistics against a hand-computed fixture, the same on both databases:
//! KIMs and members now; reports, resolutions, bulletins and acknowledgements over a
//! period of WIB days; medians in whole seconds; who may read them; bad periods.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kim_api::db::schema::{bulletin_acknowledgements, bulletins, reports};
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, problem};
use crate::reports::{id_of, json_of, move_to, report, submit, token, town};

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("timestamp")
}

/// Moves a report's clock to fixed instants (UTC), as if it had lived then.
async fn backdate(
    app: &TestApp,
    id: i64,
    created: &str,
    first_response: Option<&str>,
    resolved: Option<&str>,
    verify_due: &str,
) {
    let (created, first_response, resolved, verify_due) = (
        at(created),
        first_response.map(at),
        resolved.map(at),
        at(verify_due),
    );
    app.db
        .write(move |conn| {
            diesel::update(reports::table.find(id))
                .set((
                    reports::created_at.eq(created),
                    reports::first_response_at.eq(first_response),
                    reports::resolved_at.eq(resolved),
                    reports::verify_due_at.eq(verify_due),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .expect("backdate");
}

async fn add_member(app: &TestApp, admin: &str, kim: i64, serial: u32) {
    let added = app
        .post_as(
            &format!("/api/v1/kims/{kim}/members"),
            admin,
            &json!({"full_name": format!("Warga {serial}"), "nik": format!("187201170890{serial:04}"),
                    "gender": "male", "birth_date": "1990-08-17", "position": "anggota"}),
        )
        .await;
    assert_eq!(added.status().as_u16(), 201);
}

#[tokio::test]
async fn the_overview_counts_what_the_fixture_holds() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        app.create_kim_at("KIM Usulan", "18.72.02.1001", "proposed").await;
        let member_b_kim = json_of(app.get_as("/api/v1/me", token(&t.member_b)).await, 200).await["kim_id"]
            .as_i64()
            .expect("kim");
        add_member(&app, admin, t.kim_a, 1).await;
        add_member(&app, admin, t.kim_a, 2).await;
        add_member(&app, admin, member_b_kim, 3).await;

        let r1 = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        for step in [
            json!({"status": "verified", "note": "Dicek"}),
            json!({"status": "in_progress"}),
            json!({"status": "resolved", "note": "Selesai"}),
        ] {
            assert_eq!(move_to(&app, token(&t.officer), r1, step).await.status().as_u16(), 200);
        }
        let mut health = report("normal");
        health["category_code"] = json!("kesehatan");
        let r2 = id_of(&submit(&app, token(&t.member_a), &health).await);
        let rejected = move_to(&app, token(&t.officer), r2, json!({"status": "rejected", "note": "Bukan wewenang"})).await;
        assert_eq!(rejected.status().as_u16(), 200);
        let mut at_b = report("normal");
        at_b["kelurahan_code"] = json!("18.72.01.1002");
        let r3 = id_of(&submit(&app, token(&t.member_b), &at_b).await);
        let mut west = report("normal");
        west["kind"] = json!("aspiration");
        west["category_code"] = json!("lainnya");
        west["kelurahan_code"] = json!("18.72.02.1001");
        west["latitude"] = json!(null);
        west["longitude"] = json!(null);
        let r4 = id_of(&submit(&app, &t.writer, &west).await);
        let r5 = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);

        // WIB is UTC+7: 20:00 UTC on 2 March is 3 March in Kota Metro.
        backdate(&app, r1, "2026-03-02 01:00:00", Some("2026-03-02 03:00:00"), Some("2026-03-05 01:00:00"), "2026-03-05 16:59:59").await;
        backdate(&app, r2, "2026-03-02 20:00:00", Some("2026-03-03 00:00:00"), None, "2026-03-05 16:59:59").await;
        backdate(&app, r3, "2026-03-03 02:00:00", None, None, "2026-03-06 16:59:59").await;
        backdate(&app, r4, "2026-03-05 10:00:00", None, None, "2099-01-01 00:00:00").await;
        // 00:00 WIB on 9 March: the day after the period.
        backdate(&app, r5, "2026-03-08 17:00:00", None, None, "2099-01-01 00:00:00").await;

        let addressed_to_all = json_of(
            app.post_as("/api/v1/bulletins", admin, &json!({"title": "Posyandu", "body": "Isi", "category": "kesehatan", "audience": {"scope": "all_kims"}})).await,
            201,
        )
        .await;
        let bulletin = id_of(&addressed_to_all);
        let published = app.post_as(&format!("/api/v1/bulletins/{bulletin}/publish"), admin, &json!({})).await;
        assert_eq!(published.status().as_u16(), 200);
        let acked = app
            .post_as(&format!("/api/v1/bulletins/{bulletin}/acknowledgements"), token(&t.member_a), &json!({"reach": 10}))
            .await;
        assert_eq!(acked.status().as_u16(), 201);
        let draft = app
            .post_as("/api/v1/bulletins", admin, &json!({"title": "Draf", "body": "Isi", "category": "umum", "audience": {"scope": "all_kims"}}))
            .await;
        assert_eq!(draft.status().as_u16(), 201);
        app.db
            .write(move |conn| {
                diesel::update(bulletins::table.find(bulletin))
                    .set(bulletins::published_at.eq(Some(at("2026-03-04 03:00:00"))))
                    .execute(conn)?;
                diesel::update(bulletin_acknowledgements::table)
                    .set(bulletin_acknowledgements::created_at.eq(at("2026-03-06 05:00:00")))
                    .execute(conn)?;
                Ok(())
            })
            .await
            .expect("backdate bulletin");

        let figures: Value = json_of(
            app.get_as("/api/v1/stats/overview?from=2026-03-02&to=2026-03-08", token(&t.officer)).await,
            200,
        )
        .await;
        assert_eq!(figures["from"], "2026-03-02");
        assert_eq!(figures["to"], "2026-03-08");
        assert_eq!(
            figures["kims"],
            json!({
                "total": 3,
                "by_status": {"active": 2, "proposed": 1},
                "by_kecamatan": [
                    {"kecamatan_code": "18.72.01", "total": 2, "by_status": {"active": 2}},
                    {"kecamatan_code": "18.72.02", "total": 1, "by_status": {"proposed": 1}},
                ],
                "active_members": 3,
            })
        );
        assert_eq!(
            figures["reports"],
            json!({
                "submitted": 4,
                "by_status": {"rejected": 1, "resolved": 1, "submitted": 2},
                "by_kind": {"aspiration": 1, "complaint": 3},
                "by_category": [
                    {"code": "infrastruktur", "count": 2},
                    {"code": "kesehatan", "count": 1},
                    {"code": "lainnya", "count": 1},
                ],
                "by_kecamatan": [
                    {"code": "18.72.01", "count": 3},
                    {"code": "18.72.02", "count": 1},
                ],
                "overdue": 1,
                "median_first_response_seconds": 10800,
                "median_resolution_seconds": 259200,
                "resolved_in_period": 1,
            })
        );
        assert_eq!(
            figures["bulletins"],
            json!({"published": 1, "kims_addressed": 2, "acknowledgements": 1,
                   "acknowledgement_rate": 0.5, "reach": 10})
        );
        let daily = figures["daily"].as_array().expect("daily");
        assert_eq!(daily.len(), 7);
        let day = |date: &str| daily.iter().find(|entry| entry["date"] == date).cloned().expect("day");
        assert_eq!(day("2026-03-02"), json!({"date": "2026-03-02", "reports_submitted": 1, "reports_resolved": 0, "bulletins_published": 0, "acknowledgements": 0}));
        assert_eq!(day("2026-03-03")["reports_submitted"], 2);
        assert_eq!(day("2026-03-04")["bulletins_published"], 1);
        assert_eq!(day("2026-03-05")["reports_submitted"], 1);
        assert_eq!(day("2026-03-05")["reports_resolved"], 1);
        assert_eq!(day("2026-03-06")["acknowledgements"], 1);
        assert_eq!(day("2026-03-08")["reports_submitted"], 0, "00:00 WIB on the 9th is not the 8th");

        let later: Value = json_of(
            app.get_as("/api/v1/stats/overview?from=2026-03-09&to=2026-03-09", admin).await,
            200,
        )
        .await;
        assert_eq!(later["reports"]["submitted"], 1);
        assert_eq!(later["reports"]["median_first_response_seconds"], Value::Null);
        assert_eq!(later["bulletins"]["acknowledgement_rate"], Value::Null);
        let default_period: Value = json_of(app.get_as("/api/v1/stats/overview", admin).await, 200).await;
        assert_eq!(default_period["daily"].as_array().map(Vec::len), Some(30));
    })
    .await;
}

#[tokio::test]
async fn statistics_are_for_gov_and_stats_clients_and_periods_are_checked() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let (stats_id, stats_secret, _) = app.integration_client(&t.admin, &["stats:read"]).await;
        let stats_client = app.client_token(&stats_id, &stats_secret).await;
        for who in [token(&t.admin), token(&t.officer), stats_client.as_str()] {
            json_of(app.get_as("/api/v1/stats/overview", who).await, 200).await;
        }
        for who in [
            token(&t.board_a),
            token(&t.member_a),
            t.reader.as_str(),
            t.writer.as_str(),
        ] {
            problem(app.get_as("/api/v1/stats/overview", who).await, 403).await;
        }
        problem(app.get("/api/v1/stats/overview").await, 401).await;
        for (query, field) in [
            ("from=2026-03-09&to=2026-03-01", "to"),
            ("from=2025-01-01&to=2026-03-01", "from"),
            ("from=kemarin", "from"),
            ("to=2026-02-30", "to"),
            ("kim_id=1", "kim_id"),
        ] {
            let body = problem(
                app.get_as(&format!("/api/v1/stats/overview?{query}"), token(&t.admin))
                    .await,
                400,
            )
            .await;
            assert_eq!(body["errors"][0]["field"], field, "{query}");
        }
        json_of(
            app.get_as(
                "/api/v1/stats/overview?from=2025-03-02&to=2026-03-02",
                token(&t.admin),
            )
            .await,
            200,
        )
        .await;
    })
    .await;
}
