//! Bulletins (SPEC §6): audiences, who sees what, the KIM's limits, expiry, the status
//! moves, acknowledgements with their totals, filters and bad input.

use std::collections::BTreeSet;

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, on_each_backend, problem, spawn_app_with, token, town};

fn bulletin(title: &str, audience: Value) -> Value {
    json!({"title": title, "body": "Isi **buletin**.\n\nBaris kedua.", "category": "kesehatan",
           "priority": "important", "audience": audience})
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).expect("json")
}

/// Writes and publishes a bulletin as `author`; returns it as published.
async fn publish(app: &TestApp, author: &TestUser, body: &Value) -> Value {
    let draft = json_of(
        app.post_as("/api/v1/bulletins", token(author), body).await,
        201,
    )
    .await;
    let id = draft["id"].as_i64().expect("id");
    json_of(
        app.post_as(
            &format!("/api/v1/bulletins/{id}/publish"),
            token(author),
            &json!({}),
        )
        .await,
        200,
    )
    .await
}

async fn titles(app: &TestApp, token: Option<&str>, query: &str) -> BTreeSet<String> {
    let response = app
        .send(
            Method::GET,
            &format!("/api/v1/bulletins{query}"),
            token,
            None,
        )
        .await;
    let page = json_of(response, 200).await;
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|b| b["title"].as_str().expect("title").to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn the_audience_decides_which_kims_see_a_bulletin() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let gov = &t.admin;
        let public = publish(&app, gov, &bulletin("public", json!({"scope": "public"}))).await;
        publish(&app, gov, &bulletin("all", json!({"scope": "all_kims"}))).await;
        let kecamatan = publish(
            &app,
            gov,
            &bulletin(
                "kecamatan",
                json!({"scope": "kecamatan", "codes": ["18.72.01"]}),
            ),
        )
        .await;
        let kelurahan = publish(
            &app,
            gov,
            &bulletin(
                "kelurahan",
                json!({"scope": "kelurahan", "codes": ["18.72.01.1002"]}),
            ),
        )
        .await;
        let named = publish(
            &app,
            gov,
            &bulletin("named", json!({"scope": "kims", "kim_ids": [t.kim_c]})),
        )
        .await;
        let draft = json_of(
            app.post_as(
                "/api/v1/bulletins",
                token(gov),
                &bulletin("draft", json!({"scope": "public"})),
            )
            .await,
            201,
        )
        .await;

        assert_eq!(
            titles(&app, Some(token(&t.member_a)), "").await,
            set(&["public", "all", "kecamatan"])
        );
        assert_eq!(
            titles(&app, Some(token(&t.member_b)), "").await,
            set(&["public", "all", "kecamatan", "kelurahan"])
        );
        assert_eq!(
            titles(&app, Some(token(&t.member_c)), "").await,
            set(&["public", "all", "named"])
        );
        assert_eq!(titles(&app, None, "").await, set(&["public"]));
        assert_eq!(titles(&app, Some(token(gov)), "").await.len(), 6);

        // Single reads follow the same rule: what is not addressed does not exist.
        for (user, bulletin, status) in [
            (&t.member_a, &kelurahan, 404),
            (&t.member_b, &kelurahan, 200),
            (&t.member_a, &named, 404),
            (&t.member_c, &named, 200),
            (&t.member_c, &kecamatan, 404),
            (&t.member_a, &draft, 404),
            (&t.board_a, &draft, 404),
        ] {
            let id = bulletin["id"].as_i64().expect("id");
            let got = app
                .get_as(&format!("/api/v1/bulletins/{id}"), token(user))
                .await;
            assert_eq!(
                got.status().as_u16(),
                status,
                "{} for {}",
                bulletin["title"],
                user.username
            );
        }
        let anonymous = json_of(
            app.get(&format!("/api/v1/bulletins/{}", public["id"]))
                .await,
            200,
        )
        .await;
        assert_eq!(
            anonymous["author_id"],
            Value::Null,
            "no account ids for the public"
        );
        assert_eq!(
            app.get(&format!("/api/v1/bulletins/{}", kecamatan["id"]))
                .await
                .status()
                .as_u16(),
            404
        );

        // Active KIMs addressed when published: the reach rate's denominator.
        assert_eq!(public["kims_addressed"], 3);
        assert_eq!(kecamatan["kims_addressed"], 2);
        assert_eq!(kelurahan["kims_addressed"], 1);
        assert_eq!(named["kims_addressed"], 1);
        assert_eq!(public["origin"], "government");
        assert_eq!(public["status"], "published");
        assert_eq!(public["author_id"], gov.id);
    })
    .await;
}

#[tokio::test]
async fn a_kim_admin_publishes_only_to_its_kim_all_kims_or_the_public() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        for audience in [
            json!({"scope": "kecamatan", "codes": ["18.72.01"]}),
            json!({"scope": "kelurahan", "codes": ["18.72.01.1001"]}),
            json!({"scope": "kims", "kim_ids": [t.kim_b]}),
            json!({"scope": "kims", "kim_ids": [t.kim_a, t.kim_b]}),
        ] {
            let refused = app
                .post_as(
                    "/api/v1/bulletins",
                    token(&t.board_a),
                    &bulletin("x", audience),
                )
                .await;
            assert_eq!(
                problem(refused, 422).await["errors"][0]["code"],
                "audience_not_allowed"
            );
        }
        let own = json_of(
            app.post_as(
                "/api/v1/bulletins",
                token(&t.board_a),
                &bulletin("own", json!({"scope": "kims", "kim_ids": [t.kim_a]})),
            )
            .await,
            201,
        )
        .await;
        assert_eq!(own["origin"], "kim");
        assert_eq!(own["origin_kim_id"], t.kim_a);
        let own_id = own["id"].as_i64().expect("id");
        // Its draft: seen by its own board, by gov, by nobody else.
        assert_eq!(
            app.get_as(&format!("/api/v1/bulletins/{own_id}"), token(&t.board_a))
                .await
                .status()
                .as_u16(),
            200
        );
        assert_eq!(
            app.get_as(&format!("/api/v1/bulletins/{own_id}"), token(&t.member_a))
                .await
                .status()
                .as_u16(),
            404
        );
        assert_eq!(
            app.get_as(&format!("/api/v1/bulletins/{own_id}"), token(&t.board_b))
                .await
                .status()
                .as_u16(),
            404
        );
        assert_eq!(
            app.get_as(&format!("/api/v1/bulletins/{own_id}"), token(&t.admin))
                .await
                .status()
                .as_u16(),
            200
        );
        // Members read; they do not write.
        let by_member = app
            .post_as(
                "/api/v1/bulletins",
                token(&t.member_a),
                &bulletin("m", json!({"scope": "public"})),
            )
            .await;
        problem(by_member, 403).await;

        let horizontal = publish(
            &app,
            &t.board_a,
            &bulletin("horizontal", json!({"scope": "all_kims"})),
        )
        .await;
        let id = horizontal["id"].as_i64().expect("id");
        let path = format!("/api/v1/bulletins/{id}");
        // Another KIM's board sees it, and may not change it; gov may not edit a KIM's
        // words, but may withdraw them.
        problem(
            app.patch_as(&path, token(&t.board_b), &json!({"title": "diubah"}))
                .await,
            403,
        )
        .await;
        problem(
            app.patch_as(&path, token(&t.admin), &json!({"title": "diubah"}))
                .await,
            403,
        )
        .await;
        let edited = json_of(
            app.patch_as(&path, token(&t.board_a), &json!({"title": "diperbaiki"}))
                .await,
            200,
        )
        .await;
        assert_eq!(
            edited["version"],
            horizontal["version"].as_i64().expect("v") + 1
        );
        problem(
            app.patch_as(
                &path,
                token(&t.board_a),
                &json!({"audience": {"scope": "kecamatan", "codes": ["18.72.01"]}}),
            )
            .await,
            422,
        )
        .await;
        problem(
            app.post_as(&format!("{path}/archive"), token(&t.board_b), &json!({}))
                .await,
            403,
        )
        .await;
        let archived = json_of(
            app.post_as(&format!("{path}/archive"), token(&t.admin), &json!({}))
                .await,
            200,
        )
        .await;
        assert_eq!(archived["status"], "archived");
        // Archived: gone for the KIMs it reached, still there for its own board.
        assert_eq!(
            app.get_as(&path, token(&t.member_b))
                .await
                .status()
                .as_u16(),
            404
        );
        assert_eq!(
            app.get_as(&path, token(&t.board_a)).await.status().as_u16(),
            200
        );
        assert_eq!(
            problem(
                app.patch_as(&path, token(&t.board_a), &json!({"title": "lagi"}))
                    .await,
                409
            )
            .await["code"],
            "bulletin_archived"
        );
    })
    .await;
}

#[tokio::test]
async fn status_moves_expiry_and_deleting_drafts() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let gov = &t.admin;
        let mut body = bulletin("kedaluwarsa", json!({"scope": "all_kims"}));
        body["expires_at"] = json!("2020-01-01T00:00:00Z");
        assert_eq!(
            problem(
                app.post_as("/api/v1/bulletins", token(gov), &body).await,
                422
            )
            .await["errors"][0]["field"],
            "expires_at"
        );
        let expires = kim_api::clock::now() + chrono::Duration::minutes(1);
        body["expires_at"] = json!(expires.to_rfc3339());
        let published = publish(&app, gov, &body).await;
        let id = published["id"].as_i64().expect("id");
        let path = format!("/api/v1/bulletins/{id}");
        assert_eq!(
            app.get_as(&path, token(&t.member_a))
                .await
                .status()
                .as_u16(),
            200
        );

        // Expiry passes: KIM users no longer see it, gov still does.
        app.advance_clock(chrono::Duration::minutes(2));
        assert_eq!(
            app.get_as(&path, token(&t.member_a))
                .await
                .status()
                .as_u16(),
            404
        );
        assert!(titles(&app, Some(token(&t.member_a)), "").await.is_empty());
        assert_eq!(app.get_as(&path, token(gov)).await.status().as_u16(), 200);

        assert_eq!(
            problem(
                app.post_as(&format!("{path}/publish"), token(gov), &json!({}))
                    .await,
                409
            )
            .await["code"],
            "invalid_transition"
        );
        assert_eq!(
            problem(
                app.send(Method::DELETE, &path, Some(token(gov)), None)
                    .await,
                409
            )
            .await["code"],
            "not_a_draft"
        );

        let draft = json_of(
            app.post_as(
                "/api/v1/bulletins",
                token(gov),
                &bulletin("draf", json!({"scope": "public"})),
            )
            .await,
            201,
        )
        .await;
        let draft_path = format!("/api/v1/bulletins/{}", draft["id"]);
        assert_eq!(
            problem(
                app.post_as(&format!("{draft_path}/archive"), token(gov), &json!({}))
                    .await,
                409
            )
            .await["code"],
            "invalid_transition"
        );
        // A stale If-Match is refused before anything moves.
        let stale = app
            .client
            .post(app.url(&format!("{draft_path}/publish")))
            .bearer_auth(token(gov))
            .header("If-Match", "\"99\"")
            .send()
            .await
            .expect("send");
        problem(stale, 412).await;
        assert_eq!(
            app.send(Method::DELETE, &draft_path, Some(token(&t.board_a)), None)
                .await
                .status()
                .as_u16(),
            404
        );
        assert_eq!(
            app.send(Method::DELETE, &draft_path, Some(token(gov)), None)
                .await
                .status()
                .as_u16(),
            204
        );
        assert_eq!(
            app.get_as(&draft_path, token(gov)).await.status().as_u16(),
            404
        );
    })
    .await;
}

#[tokio::test]
async fn each_kim_acknowledges_once_and_gov_reads_the_totals() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let published = publish(&app, &t.admin, &bulletin("posyandu", json!({"scope": "kecamatan", "codes": ["18.72.01"]}))).await;
        let id = published["id"].as_i64().expect("id");
        let acks = format!("/api/v1/bulletins/{id}/acknowledgements");

        let first = json_of(app.post_as(&acks, token(&t.member_a), &json!({"reach": 10})).await, 201).await;
        assert_eq!(first["kim_id"], t.kim_a);
        // The same KIM again (its board): the figures are replaced, not added.
        let again = json_of(app.post_as(&acks, token(&t.board_a), &json!({"reach": 25, "note": "Grup WA RT 03"})).await, 200).await;
        assert_eq!(again["reach"], 25);
        json_of(app.post_as(&acks, token(&t.member_b), &json!({"reach": 5})).await, 201).await;
        // Not addressed to C; gov and integration clients do not acknowledge.
        problem(app.post_as(&acks, token(&t.member_c), &json!({"reach": 5})).await, 404).await;
        problem(app.post_as(&acks, token(&t.admin), &json!({"reach": 5})).await, 403).await;
        for bad in [json!({"reach": -1}), json!({"reach": 1_000_001}), json!({"reach": 1, "note": "x".repeat(501)})] {
            problem(app.post_as(&acks, token(&t.member_a), &bad).await, 422).await;
        }
        problem(app.post_as(&acks, token(&t.member_a), &json!({"reach": "banyak"})).await, 400).await;

        let read = json_of(app.get_as(&acks, token(&t.admin)).await, 200).await;
        assert_eq!(read["totals"], json!({"kims_addressed": 2, "kims_acknowledged": 2, "total_reach": 30, "acknowledgement_rate": 1.0}));
        assert_eq!(read["data"].as_array().map(Vec::len), Some(2));
        problem(app.get_as(&acks, token(&t.member_a)).await, 403).await;
        problem(app.get_as(&acks, token(&t.board_a)).await, 403).await;
        problem(app.get_as(&acks, token(&t.member_c)).await, 404).await;

        // What is new for a KIM: not yet acknowledged by it.
        publish(&app, &t.admin, &bulletin("baru", json!({"scope": "all_kims"}))).await;
        assert_eq!(titles(&app, Some(token(&t.member_a)), "?acknowledged=false").await, set(&["baru"]));
        assert_eq!(titles(&app, Some(token(&t.member_a)), "?acknowledged=true").await, set(&["posyandu"]));
        problem(app.get_as("/api/v1/bulletins?acknowledged=false", token(&t.admin)).await, 400).await;

        // A KIM's own bulletin: its board reads the acknowledgements of other KIMs.
        let own = publish(&app, &t.board_a, &bulletin("dari alpha", json!({"scope": "all_kims"}))).await;
        let own_acks = format!("/api/v1/bulletins/{}/acknowledgements", own["id"]);
        json_of(app.post_as(&own_acks, token(&t.member_c), &json!({"reach": 7})).await, 201).await;
        let read = json_of(app.get_as(&own_acks, token(&t.board_a)).await, 200).await;
        assert_eq!(read["totals"]["total_reach"], 7);
        problem(app.get_as(&own_acks, token(&t.board_b)).await, 403).await;
    })
    .await;
}

#[tokio::test]
async fn acknowledgements_export_as_csv_for_those_who_read_them() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let published = publish(
            &app,
            &t.admin,
            &bulletin("posyandu", json!({"scope": "all_kims"})),
        )
        .await;
        let id = published["id"].as_i64().expect("id");
        let acks = format!("/api/v1/bulletins/{id}/acknowledgements");
        json_of(
            app.post_as(&acks, token(&t.member_b), &json!({"reach": 5}))
                .await,
            201,
        )
        .await;
        json_of(
            app.post_as(
                &acks,
                token(&t.member_a),
                &json!({"reach": 12, "note": "=1+1, di \"balai\""}),
            )
            .await,
            201,
        )
        .await;

        let export = format!("{acks}.csv");
        let response = app.get_as(&export, token(&t.admin)).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8; header=present"
        );
        let text = response.text().await.expect("body");
        let body = text.strip_prefix('\u{feff}').expect("byte-order mark");
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            header[..6],
            [
                "kim_id",
                "kim_registration_code",
                "kim_name",
                "kelurahan_code",
                "reach",
                "note"
            ]
        );
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|record| record.expect("record").iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][0], t.kim_a.to_string(), "by KIM id");
        assert_eq!(rows[0][2], "KIM Alpha");
        assert_eq!(rows[0][4], "12");
        assert_eq!(rows[0][5], "'=1+1, di \"balai\"");
        assert_eq!(rows[1][3], "18.72.01.1002");

        problem(app.get_as(&export, token(&t.member_a)).await, 403).await;
        problem(app.get_as(&export, token(&t.board_a)).await, 403).await;
        problem(app.get(&export).await, 401).await;
        problem(
            app.get_as(
                "/api/v1/bulletins/999999/acknowledgements.csv",
                token(&t.admin),
            )
            .await,
            404,
        )
        .await;
        problem(
            app.get_as(&format!("{export}?limit=5"), token(&t.admin))
                .await,
            400,
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn simultaneous_acknowledgements_of_one_kim_make_one() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let published = publish(
            &app,
            &t.admin,
            &bulletin("serentak", json!({"scope": "all_kims"})),
        )
        .await;
        let acks = format!("/api/v1/bulletins/{}/acknowledgements", published["id"]);
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(8));
        let mut tasks = Vec::new();
        for n in 0..8 {
            let (app_url, client, start) = (app.url(&acks), app.client.clone(), start.clone());
            let user = if n % 2 == 0 {
                t.member_a.clone()
            } else {
                t.board_a.clone()
            };
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                client
                    .post(app_url)
                    .bearer_auth(&user.session.access_token)
                    .json(&json!({"reach": n}))
                    .send()
                    .await
                    .expect("send")
                    .status()
                    .as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.expect("task"));
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            7,
            "{statuses:?}"
        );
        let read = json_of(app.get_as(&acks, token(&t.admin)).await, 200).await;
        assert_eq!(read["totals"]["kims_acknowledged"], 1);
    })
    .await;
}

#[tokio::test]
async fn filters_search_alike_on_both_databases_and_pages_follow_the_cursor() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let gov = &t.admin;
        let mut body = bulletin("Jadwal ÉCOLE Posyandu", json!({"scope": "public"}));
        body["category"] = json!("pendidikan");
        publish(&app, gov, &body).await;
        let mut body = bulletin("Banjir 100% waspada", json!({"scope": "public"}));
        body["priority"] = json!("urgent");
        body["body"] = json!("Warga di bantaran sungai diminta waspada.");
        publish(&app, gov, &body).await;
        for n in 0..3 {
            publish(
                &app,
                gov,
                &bulletin(&format!("rutin {n}"), json!({"scope": "public"})),
            )
            .await;
        }
        publish(
            &app,
            &t.board_a,
            &bulletin("kabar alpha", json!({"scope": "public"})),
        )
        .await;

        let filtered: [(&str, Vec<&str>); 8] = [
            ("?q=%C3%A9cole", vec!["Jadwal ÉCOLE Posyandu"]),
            ("?q=BANTARAN", vec!["Banjir 100% waspada"]),
            ("?q=100%25", vec!["Banjir 100% waspada"]),
            ("?q=0%25", vec!["Banjir 100% waspada"]),
            ("?priority=urgent", vec!["Banjir 100% waspada"]),
            ("?category=pendidikan", vec!["Jadwal ÉCOLE Posyandu"]),
            ("?origin=kim", vec!["kabar alpha"]),
            ("?since=2999-01-01T00:00:00Z", vec![]),
        ];
        for (query, want) in filtered {
            assert_eq!(titles(&app, None, query).await, set(&want), "{query}");
        }
        assert_eq!(
            titles(&app, None, "?since=2020-01-01T00:00:00Z")
                .await
                .len(),
            6
        );
        for bad in [
            "?status=hidden",
            "?category=gosip",
            "?since=kemarin",
            "?since=-20000-01-01T00:00:00Z",
            "?unknown=1",
        ] {
            problem(app.get(&format!("/api/v1/bulletins{bad}")).await, 400).await;
        }

        // Newest first, in pages that neither repeat nor skip.
        let mut seen = Vec::new();
        let mut query = "?limit=4".to_owned();
        loop {
            let page = json_of(app.get(&format!("/api/v1/bulletins{query}")).await, 200).await;
            seen.extend(
                page["data"]
                    .as_array()
                    .expect("data")
                    .iter()
                    .map(|b| b["id"].as_i64().expect("id")),
            );
            match page["next_cursor"].as_str() {
                Some(cursor) => query = format!("?limit=4&cursor={cursor}"),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        sorted.dedup();
        assert_eq!(seen, sorted);
        assert_eq!(seen.len(), 6);
    })
    .await;
}

#[tokio::test]
async fn integration_clients_read_published_bulletins_with_the_scope() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        publish(
            &app,
            &t.admin,
            &bulletin("terbit", json!({"scope": "kims", "kim_ids": [t.kim_b]})),
        )
        .await;
        json_of(
            app.post_as(
                "/api/v1/bulletins",
                token(&t.admin),
                &bulletin("draf", json!({"scope": "public"})),
            )
            .await,
            201,
        )
        .await;
        let (id, secret, _) = app.integration_client(&t.admin, &["bulletins:read"]).await;
        let reader = app.client_token(&id, &secret).await;
        assert_eq!(titles(&app, Some(&reader), "").await, set(&["terbit"]));
        let (id, secret, _) = app.integration_client(&t.admin, &["kims:read"]).await;
        let other = app.client_token(&id, &secret).await;
        problem(app.get_as("/api/v1/bulletins", &other).await, 403).await;
        problem(
            app.post_as(
                "/api/v1/bulletins",
                &reader,
                &bulletin("x", json!({"scope": "public"})),
            )
            .await,
            403,
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn bad_bulletins_are_clear_problems() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let gov = token(&t.admin);
        let base = bulletin("judul", json!({"scope": "public"}));
        let with = |field: &str, value: Value| {
            let mut body = base.clone();
            body[field] = value;
            body
        };
        for (body, status, field) in [
            (with("title", json!("   ")), 422, Some("title")),
            (with("title", json!("x".repeat(201))), 422, Some("title")),
            (with("body", json!("x".repeat(50_001))), 422, Some("body")),
            (with("title", json!("a\u{0}b")), 400, None),
            (
                with(
                    "audience",
                    json!({"scope": "kecamatan", "codes": ["18.72.99"]}),
                ),
                422,
                Some("audience.codes[0]"),
            ),
            (
                with(
                    "audience",
                    json!({"scope": "kelurahan", "codes": ["18.72.01"]}),
                ),
                422,
                Some("audience.codes[0]"),
            ),
            (
                with(
                    "audience",
                    json!({"scope": "kims", "kim_ids": [t.kim_a, 999_999]}),
                ),
                422,
                Some("audience.kim_ids[1]"),
            ),
            (
                with("audience", json!({"scope": "kecamatan"})),
                422,
                Some("audience.codes"),
            ),
            (
                with("audience", json!({"scope": "public", "kim_ids": [t.kim_a]})),
                422,
                Some("audience.kim_ids"),
            ),
            (with("audience", json!({"scope": "everyone"})), 400, None),
            (with("category", json!("gosip")), 400, None),
            (with("priority", json!("critical")), 400, None),
            (with("status", json!("published")), 400, None),
            (with("expires_at", json!("besok")), 400, None),
        ] {
            let answer = problem(app.post_as("/api/v1/bulletins", gov, &body).await, status).await;
            if let Some(field) = field {
                assert_eq!(answer["errors"][0]["field"], field, "{body}");
            }
        }
        // The longest body is kept whole, as written.
        let long = with("body", json!(format!("# Judul\n\n{}", "é".repeat(49_991))));
        let created = json_of(app.post_as("/api/v1/bulletins", gov, &long).await, 201).await;
        assert_eq!(
            created["body"].as_str().map(|b| b.chars().count()),
            Some(50_000)
        );
        problem(app.get_as("/api/v1/bulletins/99999999", gov).await, 404).await;
        problem(
            app.patch_as(
                &format!("/api/v1/bulletins/{}", created["id"]),
                gov,
                &json!({"origin": "kim"}),
            )
            .await,
            400,
        )
        .await;
    })
    .await;
}

/// Lists as `user` (or anonymously) from `token`; returns the entries and the new token.
async fn sync(app: &TestApp, user: Option<&TestUser>, since: Option<&str>) -> (Vec<Value>, String) {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec!["limit=2".to_owned()];
        if let Some(since) = since {
            query.push(format!("updated_since={since}"));
        }
        if let Some(cursor) = &cursor {
            query.push(format!("cursor={cursor}"));
        }
        let path = format!("/api/v1/bulletins?{}", query.join("&"));
        let page = json_of(
            app.send(Method::GET, &path, user.map(token), None).await,
            200,
        )
        .await;
        entries.extend(page["data"].as_array().expect("data").iter().cloned());
        let sync_token = page["sync_token"].as_str().expect("sync_token").to_owned();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (entries, sync_token),
        }
    }
}

/// `(id, title or "removed")` of each entry, sorted.
fn summary(entries: &[Value]) -> Vec<(i64, String)> {
    let mut summary: Vec<(i64, String)> = entries
        .iter()
        .map(|e| {
            let label = if e["removed"] == true {
                "removed".to_owned()
            } else {
                e["title"].as_str().expect("title").to_owned()
            };
            (e["id"].as_i64().expect("id"), label)
        })
        .collect();
    summary.sort();
    summary
}

fn id_of(bulletin: &Value) -> i64 {
    bulletin["id"].as_i64().expect("id")
}

#[tokio::test]
async fn sync_answers_what_changed_and_what_left_the_view() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let gov = &t.admin;
        let edited = publish(&app, gov, &bulletin("lama", json!({"scope": "all_kims"}))).await;
        let archived = publish(
            &app,
            gov,
            &bulletin("diarsipkan", json!({"scope": "public"})),
        )
        .await;
        let retargeted = publish(
            &app,
            gov,
            &bulletin(
                "pindah",
                json!({"scope": "kecamatan", "codes": ["18.72.01"]}),
            ),
        )
        .await;
        let mut expiring = bulletin("kedaluwarsa", json!({"scope": "all_kims"}));
        expiring["expires_at"] =
            json!((kim_api::clock::now() + chrono::Duration::minutes(1)).to_rfc3339());
        let expiring = publish(&app, gov, &expiring).await;
        let untouched = publish(&app, gov, &bulletin("tetap", json!({"scope": "all_kims"}))).await;
        let draft = json_of(
            app.post_as(
                "/api/v1/bulletins",
                token(&t.board_a),
                &bulletin("draf alpha", json!({"scope": "all_kims"})),
            )
            .await,
            201,
        )
        .await;

        let (first, member_token) = sync(&app, Some(&t.member_a), None).await;
        assert_eq!(first.len(), 5);
        let (board_first, board_token) = sync(&app, Some(&t.board_a), None).await;
        assert_eq!(board_first.len(), 6, "its own draft too");

        let added = publish(&app, gov, &bulletin("baru", json!({"scope": "all_kims"}))).await;
        json_of(
            app.patch_as(
                &format!("/api/v1/bulletins/{}", id_of(&edited)),
                token(gov),
                &json!({"title": "diperbarui"}),
            )
            .await,
            200,
        )
        .await;
        json_of(
            app.post_as(
                &format!("/api/v1/bulletins/{}/archive", id_of(&archived)),
                token(gov),
                &json!({}),
            )
            .await,
            200,
        )
        .await;
        json_of(
            app.patch_as(
                &format!("/api/v1/bulletins/{}", id_of(&retargeted)),
                token(gov),
                &json!({"audience": {"scope": "kecamatan", "codes": ["18.72.02"]}}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(
            app.send(
                Method::DELETE,
                &format!("/api/v1/bulletins/{}", id_of(&draft)),
                Some(token(&t.board_a)),
                None
            )
            .await
            .status()
            .as_u16(),
            204
        );
        // Expiry passes without any write to the bulletin.
        let expiring_id = id_of(&expiring);
        app.advance_clock(chrono::Duration::minutes(2));

        let (changes, next_token) = sync(&app, Some(&t.member_a), Some(&member_token)).await;
        assert_eq!(
            summary(&changes),
            vec![
                (id_of(&edited), "diperbarui".to_owned()),
                (id_of(&archived), "removed".to_owned()),
                (id_of(&retargeted), "removed".to_owned()),
                (expiring_id, "removed".to_owned()),
                // Not the board's draft: a member never saw it.
                (id_of(&added), "baru".to_owned()),
            ]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
        );
        assert!(
            !summary(&changes)
                .iter()
                .any(|(id, _)| *id == id_of(&untouched))
        );
        let (board_changes, _) = sync(&app, Some(&t.board_a), Some(&board_token)).await;
        assert!(summary(&board_changes).contains(&(id_of(&draft), "removed".to_owned())));
        // Nothing changed since the last token: nothing to send.
        let (nothing, _) = sync(&app, Some(&t.member_a), Some(&next_token)).await;
        assert!(nothing.is_empty(), "{nothing:?}");

        // A token is for the view it was made in.
        let query = format!("/api/v1/bulletins?updated_since={member_token}");
        assert_eq!(
            problem(app.get_as(&query, token(&t.member_c)).await, 400).await["errors"][0]["code"],
            "invalid_sync_token"
        );
        problem(
            app.get("/api/v1/bulletins?updated_since=bm90LWEtdG9rZW4")
                .await,
            400,
        )
        .await;
    })
    .await;
}

/// A removal is answered only to a caller who could have seen the bulletin: another
/// KIM's draft, a bulletin re-targeted between audiences that never included the
/// caller, and a public draft deleted before publication leave no tombstone, for
/// anonymous callers, members, boards and integration clients alike; callers that did
/// see a bulletin still learn that it left.
#[tokio::test]
async fn sync_sends_no_removal_of_a_bulletin_the_caller_never_saw() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let gov = &t.admin;
        let (reader_id, reader_secret, _) = app.integration_client(gov, &["bulletins:read"]).await;
        let reader = app.client_token(&reader_id, &reader_secret).await;
        let sync_as = async |who: Option<&str>, since: Option<&str>| {
            let path = match since {
                Some(since) => format!("/api/v1/bulletins?limit=100&updated_since={since}"),
                None => "/api/v1/bulletins?limit=100".to_owned(),
            };
            let page = json_of(app.send(Method::GET, &path, who, None).await, 200).await;
            (
                summary(page["data"].as_array().expect("data")),
                page["sync_token"].as_str().expect("token").to_owned(),
            )
        };
        let callers: Vec<(&str, Option<&str>)> = vec![
            ("anonymous", None),
            ("member_a", Some(token(&t.member_a))),
            ("board_a", Some(token(&t.board_a))),
            ("member_c", Some(token(&t.member_c))),
            ("integration", Some(reader.as_str())),
        ];
        let mut tokens = Vec::new();
        for (_, who) in &callers {
            tokens.push(sync_as(*who, None).await.1);
        }

        // KIM B's private draft, edited and deleted.
        let private = json_of(
            app.post_as(
                "/api/v1/bulletins",
                token(&t.board_b),
                &bulletin(
                    "rahasia beta",
                    json!({"scope": "kims", "kim_ids": [t.kim_b]}),
                ),
            )
            .await,
            201,
        )
        .await;
        let private = id_of(&private);
        json_of(
            app.patch_as(
                &format!("/api/v1/bulletins/{private}"),
                token(&t.board_b),
                &json!({"title": "rahasia"}),
            )
            .await,
            200,
        )
        .await;
        // A government bulletin for KIM B only, re-targeted to KIM B's kelurahan.
        let elsewhere = publish(
            &app,
            gov,
            &bulletin("untuk beta", json!({"scope": "kims", "kim_ids": [t.kim_b]})),
        )
        .await;
        json_of(
            app.patch_as(
                &format!("/api/v1/bulletins/{}", id_of(&elsewhere)),
                token(gov),
                &json!({"audience": {"scope": "kelurahan", "codes": ["18.72.01.1002"]}}),
            )
            .await,
            200,
        )
        .await;
        // A public draft deleted before it was published.
        let unpublished = json_of(
            app.post_as(
                "/api/v1/bulletins",
                token(gov),
                &bulletin("batal", json!({"scope": "public"})),
            )
            .await,
            201,
        )
        .await;
        let deleted = app
            .send(
                Method::DELETE,
                &format!("/api/v1/bulletins/{}", id_of(&unpublished)),
                Some(token(gov)),
                None,
            )
            .await;
        assert_eq!(deleted.status().as_u16(), 204);
        // Seen by everyone, then archived: everyone learns it left.
        let seen = publish(&app, gov, &bulletin("umum", json!({"scope": "public"}))).await;
        json_of(
            app.post_as(
                &format!("/api/v1/bulletins/{}/archive", id_of(&seen)),
                token(gov),
                &json!({}),
            )
            .await,
            200,
        )
        .await;
        // Seen by KIM A, then re-targeted away from it.
        let moved = publish(
            &app,
            gov,
            &bulletin("pindah", json!({"scope": "kims", "kim_ids": [t.kim_a]})),
        )
        .await;
        json_of(
            app.patch_as(
                &format!("/api/v1/bulletins/{}", id_of(&moved)),
                token(gov),
                &json!({"audience": {"scope": "kims", "kim_ids": [t.kim_b]}}),
            )
            .await,
            200,
        )
        .await;

        for ((name, who), since) in callers.iter().zip(&tokens) {
            let (changes, _) = sync_as(*who, Some(since)).await;
            // Integration clients read every published bulletin, whatever its audience.
            let never_seen: &[i64] = if *name == "integration" {
                &[private, id_of(&unpublished)]
            } else {
                &[private, id_of(&elsewhere), id_of(&unpublished)]
            };
            for &id in never_seen {
                assert!(
                    !changes.iter().any(|(changed, _)| *changed == id),
                    "{name} learnt of bulletin {id}: {changes:?}"
                );
            }
            assert!(
                changes.contains(&(id_of(&seen), "removed".to_owned())),
                "{name}: {changes:?}"
            );
            assert_eq!(
                changes.contains(&(id_of(&moved), "removed".to_owned())),
                matches!(*name, "member_a" | "board_a"),
                "{name}: {changes:?}"
            );
        }
    })
    .await;
}

/// A change whose transaction started first commits last: a token made in between
/// must not skip it. SQLite has one writer (the later write waits for the earlier);
/// on PostgreSQL the later write commits at once, with a higher change number, and the
/// token's snapshot says the earlier one was not yet seen.
#[tokio::test]
async fn a_change_that_commits_late_is_not_skipped_by_a_token_made_meanwhile() {
    use diesel::connection::SimpleConnection;
    on_each_backend(async |app| {
        let t = town(&app).await;
        let gov = &t.admin;
        let slow = publish(&app, gov, &bulletin("lambat", json!({"scope": "all_kims"}))).await;
        let fast = publish(&app, gov, &bulletin("cepat", json!({"scope": "all_kims"}))).await;
        let (_, before) = sync(&app, Some(gov), None).await;

        // A writer that started first takes its change number and has not committed yet.
        let postgres = matches!(&app.database, crate::helpers::TestDatabase::Postgres { .. });
        let mut holder: Box<dyn FnMut(&str) + Send> = if postgres {
            let mut conn = diesel::PgConnection::establish(&app.database.url()).expect("connect");
            conn.batch_execute(&format!(
                "BEGIN; UPDATE bulletins SET title = 'lambat diubah',
                   change_seq = nextval('sync_bulletins_seq') WHERE id = {};",
                id_of(&slow)
            ))
            .expect("hold");
            Box::new(move |sql| conn.batch_execute(sql).expect("holder"))
        } else {
            let mut conn =
                diesel::SqliteConnection::establish(&app.database.url()).expect("connect");
            // The service's webhook dispatcher may hold the write lock a moment.
            conn.batch_execute("PRAGMA busy_timeout = 5000;")
                .expect("busy timeout");
            conn.batch_execute(&format!(
                "BEGIN IMMEDIATE;
                 UPDATE sync_counters SET value = value + 1 WHERE name = 'bulletins';
                 UPDATE bulletins SET title = 'lambat diubah',
                   change_seq = (SELECT value FROM sync_counters WHERE name = 'bulletins')
                 WHERE id = {};",
                id_of(&slow)
            ))
            .expect("hold");
            Box::new(move |sql| conn.batch_execute(sql).expect("holder"))
        };
        let patch = {
            let (client, url, gov_token) = (
                app.client.clone(),
                app.url(&format!("/api/v1/bulletins/{}", id_of(&fast))),
                token(gov).to_owned(),
            );
            tokio::spawn(async move {
                client
                    .patch(url)
                    .bearer_auth(gov_token)
                    .json(&json!({"title": "cepat diubah"}))
                    .send()
                    .await
                    .expect("patch")
                    .status()
                    .as_u16()
            })
        };
        let patch = if postgres {
            // The later writer does not queue behind the earlier one.
            assert_eq!(patch.await.expect("task"), 200);
            None
        } else {
            Some(patch)
        };
        let (meanwhile, token_meanwhile) = sync(&app, Some(gov), Some(&before)).await;
        assert!(
            meanwhile.iter().all(|e| e["title"] != "lambat diubah"),
            "uncommitted work is not visible"
        );
        holder("COMMIT");
        if let Some(patch) = patch {
            assert_eq!(patch.await.expect("task"), 200);
        }
        let (after, _) = sync(&app, Some(gov), Some(&token_meanwhile)).await;
        let titles: BTreeSet<String> = after
            .iter()
            .map(|e| e["title"].as_str().expect("title").to_owned())
            .collect();
        assert!(
            titles.contains("lambat diubah"),
            "the late commit is not skipped: {titles:?}"
        );
        let fast_seen_meanwhile = meanwhile.iter().any(|e| e["title"] == "cepat diubah");
        assert_eq!(fast_seen_meanwhile, postgres);
        assert_eq!(
            titles.contains("cepat diubah"),
            !fast_seen_meanwhile,
            "each change is answered once: {titles:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_atom_feed_carries_published_public_bulletins_as_text() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let mut risky = bulletin("Banjir & longsor <waspada>", json!({"scope": "public"}));
        risky["body"] = json!("<script>alert('x')</script>\n**Tetap tenang.**");
        let first = publish(&app, &t.admin, &risky).await;
        publish(
            &app,
            &t.admin,
            &bulletin("untuk KIM saja", json!({"scope": "all_kims"})),
        )
        .await;
        json_of(
            app.post_as(
                "/api/v1/bulletins",
                token(&t.admin),
                &bulletin("draf", json!({"scope": "public"})),
            )
            .await,
            201,
        )
        .await;
        let second = publish(
            &app,
            &t.board_a,
            &bulletin("kabar alpha", json!({"scope": "public"})),
        )
        .await;

        let response = app.get("/api/v1/bulletins/feed.atom").await;
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("application/atom+xml")
        );
        let xml = response.text().await.expect("xml");
        let feed = atom_syndication::Feed::read_from(xml.as_bytes()).expect("a valid Atom feed");
        let entries = feed.entries();
        assert_eq!(entries.len(), 2, "only published public bulletins");
        assert_eq!(entries[0].title().as_str(), "kabar alpha", "newest first");
        assert_eq!(entries[0].authors()[0].name(), "KIM Alpha");
        assert!(
            entries[0]
                .id()
                .ends_with(&format!("/api/v1/bulletins/{}", second["id"]))
        );
        assert_eq!(entries[1].title().as_str(), "Banjir & longsor <waspada>");
        let content = entries[1]
            .content()
            .and_then(|c| c.value())
            .expect("content");
        assert_eq!(
            content,
            first["body"].as_str().expect("body"),
            "text, escaped, not markup"
        );
        assert!(!xml.contains("<script>"));
    })
    .await;
}

/// The feed is cached publicly, so its links never come from what a client sent
/// (`Host`, `Forwarded`, `X-Forwarded-*`): only from `PUBLIC_BASE_URL`, or in
/// development the bound address.
#[tokio::test]
async fn the_atom_feed_links_come_from_configuration_never_from_request_headers() {
    for backend in crate::helpers::backends() {
        for configured in [None, Some("https://kim.metrokota.go.id/")] {
            let app = spawn_app_with(backend, |config| {
                config.public_base_url = configured.map(str::to_owned);
            })
            .await;
            let t = town(&app).await;
            let published = publish(
                &app,
                &t.admin,
                &bulletin("Posyandu", json!({"scope": "public"})),
            )
            .await;
            let base = configured
                .map(|url| url.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| app.address.clone());
            let forged = app
                .client
                .get(app.url("/api/v1/bulletins/feed.atom"))
                .header("Host", "evil.example")
                .header("Forwarded", "host=evil.example;proto=https")
                .header("X-Forwarded-Host", "evil.example")
                .header("X-Forwarded-Proto", "https")
                .send()
                .await
                .expect("feed");
            assert_eq!(forged.status().as_u16(), 200);
            let xml = forged.text().await.expect("xml");
            assert!(!xml.contains("evil.example"), "{xml}");
            let feed = atom_syndication::Feed::read_from(xml.as_bytes()).expect("Atom");
            assert_eq!(feed.id(), format!("{base}/api/v1/bulletins/feed.atom"));
            assert_eq!(
                feed.entries()[0].links()[0].href(),
                format!("{base}/api/v1/bulletins/{}", published["id"])
            );
        }
    }
}

/// Lists are answered from kept pages while the bulletins counter stands still
/// (`page_cache.rs`): every change — through this instance or another one on the same
/// database — and every expiry shows at once, and each view keeps its own pages.
#[tokio::test]
async fn kept_list_pages_follow_changes_from_any_instance_and_expiry() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let other = crate::helpers::spawn_instance(&app, |_| {}).await;
        let gov = &t.admin;
        let member = Some(token(&t.member_a));
        let first = publish(&app, gov, &bulletin("satu", json!({"scope": "all_kims"}))).await;
        assert_eq!(titles(&app, member, "").await, set(&["satu"]));
        assert_eq!(titles(&app, member, "").await, set(&["satu"]));

        let second = publish(&other, gov, &bulletin("dua", json!({"scope": "all_kims"}))).await;
        assert_eq!(titles(&app, member, "").await, set(&["satu", "dua"]));
        json_of(
            other
                .post_as(
                    &format!("/api/v1/bulletins/{}/archive", id_of(&first)),
                    token(gov),
                    &json!({}),
                )
                .await,
            200,
        )
        .await;
        assert_eq!(titles(&app, member, "").await, set(&["dua"]));

        // An attachment is part of the listed bulletin.
        let attachments = || async {
            let page = json_of(
                app.get_as("/api/v1/bulletins", token(&t.member_a)).await,
                200,
            )
            .await;
            page["data"][0]["attachments"]
                .as_array()
                .map_or(0, Vec::len)
        };
        assert_eq!(attachments().await, 0);
        let png = crate::attachments::decode(crate::attachments::PNG);
        let uploaded = crate::attachments::upload(
            &other,
            id_of(&second),
            gov,
            crate::attachments::form("poster.png", "image/png", &png),
            None,
        )
        .await;
        assert_eq!(uploaded.status().as_u16(), 201);
        assert_eq!(attachments().await, 1);

        // A KIM's draft is in its kim_admin's view only, on the same KIM.
        let draft = json!({"title": "draf", "body": "Isi.", "category": "umum",
                           "audience": {"scope": "kims", "kim_ids": [t.kim_a]}});
        json_of(
            app.post_as("/api/v1/bulletins", token(&t.board_a), &draft)
                .await,
            201,
        )
        .await;
        assert_eq!(
            titles(&app, Some(token(&t.board_a)), "").await,
            set(&["dua", "draf"])
        );
        assert_eq!(titles(&app, member, "").await, set(&["dua"]));

        // Expiry changes the view without any write.
        let expires_at = kim_api::clock::now() + chrono::Duration::minutes(1);
        let mut short = bulletin("singkat", json!({"scope": "all_kims"}));
        short["expires_at"] = json!(expires_at.to_rfc3339());
        publish(&app, gov, &short).await;
        assert_eq!(titles(&app, member, "").await, set(&["dua", "singkat"]));
        app.advance_clock(chrono::Duration::minutes(1) + chrono::Duration::seconds(1));
        assert_eq!(titles(&app, member, "").await, set(&["dua"]));
    })
    .await;
}
