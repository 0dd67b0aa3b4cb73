//! Open311 GeoReport v2: discovery, services and their definitions, requests read and
//! posted with an integration client's API key, tokens, both formats and every error;
//! and a round trip with an Open311 client library (Python `georeport`).

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, problem, token};
use crate::python::run_script;
use crate::reports::{id_of, json_of, move_to, report, submit, town};

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/open311/v2/{path}")))
        .send()
        .await
        .expect("request")
}

/// An Open311 JSON answer with its status.
async fn open311_json(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{}",
        response.url()
    );
    json_of(response, status).await
}

async fn open311_xml(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status, "{}", response.url());
    assert_eq!(
        response.headers()["content-type"],
        "text/xml; charset=utf-8"
    );
    let text = response.text().await.expect("body");
    assert!(
        text.starts_with(r#"<?xml version="1.0" encoding="utf-8"?>"#),
        "{text}"
    );
    text
}

/// The Open311 error answer of a JSON request: `[{"code", "description"}]`.
async fn open311_error(response: reqwest::Response, status: u16) -> String {
    let errors = open311_json(response, status).await;
    assert_eq!(errors[0]["code"], status, "{errors}");
    errors[0]["description"]
        .as_str()
        .expect("description")
        .to_owned()
}

async fn post(app: &TestApp, format: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/open311/v2/requests.{format}")))
        .form(fields)
        .send()
        .await
        .expect("post")
}

/// An API key of a new integration client holding `reports:write`.
pub async fn api_key(app: &TestApp, admin: &str) -> (i64, i64, String) {
    let body = json!({"name": "FixMyStreet Metro", "scopes": ["reports:write"]});
    let client = json_of(
        app.post_as("/api/v1/integration-clients", admin, &body)
            .await,
        201,
    )
    .await;
    let client_id = client["id"].as_i64().expect("id");
    let issued = json_of(
        app.post_as(
            &format!("/api/v1/integration-clients/{client_id}/api-keys"),
            admin,
            &json!({}),
        )
        .await,
        201,
    )
    .await;
    let key = issued["api_key"].as_str().expect("api_key").to_owned();
    assert!(key.starts_with("kimk_"));
    (client_id, issued["id"].as_i64().expect("key id"), key)
}

/// Form fields of a POST.
type Form<'a> = Vec<(&'a str, &'a str)>;

fn citizen_request<'a>(key: &'a str, description: &'a str) -> Form<'a> {
    vec![
        ("api_key", key),
        ("service_code", "infrastruktur"),
        ("lat", "-5.1131"),
        ("long", "105.3067"),
        ("address_string", "Jl. Ahmad Yani, RW 03"),
        ("description", description),
        ("attribute[kelurahan_code]", "18.72.01.1001"),
        ("first_name", "Siti"),
        ("last_name", "Rahayu"),
        ("phone", "0812-3456-7890"),
        ("media_url", "https://foto.example.org/lampu.jpg"),
    ]
}

#[tokio::test]
async fn discovery_services_and_definitions_answer_in_both_formats() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let discovery = open311_json(get(&app, "discovery.json").await, 200).await;
        assert_eq!(
            discovery["endpoints"][0]["specification"],
            "http://wiki.open311.org/GeoReport_v2"
        );
        assert_eq!(
            discovery["endpoints"][0]["formats"],
            json!(["application/json", "text/xml"])
        );
        let xml = open311_xml(get(&app, "discovery.xml").await, 200).await;
        assert!(xml.contains("<formats><format>application/json</format><format>text/xml</format></formats>"), "{xml}");

        // A retired category is no service.
        let retired = app
            .client
            .patch(app.url("/api/v1/report-categories/lainnya"))
            .bearer_auth(token(&t.admin))
            .json(&json!({"active": false}))
            .send()
            .await
            .expect("retire");
        assert_eq!(retired.status().as_u16(), 200);
        let services = open311_json(get(&app, "services.json").await, 200).await;
        let codes: Vec<&str> = services
            .as_array()
            .expect("services")
            .iter()
            .map(|service| service["service_code"].as_str().expect("code"))
            .collect();
        assert!(codes.contains(&"infrastruktur") && !codes.contains(&"lainnya"), "{codes:?}");
        let infrastructure = services
            .as_array()
            .expect("services")
            .iter()
            .find(|service| service["service_code"] == "infrastruktur")
            .expect("infrastruktur");
        assert_eq!(infrastructure["metadata"], true);
        assert_eq!(infrastructure["type"], "realtime");
        let xml = open311_xml(get(&app, "services.xml").await, 200).await;
        assert!(xml.contains("<services><service><service_code>"), "{xml}");

        let definition = open311_json(get(&app, "services/infrastruktur.json").await, 200).await;
        assert_eq!(definition["service_code"], "infrastruktur");
        let kelurahan = &definition["attributes"][0];
        assert_eq!(kelurahan["code"], "kelurahan_code");
        assert_eq!(kelurahan["required"], true);
        assert_eq!(kelurahan["datatype"], "singlevaluelist");
        assert!(kelurahan["values"]
            .as_array()
            .expect("values")
            .iter()
            .any(|value| value["key"] == "18.72.01.1001" && value["name"] == "Metro"));
        assert_eq!(definition["attributes"][1]["code"], "kind");
        assert_eq!(definition["attributes"][1]["required"], false);
        let xml = open311_xml(get(&app, "services/infrastruktur.xml").await, 200).await;
        assert!(xml.contains("<service_definition><service_code>infrastruktur</service_code><attributes><attribute>"), "{xml}");
        assert!(xml.contains("<value><key>18.72.01.1001</key><name>Metro</name></value>"));

        for (path, status) in [
            ("services/lainnya.json", 404),
            ("services/tidak_ada.json", 404),
            ("services.csv", 404),
            ("services.json?jurisdiction_id=kota-lain.go.id", 404),
            ("services.json?jurisdiction_id=metrokota.go.id", 200),
            ("services.json?kota=metro", 400),
            ("discovery.json?jurisdiction_id=kota-lain.go.id", 404),
        ] {
            let answer = get(&app, path).await;
            if status == 200 {
                open311_json(answer, 200).await;
            } else {
                open311_error(answer, status).await;
            }
        }
        let xml_error = open311_xml(get(&app, "services/tidak_ada.xml").await, 404).await;
        assert!(xml_error.contains("<errors><error><code>404</code><description>"), "{xml_error}");
    })
    .await;
}

#[tokio::test]
async fn open311_clients_post_with_an_api_key_and_follow_their_requests() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let admin = token(&t.admin);
        let (client_id, key_id, key) = api_key(&app, admin).await;

        let posted = open311_json(
            post(&app, "json", &citizen_request(&key, "Lampu jalan padam\nSudah seminggu gelap.")).await,
            201,
        )
        .await;
        let id: i64 = posted[0]["service_request_id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("numeric id");
        let notice = posted[0]["service_notice"].as_str().expect("notice");
        let tracking = notice
            .split("kode lacak ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .expect("the tracking code is in the notice")
            .to_owned();

        // The report, as gov reads it through the JSON API.
        let stored = json_of(app.get_as(&format!("/api/v1/reports/{id}"), admin).await, 200).await;
        assert_eq!(stored["channel"], "open311");
        assert_eq!(stored["title"], "Lampu jalan padam");
        assert_eq!(stored["kind"], "complaint");
        assert_eq!(stored["reporter_name"], "Siti Rahayu");
        assert_eq!(stored["kelurahan_code"], "18.72.01.1001");

        let read = get(&app, &format!("requests/{id}.json")).await;
        let read = open311_json(read, 200).await;
        let request = &read[0];
        assert_eq!(request["service_request_id"], id.to_string());
        assert_eq!(request["status"], "open");
        assert_eq!(request["service_code"], "infrastruktur");
        assert_eq!(request["media_url"], "https://foto.example.org/lampu.jpg");
        assert_eq!(request["lat"], -5.1131);
        assert!(request["expected_datetime"].as_str().expect("due").ends_with("+07:00"));
        assert_eq!(request["status_notes"], Value::Null);
        let text = read.to_string();
        assert!(!text.contains("Siti") && !text.contains("0812") && !text.contains("+62"), "{text}");

        json_of(
            move_to(&app, token(&t.officer), id, json!({"status": "verified",
                "note": "Diteruskan ke Dinas PUPR.", "assigned_agency": "Dinas PUPR"})).await,
            200,
        )
        .await;
        for status in ["in_progress", "resolved"] {
            json_of(move_to(&app, token(&t.officer), id, json!({"status": status})).await, 200).await;
        }
        let closed = open311_json(get(&app, &format!("requests/{id}.json")).await, 200).await;
        assert_eq!(closed[0]["status"], "closed");
        assert_eq!(closed[0]["status_notes"], "Diteruskan ke Dinas PUPR.");
        assert_eq!(closed[0]["agency_responsible"], "Dinas PUPR");
        assert_eq!(closed[0]["expected_datetime"], Value::Null);
        let xml = open311_xml(get(&app, &format!("requests/{id}.xml")).await, 200).await;
        assert!(xml.contains(&format!("<service_requests><request><service_request_id>{id}</service_request_id><status>closed</status>")), "{xml}");

        let by_token = open311_json(get(&app, &format!("tokens/{tracking}.json")).await, 200).await;
        assert_eq!(by_token, json!([{"service_request_id": id.to_string(), "token": tracking}]));
        let xml = open311_xml(get(&app, &format!("tokens/{tracking}.xml")).await, 200).await;
        assert!(xml.contains(&format!("<token>{tracking}</token>")));

        // Confidential reports never appear; anonymous ones appear without reporter.
        let secret = id_of(&submit(&app, token(&t.member_a), &report("confidential")).await);
        let anonymous = id_of(&submit(&app, token(&t.member_a), &report("anonymous")).await);
        let secret_code = json_of(app.get_as(&format!("/api/v1/reports/{secret}"), admin).await, 200)
            .await["tracking_code"]
            .as_str()
            .expect("code")
            .to_owned();
        open311_error(get(&app, &format!("requests/{secret}.json")).await, 404).await;
        open311_error(get(&app, &format!("tokens/{secret_code}.json")).await, 404).await;
        let listed = open311_json(get(&app, "requests.json").await, 200).await;
        let ids: Vec<&str> = listed
            .as_array()
            .expect("requests")
            .iter()
            .map(|request| request["service_request_id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, [anonymous.to_string(), id.to_string()], "newest first, no confidential");
        assert!(!listed.to_string().contains("Siti"));
        let open = open311_json(get(&app, "requests.json?status=open").await, 200).await;
        assert_eq!(open.as_array().map(Vec::len), Some(1));
        let chosen = open311_json(
            get(&app, &format!("requests.json?service_request_id={id},{secret}&status=open")).await,
            200,
        )
        .await;
        assert_eq!(chosen.as_array().map(Vec::len), Some(1), "ids override the status filter");
        let other_service = open311_json(get(&app, "requests.json?service_code=kesehatan").await, 200).await;
        assert_eq!(other_service, json!([]));
        let long_ago = open311_json(
            get(&app, "requests.json?start_date=2020-01-01T00:00:00%2B07:00&end_date=2020-02-01T00:00:00Z").await,
            200,
        )
        .await;
        assert_eq!(long_ago, json!([]));

        for (path, status) in [
            ("requests.json?start_date=kemarin", 400),
            ("requests.json?status=pending", 400),
            ("requests.json?service_request_id=abc", 400),
            ("requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", 400),
            ("requests.json?start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", 400),
            ("requests.json?limit=5", 400),
            ("requests/abc.json", 404),
            ("requests/999999.json", 404),
            ("tokens/MTR-0000-0000.json", 404),
        ] {
            open311_error(get(&app, path).await, status).await;
        }

        // Bad submissions: clear Open311 errors, nothing stored.
        let mut missing_kelurahan = citizen_request(&key, "Jalan berlubang");
        missing_kelurahan.retain(|(name, _)| *name != "attribute[kelurahan_code]");
        let mut no_location = citizen_request(&key, "Jalan berlubang");
        no_location.retain(|(name, _)| !matches!(*name, "lat" | "long" | "address_string"));
        let mut unknown_kelurahan = citizen_request(&key, "Jalan berlubang");
        unknown_kelurahan.push(("attribute[kelurahan_code]", "18.72.09.9999"));
        unknown_kelurahan.retain(|pair| *pair != ("attribute[kelurahan_code]", "18.72.01.1001"));
        let cases: Vec<(Form, u16, &str)> = vec![
            (citizen_request("", "Jalan berlubang"), 403, "api_key"),
            (citizen_request("kimk_palsu", "Jalan berlubang"), 403, "api_key"),
            (citizen_request(&key, "   "), 400, "description"),
            (missing_kelurahan, 400, "attribute[kelurahan_code]"),
            (unknown_kelurahan, 400, "attribute[kelurahan_code]"),
            (no_location, 400, "location"),
            ([citizen_request(&key, "Jalan"), vec![("lat", "utara")]].concat(), 400, "lat"),
            ([citizen_request(&key, "Jalan"), vec![("attribute[warna]", "merah")]].concat(), 400, "attribute[warna]"),
            ([citizen_request(&key, "Jalan"), vec![("attribute[kind]", "keluhan")]].concat(), 400, "attribute[kind]"),
            ([citizen_request(&key, "Jalan"), vec![("service_code", "tidak_ada")]].concat(), 400, "service_code"),
            ([citizen_request(&key, "Jalan"), vec![("media_url", "javascript:alert(1)")]].concat(), 400, "media_url"),
            ([citizen_request(&key, "Jalan"), vec![("lat", "-6.2"), ("long", "106.8")]].concat(), 400, "lat"),
            ([citizen_request(&key, "Jalan"), vec![("rahasia", "x")]].concat(), 400, "rahasia"),
        ];
        for (fields, status, mentions) in cases {
            let description = open311_error(post(&app, "json", &fields).await, status).await;
            assert!(description.contains(mentions), "{mentions}: {description}");
        }
        let as_json = app
            .client
            .post(app.url("/open311/v2/requests.json"))
            .json(&json!({"api_key": key}))
            .send()
            .await
            .expect("post");
        open311_error(as_json, 400).await;
        let xml_error = open311_xml(post(&app, "xml", &citizen_request("kimk_palsu", "Jalan")).await, 403).await;
        assert!(xml_error.contains("<errors><error><code>403</code>"));
        let xml_posted = open311_xml(post(&app, "xml", &citizen_request(&key, "Selokan mampet")).await, 201).await;
        assert!(xml_posted.contains("<service_requests><request><service_request_id>"), "{xml_posted}");
        // The old `open311` wrapper sends the key in the query string.
        let in_query = app
            .client
            .post(app.url(&format!("/open311/v2/requests.json?api_key={key}&jurisdiction_id=metrokota.go.id")))
            .form(&citizen_request("", "Sampah menumpuk")[1..])
            .send()
            .await
            .expect("post");
        open311_json(in_query, 201).await;

        // A reader client gets no key; a revoked key stops working.
        let reader = json_of(
            app.post_as("/api/v1/integration-clients", admin,
                &json!({"name": "Dasbor", "scopes": ["reports:read"]})).await,
            201,
        )
        .await;
        let refused = app
            .post_as(&format!("/api/v1/integration-clients/{}/api-keys", reader["id"]), admin, &json!({}))
            .await;
        assert_eq!(problem(refused, 422).await["code"], "scope_missing");
        let revoked = app
            .client
            .delete(app.url(&format!("/api/v1/integration-clients/{client_id}/api-keys/{key_id}")))
            .bearer_auth(admin)
            .send()
            .await
            .expect("revoke");
        assert_eq!(revoked.status().as_u16(), 204);
        open311_error(post(&app, "json", &citizen_request(&key, "Jalan")).await, 403).await;
        let again = app
            .client
            .delete(app.url(&format!("/api/v1/integration-clients/{client_id}/api-keys/{key_id}")))
            .bearer_auth(admin)
            .send()
            .await
            .expect("revoke");
        problem(again, 404).await;
    })
    .await;
}

#[tokio::test]
async fn an_open311_client_library_reads_services_and_requests_in_both_formats() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let (_, _, key) = api_key(&app, token(&t.admin)).await;
        let posted = open311_json(
            post(&app, "json", &citizen_request(&key, "Pohon tumbang")).await,
            201,
        )
        .await;
        let id = posted[0]["service_request_id"]
            .as_str()
            .expect("id")
            .to_owned();
        let endpoint = app.url("/open311/v2");
        let Some(output) = run_script(
            "open311_client.py",
            &json!({"endpoint": endpoint, "jurisdiction": "metrokota.go.id",
                    "service_code": "infrastruktur", "request_id": id}),
        ) else {
            return;
        };
        let seen: Value = serde_json::from_str(&output).expect("the script prints JSON");
        for format in ["json", "xml"] {
            let seen = &seen[format];
            assert!(
                seen["service_codes"]
                    .as_array()
                    .expect("codes")
                    .contains(&json!("infrastruktur")),
                "{format}: {seen}"
            );
            assert_eq!(
                seen["attribute_codes"],
                json!(["kelurahan_code", "kind"]),
                "{format}"
            );
            assert_eq!(seen["request_ids"], json!([id]), "{format}");
            assert_eq!(seen["one"]["service_request_id"], id, "{format}");
            assert_eq!(seen["one"]["status"], "open", "{format}");
            assert_eq!(seen["one"]["service_code"], "infrastruktur", "{format}");
            assert_eq!(seen["one"]["description"], "Pohon tumbang", "{format}");
        }
    })
    .await;
}
