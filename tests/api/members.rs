use diesel::prelude::*;
use kim_api::db::schema::{audit_log, kim_members, kims};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, on_each_backend, problem};

/// A valid NIK of a man born 17 August 1990, issued in Metro Pusat, serial `serial`.
fn nik(serial: u32) -> String {
    format!("1872011708900{serial:03}")
}

fn member(serial: u32, position: &str) -> Value {
    json!({
        "full_name": format!("Warga {serial}"), "nik": nik(serial), "gender": "male",
        "birth_date": "1990-08-17", "position": position, "phone": "0812-1111-2222",
        "email": "warga@example.id", "profession": "Petani",
    })
}

async fn add(app: &TestApp, token: &str, kim: i64, body: &Value) -> reqwest::Response {
    app.post_as(&format!("/api/v1/kims/{kim}/members"), token, body)
        .await
}

struct Fixture {
    admin: TestUser,
    board: TestUser,
    kim: i64,
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.bootstrap_admin().await;
    let kim = app.create_kim("KIM Anggota").await;
    let board = app.user(&admin, "kim_admin", Some(kim)).await;
    Fixture { admin, board, kim }
}

#[tokio::test]
async fn members_are_added_with_their_personal_data_encrypted() {
    on_each_backend(async |app| {
        let f = fixture(&app).await;
        let response = add(
            &app,
            &f.board.session.access_token,
            f.kim,
            &member(1, "ketua"),
        )
        .await;
        assert_eq!(response.status().as_u16(), 201);
        assert!(
            response.headers()["location"]
                .to_str()
                .expect("ascii")
                .starts_with(&format!("/api/v1/kims/{}/members/", f.kim))
        );
        let created: Value = response.json().await.expect("json");
        assert_eq!(
            created["nik"],
            nik(1),
            "the KIM's own kim_admin sees the whole NIK"
        );
        assert_eq!(created["nik_masked"], false);
        assert_eq!(created["phone"], "+6281211112222");
        assert_eq!(created["status"], "active");
        assert_eq!(
            created["joined_on"],
            chrono::Utc::now().date_naive().to_string()
        );

        let rows: Vec<(String, String, String, Option<String>)> = app
            .db
            .read(|conn| {
                Ok(kim_members::table
                    .select((
                        kim_members::nik_ciphertext,
                        kim_members::nik_hash,
                        kim_members::nik_masked,
                        kim_members::phone_ciphertext,
                    ))
                    .load(conn)?)
            })
            .await
            .expect("rows");
        let stored = format!("{rows:?}");
        assert!(!stored.contains(&nik(1)), "no plaintext NIK at rest");
        assert!(
            !stored.contains("6281211112222") && !stored.contains("0812"),
            "no plaintext phone at rest"
        );
        assert_eq!(rows[0].2, "1872**********01");

        let count: i32 = app
            .db
            .read(move |conn| {
                Ok(kims::table
                    .find(f.kim)
                    .select(kims::active_member_count)
                    .first(conn)?)
            })
            .await
            .expect("count");
        assert_eq!(count, 1);
    })
    .await;
}

#[tokio::test]
async fn niks_are_validated_against_the_person() {
    on_each_backend(async |app| {
        let f = fixture(&app).await;
        let token = &f.board.session.access_token;
        let with = |changes: Value| {
            let mut body = member(1, "anggota");
            for (key, value) in changes.as_object().expect("object") {
                body[key] = value.clone();
            }
            body
        };
        let cases = [
            (
                with(json!({"nik": "187201170890001"})),
                "invalid_nik_format",
            ),
            (
                with(json!({"nik": "18720117089O0001"})),
                "invalid_nik_format",
            ),
            (
                with(json!({"nik": "1872013102900001", "birth_date": "1990-02-28"})),
                "invalid_nik_birth_date",
            ),
            (
                with(json!({"birth_date": "1990-08-18"})),
                "nik_birth_date_mismatch",
            ),
            (with(json!({"gender": "female"})), "nik_gender_mismatch"),
            (with(json!({"phone": "555-1234"})), "invalid_phone"),
            (with(json!({"birth_date": "2999-01-01"})), "invalid_date"),
        ];
        for (body, code) in cases {
            let problem = problem(add(&app, token, f.kim, &body).await, 422).await;
            assert!(
                problem["errors"]
                    .as_array()
                    .expect("errors")
                    .iter()
                    .any(|e| e["code"] == code),
                "{code}: {problem}"
            );
        }
        // A woman's NIK (+40 on the day), issued in Jakarta: the region prefix is where it
        // was issued, not where she lives.
        let woman = with(json!({"nik": "3174055708900002", "gender": "female"}));
        assert_eq!(add(&app, token, f.kim, &woman).await.status().as_u16(), 201);
        let listed: Value = app
            .get_as(&format!("/api/v1/kims/{}/members", f.kim), token)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            listed["data"].as_array().map(Vec::len),
            Some(1),
            "only the valid one was added"
        );
    })
    .await;
}

#[tokio::test]
async fn niks_are_masked_for_all_but_gov_admin_and_the_own_board() {
    on_each_backend(async |app| {
        let f = fixture(&app).await;
        let created: Value = add(
            &app,
            &f.board.session.access_token,
            f.kim,
            &member(7, "ketua"),
        )
        .await
        .json()
        .await
        .expect("json");
        let path = format!("/api/v1/kims/{}/members/{}", f.kim, created["id"]);
        let officer = app.user(&f.admin, "gov_officer", None).await;
        let fellow = app.user(&f.admin, "kim_member", Some(f.kim)).await;
        let other_kim = app.create_kim("KIM Lain").await;
        let other_board = app.user(&f.admin, "kim_admin", Some(other_kim)).await;
        let (reader_id, reader_secret, _) =
            app.integration_client(&f.admin, &["members:read"]).await;
        let reader = app.client_token(&reader_id, &reader_secret).await;
        let (blind_id, blind_secret, _) = app.integration_client(&f.admin, &["kims:read"]).await;
        let blind = app.client_token(&blind_id, &blind_secret).await;

        let view = |token: String| {
            let path = path.clone();
            let app = &app;
            async move {
                let response = app.get_as(&path, &token).await;
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap_or_default())
            }
        };
        let (status, whole) = view(f.admin.session.access_token.clone()).await;
        assert_eq!(
            (status, whole["nik"].clone(), whole["phone"].clone()),
            (200, json!(nik(7)), json!("+6281211112222"))
        );
        let (_, board) = view(f.board.session.access_token.clone()).await;
        assert_eq!(board["nik"], nik(7));
        let (_, masked) = view(officer.session.access_token.clone()).await;
        assert_eq!(
            (masked["nik"].clone(), masked["nik_masked"].clone()),
            (json!("1872**********07"), json!(true))
        );
        assert_eq!(
            masked["phone"], "+6281211112222",
            "officers handle members' contacts"
        );
        let (_, member_view) = view(fellow.session.access_token.clone()).await;
        assert_eq!(
            (member_view["nik"].clone(), member_view["phone"].clone()),
            (json!("1872**********07"), Value::Null)
        );
        let (_, integration) = view(reader).await;
        assert_eq!(
            (integration["nik"].clone(), integration["email"].clone()),
            (json!("1872**********07"), Value::Null)
        );
        assert_eq!(view(blind).await.0, 403);
        assert_eq!(
            view(other_board.session.access_token.clone()).await.0,
            404,
            "another KIM's members are not revealed"
        );
        assert_eq!(
            app.get(&path).await.status().as_u16(),
            401,
            "never anonymous"
        );

        let audited: Vec<(Option<String>, Option<String>, Option<String>)> = app
            .db
            .read(|conn| {
                Ok(audit_log::table
                    .filter(audit_log::action.eq("member.nik_viewed"))
                    .select((audit_log::actor_id, audit_log::target_id, audit_log::detail))
                    .load(conn)?)
            })
            .await
            .expect("audit");
        let actors: Vec<&str> = audited.iter().filter_map(|row| row.0.as_deref()).collect();
        let (admin_id, board_id) = (f.admin.id.to_string(), f.board.id.to_string());
        assert!(
            actors.contains(&admin_id.as_str()) && actors.contains(&board_id.as_str()),
            "{audited:?}"
        );
        assert!(
            !actors.contains(&officer.id.to_string().as_str()),
            "masked reads are not NIK reads"
        );
        assert!(!format!("{audited:?}").contains(&nik(7)));
    })
    .await;
}

#[tokio::test]
async fn one_ketua_one_membership_per_person_and_thirty_at_most() {
    on_each_backend(async |app| {
        let f = fixture(&app).await;
        let token = &f.board.session.access_token;
        assert_eq!(
            add(&app, token, f.kim, &member(1, "ketua"))
                .await
                .status()
                .as_u16(),
            201
        );
        assert_eq!(
            problem(add(&app, token, f.kim, &member(2, "ketua")).await, 409).await["code"],
            "position_taken"
        );

        let other_kim = app.create_kim("KIM Kedua").await;
        let admin_token = &f.admin.session.access_token;
        assert_eq!(
            problem(
                add(&app, admin_token, other_kim, &member(1, "anggota")).await,
                409
            )
            .await["code"],
            "nik_already_member"
        );

        for serial in 2..=30 {
            assert_eq!(
                add(&app, token, f.kim, &member(serial, "anggota"))
                    .await
                    .status()
                    .as_u16(),
                201,
                "member {serial}"
            );
        }
        assert_eq!(
            problem(add(&app, token, f.kim, &member(31, "anggota")).await, 409).await["code"],
            "member_limit_reached"
        );

        // Leaving frees the place and the person.
        let listed: Value = app
            .get_as(&format!("/api/v1/kims/{}/members?limit=1", f.kim), token)
            .await
            .json()
            .await
            .expect("json");
        let first = listed["data"][0]["id"].as_i64().expect("id");
        let left = app
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/kims/{}/members/{first}", f.kim),
                Some(token),
                None,
            )
            .await;
        assert_eq!(left.status().as_u16(), 204);
        let again = app
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/kims/{}/members/{first}", f.kim),
                Some(token),
                None,
            )
            .await;
        assert_eq!(again.status().as_u16(), 204, "leaving twice is harmless");
        let gone: Value = app
            .get_as(&format!("/api/v1/kims/{}/members/{first}", f.kim), token)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(gone["status"], "left");
        assert!(
            gone["left_on"].is_string(),
            "the record stays, with left_on"
        );
        assert_eq!(
            add(&app, admin_token, other_kim, &member(1, "ketua"))
                .await
                .status()
                .as_u16(),
            201,
            "the former ketua joins another KIM"
        );
        assert_eq!(
            add(&app, token, f.kim, &member(31, "ketua"))
                .await
                .status()
                .as_u16(),
            201,
            "the place and the ketua position are free"
        );
        let kim: Value = app
            .get_as(&format!("/api/v1/kims/{}", f.kim), admin_token)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(kim["active_member_count"], 30);
        let left_only: Value = app
            .get_as(
                &format!("/api/v1/kims/{}/members?status=left", f.kim),
                token,
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(left_only["data"].as_array().map(Vec::len), Some(1));
    })
    .await;
}

#[tokio::test]
async fn concurrent_additions_cannot_break_the_rules() {
    on_each_backend(async |app| {
        let f = fixture(&app).await;
        let token = f.board.session.access_token.clone();
        for serial in 1..=29 {
            assert_eq!(
                add(&app, &token, f.kim, &member(serial, "anggota"))
                    .await
                    .status()
                    .as_u16(),
                201
            );
        }
        // Five try to be the 30th at once: one gets in.
        let attempts = (100..105).map(|serial| {
            let body = member(serial, "anggota");
            let (app, token) = (&app, token.clone());
            async move { add(app, &token, f.kim, &body).await.status().as_u16() }
        });
        let mut statuses = futures_util::future::join_all(attempts).await;
        statuses.sort();
        assert_eq!(statuses, [201, 409, 409, 409, 409]);

        // Two try to be ketua of another KIM at once: one gets it.
        let kim = app.create_kim("KIM Ketua").await;
        let admin = f.admin.session.access_token.clone();
        let ketua = (200..202).map(|serial| {
            let body = member(serial, "ketua");
            let (app, admin) = (&app, admin.clone());
            async move { add(app, &admin, kim, &body).await.status().as_u16() }
        });
        let mut statuses = futures_util::future::join_all(ketua).await;
        statuses.sort();
        assert_eq!(statuses, [201, 409]);

        // The same person added to two KIMs at once: one membership.
        let kim_b = app.create_kim("KIM Rebutan").await;
        let same = [kim, kim_b].map(|target| {
            let body = member(300, "anggota");
            let (app, admin) = (&app, admin.clone());
            async move { add(app, &admin, target, &body).await.status().as_u16() }
        });
        let mut statuses = futures_util::future::join_all(same).await;
        statuses.sort();
        assert_eq!(statuses, [201, 409]);
        let counts: Vec<i32> = app
            .db
            .read(|conn| {
                Ok(kims::table
                    .order(kims::id)
                    .select(kims::active_member_count)
                    .load(conn)?)
            })
            .await
            .expect("counts");
        assert_eq!(counts[0], 30);
        assert_eq!(
            counts[1] + counts[2],
            2,
            "one ketua, and the contested person once"
        );
    })
    .await;
}

#[tokio::test]
async fn activation_follows_the_member_rules() {
    on_each_backend(async |app| {
        let f = fixture(&app).await;
        let token = &f.board.session.access_token;
        let admin = &f.admin.session.access_token;
        let status_path = format!("/api/v1/kims/{}/status", f.kim);
        let activate = json!({"status": "active", "reason": "Pengukuhan", "sk_number": "SK/48/2026", "sk_date": "2026-03-02"});
        add(&app, token, f.kim, &member(1, "anggota")).await;
        add(&app, token, f.kim, &member(2, "anggota")).await;
        let codes: Vec<String> = problem(app.post_as(&status_path, admin, &activate).await, 422).await["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["code"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(codes, ["too_few_members", "no_ketua"]);
        let third: Value = add(&app, token, f.kim, &member(3, "ketua")).await.json().await.expect("json");

        let active: Value = app.post_as(&status_path, admin, &activate).await.json().await.expect("json");
        assert_eq!(active["status"], "active");
        assert_eq!(active["compliance"], json!({"ok": true, "problems": []}));
        assert_eq!(active["sk_number"], "SK/48/2026");

        let left = app.send(reqwest::Method::DELETE, &format!("/api/v1/kims/{}/members/{}", f.kim, third["id"]), Some(token), None).await;
        assert_eq!(left.status().as_u16(), 204);
        let kim: Value = app.get(&format!("/api/v1/kims/{}", f.kim)).await.json().await.expect("json");
        assert_eq!(kim["status"], "active", "leaving does not deactivate");
        assert_eq!(kim["active_member_count"], 2);
        assert_eq!(kim["compliance"]["problems"], json!(["too_few_members", "no_ketua"]));
    })
    .await;
}

#[tokio::test]
async fn members_are_changed_with_if_match_and_their_rules() {
    on_each_backend(async |app| {
        let f = fixture(&app).await;
        let token = &f.board.session.access_token;
        let ketua: Value = add(&app, token, f.kim, &member(1, "ketua")).await.json().await.expect("json");
        let other: Value = add(&app, token, f.kim, &member(2, "anggota")).await.json().await.expect("json");
        let path = format!("/api/v1/kims/{}/members/{}", f.kim, other["id"]);

        assert_eq!(problem(app.patch_as(&path, token, &json!({"position": "ketua"})).await, 409).await["code"], "position_taken");
        assert_eq!(problem(app.patch_as(&path, token, &json!({"gender": "female"})).await, 422).await["errors"][0]["code"], "nik_gender_mismatch");
        let changed = app
            .client
            .patch(app.url(&path))
            .bearer_auth(token)
            .header("if-match", "\"1\"")
            .json(&json!({"position": "sekretaris", "phone": null, "nik": "1872011808910005", "birth_date": "1991-08-18"}))
            .send()
            .await
            .expect("request");
        assert_eq!(changed.status().as_u16(), 200);
        assert_eq!(changed.headers()["etag"], "\"2\"");
        let changed: Value = changed.json().await.expect("json");
        assert_eq!((changed["position"].clone(), changed["phone"].clone()), (json!("sekretaris"), Value::Null));
        assert_eq!(changed["nik"], "1872011808910005");
        let stale = app
            .client
            .patch(app.url(&path))
            .bearer_auth(token)
            .header("if-match", "\"1\"")
            .json(&json!({"profession": "Guru"}))
            .send()
            .await
            .expect("request");
        assert_eq!(problem(stale, 412).await["code"], "precondition_failed");
        let taken_nik = app.patch_as(&path, token, &json!({"nik": ketua["nik"], "birth_date": "1990-08-17"})).await;
        assert_eq!(problem(taken_nik, 409).await["code"], "nik_already_member");

        let member_user = app.user(&f.admin, "kim_member", Some(f.kim)).await;
        assert_eq!(app.patch_as(&path, &member_user.session.access_token, &json!({"profession": "X"})).await.status().as_u16(), 403);
        let officer = app.user(&f.admin, "gov_officer", None).await;
        assert_eq!(app.patch_as(&path, &officer.session.access_token, &json!({"profession": "X"})).await.status().as_u16(), 403);
        assert_eq!(add(&app, &officer.session.access_token, f.kim, &member(9, "anggota")).await.status().as_u16(), 403);
        assert_eq!(app.get_as(&format!("/api/v1/kims/{}/members/999999", f.kim), token).await.status().as_u16(), 404);
        assert_eq!(app.get_as(&format!("/api/v1/kims/{}/members?position=chief", f.kim), token).await.status().as_u16(), 400);
    })
    .await;
}

#[tokio::test]
async fn paging_sees_every_member_once_while_members_are_added() {
    on_each_backend(async |app| {
        let f = fixture(&app).await;
        let token = &f.board.session.access_token;
        for serial in 1..=7 {
            add(&app, token, f.kim, &member(serial, "anggota")).await;
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut serial = 100;
        loop {
            let path = match &cursor {
                Some(cursor) => format!("/api/v1/kims/{}/members?limit=3&cursor={cursor}", f.kim),
                None => format!("/api/v1/kims/{}/members?limit=3", f.kim),
            };
            let page: Value = app.get_as(&path, token).await.json().await.expect("json");
            seen.extend(
                page["data"]
                    .as_array()
                    .expect("data")
                    .iter()
                    .filter_map(|m| m["id"].as_i64()),
            );
            // Someone adds a member between page fetches (before the last page).
            if serial < 102 {
                add(&app, token, f.kim, &member(serial, "anggota")).await;
                serial += 1;
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(seen, unique, "in order, none twice");
        let all: Value = app
            .get_as(&format!("/api/v1/kims/{}/members?limit=100", f.kim), token)
            .await
            .json()
            .await
            .expect("json");
        let all: Vec<i64> = all["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|m| m["id"].as_i64())
            .collect();
        assert_eq!(
            seen, all,
            "every member, the 7 first and the 2 added while paging, exactly once"
        );
    })
    .await;
}
