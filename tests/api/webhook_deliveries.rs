//! Webhook delivery from the outbox: signed per Standard Webhooks (checked with its
//! official Python library), retried against a receiver that fails then recovers, in
//! order per aggregate, marked failing when retries run out, redelivered on request,
//! refused at private addresses when connecting, and shared by two instances without
//! sending an event twice.

use std::time::Duration;

use diesel::prelude::*;
use kim_api::db::schema::webhook_subscriptions;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, problem, spawn_app_with, spawn_instance, token};
use crate::python::run_script;
use crate::receiver::{Receiver, Reply};
use crate::report_durability::{seed_one_kim, serve, sign_in};
use crate::reports::{id_of, json_of, move_to, report, submit, town};

/// Subscribes `url` to `events`; answers the subscription's id and secret.
async fn subscribe(app: &TestApp, admin: &str, url: &str, events: &[&str]) -> (i64, String) {
    let created = json_of(
        app.post_as(
            "/api/v1/webhooks",
            admin,
            &json!({"url": url, "events": events}),
        )
        .await,
        201,
    )
    .await;
    (
        created["id"].as_i64().expect("id"),
        created["secret"].as_str().expect("secret").to_owned(),
    )
}

async fn deliveries(app: &TestApp, admin: &str, id: i64) -> Vec<Value> {
    let listed = json_of(
        app.get_as(
            &format!("/api/v1/webhooks/{id}/deliveries?limit=100"),
            admin,
        )
        .await,
        200,
    )
    .await;
    listed["data"].as_array().expect("data").clone()
}

/// Reads the subscription's deliveries until `done` holds of them (they change in the
/// background, with nothing to await), for at most 30 s.
async fn deliveries_once(
    app: &TestApp,
    admin: &str,
    id: i64,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..600 {
        let listed = deliveries(app, admin, id).await;
        if done(&listed) {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the deliveries never reached the expected state");
}

fn statuses_of(attempts: &Value) -> Vec<Value> {
    attempts
        .as_array()
        .expect("attempts")
        .iter()
        .map(|attempt| attempt["response_status"].clone())
        .collect()
}

#[tokio::test]
async fn deliveries_are_signed_so_the_official_library_verifies_them_also_across_a_rotation() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        let mut receiver = Receiver::start(&[], Reply::Status(204));
        let (hook, first_secret) = subscribe(
            &app,
            admin,
            &receiver.url,
            &["report.created", "report.status_changed"],
        )
        .await;

        let report_id = id_of(&submit(&app, token(&t.member_a), &report("anonymous")).await);
        let created = receiver.next().await;
        assert_eq!(created.headers["content-type"], "application/json");
        let body = created.json();
        assert_eq!(body["type"], "report.created");
        assert_eq!(body["data"]["id"], report_id);
        assert_eq!(body["data"]["kim_id"], t.kim_a);
        assert!(
            body["timestamp"]
                .as_str()
                .expect("timestamp")
                .ends_with('Z')
        );
        assert!(
            !created.body.contains("Siti") && !created.body.contains("0812"),
            "no reporter in a delivery: {}",
            created.body
        );
        assert!(created.webhook_id().starts_with("evt_"));

        // Rotated: both secrets sign until the overlap ends.
        let rotated = json_of(
            app.client
                .patch(app.url(&format!("/api/v1/webhooks/{hook}")))
                .bearer_auth(admin)
                .header("If-Match", "\"1\"")
                .json(&json!({"rotate_secret": true}))
                .send()
                .await
                .expect("rotate"),
            200,
        )
        .await;
        let second_secret = rotated["secret"].as_str().expect("new secret").to_owned();
        json_of(
            move_to(
                &app,
                token(&t.officer),
                report_id,
                json!({"status": "verified"}),
            )
            .await,
            200,
        )
        .await;
        let moved = receiver.next().await;
        assert_eq!(moved.json()["type"], "report.status_changed");
        assert_eq!(
            moved.headers["webhook-signature"].split(' ').count(),
            2,
            "signed with both secrets"
        );

        let Some(verified) = run_script(
            "verify_webhook.py",
            &json!({"deliveries": [
                {"body": created.body, "headers": created.headers, "secrets": [&first_secret]},
                {"body": moved.body, "headers": moved.headers,
                 "secrets": [&first_secret, &second_secret]},
            ]}),
        ) else {
            return;
        };
        assert_eq!(verified.trim(), "verified 2");

        let listed = deliveries_once(&app, admin, hook, |listed| {
            listed.len() == 2 && listed.iter().all(|d| d["status"] == "delivered")
        })
        .await;
        assert_eq!(
            listed[0]["event_type"], "report.status_changed",
            "newest first"
        );
        assert_eq!(listed[1]["webhook_id"], created.webhook_id());
        assert_eq!(listed[1]["aggregate_type"], "report");
        assert_eq!(listed[1]["aggregate_id"], report_id.to_string());
        assert_eq!(statuses_of(&listed[1]["attempts"]), [json!(204)]);
        assert_eq!(listed[1]["attempts"][0]["error"], Value::Null);
        assert!(listed[1]["attempts"][0]["latency_ms"].is_i64());
        assert_eq!(listed[1]["next_attempt_at"], Value::Null);
        assert!(listed[1]["finished_at"].is_string());
    })
    .await;
}

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_recovers_and_each_report_stays_in_order() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        let mut receiver = Receiver::start(
            &[Reply::Status(500), Reply::Status(503)],
            Reply::Status(200),
        );
        let (hook, _) = subscribe(
            &app,
            admin,
            &receiver.url,
            &[
                "report.created",
                "report.status_changed",
                "report.commented",
            ],
        )
        .await;
        // Not subscribed: never delivered.
        app.create_kim_at("KIM Tanpa Langganan", "18.72.01.1003", "active")
            .await;

        let first = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        json_of(
            move_to(
                &app,
                token(&t.officer),
                first,
                json!({"status": "verified"}),
            )
            .await,
            200,
        )
        .await;
        json_of(
            app.post_as(
                &format!("/api/v1/reports/{first}/comments"),
                token(&t.officer),
                &json!({"body": "Petugas sudah dijadwalkan.", "visibility": "public"}),
            )
            .await,
            201,
        )
        .await;

        // Three tries of the first event, then the rest in the order they happened:
        // a later event of the report waits while an earlier one is being retried.
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(receiver.next().await);
        }
        let of_first: Vec<(String, String)> = seen
            .iter()
            .filter(|received| received.json()["data"]["id"] == first)
            .map(|received| {
                (
                    received.json()["type"].as_str().expect("type").to_owned(),
                    received.webhook_id().to_owned(),
                )
            })
            .collect();
        let types: Vec<&str> = of_first.iter().map(|(kind, _)| kind.as_str()).collect();
        assert_eq!(
            types,
            [
                "report.created",
                "report.created",
                "report.created",
                "report.status_changed",
                "report.commented"
            ]
        );
        assert_eq!(of_first[0].1, of_first[2].1, "a retry keeps its webhook-id");

        let listed = deliveries_once(&app, admin, hook, |listed| {
            listed.len() == 3 && listed.iter().all(|d| d["status"] == "delivered")
        })
        .await;
        let created = listed
            .iter()
            .find(|d| {
                d["event_type"] == "report.created" && d["aggregate_id"] == json!(first.to_string())
            })
            .expect("the first report's delivery");
        assert_eq!(
            statuses_of(&created["attempts"]),
            [json!(500), json!(503), json!(200)]
        );
        assert_eq!(created["attempts"][0]["error"], "the receiver answered 500");
        let active = json_of(
            app.get_as(&format!("/api/v1/webhooks/{hook}"), admin).await,
            200,
        )
        .await;
        assert_eq!(active["status"], "active");
        assert!(receiver.drain().is_empty(), "nothing sent twice");
    })
    .await;
}

#[tokio::test]
async fn retries_run_out_then_the_subscription_is_failing_until_re_enabled_and_redelivery_resends()
{
    for backend in crate::helpers::backends() {
        let app = spawn_app_with(backend, |config| config.webhook_retry_window_secs = 1).await;
        let t = town(&app).await;
        let admin = token(&t.admin);
        let mut receiver = Receiver::start(&[], Reply::Status(503));
        let (hook, _) = subscribe(&app, admin, &receiver.url, &["report.created"]).await;

        let first = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        let failed = deliveries_once(&app, admin, hook, |listed| {
            listed.first().is_some_and(|d| d["status"] == "failed")
        })
        .await;
        let tries = failed[0]["attempts"].as_array().expect("attempts").len();
        assert!(tries >= 2, "retried before giving up: {tries}");
        assert_eq!(receiver.drain().len(), tries, "every attempt is recorded");
        let failing = json_of(
            app.get_as(&format!("/api/v1/webhooks/{hook}"), admin).await,
            200,
        )
        .await;
        assert_eq!(failing["status"], "failing");
        let audit = json_of(
            app.get_as("/api/v1/audit-log?action=webhook.failing", admin)
                .await,
            200,
        )
        .await;
        assert_eq!(audit["data"][0]["actor_type"], "system");
        assert_eq!(audit["data"][0]["target_id"], hook.to_string());

        // While failing, new events wait: a pending delivery cannot be redelivered.
        let second = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        let waiting = deliveries_once(&app, admin, hook, |listed| listed.len() == 2).await;
        assert_eq!(waiting[0]["status"], "pending");
        assert_eq!(waiting[0]["attempts"], json!([]));
        let pending_id = waiting[0]["id"].as_i64().expect("id");
        let refused = app
            .post_as(
                &format!("/api/v1/webhooks/{hook}/deliveries/{pending_id}/redeliver"),
                admin,
                &json!({}),
            )
            .await;
        assert_eq!(problem(refused, 409).await["code"], "delivery_pending");

        // Re-enabled: the waiting event goes; the failed one goes again on request.
        let mut recovered = Receiver::start(&[], Reply::Status(200));
        let version = failing["version"].as_i64().expect("version");
        json_of(
            app.client
                .patch(app.url(&format!("/api/v1/webhooks/{hook}")))
                .bearer_auth(admin)
                .header("If-Match", format!("\"{version}\""))
                .json(&json!({"status": "active", "url": recovered.url}))
                .send()
                .await
                .expect("re-enable"),
            200,
        )
        .await;
        assert_eq!(recovered.next().await.json()["data"]["id"], second);
        let failed_id = failed[0]["id"].as_i64().expect("id");
        let requeued = json_of(
            app.post_as(
                &format!("/api/v1/webhooks/{hook}/deliveries/{failed_id}/redeliver"),
                admin,
                &json!({}),
            )
            .await,
            202,
        )
        .await;
        assert_eq!(requeued["status"], "pending");
        let again = recovered.next().await;
        assert_eq!(again.json()["data"]["id"], first);
        assert_eq!(again.webhook_id(), failed[0]["webhook_id"]);
        deliveries_once(&app, admin, hook, |listed| {
            listed.iter().all(|d| d["status"] == "delivered")
        })
        .await;

        for (path, status) in [
            (
                format!("/api/v1/webhooks/{hook}/deliveries/999999/redeliver"),
                404,
            ),
            (
                "/api/v1/webhooks/999999/deliveries/1/redeliver".to_owned(),
                404,
            ),
        ] {
            let answer = app.post_as(&path, admin, &json!({})).await;
            problem(answer, status).await;
        }
        let unknown = app
            .get_as("/api/v1/webhooks/999999/deliveries", admin)
            .await;
        problem(unknown, 404).await;
        let bad_filter = app
            .get_as(
                &format!("/api/v1/webhooks/{hook}/deliveries?status=lost"),
                admin,
            )
            .await;
        problem(bad_filter, 400).await;
    }
}

#[tokio::test]
async fn private_addresses_are_refused_when_connecting_not_only_when_subscribing() {
    for backend in crate::helpers::backends() {
        let app = spawn_app_with(backend, |config| {
            config.webhook_allow_private_targets = false;
        })
        .await;
        let t = town(&app).await;
        let admin = token(&t.admin);
        let mut receiver = Receiver::start(&[], Reply::Status(200));
        let port = receiver
            .url
            .split(':')
            .nth(2)
            .and_then(|rest| rest.split('/').next())
            .expect("port")
            .to_owned();
        // Subscribed while the target was public; the name now points at loopback
        // (DNS rebinding), or the target was stored when private targets were allowed.
        let mut hooks = Vec::new();
        for target in [
            format!("https://localhost:{port}/hooks/kim"),
            format!("https://127.0.0.1:{port}/hooks/kim"),
            // IPv6 forms that reach loopback through an embedded IPv4 address.
            format!("https://[::127.0.0.1]:{port}/hooks/kim"),
            format!("https://[64:ff9b::7f00:1]:{port}/hooks/kim"),
            format!("https://[2002:7f00:1::]:{port}/hooks/kim"),
            // Stored while plain http was allowed: not sent in clear text now.
            "http://sipd.metrokota.go.id/hooks/kim".to_owned(),
        ] {
            let (hook, _) = subscribe(
                &app,
                admin,
                "https://sipd.metrokota.go.id/hooks/kim",
                &["report.created"],
            )
            .await;
            app.db
                .write(move |conn| {
                    diesel::update(webhook_subscriptions::table.find(hook))
                        .set(webhook_subscriptions::url.eq(target))
                        .execute(conn)?;
                    Ok(())
                })
                .await
                .expect("repoint the target");
            hooks.push(hook);
        }
        submit(&app, token(&t.member_a), &report("normal")).await;
        for hook in hooks {
            let tried = deliveries_once(&app, admin, hook, |listed| {
                listed
                    .first()
                    .is_some_and(|d| !d["attempts"].as_array().expect("attempts").is_empty())
            })
            .await;
            let attempt = &tried[0]["attempts"][0];
            assert_eq!(attempt["response_status"], Value::Null);
            assert!(
                attempt["error"]
                    .as_str()
                    .is_some_and(|error| error.starts_with("refused: ")),
                "{attempt}"
            );
        }
        assert!(
            receiver.drain().is_empty(),
            "nothing reached the loopback receiver"
        );
    }
}

#[tokio::test]
async fn two_instances_on_one_database_deliver_each_event_once() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        let other = spawn_instance(&app, |_| {}).await;
        let mut receiver = Receiver::start(&[], Reply::Status(200));
        let (hook, _) = subscribe(&app, admin, &receiver.url, &["report.created"]).await;

        const REPORTS: usize = 24;
        let body = report("normal");
        let submissions = (0..REPORTS).map(|n| {
            let instance = if n % 2 == 0 { &app } else { &other };
            submit(instance, token(&t.member_a), &body)
        });
        futures_util::future::join_all(submissions).await;
        let mut ids = std::collections::BTreeSet::new();
        for _ in 0..REPORTS {
            ids.insert(receiver.next().await.webhook_id().to_owned());
        }
        assert_eq!(ids.len(), REPORTS, "each event once");
        let listed = deliveries_once(&app, admin, hook, |listed| {
            listed.len() == REPORTS && listed.iter().all(|d| d["status"] == "delivered")
        })
        .await;
        assert!(
            listed
                .iter()
                .all(|d| d["attempts"].as_array().map(Vec::len) == Some(1)),
            "one attempt each"
        );
        assert!(receiver.drain().is_empty(), "nothing sent twice");
    })
    .await;
}

/// The real binary is killed with SIGKILL while its delivery hangs at the receiver; a
/// new instance on the same database sends the event again once the lease runs out.
#[tokio::test]
async fn an_instance_killed_mid_delivery_loses_nothing() {
    for backend in crate::helpers::backends() {
        let database = crate::helpers::TestDatabase::create(backend);
        let dir = tempfile::TempDir::new().expect("dir");
        let password = seed_one_kim(&dir, &database).await;
        let mut receiver = Receiver::start(&[Reply::Hang], Reply::Status(200));
        let (mut first, base) = serve(&dir, &database).await;
        let client = reqwest::Client::new();
        let admin = sign_in(&base, "demo.admin", &password).await;
        let member = sign_in(&base, "anggota.kim1", &password).await;
        let subscribed = client
            .post(format!("{base}/api/v1/webhooks"))
            .bearer_auth(&admin)
            .json(&json!({"url": receiver.url, "events": ["report.created"]}))
            .send()
            .await
            .expect("subscribe");
        let hook = json_of(subscribed, 201).await["id"].as_i64().expect("id");
        let submitted = client
            .post(format!("{base}/api/v1/reports"))
            .bearer_auth(&member)
            .json(&report("normal"))
            .send()
            .await
            .expect("submit");
        let report_id = id_of(&json_of(submitted, 201).await);

        let hanging = receiver.next().await;
        first.start_kill().expect("SIGKILL");
        first.wait().await.expect("killed");

        let (_second, base) = serve(&dir, &database).await;
        let resent = receiver.next().await;
        assert_eq!(resent.webhook_id(), hanging.webhook_id(), "{backend:?}");
        assert_eq!(resent.json()["data"]["id"], report_id);
        assert_eq!(resent.body, hanging.body);
        let mut delivered = Value::Null;
        for _ in 0..600 {
            let listed: Value = client
                .get(format!("{base}/api/v1/webhooks/{hook}/deliveries"))
                .bearer_auth(&admin)
                .send()
                .await
                .expect("deliveries")
                .json()
                .await
                .expect("json");
            if listed["data"][0]["status"] == "delivered" {
                delivered = listed["data"][0].clone();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The killed instance never recorded its attempt; the one that succeeded is.
        assert_eq!(
            statuses_of(&delivered["attempts"]),
            [json!(200)],
            "{backend:?}"
        );
        assert!(receiver.drain().is_empty());
    }
}

#[tokio::test]
async fn a_secret_that_no_longer_decrypts_fails_its_own_deliveries_only() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        let mut receiver = Receiver::start(&[], Reply::Status(200));
        let (broken, _) = subscribe(&app, admin, &receiver.url, &["report.created"]).await;
        let (working, _) = subscribe(&app, admin, &receiver.url, &["report.created"]).await;
        // As if NIK_ENCRYPTION_KEY had been replaced since the secret was sealed.
        app.db
            .write(move |conn| {
                diesel::update(webhook_subscriptions::table.find(broken))
                    .set(webhook_subscriptions::secret.eq("bm90IGEgc2VhbGVkIHNlY3JldA"))
                    .execute(conn)?;
                Ok(())
            })
            .await
            .expect("corrupt the secret");
        submit(&app, token(&t.member_a), &report("normal")).await;
        let arrived = receiver.next().await;
        assert_eq!(arrived.json()["type"], "report.created");
        deliveries_once(&app, admin, working, |listed| {
            listed.first().is_some_and(|d| d["status"] == "delivered")
        })
        .await;
        let failed = deliveries_once(&app, admin, broken, |listed| {
            listed
                .first()
                .is_some_and(|d| !d["attempts"].as_array().expect("attempts").is_empty())
        })
        .await;
        assert!(
            failed[0]["attempts"][0]["error"]
                .as_str()
                .is_some_and(|error| error.contains("signing secret cannot be read")),
            "{}",
            failed[0]
        );
        assert_eq!(failed[0]["attempts"][0]["response_status"], Value::Null);
    })
    .await;
}

/// A creation with an `Idempotency-Key` (what mobile apps send) wakes the dispatcher
/// on commit like any other write: its event is delivered at once, not at the next
/// poll (1 s). The median of five keyed submissions, each waited for, is far below it.
#[tokio::test]
async fn a_keyed_creation_is_delivered_without_waiting_for_the_poll() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        let mut receiver = Receiver::start(&[], Reply::Status(204));
        subscribe(&app, admin, &receiver.url, &["report.created"]).await;
        let mut latencies = Vec::new();
        for attempt in 0..5 {
            let started = std::time::Instant::now();
            let response = app
                .client
                .post(app.url("/api/v1/reports"))
                .bearer_auth(token(&t.member_a))
                .header("Idempotency-Key", format!("keyed-delivery-{attempt}"))
                .json(&report("normal"))
                .send()
                .await
                .expect("submit");
            assert_eq!(response.status().as_u16(), 201);
            let delivered = receiver.next().await;
            latencies.push(started.elapsed());
            assert_eq!(delivered.json()["type"], "report.created");
        }
        latencies.sort();
        assert!(
            latencies[2] < Duration::from_millis(300),
            "median {:?} of {latencies:?}",
            latencies[2]
        );
    })
    .await;
}

/// Every event type the document offers can be subscribed to, and the events that
/// could not be before (`kim.created`, `kim.updated`, `user.created`,
/// `bulletin.acknowledged`) are delivered like the others.
#[tokio::test]
async fn every_event_type_can_be_subscribed_to_and_is_delivered() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        let document: Value = app
            .get("/api-docs/openapi.json")
            .await
            .json()
            .await
            .expect("doc");
        let offered: Vec<String> = document["components"]["schemas"]["WebhookEvent"]["enum"]
            .as_array()
            .expect("an enum of event types")
            .iter()
            .map(|name| name.as_str().expect("name").to_owned())
            .collect();
        for wanted in [
            "kim.created",
            "kim.updated",
            "user.created",
            "bulletin.acknowledged",
        ] {
            assert!(
                offered.iter().any(|name| name == wanted),
                "{wanted} in {offered:?}"
            );
        }
        for event in &offered {
            subscribe(
                &app,
                admin,
                "https://sipd.metrokota.go.id/hooks/kim",
                &[event],
            )
            .await;
        }
        let mut receiver = Receiver::start(&[], Reply::Status(204));
        subscribe(
            &app,
            admin,
            &receiver.url,
            &[
                "kim.created",
                "kim.updated",
                "user.created",
                "bulletin.acknowledged",
            ],
        )
        .await;
        let kim = id_of(
            &json_of(
                app.post_as(
                    "/api/v1/kims",
                    admin,
                    &json!({"name": "KIM Peristiwa", "kelurahan_code": "18.72.01.1001",
                            "area_type": "urban"}),
                )
                .await,
                201,
            )
            .await,
        );
        // Activation needs members; the lifecycle is tested with the KIMs.
        app.db
            .write(move |conn| {
                diesel::update(kim_api::db::schema::kims::table.find(kim))
                    .set(kim_api::db::schema::kims::status.eq("active"))
                    .execute(conn)?;
                Ok(())
            })
            .await
            .expect("activate");
        json_of(
            app.patch_as(
                &format!("/api/v1/kims/{kim}"),
                admin,
                &json!({"description": "Baru"}),
            )
            .await,
            200,
        )
        .await;
        let board = app.user(&t.admin, "kim_admin", Some(kim)).await;
        let bulletin = json_of(
            app.post_as(
                "/api/v1/bulletins",
                admin,
                &json!({"title": "Kabar", "body": "Isi", "category": "umum",
                        "audience": {"scope": "all_kims"}}),
            )
            .await,
            201,
        )
        .await;
        let bulletin_id = id_of(&bulletin);
        json_of(
            app.post_as(
                &format!("/api/v1/bulletins/{bulletin_id}/publish"),
                admin,
                &json!({}),
            )
            .await,
            200,
        )
        .await;
        json_of(
            app.post_as(
                &format!("/api/v1/bulletins/{bulletin_id}/acknowledgements"),
                &board.session.access_token,
                &json!({"reach": 12}),
            )
            .await,
            201,
        )
        .await;
        let mut types = Vec::new();
        while types.len() < 4 {
            types.push(
                receiver.next().await.json()["type"]
                    .as_str()
                    .expect("type")
                    .to_owned(),
            );
        }
        types.sort();
        assert_eq!(
            types,
            [
                "bulletin.acknowledged",
                "kim.created",
                "kim.updated",
                "user.created"
            ]
        );
    })
    .await;
}
