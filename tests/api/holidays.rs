//! Public holidays of the service-level calendar: gov_admin keeps them, gov reads them,
//! one per date, bad input as clear problems.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{on_each_backend, problem};

#[tokio::test]
async fn gov_admin_keeps_one_holiday_per_date_and_gov_reads_them() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let officer = app.user(&admin, "gov_officer", None).await;
        let admin_token = admin.session.access_token.as_str();
        let christmas = json!({"date": "2026-12-25", "name": "Hari Raya Natal"});
        let created = app
            .post_as("/api/v1/holidays", admin_token, &christmas)
            .await;
        assert_eq!(created.status().as_u16(), 201);
        assert_eq!(
            created.headers()["location"].to_str().expect("location"),
            "/api/v1/holidays/2026-12-25"
        );
        for (date, name) in [
            ("2027-01-01", "Tahun Baru 2027 Masehi"),
            ("2026-08-17", "Hari Kemerdekaan"),
        ] {
            let response = app
                .post_as(
                    "/api/v1/holidays",
                    admin_token,
                    &json!({"date": date, "name": name}),
                )
                .await;
            assert_eq!(response.status().as_u16(), 201);
        }
        let again = app
            .post_as("/api/v1/holidays", admin_token, &christmas)
            .await;
        assert_eq!(problem(again, 409).await["code"], "holiday_exists");

        let listed: Value = app
            .get_as("/api/v1/holidays?year=2026", &officer.session.access_token)
            .await
            .json()
            .await
            .expect("json");
        let dates: Vec<&str> = listed["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|holiday| holiday["date"].as_str().expect("date"))
            .collect();
        assert_eq!(dates, ["2026-08-17", "2026-12-25"]);
        let first_page: Value = app
            .get_as("/api/v1/holidays?limit=2", admin_token)
            .await
            .json()
            .await
            .expect("json");
        let cursor = first_page["next_cursor"].as_str().expect("a second page");
        let second_page: Value = app
            .get_as(
                &format!("/api/v1/holidays?limit=2&cursor={cursor}"),
                admin_token,
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(second_page["data"][0]["date"], "2027-01-01");

        let officer_writes = app
            .post_as(
                "/api/v1/holidays",
                &officer.session.access_token,
                &json!({"date": "2026-12-24", "name": "Cuti bersama"}),
            )
            .await;
        assert_eq!(officer_writes.status().as_u16(), 403);

        let gone = app
            .send(
                Method::DELETE,
                "/api/v1/holidays/2026-12-25",
                Some(admin_token),
                None,
            )
            .await;
        assert_eq!(gone.status().as_u16(), 204);
        let gone_again = app
            .send(
                Method::DELETE,
                "/api/v1/holidays/2026-12-25",
                Some(admin_token),
                None,
            )
            .await;
        assert_eq!(gone_again.status().as_u16(), 404);
    })
    .await;
}

#[tokio::test]
async fn bad_holidays_are_clear_problems() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let token = admin.session.access_token.as_str();
        for (body, status, field) in [
            (
                json!({"date": "2026-13-01", "name": "Tidak ada"}),
                400,
                "date",
            ),
            (
                json!({"date": "25-12-2026", "name": "Salah bentuk"}),
                400,
                "date",
            ),
            (json!({"name": "Tanpa tanggal"}), 400, "date"),
            (
                json!({"date": "2026-12-25", "name": "Natal", "libur": true}),
                400,
                "libur",
            ),
            (json!({"date": "2026-12-25", "name": "   "}), 422, "name"),
            (
                json!({"date": "2026-12-25", "name": "x".repeat(201)}),
                422,
                "name",
            ),
        ] {
            let answer = problem(app.post_as("/api/v1/holidays", token, &body).await, status).await;
            assert_eq!(answer["errors"][0]["field"], field, "{body}");
        }
        let bad_path = app
            .send(Method::DELETE, "/api/v1/holidays/natal", Some(token), None)
            .await;
        assert_eq!(problem(bad_path, 400).await["errors"][0]["field"], "date");
        let bad_year = app.get_as("/api/v1/holidays?year=abc", token).await;
        assert_eq!(bad_year.status().as_u16(), 400);
        let far_year = app.get_as("/api/v1/holidays?year=10000", token).await;
        assert_eq!(far_year.status().as_u16(), 400);
    })
    .await;
}
