//! Webhook subscriptions: gov_admin subscribes a target to events, reads it without its
//! secret, rotates the secret (the old one overlaps), disables and deletes it; targets
//! on private addresses and plain http are refused unless allowed.

use base64::Engine;
use diesel::prelude::*;
use kim_api::db::schema::webhook_subscriptions;
use serde_json::{Value, json};

use crate::helpers::{backends, on_each_backend, problem, spawn_app_with, token};
use crate::reports::{json_of, town};

const TARGET: &str = "https://sipd.metrokota.go.id/hooks/kim";

fn secret_of(answer: &Value) -> String {
    let secret = answer["secret"].as_str().expect("a secret").to_owned();
    let key = secret.strip_prefix("whsec_").expect("whsec_ prefix");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key)
        .expect("base64");
    assert_eq!(bytes.len(), 24);
    secret
}

#[tokio::test]
async fn gov_admin_subscribes_rotates_disables_and_ends_a_webhook() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        let created = app
            .post_as(
                "/api/v1/webhooks",
                admin,
                &json!({"url": TARGET, "events": ["member.*", "report.created", "report.created"],
                        "description": "SIPD Kota Metro"}),
            )
            .await;
        let location = created.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        let created = json_of(created, 201).await;
        let id = created["id"].as_i64().expect("id");
        assert_eq!(location, format!("/api/v1/webhooks/{id}"));
        assert_eq!(created["events"], json!(["report.created", "member.*"]));
        assert_eq!(created["status"], "active");
        let first_secret = secret_of(&created);

        let stored: String = app
            .db
            .read(move |conn| {
                Ok(webhook_subscriptions::table
                    .find(id)
                    .select(webhook_subscriptions::secret)
                    .first(conn)?)
            })
            .await
            .expect("stored secret");
        assert!(!stored.contains(&first_secret[6..]), "encrypted at rest");

        let read = app.get_as(&format!("/api/v1/webhooks/{id}"), admin).await;
        assert_eq!(read.headers()["etag"], "\"1\"");
        let read = json_of(read, 200).await;
        assert!(read.get("secret").is_none(), "never shown again: {read}");
        assert_eq!(read["url"], TARGET);
        let listed = json_of(
            app.get_as("/api/v1/webhooks?status=active", admin).await,
            200,
        )
        .await;
        assert_eq!(listed["data"][0]["id"], id);
        assert!(listed["data"][0].get("secret").is_none());

        let rotated = app
            .client
            .patch(app.url(&format!("/api/v1/webhooks/{id}")))
            .bearer_auth(admin)
            .header("If-Match", "\"1\"")
            .json(&json!({"rotate_secret": true}))
            .send()
            .await
            .expect("send");
        let rotated = json_of(rotated, 200).await;
        assert_ne!(secret_of(&rotated), first_secret);
        let overlap_ends = rotated["previous_secret_expires_at"]
            .as_str()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .expect("the old secret overlaps");
        let hours = (overlap_ends.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
        assert!((23 * 60..=24 * 60).contains(&hours), "{hours} minutes");
        let stale = app
            .client
            .patch(app.url(&format!("/api/v1/webhooks/{id}")))
            .bearer_auth(admin)
            .header("If-Match", "\"1\"")
            .json(&json!({"description": "Lama"}))
            .send()
            .await
            .expect("send");
        problem(stale, 412).await;

        let disabled = json_of(
            app.patch_as(
                &format!("/api/v1/webhooks/{id}"),
                admin,
                &json!({"status": "disabled", "events": ["bulletin.published"]}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(disabled["status"], "disabled");
        assert_eq!(disabled["events"], json!(["bulletin.published"]));
        assert!(disabled.get("secret").is_none());
        for (body, status, field) in [
            (json!({"status": "failing"}), 422, "status"),
            (json!({"events": []}), 422, "events"),
            (json!({"events": ["report.deleted"]}), 400, "events[0]"),
            (json!({"description": "x".repeat(501)}), 422, "description"),
            (json!({"secret": "whsec_AAAA"}), 400, "secret"),
        ] {
            let answer = problem(
                app.patch_as(&format!("/api/v1/webhooks/{id}"), admin, &body)
                    .await,
                status,
            )
            .await;
            assert_eq!(answer["errors"][0]["field"], field, "{body}");
        }

        for who in [token(&t.officer), token(&t.board_a), t.writer.as_str()] {
            problem(
                app.get_as(&format!("/api/v1/webhooks/{id}"), who).await,
                403,
            )
            .await;
            problem(
                app.post_as(
                    "/api/v1/webhooks",
                    who,
                    &json!({"url": TARGET, "events": ["report.created"]}),
                )
                .await,
                403,
            )
            .await;
        }

        let deleted = app
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/webhooks/{id}"),
                Some(admin),
                None,
            )
            .await;
        assert_eq!(deleted.status().as_u16(), 204);
        problem(
            app.get_as(&format!("/api/v1/webhooks/{id}"), admin).await,
            404,
        )
        .await;
        let again = app
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/webhooks/{id}"),
                Some(admin),
                None,
            )
            .await;
        problem(again, 404).await;

        let audited = json_of(
            app.get_as(
                &format!("/api/v1/audit-log?target_type=webhook&target_id={id}"),
                admin,
            )
            .await,
            200,
        )
        .await;
        let actions: Vec<&str> = audited["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|record| record["action"].as_str())
            .collect();
        assert_eq!(
            actions,
            [
                "webhook.deleted",
                "webhook.updated",
                "webhook.updated",
                "webhook.created"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn private_and_plain_http_targets_are_refused_unless_allowed() {
    for backend in backends() {
        let app = spawn_app_with(backend, |config| {
            config.webhook_allow_private_targets = false
        })
        .await;
        let admin = app.bootstrap_admin().await;
        let admin = admin.session.access_token.as_str();
        for (url, code) in [
            ("https://127.0.0.1/hook", "private_target"),
            ("https://[::1]:8443/hook", "private_target"),
            ("https://10.20.30.40/hook", "private_target"),
            ("https://169.254.169.254/latest/meta-data", "private_target"),
            // IPv6 forms embedding a private IPv4 address: compatible, NAT64 (the second
            // is the cloud metadata address), 6to4, mapped and Teredo.
            ("https://[::127.0.0.1]/hook", "private_target"),
            ("https://[64:ff9b::7f00:1]/hook", "private_target"),
            (
                "https://[64:ff9b::a9fe:a9fe]/latest/meta-data",
                "private_target",
            ),
            ("https://[2002:7f00:1::]/hook", "private_target"),
            ("https://[::ffff:10.0.0.1]/hook", "private_target"),
            ("https://[2001:0:808:808::80ff:fffe]/hook", "private_target"),
            ("https://localhost/hook", "private_target"),
            ("http://sipd.metrokota.go.id/hook", "insecure_url"),
            (
                "https://petugas:rahasia@sipd.metrokota.go.id/hook",
                "credentials_in_url",
            ),
            ("sipd.metrokota.go.id/hook", "invalid_url"),
        ] {
            let answer = problem(
                app.post_as(
                    "/api/v1/webhooks",
                    admin,
                    &json!({"url": url, "events": ["report.created"]}),
                )
                .await,
                422,
            )
            .await;
            assert_eq!(answer["errors"][0]["code"], code, "{url} on {backend:?}");
        }
        let created = json_of(
            app.post_as(
                "/api/v1/webhooks",
                admin,
                &json!({"url": TARGET, "events": ["report.created"]}),
            )
            .await,
            201,
        )
        .await;
        let moved = problem(
            app.patch_as(
                &format!("/api/v1/webhooks/{}", created["id"]),
                admin,
                &json!({"url": "https://192.168.1.10/hook"}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(moved["errors"][0]["code"], "private_target");
        let listed = json_of(app.get_as("/api/v1/webhooks", admin).await, 200).await;
        assert_eq!(
            listed["data"].as_array().map(Vec::len),
            Some(1),
            "nothing else was stored"
        );
        assert_eq!(listed["data"][0]["url"], TARGET);
    }
    // Development and tests allow a receiver on this machine.
    for backend in backends() {
        let app = spawn_app_with(backend, |config| {
            config.webhook_allow_private_targets = true
        })
        .await;
        let admin = app.bootstrap_admin().await;
        json_of(
            app.post_as(
                "/api/v1/webhooks",
                &admin.session.access_token,
                &json!({"url": "http://127.0.0.1:9/hook", "events": ["report.created"]}),
            )
            .await,
            201,
        )
        .await;
    }
}
