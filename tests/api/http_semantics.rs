//! HTTP behaviour shared by every route: HEAD, caching of personal answers, bounded
//! metrics labels, protected metrics, problem documents from mounted services.

use crate::helpers::{backends, on_each_backend, problem, spawn_app_with};

#[tokio::test]
async fn head_answers_where_get_does() {
    on_each_backend(async |app| {
        let get = app.get("/api/v1/regions").await;
        let head = app
            .client
            .head(app.url("/api/v1/regions"))
            .send()
            .await
            .expect("HEAD");
        assert_eq!(head.status().as_u16(), 200);
        assert_eq!(
            head.headers()["content-type"],
            get.headers()["content-type"]
        );
        assert!(head.bytes().await.expect("body").is_empty());
        let unknown = app
            .client
            .head(app.url("/api/v1/nowhere"))
            .send()
            .await
            .expect("HEAD");
        assert_eq!(unknown.status().as_u16(), 404);
    })
    .await;
}

#[tokio::test]
async fn answers_to_authenticated_requests_are_not_cached() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let me = app.get_as("/api/v1/me", &admin.session.access_token).await;
        assert_eq!(me.headers()["cache-control"], "no-store");
        let refused = app
            .get_as("/api/v1/users/999", &admin.session.access_token)
            .await;
        assert_eq!(refused.headers()["cache-control"], "no-store");
        let public = app.get("/api/v1/regions").await;
        assert!(public.headers().get("cache-control").is_none());
    })
    .await;
}

#[tokio::test]
async fn invented_methods_do_not_grow_the_metrics() {
    on_each_backend(async |app| {
        for i in 0..50 {
            let method =
                reqwest::Method::from_bytes(format!("BREW{i}{}", "X".repeat(200)).as_bytes())
                    .expect("method");
            let response = app
                .client
                .request(method, app.url("/api/v1/regions"))
                .send()
                .await
                .expect("request");
            assert_eq!(response.status().as_u16(), 405);
        }
        let metrics = app.get("/metrics").await.text().await.expect("text");
        assert!(!metrics.contains("BREW"), "invented methods are not labels");
        assert!(metrics.contains(r#"method="other""#));
    })
    .await;
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    for backend in backends() {
        let app = spawn_app_with(backend, |config| {
            config.metrics_token = Some("scraper-token-of-the-city".into());
        })
        .await;
        problem(app.get("/metrics").await, 401).await;
        let wrong = app.get_as("/metrics", "not-the-token").await;
        problem(wrong, 401).await;
        let scraped = app.get_as("/metrics", "scraper-token-of-the-city").await;
        assert_eq!(scraped.status().as_u16(), 200);
    }
}

#[tokio::test]
async fn missing_docs_files_answer_a_problem() {
    on_each_backend(async |app| {
        let body = problem(app.get("/docs/no-such-file.js").await, 404).await;
        assert_eq!(body["code"], "route_not_found");
    })
    .await;
}

#[tokio::test]
async fn control_characters_in_queries_and_bad_ids_are_clean_400s() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let token = &admin.session.access_token;
        for path in [
            "/api/v1/kims?q=%00",
            "/api/v1/kims?kecamatan_code=18.72%00",
            "/api/v1/users?q=a%1b%5b31m",
            "/api/v1/regions?parent=%00",
            "/api/v1/kims?cursor=%00",
        ] {
            let body = problem(app.get_as(path, token).await, 400).await;
            assert_eq!(body["code"], "invalid_query", "{path}");
        }
        let anonymous = problem(app.get("/api/v1/kims?q=%00").await, 400).await;
        assert_eq!(anonymous["errors"][0]["code"], "invalid_character");
        let body = problem(
            app.get_as("/api/v1/users/99999999999999999999", token)
                .await,
            400,
        )
        .await;
        assert_eq!(body["code"], "invalid_path");
        let text = body.to_string();
        assert!(
            !text.contains("i64") && !text.contains("deserialize"),
            "{text}"
        );
        let basic = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .basic_auth("client\u{0}id", Some("secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request");
        assert_eq!(problem(basic, 401).await["error"], "invalid_client");
    })
    .await;
}
