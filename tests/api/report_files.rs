//! Files of citizen reports through the shared attachments module: who adds them, who
//! downloads them (the report's access rule), and what is refused.

use reqwest::Method;
use serde_json::Value;

use crate::attachments::{PDF, PNG, decode, form, jpeg, stored_files, upload_to};
use crate::helpers::{TestApp, on_each_backend, problem, token};
use crate::reports::{id_of, json_of, report, submit, town};

fn files_of(id: i64) -> String {
    format!("/api/v1/reports/{id}/attachments")
}

async fn attach(
    app: &TestApp,
    id: i64,
    who: &str,
    name: &str,
    content: &[u8],
) -> reqwest::Response {
    upload_to(
        app,
        &files_of(id),
        who,
        form(name, "application/octet-stream", content),
        None,
    )
    .await
}

#[tokio::test]
async fn report_files_are_added_by_its_parties_and_downloaded_as_the_report_is_seen() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        let photo = decode(PNG);
        let added = json_of(
            attach(&app, id, token(&t.member_a), "lampu.png", &photo).await,
            201,
        )
        .await;
        assert_eq!(added["content_type"], "image/png");
        json_of(
            attach(&app, id, token(&t.officer), "surat.pdf", PDF).await,
            201,
        )
        .await;

        // Others who see it only read; those who do not see it get 404.
        problem(attach(&app, id, &t.reader, "x.png", &photo).await, 403).await;
        problem(
            attach(&app, id, token(&t.member_b), "x.png", &photo).await,
            404,
        )
        .await;
        problem(attach(&app, id, &t.writer, "x.png", &photo).await, 404).await;
        let own = id_of(&submit(&app, &t.writer, &report("normal")).await);
        json_of(
            attach(&app, own, &t.writer, "bukti.jpg", &jpeg()).await,
            201,
        )
        .await;

        let shown = json_of(
            app.get_as(&format!("/api/v1/reports/{id}"), token(&t.board_a))
                .await,
            200,
        )
        .await;
        assert_eq!(shown["version"], 3, "each file is a new version to sync");
        let names: Vec<&str> = shown["attachments"]
            .as_array()
            .map(|files| {
                files
                    .iter()
                    .filter_map(|f| f["file_name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(names, ["lampu.png", "surat.pdf"]);
        let listed = json_of(app.get_as("/api/v1/reports", token(&t.admin)).await, 200).await;
        let in_list = listed["data"]
            .as_array()
            .and_then(|data| data.iter().find(|r| r["id"] == id).cloned())
            .expect("listed");
        assert_eq!(in_list["attachments"], shown["attachments"]);

        let aid = added["id"].as_i64().expect("aid");
        let download = format!("/api/v1/reports/{id}/attachments/{aid}");
        for who in [token(&t.member_a), token(&t.admin), t.reader.as_str()] {
            let file = app.get_as(&download, who).await;
            assert_eq!(file.status().as_u16(), 200);
            assert_eq!(file.headers()["content-type"], "image/png");
            assert_eq!(
                file.bytes().await.expect("bytes").len() as i64,
                added["size_bytes"].as_i64().expect("size"),
                "the kept (cleaned) file"
            );
        }
        problem(app.get_as(&download, token(&t.member_b)).await, 404).await;
        problem(app.get_as(&download, &t.writer).await, 404).await;
        let anonymous = app.send(Method::GET, &download, None, None).await;
        problem(anonymous, 401).await;
        // A file of another report is not reached through this one.
        problem(
            app.get_as(
                &format!("/api/v1/reports/{own}/attachments/{aid}"),
                token(&t.admin),
            )
            .await,
            404,
        )
        .await;

        // A confidential report's files stay with gov and its KIM.
        let secret = id_of(&submit(&app, token(&t.member_a), &report("confidential")).await);
        let hidden = json_of(
            attach(&app, secret, token(&t.member_a), "rahasia.png", &photo).await,
            201,
        )
        .await;
        let hidden_path = format!("/api/v1/reports/{secret}/attachments/{}", hidden["id"]);
        problem(app.get_as(&hidden_path, &t.reader).await, 404).await;
        assert_eq!(
            app.get_as(&hidden_path, token(&t.officer))
                .await
                .status()
                .as_u16(),
            200
        );
    })
    .await;
}

#[tokio::test]
async fn bad_report_files_are_refused_and_leave_nothing() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        let member = token(&t.member_a);
        let script = b"#!/bin/sh\nrm -rf /\n";
        let refused = problem(attach(&app, id, member, "foto.png", script).await, 415).await;
        assert_eq!(refused["code"], "unsupported_file_type");
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
        problem(attach(&app, id, member, "peta.svg", svg).await, 415).await;
        let mut oversized = decode(PNG);
        oversized.resize(5 * 1024 * 1024 + 1, 0);
        problem(attach(&app, id, member, "besar.png", &oversized).await, 413).await;
        assert_eq!(stored_files(&app).await, (0, 0));

        for n in 0..10 {
            json_of(
                attach(&app, id, member, &format!("foto-{n}.png"), &decode(PNG)).await,
                201,
            )
            .await;
        }
        let full = problem(
            attach(&app, id, member, "foto-10.png", &decode(PNG)).await,
            409,
        )
        .await;
        assert_eq!(full["code"], "too_many_attachments");
        let shown: Value = json_of(
            app.get_as(&format!("/api/v1/reports/{id}"), member).await,
            200,
        )
        .await;
        assert_eq!(shown["attachments"].as_array().map(Vec::len), Some(10));
        assert_eq!(stored_files(&app).await, (10, 0));
    })
    .await;
}

/// The per-report limit holds under simultaneous uploads on PostgreSQL too: each
/// upload counts the report's files under the report's lock.
#[tokio::test]
async fn simultaneous_report_uploads_stop_at_the_limit() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(12));
        let mut tasks = Vec::new();
        for n in 0..12 {
            let who = if n % 2 == 0 {
                token(&t.member_a)
            } else {
                token(&t.officer)
            };
            let (app_url, client, who) =
                (app.url(&files_of(id)), app.client.clone(), who.to_owned());
            let body = form(&format!("{n}.png"), "image/png", &decode(PNG));
            let start = start.clone();
            tasks.push(tokio::spawn(async move {
                let request = client
                    .post(app_url)
                    .bearer_auth(who)
                    .header(
                        "Content-Type",
                        format!(
                            "multipart/form-data; boundary={}",
                            crate::attachments::BOUNDARY
                        ),
                    )
                    .body(body);
                start.wait().await;
                request.send().await.expect("upload").status().as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.expect("task"));
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            10,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 409).count(),
            2,
            "{statuses:?}"
        );
        assert_eq!(stored_files(&app).await, (10, 0));
    })
    .await;
}

#[tokio::test]
async fn report_files_are_listed_as_the_report_is_seen_and_removed_by_who_added_them() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        let photo = decode(PNG);
        let own = json_of(
            attach(&app, id, token(&t.member_a), "lampu.png", &photo).await,
            201,
        )
        .await;
        let officers = json_of(
            attach(&app, id, token(&t.officer), "surat.pdf", PDF).await,
            201,
        )
        .await;
        let file = |added: &Value| format!("{}/{}", files_of(id), added["id"]);

        let listed = json_of(app.get_as(&files_of(id), t.reader.as_str()).await, 200).await;
        assert_eq!(listed["data"].as_array().map(Vec::len), Some(2));
        assert_eq!(listed["data"][0]["id"], own["id"]);
        assert_eq!(listed["next_cursor"], Value::Null);
        problem(app.get_as(&files_of(id), token(&t.member_b)).await, 404).await;
        problem(app.send(Method::GET, &files_of(id), None, None).await, 401).await;

        let remove =
            async |path: &str, who: &str| app.send(Method::DELETE, path, Some(who), None).await;
        // Evidence stays: a KIM user removes only what it added, readers nothing, other
        // KIMs do not even see the report.
        problem(remove(&file(&officers), token(&t.member_a)).await, 403).await;
        problem(remove(&file(&own), t.reader.as_str()).await, 403).await;
        problem(remove(&file(&own), token(&t.member_b)).await, 404).await;
        problem(app.send(Method::DELETE, &file(&own), None, None).await, 401).await;
        assert_eq!(stored_files(&app).await, (2, 0));

        assert_eq!(
            remove(&file(&own), token(&t.member_a))
                .await
                .status()
                .as_u16(),
            204
        );
        assert_eq!(
            remove(&file(&officers), token(&t.officer))
                .await
                .status()
                .as_u16(),
            204
        );
        problem(remove(&file(&own), token(&t.member_a)).await, 404).await;
        problem(app.get_as(&file(&own), token(&t.officer)).await, 404).await;
        let listed = json_of(app.get_as(&files_of(id), token(&t.officer)).await, 200).await;
        assert_eq!(listed["data"], serde_json::json!([]));
        assert_eq!(
            stored_files(&app).await,
            (0, 0),
            "removed files leave the store"
        );
        let shown = json_of(
            app.get_as(&format!("/api/v1/reports/{id}"), token(&t.officer))
                .await,
            200,
        )
        .await;
        assert_eq!(
            shown["version"], 5,
            "each change of its files is a new version to sync"
        );
    })
    .await;
}
