//! Rate limits per class of caller (SPEC §9): anonymous callers by client address,
//! accounts by user, integration clients by client; IETF `RateLimit-Policy` and
//! `RateLimit` fields on every limited answer; `429` problem+json with `Retry-After`
//! over the limit; probes, metrics, keys and docs exempt.

use chrono::Duration;
use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{TestApp, on_each_backend_with, problem, token};

const ALLOWANCE: u32 = 3;

fn limited(config: &mut kim_api::config::ConfigArgs) {
    config.rate_limit_anonymous_per_minute = ALLOWANCE;
    config.rate_limit_account_per_minute = ALLOWANCE;
    config.rate_limit_client_per_minute = ALLOWANCE;
    config.trusted_proxies = vec![crate::helpers::loopback()];
}

/// Sign-ins and set-up spend allowances too: a minute later every one is whole again.
fn after_set_up(app: &TestApp) {
    app.advance_clock(Duration::seconds(60));
}

async fn get(app: &TestApp, path: &str, from: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url(path))
        .header("X-Forwarded-For", from);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    request.send().await.expect("request")
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// `r` of the `RateLimit` field, checking it names `policy`.
fn remaining(response: &reqwest::Response, policy: &str) -> u32 {
    let field = header(response, "ratelimit").expect("RateLimit field");
    let prefix = format!("\"{policy}\";r=");
    let rest = field
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{field} names {policy}"));
    rest.split(';')
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("{field} has r"))
}

fn retry_after(response: &reqwest::Response) -> i64 {
    header(response, "retry-after")
        .and_then(|text| text.parse().ok())
        .expect("Retry-After in seconds")
}

/// An anonymous address gets its allowance and then 429; the fields count down; another
/// address, and an account calling from the exhausted address, are unaffected; probes,
/// metrics, keys and docs answer regardless; the allowance comes back with time.
#[tokio::test]
async fn anonymous_callers_are_limited_per_client_address() {
    on_each_backend_with(limited, async |app| {
        let admin = app.bootstrap_admin().await;
        after_set_up(&app);
        let crowded = "203.0.113.5";
        for left in (0..ALLOWANCE).rev() {
            let answer = get(&app, "/api/v1/bulletins", crowded, None).await;
            assert_eq!(answer.status().as_u16(), 200);
            assert_eq!(
                header(&answer, "ratelimit-policy").as_deref(),
                Some("\"anonymous\";q=3;w=60")
            );
            assert_eq!(remaining(&answer, "anonymous"), left);
        }
        let refused = get(&app, "/api/v1/bulletins", crowded, None).await;
        let wait = retry_after(&refused);
        assert!((1..=20).contains(&wait), "Retry-After {wait}");
        assert_eq!(remaining(&refused, "anonymous"), 0);
        let body = problem(refused, 429).await;
        assert_eq!(body["code"], "too_many_requests");

        let other = get(&app, "/api/v1/bulletins", "198.51.100.7", None).await;
        assert_eq!(other.status().as_u16(), 200, "another address has its own");
        let signed_in = get(&app, "/api/v1/me", crowded, Some(token(&admin))).await;
        assert_eq!(
            signed_in.status().as_u16(),
            200,
            "an account is not its address"
        );
        assert_eq!(remaining(&signed_in, "account"), ALLOWANCE - 1);

        for exempt in [
            "/health/live",
            "/health/ready",
            "/metrics",
            "/.well-known/jwks.json",
            "/api-docs/openapi.json",
        ] {
            let answer = get(&app, exempt, crowded, None).await;
            assert_eq!(answer.status().as_u16(), 200, "{exempt} is exempt");
            assert!(header(&answer, "ratelimit").is_none(), "{exempt}");
        }

        app.advance_clock(Duration::seconds(wait));
        let again = get(&app, "/api/v1/bulletins", crowded, None).await;
        assert_eq!(again.status().as_u16(), 200, "after Retry-After");
    })
    .await;
}

/// An account's allowance is its own: another account at the same address is not
/// affected, and a forged token naming an account counts against its sender's address,
/// never against the account.
#[tokio::test]
async fn accounts_are_limited_per_user_and_forged_tokens_spend_nothing_of_theirs() {
    on_each_backend_with(limited, async |app| {
        let admin = app.bootstrap_admin().await;
        let busy = app.user(&admin, "gov_officer", None).await;
        let quiet = app.user(&admin, "gov_officer", None).await;
        after_set_up(&app);
        let office = "192.0.2.10";
        for _ in 0..ALLOWANCE {
            let answer = get(&app, "/api/v1/me", office, Some(token(&busy))).await;
            assert_eq!(answer.status().as_u16(), 200);
        }
        let refused = get(&app, "/api/v1/me", office, Some(token(&busy))).await;
        assert_eq!(
            header(&refused, "ratelimit-policy").as_deref(),
            Some("\"account\";q=3;w=60")
        );
        problem(refused, 429).await;

        let now = chrono::Utc::now().timestamp();
        let forged = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({"sub": quiet.id.to_string(), "role": "gov_officer", "iss": "kim-api",
                    "aud": "kim-api", "iat": now, "nbf": now, "exp": now + 600, "jti": "x"}),
            &jsonwebtoken::EncodingKey::from_secret(b"not-the-service-secret-not-the-service")
                .expect("key"),
        )
        .expect("token");
        for _ in 0..ALLOWANCE {
            let answer = get(&app, "/api/v1/me", "198.51.100.66", Some(&forged)).await;
            assert_eq!(
                header(&answer, "ratelimit-policy").as_deref(),
                Some("\"anonymous\";q=3;w=60"),
                "a forged token counts by address"
            );
            problem(answer, 401).await;
        }
        let own = get(&app, "/api/v1/me", office, Some(token(&quiet))).await;
        assert_eq!(
            own.status().as_u16(),
            200,
            "the same address, another account"
        );
        assert_eq!(
            remaining(&own, "account"),
            ALLOWANCE - 1,
            "the forgeries spent none of it"
        );
    })
    .await;
}

/// One integration client flooding the service, all at once, leaves another client's
/// requests, sent at the same time, untouched; each flood beyond the allowance is 429.
#[tokio::test]
async fn one_clients_flood_leaves_another_client_unaffected() {
    on_each_backend_with(limited, async |app| {
        let admin = app.bootstrap_admin().await;
        let (flood_id, flood_secret, _) = app.integration_client(&admin, &["kims:read"]).await;
        let (calm_id, calm_secret, _) = app.integration_client(&admin, &["kims:read"]).await;
        let flooder = app.client_token(&flood_id, &flood_secret).await;
        let calm = app.client_token(&calm_id, &calm_secret).await;
        after_set_up(&app);
        let host = "10.20.30.40";
        let flood = join_all((0..40).map(|_| get(&app, "/api/v1/kims", host, Some(&flooder))));
        let calm_requests =
            join_all((0..ALLOWANCE).map(|_| get(&app, "/api/v1/kims", host, Some(&calm))));
        let (flood, calm_answers) = tokio::join!(flood, calm_requests);
        let statuses: Vec<u16> = flood.iter().map(|a| a.status().as_u16()).collect();
        assert_eq!(
            statuses.iter().filter(|&&s| s == 200).count(),
            ALLOWANCE as usize
        );
        assert_eq!(
            statuses.iter().filter(|&&s| s == 429).count(),
            40 - ALLOWANCE as usize
        );
        for answer in &flood {
            assert_eq!(
                header(answer, "ratelimit-policy").as_deref(),
                Some("\"client\";q=3;w=60")
            );
        }
        let mut left: Vec<u32> = calm_answers
            .iter()
            .map(|answer| {
                assert_eq!(answer.status().as_u16(), 200, "the calm client is served");
                remaining(answer, "client")
            })
            .collect();
        left.sort_unstable();
        assert_eq!(
            left,
            vec![0, 1, 2],
            "its own allowance, spent once per request"
        );
    })
    .await;
}

/// Every limited operation documents its 429 with the fields; the exempt ones do not.
#[test]
fn the_document_lists_429_where_limits_apply() {
    let document: serde_json::Value =
        serde_json::from_str(&kim_api::routes::openapi_json()).expect("document");
    let paths = document["paths"].as_object().expect("paths");
    for (path, item) in paths {
        let exempt = kim_api::rate_limit::is_exempt(path);
        for (method, operation) in item.as_object().expect("path item") {
            let documents_429 = operation["responses"].get("429").is_some();
            assert_eq!(documents_429, !exempt, "{method} {path}");
        }
    }
    let headers = &document["components"]["responses"]["TooManyRequests"]["headers"];
    for name in ["Retry-After", "RateLimit-Policy", "RateLimit"] {
        assert!(headers.get(name).is_some(), "{name}");
    }
}
