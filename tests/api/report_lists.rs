//! Report lists beyond one page of JSON: incremental sync with removals (SPEC §1) and
//! the GeoJSON map for dashboards.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, problem, token};
use crate::reports::{id_of, json_of, move_to, report, submit, town};

async fn list(app: &TestApp, who: &str, query: &str) -> Value {
    json_of(
        app.get_as(&format!("/api/v1/reports?{query}"), who).await,
        200,
    )
    .await
}

/// `(id, removed)` of each item.
fn items(page: &Value) -> Vec<(i64, bool)> {
    page["data"]
        .as_array()
        .map(|data| {
            data.iter()
                .map(|item| (item["id"].as_i64().unwrap_or(0), item["removed"] == true))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn sync_answers_what_changed_and_what_left_the_filter() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let member = token(&t.member_a);
        let first = id_of(&submit(&app, member, &report("normal")).await);
        let second = id_of(&submit(&app, member, &report("normal")).await);
        let full = list(&app, member, "status=submitted").await;
        assert_eq!(items(&full), [(second, false), (first, false)]);
        let token_then = full["sync_token"].as_str().expect("token").to_owned();

        let verified = move_to(
            &app,
            token(&t.officer),
            first,
            json!({"status": "verified"}),
        )
        .await;
        assert_eq!(verified.status().as_u16(), 200);
        let third = id_of(&submit(&app, member, &report("normal")).await);
        let answer = json!({"body": "Diterima.", "visibility": "public"});
        let commented = app
            .post_as(
                &format!("/api/v1/reports/{second}/comments"),
                token(&t.officer),
                &answer,
            )
            .await;
        assert_eq!(commented.status().as_u16(), 201);
        // An internal note changes nothing a KIM sees.
        let note = json!({"body": "Catatan.", "visibility": "internal"});
        let noted = app
            .post_as(
                &format!("/api/v1/reports/{third}/comments"),
                token(&t.officer),
                &note,
            )
            .await;
        assert_eq!(noted.status().as_u16(), 201);

        // Another KIM's report is not even a removal for this KIM.
        submit(&app, token(&t.member_b), &report("normal")).await;

        let changes = list(
            &app,
            member,
            &format!("status=submitted&updated_since={token_then}"),
        )
        .await;
        assert_eq!(
            items(&changes),
            [(third, false), (second, false), (first, true)],
            "the verified report left the filter"
        );
        assert_eq!(changes["data"][0]["status"], "submitted");
        let token_now = changes["sync_token"].as_str().expect("token").to_owned();
        let nothing = list(
            &app,
            member,
            &format!("status=submitted&updated_since={token_now}"),
        )
        .await;
        assert_eq!(items(&nothing), []);

        // Paging a sync keeps one token for every page.
        let page_one = list(
            &app,
            member,
            &format!("limit=2&status=submitted&updated_since={token_then}"),
        )
        .await;
        let cursor = page_one["next_cursor"].as_str().expect("more");
        let page_two = list(
            &app,
            member,
            &format!("limit=2&status=submitted&updated_since={token_then}&cursor={cursor}"),
        )
        .await;
        assert_eq!(page_one["sync_token"], page_two["sync_token"]);
        assert_eq!(items(&page_two), [(first, true)]);

        // A token is this caller's view's, and overdue cannot be synced.
        let refused = problem(
            app.get_as(
                &format!("/api/v1/reports?updated_since={token_then}"),
                token(&t.member_b),
            )
            .await,
            400,
        )
        .await;
        assert_eq!(refused["errors"][0]["code"], "invalid_sync_token");
        problem(
            app.get_as("/api/v1/reports?updated_since=bm90LWEtdG9rZW4", member)
                .await,
            400,
        )
        .await;
        // A token is the client's text: a forged snapshot is a 400, not a failed cast.
        let forged = {
            use base64::Engine;
            let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let mut point: Value =
                serde_json::from_slice(&engine.decode(&token_then).expect("base64")).expect("json");
            point["p"] = json!("1:2:3'::text");
            engine.encode(point.to_string())
        };
        let refused = problem(
            app.get_as(&format!("/api/v1/reports?updated_since={forged}"), member)
                .await,
            400,
        )
        .await;
        assert_eq!(refused["errors"][0]["code"], "invalid_sync_token");
        let overdue = problem(
            app.get_as(
                &format!("/api/v1/reports?overdue=true&updated_since={token_then}"),
                member,
            )
            .await,
            400,
        )
        .await;
        assert_eq!(overdue["errors"][0]["code"], "not_with_updated_since");
    })
    .await;
}

fn without_location() -> Value {
    let mut body = report("normal");
    if let Some(fields) = body.as_object_mut() {
        fields.remove("latitude");
        fields.remove("longitude");
    }
    body
}

async fn map(app: &TestApp, who: &str, query: &str) -> geojson::FeatureCollection {
    let response = app
        .get_as(&format!("/api/v1/reports.geojson?{query}"), who)
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/geo+json");
    let text = response.text().await.expect("body");
    text.parse().expect("a GeoJSON FeatureCollection")
}

fn ids(collection: &geojson::FeatureCollection) -> Vec<i64> {
    collection
        .features
        .iter()
        .filter_map(|feature| feature.property("id").and_then(Value::as_i64))
        .collect()
}

#[tokio::test]
async fn the_map_is_the_list_as_geojson_points_without_personal_data() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let member = token(&t.member_a);
        let located = id_of(&submit(&app, member, &report("anonymous")).await);
        submit(&app, member, &without_location()).await;
        let secret = id_of(&submit(&app, member, &report("confidential")).await);
        let from_client = id_of(&submit(&app, &t.writer, &report("normal")).await);
        let verified = move_to(
            &app,
            token(&t.officer),
            located,
            json!({"status": "verified"}),
        )
        .await;
        assert_eq!(verified.status().as_u16(), 200);

        let all = map(&app, token(&t.admin), "").await;
        assert_eq!(ids(&all), [from_client, secret, located]);
        let point = all.features[2].geometry.as_ref().expect("geometry");
        let expected = geojson::Geometry::new_point([105.3067, -5.1131]);
        assert_eq!(point, &expected, "[longitude, latitude]");
        let text = serde_json::to_string(&all).expect("json");
        for personal in [
            "Siti",
            "3456",
            "Lampu jalan",
            "Ahmad Yani",
            "MTR-",
            "tracking",
            "reporter",
        ] {
            assert!(!text.contains(personal), "{personal} on the map");
        }
        assert_eq!(all.features[2].property("status"), Some(&json!("verified")));
        assert_eq!(
            all.foreign_members
                .as_ref()
                .and_then(|m| m.get("next_cursor")),
            Some(&Value::Null)
        );

        // The same access rules and filters as the list.
        assert_eq!(ids(&map(&app, &t.reader, "").await), [from_client, located]);
        assert_eq!(
            ids(&map(&app, token(&t.member_b), "").await),
            Vec::<i64>::new()
        );
        assert_eq!(ids(&map(&app, member, "status=verified").await), [located]);
        let first_page = map(&app, token(&t.admin), "limit=1").await;
        assert_eq!(ids(&first_page), [from_client]);
        let cursor = first_page
            .foreign_members
            .as_ref()
            .and_then(|m| m.get("next_cursor"))
            .and_then(Value::as_str)
            .expect("a next page")
            .to_owned();
        assert_eq!(
            ids(&map(&app, token(&t.admin), &format!("limit=1&cursor={cursor}")).await),
            [secret]
        );

        // Asking the list for GeoJSON answers the map.
        let negotiated = app
            .client
            .get(app.url("/api/v1/reports"))
            .bearer_auth(token(&t.admin))
            .header("Accept", "application/geo+json")
            .send()
            .await
            .expect("send");
        assert_eq!(negotiated.headers()["content-type"], "application/geo+json");
        let negotiated: geojson::FeatureCollection = negotiated
            .text()
            .await
            .expect("body")
            .parse()
            .expect("GeoJSON");
        assert_eq!(ids(&negotiated), ids(&all));

        let synced = app
            .get_as("/api/v1/reports.geojson?updated_since=x", token(&t.admin))
            .await;
        assert_eq!(
            problem(synced, 400).await["errors"][0]["code"],
            "json_lists_only"
        );
        problem(
            app.get_as("/api/v1/reports.geojson?status=lost", token(&t.admin))
                .await,
            400,
        )
        .await;
        let anonymous = app
            .send(Method::GET, "/api/v1/reports.geojson", None, None)
            .await;
        problem(anonymous, 401).await;
    })
    .await;
}

/// Writes that wait together share one commit on SQLite (`DbWorkers::run_grouped`):
/// a write refused inside the transaction leaves nothing, and does not take the others
/// with it; every answered `201` is there afterwards.
#[tokio::test]
async fn simultaneous_submissions_each_stand_or_fall_alone() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(40));
        let mut sending = Vec::new();
        for n in 0..40 {
            let mut body = report("normal");
            if n % 4 == 0 {
                // Refused inside the transaction, after the key was claimed.
                body["category_code"] = json!("tidak_ada");
            }
            let request = app
                .client
                .post(app.url("/api/v1/reports"))
                .bearer_auth(token(&t.member_a).to_owned())
                .header("Idempotency-Key", format!("bersama-{n}"))
                .json(&body);
            let start = start.clone();
            sending.push(tokio::spawn(async move {
                start.wait().await;
                let response = request.send().await.expect("send");
                let status = response.status().as_u16();
                (n, status, response.json::<Value>().await.expect("json"))
            }));
        }
        let mut created = Vec::new();
        for task in sending {
            let (n, status, body) = task.await.expect("task");
            if n % 4 == 0 {
                assert_eq!(status, 422, "{body}");
            } else {
                assert_eq!(status, 201, "{body}");
                created.push(body["id"].as_i64().expect("id"));
            }
        }
        let (stored, entries, keys) = app
            .db
            .read(|conn| {
                use diesel::prelude::*;
                use kim_api::db::schema::{idempotency_keys, report_timeline, reports};
                let stored: Vec<i64> = reports::table
                    .select(reports::id)
                    .order(reports::id)
                    .load(conn)?;
                let entries: i64 = report_timeline::table.count().get_result(conn)?;
                let keys: i64 = idempotency_keys::table.count().get_result(conn)?;
                Ok((stored, entries, keys))
            })
            .await
            .expect("rows");
        created.sort_unstable();
        assert_eq!(stored, created);
        assert_eq!(entries, 30);
        assert_eq!(keys, 30, "a refused request keeps no key");
    })
    .await;
}
