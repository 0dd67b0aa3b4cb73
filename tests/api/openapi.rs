use crate::helpers::{Backend, spawn_app};

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[test]
fn committed_openapi_matches_the_code() {
    let generated = kim_api::routes::openapi_json();
    assert!(
        generated == COMMITTED,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn the_served_document_is_the_committed_one_and_documents_errors() {
    let app = spawn_app(Backend::Sqlite).await;
    let served: serde_json::Value = app
        .get("/api-docs/openapi.json")
        .await
        .json()
        .await
        .expect("json");
    let committed: serde_json::Value = serde_json::from_str(COMMITTED).expect("valid JSON");
    assert_eq!(served, committed);
    assert_eq!(served["openapi"], "3.1.0");

    let regions = &served["paths"]["/api/v1/regions"]["get"];
    assert_eq!(
        regions["responses"]["400"]["$ref"],
        "#/components/responses/InvalidQuery"
    );
    assert!(served["components"]["schemas"]["Problem"].is_object());
    assert_eq!(
        served["components"]["responses"]["InvalidQuery"]["content"]["application/problem+json"]["schema"]
            ["$ref"],
        "#/components/schemas/Problem"
    );

    let schemes = &served["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(
        schemes["oauth2"]["flows"]["password"]["tokenUrl"],
        "/api/v1/auth/token"
    );
    assert!(schemes["oauth2"]["flows"]["clientCredentials"]["scopes"]["reports:write"].is_string());
    let users = &served["paths"]["/api/v1/users"]["get"];
    assert_eq!(users["security"], serde_json::json!([{"bearer": []}]));
    assert!(
        users["description"]
            .as_str()
            .is_some_and(|d| d.contains("gov_admin"))
    );
    for status in ["401", "403"] {
        assert!(
            users["responses"][status].is_object(),
            "GET /users documents {status}"
        );
    }

    let docs = app.get("/docs/").await;
    assert_eq!(docs.status().as_u16(), 200);
    assert!(docs.text().await.expect("html").contains("swagger-ui"));
    let redirect = app.get("/docs").await;
    assert_eq!(redirect.status().as_u16(), 308);
}

/// Every enum the document names is written on the wire in snake_case: a value the
/// service would refuse never reaches generated clients (utoipa once wrote the Rust
/// variant names, `AllKims`, for `all_kims`). GeoJSON's type names are RFC 7946's.
#[test]
fn enums_carry_the_wire_values() {
    const GEOJSON_TYPES: [&str; 5] = [
        "FeatureCollection",
        "Feature",
        "Point",
        "Polygon",
        "MultiPolygon",
    ];
    let document: serde_json::Value = serde_json::from_str(COMMITTED).expect("valid JSON");
    let mut bad = Vec::new();
    for (name, schema) in document["components"]["schemas"]
        .as_object()
        .expect("schemas")
    {
        for value in schema["enum"].as_array().into_iter().flatten() {
            let text = value.as_str().unwrap_or_default();
            let snake = text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ':');
            // Event types are dotted (`report.created`, `member.*`), as deliveries name them.
            let event = name == "WebhookEvent"
                && text
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.' || c == '*');
            if !snake && !event && !GEOJSON_TYPES.contains(&text) {
                bad.push(format!("{name}: {value}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Client generators name methods after `operationId`s; two alike break them (and the
/// OpenAPI validator in CI).
#[test]
fn operation_ids_are_unique() {
    let document: serde_json::Value = serde_json::from_str(COMMITTED).expect("valid JSON");
    let mut seen = std::collections::BTreeMap::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            if let Some(id) = operation["operationId"].as_str()
                && let Some(first) = seen.insert(id.to_owned(), format!("{method} {path}"))
            {
                panic!("operationId {id} names both {first} and {method} {path}");
            }
        }
    }
}

/// Shapes the common client generators cannot read (openapi-python-client refuses a
/// `oneOf` of `allOf`s; a `oneOf` of named schemas without a discriminator becomes a
/// guess by trial parsing). `.ci/clients` generates the clients themselves; this
/// names the schema at fault without Java or Python.
#[test]
fn unions_are_named_and_discriminated() {
    fn visit(at: &str, value: &serde_json::Value, bad: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(object) => {
                if let Some(alternatives) = object.get("oneOf").and_then(|v| v.as_array()) {
                    if alternatives.iter().any(|a| a.get("allOf").is_some()) {
                        bad.push(format!("{at}: a oneOf of allOfs"));
                    }
                    let refs: Vec<&str> = alternatives
                        .iter()
                        .filter_map(|a| a.get("$ref").and_then(|r| r.as_str()))
                        .collect();
                    if refs.len() > 1 {
                        let mapping = &object["discriminator"]["mapping"];
                        let mapped: Vec<&str> = mapping
                            .as_object()
                            .into_iter()
                            .flatten()
                            .filter_map(|(_, target)| target.as_str())
                            .collect();
                        if refs.iter().any(|r| !mapped.contains(r)) {
                            bad.push(format!(
                                "{at}: named alternatives without a discriminator mapping each"
                            ));
                        }
                    }
                }
                for (key, child) in object {
                    visit(&format!("{at}/{key}"), child, bad);
                }
            }
            serde_json::Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    visit(&format!("{at}/{index}"), child, bad);
                }
            }
            _ => {}
        }
    }
    let document: serde_json::Value = serde_json::from_str(COMMITTED).expect("valid JSON");
    let mut bad = Vec::new();
    visit("", &document, &mut bad);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(
        document["components"]["schemas"]["Me"]["discriminator"]["propertyName"],
        "kind"
    );
}

/// openapi-python-client generates an operation that does not import when a required
/// body has two media types; each operation documents one (the token endpoint's form,
/// though it accepts the same fields as JSON, as its description says).
#[test]
fn each_request_body_has_one_media_type() {
    let document: serde_json::Value = serde_json::from_str(COMMITTED).expect("valid JSON");
    let mut bad = Vec::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let media_types = operation["requestBody"]["content"]
                .as_object()
                .map_or(0, |content| content.len());
            if media_types > 1 {
                bad.push(format!("{method} {path}: {media_types} media types"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Every `$ref` names something the document defines: a dangling one makes the document
/// invalid for every validator and generator (a query enum once referred to a schema
/// that was never registered).
#[test]
fn every_reference_resolves() {
    fn visit(value: &serde_json::Value, document: &serde_json::Value, bad: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(object) => {
                if let Some(target) = object.get("$ref").and_then(|r| r.as_str()) {
                    let pointer = target.trim_start_matches('#');
                    if document.pointer(pointer).is_none() {
                        bad.push(target.to_owned());
                    }
                }
                for child in object.values() {
                    visit(child, document, bad);
                }
            }
            serde_json::Value::Array(items) => {
                for child in items {
                    visit(child, document, bad);
                }
            }
            _ => {}
        }
    }
    let document: serde_json::Value = serde_json::from_str(COMMITTED).expect("valid JSON");
    let mut bad = Vec::new();
    visit(&document, &document, &mut bad);
    assert!(bad.is_empty(), "dangling: {}", bad.join(", "));
}

/// The limits named in descriptions are the constants the service enforces, written in
/// when the document is built: none is left as a placeholder, and the numbers are the
/// constants' own.
#[test]
fn limits_in_descriptions_are_the_enforced_constants() {
    assert!(!COMMITTED.contains("{MAX_") && !COMMITTED.contains("{UPLOAD_EXPIRY"));
    let document: serde_json::Value = serde_json::from_str(COMMITTED).expect("valid JSON");
    let add = &document["paths"]["/api/v1/bulletins/{id}/attachments"]["post"]["summary"];
    let mib = kim_api::attachments::MAX_FILE_BYTES / (1024 * 1024);
    let per_item = kim_api::attachments::MAX_PER_OWNER;
    assert!(
        add.as_str()
            .is_some_and(|text| text.contains(&format!("at most {mib} MiB"))
                && text.contains(&format!("at most {per_item} per item"))),
        "{add}"
    );
    let length = &document["paths"]["/api/v1/uploads"]["post"]["parameters"][1];
    assert_eq!(length["name"], "Upload-Length");
    assert_eq!(
        length["schema"]["maximum"],
        kim_api::attachments::MAX_FILE_BYTES
    );
}

/// No operation lists a parameter twice (name and place): OpenAPI forbids it, and a
/// path parameter documented by hand beside the one taken from the handler's signature
/// once did.
#[test]
fn no_operation_lists_a_parameter_twice() {
    let document: serde_json::Value = serde_json::from_str(COMMITTED).expect("valid JSON");
    let mut bad = Vec::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let mut seen = std::collections::HashSet::new();
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let key = (parameter["name"].to_string(), parameter["in"].to_string());
                if parameter.get("name").is_some() && !seen.insert(key.clone()) {
                    bad.push(format!("{method} {path}: {key:?}"));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
