//! The inbox (SPEC §11): who is told of each event, exactly once; what a notification
//! shows; paging, reading and the unread count; who may use it.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, on_each_backend, problem, token};
use crate::reports::{id_of, json_of, move_to, report, submit, town};

/// Every notification of `user`, newest first, in `lang` if given.
async fn inbox(app: &TestApp, user: &TestUser, query: &str) -> Vec<Value> {
    app.outbox_settled().await;
    let page = json_of(
        app.get_as(&format!("/api/v1/notifications{query}"), token(user))
            .await,
        200,
    )
    .await;
    page["data"].as_array().cloned().expect("data")
}

async fn inbox_in(app: &TestApp, user: &TestUser, lang: &str) -> Vec<Value> {
    app.outbox_settled().await;
    let response = app
        .client
        .get(format!("{}/api/v1/notifications", app.address))
        .bearer_auth(token(user))
        .header("Accept-Language", lang)
        .send()
        .await
        .expect("request");
    json_of(response, 200).await["data"]
        .as_array()
        .cloned()
        .expect("data")
}

fn of_type<'a>(items: &'a [Value], kind: &str) -> Vec<&'a Value> {
    items.iter().filter(|item| item["type"] == kind).collect()
}

#[tokio::test]
async fn a_report_tells_government_then_its_kim_and_nobody_else() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let mut confidential = report("confidential");
        confidential["title"] = json!("Pungutan liar di kantor kelurahan");
        let submitted = submit(&app, token(&t.member_a), &confidential).await;
        let id = id_of(&submitted);
        let code = submitted["tracking_code"]
            .as_str()
            .expect("code")
            .to_owned();

        for gov in [&t.admin, &t.officer] {
            let told = inbox(&app, gov, "").await;
            assert_eq!(told.len(), 1, "{told:?}");
            assert_eq!(told[0]["type"], "report_submitted");
            assert_eq!(told[0]["target"], json!({"type": "report", "id": id}));
            assert_eq!(told[0]["urgent"], false);
            assert_eq!(told[0]["read_at"], Value::Null);
        }
        // The submitter's KIM hears nothing of its own submission.
        assert!(inbox(&app, &t.member_a, "").await.is_empty());

        let verified = move_to(
            &app,
            token(&t.officer),
            id,
            json!({"status": "verified", "note": "Dicek"}),
        )
        .await;
        assert_eq!(verified.status().as_u16(), 200);
        let comment = json!({"body": "Petugas meninjau hari Kamis.", "visibility": "public"});
        let commented = app
            .post_as(
                &format!("/api/v1/reports/{id}/comments"),
                token(&t.officer),
                &comment,
            )
            .await;
        assert_eq!(commented.status().as_u16(), 201);
        let internal = json!({"body": "Catatan internal", "visibility": "internal"});
        let noted = app
            .post_as(
                &format!("/api/v1/reports/{id}/comments"),
                token(&t.officer),
                &internal,
            )
            .await;
        assert_eq!(noted.status().as_u16(), 201);

        for kim_user in [&t.member_a, &t.board_a] {
            let told = inbox(&app, kim_user, "").await;
            let types: Vec<&Value> = told.iter().map(|item| &item["type"]).collect();
            assert_eq!(
                types,
                [&json!("report_commented"), &json!("report_status_changed")],
                "{told:?}"
            );
            // Only the tracking code and the status: never the report's own words.
            let text = serde_json::to_string(&told).expect("json");
            for secret in ["Pungutan", "Siti", "0812", "Lampu"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
            assert!(
                told[1]["body"]
                    .as_str()
                    .is_some_and(|body| body.contains(&code))
            );
        }
        for outsider in [&t.member_b, &t.board_b, &t.member_c] {
            assert!(inbox(&app, outsider, "").await.is_empty());
        }
        // The officer who moved and commented is not told of it.
        assert_eq!(inbox(&app, &t.officer, "").await.len(), 1);

        // A reply from the KIM tells the rest of the KIM, not its author.
        let reply = json!({"body": "Terima kasih", "visibility": "public"});
        let replied = app
            .post_as(
                &format!("/api/v1/reports/{id}/comments"),
                token(&t.member_a),
                &reply,
            )
            .await;
        assert_eq!(replied.status().as_u16(), 201);
        assert_eq!(
            of_type(&inbox(&app, &t.board_a, "").await, "report_commented").len(),
            2
        );
        assert_eq!(
            of_type(&inbox(&app, &t.member_a, "").await, "report_commented").len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn words_follow_the_language_asked_for_indonesian_by_default() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let code = submit(&app, token(&t.member_a), &report("normal")).await["tracking_code"]
            .as_str()
            .expect("code")
            .to_owned();
        let indonesian = inbox(&app, &t.officer, "").await;
        assert_eq!(indonesian[0]["title"], "Laporan baru");
        assert_eq!(
            indonesian[0]["body"],
            format!("Laporan {code} masuk dan menunggu verifikasi.")
        );
        let english = inbox_in(&app, &t.officer, "en-GB, id;q=0.5").await;
        assert_eq!(english[0]["title"], "New report");
        assert_eq!(english[0]["id"], indonesian[0]["id"]);
        assert_eq!(
            inbox_in(&app, &t.officer, "fr").await[0]["title"],
            "Laporan baru"
        );
    })
    .await;
}

#[tokio::test]
async fn a_published_bulletin_tells_the_users_of_the_kims_it_addresses_once() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        let bulletin = json!({"title": "Banjir di Metro Pusat", "body": "Hindari Jl. Sudirman.", "category": "bencana",
                              "priority": "urgent", "audience": {"scope": "kecamatan", "codes": ["18.72.01"]}});
        let draft = json_of(app.post_as("/api/v1/bulletins", admin, &bulletin).await, 201).await;
        let id = draft["id"].as_i64().expect("id");
        // A draft tells nobody.
        assert!(inbox(&app, &t.member_a, "").await.is_empty());
        let published = app.post_as(&format!("/api/v1/bulletins/{id}/publish"), admin, &json!({})).await;
        assert_eq!(published.status().as_u16(), 200);

        for addressed in [&t.member_a, &t.board_a, &t.member_b, &t.board_b] {
            let told = inbox(&app, addressed, "").await;
            assert_eq!(told.len(), 1, "{told:?}");
            assert_eq!(told[0]["type"], "bulletin_published");
            assert_eq!(told[0]["urgent"], true);
            assert_eq!(told[0]["title"], "Buletin mendesak");
            assert_eq!(told[0]["body"], "Banjir di Metro Pusat");
            assert_eq!(told[0]["target"], json!({"type": "bulletin", "id": id}));
        }
        for outside in [&t.member_c, &t.board_c, &t.admin, &t.officer] {
            assert!(of_type(&inbox(&app, outside, "").await, "bulletin_published").is_empty());
        }
    })
    .await;
}

#[tokio::test]
async fn the_inbox_pages_marks_read_and_counts_what_is_unread() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        for _ in 0..3 {
            submit(&app, token(&t.member_a), &report("normal")).await;
        }
        app.outbox_settled().await;
        let me = json_of(app.get_as("/api/v1/me", token(&t.officer)).await, 200).await;
        assert_eq!(me["unread_notifications"], 3);

        let first = json_of(app.get_as("/api/v1/notifications?limit=2", token(&t.officer)).await, 200).await;
        let page: Vec<i64> = first["data"].as_array().expect("data").iter().map(|item| item["id"].as_i64().expect("id")).collect();
        assert_eq!(page.len(), 2);
        assert!(page[0] > page[1], "newest first");
        let cursor = first["next_cursor"].as_str().expect("cursor");
        let second = json_of(app.get_as(&format!("/api/v1/notifications?limit=2&cursor={cursor}"), token(&t.officer)).await, 200).await;
        let rest = second["data"].as_array().expect("data");
        assert_eq!(rest.len(), 1);
        assert!(rest[0]["id"].as_i64().expect("id") < page[1]);
        assert_eq!(second["next_cursor"], Value::Null);

        let read = json_of(app.post_as(&format!("/api/v1/notifications/{}/read", page[0]), token(&t.officer), &json!({})).await, 200).await;
        let read_at = read["read_at"].clone();
        assert!(read_at.is_string());
        let again = json_of(app.post_as(&format!("/api/v1/notifications/{}/read", page[0]), token(&t.officer), &json!({})).await, 200).await;
        assert_eq!(again["read_at"], read_at, "the first reading counts");
        let unread = inbox(&app, &t.officer, "?unread=true").await;
        assert_eq!(unread.len(), 2);
        assert!(unread.iter().all(|item| item["id"] != page[0]));
        assert_eq!(json_of(app.get_as("/api/v1/me", token(&t.officer)).await, 200).await["unread_notifications"], 2);

        // Somebody else's notification does not exist for the caller, and stays unread.
        let admins = inbox(&app, &t.admin, "").await;
        let theirs = admins[0]["id"].as_i64().expect("id");
        let foreign = app.post_as(&format!("/api/v1/notifications/{theirs}/read"), token(&t.officer), &json!({})).await;
        assert_eq!(problem(foreign, 404).await["code"], "not_found");
        assert_eq!(inbox(&app, &t.admin, "?unread=true").await.len(), 3);

        let all = json_of(app.post_as("/api/v1/notifications/read-all", token(&t.officer), &json!({})).await, 200).await;
        assert_eq!(all["marked"], 2);
        assert!(inbox(&app, &t.officer, "?unread=true").await.is_empty());
        assert_eq!(json_of(app.get_as("/api/v1/me", token(&t.officer)).await, 200).await["unread_notifications"], 0);
    })
    .await;
}

#[tokio::test]
async fn the_inbox_is_for_signed_in_people_and_refuses_bad_queries() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let officer = token(&t.officer);
        for query in ["?unread=maybe", "?sort=id", "?cursor=nonsense", "?limit=0"] {
            let refused = app
                .get_as(&format!("/api/v1/notifications{query}"), officer)
                .await;
            assert_eq!(problem(refused, 400).await["code"], "invalid_query");
        }
        let bad_path = app
            .post_as("/api/v1/notifications/abc/read", officer, &json!({}))
            .await;
        assert_eq!(bad_path.status().as_u16(), 400);
        let missing = app
            .post_as("/api/v1/notifications/999999/read", officer, &json!({}))
            .await;
        assert_eq!(problem(missing, 404).await["code"], "not_found");

        let anonymous = app
            .client
            .get(format!("{}/api/v1/notifications", app.address))
            .send()
            .await
            .expect("request");
        assert_eq!(anonymous.status().as_u16(), 401);
        let forged = app
            .get_as("/api/v1/notifications", "eyJhbGciOiJIUzI1NiJ9.e30.forged")
            .await;
        assert_eq!(forged.status().as_u16(), 401);
        let reads = app
            .post_as("/api/v1/notifications/read-all", &t.reader, &json!({}))
            .await;
        assert_eq!(problem(reads, 403).await["code"], "forbidden");
        let lists = app.get_as("/api/v1/notifications", &t.reader).await;
        assert_eq!(problem(lists, 403).await["code"], "forbidden");
    })
    .await;
}

#[tokio::test]
async fn notifications_are_kept_ninety_days() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        submit(&app, token(&t.member_a), &report("normal")).await;
        assert_eq!(inbox(&app, &t.officer, "").await.len(), 1);
        let sweep = async || {
            kim_api::notifications::retention::sweep(&app.db)
                .await
                .expect("sweep")
        };
        app.advance_clock(chrono::Duration::days(91));
        let officer = app.signed_in_again(&t.officer).await;
        // Out of the inbox after 90 days; kept 30 more, so a sync still hears it left.
        assert!(inbox(&app, &officer, "").await.is_empty());
        assert_eq!(sweep().await, 0);
        app.advance_clock(chrono::Duration::days(30));
        assert_eq!(sweep().await, 2);
    })
    .await;
}

async fn inbox_page(app: &TestApp, user: &TestUser, query: &str) -> Value {
    app.outbox_settled().await;
    json_of(
        app.get_as(&format!("/api/v1/notifications{query}"), token(user))
            .await,
        200,
    )
    .await
}

fn ids(page: &Value) -> Vec<(i64, bool)> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|item| (item["id"].as_i64().expect("id"), item["removed"] == true))
        .collect()
}

#[tokio::test]
async fn the_inbox_syncs_what_arrived_was_read_and_aged_out() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        submit(&app, token(&t.member_a), &report("normal")).await;
        let first = inbox_page(&app, &t.officer, "").await;
        let token_1 = first["sync_token"].as_str().expect("token").to_owned();
        let old = first["data"][0]["id"].as_i64().expect("id");
        // Nothing changed: nothing answered.
        let unchanged = inbox_page(&app, &t.officer, &format!("?updated_since={token_1}")).await;
        assert!(ids(&unchanged).is_empty(), "{unchanged}");

        app.advance_clock(chrono::Duration::days(20));
        let officer = app.signed_in_again(&t.officer).await;
        let member_b = app.signed_in_again(&t.member_b).await;
        submit(&app, token(&member_b), &report("normal")).await;
        let arrived = inbox_page(&app, &officer, &format!("?updated_since={token_1}")).await;
        let new = arrived["data"][0]["id"].as_i64().expect("id");
        assert_eq!(ids(&arrived), vec![(new, false)]);
        assert_eq!(arrived["data"][0]["type"], "report_submitted");
        let token_2 = arrived["sync_token"].as_str().expect("token").to_owned();

        // Reading one is a change; with `unread=true` it leaves the view.
        let unread_token = inbox_page(&app, &officer, "?unread=true").await["sync_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let read = app
            .post_as(
                &format!("/api/v1/notifications/{new}/read"),
                token(&officer),
                &json!({}),
            )
            .await;
        assert_eq!(read.status().as_u16(), 200);
        let after_read = inbox_page(&app, &officer, &format!("?updated_since={token_2}")).await;
        assert_eq!(ids(&after_read), vec![(new, false)]);
        assert!(after_read["data"][0]["read_at"].is_string());
        let unread_sync = inbox_page(
            &app,
            &officer,
            &format!("?unread=true&updated_since={unread_token}"),
        )
        .await;
        assert_eq!(ids(&unread_sync), vec![(new, true)]);
        // A token is for the listing it came from.
        let crossed = app
            .get_as(
                &format!("/api/v1/notifications?unread=true&updated_since={token_2}"),
                token(&officer),
            )
            .await;
        assert_eq!(
            problem(crossed, 400).await["errors"][0]["code"],
            "invalid_sync_token"
        );

        // Past 90 days the first one leaves the inbox, and a sync says so.
        app.advance_clock(chrono::Duration::days(50));
        let officer = app.signed_in_again(&officer).await;
        let token_3 = inbox_page(&app, &officer, "").await["sync_token"]
            .as_str()
            .expect("token")
            .to_owned();
        app.advance_clock(chrono::Duration::days(21));
        let officer = app.signed_in_again(&officer).await;
        let aged = inbox_page(&app, &officer, &format!("?updated_since={token_3}")).await;
        assert_eq!(ids(&aged), vec![(old, true)]);
        // A token older than 30 days cannot be answered exactly any more.
        let stale = app
            .get_as(
                &format!("/api/v1/notifications?updated_since={token_1}"),
                token(&officer),
            )
            .await;
        assert_eq!(
            problem(stale, 400).await["errors"][0]["code"],
            "sync_token_expired"
        );
    })
    .await;
}

async fn escalate(app: &TestApp) -> usize {
    kim_api::reports::escalation::escalate_overdue(&app.db)
        .await
        .expect("escalation")
}

async fn overdue_events(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use kim_api::db::schema::outbox_events;
    app.db
        .read(|conn| {
            Ok(outbox_events::table
                .filter(outbox_events::event_type.eq("report.overdue"))
                .count()
                .get_result::<i64>(conn)?)
        })
        .await
        .expect("count")
}

#[tokio::test]
async fn an_overdue_report_is_escalated_to_gov_admins_once_per_due_date() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        assert_eq!(escalate(&app).await, 0, "not due yet");

        // Ten days on, its three working days to be verified have passed. Two instances
        // check at once (and the new instance's own minutely job may check first): one
        // of them escalates it.
        app.advance_clock(chrono::Duration::days(10));
        let other = crate::helpers::spawn_instance(&app, |_| {}).await;
        let (here, there) = tokio::join!(escalate(&app), escalate(&other));
        assert!(here + there <= 1, "{here} + {there}");
        assert_eq!(escalate(&app).await, 0, "once per due date");
        assert_eq!(overdue_events(&app).await, 1);

        let admin = app.signed_in_again(&t.admin).await;
        let officer = app.signed_in_again(&t.officer).await;
        let told = of_type(&inbox(&app, &admin, "").await, "report_overdue").len();
        assert_eq!(told, 1);
        assert!(of_type(&inbox(&app, &officer, "").await, "report_overdue").is_empty());
        let words = inbox(&app, &admin, "").await;
        assert_eq!(words[0]["title"], "Laporan melewati batas waktu");
        assert_eq!(words[0]["target"], json!({"type": "report", "id": id}));

        // Verified late: its next due date is a new one, escalated once when it passes.
        let verified = move_to(&app, token(&officer), id, json!({"status": "verified"})).await;
        assert_eq!(verified.status().as_u16(), 200);
        assert_eq!(escalate(&app).await, 0);
        app.advance_clock(chrono::Duration::days(60));
        assert_eq!(escalate(&app).await, 1);
        assert_eq!(escalate(&app).await, 0);
        assert_eq!(overdue_events(&app).await, 2);
        let admin = app.signed_in_again(&t.admin).await;
        assert_eq!(
            of_type(&inbox(&app, &admin, "").await, "report_overdue").len(),
            2
        );
    })
    .await;
}

async fn remind(app: &TestApp) -> usize {
    kim_api::notifications::reminders::send_due(&app.db)
        .await
        .expect("reminders")
}

#[tokio::test]
async fn kim_admins_hear_of_sessions_and_consultations_and_are_reminded_once() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let gov = token(&t.officer);
        let west = json!({"scope": "kecamatan", "codes": ["18.72.01"]});
        let session = crate::mentoring::plan(
            &app,
            gov,
            &crate::mentoring::session_body("Pelatihan menulis berita", west, 10),
        )
        .await;
        let mut consultation =
            crate::consultations::consultation_body(json!({"scope": "all_kims"}));
        consultation["closes_at"] =
            json!((kim_api::clock::now() + chrono::Duration::days(3)).to_rfc3339());
        let drafted = json_of(
            app.post_as("/api/v1/consultations", gov, &consultation)
                .await,
            201,
        )
        .await;
        let asked = drafted["id"].as_i64().expect("id");
        assert!(
            inbox(&app, &t.board_c, "").await.is_empty(),
            "a draft tells nobody"
        );
        let opened = app
            .post_as(
                &format!("/api/v1/consultations/{asked}/status"),
                gov,
                &json!({"status": "open"}),
            )
            .await;
        assert_eq!(opened.status().as_u16(), 200);

        for board in [&t.board_a, &t.board_b] {
            let told = inbox(&app, board, "").await;
            let scheduled = of_type(&told, "session_scheduled");
            assert_eq!(scheduled.len(), 1, "{told:?}");
            assert_eq!(
                scheduled[0]["target"],
                json!({"type": "mentoring_session", "id": session})
            );
            assert_eq!(
                scheduled[0]["body"],
                "Pelatihan menulis berita: usulkan anggota Anda."
            );
            assert_eq!(of_type(&told, "consultation_opened").len(), 1);
        }
        let c_told = inbox(&app, &t.board_c, "").await;
        assert!(
            of_type(&c_told, "session_scheduled").is_empty(),
            "outside the session's audience"
        );
        assert_eq!(of_type(&c_told, "consultation_opened").len(), 1);
        for member in [&t.member_a, &t.member_b, &t.member_c] {
            assert!(
                inbox(&app, member, "").await.is_empty(),
                "members are not asked to act"
            );
        }
        assert_eq!(remind(&app).await, 0, "nothing within a day yet");

        // Two and a half days on, the consultation closes within a day: two instances
        // look at once, one reminds.
        app.advance_clock(chrono::Duration::hours(60));
        let other = crate::helpers::spawn_instance(&app, |_| {}).await;
        let (here, there) = tokio::join!(remind(&app), remind(&other));
        assert_eq!(here + there, 1);
        assert_eq!(remind(&app).await, 0);
        let board_c = app.signed_in_again(&t.board_c).await;
        let closing = of_type(
            &inbox(&app, &board_c, "").await,
            "consultation_closing_soon",
        )
        .len();
        assert_eq!(closing, 1);

        // Four days later the session starts within a day; the consultation has closed.
        app.advance_clock(chrono::Duration::days(4));
        assert_eq!(remind(&app).await, 1);
        assert_eq!(remind(&app).await, 0);
        let board_a = app.signed_in_again(&t.board_a).await;
        let told = inbox(&app, &board_a, "").await;
        assert_eq!(of_type(&told, "session_starting_soon").len(), 1);
        assert_eq!(of_type(&told, "consultation_closing_soon").len(), 1);
        let board_c = app.signed_in_again(&t.board_c).await;
        assert!(of_type(&inbox(&app, &board_c, "").await, "session_starting_soon").is_empty());
    })
    .await;
}

/// A notification stream being read: events parsed as they arrive.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

/// One Server-Sent Event: its `id:` and its `data:` as JSON.
struct Event {
    id: i64,
    data: Value,
}

impl Stream {
    async fn open(instance: &TestApp, user: &TestUser, last_event_id: Option<i64>) -> Stream {
        let mut request = instance
            .client
            .get(format!("{}/api/v1/notifications/stream", instance.address))
            .bearer_auth(token(user));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.expect("stream");
        assert_eq!(response.status().as_u16(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("type")
            .to_owned();
        assert_eq!(content_type, "text/event-stream");
        let mut stream = Stream {
            response,
            buffer: String::new(),
        };
        assert_eq!(stream.block().await.as_deref(), Some("retry: 3000"));
        stream
    }

    /// The next block (up to a blank line); `None` when the server ended the stream.
    async fn block(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block = self.buffer[..end].to_owned();
                self.buffer.drain(..end + 2);
                return Some(block);
            }
            let chunk =
                tokio::time::timeout(std::time::Duration::from_secs(10), self.response.chunk())
                    .await
                    .expect("the stream answers within 10 s")
                    .expect("chunk")?;
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    async fn event(&mut self) -> Event {
        loop {
            let block = self.block().await.expect("an event, not the end");
            if block.starts_with(':') {
                continue;
            }
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|line| line.strip_prefix(name))
                    .map(str::to_owned)
                    .unwrap_or_else(|| panic!("no {name} in {block}"))
            };
            assert_eq!(field("event: "), "notification");
            return Event {
                id: field("id: ").parse().expect("id"),
                data: serde_json::from_str(&field("data: ")).expect("data"),
            };
        }
    }
}

#[tokio::test]
async fn the_stream_carries_new_notifications_from_any_instance_and_resumes_without_loss() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let other =
            crate::helpers::spawn_instance(&app, |config| config.auth_recheck_secs = 1).await;
        let before = submit(&app, token(&t.member_a), &report("normal")).await;
        app.outbox_settled().await;
        let mut live = Stream::open(&app, &t.officer, None).await;

        let first = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        let event = live.event().await;
        assert_eq!(
            event.data["type"], "report_submitted",
            "what came before the stream is not sent"
        );
        assert_eq!(event.data["target"]["id"], first);
        assert_eq!(event.data["id"], event.id);
        assert_ne!(event.data["target"]["id"], before["id"]);
        // Written through the other instance, seen here.
        let second = id_of(&submit(&other, token(&t.member_a), &report("normal")).await);
        let second_event = live.event().await;
        assert_eq!(second_event.data["target"]["id"], second);
        drop(live);

        // Missed while disconnected, then resumed on the other instance from the last id.
        let missed: Vec<i64> = [
            id_of(&submit(&app, token(&t.member_a), &report("normal")).await),
            id_of(&submit(&app, token(&t.member_a), &report("normal")).await),
        ]
        .into();
        let mut resumed = Stream::open(&other, &t.officer, Some(second_event.id)).await;
        for report in &missed {
            assert_eq!(resumed.event().await.data["target"]["id"], *report);
        }
        let later = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        assert_eq!(
            resumed.event().await.data["target"]["id"],
            later,
            "nothing repeated"
        );

        // A disabled account's stream ends.
        let disabled = app
            .patch_as(
                &format!("/api/v1/users/{}", t.officer.id),
                token(&t.admin),
                &json!({"disabled": true}),
            )
            .await;
        assert_eq!(disabled.status().as_u16(), 200);
        loop {
            match resumed.block().await {
                None => break,
                Some(block) => assert!(
                    block.starts_with(':') || block.contains("event: notification"),
                    "{block}"
                ),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn the_stream_is_for_people_and_checks_its_last_event_id() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let url = format!("{}/api/v1/notifications/stream", app.address);
        let anonymous = app.client.get(&url).send().await.expect("request");
        assert_eq!(problem(anonymous, 401).await["code"], "unauthenticated");
        let client = app
            .client
            .get(&url)
            .bearer_auth(&t.reader)
            .send()
            .await
            .expect("request");
        assert_eq!(problem(client, 403).await["code"], "forbidden");
        for bad in ["abc", "-1", "1.5"] {
            let refused = app
                .client
                .get(&url)
                .bearer_auth(token(&t.officer))
                .header("Last-Event-ID", bad)
                .send()
                .await
                .expect("request");
            assert_eq!(problem(refused, 400).await["code"], "invalid_header");
        }
    })
    .await;
}

async fn put_preferences(app: &TestApp, user: &TestUser, preferences: Value) -> reqwest::Response {
    app.client
        .put(format!("{}/api/v1/notifications/preferences", app.address))
        .bearer_auth(token(user))
        .json(&json!({"preferences": preferences}))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn preferences_choose_inbox_and_stream_per_type() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let defaults = json_of(app.get_as("/api/v1/notifications/preferences", token(&t.officer)).await, 200).await;
        let all = defaults["preferences"].as_array().expect("preferences");
        assert!(all.len() >= 9);
        assert!(all.iter().all(|p| p["inbox"] == true && p["stream"] == true && p["push"] == true));

        // The stream only, for new reports.
        let stream_only = json!([{"type": "report_submitted", "inbox": false, "stream": true, "push": false}]);
        let changed = json_of(put_preferences(&app, &t.officer, stream_only).await, 200).await;
        let submitted = changed["preferences"]
            .as_array()
            .expect("preferences")
            .iter()
            .find(|p| p["type"] == "report_submitted")
            .cloned()
            .expect("type");
        assert_eq!(submitted, json!({"type": "report_submitted", "inbox": false, "stream": true, "push": false}));
        let mut live = Stream::open(&app, &t.officer, None).await;
        let report_id = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        assert_eq!(live.event().await.data["target"]["id"], report_id);
        assert!(inbox(&app, &t.officer, "").await.is_empty());
        assert_eq!(json_of(app.get_as("/api/v1/me", token(&t.officer)).await, 200).await["unread_notifications"], 0);
        // The admin kept the default.
        assert_eq!(inbox(&app, &t.admin, "").await.len(), 1);

        // Off everywhere: nothing is written for the officer at all.
        let off = json!([{"type": "report_submitted", "inbox": false, "stream": false, "push": false}]);
        assert_eq!(put_preferences(&app, &t.officer, off).await.status().as_u16(), 200);
        submit(&app, token(&t.member_a), &report("normal")).await;
        assert_eq!(inbox(&app, &t.admin, "").await.len(), 2);
        assert_eq!(stored_for(&app, t.officer.id).await, 1, "only the stream-only one");

        // Back to the default: the row goes.
        let on = json!([{"type": "report_submitted", "inbox": true, "stream": true, "push": true}]);
        assert_eq!(put_preferences(&app, &t.officer, on).await.status().as_u16(), 200);
        submit(&app, token(&t.member_a), &report("normal")).await;
        assert_eq!(inbox(&app, &t.officer, "").await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn bad_preferences_are_refused_and_clients_have_none() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let duplicate = json!([
            {"type": "report_submitted", "inbox": false, "stream": true, "push": true},
            {"type": "report_submitted", "inbox": true, "stream": true, "push": true},
        ]);
        let refused = problem(put_preferences(&app, &t.officer, duplicate).await, 422).await;
        assert_eq!(refused["errors"][0]["field"], "preferences[1].type");
        for bad in [
            json!([{"type": "everything", "inbox": true, "stream": true, "push": true}]),
            json!([{"type": "report_submitted", "inbox": true}]),
            json!([{"type": "report_submitted", "inbox": "yes", "stream": true, "push": true}]),
            json!("all"),
        ] {
            let answered = put_preferences(&app, &t.officer, bad).await;
            assert_eq!(problem(answered, 400).await["code"], "invalid_body");
        }
        let preferences = json_of(
            app.get_as("/api/v1/notifications/preferences", token(&t.officer))
                .await,
            200,
        )
        .await;
        assert!(
            preferences["preferences"]
                .as_array()
                .expect("list")
                .iter()
                .all(|p| p["inbox"] == true),
            "nothing was kept"
        );
        let client = app
            .get_as("/api/v1/notifications/preferences", &t.reader)
            .await;
        assert_eq!(problem(client, 403).await["code"], "forbidden");
        let anonymous = app
            .client
            .get(format!("{}/api/v1/notifications/preferences", app.address))
            .send()
            .await
            .expect("request");
        assert_eq!(anonymous.status().as_u16(), 401);
    })
    .await;
}

/// How many notifications are stored for account `user`, inbox or not.
async fn stored_for(app: &TestApp, user: i64) -> i64 {
    use diesel::prelude::*;
    use kim_api::db::schema::notifications;
    app.db
        .read(move |conn| {
            Ok(notifications::table
                .filter(notifications::user_id.eq(user))
                .count()
                .get_result::<i64>(conn)?)
        })
        .await
        .expect("count")
}
