//! Resumable uploads (tus 1.0): a file sent in pieces, resumed after a cut with the
//! official Python client, attached through the same checks as a file sent whole; every
//! protocol error over plain HTTP; races between pieces and between attachments.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::attachments::{PNG, bulletin, decode, stored_files};
use crate::helpers::{TestApp, on_each_backend, problem, spawn_instance, token};
use crate::media::{contains, phone_jpeg};

const UPLOADS: &str = "/api/v1/uploads";

async fn open_upload(app: &TestApp, token: &str, length: usize, name: &str) -> reqwest::Response {
    app.client
        .post(app.url(UPLOADS))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header(
            "Upload-Metadata",
            format!(
                "filename {},filetype aW1hZ2UvanBlZw==",
                STANDARD.encode(name)
            ),
        )
        .send()
        .await
        .expect("create")
}

/// Opens an upload of `length` bytes; answers its path (`Location`) and id.
async fn opened(app: &TestApp, token: &str, length: usize) -> (String, String) {
    let response = open_upload(app, token, length, "jalan rusak.jpg").await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.headers()["tus-resumable"], "1.0.0");
    assert!(response.headers().contains_key("upload-expires"));
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let state: Value = response.json().await.expect("json");
    assert_eq!(state["offset"], 0);
    assert_eq!(state["length"], length);
    let id = state["id"].as_str().expect("id").to_owned();
    assert_eq!(location, format!("{UPLOADS}/{id}"));
    (location, id)
}

/// A complete upload of `content` by the holder of `token`; answers its id.
pub(crate) async fn complete_upload(app: &TestApp, token: &str, content: &[u8]) -> String {
    let (location, id) = opened(app, token, content.len()).await;
    let sent = patch(app, &location, token, 0, content).await;
    assert_eq!(sent.status().as_u16(), 204);
    id
}

async fn patch(
    app: &TestApp,
    location: &str,
    token: &str,
    offset: usize,
    bytes: &[u8],
) -> reqwest::Response {
    app.client
        .patch(app.url(location))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body(bytes.to_vec())
        .send()
        .await
        .expect("patch")
}

async fn offset_of(app: &TestApp, location: &str, token: &str) -> Option<u64> {
    let response = app
        .client
        .head(app.url(location))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("head");
    if response.status().as_u16() == 404 {
        return None;
    }
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    Some(
        response.headers()["upload-offset"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("a number"),
    )
}

async fn attach(
    app: &TestApp,
    bulletin: i64,
    token: &str,
    upload_id: &str,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!(
            "/api/v1/bulletins/{bulletin}/attachments/from-upload"
        )))
        .bearer_auth(token)
        .json(&json!({ "upload_id": upload_id }));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("attach")
}

/// The administrator signed in anew, after the clock moved past its token's lifetime.
#[tokio::test]
async fn a_photo_sent_in_pieces_is_attached_cleaned_once_and_its_pieces_go() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), true).await;
        let options = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(UPLOADS))
            .send()
            .await
            .expect("options");
        assert_eq!(options.status().as_u16(), 204);
        assert_eq!(options.headers()["tus-version"], "1.0.0");
        assert_eq!(
            options.headers()["tus-extension"],
            "creation,expiration,termination"
        );
        assert_eq!(options.headers()["tus-max-size"], "5242880");

        let photo = phone_jpeg();
        let (location, upload_id) = opened(&app, token(&admin), photo.len()).await;
        let third = photo.len() / 3;
        for (start, end) in [(0, third), (third, 2 * third), (2 * third, photo.len())] {
            assert_eq!(
                offset_of(&app, &location, token(&admin)).await,
                Some(start as u64)
            );
            let sent = patch(&app, &location, token(&admin), start, &photo[start..end]).await;
            assert_eq!(sent.status().as_u16(), 204);
            assert_eq!(sent.headers()["upload-offset"], end.to_string().as_str());
            assert_eq!(sent.headers()["tus-resumable"], "1.0.0");
        }
        assert_eq!(app.storage.piece_keys().await.expect("pieces").len(), 3);

        let attached = attach(&app, id, token(&admin), &upload_id, Some("tus-1")).await;
        assert_eq!(attached.status().as_u16(), 201);
        let location_of_file = attached.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        let attachment: Value = attached.json().await.expect("json");
        assert_eq!(attachment["content_type"], "image/jpeg");
        assert_eq!(attachment["file_name"], "jalan rusak.jpg");
        assert_eq!(attachment["variants"].as_array().map(Vec::len), Some(2));
        // Cleaned as a file sent whole is: upright, and nothing of the phone's metadata.
        let kept = app
            .get(&location_of_file)
            .await
            .bytes()
            .await
            .expect("bytes");
        assert!(!contains(&kept, "Exif") && !contains(&kept, "Budi Santoso"));
        let upright = image::load_from_memory(&kept).expect("kept image");
        assert!(upright.height() > upright.width(), "turned as EXIF said");

        // The upload is used up: its pieces and row are gone, a retry with the key
        // answers the first attachment, another attachment of it is refused.
        assert!(app.storage.piece_keys().await.expect("pieces").is_empty());
        assert_eq!(offset_of(&app, &location, token(&admin)).await, None);
        let replayed = attach(&app, id, token(&admin), &upload_id, Some("tus-1")).await;
        assert_eq!(replayed.status().as_u16(), 201);
        assert_eq!(replayed.headers()["idempotent-replayed"], "true");
        let again = attach(&app, id, token(&admin), &upload_id, None).await;
        assert_eq!(problem(again, 422).await["code"], "upload_not_found");
        assert_eq!(stored_files(&app).await, (1, 0));
    })
    .await;
}

#[tokio::test]
async fn a_transfer_cut_halfway_resumes_with_the_official_tus_client() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), true).await;
        let photo = phone_jpeg();
        let Some(output) = crate::python::run_script(
            "tus_resume.py",
            &json!({
                "endpoint": app.address,
                "token": token(&admin),
                "file": STANDARD.encode(&photo),
                "file_name": "banjir.jpg",
            }),
        ) else {
            return;
        };
        let seen: Value = serde_json::from_str(&output).expect("the script's JSON");
        // The cut request is answered once what arrived is stored: the client awaited
        // that answer before asking where to resume.
        assert_eq!(seen["cut_answer"], "HTTP/1.1 400 Bad Request");
        assert_eq!(
            seen["offset_after_cut"],
            photo.len() / 2,
            "the bytes before the cut were kept"
        );
        assert_eq!(seen["offset_at_end"], photo.len());
        let url = seen["url"].as_str().expect("url");
        let upload_id = url.rsplit('/').next().expect("id");
        let attached = attach(&app, id, token(&admin), upload_id, None).await;
        assert_eq!(attached.status().as_u16(), 201);
        let attachment: Value = attached.json().await.expect("json");
        assert_eq!(attachment["file_name"], "banjir.jpg");
        let download = app
            .get(&format!(
                "/api/v1/bulletins/{id}/attachments/{}",
                attachment["id"]
            ))
            .await
            .bytes()
            .await
            .expect("bytes");
        let sent = image::load_from_memory(&photo).expect("sent");
        let kept = image::load_from_memory(&download).expect("kept");
        assert_eq!(
            (kept.width(), kept.height()),
            (sent.height(), sent.width()),
            "the whole photo arrived, turned upright"
        );
    })
    .await;
}

#[tokio::test]
async fn every_protocol_error_is_answered_plainly_and_keeps_nothing_wrong() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let other = app.user(&admin, "gov_officer", None).await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), false).await;
        let png = decode(PNG);
        let (location, upload_id) = opened(&app, token(&admin), png.len()).await;

        // Without a token, or without speaking tus 1.0.0.
        let anonymous = app
            .client
            .head(app.url(&location))
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .expect("head");
        assert_eq!(anonymous.status().as_u16(), 401);
        for version in [None, Some("0.2.2")] {
            let mut request = app
                .client
                .post(app.url(UPLOADS))
                .bearer_auth(token(&admin))
                .header("Upload-Length", "10");
            if let Some(version) = version {
                request = request.header("Tus-Resumable", version);
            }
            let refused = request.send().await.expect("create");
            assert_eq!(refused.headers()["tus-version"], "1.0.0");
            assert_eq!(
                problem(refused, 412).await["code"],
                "tus_version_unsupported"
            );
        }
        // Lengths: missing, not a number, empty, over the largest file.
        for length in ["", "ten", "-1", "0", "99999999999999999999"] {
            let refused = app
                .client
                .post(app.url(UPLOADS))
                .bearer_auth(token(&admin))
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", length)
                .send()
                .await
                .expect("create");
            assert_eq!(
                problem(refused, 400).await["code"],
                "invalid_header",
                "{length:?}"
            );
        }
        let too_large = open_upload(&app, token(&admin), 5 * 1024 * 1024 + 1, "x.jpg").await;
        assert_eq!(problem(too_large, 413).await["code"], "upload_too_large");
        let bad_metadata = app
            .client
            .post(app.url(UPLOADS))
            .bearer_auth(token(&admin))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", "10")
            .header("Upload-Metadata", "filename not*base64")
            .send()
            .await
            .expect("create");
        assert_eq!(problem(bad_metadata, 400).await["code"], "invalid_header");

        // Pieces: the wrong type, the wrong offset, past the declared length.
        let wrong_type = app
            .client
            .patch(app.url(&location))
            .bearer_auth(token(&admin))
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/octet-stream")
            .header("Upload-Offset", "0")
            .body(png.clone())
            .send()
            .await
            .expect("patch");
        assert_eq!(
            problem(wrong_type, 415).await["code"],
            "unsupported_media_type"
        );
        let wrong_offset = patch(&app, &location, token(&admin), 5, &png[5..]).await;
        assert_eq!(
            problem(wrong_offset, 409).await["code"],
            "upload_offset_mismatch"
        );
        let too_long = [png.as_slice(), b"extra"].concat();
        let past_end = patch(&app, &location, token(&admin), 0, &too_long).await;
        assert_eq!(problem(past_end, 413).await["code"], "beyond_upload_length");
        assert_eq!(offset_of(&app, &location, token(&admin)).await, Some(0));
        assert!(app.storage.piece_keys().await.expect("pieces").is_empty());

        // Incomplete: not attachable yet.
        let half = png.len() / 2;
        assert_eq!(
            patch(&app, &location, token(&admin), 0, &png[..half])
                .await
                .status()
                .as_u16(),
            204
        );
        let early = attach(&app, id, token(&admin), &upload_id, None).await;
        assert_eq!(problem(early, 422).await["code"], "upload_incomplete");

        // Unknown uploads, and someone else's, are the same 404 everywhere.
        let unknown = format!("{UPLOADS}/0123456789abcdef0123456789abcdef");
        for path in [
            unknown.as_str(),
            "/api/v1/uploads/not-an-id",
            location.as_str(),
        ] {
            let who = if path == location { &other } else { &admin };
            assert_eq!(offset_of(&app, path, token(who)).await, None, "{path}");
            let piece = patch(&app, path, token(who), half, &png[half..]).await;
            assert_eq!(piece.status().as_u16(), 404, "{path}");
            let gone = app
                .client
                .delete(app.url(path))
                .bearer_auth(token(who))
                .header("Tus-Resumable", "1.0.0")
                .send()
                .await
                .expect("delete");
            assert_eq!(gone.status().as_u16(), 404, "{path}");
        }
        let not_theirs = attach(&app, id, token(&other), &upload_id, None).await;
        assert_eq!(problem(not_theirs, 422).await["code"], "upload_not_found");
        assert_eq!(
            offset_of(&app, &location, token(&admin)).await,
            Some(half as u64)
        );

        // What is not an accepted file is refused on attachment, as a file sent whole.
        let script = b"#!/bin/sh\necho pwned\n";
        let (script_at, script_id) = opened(&app, token(&admin), script.len()).await;
        assert_eq!(
            patch(&app, &script_at, token(&admin), 0, script)
                .await
                .status()
                .as_u16(),
            204
        );
        let refused = attach(&app, id, token(&admin), &script_id, None).await;
        assert_eq!(problem(refused, 415).await["code"], "unsupported_file_type");
        assert_eq!(stored_files(&app).await, (0, 0));

        // Termination: the upload and its pieces go.
        let terminated = app
            .client
            .delete(app.url(&location))
            .bearer_auth(token(&admin))
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .expect("delete");
        assert_eq!(terminated.status().as_u16(), 204);
        assert_eq!(offset_of(&app, &location, token(&admin)).await, None);
        assert_eq!(
            app.storage.piece_keys().await.expect("pieces").len(),
            1,
            "the script's"
        );
    })
    .await;
}

#[tokio::test]
async fn of_two_pieces_for_one_offset_through_two_instances_exactly_one_counts() {
    on_each_backend(async |app| {
        // Two instances share the store only through S3; on the filesystem both
        // pieces go through the one instance.
        let second = match app.storage_url {
            Some(_) => Some(spawn_instance(&app, |_| {}).await),
            None => None,
        };
        let peer = second.as_ref().unwrap_or(&app);
        let admin = app.bootstrap_admin().await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), false).await;
        let png = decode(PNG);
        for round in 0..4 {
            let (location, upload_id) = opened(&app, token(&admin), png.len()).await;
            let start = std::sync::Arc::new(tokio::sync::Barrier::new(2));
            let mut sending = Vec::new();
            for instance in [&app, peer] {
                let (start, client, url) = (
                    start.clone(),
                    instance.client.clone(),
                    instance.url(&location),
                );
                let (bearer, body) = (token(&admin).to_owned(), png.clone());
                sending.push(tokio::spawn(async move {
                    start.wait().await;
                    client
                        .patch(url)
                        .bearer_auth(bearer)
                        .header("Tus-Resumable", "1.0.0")
                        .header("Content-Type", "application/offset+octet-stream")
                        .header("Upload-Offset", "0")
                        .body(body)
                        .send()
                        .await
                        .expect("patch")
                        .status()
                        .as_u16()
                }));
            }
            let mut statuses = Vec::new();
            for task in sending {
                statuses.push(task.await.expect("task"));
            }
            statuses.sort_unstable();
            assert_eq!(statuses, [204, 409], "round {round}");
            assert_eq!(
                app.storage.piece_keys().await.expect("pieces").len(),
                1,
                "the losing piece is removed"
            );
            let attached = attach(peer, id, token(&admin), &upload_id, None).await;
            assert_eq!(attached.status().as_u16(), 201, "round {round}");
        }
    })
    .await;
}

#[tokio::test]
async fn one_upload_attached_twice_at_once_becomes_one_attachment() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let first = bulletin(&app, &admin, json!({"scope": "public"}), false).await;
        let second = bulletin(&app, &admin, json!({"scope": "public"}), false).await;
        let png = decode(PNG);
        let (location, upload_id) = opened(&app, token(&admin), png.len()).await;
        assert_eq!(
            patch(&app, &location, token(&admin), 0, &png)
                .await
                .status()
                .as_u16(),
            204
        );
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let mut attaching = Vec::new();
        for item in [first, second] {
            let (start, client) = (start.clone(), app.client.clone());
            let url = app.url(&format!("/api/v1/bulletins/{item}/attachments/from-upload"));
            let (bearer, upload_id) = (token(&admin).to_owned(), upload_id.clone());
            attaching.push(tokio::spawn(async move {
                start.wait().await;
                client
                    .post(url)
                    .bearer_auth(bearer)
                    .json(&json!({ "upload_id": upload_id }))
                    .send()
                    .await
                    .expect("attach")
                    .status()
                    .as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for task in attaching {
            statuses.push(task.await.expect("task"));
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 422]);
        assert_eq!(
            stored_files(&app).await,
            (1, 0),
            "the loser's copy is removed"
        );
        assert!(app.storage.piece_keys().await.expect("pieces").is_empty());
    })
    .await;
}

#[tokio::test]
async fn unfinished_uploads_expire_and_the_sweep_removes_them_with_their_pieces() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let png = decode(PNG);
        let (stale, _) = opened(&app, token(&admin), png.len()).await;
        let sent = patch(&app, &stale, token(&admin), 0, &png[..10]).await;
        assert_eq!(sent.status().as_u16(), 204);
        // Half a day later another upload gets its first bytes; the first one's last
        // bytes are then a day and an hour old.
        app.advance_clock(chrono::Duration::hours(13));
        let admin = app.signed_in_again(&admin).await;
        let (fresh, _) = opened(&app, token(&admin), png.len()).await;
        let sent = patch(&app, &fresh, token(&admin), 0, &png[..10]).await;
        assert_eq!(sent.status().as_u16(), 204);
        app.advance_clock(chrono::Duration::hours(12));
        let admin = app.signed_in_again(&admin).await;
        assert_eq!(
            offset_of(&app, &stale, token(&admin)).await,
            None,
            "expired is unknown"
        );
        let hour = std::time::Duration::from_secs(3600);
        let (_, removed) = app.storage.sweep(&app.db, hour).await.expect("sweep");
        assert_eq!(removed, 1, "the expired upload's piece");
        assert_eq!(app.storage.piece_keys().await.expect("pieces").len(), 1);
        assert_eq!(offset_of(&app, &fresh, token(&admin)).await, Some(10));

        // A piece whose row never committed (a crash between the two) goes after the
        // grace period.
        let orphan = "tus/0123456789abcdef0123456789abcdef/0000000000-0011223344556677";
        app.storage
            .put(orphan, png.clone())
            .await
            .expect("orphan piece");
        let (_, removed) = app.storage.sweep(&app.db, hour).await.expect("sweep");
        assert_eq!(removed, 0, "within its grace period");
        let (_, removed) = app
            .storage
            .sweep(&app.db, std::time::Duration::ZERO)
            .await
            .expect("sweep");
        assert_eq!(removed, 1, "the orphan piece, not the fresh upload's");
        assert_eq!(offset_of(&app, &fresh, token(&admin)).await, Some(10));
    })
    .await;
}
