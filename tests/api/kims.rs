use diesel::prelude::*;
use kim_api::db::schema::kims;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, on_each_backend, problem};

fn new_kim(name: &str, kelurahan: &str) -> Value {
    json!({
        "name": name, "kelurahan_code": kelurahan, "area_type": "urban",
        "address": "Jl. Ki Hajar Dewantara 12", "focus": ["kesehatan", "umkm"],
        "contact_phone": "0812-3456-7890", "contact_email": "kim@example.go.id",
        "established_on": "2025-08-17",
    })
}

async fn create(app: &TestApp, admin: &TestUser, body: &Value) -> Value {
    let response = app
        .post_as("/api/v1/kims", &admin.session.access_token, body)
        .await;
    assert_eq!(response.status().as_u16(), 201, "create KIM");
    response.json().await.expect("json")
}

/// Puts a KIM in a status directly (activation itself needs members; see members tests).
async fn force_status(app: &TestApp, id: i64, status: &'static str) {
    app.db
        .write(move |conn| {
            diesel::update(kims::table.find(id))
                .set(kims::status.eq(status))
                .execute(conn)?;
            Ok(())
        })
        .await
        .expect("status");
}

#[tokio::test]
async fn gov_admin_registers_kims_with_codes_and_derived_kecamatan() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let response = app
            .post_as(
                "/api/v1/kims",
                &admin.session.access_token,
                &new_kim("KIM Mulyojati", "18.72.03.1001"),
            )
            .await;
        assert_eq!(response.status().as_u16(), 201);
        let location = response.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let kim: Value = response.json().await.expect("json");
        assert_eq!(location, format!("/api/v1/kims/{}", kim["id"]));
        assert_eq!(kim["registration_code"], "KIM-1872-0001");
        assert_eq!(kim["kecamatan_code"], "18.72.03");
        assert_eq!(kim["status"], "proposed");
        assert_eq!(kim["contact_phone"], "+6281234567890");
        assert_eq!(kim["focus"], json!(["kesehatan", "umkm"]));
        assert_eq!(kim["active_member_count"], 0);
        assert_eq!(
            kim["compliance"],
            json!({"ok": false, "problems": ["too_few_members", "no_ketua", "missing_sk"]})
        );
        assert_eq!(kim["version"], 1);

        let second = create(&app, &admin, &new_kim("KIM Yosomulyo", "18.72.01.1005")).await;
        assert_eq!(second["registration_code"], "KIM-1872-0002");

        let fetched = app.get_as(&location, &admin.session.access_token).await;
        assert_eq!(fetched.headers()["etag"], "\"1\"");
        let fetched: Value = fetched.json().await.expect("json");
        assert_eq!(fetched, kim);
    })
    .await;
}

#[tokio::test]
async fn concurrent_registrations_get_distinct_codes() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let bodies: Vec<Value> = (0..8)
            .map(|i| new_kim(&format!("KIM Serentak {i}"), "18.72.02.1001"))
            .collect();
        let requests = bodies
            .iter()
            .map(|body| app.post_as("/api/v1/kims", &admin.session.access_token, body));
        let mut codes = Vec::new();
        for response in futures_util::future::join_all(requests).await {
            assert_eq!(response.status().as_u16(), 201);
            let kim: Value = response.json().await.expect("json");
            codes.push(kim["registration_code"].as_str().expect("code").to_owned());
        }
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 8, "{codes:?}");
    })
    .await;
}

#[tokio::test]
async fn invalid_kims_are_refused_field_by_field() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let token = &admin.session.access_token;
        let with = |changes: Value| {
            let mut body = new_kim("KIM Uji", "18.72.03.1001");
            for (key, value) in changes.as_object().expect("object") {
                body[key] = value.clone();
            }
            body
        };
        let cases = [
            (with(json!({"kelurahan_code": "18.72.03"})), "kelurahan_code", "unknown_kelurahan"),
            (with(json!({"kelurahan_code": "99.99.99.9999"})), "kelurahan_code", "unknown_kelurahan"),
            (with(json!({"name": "  "})), "name", "invalid_length"),
            (with(json!({"name": "x".repeat(201)})), "name", "invalid_length"),
            (with(json!({"contact_phone": "12345"})), "contact_phone", "invalid_phone"),
            (with(json!({"contact_email": "not-an-email"})), "contact_email", "invalid_email"),
            (with(json!({"focus": vec!["tag"; 21]})), "focus", "too_many_tags"),
            (with(json!({"focus": ["ok", " "]})), "focus[1]", "invalid_length"),
            (with(json!({"name": "KIM\nDua Baris"})), "name", "invalid_character"),
            (with(json!({"established_on": "2999-01-01"})), "established_on", "in_the_future"),
        ];
        for (body, field, code) in cases {
            let problem = problem(app.post_as("/api/v1/kims", token, &body).await, 422).await;
            assert!(
                problem["errors"].as_array().expect("errors").iter().any(|e| e["field"] == field && e["code"] == code),
                "{field}/{code}: {problem}"
            );
        }
        for (body, field) in [
            (with(json!({"area_type": "suburban"})), "area_type"),
            (with(json!({"status": "active"})), "status"),
            (with(json!({"established_on": "17-08-2025"})), "established_on"),
            (with(json!({"established_on": "2025-8-17"})), "established_on"),
            (with(json!({"established_on": "0001-01-01"})), "established_on"),
            (with(json!({"established_on": "-0001-01-01"})), "established_on"),
            (with(json!({"name": "KIM \u{0}"})), "name"),
            (with(json!({"address": "Jl. \u{1b}[31mMerah"})), "address"),
            (with(json!({"name": "KIM \u{202E}abc"})), "name"),
            (with(json!({"focus": ["ok", "\u{0}"]})), "focus[1]"),
        ] {
            assert_eq!(problem(app.post_as("/api/v1/kims", token, &body).await, 400).await["errors"][0]["field"], field);
        }
        let listed: Value = app.get_as("/api/v1/kims", token).await.json().await.expect("json");
        assert_eq!(listed["data"], json!([]), "nothing was created");
    })
    .await;
}

#[tokio::test]
async fn the_public_sees_active_kims_without_contacts() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let proposed = create(&app, &admin, &new_kim("KIM Usulan", "18.72.03.1001")).await;
        let active = create(&app, &admin, &new_kim("KIM Aktif", "18.72.03.1002")).await;
        let (proposed_id, active_id) = (
            proposed["id"].as_i64().expect("id"),
            active["id"].as_i64().expect("id"),
        );
        force_status(&app, active_id, "active").await;

        assert_eq!(
            problem(app.get(&format!("/api/v1/kims/{proposed_id}")).await, 404).await["code"],
            "not_found"
        );
        let public: Value = app
            .get(&format!("/api/v1/kims/{active_id}"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(public["contact_phone"], Value::Null);
        assert_eq!(public["contact_email"], Value::Null);
        assert_eq!(public["name"], "KIM Aktif");

        let listed: Value = app.get("/api/v1/kims").await.json().await.expect("json");
        let ids: Vec<i64> = listed["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|k| k["id"].as_i64())
            .collect();
        assert_eq!(ids, vec![active_id]);
        let asked: Value = app
            .get("/api/v1/kims?status=proposed")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            asked["data"],
            json!([]),
            "asking does not reveal proposed KIMs"
        );

        // A KIM's own users see it whatever its status, with contacts; others do not.
        let board = app.user(&admin, "kim_admin", Some(proposed_id)).await;
        let own: Value = app
            .get_as(
                &format!("/api/v1/kims/{proposed_id}"),
                &board.session.access_token,
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(own["contact_phone"], "+6281234567890");
        let other: Value = app
            .get_as(
                &format!("/api/v1/kims/{active_id}"),
                &board.session.access_token,
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(other["contact_phone"], Value::Null);
        let board_list: Value = app
            .get_as("/api/v1/kims", &board.session.access_token)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(board_list["data"].as_array().map(Vec::len), Some(2));

        // Integration clients need kims:read.
        let (id, secret, _) = app.integration_client(&admin, &["kims:read"]).await;
        let reader = app.client_token(&id, &secret).await;
        let full: Value = app
            .get_as(&format!("/api/v1/kims/{proposed_id}"), &reader)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(full["contact_email"], "kim@example.go.id");
        let (id, secret, _) = app.integration_client(&admin, &["reports:read"]).await;
        let other_scope = app.client_token(&id, &secret).await;
        assert_eq!(
            app.get_as("/api/v1/kims", &other_scope)
                .await
                .status()
                .as_u16(),
            403
        );
        assert_eq!(
            app.get_as(&format!("/api/v1/kims/{active_id}"), &other_scope)
                .await
                .status()
                .as_u16(),
            403
        );
    })
    .await;
}

#[tokio::test]
async fn lists_filter_and_page() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let token = &admin.session.access_token;
        create(&app, &admin, &new_kim("KIM Metro Satu", "18.72.01.1001")).await;
        create(&app, &admin, &new_kim("KIM Banjarsari", "18.72.02.1001")).await;
        let mut rural = new_kim("KIM Desa Sejahtera", "18.72.02.1002");
        rural["area_type"] = json!("rural");
        create(&app, &admin, &rural).await;
        let names = |page: &Value| -> Vec<String> {
            page["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|k| k["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        let app = &app;
        let get = |path: &'static str| async move {
            let response = app.get_as(path, token).await;
            assert_eq!(response.status().as_u16(), 200, "{path}");
            response.json::<Value>().await.expect("json")
        };
        assert_eq!(
            names(&get("/api/v1/kims?kecamatan_code=18.72.02").await),
            ["KIM Banjarsari", "KIM Desa Sejahtera"]
        );
        assert_eq!(
            names(&get("/api/v1/kims?kelurahan_code=18.72.01.1001").await),
            ["KIM Metro Satu"]
        );
        assert_eq!(
            names(&get("/api/v1/kims?area_type=rural").await),
            ["KIM Desa Sejahtera"]
        );
        assert_eq!(
            names(&get("/api/v1/kims?q=BANJAR").await),
            ["KIM Banjarsari"]
        );
        assert_eq!(
            names(&get("/api/v1/kims?status=proposed&limit=2").await).len(),
            2
        );
        let first = get("/api/v1/kims?limit=2").await;
        let cursor = first["next_cursor"].as_str().expect("cursor").to_owned();
        let next: Value = app
            .get_as(&format!("/api/v1/kims?limit=2&cursor={cursor}"), token)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(names(&next), ["KIM Desa Sejahtera"]);
        assert_eq!(next["next_cursor"], Value::Null);
        let bad = app.get_as("/api/v1/kims?status=archived", token).await;
        assert_eq!(problem(bad, 400).await["errors"][0]["field"], "status");
    })
    .await;
}

#[tokio::test]
async fn the_lifecycle_allows_only_its_moves_and_keeps_history() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let token = &admin.session.access_token;
        let kim = create(&app, &admin, &new_kim("KIM Siklus", "18.72.04.1001")).await;
        let id = kim["id"].as_i64().expect("id");
        let path = format!("/api/v1/kims/{id}/status");

        let refused = app.post_as(&path, token, &json!({"status": "active", "reason": "Pengukuhan"})).await;
        let body = problem(refused, 422).await;
        assert_eq!(body["code"], "kim_not_compliant");
        let codes: Vec<&str> = body["errors"].as_array().expect("errors").iter().filter_map(|e| e["code"].as_str()).collect();
        assert_eq!(codes, ["too_few_members", "no_ketua", "missing_sk"], "every failing rule");
        let with_sk = app
            .post_as(&path, token, &json!({"status": "active", "reason": "Pengukuhan", "sk_number": "SK/123/2026", "sk_date": "2026-01-05"}))
            .await;
        let codes: Vec<String> = problem(with_sk, 422).await["errors"].as_array().expect("errors").iter().filter_map(|e| e["code"].as_str().map(str::to_owned)).collect();
        assert_eq!(codes, ["too_few_members", "no_ketua"]);

        let illegal = app.post_as(&path, token, &json!({"status": "inactive", "reason": "Tidak aktif"})).await;
        assert_eq!(problem(illegal, 409).await["code"], "invalid_transition");
        let blank = app.post_as(&path, token, &json!({"status": "dissolved", "reason": " "})).await;
        assert_eq!(problem(blank, 422).await["errors"][0]["field"], "reason");

        let dissolved = app.post_as(&path, token, &json!({"status": "dissolved", "reason": "Pengurus mengundurkan diri"})).await;
        assert_eq!(dissolved.status().as_u16(), 200);
        let dissolved: Value = dissolved.json().await.expect("json");
        assert_eq!((dissolved["status"].clone(), dissolved["version"].clone()), (json!("dissolved"), json!(2)));
        for next in ["active", "inactive", "proposed", "dissolved"] {
            let again = app.post_as(&path, token, &json!({"status": next, "reason": "Lagi"})).await;
            assert_eq!(problem(again, 409).await["code"], "invalid_transition", "dissolved is final ({next})");
        }

        let history: Value = app.get_as(&format!("/api/v1/kims/{id}/history"), token).await.json().await.expect("json");
        assert_eq!(history["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(history["data"][0]["from_status"], "proposed");
        assert_eq!(history["data"][0]["to_status"], "dissolved");
        assert_eq!(history["data"][0]["reason"], "Pengurus mengundurkan diri");
        assert_eq!(history["data"][0]["changed_by"], admin.id);

        let officer = app.user(&admin, "gov_officer", None).await;
        assert_eq!(app.post_as(&path, &officer.session.access_token, &json!({"status": "active", "reason": "x"})).await.status().as_u16(), 403);
        assert_eq!(app.get_as(&format!("/api/v1/kims/{id}/history"), &officer.session.access_token).await.status().as_u16(), 200);
        assert_eq!(app.get(&format!("/api/v1/kims/{id}/history")).await.status().as_u16(), 401);
        assert_eq!(app.post_as("/api/v1/kims/999999/status", token, &json!({"status": "dissolved", "reason": "x"})).await.status().as_u16(), 404);
    })
    .await;
}

#[tokio::test]
async fn profiles_are_edited_by_gov_admin_and_the_kims_own_board() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let kim = create(&app, &admin, &new_kim("KIM Profil", "18.72.05.1001")).await;
        let other = create(&app, &admin, &new_kim("KIM Lain", "18.72.05.1002")).await;
        let (id, other_id) = (kim["id"].as_i64().expect("id"), other["id"].as_i64().expect("id"));
        let path = format!("/api/v1/kims/{id}");
        let board = app.user(&admin, "kim_admin", Some(id)).await;
        let member = app.user(&admin, "kim_member", Some(id)).await;
        let officer = app.user(&admin, "gov_officer", None).await;
        let board_token = &board.session.access_token;

        let edited = app.patch_as(&path, board_token, &json!({"description": "Kelompok informasi warga", "contact_phone": null})).await;
        assert_eq!(edited.status().as_u16(), 200);
        assert_eq!(edited.headers()["etag"], "\"2\"");
        let edited: Value = edited.json().await.expect("json");
        assert_eq!(edited["description"], "Kelompok informasi warga");
        assert_eq!(edited["contact_phone"], Value::Null);

        for body in [json!({"sk_number": "SK/1"}), json!({"kelurahan_code": "18.72.05.1002"}), json!({"area_type": "rural"})] {
            assert_eq!(app.patch_as(&path, board_token, &body).await.status().as_u16(), 403, "{body}");
        }
        assert_eq!(app.patch_as(&path, &member.session.access_token, &json!({"name": "X"})).await.status().as_u16(), 403);
        assert_eq!(app.patch_as(&path, &officer.session.access_token, &json!({"name": "X"})).await.status().as_u16(), 403);
        let not_theirs = app.patch_as(&format!("/api/v1/kims/{other_id}"), board_token, &json!({"name": "X"})).await;
        assert_eq!(not_theirs.status().as_u16(), 404, "a proposed KIM of another board is not revealed");
        assert_eq!(app.patch_as(&path, board_token, &json!({"contact_phone": "999"})).await.status().as_u16(), 422);

        let moved = app.patch_as(&path, &admin.session.access_token, &json!({"kelurahan_code": "18.72.05.1002", "sk_number": "SK/7/2026", "sk_date": "2026-02-01"})).await;
        let moved: Value = moved.json().await.expect("json");
        assert_eq!(moved["kecamatan_code"], "18.72.05");
        assert_eq!(moved["kelurahan_code"], "18.72.05.1002");
        assert_eq!(moved["compliance"]["problems"], json!(["too_few_members", "no_ketua"]));

        let stale = app
            .client
            .patch(app.url(&path))
            .bearer_auth(&admin.session.access_token)
            .header("if-match", "\"1\"")
            .json(&json!({"name": "Stale"}))
            .send()
            .await
            .expect("request");
        assert_eq!(problem(stale, 412).await["code"], "precondition_failed");
    })
    .await;
}

#[tokio::test]
async fn each_view_of_a_kim_has_its_own_entity_tag() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let kim = create(&app, &admin, &new_kim("KIM Dua Wajah", "18.72.03.1001")).await;
        let id = kim["id"].as_i64().expect("id");
        force_status(&app, id, "active").await;
        let path = format!("/api/v1/kims/{id}");
        let full = app.get_as(&path, &admin.session.access_token).await;
        let public = app.get(&path).await;
        let (full_tag, public_tag) = (
            full.headers()["etag"].to_str().expect("ascii").to_owned(),
            public.headers()["etag"].to_str().expect("ascii").to_owned(),
        );
        assert_ne!(full_tag, public_tag);
        // The public view's tag is no precondition for a change.
        let stale = app
            .client
            .patch(app.url(&path))
            .bearer_auth(&admin.session.access_token)
            .header("If-Match", public_tag)
            .json(&json!({"description": "Baru"}))
            .send()
            .await
            .expect("PATCH");
        problem(stale, 412).await;
    })
    .await;
}

#[tokio::test]
async fn a_dissolved_kim_changes_no_more() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let kim = create(&app, &admin, &new_kim("KIM Bubar", "18.72.03.1001")).await;
        let id = kim["id"].as_i64().expect("id");
        let board = app.user(&admin, "kim_admin", Some(id)).await;
        force_status(&app, id, "dissolved").await;
        let edit = app
            .patch_as(
                &format!("/api/v1/kims/{id}"),
                &board.session.access_token,
                &json!({"description": "Masih ada"}),
            )
            .await;
        assert_eq!(problem(edit, 409).await["code"], "kim_dissolved");
        let account = app
            .post_as(
                "/api/v1/users",
                &board.session.access_token,
                &json!({"username": "anggota.baru", "password": crate::helpers::USER_PASSWORD,
                        "role": "kim_member"}),
            )
            .await;
        assert_eq!(problem(account, 409).await["code"], "kim_dissolved");
    })
    .await;
}
