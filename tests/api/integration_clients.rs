use serde_json::{Value, json};

use crate::helpers::{on_each_backend, problem};

#[tokio::test]
async fn clients_are_registered_listed_and_changed_by_gov_admin() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let token = &admin.session.access_token;
        let response = app
            .post_as("/api/v1/integration-clients", token, &json!({"name": "  SP4N-LAPOR!  ", "scopes": ["reports:write", "reports:read", "reports:read"]}))
            .await;
        assert_eq!(response.status().as_u16(), 201);
        let location = response.headers()["location"].to_str().expect("ascii").to_owned();
        let created: Value = response.json().await.expect("json");
        assert_eq!(created["name"], "SP4N-LAPOR!");
        assert_eq!(created["scopes"], json!(["reports:read", "reports:write"]));
        assert!(created["client_id"].as_str().is_some_and(|id| id.starts_with("kimc_")));
        assert!(created["client_secret"].as_str().is_some_and(|s| s.len() > 40));

        let fetched = app.get_as(&location, token).await;
        assert_eq!(fetched.headers()["etag"], "\"1\"");
        let fetched: Value = fetched.json().await.expect("json");
        assert!(fetched.get("client_secret").is_none(), "the secret is shown once");

        let cases = [
            (json!({"name": "", "scopes": ["kims:read"]}), 422, "name"),
            (json!({"name": "x".repeat(201), "scopes": ["kims:read"]}), 422, "name"),
            (json!({"name": "A", "scopes": []}), 422, "scopes"),
            (json!({"name": "A", "scopes": ["admin:all"]}), 400, "scopes[0]"),
            (json!({"name": "A"}), 400, "scopes"),
            (json!({"name": "A", "scopes": ["kims:read"], "secret": "mine"}), 400, "secret"),
        ];
        for (body, status, field) in cases {
            let problem = problem(app.post_as("/api/v1/integration-clients", token, &body).await, status).await;
            assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        }

        let renamed = app.patch_as(&location, token, &json!({"name": "LAPOR connector", "scopes": ["reports:read"]})).await;
        assert_eq!(renamed.status().as_u16(), 200);
        let renamed: Value = renamed.json().await.expect("json");
        assert_eq!((renamed["version"].clone(), renamed["scopes"].clone()), (json!(2), json!(["reports:read"])));
        assert!(renamed.get("client_secret").is_none(), "no secret without a rotation");
        let stale = app
            .client
            .patch(app.url(&location))
            .bearer_auth(token)
            .header("if-match", "\"1\"")
            .json(&json!({"disabled": true}))
            .send()
            .await
            .expect("request");
        assert_eq!(problem(stale, 412).await["code"], "precondition_failed");
        assert_eq!(app.patch_as("/api/v1/integration-clients/999999", token, &json!({"disabled": true})).await.status().as_u16(), 404);

        let disabled = app.get_as("/api/v1/integration-clients?disabled=true", token).await.json::<Value>().await.expect("json");
        assert_eq!(disabled["data"], json!([]));
        let all = app.get_as("/api/v1/integration-clients", token).await.json::<Value>().await.expect("json");
        assert_eq!(all["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(problem(app.get_as("/api/v1/integration-clients?disabled=maybe", token).await, 400).await["code"], "invalid_query");
    })
    .await;
}
