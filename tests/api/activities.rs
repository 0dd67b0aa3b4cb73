//! KIM activity logs (SPEC §10) on both databases: who records and who reads (the
//! public for active KIMs only, without account ids), the bulletin an activity passed
//! on, photos through the shared attachments module, filters, edits and bad input.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::attachments::{PNG, decode, form, upload_to};
use crate::helpers::{TestApp, on_each_backend, problem, token};
use crate::reports::json_of;

fn activity(title: &str, date: &str) -> Value {
    json!({"date": date, "kind": "sosialisasi", "title": title, "description": "Di balai RW 03.",
           "location": "Balai RW 03", "participants": 25, "reach": 120})
}

async fn bulletin_to(app: &TestApp, gov: &str, audience: Value, publish: bool) -> i64 {
    let created = json_of(
        app.post_as("/api/v1/bulletins", gov, &json!({"title": "Posyandu", "body": "Isi", "category": "kesehatan", "audience": audience}))
            .await,
        201,
    )
    .await;
    let id = created["id"].as_i64().expect("id");
    if publish {
        let published = app
            .post_as(&format!("/api/v1/bulletins/{id}/publish"), gov, &json!({}))
            .await;
        assert_eq!(published.status().as_u16(), 200);
    }
    id
}

fn titles(listed: &Value) -> Vec<String> {
    listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|activity| activity["title"].as_str().expect("title").to_owned())
        .collect()
}

#[tokio::test]
async fn kims_record_activities_that_the_public_reads_for_active_kims() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let gov = token(&admin);
        let kim_a = app
            .create_kim_at("KIM Giat A", "18.72.01.1001", "active")
            .await;
        let kim_b = app
            .create_kim_at("KIM Giat B", "18.72.02.1001", "active")
            .await;
        let proposed = app
            .create_kim_at("KIM Usulan", "18.72.01.1002", "proposed")
            .await;
        let board_a = app.user(&admin, "kim_admin", Some(kim_a)).await;
        let member_a = app.user(&admin, "kim_member", Some(kim_a)).await;
        let board_b = app.user(&admin, "kim_admin", Some(kim_b)).await;
        let board_p = app.user(&admin, "kim_admin", Some(proposed)).await;
        let to_all = bulletin_to(&app, gov, json!({"scope": "all_kims"}), true).await;
        let to_b = bulletin_to(
            &app,
            gov,
            json!({"scope": "kims", "kim_ids": [kim_b]}),
            true,
        )
        .await;
        let draft = bulletin_to(&app, gov, json!({"scope": "all_kims"}), false).await;
        let path_a = format!("/api/v1/kims/{kim_a}/activities");
        let today = (Utc::now() + Duration::hours(7))
            .format("%Y-%m-%d")
            .to_string();

        let mut passed_on = activity("Sosialisasi posyandu", "2026-11-02");
        passed_on["bulletin_id"] = json!(to_all);
        let first = json_of(app.post_as(&path_a, token(&board_a), &passed_on).await, 201).await;
        assert_eq!(
            (
                first["kim_id"].as_i64(),
                first["bulletin_id"].as_i64(),
                first["reach"].as_i64()
            ),
            (Some(kim_a), Some(to_all), Some(120))
        );
        assert_eq!(first["created_by"], board_a.id);
        let mut discussion = activity("Diskusi warga", &today);
        discussion["kind"] = json!("diskusi");
        json_of(app.post_as(&path_a, gov, &discussion).await, 201).await;
        json_of(
            app.post_as(
                &path_a,
                token(&board_a),
                &activity("Liputan pasar", "2026-10-15"),
            )
            .await,
            201,
        )
        .await;

        // Writers: the KIM's own kim_admin and gov.
        for user in [&member_a, &board_b] {
            problem(
                app.post_as(&path_a, token(user), &activity("Bukan", "2026-11-01"))
                    .await,
                403,
            )
            .await;
        }
        problem(
            app.send(
                reqwest::Method::POST,
                &path_a,
                None,
                Some(&activity("Anonim", "2026-11-01")),
            )
            .await,
            401,
        )
        .await;
        problem(
            app.post_as(
                "/api/v1/kims/999999/activities",
                gov,
                &activity("Tidak ada", "2026-11-01"),
            )
            .await,
            404,
        )
        .await;

        // Bad input: a clear problem naming the field.
        let tomorrow = (Utc::now() + Duration::hours(7) + Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        let mut negative = activity("Negatif", "2026-11-01");
        negative["participants"] = json!(-1);
        let mut long = activity(&"x".repeat(201), "2026-11-01");
        long["reach"] = json!(5);
        let mut foreign = activity("Buletin KIM lain", "2026-11-01");
        foreign["bulletin_id"] = json!(to_b);
        let mut unpublished = activity("Draf", "2026-11-01");
        unpublished["bulletin_id"] = json!(draft);
        for (bad, field, code) in [
            (activity("Besok", &tomorrow), "date", "in_future"),
            (
                activity("Dulu sekali", "-5000-01-01"),
                "date",
                "out_of_range",
            ),
            (negative, "participants", "out_of_range"),
            (long, "title", "invalid_length"),
            (foreign, "bulletin_id", "bulletin_not_addressed"),
            (unpublished, "bulletin_id", "bulletin_not_addressed"),
        ] {
            let refused = problem(app.post_as(&path_a, token(&board_a), &bad).await, 422).await;
            assert_eq!(
                (
                    refused["errors"][0]["field"].as_str(),
                    refused["errors"][0]["code"].as_str()
                ),
                (Some(field), Some(code)),
                "{refused}"
            );
        }
        let mut unknown_kind = activity("Jenis", "2026-11-01");
        unknown_kind["kind"] = json!("arisan");
        let mut extra = activity("Lebih", "2026-11-01");
        extra["budget"] = json!(1);
        for bad in [unknown_kind, extra, json!({"date": "kemarin"})] {
            problem(app.post_as(&path_a, token(&board_a), &bad).await, 400).await;
        }

        // Readers: everyone for an active KIM, without account ids outside it.
        let public = json_of(app.get(&path_a).await, 200).await;
        assert_eq!(
            titles(&public),
            vec!["Diskusi warga", "Sosialisasi posyandu", "Liputan pasar"]
        );
        assert!(
            public["data"]
                .as_array()
                .expect("data")
                .iter()
                .all(|a| a["created_by"].is_null())
        );
        let from_b = json_of(app.get_as(&path_a, token(&board_b)).await, 200).await;
        assert!(from_b["data"][0]["created_by"].is_null());
        let inside = json_of(app.get_as(&path_a, token(&member_a)).await, 200).await;
        assert_eq!(inside["data"][1]["created_by"], board_a.id);
        assert_eq!(
            titles(&json_of(app.get(&format!("{path_a}?kind=diskusi")).await, 200).await),
            vec!["Diskusi warga"]
        );
        assert_eq!(
            titles(
                &json_of(
                    app.get(&format!("{path_a}?from=2026-10-01&to=2026-11-30"))
                        .await,
                    200
                )
                .await
            ),
            vec!["Sosialisasi posyandu", "Liputan pasar"]
        );
        problem(app.get(&format!("{path_a}?kind=arisan")).await, 400).await;
        let page = json_of(app.get(&format!("{path_a}?limit=2")).await, 200).await;
        let cursor = page["next_cursor"].as_str().expect("cursor");
        assert_eq!(
            titles(
                &json_of(
                    app.get(&format!("{path_a}?limit=2&cursor={cursor}")).await,
                    200
                )
                .await
            ),
            vec!["Liputan pasar"]
        );

        // A proposed KIM's activities: its own users and gov only.
        let path_p = format!("/api/v1/kims/{proposed}/activities");
        let recorded = json_of(
            app.post_as(
                &path_p,
                token(&board_p),
                &activity("Rapat pembentukan", "2026-11-20"),
            )
            .await,
            201,
        )
        .await;
        problem(app.get(&path_p).await, 404).await;
        problem(app.get_as(&path_p, token(&board_b)).await, 404).await;
        problem(app.get(&format!("{path_p}/{}", recorded["id"])).await, 404).await;
        assert_eq!(
            titles(&json_of(app.get_as(&path_p, gov).await, 200).await),
            vec!["Rapat pembentukan"]
        );
        // An activity read through another KIM's path does not exist.
        problem(
            app.get_as(
                &format!("/api/v1/kims/{kim_b}/activities/{}", first["id"]),
                gov,
            )
            .await,
            404,
        )
        .await;

        // Corrections by the writers, guarded by If-Match.
        let one = format!("{path_a}/{}", first["id"]);
        problem(
            app.patch_as(&one, token(&member_a), &json!({"reach": 1}))
                .await,
            403,
        )
        .await;
        let changed = json_of(
            app.patch_as(
                &one,
                token(&board_a),
                &json!({"reach": 150, "description": null, "bulletin_id": null}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(
            (changed["reach"].as_i64(), changed["version"].as_i64()),
            (Some(150), Some(2))
        );
        assert!(changed["description"].is_null() && changed["bulletin_id"].is_null());
        let stale = app
            .client
            .patch(app.url(&one))
            .bearer_auth(gov)
            .header("If-Match", "\"1\"")
            .json(&json!({"reach": 1}))
            .send()
            .await
            .expect("patch");
        problem(stale, 412).await;
        problem(
            app.patch_as(&one, gov, &json!({"participants": 2_000_000}))
                .await,
            422,
        )
        .await;

        // Photos: recorded by the writers, read by whoever sees the activity.
        let files = format!("{one}/attachments");
        let refused = upload_to(
            &app,
            &files,
            token(&member_a),
            form("foto.png", "image/png", &decode(PNG)),
            None,
        )
        .await;
        problem(refused, 403).await;
        let photo = json_of(
            upload_to(
                &app,
                &files,
                token(&board_a),
                form("foto.png", "image/png", &decode(PNG)),
                None,
            )
            .await,
            201,
        )
        .await;
        let download = app.get(&format!("{files}/{}", photo["id"])).await;
        assert_eq!(download.status().as_u16(), 200);
        // As kept: re-encoded, pixels only (tests/api/media.rs).
        let kept = download.bytes().await.expect("bytes");
        assert_eq!(Some(kept.len() as u64), photo["size_bytes"].as_u64());
        let shown = json_of(app.get(&one).await, 200).await;
        assert_eq!(shown["attachments"][0]["id"], photo["id"]);
        let listed_files = json_of(app.get(&files).await, 200).await;
        assert_eq!(listed_files["data"][0]["id"], photo["id"]);
        let photo_path = format!("{files}/{}", photo["id"]);
        problem(
            app.send(
                reqwest::Method::DELETE,
                &photo_path,
                Some(token(&member_a)),
                None,
            )
            .await,
            403,
        )
        .await;
        let listed = json_of(app.get(&path_a).await, 200).await;
        let with_photo = listed["data"]
            .as_array()
            .expect("data")
            .iter()
            .find(|a| a["id"] == first["id"])
            .cloned()
            .expect("listed");
        assert_eq!(with_photo["attachments"].as_array().map(Vec::len), Some(1));
        let proposed_files = format!("{path_p}/{}/attachments", recorded["id"]);
        let hidden = json_of(
            upload_to(
                &app,
                &proposed_files,
                token(&board_p),
                form("foto.png", "image/png", &decode(PNG)),
                None,
            )
            .await,
            201,
        )
        .await;
        problem(
            app.get(&format!("{proposed_files}/{}", hidden["id"])).await,
            404,
        )
        .await;
    })
    .await;
}
