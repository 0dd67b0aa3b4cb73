//! Logs never carry passwords, tokens or secrets: capture everything the service logs
//! while it handles them, and look.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

use crate::helpers::{ADMIN_PASSWORD, Backend, USER_PASSWORD, spawn_app};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_password_token_or_secret_is_logged() {
    let captured = Captured::default();
    // nextest runs each test in its own process, so this subscriber sees only this test.
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(captured.clone())
        .json()
        .with_current_span(true)
        .init();

    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.bootstrap_admin().await;
    let _ = app.login("admin", "a-wrong-password-attempt").await;
    let kim = app.create_kim("KIM Log").await;
    let member = app.user(&admin, "kim_member", Some(kim)).await;
    let refresh = member.session.refresh_token.clone().expect("refresh token");
    let rotated = app
        .token_request(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(rotated.status().as_u16(), 200);
    let reset = app
        .patch_as(
            &format!("/api/v1/users/{}", member.id),
            &admin.session.access_token,
            &json!({"password": "teh-poci-sore-hari-ini"}),
        )
        .await;
    assert_eq!(reset.status().as_u16(), 200);
    let (client_id, secret, _) = app.integration_client(&admin, &["kims:read"]).await;
    let client_token = app.client_token(&client_id, &secret).await;
    let added = app
        .post_as(
            &format!("/api/v1/kims/{kim}/members"),
            &admin.session.access_token,
            &json!({"full_name": "Warga Rahasia", "nik": "1872015708900042", "gender": "female",
                    "birth_date": "1990-08-17", "position": "anggota", "phone": "0813-9876-5432"}),
        )
        .await;
    assert_eq!(added.status().as_u16(), 201);
    let member_id = added.json::<serde_json::Value>().await.expect("json")["id"].clone();
    let read = app
        .get_as(
            &format!("/api/v1/kims/{kim}/members/{member_id}"),
            &admin.session.access_token,
        )
        .await;
    assert_eq!(read.status().as_u16(), 200);
    let bad_nik = app
        .post_as(
            &format!("/api/v1/kims/{kim}/members"),
            &admin.session.access_token,
            &json!({"full_name": "Warga", "nik": "1872015708900043", "gender": "male",
                    "birth_date": "1990-08-17", "position": "anggota"}),
        )
        .await;
    assert_eq!(bad_nik.status().as_u16(), 422);
    let forged = format!("{}x", admin.session.access_token);
    assert_eq!(
        app.get_as("/api/v1/me", &forged).await.status().as_u16(),
        401
    );

    let logs = String::from_utf8(captured.0.lock().map(|b| b.clone()).unwrap_or_default())
        .expect("utf-8 logs");
    assert!(
        logs.contains("request finished"),
        "requests are logged at all"
    );
    let secrets = [
        ADMIN_PASSWORD,
        USER_PASSWORD,
        "a-wrong-password-attempt",
        "teh-poci-sore-hari-ini",
        admin.session.access_token.as_str(),
        refresh.as_str(),
        secret.as_str(),
        client_token.as_str(),
        "test-secret-that-is-long-enough-for-hs256",
        "1872015708900042",
        "1872015708900043",
        "6281398765432",
    ];
    for secret in secrets {
        // Any 16-character piece would do to recognise a leak.
        let piece: String = secret.chars().take(16).collect();
        assert!(
            !logs.contains(&piece),
            "a secret reached the logs: {piece}…"
        );
    }
}
