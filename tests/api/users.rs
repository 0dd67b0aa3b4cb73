use diesel::prelude::*;
use kim_api::db::schema::audit_log;
use serde_json::{Value, json};

use crate::helpers::{USER_PASSWORD, on_each_backend, problem};

#[tokio::test]
async fn gov_admin_creates_reads_and_lists_accounts() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let token = &admin.session.access_token;
        let kim = app.create_kim("KIM Mulyojati").await;
        let body = json!({
            "username": "Siti.Rahma", "password": USER_PASSWORD, "role": "kim_admin",
            "kim_id": kim, "display_name": "Siti Rahmawati",
        });
        let response = app.post_as("/api/v1/users", token, &body).await;
        assert_eq!(response.status().as_u16(), 201);
        let location = response.headers()["location"].to_str().expect("ascii").to_owned();
        assert_eq!(response.headers()["etag"], "\"1\"");
        let created: Value = response.json().await.expect("json");
        assert_eq!(location, format!("/api/v1/users/{}", created["id"]));
        assert_eq!(created["role"], "kim_admin");
        assert_eq!(created["kim_id"], kim);
        assert!(created.get("password").is_none() && created.get("password_hash").is_none());

        let fetched = app.get_as(&location, token).await;
        assert_eq!(fetched.headers()["etag"], "\"1\"");
        let fetched: Value = fetched.json().await.expect("json");
        assert_eq!(fetched, created);

        let duplicate = app
            .post_as("/api/v1/users", token, &json!({"username": "siti.RAHMA", "password": USER_PASSWORD, "role": "gov_officer"}))
            .await;
        assert_eq!(problem(duplicate, 409).await["code"], "username_taken");

        for _ in 0..3 {
            app.user(&admin, "gov_officer", None).await;
        }
        let page: Value = app.get_as("/api/v1/users?limit=2", token).await.json().await.expect("json");
        assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
        let cursor = page["next_cursor"].as_str().expect("more pages");
        let next: Value = app.get_as(&format!("/api/v1/users?limit=2&cursor={cursor}"), token).await.json().await.expect("json");
        assert!(next["data"][0]["id"].as_i64() > page["data"][1]["id"].as_i64());
        let officers: Value = app.get_as("/api/v1/users?role=gov_officer&limit=100", token).await.json().await.expect("json");
        assert_eq!(officers["data"].as_array().map(Vec::len), Some(3));
        let by_name: Value = app.get_as("/api/v1/users?q=SITI", token).await.json().await.expect("json");
        assert_eq!(by_name["data"][0]["username"], "Siti.Rahma");
        app.post_as("/api/v1/users", token, &json!({"username": "budi_s", "password": USER_PASSWORD, "role": "gov_officer"})).await;
        app.post_as("/api/v1/users", token, &json!({"username": "budixs", "password": USER_PASSWORD, "role": "gov_officer"})).await;
        let underscore: Value = app.get_as("/api/v1/users?q=budi_", token).await.json().await.expect("json");
        let names: Vec<&str> = underscore["data"].as_array().expect("data").iter().filter_map(|u| u["username"].as_str()).collect();
        assert_eq!(names, ["budi_s"], "`_` is a literal, not a wildcard");
        let wildcard: Value = app.get_as("/api/v1/users?q=%25", token).await.json().await.expect("json");
        assert_eq!(wildcard["data"], json!([]), "`%` is a literal too");
        let bad = app.get_as("/api/v1/users?role=superuser", token).await;
        assert_eq!(problem(bad, 400).await["errors"][0]["field"], "role");
    })
    .await;
}

#[tokio::test]
async fn invalid_accounts_are_refused_field_by_field() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let token = &admin.session.access_token;
        let kim = app.create_kim("KIM Validasi").await;
        let cases = [
            (json!({"username": "a", "password": USER_PASSWORD, "role": "gov_officer"}), "username", "invalid_username"),
            (json!({"username": "bad name", "password": USER_PASSWORD, "role": "gov_officer"}), "username", "invalid_username"),
            (json!({"username": "budi", "password": "short", "role": "gov_officer"}), "password", "too_short"),
            (json!({"username": "budi", "password": "password12345", "role": "gov_officer"}), "password", "too_weak"),
            (json!({"username": "budi", "password": USER_PASSWORD, "role": "kim_member"}), "kim_id", "required"),
            (json!({"username": "budi", "password": USER_PASSWORD, "role": "gov_officer", "kim_id": kim}), "kim_id", "not_allowed"),
            (json!({"username": "budi", "password": USER_PASSWORD, "role": "kim_member", "kim_id": 999_999}), "kim_id", "unknown_kim"),
            (json!({"username": "budi", "password": USER_PASSWORD, "role": "integration"}), "role", "not_a_user_role"),
            (json!({"username": "budi", "password": USER_PASSWORD, "role": "gov_officer", "display_name": "x".repeat(201)}), "display_name", "invalid_length"),
        ];
        for (body, field, code) in cases {
            let response = app.post_as("/api/v1/users", token, &body).await;
            let problem = problem(response, 422).await;
            assert_eq!(problem["code"], "validation_failed", "{body}");
            assert!(
                problem["errors"].as_array().expect("errors").iter().any(|e| e["field"] == field && e["code"] == code),
                "{body}: {problem}"
            );
        }
        let bodies = [
            (json!({"username": "budi", "password": USER_PASSWORD, "role": "mayor"}), "role"),
            (json!({"username": "budi", "password": USER_PASSWORD, "role": "gov_officer", "is_admin": true}), "is_admin"),
            (json!({"username": "budi", "role": "gov_officer"}), "password"),
        ];
        for (body, field) in bodies {
            let problem = problem(app.post_as("/api/v1/users", token, &body).await, 400).await;
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
        let listed: Value = app.get_as("/api/v1/users", token).await.json().await.expect("json");
        assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "nothing was created");
    })
    .await;
}

#[tokio::test]
async fn kim_admins_manage_only_their_own_kims_members() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let (kim_a, kim_b) = (app.create_kim("KIM A").await, app.create_kim("KIM B").await);
        let board_a = app.user(&admin, "kim_admin", Some(kim_a)).await;
        let board_a2 = app.user(&admin, "kim_admin", Some(kim_a)).await;
        let member_b = app.user(&admin, "kim_member", Some(kim_b)).await;
        let token = &board_a.session.access_token;

        // Creates members of its own KIM (the KIM comes from the token).
        let response = app
            .post_as("/api/v1/users", token, &json!({"username": "anggota.a", "password": USER_PASSWORD, "role": "kim_member"}))
            .await;
        assert_eq!(response.status().as_u16(), 201);
        let member_a: Value = response.json().await.expect("json");
        assert_eq!(member_a["kim_id"], kim_a);
        let member_a_id = member_a["id"].as_i64().expect("id");

        let forbidden = [
            json!({"username": "x.one", "password": USER_PASSWORD, "role": "kim_admin"}),
            json!({"username": "x.two", "password": USER_PASSWORD, "role": "gov_officer"}),
            json!({"username": "x.three", "password": USER_PASSWORD, "role": "kim_member", "kim_id": kim_b}),
        ];
        for body in forbidden {
            assert_eq!(problem(app.post_as("/api/v1/users", token, &body).await, 403).await["code"], "forbidden", "{body}");
        }

        // Sees only its KIM.
        let listed: Value = app.get_as("/api/v1/users?limit=100", token).await.json().await.expect("json");
        assert!(listed["data"].as_array().expect("data").iter().all(|u| u["kim_id"] == kim_a), "{listed}");
        let other_kim: Value = app.get_as(&format!("/api/v1/users?kim_id={kim_b}"), token).await.json().await.expect("json");
        assert_eq!(other_kim["data"], json!([]));
        assert_eq!(app.get_as(&format!("/api/v1/users/{}", member_b.id), token).await.status().as_u16(), 404);
        assert_eq!(app.get_as(&format!("/api/v1/users/{}", admin.id), token).await.status().as_u16(), 404);

        // Disables its members, nothing else.
        let path = format!("/api/v1/users/{member_a_id}");
        let disabled = app.patch_as(&path, token, &json!({"disabled": true})).await;
        assert_eq!(disabled.status().as_u16(), 200);
        let disabled: Value = disabled.json().await.expect("json");
        assert_eq!((disabled["disabled"].clone(), disabled["version"].clone()), (json!(true), json!(2)));
        assert_eq!(app.patch_as(&path, token, &json!({"password": "teh-poci-sore-hari-ini"})).await.status().as_u16(), 403);
        assert_eq!(app.patch_as(&path, token, &json!({"role": "kim_admin"})).await.status().as_u16(), 403);
        let other_board = format!("/api/v1/users/{}", board_a2.id);
        assert_eq!(app.patch_as(&other_board, token, &json!({"disabled": true})).await.status().as_u16(), 403);
        let other_member = format!("/api/v1/users/{}", member_b.id);
        assert_eq!(app.patch_as(&other_member, token, &json!({"disabled": true})).await.status().as_u16(), 404);
    })
    .await;
}

#[tokio::test]
async fn updates_honour_if_match_and_keep_one_admin() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let token = &admin.session.access_token;
        let officer = app.user(&admin, "gov_officer", None).await;
        let path = format!("/api/v1/users/{}", officer.id);

        let renamed = app
            .client
            .patch(app.url(&path))
            .bearer_auth(token)
            .header("if-match", "\"1\"")
            .json(&json!({"display_name": "Pak Budi"}))
            .send()
            .await
            .expect("request");
        assert_eq!(renamed.status().as_u16(), 200);
        assert_eq!(renamed.headers()["etag"], "\"2\"");
        let stale = app
            .client
            .patch(app.url(&path))
            .bearer_auth(token)
            .header("if-match", "\"1\"")
            .json(&json!({"display_name": "Bu Sri"}))
            .send()
            .await
            .expect("request");
        assert_eq!(problem(stale, 412).await["code"], "precondition_failed");
        let current: Value = app.get_as(&path, token).await.json().await.expect("json");
        assert_eq!(
            current["display_name"], "Pak Budi",
            "the stale write changed nothing"
        );

        let cleared: Value = app
            .patch_as(&path, token, &json!({"display_name": null}))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(cleared["display_name"], Value::Null);

        let promoted = app
            .patch_as(&path, token, &json!({"role": "kim_member"}))
            .await;
        assert_eq!(problem(promoted, 422).await["errors"][0]["field"], "kim_id");

        let last = app
            .patch_as(
                &format!("/api/v1/users/{}", admin.id),
                token,
                &json!({"disabled": true}),
            )
            .await;
        assert_eq!(problem(last, 409).await["code"], "last_admin");
        let demoted = app
            .patch_as(
                &format!("/api/v1/users/{}", admin.id),
                token,
                &json!({"role": "gov_officer"}),
            )
            .await;
        assert_eq!(problem(demoted, 409).await["code"], "last_admin");

        assert_eq!(
            app.patch_as("/api/v1/users/999999", token, &json!({"disabled": true}))
                .await
                .status()
                .as_u16(),
            404
        );
        assert_eq!(
            problem(app.get_as("/api/v1/users/abc", token).await, 400).await["code"],
            "invalid_path"
        );
        assert_eq!(
            problem(
                app.patch_as(&path, token, &json!({"username": "new"}))
                    .await,
                400
            )
            .await["errors"][0]["field"],
            "username"
        );
    })
    .await;
}

/// action, actor type, target id, request id, detail
type AuditRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

#[tokio::test]
async fn security_events_are_audited_without_secrets() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let _ = app.login("admin", "definitely-wrong-pass").await;
        let officer = app.user(&admin, "gov_officer", None).await;
        app.patch_as(
            &format!("/api/v1/users/{}", officer.id),
            &admin.session.access_token,
            &json!({"disabled": true}),
        )
        .await;
        let rows: Vec<AuditRow> = app
            .db
            .read(|conn| {
                Ok(audit_log::table
                    .order(audit_log::id)
                    .select((
                        audit_log::action,
                        audit_log::actor_type,
                        audit_log::target_id,
                        audit_log::request_id,
                        audit_log::detail,
                    ))
                    .load(conn)?)
            })
            .await
            .expect("audit rows");
        let actions: Vec<&str> = rows.iter().map(|row| row.0.as_str()).collect();
        for expected in [
            "user.created",
            "auth.login",
            "auth.login_failed",
            "user.updated",
            "auth.sessions_revoked",
        ] {
            assert!(actions.contains(&expected), "{expected} in {actions:?}");
        }
        let disabled = rows
            .iter()
            .find(|row| row.0 == "user.updated")
            .expect("update");
        assert_eq!(disabled.2.as_deref(), Some(officer.id.to_string().as_str()));
        assert!(disabled.3.is_some(), "the request id is kept");
        let all = format!("{rows:?}");
        assert!(!all.contains(USER_PASSWORD) && !all.contains("definitely-wrong-pass"));
    })
    .await;
}

#[tokio::test]
async fn a_kim_admin_disables_its_members_but_only_gov_admin_enables_them() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let kim = app.create_kim("KIM Akun").await;
        let board = app.user(&admin, "kim_admin", Some(kim)).await;
        let member = app.user(&admin, "kim_member", Some(kim)).await;
        let path = format!("/api/v1/users/{}", member.id);
        let disable = app
            .patch_as(
                &path,
                &board.session.access_token,
                &json!({"disabled": true}),
            )
            .await;
        assert_eq!(disable.status().as_u16(), 200);
        let enable = app
            .patch_as(
                &path,
                &board.session.access_token,
                &json!({"disabled": false}),
            )
            .await;
        problem(enable, 403).await;
        let enable = app
            .patch_as(
                &path,
                &admin.session.access_token,
                &json!({"disabled": false}),
            )
            .await;
        assert_eq!(enable.status().as_u16(), 200);
    })
    .await;
}

#[tokio::test]
async fn if_match_needs_a_strong_well_formed_entity_tag() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let path = format!("/api/v1/users/{}", admin.id);
        for (if_match, status) in [("W/\"1\"", 412), ("", 400), ("1", 400), ("\"1\"", 200)] {
            let response = app
                .client
                .patch(app.url(&path))
                .bearer_auth(&admin.session.access_token)
                .header("If-Match", if_match)
                .json(&json!({"display_name": "Admin"}))
                .send()
                .await
                .expect("PATCH");
            assert_eq!(response.status().as_u16(), status, "If-Match: {if_match:?}");
        }
    })
    .await;
}
