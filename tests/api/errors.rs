use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, test, web};
use kim_api::extract::{ApiJson, JSON_BODY_LIMIT, configure_builtin_extractors};
use kim_api::telemetry::request_context;
use serde::Deserialize;

use crate::helpers::{Backend, on_each_backend, problem, spawn_app_with};

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    on_each_backend(async |app| {
        let body = problem(app.get("/api/v1/nothing-here").await, 404).await;
        assert_eq!(body["code"], "route_not_found");
        assert_eq!(body["type"], "urn:kim-api:problem:route_not_found");
        assert_eq!(body["errors"], serde_json::json!([]));

        let response = app
            .client
            .delete(app.url("/api/v1/regions"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.headers()["allow"], "GET");
        let body = problem(response, 405).await;
        assert_eq!(body["code"], "method_not_allowed");
    })
    .await;
}

#[tokio::test]
async fn request_ids_are_taken_or_generated_and_always_returned() {
    on_each_backend(async |app| {
        let response = app
            .client
            .get(app.url("/api/v1/nothing-here"))
            .header("x-request-id", "mobile-app.42")
            .send()
            .await
            .expect("request");
        assert_eq!(response.headers()["x-request-id"], "mobile-app.42");
        let body = problem(response, 404).await;
        assert_eq!(body["request_id"], "mobile-app.42");

        let generated = app.get("/health/live").await;
        let id = generated.headers()["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id} is a UUID");

        // A header that could smuggle text into logs is replaced, not echoed.
        let response = app
            .client
            .get(app.url("/health/live"))
            .header("x-request-id", "evil id\twith spaces")
            .send()
            .await
            .expect("request");
        let id = response.headers()["x-request-id"].to_str().expect("ascii");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id} replaced by a UUID");
    })
    .await;
}

#[tokio::test]
async fn indonesian_is_answered_when_asked_for() {
    on_each_backend(async |app| {
        let response = app
            .client
            .get(app.url("/api/v1/regions?level=desa"))
            .header("accept-language", "id-ID,id;q=0.9,en;q=0.5")
            .send()
            .await
            .expect("request");
        assert_eq!(response.headers()["content-language"], "id");
        let body = problem(response, 400).await;
        assert_eq!(body["title"], "Parameter kueri tidak valid");
        assert_eq!(
            body["code"], "invalid_query",
            "codes stay the same in every language"
        );

        let response = app
            .client
            .get(app.url("/api/v1/regions?level=desa"))
            .header("accept-language", "en-US,id;q=0.5")
            .send()
            .await
            .expect("request");
        let body = problem(response, 400).await;
        assert_eq!(body["title"], "Invalid query parameters");
    })
    .await;
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Greeting {
    name: String,
    kind: Kind,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Formal,
    Casual,
}

async fn greet(body: ApiJson<Greeting>) -> HttpResponse {
    let ApiJson(greeting) = body;
    let text = match greeting.kind {
        Kind::Formal => format!("Selamat pagi, {}", greeting.name),
        Kind::Casual => format!("Halo, {}", greeting.name),
    };
    HttpResponse::Ok().body(text)
}

async fn greet_builtin(body: web::Json<Greeting>) -> HttpResponse {
    HttpResponse::Ok().body(body.into_inner().name)
}

/// The JSON extractor every endpoint uses, behind the real request middleware.
/// (No endpoint of the foundation takes a body yet; later resources test theirs too.)
#[actix_web::test]
async fn json_bodies_fail_as_problems_naming_the_field() {
    let app = test::init_service(
        App::new()
            .configure(configure_builtin_extractors)
            .route("/greet", web::post().to(greet))
            .route("/greet-builtin", web::post().to(greet_builtin))
            .wrap(from_fn(request_context)),
    )
    .await;

    let ok = test::TestRequest::post()
        .uri("/greet")
        .insert_header(("content-type", "application/json"))
        .set_payload(r#"{"name":"Siti","kind":"casual"}"#)
        .send_request(&app)
        .await;
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(test::read_body(ok).await, "Halo, Siti");

    let cases: [(&str, &str, &str, u16, &str, &str); 9] = [
        (
            "/greet",
            "application/json",
            r#"{"name":"A","kind":"formal","kind":"casual"}"#,
            400,
            "invalid_body",
            "duplicate_key",
        ),
        (
            "/greet",
            "application/json",
            r#"{"name":"A","kind":"casual"} {"name":"B"}"#,
            400,
            "invalid_body",
            "malformed_json",
        ),
        (
            "/greet",
            "application/json",
            "{\"name\":",
            400,
            "invalid_body",
            "malformed_json",
        ),
        (
            "/greet",
            "application/json",
            r#"{"name":"A","kind":"casual","x":1}"#,
            400,
            "invalid_body",
            "unknown_field",
        ),
        (
            "/greet",
            "application/json",
            r#"{"kind":"casual"}"#,
            400,
            "invalid_body",
            "required",
        ),
        (
            "/greet",
            "application/json",
            r#"{"name":"A","kind":"rude"}"#,
            400,
            "invalid_body",
            "unknown_value",
        ),
        (
            "/greet",
            "application/json",
            r#"{"name":7,"kind":"casual"}"#,
            400,
            "invalid_body",
            "invalid_type",
        ),
        (
            "/greet",
            "text/plain",
            r#"{"name":"A","kind":"casual"}"#,
            415,
            "unsupported_media_type",
            "",
        ),
        (
            "/greet-builtin",
            "application/json",
            r#"{"name":"A"}"#,
            400,
            "invalid_body",
            "",
        ),
    ];
    for (uri, content_type, body, status, code, field_code) in cases {
        let response = test::TestRequest::post()
            .uri(uri)
            .insert_header(("content-type", content_type))
            .set_payload(body)
            .send_request(&app)
            .await;
        assert_eq!(response.status().as_u16(), status, "{body}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(header("content-type"), "application/problem+json");
        let request_id = header("x-request-id");
        let problem: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(problem["code"], code, "{body}: {problem}");
        assert_eq!(problem["request_id"], request_id.as_str());
        if !field_code.is_empty() {
            assert_eq!(
                problem["errors"][0]["code"], field_code,
                "{body}: {problem}"
            );
        }
    }

    let unknown = test::TestRequest::post()
        .uri("/greet")
        .insert_header(("content-type", "application/json"))
        .set_payload(r#"{"name":"A","kind":"casual","nik":"1"}"#)
        .send_request(&app)
        .await;
    let problem: serde_json::Value = test::read_body_json(unknown).await;
    assert_eq!(problem["errors"][0]["field"], "nik");

    let nested_duplicate = test::TestRequest::post()
        .uri("/greet")
        .insert_header(("content-type", "application/json"))
        .set_payload(r#"{"name":"A","kind":"casual","x":[{"a":1,"a":2}]}"#)
        .send_request(&app)
        .await;
    let problem: serde_json::Value = test::read_body_json(nested_duplicate).await;
    assert_eq!(problem["errors"][0]["field"], "x[0].a", "{problem}");
    assert_eq!(problem["errors"][0]["code"], "duplicate_key", "{problem}");

    let oversized = format!(
        r#"{{"name":"{}","kind":"casual"}}"#,
        "a".repeat(JSON_BODY_LIMIT)
    );
    for uri in ["/greet", "/greet-builtin"] {
        let response = test::TestRequest::post()
            .uri(uri)
            .insert_header(("content-type", "application/json"))
            .set_payload(oversized.clone())
            .send_request(&app)
            .await;
        assert_eq!(response.status().as_u16(), 413, "{uri}");
        let problem: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(problem["code"], "payload_too_large");
    }
}

#[tokio::test]
async fn configured_browser_origins_pass_cors() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.cors_origins = vec!["https://dashboard.metrokota.example".into()];
    })
    .await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/regions"))
        .header("origin", "https://dashboard.metrokota.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status().as_u16(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://dashboard.metrokota.example"
    );

    let response = app
        .client
        .get(app.url("/api/v1/regions"))
        .header("origin", "https://dashboard.metrokota.example")
        .send()
        .await
        .expect("request");
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");

    let other = app
        .client
        .get(app.url("/api/v1/regions"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}
