//! Mentoring sessions (SPEC §10) on both databases: who sees which sessions (audience
//! rules shared with bulletins), gov's plans, edits and status moves, nominations
//! against capacity and membership (also when they race, across two instances),
//! attendance, and bad input.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use futures_util::future::join_all;
use kim_api::db::schema::outbox_events;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, problem, spawn_instance, token, town};
use crate::reports::json_of;

pub(crate) fn session_body(title: &str, audience: Value, capacity: i64) -> Value {
    let starts = Utc::now() + Duration::days(7);
    json!({
        "title": title,
        "kind": "pelatihan",
        "topic": "jurnalistik_warga",
        "starts_at": starts.to_rfc3339(),
        "ends_at": (starts + Duration::hours(3)).to_rfc3339(),
        "location": "Aula Diskominfo",
        "audience": audience,
        "capacity": capacity,
    })
}

pub(crate) async fn plan(app: &TestApp, gov: &str, body: &Value) -> i64 {
    json_of(
        app.post_as("/api/v1/mentoring-sessions", gov, body).await,
        201,
    )
    .await["id"]
        .as_i64()
        .expect("id")
}

pub(crate) async fn add_member(app: &TestApp, admin: &str, kim: i64, serial: u32) -> i64 {
    let added = app
        .post_as(
            &format!("/api/v1/kims/{kim}/members"),
            admin,
            &json!({"full_name": format!("Peserta {serial}"), "nik": format!("187201170890{serial:04}"),
                    "gender": "male", "birth_date": "1990-08-17", "position": "anggota"}),
        )
        .await;
    json_of(added, 201).await["id"].as_i64().expect("member id")
}

async fn ids_seen(app: &TestApp, user: &str, query: &str) -> Vec<i64> {
    let listed = json_of(
        app.get_as(&format!("/api/v1/mentoring-sessions{query}"), user)
            .await,
        200,
    )
    .await;
    listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|session| session["id"].as_i64().expect("id"))
        .collect()
}

/// Moves a session's clock so that it started an hour ago.
/// A session that starts two minutes from the service's now; [`start_now`] then moves
/// the clock past its start (well within the access tokens' lifetime).
pub(crate) fn session_starting_soon(title: &str, audience: Value, capacity: i64) -> Value {
    let mut body = session_body(title, audience, capacity);
    let starts = kim_api::clock::now() + Duration::minutes(2);
    body["starts_at"] = json!(starts.to_rfc3339());
    body["ends_at"] = json!((starts + Duration::hours(3)).to_rfc3339());
    body
}

/// Moves the service's clock past the start of a [`session_starting_soon`].
pub(crate) fn start_now(app: &TestApp) {
    app.advance_clock(Duration::minutes(3));
}

#[tokio::test]
async fn gov_plans_sessions_and_only_the_kims_addressed_see_them() {
    on_each_backend(async |app| {
        let n = town(&app).await;
        let gov = token(&n.officer);
        let everyone = plan(
            &app,
            gov,
            &session_body("Untuk semua", json!({"scope": "all_kims"}), 30),
        )
        .await;
        let east = plan(
            &app,
            gov,
            &session_body(
                "Metro Pusat",
                json!({"scope": "kecamatan", "codes": ["18.72.01"]}),
                30,
            ),
        )
        .await;
        let only_b = plan(
            &app,
            gov,
            &session_body(
                "Khusus B",
                json!({"scope": "kims", "kim_ids": [n.kim_b]}),
                30,
            ),
        )
        .await;
        let mut coordination = session_body(
            "Rapat",
            json!({"scope": "kelurahan", "codes": ["18.72.02.1001"]}),
            5,
        );
        coordination["kind"] = json!("rapat_koordinasi");
        coordination["topic"] = json!("kelembagaan");
        let west = plan(&app, token(&n.admin), &coordination).await;

        assert_eq!(
            ids_seen(&app, gov, "").await,
            vec![west, only_b, east, everyone]
        );
        assert_eq!(
            ids_seen(&app, token(&n.member_a), "").await,
            vec![east, everyone]
        );
        assert_eq!(
            ids_seen(&app, token(&n.board_b), "").await,
            vec![only_b, east, everyone]
        );
        assert_eq!(
            ids_seen(&app, token(&n.board_c), "").await,
            vec![west, everyone]
        );
        let hidden = app
            .get_as(
                &format!("/api/v1/mentoring-sessions/{only_b}"),
                token(&n.board_a),
            )
            .await;
        problem(hidden, 404).await;
        let seen = json_of(
            app.get_as(
                &format!("/api/v1/mentoring-sessions/{east}"),
                token(&n.board_b),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(
            seen["audience"],
            json!({"scope": "kecamatan", "codes": ["18.72.01"], "kim_ids": []})
        );
        assert_eq!(
            (
                seen["capacity"].as_i64(),
                seen["nominated"].as_i64(),
                seen["status"].as_str()
            ),
            (Some(30), Some(0), Some("planned"))
        );

        // Filters, and gov's view of one KIM.
        assert_eq!(
            ids_seen(&app, gov, "?kind=rapat_koordinasi").await,
            vec![west]
        );
        assert_eq!(
            ids_seen(&app, gov, "?topic=jurnalistik_warga&status=planned").await,
            vec![only_b, east, everyone]
        );
        assert_eq!(
            ids_seen(&app, gov, &format!("?kim_id={}", n.kim_a)).await,
            vec![east, everyone]
        );
        let next_week = (Utc::now() + Duration::days(7))
            .format("%Y-%m-%d")
            .to_string();
        let later = (Utc::now() + Duration::days(9))
            .format("%Y-%m-%d")
            .to_string();
        assert_eq!(
            ids_seen(&app, gov, &format!("?from={later}")).await,
            Vec::<i64>::new()
        );
        assert_eq!(ids_seen(&app, gov, &format!("?to={later}")).await.len(), 4);
        assert!(
            ids_seen(&app, gov, &format!("?from={next_week}&to={later}"))
                .await
                .len()
                >= 3
        );
        let refused = app
            .get_as(
                &format!("/api/v1/mentoring-sessions?kim_id={}", n.kim_b),
                token(&n.board_a),
            )
            .await;
        assert_eq!(problem(refused, 400).await["errors"][0]["code"], "gov_only");
        problem(
            app.get_as("/api/v1/mentoring-sessions?status=done", gov)
                .await,
            400,
        )
        .await;
        problem(
            app.get_as("/api/v1/mentoring-sessions?from=2026-13-01", gov)
                .await,
            400,
        )
        .await;

        // Keyset pages.
        let first = json_of(
            app.get_as("/api/v1/mentoring-sessions?limit=3", gov).await,
            200,
        )
        .await;
        assert_eq!(first["data"].as_array().map(Vec::len), Some(3));
        let cursor = first["next_cursor"].as_str().expect("cursor");
        let rest = json_of(
            app.get_as(
                &format!("/api/v1/mentoring-sessions?limit=3&cursor={cursor}"),
                gov,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(rest["data"][0]["id"], everyone);
        assert_eq!(rest["next_cursor"], Value::Null);

        // Each plan went to the outbox as session.scheduled, without personal data.
        let scheduled: Vec<String> = app
            .db
            .read(|conn| {
                Ok(outbox_events::table
                    .filter(outbox_events::event_type.eq("session.scheduled"))
                    .select(outbox_events::payload)
                    .load(conn)?)
            })
            .await
            .expect("outbox");
        assert_eq!(scheduled.len(), 4);
        assert!(
            scheduled
                .iter()
                .all(|payload| payload.contains("\"session_id\"") && !payload.contains("Aula"))
        );
    })
    .await;
}

#[tokio::test]
async fn sessions_are_for_gov_to_write_and_bad_input_is_refused() {
    on_each_backend(async |app| {
        let n = town(&app).await;
        let gov = token(&n.officer);
        let body = session_body("Literasi digital", json!({"scope": "all_kims"}), 2);
        for user in [&n.board_a, &n.member_a] {
            problem(
                app.post_as("/api/v1/mentoring-sessions", token(user), &body)
                    .await,
                403,
            )
            .await;
        }
        let (client_id, secret, _) = app.integration_client(&n.admin, &["kims:read"]).await;
        let client = app.client_token(&client_id, &secret).await;
        problem(app.get_as("/api/v1/mentoring-sessions", &client).await, 403).await;
        problem(app.get("/api/v1/mentoring-sessions").await, 401).await;
        problem(
            app.get_as("/api/v1/mentoring-sessions", "not.a.token")
                .await,
            401,
        )
        .await;

        let mut past = body.clone();
        past["starts_at"] = json!((Utc::now() - Duration::days(1)).to_rfc3339());
        let mut backwards = body.clone();
        backwards["ends_at"] = json!((Utc::now() + Duration::days(6)).to_rfc3339());
        let mut empty = body.clone();
        empty["capacity"] = json!(0);
        let mut long = body.clone();
        long["title"] = json!("x".repeat(201));
        let mut unknown_kim = body.clone();
        unknown_kim["audience"] = json!({"scope": "kims", "kim_ids": [999_999]});
        for (bad, field) in [
            (past, "starts_at"),
            (backwards, "ends_at"),
            (empty, "capacity"),
            (long, "title"),
            (unknown_kim, "audience.kim_ids[0]"),
        ] {
            let refused = problem(
                app.post_as("/api/v1/mentoring-sessions", gov, &bad).await,
                422,
            )
            .await;
            assert_eq!(refused["errors"][0]["field"], field);
        }
        let mut unknown_kind = body.clone();
        unknown_kind["kind"] = json!("webinar");
        let mut extra = body.clone();
        extra["fee"] = json!(10);
        for bad in [unknown_kind, extra, json!([])] {
            problem(
                app.post_as("/api/v1/mentoring-sessions", gov, &bad).await,
                400,
            )
            .await;
        }

        let id = plan(&app, gov, &body).await;
        let path = format!("/api/v1/mentoring-sessions/{id}");
        problem(
            app.patch_as(&path, token(&n.board_a), &json!({"title": "Baru"}))
                .await,
            403,
        )
        .await;
        let edited = json_of(
            app.patch_as(
                &path,
                gov,
                &json!({"title": "Literasi digital lanjutan", "capacity": 3}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(
            (
                edited["title"].as_str(),
                edited["capacity"].as_i64(),
                edited["version"].as_i64()
            ),
            (Some("Literasi digital lanjutan"), Some(3), Some(2))
        );
        let too_soon = json!({"ends_at": (Utc::now() + Duration::days(1)).to_rfc3339()});
        problem(app.patch_as(&path, gov, &too_soon).await, 422).await;
        problem(
            app.patch_as(
                "/api/v1/mentoring-sessions/999999",
                gov,
                &json!({"title": "X"}),
            )
            .await,
            404,
        )
        .await;

        let status = format!("{path}/status");
        let early = problem(
            app.post_as(&status, gov, &json!({"status": "held"})).await,
            409,
        )
        .await;
        assert_eq!(early["code"], "session_not_started");
        problem(
            app.post_as(&status, gov, &json!({"status": "planned"}))
                .await,
            422,
        )
        .await;
        problem(
            app.post_as(&status, token(&n.board_a), &json!({"status": "cancelled"}))
                .await,
            403,
        )
        .await;
        let cancelled = json_of(
            app.post_as(&status, gov, &json!({"status": "cancelled"}))
                .await,
            200,
        )
        .await;
        assert_eq!(cancelled["status"], "cancelled");
        let again = problem(
            app.post_as(&status, gov, &json!({"status": "cancelled"}))
                .await,
            409,
        )
        .await;
        assert_eq!(again["code"], "invalid_transition");
        let frozen = problem(
            app.patch_as(&path, gov, &json!({"title": "Lagi"})).await,
            409,
        )
        .await;
        assert_eq!(frozen["code"], "session_not_planned");
    })
    .await;
}

#[tokio::test]
async fn kim_admins_nominate_their_members_up_to_capacity_and_gov_records_attendance() {
    on_each_backend(async |app| {
        let n = town(&app).await;
        let gov = token(&n.officer);
        let board_a = token(&n.board_a);
        let first = add_member(&app, board_a, n.kim_a, 1).await;
        let second = add_member(&app, board_a, n.kim_a, 2).await;
        let third = add_member(&app, board_a, n.kim_a, 3).await;
        let gone = add_member(&app, board_a, n.kim_a, 4).await;
        let left = app
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/kims/{}/members/{gone}", n.kim_a),
                Some(board_a),
                None,
            )
            .await;
        assert!(left.status().is_success(), "member leaves");
        let of_b = add_member(&app, token(&n.board_b), n.kim_b, 5).await;
        let id = plan(
            &app,
            gov,
            &session_starting_soon(
                "Kelas menulis",
                json!({"scope": "kecamatan", "codes": ["18.72.01"]}),
                2,
            ),
        )
        .await;
        let nominations = format!("/api/v1/mentoring-sessions/{id}/participants");

        let nominated = json_of(
            app.post_as(&nominations, board_a, &json!({"member_id": first}))
                .await,
            201,
        )
        .await;
        assert_eq!(
            (
                nominated["member_id"].as_i64(),
                nominated["kim_id"].as_i64()
            ),
            (Some(first), Some(n.kim_a))
        );
        assert_eq!(nominated["full_name"], "Peserta 1");
        assert_eq!(nominated["attended"], Value::Null);
        let twice = problem(
            app.post_as(&nominations, board_a, &json!({"member_id": first}))
                .await,
            409,
        )
        .await;
        assert_eq!(twice["code"], "already_nominated");
        for member in [gone, of_b, 999_999] {
            let refused = problem(
                app.post_as(&nominations, board_a, &json!({"member_id": member}))
                    .await,
                422,
            )
            .await;
            assert_eq!(refused["errors"][0]["code"], "not_an_active_member");
        }
        problem(
            app.post_as(
                &nominations,
                token(&n.member_a),
                &json!({"member_id": second}),
            )
            .await,
            403,
        )
        .await;
        problem(
            app.post_as(&nominations, gov, &json!({"member_id": second}))
                .await,
            403,
        )
        .await;
        problem(
            app.post_as(
                &nominations,
                token(&n.board_c),
                &json!({"member_id": second}),
            )
            .await,
            404,
        )
        .await;
        problem(
            app.post_as(&nominations, board_a, &json!({"member": second}))
                .await,
            400,
        )
        .await;
        let by_b = json_of(
            app.post_as(&nominations, token(&n.board_b), &json!({"member_id": of_b}))
                .await,
            201,
        )
        .await;
        let full = problem(
            app.post_as(&nominations, board_a, &json!({"member_id": second}))
                .await,
            409,
        )
        .await;
        assert_eq!(full["code"], "session_full");
        let shrink = problem(
            app.patch_as(
                &format!("/api/v1/mentoring-sessions/{id}"),
                gov,
                &json!({"capacity": 1}),
            )
            .await,
            409,
        )
        .await;
        assert_eq!(shrink["code"], "capacity_below_nominations");

        // Each KIM reads its own nominations; gov reads all.
        let listed = |user: &str| {
            let path = nominations.clone();
            let app = &app;
            let user = user.to_owned();
            async move {
                json_of(app.get_as(&path, &user).await, 200).await["data"]
                    .as_array()
                    .expect("data")
                    .iter()
                    .map(|p| p["member_id"].as_i64().expect("member"))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(listed(board_a).await, vec![first]);
        assert_eq!(listed(token(&n.board_b)).await, vec![of_b]);
        assert_eq!(listed(gov).await, vec![first, of_b]);
        problem(app.get_as(&nominations, token(&n.board_c)).await, 404).await;
        let b_only = json_of(
            app.get_as(&format!("{nominations}?kim_id={}", n.kim_b), gov)
                .await,
            200,
        )
        .await;
        assert_eq!(b_only["data"].as_array().map(Vec::len), Some(1));

        // Withdrawing frees the seat; another KIM's nomination is not A's to withdraw.
        let b_nomination = by_b["id"].as_i64().expect("id");
        let path_b = format!("{nominations}/{b_nomination}");
        let foreign = app
            .send(reqwest::Method::DELETE, &path_b, Some(board_a), None)
            .await;
        problem(foreign, 404).await;
        let withdrawn = app
            .send(
                reqwest::Method::DELETE,
                &path_b,
                Some(token(&n.board_b)),
                None,
            )
            .await;
        assert_eq!(withdrawn.status().as_u16(), 204);
        let seated = json_of(
            app.post_as(&nominations, board_a, &json!({"member_id": second}))
                .await,
            201,
        )
        .await;
        let session = json_of(
            app.get_as(&format!("/api/v1/mentoring-sessions/{id}"), gov)
                .await,
            200,
        )
        .await;
        assert_eq!(session["nominated"], 2);

        // Attendance: only gov, only once the session has started.
        let attendance = format!("{nominations}/{}", seated["id"]);
        let early = problem(
            app.patch_as(&attendance, gov, &json!({"attended": true}))
                .await,
            409,
        )
        .await;
        assert_eq!(early["code"], "session_not_started");
        start_now(&app);
        let closed = problem(
            app.post_as(&nominations, board_a, &json!({"member_id": third}))
                .await,
            409,
        )
        .await;
        assert_eq!(closed["code"], "session_started");
        problem(
            app.patch_as(&attendance, board_a, &json!({"attended": true}))
                .await,
            403,
        )
        .await;
        problem(
            app.patch_as(&attendance, gov, &json!({"attended": "ya"}))
                .await,
            400,
        )
        .await;
        problem(
            app.patch_as(
                &format!("{nominations}/999999"),
                gov,
                &json!({"attended": true}),
            )
            .await,
            404,
        )
        .await;
        let recorded = json_of(
            app.patch_as(&attendance, gov, &json!({"attended": true}))
                .await,
            200,
        )
        .await;
        assert_eq!(recorded["attended"], true);
        assert!(recorded["attendance_recorded_at"].is_string());
        let held = json_of(
            app.post_as(
                &format!("/api/v1/mentoring-sessions/{id}/status"),
                gov,
                &json!({"status": "held"}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(held["status"], "held");
        let absent = format!("{nominations}/{}", nominated["id"]);
        let recorded = json_of(
            app.patch_as(&absent, gov, &json!({"attended": false}))
                .await,
            200,
        )
        .await;
        assert_eq!(recorded["attended"], false);
        let late = app
            .send(reqwest::Method::DELETE, &absent, Some(board_a), None)
            .await;
        assert_eq!(problem(late, 409).await["code"], "session_not_planned");
    })
    .await;
}

#[tokio::test]
async fn simultaneous_nominations_never_overfill_a_session() {
    on_each_backend(async |app| {
        let n = town(&app).await;
        let other = spawn_instance(&app, |_| {}).await;
        let gov = token(&n.officer);
        let board_a = token(&n.board_a);
        let mut members = Vec::new();
        for serial in 0..8 {
            members.push(add_member(&app, board_a, n.kim_a, 10 + serial).await);
        }
        let id = plan(
            &app,
            gov,
            &session_body("Tiga kursi", json!({"scope": "all_kims"}), 3),
        )
        .await;
        let nominations = format!("/api/v1/mentoring-sessions/{id}/participants");
        let bodies: Vec<Value> = members
            .iter()
            .map(|member| json!({"member_id": member}))
            .collect();
        let racing = bodies.iter().enumerate().map(|(index, body)| {
            let instance = if index % 2 == 0 { &app } else { &other };
            instance.post_as(&nominations, board_a, body)
        });
        let mut outcomes = Vec::new();
        for response in join_all(racing).await {
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("json");
            outcomes.push((status, body["code"].as_str().map(str::to_owned)));
        }
        assert_eq!(
            outcomes.iter().filter(|(status, _)| *status == 201).count(),
            3,
            "{outcomes:?}"
        );
        assert!(
            outcomes.iter().all(|(status, code)| *status == 201
                || (*status == 409 && code.as_deref() == Some("session_full"))),
            "{outcomes:?}"
        );
        let session = json_of(
            app.get_as(&format!("/api/v1/mentoring-sessions/{id}"), gov)
                .await,
            200,
        )
        .await;
        assert_eq!(session["nominated"], 3);

        // One member nominated five times at once: once.
        let second = plan(
            &app,
            gov,
            &session_body("Satu anggota", json!({"scope": "all_kims"}), 10),
        )
        .await;
        let nominations = format!("/api/v1/mentoring-sessions/{second}/participants");
        let same = json!({"member_id": members[0]});
        let racing = (0..5).map(|index| {
            let instance = if index % 2 == 0 { &app } else { &other };
            instance.post_as(&nominations, board_a, &same)
        });
        let statuses: Vec<u16> = join_all(racing)
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
        assert_eq!(
            statuses.iter().filter(|status| **status == 201).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses
                .iter()
                .all(|status| *status == 201 || *status == 409),
            "{statuses:?}"
        );
        let session = json_of(
            app.get_as(&format!("/api/v1/mentoring-sessions/{second}"), gov)
                .await,
            200,
        )
        .await;
        assert_eq!(session["nominated"], 1);
    })
    .await;
}
