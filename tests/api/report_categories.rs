//! Report categories managed by gov_admin: added, renamed, retired (old reports keep
//! them, new ones cannot use them) and brought back; bad input as clear problems.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{on_each_backend, problem, token};
use crate::reports::{json_of, report, submit, town};

#[tokio::test]
async fn gov_admin_adds_renames_and_retires_categories() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        let water = json!({"code": "air_bersih", "name": "Air Bersih", "description": "PDAM dan sumur bor"});
        let created = app
            .post_as("/api/v1/report-categories", admin, &water)
            .await;
        assert_eq!(
            created.headers()["location"].to_str().expect("location"),
            "/api/v1/report-categories/air_bersih"
        );
        let created = json_of(created, 201).await;
        assert_eq!(created["active"], true);
        assert_eq!(created["description"], "PDAM dan sumur bor");
        let again = app
            .post_as("/api/v1/report-categories", admin, &water)
            .await;
        assert_eq!(problem(again, 409).await["code"], "category_exists");

        let mut body = report("normal");
        body["category_code"] = json!("air_bersih");
        let filed = submit(&app, token(&t.member_a), &body).await;
        assert_eq!(filed["category_code"], "air_bersih");

        let read = app.get("/api/v1/report-categories/air_bersih").await;
        assert_eq!(read.headers()["etag"], "\"1\"");
        let stale = app
            .client
            .patch(app.url("/api/v1/report-categories/air_bersih"))
            .bearer_auth(admin)
            .header("If-Match", "\"7\"")
            .json(&json!({"name": "Air"}))
            .send()
            .await
            .expect("send");
        problem(stale, 412).await;
        let retired = app
            .client
            .patch(app.url("/api/v1/report-categories/air_bersih"))
            .bearer_auth(admin)
            .header("If-Match", "\"1\"")
            .json(&json!({"name": "Air Bersih & Sanitasi", "active": false, "description": null}))
            .send()
            .await
            .expect("send");
        let retired = json_of(retired, 200).await;
        assert_eq!(retired["active"], false);
        assert_eq!(retired["name"], "Air Bersih & Sanitasi");
        assert_eq!(retired["description"], Value::Null);
        assert_eq!(retired["version"], 2);

        let refused = problem(
            app.post_as("/api/v1/reports", token(&t.member_a), &body)
                .await,
            422,
        )
        .await;
        assert_eq!(refused["errors"][0]["field"], "category_code");
        let kept = json_of(
            app.get_as(
                &format!("/api/v1/reports/{}", filed["id"]),
                token(&t.officer),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(kept["category_code"], "air_bersih", "old reports keep it");
        let inactive = json_of(app.get("/api/v1/report-categories?active=false").await, 200).await;
        assert_eq!(inactive["data"][0]["code"], "air_bersih");

        let unchanged = json_of(
            app.patch_as(
                "/api/v1/report-categories/air_bersih",
                admin,
                &json!({"active": false}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(unchanged["version"], 2, "no change, no new version");
        let back = json_of(
            app.patch_as(
                "/api/v1/report-categories/air_bersih",
                admin,
                &json!({"active": true}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(back["active"], true);
        submit(&app, token(&t.member_a), &body).await;
    })
    .await;
}

#[tokio::test]
async fn bad_categories_are_clear_problems() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        for (body, status, field) in [
            (json!({"code": "Air", "name": "Air"}), 422, "code"),
            (json!({"code": "1air", "name": "Air"}), 422, "code"),
            (json!({"code": "air-bersih", "name": "Air"}), 422, "code"),
            (json!({"code": "a", "name": "Air"}), 422, "code"),
            (json!({"code": "a".repeat(65), "name": "Air"}), 422, "code"),
            (json!({"code": "air", "name": "  "}), 422, "name"),
            (json!({"code": "air", "name": "x".repeat(201)}), 422, "name"),
            (
                json!({"code": "air", "name": "Air", "description": "x".repeat(1001)}),
                422,
                "description",
            ),
            (json!({"code": "air"}), 400, "name"),
            (
                json!({"code": "air", "name": "Air", "active": false}),
                400,
                "active",
            ),
        ] {
            let answer = problem(
                app.post_as("/api/v1/report-categories", admin, &body).await,
                status,
            )
            .await;
            assert_eq!(answer["errors"][0]["field"], field, "{body}");
        }
        let blank_rename = problem(
            app.patch_as(
                "/api/v1/report-categories/lainnya",
                admin,
                &json!({"name": ""}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(blank_rename["errors"][0]["field"], "name");
        let unknown = app
            .patch_as(
                "/api/v1/report-categories/tidak_ada",
                admin,
                &json!({"name": "Tidak"}),
            )
            .await;
        problem(unknown, 404).await;
        problem(app.get("/api/v1/report-categories/tidak_ada").await, 404).await;
        for who in [token(&t.officer), token(&t.board_a), t.writer.as_str()] {
            let response = app
                .send(
                    Method::POST,
                    "/api/v1/report-categories",
                    Some(who),
                    Some(&json!({"code": "air", "name": "Air"})),
                )
                .await;
            problem(response, 403).await;
            let response = app
                .patch_as(
                    "/api/v1/report-categories/lainnya",
                    who,
                    &json!({"active": false}),
                )
                .await;
            problem(response, 403).await;
        }
        let listed = json_of(app.get("/api/v1/report-categories?limit=100").await, 200).await;
        let codes: Vec<&str> = listed["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|category| category["code"].as_str())
            .collect();
        assert!(!codes.contains(&"air"), "nothing was added");
        assert!(
            listed["data"]
                .as_array()
                .expect("data")
                .iter()
                .all(|category| category["active"] == true),
            "nothing was retired"
        );
    })
    .await;
}
