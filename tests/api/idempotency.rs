use diesel::prelude::*;
use kim_api::db::schema::{idempotency_keys, users};
use serde_json::{Value, json};

use crate::helpers::{TestApp, USER_PASSWORD, on_each_backend, problem};

async fn post_with_key(
    app: &TestApp,
    token: &str,
    key: &str,
    path: &str,
    body: &Value,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .expect("request")
}

async fn user_count(app: &TestApp) -> i64 {
    app.db
        .read(|conn| Ok(users::table.count().get_result(conn)?))
        .await
        .expect("count")
}

#[tokio::test]
async fn a_retried_create_answers_the_first_response_without_a_second_record() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let token = &admin.session.access_token;
        let body =
            json!({"username": "petugas.satu", "password": USER_PASSWORD, "role": "gov_officer"});
        let first = post_with_key(&app, token, "7b0c6b9e-retry-1", "/api/v1/users", &body).await;
        assert_eq!(first.status().as_u16(), 201);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let location = first.headers()["location"].clone();
        let first_body: Value = first.json().await.expect("json");
        let count = user_count(&app).await;

        // Whitespace and key order do not make it another request.
        let reordered =
            json!({"role": "gov_officer", "password": USER_PASSWORD, "username": "petugas.satu"});
        let retry =
            post_with_key(&app, token, "7b0c6b9e-retry-1", "/api/v1/users", &reordered).await;
        assert_eq!(retry.status().as_u16(), 201, "the same status code");
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(retry.headers()["location"], location);
        let retry_body: Value = retry.json().await.expect("json");
        assert_eq!(retry_body, first_body, "the same id and body");
        assert_eq!(user_count(&app).await, count, "no second record");

        let other =
            json!({"username": "petugas.dua", "password": USER_PASSWORD, "role": "gov_officer"});
        let reused = post_with_key(&app, token, "7b0c6b9e-retry-1", "/api/v1/users", &other).await;
        assert_eq!(problem(reused, 422).await["code"], "idempotency_key_reused");
        assert_eq!(user_count(&app).await, count);

        // Keys belong to their caller: another caller's same key is a new request.
        let kim = app.create_kim("KIM Idem").await;
        let board = app.user(&admin, "kim_admin", Some(kim)).await;
        let member =
            json!({"username": "anggota.idem", "password": USER_PASSWORD, "role": "kim_member"});
        let theirs = post_with_key(
            &app,
            &board.session.access_token,
            "7b0c6b9e-retry-1",
            "/api/v1/users",
            &member,
        )
        .await;
        assert_eq!(theirs.status().as_u16(), 201);
        assert!(theirs.headers().get("idempotent-replayed").is_none());

        let too_long = post_with_key(&app, token, &"k".repeat(256), "/api/v1/users", &body).await;
        assert_eq!(problem(too_long, 400).await["code"], "invalid_header");
    })
    .await;
}

#[tokio::test]
async fn concurrent_retries_create_exactly_one_record() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let before = user_count(&app).await;
        let body =
            json!({"username": "serentak", "password": USER_PASSWORD, "role": "gov_officer"});
        let attempts = (0..6).map(|_| {
            post_with_key(
                &app,
                &admin.session.access_token,
                "burst-key",
                "/api/v1/users",
                &body,
            )
        });
        let responses = futures_util::future::join_all(attempts).await;
        let mut ids = Vec::new();
        for response in responses {
            assert_eq!(response.status().as_u16(), 201);
            let created: Value = response.json().await.expect("json");
            ids.push(created["id"].clone());
        }
        ids.dedup();
        assert_eq!(
            ids.len(),
            1,
            "every attempt answers the same record: {ids:?}"
        );
        assert_eq!(user_count(&app).await, before + 1);
    })
    .await;
}

#[tokio::test]
async fn a_replayed_client_secret_is_stored_encrypted() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let body = json!({"name": "Retrying connector", "scopes": ["kims:read"]});
        let path = "/api/v1/integration-clients";
        let first: Value =
            post_with_key(&app, &admin.session.access_token, "client-1", path, &body)
                .await
                .json()
                .await
                .expect("json");
        let again: Value =
            post_with_key(&app, &admin.session.access_token, "client-1", path, &body)
                .await
                .json()
                .await
                .expect("json");
        assert_eq!(again, first, "the retry gets the secret it missed");
        let secret = first["client_secret"].as_str().expect("secret").to_owned();
        let stored: Vec<String> = app
            .db
            .read(|conn| {
                Ok(idempotency_keys::table
                    .select(idempotency_keys::response)
                    .load(conn)?)
            })
            .await
            .expect("rows");
        assert!(!stored.is_empty());
        assert!(
            stored
                .iter()
                .all(|row| !row.contains(&secret) && row.starts_with("v1:"))
        );
    })
    .await;
}

async fn nik_reads(app: &TestApp) -> i64 {
    use kim_api::db::schema::audit_log;
    app.db
        .read(|conn| {
            Ok(audit_log::table
                .filter(audit_log::action.eq("member.nik_viewed"))
                .count()
                .get_result(conn)?)
        })
        .await
        .expect("count")
}

#[tokio::test]
async fn a_replay_is_authorised_again_and_audited_like_the_first_answer() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let kim = app.create_kim("KIM Ulang").await;
        let other_kim = app.create_kim("KIM Lain").await;
        let board = app.user(&admin, "kim_admin", Some(kim)).await;
        let path = format!("/api/v1/kims/{kim}/members");
        let body = json!({"full_name": "Warga Ulang", "nik": "1872011708900001",
                          "gender": "male", "birth_date": "1990-08-17", "position": "anggota"});
        let token = &board.session.access_token;
        let first = post_with_key(&app, token, "member-retry-1", &path, &body).await;
        assert_eq!(first.status().as_u16(), 201);
        assert_eq!(nik_reads(&app).await, 1);
        let replay = post_with_key(&app, token, "member-retry-1", &path, &body).await;
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
        let replayed: Value = replay.json().await.expect("json");
        assert_eq!(replayed["nik"], "1872011708900001");
        assert_eq!(
            nik_reads(&app).await,
            2,
            "showing the whole NIK again is audited"
        );

        // Moved to another KIM, the same account may no longer see the first answer.
        let moved = app
            .patch_as(
                &format!("/api/v1/users/{}", board.id),
                &admin.session.access_token,
                &json!({"kim_id": other_kim}),
            )
            .await;
        assert_eq!(moved.status().as_u16(), 200);
        let session = app.session(&board.username, USER_PASSWORD).await;
        let refused =
            post_with_key(&app, &session.access_token, "member-retry-1", &path, &body).await;
        problem(refused, 404).await;
        assert_eq!(nik_reads(&app).await, 2);
    })
    .await;
}
