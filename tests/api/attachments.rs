//! Files of bulletins through the shared attachments module: type by content, size
//! stopped while streaming, the bulletin's visibility for downloads, no orphan files,
//! idempotent uploads and what a crash leaves behind.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, TestUser, on_each_backend, problem};

pub(crate) const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
/// A small photo, encoded here: uploads must decode completely.
pub(crate) fn jpeg() -> Vec<u8> {
    let pixels = image::RgbImage::from_fn(8, 6, |x, y| {
        image::Rgb([(x * 30) as u8, (y * 40) as u8, 90])
    });
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 80)
        .encode_image(&pixels)
        .expect("encode a JPEG");
    bytes
}
pub(crate) const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n";
pub(crate) const BOUNDARY: &str = "kim-test-boundary-7MA4YWxkTrZu0gW";

pub(crate) fn decode(text: &str) -> Vec<u8> {
    STANDARD.decode(text).expect("base64")
}

pub(crate) fn form(file_name: &str, declared_type: &str, content: &[u8]) -> Vec<u8> {
    form_with(BOUNDARY, "file", file_name, declared_type, content)
}

fn form_with(
    boundary: &str,
    field: &str,
    file_name: &str,
    declared_type: &str,
    content: &[u8],
) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: {declared_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

pub(crate) async fn upload(
    app: &TestApp,
    bulletin: i64,
    user: &TestUser,
    body: Vec<u8>,
    key: Option<&str>,
) -> reqwest::Response {
    let path = format!("/api/v1/bulletins/{bulletin}/attachments");
    upload_to(app, &path, &user.session.access_token, body, key).await
}

/// A multipart upload of `body` (from [`form`]) to `path`.
pub(crate) async fn upload_to(
    app: &TestApp,
    path: &str,
    token: &str,
    body: Vec<u8>,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("upload")
}

pub(crate) async fn bulletin(
    app: &TestApp,
    author: &TestUser,
    audience: Value,
    publish: bool,
) -> i64 {
    let created: Value = app
        .post_as(
            "/api/v1/bulletins",
            &author.session.access_token,
            &json!({"title": "Poster", "body": "Lihat lampiran.", "category": "umum", "audience": audience}),
        )
        .await
        .json()
        .await
        .expect("json");
    let id = created["id"].as_i64().expect("id");
    if publish {
        let published = app
            .post_as(
                &format!("/api/v1/bulletins/{id}/publish"),
                &author.session.access_token,
                &json!({}),
            )
            .await;
        assert_eq!(published.status().as_u16(), 200);
    }
    id
}

/// Files in the app's store, their variants not counted, and part files of uploads
/// still arriving: (stored, parts).
pub(crate) async fn stored_files(app: &TestApp) -> (usize, usize) {
    let keys = app.storage.keys().await.expect("the store lists");
    let stored = keys.iter().filter(|key| !key.contains('-')).count();
    let parts = std::fs::read_dir(app.storage.incoming())
        .expect("incoming dir")
        .count();
    (stored, parts)
}

#[tokio::test]
async fn real_images_and_pdfs_are_stored_and_downloaded_as_attachments() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), true).await;
        for (name, declared, content, mime) in [
            ("poster.png", "image/png", decode(PNG), "image/png"),
            // The declared type is ignored: the bytes are a JPEG.
            ("foto.bin", "application/octet-stream", jpeg(), "image/jpeg"),
            (
                "../../etc/surat edaran.pdf",
                "application/pdf",
                PDF.to_vec(),
                "application/pdf",
            ),
        ] {
            let response = upload(&app, id, &admin, form(name, declared, &content), None).await;
            assert_eq!(response.status().as_u16(), 201);
            let location = response.headers()["location"]
                .to_str()
                .expect("location")
                .to_owned();
            let attachment: Value = response.json().await.expect("json");
            assert_eq!(attachment["content_type"], mime);
            // Anyone who sees the public bulletin downloads the file as kept: cleaned
            // (tests/api/media.rs), the same pixels, and as the listing describes it.
            let download = app.get(&location).await;
            assert_eq!(download.status().as_u16(), 200);
            assert_eq!(download.headers()["content-type"], mime);
            assert_eq!(download.headers()["x-content-type-options"], "nosniff");
            let disposition = download.headers()["content-disposition"]
                .to_str()
                .expect("ascii")
                .to_owned();
            assert!(disposition.starts_with("attachment"), "{disposition}");
            let kept = download.bytes().await.expect("bytes");
            assert_eq!(attachment["size_bytes"], kept.len());
            if mime == "application/pdf" {
                assert!(kept.starts_with(b"%PDF-"));
            } else {
                let sent = image::load_from_memory(&content).expect("sent image");
                let kept = image::load_from_memory(&kept).expect("kept image");
                assert_eq!((kept.width(), kept.height()), (sent.width(), sent.height()));
            }
        }
        let shown: Value = app
            .get(&format!("/api/v1/bulletins/{id}"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(shown["attachments"].as_array().map(Vec::len), Some(3));
        assert_eq!(
            shown["attachments"][2]["file_name"], "surat edaran.pdf",
            "no path, only a name"
        );
        assert_eq!(stored_files(&app).await, (3, 0));
    })
    .await;
}

#[tokio::test]
async fn other_content_is_refused_whatever_its_name_and_leaves_nothing() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), false).await;
        for (name, content) in [
            ("virus.png", b"#!/bin/sh\necho pwned\n".to_vec()),
            (
                "gambar.svg",
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>".to_vec(),
            ),
            ("kosong.pdf", Vec::new()),
        ] {
            let refused = upload(&app, id, &admin, form(name, "image/png", &content), None).await;
            assert_eq!(
                problem(refused, 415).await["code"],
                "unsupported_file_type",
                "{name}"
            );
        }
        let not_a_form = app
            .client
            .post(app.url(&format!("/api/v1/bulletins/{id}/attachments")))
            .bearer_auth(&admin.session.access_token)
            .header("Content-Type", "image/png")
            .body(decode(PNG))
            .send()
            .await
            .expect("send");
        problem(not_a_form, 415).await;
        let wrong_field = form_with(BOUNDARY, "foto", "a.png", "image/png", &decode(PNG));
        problem(upload(&app, id, &admin, wrong_field, None).await, 400).await;
        assert_eq!(stored_files(&app).await, (0, 0));
        // A file part, then anything else: refused, and the part already written goes.
        let closing = format!("\r\n--{BOUNDARY}--\r\n");
        let mut file_then_field = form("a.png", "image/png", &decode(PNG));
        file_then_field.truncate(file_then_field.len() - closing.len());
        file_then_field.extend_from_slice(
            format!(
                "\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"catatan\"\r\n\r\nx{closing}"
            )
            .as_bytes(),
        );
        let mut two_files = form("a.png", "image/png", &decode(PNG));
        two_files.truncate(two_files.len() - closing.len());
        two_files.extend_from_slice(b"\r\n");
        two_files.extend_from_slice(&form("b.png", "image/png", &decode(PNG)));
        for body in [file_then_field, two_files] {
            problem(upload(&app, id, &admin, body, None).await, 400).await;
            assert_eq!(stored_files(&app).await, (0, 0), "nothing of a refused upload stays");
        }
    })
    .await;
}

/// The name follows the content, files must be what they start as, PDFs carry no
/// active content, and downloads are sandboxed with RFC 6266 names.
#[tokio::test]
async fn uploads_are_named_by_content_checked_whole_and_downloaded_sandboxed() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), true).await;
        for (name, content, kept_as) in [
            ("foto.html", decode(PNG), "foto.png"),
            ("Jalan rusak – Ganjar Asri.jpeg.exe", jpeg(), "Jalan rusak – Ganjar Asri.jpeg.jpg"),
            ("surat", PDF.to_vec(), "surat.pdf"),
        ] {
            let response = upload(&app, id, &admin, form(name, "text/html", &content), None).await;
            let status = response.status().as_u16();
            let attachment: Value = response.json().await.expect("json");
            assert_eq!(status, 201, "{name}: {attachment}");
            assert_eq!(attachment["file_name"], kept_as);
            let location = format!("/api/v1/bulletins/{id}/attachments/{}", attachment["id"]);
            let download = app.get(&location).await;
            assert_eq!(download.status().as_u16(), 200);
            assert_eq!(download.headers()["content-security-policy"], "sandbox");
            assert_eq!(download.headers()["x-content-type-options"], "nosniff");
            let disposition = download.headers()["content-disposition"]
                .to_str()
                .expect("ascii header")
                .to_owned();
            if kept_as.is_ascii() {
                assert_eq!(disposition, format!("attachment; filename=\"{kept_as}\""));
            } else {
                assert!(
                    disposition.contains("filename=\"Jalan rusak _ Ganjar Asri.jpeg.jpg\"")
                        && disposition.contains(
                            "filename*=UTF-8''Jalan%20rusak%20%E2%80%93%20Ganjar%20Asri.jpeg.jpg"
                        ),
                    "{disposition}"
                );
            }
        }
        let script_pdf = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R /OpenAction 3 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n3 0 obj <</S /JavaScript /JS (app.alert(1))>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n";
        let embedded_pdf = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R /Names <</EmbeddedFiles 3 0 R>> >> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n3 0 obj <</Names [(a.exe) 4 0 R]>> endobj\n4 0 obj <</Type /Filespec /F (a.exe) /EF <</F 5 0 R>> >> endobj\n5 0 obj <</Type /EmbeddedFile /Length 2>> stream\nMZ\nendstream endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n";
        let mut png_then_html = b"\x89PNG\r\n\x1a\n".to_vec();
        png_then_html.extend_from_slice(b"<html><script>alert(document.domain)</script></html>");
        let mut truncated = jpeg();
        truncated.truncate(truncated.len() / 2);
        for (name, content, code) in [
            ("poster.pdf", script_pdf.to_vec(), "unsafe_file"),
            ("lampiran.pdf", embedded_pdf.to_vec(), "unsafe_file"),
            ("foto.png", png_then_html, "unreadable_file"),
            ("foto.jpg", truncated, "unreadable_file"),
        ] {
            let refused = problem(upload(&app, id, &admin, form(name, "image/png", &content), None).await, 422).await;
            assert_eq!(refused["code"], code, "{name}");
        }
        assert_eq!(stored_files(&app).await, (3, 0), "refused files leave nothing");
    })
    .await;
}

#[tokio::test]
async fn an_oversized_file_is_refused_while_it_streams() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), false).await;
        // Announce 64 MiB, send a bit over 5 MiB, and read the answer: it comes before
        // the rest is sent, so the server did not wait for (or buffer) the whole body.
        let address = app.address.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");
        let head = format!(
            "POST /api/v1/bulletins/{id}/attachments HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
            admin.session.access_token,
            64 * 1024 * 1024
        );
        stream.write_all(head.as_bytes()).await.expect("head");
        let mut first = form("besar.png", "image/png", &decode(PNG));
        first.truncate(first.len() - format!("\r\n--{BOUNDARY}--\r\n").len());
        stream.write_all(&first).await.expect("start");
        let chunk = vec![0u8; 64 * 1024];
        for _ in 0..(5 * 16 + 1) {
            stream.write_all(&chunk).await.expect("chunk");
        }
        let mut answer = vec![0u8; 512];
        let read = stream.read(&mut answer).await.expect("answer");
        let text = String::from_utf8_lossy(&answer[..read]).into_owned();
        assert!(text.starts_with("HTTP/1.1 413"), "{text}");
        drop(stream);
        assert_eq!(stored_files(&app).await.1, 0, "no part file is left");
        // A file of exactly the limit passes.
        let mut content = decode(PNG);
        content.resize(5 * 1024 * 1024, 0);
        assert_eq!(upload(&app, id, &admin, form("pas.png", "image/png", &content), None).await.status().as_u16(), 201);
    })
    .await;
}

#[tokio::test]
async fn downloads_follow_the_bulletins_visibility_and_uploads_its_editors() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let kim_a = app.create_kim_at("KIM A", "18.72.01.1001", "active").await;
        let kim_b = app.create_kim_at("KIM B", "18.72.02.1001", "active").await;
        let board_a = app.user(&admin, "kim_admin", Some(kim_a)).await;
        let member_a = app.user(&admin, "kim_member", Some(kim_a)).await;
        let board_b = app.user(&admin, "kim_admin", Some(kim_b)).await;
        let draft = bulletin(&app, &board_a, json!({"scope": "all_kims"}), false).await;
        let added = upload(
            &app,
            draft,
            &board_a,
            form("draf.png", "image/png", &decode(PNG)),
            None,
        )
        .await;
        assert_eq!(added.status().as_u16(), 201);
        let location = added.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        // Another KIM's draft does not exist for B, nor for the public.
        assert_eq!(
            app.get_as(&location, &board_b.session.access_token)
                .await
                .status()
                .as_u16(),
            404
        );
        assert_eq!(app.get(&location).await.status().as_u16(), 404);
        assert_eq!(
            app.get_as(&location, &admin.session.access_token)
                .await
                .status()
                .as_u16(),
            200
        );
        // Only its editors attach; a wrong attachment id under a visible bulletin is 404.
        problem(
            upload(
                &app,
                draft,
                &member_a,
                form("m.png", "image/png", &decode(PNG)),
                None,
            )
            .await,
            404,
        )
        .await;
        problem(
            upload(
                &app,
                draft,
                &board_b,
                form("b.png", "image/png", &decode(PNG)),
                None,
            )
            .await,
            404,
        )
        .await;
        problem(
            app.get_as(
                &format!("/api/v1/bulletins/{draft}/attachments/999999"),
                &admin.session.access_token,
            )
            .await,
            404,
        )
        .await;
        let published = bulletin(&app, &admin, json!({"scope": "all_kims"}), true).await;
        problem(
            upload(
                &app,
                published,
                &board_b,
                form("b.png", "image/png", &decode(PNG)),
                None,
            )
            .await,
            403,
        )
        .await;
        // At most ten files per bulletin.
        for n in 0..9 {
            let response = upload(
                &app,
                draft,
                &board_a,
                form(&format!("{n}.png"), "image/png", &decode(PNG)),
                None,
            )
            .await;
            assert_eq!(response.status().as_u16(), 201);
        }
        let eleventh = upload(
            &app,
            draft,
            &board_a,
            form("11.png", "image/png", &decode(PNG)),
            None,
        )
        .await;
        assert_eq!(problem(eleventh, 409).await["code"], "too_many_attachments");
        assert_eq!(stored_files(&app).await, (10, 0));
    })
    .await;
}

#[tokio::test]
async fn a_retried_upload_answers_the_first_and_keeps_one_file() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), false).await;
        let first = upload(
            &app,
            id,
            &admin,
            form("a.png", "image/png", &decode(PNG)),
            Some("upload-1"),
        )
        .await;
        assert_eq!(first.status().as_u16(), 201);
        let first: Value = first.json().await.expect("json");
        // Another boundary, same file: the same request to the client.
        let retried_body = form_with(
            "another-boundary-123",
            "file",
            "a.png",
            "image/png",
            &decode(PNG),
        );
        let retried = app
            .client
            .post(app.url(&format!("/api/v1/bulletins/{id}/attachments")))
            .bearer_auth(&admin.session.access_token)
            .header(
                "Content-Type",
                "multipart/form-data; boundary=another-boundary-123",
            )
            .header("Idempotency-Key", "upload-1")
            .body(retried_body)
            .send()
            .await
            .expect("retry");
        assert_eq!(retried.status().as_u16(), 201);
        assert_eq!(retried.headers()["idempotent-replayed"], "true");
        assert_eq!(
            retried.json::<Value>().await.expect("json")["id"],
            first["id"]
        );
        let other = upload(
            &app,
            id,
            &admin,
            form("b.pdf", "application/pdf", PDF),
            Some("upload-1"),
        )
        .await;
        assert_eq!(problem(other, 422).await["code"], "idempotency_key_reused");
        assert_eq!(stored_files(&app).await, (1, 0));
    })
    .await;
}

#[tokio::test]
async fn what_a_crash_leaves_is_swept_after_the_grace_period_and_nothing_else() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), true).await;
        let response = upload(
            &app,
            id,
            &admin,
            form("a.png", "image/png", &decode(PNG)),
            None,
        )
        .await;
        let location = response.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        // A crash between object and row: an object nobody refers to.
        let orphan = "0123456789abcdef0123456789abcdef";
        app.storage
            .put(orphan, decode(PNG))
            .await
            .expect("orphan object");
        // Uploads that never finished: one abandoned two hours ago, one still arriving.
        let incoming = app.storage.incoming().to_owned();
        let abandoned = incoming.join("fedcba9876543210fedcba9876543210.part");
        std::fs::write(&abandoned, b"half a file").expect("abandoned part");
        std::fs::File::options()
            .write(true)
            .open(&abandoned)
            .expect("open")
            .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
            .expect("age");
        let arriving = incoming.join("00112233445566778899aabbccddeeff.part");
        std::fs::write(&arriving, b"still coming").expect("arriving part");
        assert_eq!(stored_files(&app).await, (2, 2));

        let hour = std::time::Duration::from_secs(3600);
        let swept = app.storage.sweep(&app.db, hour).await.expect("sweep");
        assert_eq!(
            swept,
            (1, 0),
            "only the abandoned part: the orphan may be an upload another instance is finishing"
        );
        assert!(!abandoned.exists() && arriving.exists());
        let swept = app
            .storage
            .sweep(&app.db, std::time::Duration::ZERO)
            .await
            .expect("sweep");
        assert_eq!(
            swept,
            (1, 1),
            "past its grace the orphan goes; the file with a row stays"
        );
        assert_eq!(stored_files(&app).await, (1, 0));
        assert_eq!(app.get(&location).await.status().as_u16(), 200);
    })
    .await;
}

#[tokio::test]
async fn instances_on_other_hosts_serve_each_others_files_from_the_shared_store() {
    for backend in crate::helpers::backends() {
        if crate::helpers::test_storage_url(backend).is_none() {
            eprintln!("--- {backend:?}: files on this host's disk, nothing shared to test");
            continue;
        }
        let app = crate::helpers::spawn_app(backend).await;
        let other = crate::helpers::spawn_instance(&app, |_| {}).await;
        let admin = app.bootstrap_admin().await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), true).await;
        let photo = jpeg();
        let response = upload(&app, id, &admin, form("a.jpg", "image/jpeg", &photo), None).await;
        let location = response.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        let first = app.get(&location).await.bytes().await.expect("bytes");
        let download = other.get(&location).await;
        assert_eq!(download.status().as_u16(), 200);
        assert_eq!(download.bytes().await.expect("bytes"), first);
        // Removed through the second instance, gone for the first.
        let aid = location.rsplit('/').next().expect("aid");
        let removed = other
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/bulletins/{id}/attachments/{aid}"),
                Some(&admin.session.access_token),
                None,
            )
            .await;
        assert_eq!(removed.status().as_u16(), 204);
        assert_eq!(app.get(&location).await.status().as_u16(), 404);
        assert_eq!(stored_files(&app).await, (0, 0));
        for instance in [&app, &other] {
            let ready = instance.get("/health/ready").await;
            assert_eq!(ready.status().as_u16(), 200, "readiness covers the store");
        }
    }
}

#[tokio::test]
async fn simultaneous_uploads_stop_at_the_limit() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), false).await;
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(12));
        let mut tasks = Vec::new();
        for n in 0..12 {
            let request = app
                .client
                .post(app.url(&format!("/api/v1/bulletins/{id}/attachments")))
                .bearer_auth(&admin.session.access_token)
                .header(
                    "Content-Type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(form(&format!("{n}.png"), "image/png", &decode(PNG)));
            let start = start.clone();
            tasks.push(tokio::spawn(async move {
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
async fn downloads_revalidate_and_resume_where_they_were_cut() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let id = bulletin(&app, &admin, json!({"scope": "public"}), true).await;
        let response = upload(&app, id, &admin, form("a.jpg", "image/jpeg", &jpeg()), None).await;
        let location = response.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        let whole = app.get(&location).await;
        assert_eq!(whole.status().as_u16(), 200);
        assert_eq!(whole.headers()["accept-ranges"], "bytes");
        let cache = whole.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            cache.starts_with("private") && cache.contains("immutable"),
            "{cache}"
        );
        let etag = whole.headers()["etag"].to_str().expect("ascii").to_owned();
        let bytes = whole.bytes().await.expect("bytes");
        assert!(bytes.len() > 200);
        let size = bytes.len();

        let get = async |headers: &[(&str, &str)]| {
            let mut request = app.client.get(app.url(&location));
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send().await.expect("download")
        };
        let unchanged = get(&[("If-None-Match", &etag)]).await;
        assert_eq!(unchanged.status().as_u16(), 304);
        assert_eq!(unchanged.headers()["etag"], etag.as_str());
        assert!(unchanged.bytes().await.expect("bytes").is_empty());
        let changed = get(&[("If-None-Match", "\"another\"")]).await;
        assert_eq!(changed.status().as_u16(), 200);

        // A download cut after 100 bytes resumes from there, and the parts make the file.
        let first = get(&[("Range", "bytes=0-99")]).await;
        assert_eq!(first.status().as_u16(), 206);
        assert_eq!(
            first.headers()["content-range"],
            format!("bytes 0-99/{size}").as_str()
        );
        let first = first.bytes().await.expect("bytes");
        let rest = get(&[("Range", "bytes=100-"), ("If-Range", &etag)]).await;
        assert_eq!(rest.status().as_u16(), 206);
        let rest = rest.bytes().await.expect("bytes");
        assert_eq!([first.as_ref(), rest.as_ref()].concat(), bytes.as_ref());
        let last = get(&[("Range", "bytes=-10")]).await;
        assert_eq!(last.status().as_u16(), 206);
        assert_eq!(
            last.bytes().await.expect("bytes").as_ref(),
            &bytes[size - 10..]
        );

        // Another version's range, several ranges, or nonsense: the whole file.
        for headers in [
            vec![("Range", "bytes=100-"), ("If-Range", "\"another\"")],
            vec![("Range", "bytes=0-9,20-29")],
            vec![("Range", "lines=1-2")],
        ] {
            let answer = get(&headers).await;
            assert_eq!(answer.status().as_u16(), 200, "{headers:?}");
            assert_eq!(answer.bytes().await.expect("bytes"), bytes);
        }
        let past = get(&[("Range", &format!("bytes={}-", size + 10))]).await;
        assert_eq!(
            past.headers()["content-range"],
            format!("bytes */{size}").as_str()
        );
        let refused = problem(past, 416).await;
        assert_eq!(refused["code"], "range_not_satisfiable");
    })
    .await;
}

#[tokio::test]
async fn bulletin_files_are_listed_as_the_bulletin_is_seen_and_removed_by_its_editors() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let kim_a = app.create_kim_at("KIM A", "18.72.01.1001", "active").await;
        let board_a = app.user(&admin, "kim_admin", Some(kim_a)).await;
        let member_a = app.user(&admin, "kim_member", Some(kim_a)).await;
        let id = bulletin(&app, &board_a, json!({"scope": "public"}), false).await;
        let files = format!("/api/v1/bulletins/{id}/attachments");
        for name in ["a.png", "b.png"] {
            let added = upload(
                &app,
                id,
                &board_a,
                form(name, "image/png", &decode(PNG)),
                None,
            )
            .await;
            assert_eq!(added.status().as_u16(), 201);
        }
        // A draft's files are its editors' business; published, anyone lists them.
        assert_eq!(app.get(&files).await.status().as_u16(), 404);
        let published = app
            .post_as(
                &format!("/api/v1/bulletins/{id}/publish"),
                &board_a.session.access_token,
                &json!({}),
            )
            .await;
        assert_eq!(published.status().as_u16(), 200);
        let listed: Value = app.get(&files).await.json().await.expect("json");
        let ids: Vec<i64> = listed["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|file| file["id"].as_i64())
            .collect();
        assert_eq!(ids.len(), 2);
        let remove = async |who: Option<&str>, aid: i64| {
            app.send(
                reqwest::Method::DELETE,
                &format!("{files}/{aid}"),
                who,
                None,
            )
            .await
        };
        problem(remove(None, ids[0]).await, 401).await;
        problem(
            remove(Some(&member_a.session.access_token), ids[0]).await,
            403,
        )
        .await;
        assert_eq!(
            remove(Some(&board_a.session.access_token), ids[0])
                .await
                .status()
                .as_u16(),
            204
        );
        problem(
            remove(Some(&board_a.session.access_token), ids[0]).await,
            404,
        )
        .await;
        let archived = app
            .post_as(
                &format!("/api/v1/bulletins/{id}/archive"),
                &board_a.session.access_token,
                &json!({}),
            )
            .await;
        assert_eq!(archived.status().as_u16(), 200);
        let kept = problem(
            remove(Some(&board_a.session.access_token), ids[1]).await,
            409,
        )
        .await;
        assert_eq!(kept["code"], "bulletin_archived");
        assert_eq!(stored_files(&app).await, (1, 0));
    })
    .await;
}
