//! Sign-in throttling under simultaneous attempts, and lock-out that cannot be used
//! as a weapon against an account's owner.

use futures_util::future::join_all;

use crate::helpers::{
    ADMIN_PASSWORD, ADMIN_USERNAME, TestApp, USER_PASSWORD, backends, loopback, problem,
    spawn_app_with, spawn_instance,
};

async fn sign_in_from(
    app: &TestApp,
    address: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/token"))
        .header("x-forwarded-for", address)
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .expect("token request")
}

#[tokio::test]
async fn simultaneous_wrong_passwords_are_throttled_at_the_limit() {
    for backend in backends() {
        let app = spawn_app_with(backend, |config| config.trusted_proxies = vec![loopback()]).await;
        let other = spawn_instance(&app, |config| config.trusted_proxies = vec![loopback()]).await;
        app.bootstrap_admin().await;
        let attempts = (0..40).map(|i| {
            let server = if i % 2 == 0 { &app } else { &other };
            sign_in_from(
                server,
                "203.0.113.40",
                ADMIN_USERNAME,
                "wrong-password-guess",
            )
        });
        let mut statuses: Vec<u16> = join_all(attempts)
            .await
            .iter()
            .map(|response| response.status().as_u16())
            .collect();
        statuses.sort_unstable();
        let checked = statuses.iter().filter(|status| **status == 400).count();
        let throttled = statuses.iter().filter(|status| **status == 429).count();
        assert_eq!(
            (checked, throttled),
            (10, 30),
            "{backend:?}: exactly the limit is checked, got {statuses:?}"
        );
    }
}

#[tokio::test]
async fn guessing_from_many_addresses_does_not_lock_the_owner_out() {
    for backend in backends() {
        let app = spawn_app_with(backend, |config| config.trusted_proxies = vec![loopback()]).await;
        let admin = app.bootstrap_admin().await;
        // The owner has signed in from the office before.
        let office = "198.51.100.10";
        assert_eq!(
            sign_in_from(&app, office, ADMIN_USERNAME, ADMIN_PASSWORD)
                .await
                .status()
                .as_u16(),
            200
        );
        // 100 wrong passwords from ten addresses: the account-wide limit.
        for address in 0..10 {
            let address = format!("203.0.113.{}", 100 + address);
            for _ in 0..10 {
                let _ = sign_in_from(&app, &address, ADMIN_USERNAME, "guess-guess-guess").await;
            }
        }
        let stranger = sign_in_from(&app, "192.0.2.200", ADMIN_USERNAME, ADMIN_PASSWORD).await;
        assert_eq!(
            problem(stranger, 429).await["code"],
            "too_many_requests",
            "{backend:?}: a new address meets the account-wide limit"
        );
        assert_eq!(
            sign_in_from(&app, office, ADMIN_USERNAME, ADMIN_PASSWORD)
                .await
                .status()
                .as_u16(),
            200,
            "{backend:?}: the owner's correct password from a known address goes through"
        );

        // 30 failures behind one carrier NAT do not lock out members who signed in
        // there before.
        let kim = app.create_kim("KIM NAT").await;
        let member = app.user(&admin, "kim_member", Some(kim)).await;
        let nat = "100.64.0.1";
        assert_eq!(
            sign_in_from(&app, nat, &member.username, USER_PASSWORD)
                .await
                .status()
                .as_u16(),
            200
        );
        for name in 0..30 {
            let _ = sign_in_from(&app, nat, &format!("tamu{name}"), "guess-guess-guess").await;
        }
        assert_eq!(
            sign_in_from(&app, nat, "someone-new", USER_PASSWORD)
                .await
                .status()
                .as_u16(),
            429,
            "{backend:?}: the address limit still holds for others"
        );
        assert_eq!(
            sign_in_from(&app, nat, &member.username, USER_PASSWORD)
                .await
                .status()
                .as_u16(),
            200,
            "{backend:?}: a member known behind the NAT still signs in"
        );
    }
}

#[tokio::test]
async fn over_long_and_nul_account_names_are_refused_cleanly() {
    for backend in backends() {
        let app = spawn_app_with(backend, |_| {}).await;
        for name in ["x".repeat(5000), "ad\u{0}min".to_owned(), "İ".repeat(60)] {
            let response = app.login(&name, "whatever-password").await;
            assert_eq!(problem(response, 400).await["error"], "invalid_grant");
            let response = app
                .token_request(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", &name),
                    ("client_secret", "whatever"),
                ])
                .await;
            assert_eq!(problem(response, 401).await["error"], "invalid_client");
        }
    }
}

#[tokio::test]
async fn the_client_address_is_the_rightmost_hop_not_a_trusted_proxy() {
    use diesel::prelude::*;
    use kim_api::db::schema::audit_log;
    for (trusted, expected) in [(true, "203.0.113.9"), (false, "127.0.0.1")] {
        let app = spawn_app_with(backends()[0], |config| {
            if trusted {
                config.trusted_proxies = vec![loopback()];
            }
        })
        .await;
        let response = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .header("x-forwarded-for", "6.6.6.6, 203.0.113.9")
            .form(&[
                ("grant_type", "password"),
                ("username", "nobody"),
                ("password", "not-a-password"),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status().as_u16(), 400);
        let recorded: Option<String> = app
            .db
            .read(|conn| {
                Ok(audit_log::table
                    .filter(audit_log::action.eq("auth.login_failed"))
                    .select(audit_log::client_ip)
                    .first(conn)?)
            })
            .await
            .expect("audit row");
        assert_eq!(
            recorded.as_deref(),
            Some(expected),
            "trusted proxy: {trusted}"
        );
    }
}

#[tokio::test]
async fn simultaneous_correct_sign_ins_all_succeed() {
    for backend in backends() {
        let app = spawn_app_with(backend, |config| config.trusted_proxies = vec![loopback()]).await;
        let other = spawn_instance(&app, |config| config.trusted_proxies = vec![loopback()]).await;
        app.bootstrap_admin().await;
        // A first sign-in from a new address, retried by an impatient app: every
        // attempt records the address as known, none may trip over another.
        let attempts = (0..8).map(|i| {
            let server = if i % 2 == 0 { &app } else { &other };
            sign_in_from(server, "203.0.113.88", ADMIN_USERNAME, ADMIN_PASSWORD)
        });
        for response in join_all(attempts).await {
            assert_eq!(response.status().as_u16(), 200, "{backend:?}");
        }
    }
}
