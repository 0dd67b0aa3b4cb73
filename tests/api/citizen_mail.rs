//! Mail to citizens who follow a report (SPEC §11), through a real SMTP server
//! (aiosmtpd): double opt-in, mail on status changes and public comments, no more than
//! the tracking page shows, one-click unsubscribe (RFC 8058), limits.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::helpers::{TestApp, on_each_backend, on_each_backend_with, problem, token};
use crate::python;
use crate::reports::{id_of, move_to, report, submit, town};

/// The SMTP server of a test, and the mail it accepted.
struct Sink {
    port: u16,
    lines: Lines<BufReader<ChildStdout>>,
    _server: Child,
}

impl Sink {
    /// `None` without the Python environment.
    async fn start() -> Option<Sink> {
        if !python::enabled() {
            eprintln!("skipped: KIM_TEST_PYTHON=0 (the SMTP server is Python's aiosmtpd)");
            return None;
        }
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/smtp_sink.py");
        let mut server = Command::new(python::python())
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP server");
        let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
        let first = lines.next_line().await.expect("read").expect("the port");
        let port: Value = serde_json::from_str(&first).expect("json");
        Some(Sink {
            port: u16::try_from(port["port"].as_u64().expect("port")).expect("port"),
            lines,
            _server: server,
        })
    }

    async fn next_mail(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(30), self.lines.next_line())
            .await
            .expect("a mail arrived in time")
            .expect("read")
            .expect("the server runs");
        serde_json::from_str(&line).expect("json")
    }

    /// Waits until the service has sent everything it queued, then answers the mail
    /// that arrived meanwhile and was not taken yet (the server prints a mail before
    /// it acknowledges it, and the service dequeues it after).
    async fn rest(&mut self, app: &TestApp) -> Vec<Value> {
        app.outbox_settled().await;
        for _ in 0..1000 {
            let queued = app
                .db
                .read(|conn| {
                    use diesel::prelude::*;
                    Ok(kim_api::db::schema::mail_outbox::table
                        .count()
                        .get_result::<i64>(conn)?)
                })
                .await
                .expect("count");
            if queued == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut rest = Vec::new();
        while let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_millis(50), self.lines.next_line()).await
        {
            rest.push(serde_json::from_str(&line).expect("json"));
        }
        rest
    }
}

/// The link in `mail` that ends with `action`, as a path of the service.
fn link(app: &TestApp, mail: &Value, action: &str) -> String {
    let body = mail["body"].as_str().expect("body");
    let url = body
        .split_whitespace()
        .find(|word| word.starts_with("http") && word.ends_with(action))
        .unwrap_or_else(|| panic!("no {action} link in {body}"));
    url.strip_prefix(&app.address)
        .expect("a link to the service")
        .to_owned()
}

async fn follow(app: &TestApp, code: &str, email: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/reports/track/{code}/subscriptions")))
        .json(&json!({"email": email}))
        .send()
        .await
        .expect("subscribe")
}

async fn post_form(app: &TestApp, path: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .expect("post")
}

#[tokio::test]
async fn a_confirmed_citizen_hears_of_changes_and_one_click_ends_it() {
    let Some(mut sink) = Sink::start().await else {
        return;
    };
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    on_each_backend_with(
        |config| config.smtp_url = Some(smtp.clone()),
        async |app| {
            let t = town(&app).await;
            let submitted = submit(&app, token(&t.member_a), &report("normal")).await;
            let id = id_of(&submitted);
            let code = submitted["tracking_code"]
                .as_str()
                .expect("code")
                .to_owned();
            assert_eq!(
                follow(&app, &code, "Warga@Example.com")
                    .await
                    .status()
                    .as_u16(),
                202
            );
            let confirmation = sink.next_mail().await;
            assert_eq!(confirmation["to"], json!(["Warga@Example.com"]));
            assert!(
                confirmation["subject"]
                    .as_str()
                    .expect("subject")
                    .contains(&code)
            );
            assert_eq!(
                confirmation["list_unsubscribe_post"],
                "List-Unsubscribe=One-Click"
            );
            // Asking again (any case) sends nothing more, and is answered the same.
            assert_eq!(
                follow(&app, &code, "warga@example.com")
                    .await
                    .status()
                    .as_u16(),
                202
            );

            // Before the confirmation, a change is not mailed.
            let verified =
                move_to(&app, token(&t.officer), id, json!({"status": "verified"})).await;
            assert_eq!(verified.status().as_u16(), 200);
            assert!(sink.rest(&app).await.is_empty());

            let confirm = link(&app, &confirmation, "/confirm");
            // Opening the link (a mail scanner does) changes nothing; its button does.
            let opened = app.client.get(app.url(&confirm)).send().await.expect("get");
            assert_eq!(opened.status().as_u16(), 200);
            assert!(
                opened
                    .text()
                    .await
                    .expect("page")
                    .contains("<form method=\"post\">")
            );
            assert!(sink.rest(&app).await.is_empty());
            assert_eq!(post_form(&app, &confirm, "").await.status().as_u16(), 200);

            let moved = move_to(
                &app,
                token(&t.officer),
                id,
                json!({"status": "in_progress"}),
            )
            .await;
            assert_eq!(moved.status().as_u16(), 200);
            let update = sink.next_mail().await;
            assert!(
                update["body"]
                    .as_str()
                    .expect("body")
                    .contains("sedang ditangani"),
                "{update}"
            );
            assert!(
                !update["body"].as_str().expect("body").contains("Siti"),
                "{update}"
            );
            let comment = json!({"body": "Petugas datang hari Kamis.", "visibility": "public"});
            let commented = app
                .post_as(
                    &format!("/api/v1/reports/{id}/comments"),
                    token(&t.officer),
                    &comment,
                )
                .await;
            assert_eq!(commented.status().as_u16(), 201);
            let internal = json!({"body": "Anggaran dari pos darurat.", "visibility": "internal"});
            let noted = app
                .post_as(
                    &format!("/api/v1/reports/{id}/comments"),
                    token(&t.officer),
                    &internal,
                )
                .await;
            assert_eq!(noted.status().as_u16(), 201);
            let told = sink.rest(&app).await;
            assert_eq!(told.len(), 1, "{told:?}");
            assert!(
                told[0]["body"]
                    .as_str()
                    .expect("body")
                    .contains("Petugas datang hari Kamis.")
            );

            // One click, as a mail program does it (RFC 8058), and nothing follows.
            let unsubscribe = told[0]["list_unsubscribe"].as_str().expect("header");
            let unsubscribe = unsubscribe.trim_start_matches('<').trim_end_matches('>');
            let path = unsubscribe
                .strip_prefix(&app.address)
                .expect("a link to the service");
            assert_eq!(
                post_form(&app, path, "List-Unsubscribe=One-Click")
                    .await
                    .status()
                    .as_u16(),
                200
            );
            assert_eq!(
                post_form(&app, path, "List-Unsubscribe=One-Click")
                    .await
                    .status()
                    .as_u16(),
                200
            );
            let resolved = move_to(
                &app,
                token(&t.officer),
                id,
                json!({"status": "resolved", "note": "Selesai"}),
            )
            .await;
            assert_eq!(resolved.status().as_u16(), 200);
            assert!(sink.rest(&app).await.is_empty());
            // The confirmation link of an ended subscription leads nowhere.
            problem(post_form(&app, &confirm, "").await, 404).await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_confidential_report_is_mailed_as_its_tracking_page_shows_it() {
    let Some(mut sink) = Sink::start().await else {
        return;
    };
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    on_each_backend_with(
        |config| config.smtp_url = Some(smtp.clone()),
        async |app| {
            let t = town(&app).await;
            // The reporter asks at submission (double opt-in all the same).
            let mut confidential = report("confidential");
            confidential["reporter_contact"] = json!("pelapor@example.com");
            confidential["notify_reporter"] = json!(true);
            let submitted = submit(&app, token(&t.member_a), &confidential).await;
            let id = id_of(&submitted);
            let confirmation = sink.next_mail().await;
            assert_eq!(confirmation["to"], json!(["pelapor@example.com"]));
            assert_eq!(post_form(&app, &link(&app, &confirmation, "/confirm"), "").await.status().as_u16(), 200);
            let comment = json!({"body": "Nama pejabat yang dilaporkan sudah kami catat.", "visibility": "public"});
            let commented = app.post_as(&format!("/api/v1/reports/{id}/comments"), token(&t.officer), &comment).await;
            assert_eq!(commented.status().as_u16(), 201);
            let mail = sink.next_mail().await;
            let body = mail["body"].as_str().expect("body");
            assert!(!body.contains("pejabat"), "{body}");
            assert!(body.contains("rahasia"), "{body}");

            // notify_reporter needs an e-mail address to write to.
            let mut by_phone = report("normal");
            by_phone["notify_reporter"] = json!(true);
            let refused = problem(app.post_as("/api/v1/reports", token(&t.member_a), &by_phone).await, 422).await;
            assert_eq!(refused["errors"][0]["field"], "notify_reporter");
        },
    )
    .await;
}

#[tokio::test]
async fn following_a_report_is_checked_and_limited() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let code = submit(&app, token(&t.member_a), &report("normal")).await["tracking_code"]
            .as_str()
            .expect("code")
            .to_owned();
        problem(follow(&app, &code, "bukan-surel").await, 422).await;
        problem(
            follow(&app, "MTR-AAAA-AAAA", "warga@example.com").await,
            404,
        )
        .await;
        let extra = app
            .client
            .post(app.url(&format!("/api/v1/reports/track/{code}/subscriptions")))
            .json(&json!({"email": "warga@example.com", "name": "Budi"}))
            .send()
            .await
            .expect("post");
        problem(extra, 400).await;
        for forged in ["1-00000000000000000000000000000000", "abc"] {
            let path = format!("/api/v1/report-subscriptions/{forged}/confirm");
            problem(post_form(&app, &path, "").await, 404).await;
            let path = format!("/api/v1/report-subscriptions/{forged}/unsubscribe");
            problem(
                post_form(&app, &path, "List-Unsubscribe=One-Click").await,
                404,
            )
            .await;
        }
        // An address is asked for at most five times a day.
        for n in 0..5 {
            let other = submit(&app, token(&t.member_b), &report("normal")).await["tracking_code"]
                .as_str()
                .expect("code")
                .to_owned();
            assert_eq!(
                follow(&app, &other, "sasaran@example.com")
                    .await
                    .status()
                    .as_u16(),
                202,
                "{n}"
            );
        }
        let limited = follow(&app, &code, "sasaran@example.com").await;
        assert_eq!(limited.status().as_u16(), 429);
        assert!(limited.headers().contains_key("retry-after"));
        // A report takes ten requests an hour.
        for n in 0..10 {
            assert_eq!(
                follow(&app, &code, &format!("warga{n}@example.com"))
                    .await
                    .status()
                    .as_u16(),
                202
            );
        }
        problem(follow(&app, &code, "warga10@example.com").await, 429).await;
    })
    .await;
}

#[tokio::test]
async fn a_citizen_answers_the_feedback_question_from_its_mail() {
    let Some(mut sink) = Sink::start().await else {
        return;
    };
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    on_each_backend_with(
        |config| config.smtp_url = Some(smtp.clone()),
        async |app| {
            let t = town(&app).await;
            let submitted = submit(&app, token(&t.member_a), &report("normal")).await;
            let id = id_of(&submitted);
            let code = submitted["tracking_code"]
                .as_str()
                .expect("code")
                .to_owned();
            assert_eq!(
                follow(&app, &code, "warga@example.com")
                    .await
                    .status()
                    .as_u16(),
                202
            );
            let confirmation = sink.next_mail().await;
            assert_eq!(
                post_form(&app, &link(&app, &confirmation, "/confirm"), "")
                    .await
                    .status()
                    .as_u16(),
                200
            );
            for status in ["verified", "in_progress", "resolved"] {
                let moved = move_to(&app, token(&t.officer), id, json!({"status": status})).await;
                assert_eq!(moved.status().as_u16(), 200, "{status}");
            }
            let told = sink.rest(&app).await;
            assert_eq!(told.len(), 3, "{told:?}");
            // Sent in parallel: in any order.
            let subject_of = |mail: &Value| mail["subject"].as_str().expect("subject").to_owned();
            let resolved = told
                .iter()
                .find(|mail| subject_of(mail).ends_with("selesai"))
                .expect("the resolution's mail");
            assert!(
                resolved["body"]
                    .as_str()
                    .expect("body")
                    .contains("memuaskan"),
                "{resolved}"
            );
            // Only the resolution asks, and only its link answers.
            for other in told
                .iter()
                .filter(|mail| !subject_of(mail).ends_with("selesai"))
            {
                assert!(
                    !other["body"].as_str().expect("body").contains("/feedback"),
                    "{other}"
                );
            }
            let feedback = link(&app, resolved, "/feedback");
            let form = app
                .client
                .get(app.url(&feedback))
                .send()
                .await
                .expect("get");
            assert_eq!(form.status().as_u16(), 200);
            assert!(
                form.text()
                    .await
                    .expect("page")
                    .contains("name=\"satisfied\"")
            );

            problem(post_form(&app, &feedback, "satisfied=maybe").await, 400).await;
            let answered =
                post_form(&app, &feedback, "satisfied=false&comment=Lampu+masih+padam").await;
            let status = answered.status().as_u16();
            assert_eq!(status, 200, "{}", answered.text().await.unwrap_or_default());
            let report = crate::reports::json_of(
                app.get_as(&format!("/api/v1/reports/{id}"), token(&t.officer))
                    .await,
                200,
            )
            .await;
            assert_eq!(report["status"], "in_progress");
            let tracked = crate::reports::json_of(
                app.get(&format!("/api/v1/reports/track/{code}")).await,
                200,
            )
            .await;
            let last = tracked["timeline"]
                .as_array()
                .expect("timeline")
                .last()
                .cloned()
                .expect("entry");
            assert_eq!(last["author_side"], "citizen");
            assert_eq!(last["body"], "Lampu masih padam");
            // One answer per respondent.
            let again = problem(post_form(&app, &feedback, "satisfied=true").await, 409).await;
            assert_eq!(again["code"], "feedback_closed");
            let overview = crate::reports::json_of(
                app.get_as("/api/v1/stats/overview", token(&t.officer))
                    .await,
                200,
            )
            .await;
            assert_eq!(overview["feedback"]["answers"], 1);
            // The reopening is news to the follower too.
            let reopened = sink.rest(&app).await;
            assert_eq!(reopened.len(), 1, "{reopened:?}");
            assert!(
                reopened[0]["subject"]
                    .as_str()
                    .expect("subject")
                    .ends_with("sedang ditangani")
            );
        },
    )
    .await;
}

#[tokio::test]
async fn simultaneous_requests_to_follow_one_report_keep_its_limit() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let code = submit(&app, token(&t.member_a), &report("normal")).await["tracking_code"]
            .as_str()
            .expect("code")
            .to_owned();
        // Released together: the count is taken under the report's lock (PostgreSQL writes
        // them at once; SQLite one after another).
        let asks = (0..14).map(|n| {
            let (app, code) = (&app, &code);
            async move {
                follow(app, code, &format!("bersama{n}@example.com"))
                    .await
                    .status()
                    .as_u16()
            }
        });
        let statuses = futures_util::future::join_all(asks).await;
        assert_eq!(
            statuses.iter().filter(|&&status| status == 202).count(),
            10,
            "{statuses:?}"
        );
        assert!(
            statuses
                .iter()
                .all(|&status| status == 202 || status == 429),
            "{statuses:?}"
        );
    })
    .await;
}
