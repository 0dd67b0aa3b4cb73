//! Web Push (SPEC §11; RFC 8030, 8291, 8292): subscriptions, and messages that the
//! ecosystem's reference libraries decrypt and verify, sent as the account prefers, with
//! retries, and a browser the push service forgot removed.

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestUser, USER_PASSWORD, on_each_backend, problem, session_of, token,
};
use crate::python;
use crate::receiver::{Receiver, Reply};
use crate::reports::{json_of, town};

/// A browser's keys, made by the reference library (`None` without Python).
fn browser_keys() -> Option<Value> {
    let made = python::run_script("web_push.py", &json!({"make_keys": true}))?;
    Some(serde_json::from_str(&made).expect("keys"))
}

async fn subscribe(
    app: &TestApp,
    user: &TestUser,
    endpoint: &str,
    keys: &Value,
) -> reqwest::Response {
    let body = json!({
        "endpoint": endpoint,
        "expirationTime": null,
        "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]},
    });
    app.post_as("/api/v1/push/subscriptions", token(user), &body)
        .await
}

/// Opens a received push with the browser's private key; the plaintext and the VAPID
/// token's claims and key.
fn open(received: &crate::receiver::Received, keys: &Value) -> Value {
    let request = json!({
        "body": base64::engine::general_purpose::STANDARD.encode(&received.raw),
        "authorization": received.headers["authorization"],
        "private_key": keys["private_key"],
        "auth": keys["auth"],
    });
    let opened = python::run_script("web_push.py", &request).expect("python runs");
    serde_json::from_str(&opened).expect("opened")
}

async fn publish_urgent(app: &TestApp, admin: &TestUser, title: &str) -> i64 {
    let bulletin = json!({"title": title, "body": "Hindari Jl. Sudirman.", "category": "bencana",
                          "priority": "urgent", "audience": {"scope": "kecamatan", "codes": ["18.72.01"]}});
    let draft = json_of(
        app.post_as("/api/v1/bulletins", token(admin), &bulletin)
            .await,
        201,
    )
    .await;
    let id = draft["id"].as_i64().expect("id");
    let published = app
        .post_as(
            &format!("/api/v1/bulletins/{id}/publish"),
            token(admin),
            &json!({}),
        )
        .await;
    assert_eq!(published.status().as_u16(), 200);
    id
}

async fn subscriptions(app: &TestApp, user: &TestUser) -> Vec<Value> {
    json_of(
        app.get_as("/api/v1/push/subscriptions", token(user)).await,
        200,
    )
    .await
    .as_array()
    .cloned()
    .expect("list")
}

#[tokio::test]
async fn a_push_is_encrypted_for_the_browser_and_signed_for_its_service() {
    on_each_backend(async |app| {
        let Some(keys) = browser_keys() else { return };
        let t = town(&app).await;
        let vapid = json_of(app.get("/api/v1/push/vapid-public-key").await, 200).await;
        let vapid_key = vapid["public_key"].as_str().expect("key").to_owned();
        // The member signs in asking for English: pushes are written in it from then on.
        let english = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .header("Accept-Language", "en")
            .form(&[
                ("grant_type", "password"),
                ("username", t.member_a.username.as_str()),
                ("password", USER_PASSWORD),
            ])
            .send()
            .await
            .expect("sign-in");
        let member = TestUser {
            session: session_of(english).await,
            ..t.member_a.clone()
        };
        let mut push_service = Receiver::start(&[], Reply::Status(201));
        let subscribed = json_of(
            subscribe(&app, &member, &push_service.url, &keys).await,
            201,
        )
        .await;
        assert_eq!(subscribed["endpoint"], push_service.url.as_str());

        let bulletin = publish_urgent(&app, &t.admin, "Banjir di Metro Pusat").await;
        let received = push_service.next().await;
        assert_eq!(received.headers["content-encoding"], "aes128gcm");
        assert_eq!(received.headers["urgency"], "high");
        assert_eq!(received.headers["ttl"], "86400");
        let opened = open(&received, &keys);
        assert_eq!(opened["k"], vapid_key.as_str());
        let origin = push_service.url.trim_end_matches("/hooks/kim");
        assert_eq!(opened["claims"]["aud"], origin);
        assert_eq!(opened["claims"]["sub"], "mailto:ops@kim.example.id");
        let expires_in =
            opened["claims"]["exp"].as_i64().expect("exp") - chrono::Utc::now().timestamp();
        assert!((0..=86_400).contains(&expires_in), "{expires_in}");
        let message: Value =
            serde_json::from_str(opened["plaintext"].as_str().expect("text")).expect("json");
        assert_eq!(message["type"], "bulletin_published");
        assert_eq!(message["title"], "Urgent bulletin");
        assert_eq!(message["body"], "Banjir di Metro Pusat");
        assert_eq!(message["urgent"], true);
        assert_eq!(
            message["target"],
            json!({"type": "bulletin", "id": bulletin})
        );
        // The same notification is in the inbox, under the same id.
        let inbox = json_of(
            app.get_as("/api/v1/notifications", token(&member)).await,
            200,
        )
        .await;
        assert_eq!(inbox["data"][0]["id"], message["id"]);
        assert_eq!(inbox["data"][0]["title"], "Urgent bulletin");
        // Each subscribed browser of the audience gets it once; nobody else's.
        assert!(push_service.drain().is_empty());
    })
    .await;
}

#[tokio::test]
async fn push_follows_preferences_and_retries_a_busy_push_service() {
    on_each_backend(async |app| {
        let Some(keys) = browser_keys() else { return };
        let t = town(&app).await;
        let off = json!({"preferences": [{"type": "bulletin_published", "inbox": true, "stream": true, "push": false}]});
        let changed = app
            .client
            .put(app.url("/api/v1/notifications/preferences"))
            .bearer_auth(token(&t.board_a))
            .json(&off)
            .send()
            .await
            .expect("preferences");
        assert_eq!(changed.status().as_u16(), 200);
        let mut push_service = Receiver::start(&[Reply::Status(503)], Reply::Status(201));
        json_of(subscribe(&app, &t.board_a, &push_service.url, &keys).await, 201).await;

        publish_urgent(&app, &t.admin, "Tidak didorong").await;
        app.outbox_settled().await;
        let on = json!({"preferences": [{"type": "bulletin_published", "inbox": true, "stream": true, "push": true}]});
        let changed = app
            .client
            .put(app.url("/api/v1/notifications/preferences"))
            .bearer_auth(token(&t.board_a))
            .json(&on)
            .send()
            .await
            .expect("preferences");
        assert_eq!(changed.status().as_u16(), 200);
        publish_urgent(&app, &t.admin, "Didorong").await;

        // The first push meets a busy service (503); the next attempt waits half a minute.
        let first = push_service.next().await;
        assert_eq!(open(&first, &keys)["plaintext"].as_str().map(|text| text.contains("Didorong")), Some(true));
        // The test may see the request before the service has settled the attempt (and
        // set the next one from the clock it reads then): move on until it comes.
        let mut second = None;
        for _ in 0..10 {
            app.advance_clock(chrono::Duration::seconds(31));
            if let Ok(received) = tokio::time::timeout(std::time::Duration::from_secs(3), push_service.next()).await {
                second = Some(received);
                break;
            }
        }
        let second = second.expect("the push was retried");
        let message: Value = serde_json::from_str(open(&second, &keys)["plaintext"].as_str().expect("text")).expect("json");
        // Indonesian: the account never named a language.
        assert_eq!(message["title"], "Buletin mendesak");
        assert_eq!(message["body"], "Didorong");
    })
    .await;
}

#[tokio::test]
async fn a_browser_the_push_service_forgot_is_removed() {
    on_each_backend(async |app| {
        let Some(keys) = browser_keys() else { return };
        let t = town(&app).await;
        let mut push_service = Receiver::start(&[], Reply::Status(410));
        json_of(
            subscribe(&app, &t.member_b, &push_service.url, &keys).await,
            201,
        )
        .await;
        assert_eq!(subscriptions(&app, &t.member_b).await.len(), 1);
        publish_urgent(&app, &t.admin, "Jalan ditutup").await;
        push_service.next().await;
        let mut left = subscriptions(&app, &t.member_b).await;
        for _ in 0..500 {
            if left.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            left = subscriptions(&app, &t.member_b).await;
        }
        assert!(left.is_empty(), "{left:?}");
    })
    .await;
}

#[tokio::test]
async fn subscriptions_are_checked_owned_and_renewed() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let keys = json!({
            "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
            "auth": "tBHItJI5svbpez7KI4CCXg",
        });
        let endpoint = "https://push.example.org/send/abc";
        let first = json_of(subscribe(&app, &t.member_a, endpoint, &keys).await, 201).await;
        // The same browser again renews its keys, under the same id.
        let again = json_of(subscribe(&app, &t.member_a, endpoint, &keys).await, 200).await;
        assert_eq!(again["id"], first["id"]);
        // Another account signing in on that browser takes the endpoint over.
        let moved = json_of(subscribe(&app, &t.member_b, endpoint, &keys).await, 201).await;
        assert!(subscriptions(&app, &t.member_a).await.is_empty());
        assert_eq!(subscriptions(&app, &t.member_b).await.len(), 1);
        // Nobody removes another account's subscription.
        let path = format!("/api/v1/push/subscriptions/{}", moved["id"]);
        let foreign = app.client.delete(app.url(&path)).bearer_auth(token(&t.member_a)).send().await.expect("delete");
        problem(foreign, 404).await;
        let own = app.client.delete(app.url(&path)).bearer_auth(token(&t.member_b)).send().await.expect("delete");
        assert_eq!(own.status().as_u16(), 204);
        assert!(subscriptions(&app, &t.member_b).await.is_empty());

        for (body, status, field) in [
            (json!({"endpoint": "ftp://push.example.org/x", "keys": keys}), 422, "endpoint"),
            (json!({"endpoint": "https://push.example.org/x", "keys": {"p256dh": "AAAA", "auth": keys["auth"]}}), 422, "keys.p256dh"),
            (json!({"endpoint": "https://push.example.org/x", "keys": {"p256dh": keys["p256dh"], "auth": "c2hvcnQ"}}), 422, "keys.auth"),
            (json!({"endpoint": "https://push.example.org/x", "keys": keys, "extra": 1}), 400, ""),
            (json!({"endpoint": "https://push.example.org/x"}), 400, ""),
        ] {
            let refused = problem(app.post_as("/api/v1/push/subscriptions", token(&t.member_a), &body).await, status).await;
            if !field.is_empty() {
                assert_eq!(refused["errors"][0]["field"], field, "{refused}");
            }
        }
        // An integration client has no browser.
        let (client_id, secret, _) = app.integration_client(&t.admin, &["reports:read"]).await;
        let client = app.client_token(&client_id, &secret).await;
        let body = json!({"endpoint": endpoint, "keys": keys});
        problem(app.post_as("/api/v1/push/subscriptions", &client, &body).await, 403).await;
        problem(
            app.client.post(app.url("/api/v1/push/subscriptions")).json(&body).send().await.expect("post"),
            401,
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn an_account_keeps_at_most_twenty_browsers() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let keys = json!({
            "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
            "auth": "tBHItJI5svbpez7KI4CCXg",
        });
        // Released together: the cap is counted under the account's lock.
        let attempts = (0..24).map(|n| {
            let app = &app;
            let keys = &keys;
            let member = &t.member_c;
            async move { subscribe(app, member, &format!("https://push.example.org/send/{n}"), keys).await.status().as_u16() }
        });
        let statuses = futures_util::future::join_all(attempts).await;
        assert_eq!(statuses.iter().filter(|&&status| status == 201).count(), 20, "{statuses:?}");
        assert!(statuses.iter().all(|&status| status == 201 || status == 422), "{statuses:?}");
        assert_eq!(subscriptions(&app, &t.member_c).await.len(), 20);
    })
    .await;
}
