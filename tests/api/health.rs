use crate::helpers::{on_each_backend, problem};

#[tokio::test]
async fn liveness_answers_without_the_database() {
    on_each_backend(async |app| {
        app.database.destroy();
        let response = app.get("/health/live").await;
        assert_eq!(response.status().as_u16(), 200);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["status"], "ok");
    })
    .await;
}

#[tokio::test]
async fn readiness_follows_the_database() {
    on_each_backend(async |app| {
        let response = app.get("/health/ready").await;
        assert_eq!(response.status().as_u16(), 200);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["status"], "ready");

        app.database.destroy();
        let response = app.get("/health/ready").await;
        assert!(response.headers().contains_key("retry-after"));
        let body = problem(response, 503).await;
        assert_eq!(body["code"], "service_unavailable");
    })
    .await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    on_each_backend(async |app| {
        assert_eq!(app.get("/api/v1/regions").await.status().as_u16(), 200);
        assert_eq!(
            app.get("/api/v1/regions?level=x").await.status().as_u16(),
            400
        );

        let response = app.get("/metrics").await;
        assert_eq!(response.status().as_u16(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        let text = response.text().await.expect("text");
        assert!(
            text.contains(
                r#"kim_http_requests_total{method="GET",route="/api/v1/regions",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"kim_http_requests_total{method="GET",route="/api/v1/regions",status="400"} 1"#
        ));
        assert!(text.contains(
            r#"kim_http_request_duration_seconds_bucket{route="/api/v1/regions",le="0.1"}"#
        ));
        assert!(text.contains("kim_db_pool_connections{pool="));
        assert!(text.contains("kim_db_pool_idle_connections{pool="));
        assert!(text.contains("\nkim_outbox_unpublished_events "));
        assert!(text.contains("\nkim_webhook_deliveries_pending 0\n"));
    })
    .await;
}
