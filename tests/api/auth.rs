use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_PASSWORD, ADMIN_USERNAME, Backend, USER_PASSWORD, on_each_backend, problem, session_of,
    spawn_app, spawn_app_with,
};

const TEST_SECRET: &str = "test-secret-that-is-long-enough-for-hs256";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims as the service would issue them for user 1 (a gov_admin).
fn admin_claims() -> Value {
    json!({
        "sub": "1", "role": "gov_admin", "iss": "kim-api", "aud": "kim-api",
        "iat": now(), "nbf": now(), "exp": now() + 600, "jti": "forged",
    })
}

fn sign(alg: Algorithm, secret: &str, claims: &Value) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).expect("key");
    jsonwebtoken::encode(&Header::new(alg), claims, &key).expect("encode")
}

fn b64(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn password_grant_issues_tokens_that_work() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let response = app.login("ADMIN", ADMIN_PASSWORD).await;
        assert_eq!(response.status().as_u16(), 200, "usernames ignore case");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
        assert!(body["refresh_token"].as_str().is_some_and(|t| t.len() >= 40));
        assert!(body.get("scope").is_none());

        let me: Value = app.get_as("/api/v1/me", &admin.session.access_token).await.json().await.expect("json");
        assert_eq!(me["kind"], "user");
        assert_eq!(me["role"], "gov_admin");
        assert_eq!(me["username"], ADMIN_USERNAME);
        assert!(me.get("password_hash").is_none());

        // JSON bodies are accepted too.
        let json_login = app
            .send(
                reqwest::Method::POST,
                "/api/v1/auth/token",
                None,
                Some(&json!({"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD})),
            )
            .await;
        assert_eq!(json_login.status().as_u16(), 200);
    })
    .await;
}

#[tokio::test]
async fn access_tokens_carry_the_specified_claims() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.bootstrap_admin().await;
    let kim = app.create_kim("KIM Claims").await;
    let member = app.user(&admin, "kim_member", Some(kim)).await;
    let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
    validation.set_audience(&["kim-api"]);
    let decoded = jsonwebtoken::decode::<Value>(
        &member.session.access_token,
        &jsonwebtoken::DecodingKey::from_secret(TEST_SECRET.as_bytes()).expect("key"),
        &validation,
    )
    .expect("a valid HS256 token");
    let claims = decoded.claims;
    assert_eq!(claims["sub"], member.id.to_string());
    assert_eq!(claims["role"], "kim_member");
    assert_eq!(claims["kim_id"], kim);
    assert_eq!(claims["iss"], "kim-api");
    assert_eq!(claims["aud"], "kim-api");
    assert_eq!(
        claims["exp"]
            .as_i64()
            .zip(claims["iat"].as_i64())
            .map(|(e, i)| e - i),
        Some(900)
    );
    assert!(claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()));
}

#[tokio::test]
async fn token_requests_fail_with_oauth_codes() {
    on_each_backend(async |app| {
        app.bootstrap_admin().await;
        type Form<'a> = &'a [(&'a str, &'a str)];
        let cases: [(Form, u16, &str); 5] = [
            (
                &[
                    ("grant_type", "password"),
                    ("username", "admin"),
                    ("password", "wrong-password-123"),
                ],
                400,
                "invalid_grant",
            ),
            (
                &[
                    ("grant_type", "password"),
                    ("username", "nobody"),
                    ("password", ADMIN_PASSWORD),
                ],
                400,
                "invalid_grant",
            ),
            (
                &[("grant_type", "password"), ("username", "admin")],
                400,
                "invalid_request",
            ),
            (&[("grant_type", "implicit")], 400, "unsupported_grant_type"),
            (
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "made-up"),
                ],
                400,
                "invalid_grant",
            ),
        ];
        for (form, status, code) in cases {
            let body = problem(app.token_request(form).await, status).await;
            assert_eq!(body["code"], code, "{form:?}");
            assert_eq!(body["error"], code, "OAuth clients read `error`");
        }
        let body = problem(
            app.client
                .post(app.url("/api/v1/auth/token"))
                .header("content-type", "text/plain")
                .body("grant_type=password")
                .send()
                .await
                .expect("request"),
            415,
        )
        .await;
        assert_eq!(body["code"], "unsupported_media_type");
        let body = problem(
            app.send(
                reqwest::Method::POST,
                "/api/v1/auth/token",
                None,
                Some(&json!({"grant_type": "password", "extra": 1})),
            )
            .await,
            400,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "extra");
    })
    .await;
}

#[tokio::test]
async fn forged_and_stale_tokens_are_401_never_anonymous() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.bootstrap_admin().await;
    assert_eq!(
        app.get_as("/api/v1/users", &admin.session.access_token)
            .await
            .status()
            .as_u16(),
        200
    );

    let valid_payload = admin
        .session
        .access_token
        .split('.')
        .nth(1)
        .expect("payload")
        .to_owned();
    let claims = admin_claims();
    let with = |changes: Value| {
        let mut claims = admin_claims();
        for (key, value) in changes.as_object().expect("object") {
            claims[key] = value.clone();
        }
        claims
    };
    let mut tampered = admin_claims();
    tampered["role"] = json!("gov_admin");
    let forgeries: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                valid_payload
            ),
        ),
        (
            "another key",
            sign(
                Algorithm::HS256,
                "another-secret-that-is-also-32-bytes!!",
                &claims,
            ),
        ),
        (
            "HS384 with our secret",
            sign(Algorithm::HS384, TEST_SECRET, &claims),
        ),
        (
            "HS512 with our secret",
            sign(Algorithm::HS512, TEST_SECRET, &claims),
        ),
        (
            "expired",
            sign(
                Algorithm::HS256,
                TEST_SECRET,
                &with(json!({"exp": now() - 120, "iat": now() - 1000, "nbf": now() - 1000})),
            ),
        ),
        (
            "not yet valid",
            sign(
                Algorithm::HS256,
                TEST_SECRET,
                &with(json!({"nbf": now() + 300})),
            ),
        ),
        (
            "issued in the future",
            sign(
                Algorithm::HS256,
                TEST_SECRET,
                &with(json!({"iat": now() + 300})),
            ),
        ),
        (
            "wrong issuer",
            sign(
                Algorithm::HS256,
                TEST_SECRET,
                &with(json!({"iss": "someone-else"})),
            ),
        ),
        (
            "wrong audience",
            sign(
                Algorithm::HS256,
                TEST_SECRET,
                &with(json!({"aud": "another-api"})),
            ),
        ),
        (
            "no expiry",
            sign(Algorithm::HS256, TEST_SECRET, &{
                let mut c = admin_claims();
                c.as_object_mut().map(|o| o.remove("exp"));
                c
            }),
        ),
        (
            "KIM role without KIM",
            sign(
                Algorithm::HS256,
                TEST_SECRET,
                &with(json!({"role": "kim_admin"})),
            ),
        ),
        (
            "unknown role",
            sign(
                Algorithm::HS256,
                TEST_SECRET,
                &with(json!({"role": "root"})),
            ),
        ),
        ("tampered payload", {
            let parts: Vec<&str> = admin.session.access_token.split('.').collect();
            let mut payload: Value = serde_json::from_slice(
                &base64::Engine::decode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    parts[1],
                )
                .expect("b64"),
            )
            .expect("json");
            payload["sub"] = json!("2");
            format!("{}.{}.{}", parts[0], b64(&payload), parts[2])
        }),
        ("garbage", "not-a-jwt".to_owned()),
    ];
    for (name, token) in forgeries {
        for path in ["/api/v1/users", "/api/v1/me", "/api/v1/regions"] {
            let response = app.get_as(path, &token).await;
            assert_eq!(response.status().as_u16(), 401, "{name} on {path}");
            let challenge = response.headers()["www-authenticate"]
                .to_str()
                .expect("ascii")
                .to_owned();
            assert!(
                challenge.contains(r#"error="invalid_token""#),
                "{name}: {challenge}"
            );
            let body = problem(response, 401).await;
            assert_eq!(body["code"], "invalid_token");
        }
    }
    let basic = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", "Basic YWRtaW46eA==")
        .send()
        .await
        .expect("request");
    assert_eq!(basic.status().as_u16(), 401);

    let missing = app.get("/api/v1/me").await;
    assert_eq!(
        missing.headers()["www-authenticate"],
        r#"Bearer realm="kim-api""#
    );
    assert_eq!(problem(missing, 401).await["code"], "unauthenticated");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_sign_in() {
    on_each_backend(async |app| {
        app.bootstrap_admin().await;
        let first = app.session(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        let first_refresh = first.refresh_token.clone().expect("refresh token");

        let response = app
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &first_refresh),
            ])
            .await;
        assert_eq!(response.status().as_u16(), 200);
        let second = session_of(response).await;
        let second_refresh = second.refresh_token.clone().expect("rotated");
        assert_ne!(second_refresh, first_refresh);
        assert_eq!(
            app.get_as("/api/v1/me", &second.access_token)
                .await
                .status()
                .as_u16(),
            200
        );

        // The spent token comes back: stolen. The whole family ends.
        let reuse = app
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &first_refresh),
            ])
            .await;
        assert_eq!(problem(reuse, 400).await["code"], "invalid_grant");
        let after = app
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &second_refresh),
            ])
            .await;
        assert_eq!(
            problem(after, 400).await["code"],
            "invalid_grant",
            "the family was revoked"
        );

        // Another sign-in is a separate family and still works.
        let other = app.session(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        let refreshed = app
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", other.refresh_token.as_deref().expect("rt")),
            ])
            .await;
        assert_eq!(refreshed.status().as_u16(), 200);
    })
    .await;
}

#[tokio::test]
async fn logout_revokes_the_sign_in() {
    on_each_backend(async |app| {
        app.bootstrap_admin().await;
        let session = app.session(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        let other = app.session(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        let response = app
            .send(
                reqwest::Method::POST,
                "/api/v1/auth/logout",
                Some(&session.access_token),
                None,
            )
            .await;
        assert_eq!(response.status().as_u16(), 204);
        let refresh = session.refresh_token.expect("rt");
        let after = app
            .token_request(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .await;
        assert_eq!(problem(after, 400).await["code"], "invalid_grant");
        let untouched = app
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", other.refresh_token.as_deref().expect("rt")),
            ])
            .await;
        assert_eq!(untouched.status().as_u16(), 200, "only that sign-in ends");
        assert_eq!(
            problem(
                app.send(reqwest::Method::POST, "/api/v1/auth/logout", None, None)
                    .await,
                401
            )
            .await["code"],
            "unauthenticated"
        );
    })
    .await;
}

#[tokio::test]
async fn disabling_or_changing_a_user_ends_its_sessions() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let kim = app.create_kim("KIM Sessions").await;
        let path = |id: i64| format!("/api/v1/users/{id}");
        let changes = [
            json!({"disabled": true}),
            json!({"password": "teh-poci-sore-hari-ini"}),
            json!({"role": "kim_admin"}),
        ];
        for change in changes {
            let member = app.user(&admin, "kim_member", Some(kim)).await;
            let response = app
                .patch_as(&path(member.id), &admin.session.access_token, &change)
                .await;
            assert_eq!(response.status().as_u16(), 200, "{change}");
            let refresh = member.session.refresh_token.clone().expect("rt");
            let after = app
                .token_request(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
                .await;
            assert_eq!(
                problem(after, 400).await["code"],
                "invalid_grant",
                "{change}"
            );
        }
        let disabled = app.user(&admin, "kim_member", Some(kim)).await;
        app.patch_as(
            &path(disabled.id),
            &admin.session.access_token,
            &json!({"disabled": true}),
        )
        .await;
        assert_eq!(
            problem(app.login(&disabled.username, USER_PASSWORD).await, 400).await["code"],
            "invalid_grant"
        );
    })
    .await;
}

#[tokio::test]
async fn client_credentials_grant_issues_scoped_integration_tokens() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let (client_id, secret, record) = app
            .integration_client(&admin, &["reports:read", "kims:read"])
            .await;

        let token = app.client_token(&client_id, &secret).await;
        let me: Value = app
            .get_as("/api/v1/me", &token)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(me["kind"], "integration");
        assert_eq!(me["client_id"], client_id.as_str());
        assert_eq!(me["scopes"], json!(["kims:read", "reports:read"]));
        assert!(me.get("client_secret").is_none());

        let basic = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .basic_auth(&client_id, Some(&secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "reports:read"),
            ])
            .send()
            .await
            .expect("request");
        assert_eq!(basic.status().as_u16(), 200);
        let body: Value = basic.json().await.expect("json");
        assert_eq!(body["scope"], "reports:read");
        assert!(body.get("refresh_token").is_none());

        let form = |scope: &'static str, secret: String| {
            vec![
                ("grant_type", "client_credentials".to_owned()),
                ("client_id", client_id.clone()),
                ("client_secret", secret),
                ("scope", scope.to_owned()),
            ]
        };
        let not_granted = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .form(&form("reports:write", secret.clone()))
            .send()
            .await
            .expect("request");
        assert_eq!(problem(not_granted, 400).await["code"], "invalid_scope");
        let wrong = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .form(&form("", "kims_wrong".into()))
            .send()
            .await
            .expect("request");
        assert_eq!(
            wrong.headers()["www-authenticate"],
            r#"Basic realm="kim-api""#
        );
        assert_eq!(problem(wrong, 401).await["code"], "invalid_client");

        // Rotating the secret retires the old one.
        let rotated: Value = app
            .patch_as(
                &format!("/api/v1/integration-clients/{record}"),
                &admin.session.access_token,
                &json!({"rotate_secret": true}),
            )
            .await
            .json()
            .await
            .expect("json");
        let new_secret = rotated["client_secret"]
            .as_str()
            .expect("new secret")
            .to_owned();
        let old = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .form(&form("", secret.clone()))
            .send()
            .await
            .expect("request");
        assert_eq!(old.status().as_u16(), 401);
        app.client_token(&client_id, &new_secret).await;

        // A disabled client gets nothing.
        app.patch_as(
            &format!("/api/v1/integration-clients/{record}"),
            &admin.session.access_token,
            &json!({"disabled": true}),
        )
        .await;
        let disabled = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .form(&form("", new_secret))
            .send()
            .await
            .expect("request");
        assert_eq!(problem(disabled, 401).await["code"], "invalid_client");
    })
    .await;
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_and_address() {
    for backend in crate::helpers::backends() {
        let app = spawn_app_with(backend, |config| {
            config.trusted_proxies = vec![crate::helpers::loopback()]
        })
        .await;
        app.bootstrap_admin().await;
        let attempt = |address: &'static str, username: &'static str, password: &'static str| {
            app.client
                .post(app.url("/api/v1/auth/token"))
                .header("x-forwarded-for", address)
                .form(&[
                    ("grant_type", "password"),
                    ("username", username),
                    ("password", password),
                ])
                .send()
        };
        for _ in 0..10 {
            assert_eq!(
                attempt("203.0.113.5", "admin", "not-the-password")
                    .await
                    .expect("request")
                    .status()
                    .as_u16(),
                400
            );
        }
        let throttled = attempt("203.0.113.5", "admin", ADMIN_PASSWORD)
            .await
            .expect("request");
        let retry_after: u64 = throttled.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=900).contains(&retry_after), "{retry_after}");
        assert_eq!(problem(throttled, 429).await["code"], "too_many_requests");

        // The owner signing in from elsewhere is not locked out.
        assert_eq!(
            attempt("198.51.100.7", "admin", ADMIN_PASSWORD)
                .await
                .expect("request")
                .status()
                .as_u16(),
            200
        );

        // Spraying many usernames from one address meets the address limit.
        for name in [
            "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10", "u11", "u12", "u13",
            "u14", "u15", "u16", "u17", "u18", "u19", "u20",
        ] {
            let _ = attempt("192.0.2.9", name, "not-the-password")
                .await
                .expect("request");
            let _ = attempt("192.0.2.9", name, "still-not-it")
                .await
                .expect("request");
        }
        assert_eq!(
            attempt("192.0.2.9", "admin", ADMIN_PASSWORD)
                .await
                .expect("request")
                .status()
                .as_u16(),
            429
        );
    }
}

#[tokio::test]
async fn throttling_is_shared_by_instances_on_one_database() {
    for backend in crate::helpers::backends() {
        let app = spawn_app_with(backend, |config| {
            config.trusted_proxies = vec![crate::helpers::loopback()]
        })
        .await;
        app.bootstrap_admin().await;
        let second = crate::helpers::spawn_instance(&app, |config| {
            config.trusted_proxies = vec![crate::helpers::loopback()]
        })
        .await;
        for i in 0..10 {
            let instance = if i % 2 == 0 { &app } else { &second };
            let response = instance
                .client
                .post(instance.url("/api/v1/auth/token"))
                .header("x-forwarded-for", "203.0.113.77")
                .form(&[
                    ("grant_type", "password"),
                    ("username", "admin"),
                    ("password", "nope-nope-nope"),
                ])
                .send()
                .await
                .expect("request");
            assert_eq!(response.status().as_u16(), 400);
        }
        for instance in [&app, &second] {
            let response = instance
                .client
                .post(instance.url("/api/v1/auth/token"))
                .header("x-forwarded-for", "203.0.113.77")
                .form(&[
                    ("grant_type", "password"),
                    ("username", "admin"),
                    ("password", ADMIN_PASSWORD),
                ])
                .send()
                .await
                .expect("request");
            assert_eq!(response.status().as_u16(), 429, "{backend:?}");
        }
    }
}

/// RS256 signing (on the aws-lc-rs backend): tokens carry the key id, the JWKS
/// publishes the public key, and another system verifies a token with it alone.
#[tokio::test]
async fn an_rsa_key_signs_rs256_tokens_that_verify_with_the_published_key() {
    use aws_lc_rs::encoding::AsDer;
    let pair =
        aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key");
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).expect("PKCS#8");
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der.as_ref())
    );
    let key_dir = tempfile::TempDir::new().expect("dir");
    let key_file = key_dir.path().join("signing-key.pem");
    std::fs::write(&key_file, pem).expect("write key");
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.jwt_signing_key_file = Some(key_file);
        config.jwt_signing_algorithm = kim_api::config::AsymmetricAlgorithm::Rs256;
        config.jwt_key_id = "metro-rsa".into();
    })
    .await;
    let admin = app.bootstrap_admin().await;
    let header = jsonwebtoken::decode_header(&admin.session.access_token).expect("header");
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some("metro-rsa"));
    assert_eq!(
        app.get_as("/api/v1/me", &admin.session.access_token)
            .await
            .status()
            .as_u16(),
        200
    );
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .expect("JWK set");
    let jwk = jwks
        .find("metro-rsa")
        .expect("the signing key is published");
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.set_audience(&["kim-api"]);
    assert!(
        jsonwebtoken::decode::<Value>(
            &admin.session.access_token,
            &jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key"),
            &validation,
        )
        .is_ok()
    );
}

#[tokio::test]
async fn an_asymmetric_key_signs_tokens_and_is_published() {
    // A fresh Ed25519 key for this test: PKCS#8 = a fixed 16-byte header + the 32-byte seed.
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend(uuid::Uuid::new_v4().as_bytes());
    der.extend(uuid::Uuid::new_v4().as_bytes());
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der)
    );
    let key_dir = tempfile::TempDir::new().expect("dir");
    let key_file = key_dir.path().join("signing-key.pem");
    std::fs::write(&key_file, pem).expect("write key");
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.jwt_signing_key_file = Some(key_file);
        config.jwt_key_id = "metro-2026".into();
    })
    .await;
    let admin = app.bootstrap_admin().await;
    let header = jsonwebtoken::decode_header(&admin.session.access_token).expect("header");
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some("metro-2026"));

    let response = app.get("/.well-known/jwks.json").await;
    assert_eq!(response.status().as_u16(), 200);
    let jwks: jsonwebtoken::jwk::JwkSet = response.json().await.expect("JWK set");
    let jwk = jwks
        .find("metro-2026")
        .expect("the signing key is published");
    let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["kim-api"]);
    let verified = jsonwebtoken::decode::<Value>(
        &admin.session.access_token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key"),
        &validation,
    );
    assert!(
        verified.is_ok(),
        "another Pemda system verifies with the JWKS alone"
    );

    // With a key pair configured, an HS256 token (even with the right secret) is refused.
    let hs = sign(Algorithm::HS256, TEST_SECRET, &admin_claims());
    assert_eq!(app.get_as("/api/v1/me", &hs).await.status().as_u16(), 401);

    let hmac_app = spawn_app(Backend::Sqlite).await;
    let keys: Value = hmac_app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        keys,
        json!({"keys": []}),
        "a shared secret is never published"
    );
}
