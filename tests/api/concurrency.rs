//! Rules that are read and then written, raced by simultaneous requests — against one
//! server and against two servers on one database. SQLite's single writer serialises
//! these anyway; PostgreSQL's READ COMMITTED is where they would break.

use diesel::prelude::*;
use futures_util::future::join_all;
use kim_api::db::schema::{kim_members, kim_status_changes, kims, outbox_events, users};
use serde_json::json;

use crate::helpers::{TestApp, TestUser, USER_PASSWORD, on_each_backend, spawn_instance};

async fn active_gov_admins(app: &TestApp) -> i64 {
    app.db
        .read(|conn| {
            Ok(users::table
                .filter(users::role.eq("gov_admin"))
                .filter(users::disabled.eq(false))
                .count()
                .get_result(conn)?)
        })
        .await
        .expect("count admins")
}

/// Two gov_admins, the only two, disable each other at the same moment, several times
/// over: one wins, the other is told it would leave no administrator.
async fn mutual_disable_rounds(first: &TestApp, second: &TestApp) {
    let mut survivor = first.bootstrap_admin().await;
    for round in 0..6 {
        let rival = first.user(&survivor, "gov_admin", None).await;
        let (rival_path, survivor_path) = (
            format!("/api/v1/users/{}", rival.id),
            format!("/api/v1/users/{}", survivor.id),
        );
        let disable = json!({"disabled": true});
        let (a, b) = tokio::join!(
            first.patch_as(&rival_path, &survivor.session.access_token, &disable),
            second.patch_as(&survivor_path, &rival.session.access_token, &disable),
        );
        let statuses = [a.status().as_u16(), b.status().as_u16()];
        assert_eq!(
            statuses.iter().filter(|status| **status == 200).count(),
            1,
            "round {round}: exactly one disable succeeds, got {statuses:?}"
        );
        assert_eq!(active_gov_admins(first).await, 1, "round {round}");
        if statuses[1] == 200 {
            survivor = TestUser {
                session: first.session(&rival.username, USER_PASSWORD).await,
                ..rival
            };
        }
    }
}

#[tokio::test]
async fn mutually_disabling_admins_leave_one_on_one_server() {
    on_each_backend(async |app| mutual_disable_rounds(&app, &app).await).await;
}

#[tokio::test]
async fn mutually_disabling_admins_leave_one_across_two_servers() {
    on_each_backend(async |app| {
        let other = spawn_instance(&app, |_| {}).await;
        mutual_disable_rounds(&app, &other).await;
    })
    .await;
}

fn member_body(serial: u32, position: &str) -> serde_json::Value {
    json!({
        "full_name": format!("Warga {serial}"), "nik": format!("1872011708900{serial:03}"),
        "gender": "male", "birth_date": "1990-08-17", "position": position,
    })
}

#[tokio::test]
async fn simultaneous_deletes_of_one_member_count_once() {
    on_each_backend(async |app| {
        let other = spawn_instance(&app, |_| {}).await;
        let admin = app.bootstrap_admin().await;
        let kim = app.create_kim("KIM Balapan").await;
        let mut members = Vec::new();
        for serial in 1..=4 {
            let response = app
                .post_as(
                    &format!("/api/v1/kims/{kim}/members"),
                    &admin.session.access_token,
                    &member_body(serial, if serial == 1 { "ketua" } else { "anggota" }),
                )
                .await;
            assert_eq!(response.status().as_u16(), 201);
            let created: serde_json::Value = response.json().await.expect("json");
            members.push(created["id"].as_i64().expect("id"));
        }
        let leaving = members[3];
        let path = format!("/api/v1/kims/{kim}/members/{leaving}");
        let deletes = (0..12).map(|i| {
            let server = if i % 2 == 0 { &app } else { &other };
            server.send(
                reqwest::Method::DELETE,
                &path,
                Some(&admin.session.access_token),
                None,
            )
        });
        for response in join_all(deletes).await {
            assert_eq!(response.status().as_u16(), 204);
        }
        let (count, active): (i32, i64) = app
            .db
            .read(move |conn| {
                let count = kims::table
                    .find(kim)
                    .select(kims::active_member_count)
                    .first(conn)?;
                let active = kim_members::table
                    .filter(kim_members::kim_id.eq(kim))
                    .filter(kim_members::status.eq("active"))
                    .count()
                    .get_result(conn)?;
                Ok((count, active))
            })
            .await
            .expect("counts");
        assert_eq!((count, active), (3, 3), "one departure, counted once");
        let left_events: i64 = app
            .db
            .read(|conn| {
                Ok(outbox_events::table
                    .filter(outbox_events::event_type.eq("member.left"))
                    .count()
                    .get_result(conn)?)
            })
            .await
            .expect("events");
        assert_eq!(left_events, 1, "one member.left event in the outbox");
    })
    .await;
}

#[tokio::test]
async fn simultaneous_status_changes_of_one_kim_serialise() {
    on_each_backend(async |app| {
        let other = spawn_instance(&app, |_| {}).await;
        let admin = app.bootstrap_admin().await;
        let kim = app.create_kim("KIM Bubar").await;
        let path = format!("/api/v1/kims/{kim}/status");
        let body = json!({"status": "dissolved", "reason": "Tidak aktif lagi"});
        let moves = (0..10).map(|i| {
            let server = if i % 2 == 0 { &app } else { &other };
            server.post_as(&path, &admin.session.access_token, &body)
        });
        let mut statuses: Vec<u16> = join_all(moves)
            .await
            .iter()
            .map(|response| response.status().as_u16())
            .collect();
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 409, 409, 409, 409, 409, 409, 409, 409, 409],
            "one move wins; the others see a dissolved KIM, not a stale version"
        );
        let (history, events): (i64, i64) = app
            .db
            .read(move |conn| {
                let history = kim_status_changes::table
                    .filter(kim_status_changes::kim_id.eq(kim))
                    .filter(kim_status_changes::to_status.eq("dissolved"))
                    .count()
                    .get_result(conn)?;
                let events = outbox_events::table
                    .filter(outbox_events::event_type.eq("kim.status_changed"))
                    .count()
                    .get_result(conn)?;
                Ok((history, events))
            })
            .await
            .expect("history");
        assert_eq!((history, events), (1, 1));
    })
    .await;
}

/// Accounts created while the KIM is being dissolved: each creation is decided under the
/// KIM's lock, so none commits after the dissolution (its outbox event would come later).
#[tokio::test]
async fn no_account_joins_a_kim_after_its_dissolution() {
    on_each_backend(async |app| {
        let other = spawn_instance(&app, |_| {}).await;
        let admin = app.bootstrap_admin().await;
        let kim = app.create_kim("KIM Akhir").await;
        let token = admin.session.access_token.clone();
        let creations = (0..10).map(|i| {
            let server = if i % 2 == 0 { &app } else { &other };
            let body = json!({"username": format!("anggota-akhir-{i}"),
                              "password": USER_PASSWORD, "role": "kim_member", "kim_id": kim});
            let token = token.clone();
            async move { server.post_as("/api/v1/users", &token, &body).await }
        });
        let (status_path, dissolution_body) = (
            format!("/api/v1/kims/{kim}/status"),
            json!({"status": "dissolved", "reason": "Bubar"}),
        );
        let dissolve = app.post_as(&status_path, &token, &dissolution_body);
        let (created, dissolved) = tokio::join!(join_all(creations), dissolve);
        assert_eq!(dissolved.status().as_u16(), 200);
        for response in created {
            let status = response.status().as_u16();
            assert!(status == 201 || status == 409, "got {status}");
        }
        let events: Vec<(i64, String, String)> = app
            .db
            .read(|conn| {
                Ok(outbox_events::table
                    .filter(
                        outbox_events::event_type
                            .eq("user.created")
                            .or(outbox_events::event_type.eq("kim.status_changed")),
                    )
                    .select((
                        outbox_events::id,
                        outbox_events::event_type,
                        outbox_events::payload,
                    ))
                    .load(conn)?)
            })
            .await
            .expect("events");
        let dissolution = events
            .iter()
            .find(|(_, kind, _)| kind == "kim.status_changed")
            .map(|(id, _, _)| *id)
            .expect("a dissolution event");
        let member_of_kim = format!("\"kim_id\":{kim}");
        for (id, kind, payload) in &events {
            if kind == "user.created" && payload.contains(&member_of_kim) {
                assert!(*id < dissolution, "an account joined after the dissolution");
            }
        }
    })
    .await;
}

/// The rule for a dissolved KIM's users holds under simultaneous requests through two
/// instances: every comment and report either lands before the dissolution (its event
/// comes first) or is refused with `409 kim_dissolved`; none slips in after it.
#[tokio::test]
async fn no_kim_user_writes_after_its_kims_dissolution() {
    on_each_backend(async |app| {
        let other = spawn_instance(&app, |_| {}).await;
        let admin = app.bootstrap_admin().await;
        let kim = app
            .create_kim_at("KIM Pamit", "18.72.01.1001", "active")
            .await;
        let member = app.user(&admin, "kim_member", Some(kim)).await;
        let report_body = json!({"kind": "complaint", "category_code": "infrastruktur",
            "title": "Jalan berlubang", "description": "Di depan pasar.",
            "kelurahan_code": "18.72.01.1001"});
        let first = app
            .post_as(
                "/api/v1/reports",
                &member.session.access_token,
                &report_body,
            )
            .await;
        assert_eq!(first.status().as_u16(), 201);
        let report: serde_json::Value = first.json().await.expect("json");
        let comments_path = format!("/api/v1/reports/{}/comments", report["id"]);
        let writes = (0..12).map(|i| {
            let server = if i % 2 == 0 { &app } else { &other };
            let token = member.session.access_token.clone();
            let (path, body) = if i % 3 == 0 {
                ("/api/v1/reports".to_owned(), report_body.clone())
            } else {
                (
                    comments_path.clone(),
                    json!({"body": format!("Kabar {i}"), "visibility": "public"}),
                )
            };
            async move { server.post_as(&path, &token, &body).await }
        });
        let (status_path, dissolution_body) = (
            format!("/api/v1/kims/{kim}/status"),
            json!({"status": "dissolved", "reason": "Bubar"}),
        );
        let dissolve = app.post_as(&status_path, &admin.session.access_token, &dissolution_body);
        let (written, dissolved) = tokio::join!(join_all(writes), dissolve);
        assert_eq!(dissolved.status().as_u16(), 200);
        for response in written {
            let status = response.status().as_u16();
            if status != 201 {
                let refused: serde_json::Value = response.json().await.expect("problem");
                assert_eq!(
                    (status, refused["code"].as_str()),
                    (409, Some("kim_dissolved"))
                );
            }
        }
        let events: Vec<(i64, String)> = app
            .db
            .read(|conn| {
                Ok(outbox_events::table
                    .filter(outbox_events::event_type.eq_any([
                        "report.created",
                        "report.commented",
                        "kim.status_changed",
                    ]))
                    .select((outbox_events::id, outbox_events::event_type))
                    .load(conn)?)
            })
            .await
            .expect("events");
        let dissolution = events
            .iter()
            .find(|(_, kind)| kind == "kim.status_changed")
            .map(|(id, _)| *id)
            .expect("a dissolution event");
        for (id, kind) in &events {
            if kind != "kim.status_changed" {
                assert!(*id < dissolution, "a {kind} landed after the dissolution");
            }
        }
    })
    .await;
}

/// A write that loses a deadlock is run again rather than answered with an error.
/// Moving an account to another KIM locks the account, then the KIM; a session elsewhere
/// that holds the KIM and then asks for the account closes the cycle. PostgreSQL aborts
/// the request's transaction (it checks first); the unit of work retries it once
/// the other session is done, and the client sees only its `200`.
#[tokio::test]
async fn a_write_that_loses_a_deadlock_is_retried() {
    use diesel::connection::SimpleConnection;
    if !crate::helpers::backends().contains(&crate::helpers::Backend::Postgres) {
        return;
    }
    let app = crate::helpers::spawn_app_for_deadlocks().await;
    let admin = app.bootstrap_admin().await;
    let from = app.create_kim("KIM Asal").await;
    let to = app.create_kim("KIM Tujuan").await;
    let member = app.user(&admin, "kim_member", Some(from)).await;
    let url = app.database.url();
    let mut holder = crate::helpers::deadlock_holder(&url);
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM kims WHERE id = {to} FOR UPDATE;"
        ))
        .expect("hold the KIM");
    let moving = {
        let (client, address, token) = (
            app.client.clone(),
            app.url(&format!("/api/v1/users/{}", member.id)),
            admin.session.access_token.clone(),
        );
        tokio::spawn(async move {
            client
                .patch(address)
                .bearer_auth(token)
                .json(&json!({"kim_id": to}))
                .send()
                .await
                .expect("patch")
                .status()
                .as_u16()
        })
    };
    crate::helpers::wait_for_lock_waiter(&url).await;
    let member_id = member.id;
    let holder = tokio::task::spawn_blocking(move || {
        // Waits for the account the request holds: a deadlock, decided after
        // the app's deadlock_timeout against the request.
        holder
            .batch_execute(&format!(
                "SELECT id FROM users WHERE id = {member_id} FOR UPDATE;"
            ))
            .expect("the holder is not the one aborted");
        holder.batch_execute("COMMIT").expect("release");
    });
    holder.await.expect("holder");
    assert_eq!(moving.await.expect("task"), 200);
    let kim_now = app
        .db
        .read(move |conn| {
            Ok(users::table
                .find(member_id)
                .select(users::kim_id)
                .first::<Option<i64>>(conn)?)
        })
        .await
        .expect("read");
    assert_eq!(kim_now, Some(to));
}

/// A keyed creation (`Idempotency-Key`) that loses a deadlock is retried like any other
/// write, not answered 503. The submission claims its key, then locks its KIM; a session
/// holding the KIM that then claims the same key closes the cycle. PostgreSQL aborts the
/// request's transaction; the holder rolls back, and the retry answers 201 once.
#[tokio::test]
async fn a_keyed_creation_that_loses_a_deadlock_is_retried() {
    use diesel::connection::SimpleConnection;
    if !crate::helpers::backends().contains(&crate::helpers::Backend::Postgres) {
        return;
    }
    let app = crate::helpers::spawn_app_for_deadlocks().await;
    let admin = app.bootstrap_admin().await;
    let kim = app
        .create_kim_at("KIM Kunci", "18.72.01.1001", "active")
        .await;
    let member = app.user(&admin, "kim_member", Some(kim)).await;
    let url = app.database.url();
    let mut holder = crate::helpers::deadlock_holder(&url);
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM kims WHERE id = {kim} FOR UPDATE;"
        ))
        .expect("hold the KIM");
    let body = json!({"kind": "complaint", "category_code": "infrastruktur",
        "title": "Jalan berlubang", "description": "Di depan pasar.",
        "kelurahan_code": "18.72.01.1001"});
    let submit = |body: serde_json::Value| {
        let (client, address, token) = (
            app.client.clone(),
            app.url("/api/v1/reports"),
            member.session.access_token.clone(),
        );
        async move {
            let response = client
                .post(address)
                .bearer_auth(token)
                .header("Idempotency-Key", "deadlock-1")
                .json(&body)
                .send()
                .await
                .expect("post");
            let status = response.status().as_u16();
            let replayed = response.headers().contains_key("idempotent-replayed");
            let created: serde_json::Value = response.json().await.expect("json");
            (status, replayed, created["id"].clone())
        }
    };
    let first = tokio::spawn(submit(body.clone()));
    crate::helpers::wait_for_lock_waiter(&url).await;
    let owner = format!("user:{}", member.id);
    let holder = tokio::task::spawn_blocking(move || {
        // Waits for the key the request claimed: a deadlock, decided after
        // the app's deadlock_timeout against the request (the holder never checks).
        holder
            .batch_execute(&format!(
                "INSERT INTO idempotency_keys (owner, idempotency_key, request_hash, \
                 status_code, response, created_at, expires_at) VALUES ('{owner}', \
                 'deadlock-1', 'holder', 0, '', now(), now() + interval '1 day');"
            ))
            .expect("the holder is not the one aborted");
        holder.batch_execute("ROLLBACK").expect("release");
    });
    holder.await.expect("holder");
    let (status, replayed, id) = first.await.expect("task");
    assert_eq!((status, replayed), (201, false), "the retry won");
    let (again, replayed_again, same_id) = submit(body).await;
    assert_eq!((again, replayed_again), (201, true));
    assert_eq!(same_id, id, "one report");
}
