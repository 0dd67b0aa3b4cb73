//! Every route × every kind of caller: anonymous, each role, integration clients with
//! and without scopes. Object-level rules (another KIM's accounts) are in `users.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{USER_PASSWORD, on_each_backend};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    GovAdmin,
    GovOfficer,
    KimAdmin,
    KimMember,
    IntegrationAllScopes,
    IntegrationOneScope,
    /// A correctly signed token that has expired.
    Expired,
}

const EVERYONE: [Who; 8] = [
    Who::Anonymous,
    Who::GovAdmin,
    Who::GovOfficer,
    Who::KimAdmin,
    Who::KimMember,
    Who::IntegrationAllScopes,
    Who::IntegrationOneScope,
    Who::Expired,
];

fn expected(route: &str, who: Who) -> u16 {
    use Who::*;
    match (route, who) {
        // Probes, public keys and public tracking do not look at tokens; everything else
        // refuses a bad one.
        (
            "GET /health/live"
            | "GET /.well-known/jwks.json"
            | "GET /api/v1/reports/track/{code}"
            | "GET /api/v1/push/vapid-public-key"
            | "GET /open311/v2/services.{format}"
            | "GET /open311/v2/requests.{format}",
            _,
        ) => 200,
        // Open311 writes take a form with an `api_key`; a bearer token changes nothing
        // (the key itself is tested in `open311.rs`).
        ("POST /open311/v2/requests.{format}", _) => 400,
        // Anyone holding a tracking code; a bearer token changes nothing.
        ("POST /api/v1/reports/track/{code}/subscriptions", _) => 202,
        // The links of a citizen's mail: a forged one leads nowhere, whoever follows it.
        (
            "GET /api/v1/report-subscriptions/{forged}/confirm"
            | "POST /api/v1/report-subscriptions/{forged}/confirm"
            | "GET /api/v1/report-subscriptions/{forged}/unsubscribe"
            | "POST /api/v1/report-subscriptions/{forged}/unsubscribe"
            | "GET /api/v1/report-subscriptions/{forged}/feedback"
            | "POST /api/v1/report-subscriptions/{forged}/feedback",
            _,
        ) => 404,
        (_, Expired) => 401,
        (
            "GET /api/v1/bulletins"
            | "GET /api/v1/bulletins/{public}"
            | "PATCH /api/v1/bulletins/{archived}"
            | "GET /api/v1/bulletins/{public}/attachments/{none}",
            IntegrationOneScope,
        ) => 403,
        (
            "GET /api/v1/regions"
            | "GET /api/v1/report-categories"
            | "GET /api/v1/report-categories/{code}"
            | "GET /api/v1/kims"
            | "GET /api/v1/bulletins"
            | "GET /api/v1/bulletins/{public}",
            _,
        ) => 200,
        // The matrix KIM is `proposed`: not in the public directory.
        ("GET /api/v1/kims/{kim}", Anonymous) => 404,
        ("GET /api/v1/bulletins/{public}/attachments/{none}", Anonymous) => 404,
        // The matrix KIM is proposed: its activities are for its own users and gov.
        ("GET /api/v1/kims/{kim}/activities/{activity}/attachments/{none}", _) => 404,
        (
            "GET /api/v1/kims/{kim}/activities" | "GET /api/v1/kims/{kim}/activities/{activity}",
            GovAdmin | GovOfficer | KimAdmin | KimMember,
        ) => 200,
        (
            "GET /api/v1/kims/{kim}/activities" | "GET /api/v1/kims/{kim}/activities/{activity}",
            _,
        ) => 404,
        ("GET /api/v1/consultations", _) => 200,
        // The matrix consultation is open to all KIMs, not public.
        (
            "GET /api/v1/consultations/{consultation}",
            GovAdmin | GovOfficer | KimAdmin | KimMember,
        ) => 200,
        ("GET /api/v1/consultations/{consultation}", _) => 404,
        ("GET /api/v1/consultations/{consultation}/attachments/{none}", _) => 404,
        (_, Anonymous) => 401,
        ("POST /api/v1/consultations", GovAdmin | GovOfficer) => 201,
        // Allowed to try; an open consultation is no draft and cannot open again.
        (
            "PATCH /api/v1/consultations/{consultation}"
            | "POST /api/v1/consultations/{consultation}/status",
            GovAdmin | GovOfficer,
        ) => 409,
        ("PUT /api/v1/consultations/{consultation}/responses/mine", KimAdmin) => 201,
        ("GET /api/v1/consultations/{consultation}/responses/mine", KimAdmin | KimMember) => 200,
        (
            "PUT /api/v1/consultations/{consultation}/responses/mine"
            | "GET /api/v1/consultations/{consultation}/responses/mine",
            IntegrationAllScopes | IntegrationOneScope,
        ) => 404,
        ("GET /api/v1/consultations/{consultation}/results", GovAdmin | GovOfficer) => 200,
        // Allowed to try; a JSON body is not a file.
        ("POST /api/v1/consultations/{consultation}/attachments", GovAdmin | GovOfficer) => 415,
        ("POST /api/v1/kims/{kim}/activities", GovAdmin | GovOfficer | KimAdmin) => 201,
        ("PATCH /api/v1/kims/{kim}/activities/{activity}", GovAdmin | GovOfficer | KimAdmin) => 200,
        // Allowed to try; a JSON body is not a file.
        (
            "POST /api/v1/kims/{kim}/activities/{activity}/attachments",
            GovAdmin | GovOfficer | KimAdmin,
        ) => 415,
        (
            "POST /api/v1/kims/{kim}/activities"
            | "PATCH /api/v1/kims/{kim}/activities/{activity}"
            | "POST /api/v1/kims/{kim}/activities/{activity}/attachments",
            IntegrationAllScopes | IntegrationOneScope,
        ) => 404,
        // Requests that every allowed caller gets to, and that then fail on the
        // bulletin's state, so the matrix does not change what it tests.
        (
            "POST /api/v1/bulletins/{public}/publish" | "DELETE /api/v1/bulletins/{public}",
            GovAdmin | GovOfficer,
        ) => 409,
        ("PATCH /api/v1/bulletins/{archived}", GovAdmin | GovOfficer) => 409,
        ("PATCH /api/v1/bulletins/{archived}", _) => 404,
        ("POST /api/v1/bulletins/{public}/attachments", GovAdmin | GovOfficer) => 415,
        ("GET /api/v1/bulletins/{public}/attachments/{none}", _) => 404,
        ("GET /api/v1/kims/{kim}" | "GET /api/v1/kims/{kim}/history", _) => 200,
        (
            "GET /api/v1/kims/{kim}/members" | "GET /api/v1/kims/{kim}/members/{m}",
            GovAdmin | GovOfficer | KimAdmin | KimMember | IntegrationAllScopes,
        ) => 200,
        ("POST /api/v1/kims/{kim}/members", GovAdmin | KimAdmin) => 201,
        ("PATCH /api/v1/kims/{kim}/members/{m}", GovAdmin | KimAdmin) => 200,
        ("DELETE /api/v1/kims/{kim}/members/{m}", GovAdmin | KimAdmin) => 204,
        ("POST /api/v1/kims", GovAdmin) => 201,
        ("PATCH /api/v1/kims/{kim}", GovAdmin | KimAdmin) => 200,
        // Allowed to try; the move itself is illegal for a proposed KIM.
        ("POST /api/v1/kims/{kim}/status", GovAdmin) => 409,
        ("GET /api/v1/me", _) => 200,
        // Only people have an inbox.
        (
            "GET /api/v1/notifications"
            | "POST /api/v1/notifications/read-all"
            | "GET /api/v1/notifications/stream"
            | "GET /api/v1/notifications/preferences"
            | "PUT /api/v1/notifications/preferences"
            | "GET /api/v1/push/subscriptions",
            GovAdmin | GovOfficer | KimAdmin | KimMember,
        ) => 200,
        (
            "POST /api/v1/notifications/{none}/read" | "DELETE /api/v1/push/subscriptions/{none}",
            GovAdmin | GovOfficer | KimAdmin | KimMember,
        ) => 404,
        // Each account subscribes its own browser (one endpoint each).
        ("POST /api/v1/push/subscriptions", GovAdmin | GovOfficer | KimAdmin | KimMember) => 201,
        ("POST /api/v1/auth/logout", _) => 204,
        (
            "GET /api/v1/users" | "GET /api/v1/users/{member}" | "PATCH /api/v1/users/{member}",
            GovAdmin | KimAdmin,
        ) => 200,
        ("POST /api/v1/users", GovAdmin | KimAdmin) => 201,
        (
            "GET /api/v1/integration-clients"
            | "GET /api/v1/integration-clients/{id}"
            | "PATCH /api/v1/integration-clients/{id}",
            GovAdmin,
        ) => 200,
        ("POST /api/v1/integration-clients", GovAdmin) => 201,
        ("POST /api/v1/bulletins", GovAdmin | GovOfficer | KimAdmin) => 201,
        // The KIM's board acknowledges first; its member then updates the same record.
        ("POST /api/v1/bulletins/{public}/acknowledgements", KimAdmin) => 201,
        ("POST /api/v1/bulletins/{public}/acknowledgements", KimMember) => 200,
        (
            "GET /api/v1/bulletins/{public}/acknowledgements"
            | "GET /api/v1/bulletins/{public}/acknowledgements.csv",
            GovAdmin | GovOfficer,
        ) => 200,
        ("GET /api/v1/holidays", GovAdmin | GovOfficer) => 200,
        (
            "GET /api/v1/reports"
            | "GET /api/v1/reports.geojson"
            | "GET /api/v1/reports/{report}"
            | "GET /api/v1/reports/{report}/comments",
            GovAdmin | GovOfficer | KimAdmin | KimMember | IntegrationAllScopes,
        ) => 200,
        ("POST /api/v1/reports", KimAdmin | KimMember | IntegrationAllScopes) => 201,
        // Allowed to try; a JSON body is not a file.
        (
            "POST /api/v1/reports/{report}/attachments",
            GovAdmin | GovOfficer | KimAdmin | KimMember,
        ) => 415,
        (
            "GET /api/v1/reports/{report}/attachments/{none}",
            GovAdmin | GovOfficer | KimAdmin | KimMember | IntegrationAllScopes,
        ) => 404,
        // The client reads every report but answers only its own.
        (
            "POST /api/v1/reports/{report}/comments",
            GovAdmin | GovOfficer | KimAdmin | KimMember,
        ) => 201,
        // The submitting KIM is allowed to try; the report is not resolved yet.
        ("POST /api/v1/reports/{report}/feedback", KimAdmin | KimMember) => 409,
        // Allowed to try; a submitted report cannot jump to resolved.
        ("POST /api/v1/reports/{report}/status", GovAdmin | GovOfficer) => 409,
        ("POST /api/v1/holidays", GovAdmin) => 201,
        ("POST /api/v1/report-categories", GovAdmin) => 201,
        ("GET /api/v1/audit-log", GovAdmin) => 200,
        ("POST /api/v1/webhooks", GovAdmin) => 201,
        (
            "GET /api/v1/webhooks" | "GET /api/v1/webhooks/{id}" | "PATCH /api/v1/webhooks/{id}",
            GovAdmin,
        ) => 200,
        ("DELETE /api/v1/webhooks/{none}", GovAdmin) => 404,
        ("POST /api/v1/alert-sources", GovAdmin) => 201,
        (
            "GET /api/v1/alert-sources"
            | "GET /api/v1/alert-sources/{id}"
            | "PATCH /api/v1/alert-sources/{id}"
            | "GET /api/v1/alert-sources/{id}/polls",
            GovAdmin,
        ) => 200,
        ("DELETE /api/v1/alert-sources/{none}", GovAdmin) => 404,
        ("GET /api/v1/webhooks/{id}/deliveries", GovAdmin) => 200,
        (
            "POST /api/v1/integration-clients/{none}/api-keys"
            | "DELETE /api/v1/integration-clients/{none}/api-keys/{none}",
            GovAdmin,
        ) => 404,
        ("POST /api/v1/webhooks/{id}/deliveries/{none}/redeliver", GovAdmin) => 404,
        ("GET /api/v1/stats/overview", GovAdmin | GovOfficer | IntegrationAllScopes) => 200,
        ("GET /api/v1/reports/export.csv", GovAdmin | GovOfficer) => 200,
        ("PATCH /api/v1/report-categories/{code}", GovAdmin) => 200,
        ("DELETE /api/v1/holidays/{none}", GovAdmin) => 404,
        (
            "GET /api/v1/mentoring-sessions"
            | "GET /api/v1/mentoring-sessions/{session}"
            | "GET /api/v1/mentoring-sessions/{session}/participants",
            GovAdmin | GovOfficer | KimAdmin | KimMember,
        ) => 200,
        ("POST /api/v1/mentoring-sessions", GovAdmin | GovOfficer) => 201,
        ("GET /api/v1/kims/{kim}/engagement", GovAdmin | GovOfficer) => 200,
        ("PATCH /api/v1/mentoring-sessions/{session}", GovAdmin | GovOfficer) => 200,
        // Allowed to try; the session has not started, so it cannot be held yet.
        ("POST /api/v1/mentoring-sessions/{session}/status", GovAdmin | GovOfficer) => 409,
        ("POST /api/v1/mentoring-sessions/{session}/participants", KimAdmin) => 201,
        (
            "PATCH /api/v1/mentoring-sessions/{session}/participants/{none}",
            GovAdmin | GovOfficer,
        ) => 404,
        (
            "DELETE /api/v1/mentoring-sessions/{session}/participants/{none}",
            GovAdmin | GovOfficer | KimAdmin | KimMember,
        ) => 404,
        _ => 403,
    }
}

#[tokio::test]
async fn every_route_answers_each_kind_of_caller_as_specified() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let kim = app.create_kim("KIM Matrix").await;
        let officer = app.user(&admin, "gov_officer", None).await;
        let board = app.user(&admin, "kim_admin", Some(kim)).await;
        let member = app.user(&admin, "kim_member", Some(kim)).await;
        let all_scopes = [
            "kims:read",
            "members:read",
            "bulletins:read",
            "reports:read",
            "reports:write",
            "stats:read",
        ];
        let (full_id, full_secret, client_record) =
            app.integration_client(&admin, &all_scopes).await;
        let (one_id, one_secret, _) = app.integration_client(&admin, &["kims:read"]).await;
        let full_token = app.client_token(&full_id, &full_secret).await;
        let added = app
            .post_as(
                &format!("/api/v1/kims/{kim}/members"),
                &board.session.access_token,
                &json!({"full_name": "Anggota Matriks", "nik": "1872011708900999", "gender": "male", "birth_date": "1990-08-17", "position": "ketua"}),
            )
            .await;
        assert_eq!(added.status().as_u16(), 201);
        let kim_member = added.json::<Value>().await.expect("json")["id"].as_i64().expect("id");
        let nominee = app
            .post_as(
                &format!("/api/v1/kims/{kim}/members"),
                &board.session.access_token,
                &json!({"full_name": "Peserta Matriks", "nik": "1872011708900998", "gender": "male", "birth_date": "1990-08-17", "position": "anggota"}),
            )
            .await
            .json::<Value>()
            .await
            .expect("json")["id"]
            .as_i64()
            .expect("id");
        let activity_body = json!({"date": "2026-11-02", "kind": "diskusi", "title": "Diskusi Matriks",
            "participants": 10, "reach": 40});
        let activity = app
            .post_as(&format!("/api/v1/kims/{kim}/activities"), &board.session.access_token, &activity_body)
            .await
            .json::<Value>()
            .await
            .expect("json")["id"]
            .as_i64()
            .expect("id");
        let consultation_body = json!({"title": "Konsultasi Matriks", "summary": "Ringkasan",
            "questions": [{"id": "setuju", "text": "Setuju?", "kind": "choice", "options": ["Ya", "Tidak"]}],
            "audience": {"scope": "all_kims"},
            "opens_at": (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339(),
            "closes_at": (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339()});
        let consultation = app
            .post_as("/api/v1/consultations", &admin.session.access_token, &consultation_body)
            .await
            .json::<Value>()
            .await
            .expect("json")["id"]
            .as_i64()
            .expect("id");
        let opened = app
            .post_as(
                &format!("/api/v1/consultations/{consultation}/status"),
                &admin.session.access_token,
                &json!({"status": "open"}),
            )
            .await;
        assert_eq!(opened.status().as_u16(), 200);
        let starts = chrono::Utc::now() + chrono::Duration::days(3);
        let session_body = json!({"title": "Sesi Matriks", "kind": "pendampingan", "topic": "tik",
            "starts_at": starts.to_rfc3339(), "ends_at": (starts + chrono::Duration::hours(2)).to_rfc3339(),
            "location": "Balai", "audience": {"scope": "all_kims"}, "capacity": 5});
        let session = app
            .post_as("/api/v1/mentoring-sessions", &admin.session.access_token, &session_body)
            .await
            .json::<Value>()
            .await
            .expect("json")["id"]
            .as_i64()
            .expect("id");
        let mut serial = 0;
        let now = chrono::Utc::now().timestamp();
        let expired = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({"sub": admin.id.to_string(), "role": "gov_admin", "iss": "kim-api", "aud": "kim-api",
                    "iat": now - 3600, "nbf": now - 3600, "exp": now - 600, "jti": "old"}),
            &jsonwebtoken::EncodingKey::from_secret(b"test-secret-that-is-long-enough-for-hs256").expect("key"),
        )
        .expect("token");
        let one_token = app.client_token(&one_id, &one_secret).await;
        let public = app
            .post_as(
                "/api/v1/bulletins",
                &admin.session.access_token,
                &json!({"title": "Matriks", "body": "Isi", "category": "umum", "audience": {"scope": "public"}}),
            )
            .await
            .json::<Value>()
            .await
            .expect("json")["id"]
            .as_i64()
            .expect("id");
        let published = app
            .post_as(
                &format!("/api/v1/bulletins/{public}/publish"),
                &admin.session.access_token,
                &json!({}),
            )
            .await;
        assert_eq!(published.status().as_u16(), 200);
        let archived = app
            .post_as(
                "/api/v1/bulletins",
                &admin.session.access_token,
                &json!({"title": "Arsip", "body": "Isi", "category": "umum", "audience": {"scope": "public"}}),
            )
            .await
            .json::<Value>()
            .await
            .expect("json")["id"]
            .as_i64()
            .expect("id");
        for step in ["publish", "archive"] {
            let moved = app
                .post_as(
                    &format!("/api/v1/bulletins/{archived}/{step}"),
                    &admin.session.access_token,
                    &json!({}),
                )
                .await;
            assert_eq!(moved.status().as_u16(), 200);
        }

        let report_body = json!({"kind": "complaint", "category_code": "infrastruktur",
            "title": "Jalan berlubang", "description": "Di depan pasar.",
            "kelurahan_code": "18.72.01.1001"});
        let submitted = app
            .post_as("/api/v1/reports", &member.session.access_token, &report_body)
            .await;
        assert_eq!(submitted.status().as_u16(), 201);
        let submitted = submitted.json::<Value>().await.expect("json");
        let report = submitted["id"].as_i64().expect("id");
        let tracking_code = submitted["tracking_code"].as_str().expect("code").to_owned();
        let webhook = app
            .post_as(
                "/api/v1/webhooks",
                &admin.session.access_token,
                &json!({"url": "https://sipd.metrokota.go.id/hooks/matriks", "events": ["report.created"]}),
            )
            .await
            .json::<Value>()
            .await
            .expect("json")["id"]
            .as_i64()
            .expect("id");
        // Inactive: the poller leaves it alone.
        let alert_source = app
            .post_as(
                "/api/v1/alert-sources",
                &admin.session.access_token,
                &json!({"url": "https://www.bmkg.go.id/alerts/nowcast/id/rss.xml", "active": false}),
            )
            .await
            .json::<Value>()
            .await
            .expect("json")["id"]
            .as_i64()
            .expect("id");
        let routes: Vec<(&str, Method, String, Option<Value>)> = vec![
            ("GET /health/live", Method::GET, "/health/live".into(), None),
            (
                "GET /.well-known/jwks.json",
                Method::GET,
                "/.well-known/jwks.json".into(),
                None,
            ),
            (
                "GET /api/v1/regions",
                Method::GET,
                "/api/v1/regions".into(),
                None,
            ),
            (
                "GET /api/v1/report-categories",
                Method::GET,
                "/api/v1/report-categories".into(),
                None,
            ),
            ("GET /api/v1/me", Method::GET, "/api/v1/me".into(), None),
            ("GET /api/v1/notifications", Method::GET, "/api/v1/notifications".into(), None),
            (
                "GET /api/v1/notifications/stream",
                Method::GET,
                "/api/v1/notifications/stream".into(),
                None,
            ),
            (
                "GET /api/v1/notifications/preferences",
                Method::GET,
                "/api/v1/notifications/preferences".into(),
                None,
            ),
            (
                "PUT /api/v1/notifications/preferences",
                Method::PUT,
                "/api/v1/notifications/preferences".into(),
                Some(json!({"preferences": []})),
            ),
            (
                "POST /api/v1/notifications/read-all",
                Method::POST,
                "/api/v1/notifications/read-all".into(),
                Some(json!({})),
            ),
            (
                "POST /api/v1/notifications/{none}/read",
                Method::POST,
                "/api/v1/notifications/999999/read".into(),
                Some(json!({})),
            ),
            (
                "GET /api/v1/push/vapid-public-key",
                Method::GET,
                "/api/v1/push/vapid-public-key".into(),
                None,
            ),
            (
                "GET /api/v1/push/subscriptions",
                Method::GET,
                "/api/v1/push/subscriptions".into(),
                None,
            ),
            (
                "POST /api/v1/push/subscriptions",
                Method::POST,
                "/api/v1/push/subscriptions".into(),
                Some(json!({
                    "endpoint": "https://push.example.org/send/matrix",
                    "keys": {
                        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                        "auth": "tBHItJI5svbpez7KI4CCXg"
                    }
                })),
            ),
            (
                "DELETE /api/v1/push/subscriptions/{none}",
                Method::DELETE,
                "/api/v1/push/subscriptions/999999".into(),
                None,
            ),
            (
                "GET /api/v1/users",
                Method::GET,
                "/api/v1/users".into(),
                None,
            ),
            (
                "POST /api/v1/users",
                Method::POST,
                "/api/v1/users".into(),
                Some(json!({"password": USER_PASSWORD, "role": "kim_member", "kim_id": kim})),
            ),
            (
                "GET /api/v1/users/{member}",
                Method::GET,
                format!("/api/v1/users/{}", member.id),
                None,
            ),
            (
                "PATCH /api/v1/users/{member}",
                Method::PATCH,
                format!("/api/v1/users/{}", member.id),
                Some(json!({})),
            ),
            (
                "GET /api/v1/integration-clients",
                Method::GET,
                "/api/v1/integration-clients".into(),
                None,
            ),
            (
                "POST /api/v1/integration-clients",
                Method::POST,
                "/api/v1/integration-clients".into(),
                Some(json!({"name": "Matrix", "scopes": ["kims:read"]})),
            ),
            (
                "GET /api/v1/integration-clients/{id}",
                Method::GET,
                format!("/api/v1/integration-clients/{client_record}"),
                None,
            ),
            (
                "PATCH /api/v1/integration-clients/{id}",
                Method::PATCH,
                format!("/api/v1/integration-clients/{client_record}"),
                Some(json!({"name": "Matrix renamed"})),
            ),
            ("GET /api/v1/kims", Method::GET, "/api/v1/kims".into(), None),
            ("GET /api/v1/kims/{kim}", Method::GET, format!("/api/v1/kims/{kim}"), None),
            ("POST /api/v1/kims", Method::POST, "/api/v1/kims".into(), Some(json!({"name": "KIM Baru", "kelurahan_code": "18.72.01.1002", "area_type": "urban"}))),
            ("PATCH /api/v1/kims/{kim}", Method::PATCH, format!("/api/v1/kims/{kim}"), Some(json!({"description": "Matriks"}))),
            ("POST /api/v1/kims/{kim}/status", Method::POST, format!("/api/v1/kims/{kim}/status"), Some(json!({"status": "inactive", "reason": "Matriks"}))),
            ("GET /api/v1/kims/{kim}/history", Method::GET, format!("/api/v1/kims/{kim}/history"), None),
            ("GET /api/v1/kims/{kim}/members", Method::GET, format!("/api/v1/kims/{kim}/members"), None),
            ("POST /api/v1/kims/{kim}/members", Method::POST, format!("/api/v1/kims/{kim}/members"), Some(json!({"full_name": "Warga", "gender": "male", "birth_date": "1990-08-17", "position": "anggota"}))),
            ("GET /api/v1/kims/{kim}/members/{m}", Method::GET, format!("/api/v1/kims/{kim}/members/{kim_member}"), None),
            ("PATCH /api/v1/kims/{kim}/members/{m}", Method::PATCH, format!("/api/v1/kims/{kim}/members/{kim_member}"), Some(json!({"profession": "Guru"}))),
            ("DELETE /api/v1/kims/{kim}/members/{m}", Method::DELETE, format!("/api/v1/kims/{kim}/members/{kim_member}"), None),
            ("GET /api/v1/bulletins", Method::GET, "/api/v1/bulletins".into(), None),
            ("GET /api/v1/bulletins/{public}", Method::GET, format!("/api/v1/bulletins/{public}"), None),
            ("POST /api/v1/bulletins", Method::POST, "/api/v1/bulletins".into(), Some(json!({"title": "Baru", "body": "Isi", "category": "umum", "audience": {"scope": "all_kims"}}))),
            ("POST /api/v1/bulletins/{public}/acknowledgements", Method::POST, format!("/api/v1/bulletins/{public}/acknowledgements"), Some(json!({"reach": 3}))),
            ("GET /api/v1/bulletins/{public}/acknowledgements", Method::GET, format!("/api/v1/bulletins/{public}/acknowledgements"), None),
            ("GET /api/v1/bulletins/{public}/acknowledgements.csv", Method::GET, format!("/api/v1/bulletins/{public}/acknowledgements.csv"), None),
            ("POST /api/v1/bulletins/{public}/publish", Method::POST, format!("/api/v1/bulletins/{public}/publish"), None),
            ("DELETE /api/v1/bulletins/{public}", Method::DELETE, format!("/api/v1/bulletins/{public}"), None),
            ("PATCH /api/v1/bulletins/{archived}", Method::PATCH, format!("/api/v1/bulletins/{archived}"), Some(json!({"title": "Diubah"}))),
            ("POST /api/v1/bulletins/{public}/attachments", Method::POST, format!("/api/v1/bulletins/{public}/attachments"), Some(json!({"file": "bukan berkas"}))),
            ("GET /api/v1/bulletins/{public}/attachments/{none}", Method::GET, format!("/api/v1/bulletins/{public}/attachments/999999"), None),
            ("GET /api/v1/holidays", Method::GET, "/api/v1/holidays".into(), None),
            ("GET /api/v1/reports", Method::GET, "/api/v1/reports".into(), None),
            ("POST /api/v1/reports", Method::POST, "/api/v1/reports".into(), Some(report_body.clone())),
            ("GET /api/v1/reports/{report}", Method::GET, format!("/api/v1/reports/{report}"), None),
            ("POST /api/v1/reports/{report}/status", Method::POST, format!("/api/v1/reports/{report}/status"), Some(json!({"status": "resolved"}))),
            ("POST /api/v1/reports/{report}/feedback", Method::POST, format!("/api/v1/reports/{report}/feedback"), Some(json!({"satisfied": true}))),
            ("GET /api/v1/reports.geojson", Method::GET, "/api/v1/reports.geojson".into(), None),
            ("GET /api/v1/reports/track/{code}", Method::GET, format!("/api/v1/reports/track/{tracking_code}"), None),
            ("POST /api/v1/reports/track/{code}/subscriptions", Method::POST, format!("/api/v1/reports/track/{tracking_code}/subscriptions"), Some(json!({"email": "warga@example.com"}))),
            ("GET /api/v1/report-subscriptions/{forged}/confirm", Method::GET, "/api/v1/report-subscriptions/1-00000000000000000000000000000000/confirm".into(), None),
            ("POST /api/v1/report-subscriptions/{forged}/confirm", Method::POST, "/api/v1/report-subscriptions/1-00000000000000000000000000000000/confirm".into(), Some(json!({}))),
            ("GET /api/v1/report-subscriptions/{forged}/unsubscribe", Method::GET, "/api/v1/report-subscriptions/1-00000000000000000000000000000000/unsubscribe".into(), None),
            ("POST /api/v1/report-subscriptions/{forged}/unsubscribe", Method::POST, "/api/v1/report-subscriptions/1-00000000000000000000000000000000/unsubscribe".into(), Some(json!({}))),
            ("GET /api/v1/report-subscriptions/{forged}/feedback", Method::GET, "/api/v1/report-subscriptions/1-00000000000000000000000000000000/feedback".into(), None),
            ("POST /api/v1/report-subscriptions/{forged}/feedback", Method::POST, "/api/v1/report-subscriptions/1-00000000000000000000000000000000/feedback".into(), Some(json!({}))),
            ("GET /api/v1/reports/{report}/comments", Method::GET, format!("/api/v1/reports/{report}/comments"), None),
            ("POST /api/v1/reports/{report}/comments", Method::POST, format!("/api/v1/reports/{report}/comments"), Some(json!({"body": "Ditinjau.", "visibility": "public"}))),
            ("POST /api/v1/reports/{report}/attachments", Method::POST, format!("/api/v1/reports/{report}/attachments"), Some(json!({"file": "bukan berkas"}))),
            ("GET /api/v1/reports/{report}/attachments/{none}", Method::GET, format!("/api/v1/reports/{report}/attachments/999999"), None),
            ("POST /api/v1/holidays", Method::POST, "/api/v1/holidays".into(), Some(json!({"name": "Libur Matriks"}))),
            ("DELETE /api/v1/holidays/{none}", Method::DELETE, "/api/v1/holidays/2099-01-01".into(), None),
            ("POST /api/v1/report-categories", Method::POST, "/api/v1/report-categories".into(), Some(json!({"name": "Kategori Matriks"}))),
            ("GET /api/v1/audit-log", Method::GET, "/api/v1/audit-log".into(), None),
            ("POST /api/v1/webhooks", Method::POST, "/api/v1/webhooks".into(), Some(json!({"url": "https://sipd.metrokota.go.id/hooks/kim", "events": ["report.created"]}))),
            ("GET /api/v1/webhooks", Method::GET, "/api/v1/webhooks".into(), None),
            ("GET /api/v1/webhooks/{id}", Method::GET, format!("/api/v1/webhooks/{webhook}"), None),
            ("PATCH /api/v1/webhooks/{id}", Method::PATCH, format!("/api/v1/webhooks/{webhook}"), Some(json!({"description": "Matriks"}))),
            ("DELETE /api/v1/webhooks/{none}", Method::DELETE, "/api/v1/webhooks/999999".into(), None),
            ("POST /api/v1/alert-sources", Method::POST, "/api/v1/alert-sources".into(), Some(json!({"url": "https://www.bmkg.go.id/alerts/nowcast/id/rss.xml", "active": false}))),
            ("GET /api/v1/alert-sources", Method::GET, "/api/v1/alert-sources".into(), None),
            ("GET /api/v1/alert-sources/{id}", Method::GET, format!("/api/v1/alert-sources/{alert_source}"), None),
            ("PATCH /api/v1/alert-sources/{id}", Method::PATCH, format!("/api/v1/alert-sources/{alert_source}"), Some(json!({"min_severity": "minor"}))),
            ("GET /api/v1/alert-sources/{id}/polls", Method::GET, format!("/api/v1/alert-sources/{alert_source}/polls"), None),
            ("DELETE /api/v1/alert-sources/{none}", Method::DELETE, "/api/v1/alert-sources/999999".into(), None),
            ("GET /open311/v2/services.{format}", Method::GET, "/open311/v2/services.json".into(), None),
            ("GET /open311/v2/requests.{format}", Method::GET, "/open311/v2/requests.xml".into(), None),
            ("POST /open311/v2/requests.{format}", Method::POST, "/open311/v2/requests.json?service_code=infrastruktur".into(), None),
            ("POST /api/v1/integration-clients/{none}/api-keys", Method::POST, "/api/v1/integration-clients/999999/api-keys".into(), None),
            ("DELETE /api/v1/integration-clients/{none}/api-keys/{none}", Method::DELETE, "/api/v1/integration-clients/999999/api-keys/999999".into(), None),
            ("GET /api/v1/webhooks/{id}/deliveries", Method::GET, format!("/api/v1/webhooks/{webhook}/deliveries"), None),
            ("POST /api/v1/webhooks/{id}/deliveries/{none}/redeliver", Method::POST, format!("/api/v1/webhooks/{webhook}/deliveries/999999/redeliver"), None),
            ("GET /api/v1/stats/overview", Method::GET, "/api/v1/stats/overview".into(), None),
            ("GET /api/v1/reports/export.csv", Method::GET, "/api/v1/reports/export.csv".into(), None),
            ("GET /api/v1/report-categories/{code}", Method::GET, "/api/v1/report-categories/lainnya".into(), None),
            ("PATCH /api/v1/report-categories/{code}", Method::PATCH, "/api/v1/report-categories/lainnya".into(), Some(json!({"description": "Di luar kategori lain."}))),
            ("GET /api/v1/mentoring-sessions", Method::GET, "/api/v1/mentoring-sessions".into(), None),
            ("POST /api/v1/mentoring-sessions", Method::POST, "/api/v1/mentoring-sessions".into(), Some(session_body.clone())),
            ("GET /api/v1/mentoring-sessions/{session}", Method::GET, format!("/api/v1/mentoring-sessions/{session}"), None),
            ("PATCH /api/v1/mentoring-sessions/{session}", Method::PATCH, format!("/api/v1/mentoring-sessions/{session}"), Some(json!({"location": "Balai Kelurahan"}))),
            ("POST /api/v1/mentoring-sessions/{session}/status", Method::POST, format!("/api/v1/mentoring-sessions/{session}/status"), Some(json!({"status": "held"}))),
            ("GET /api/v1/mentoring-sessions/{session}/participants", Method::GET, format!("/api/v1/mentoring-sessions/{session}/participants"), None),
            ("POST /api/v1/mentoring-sessions/{session}/participants", Method::POST, format!("/api/v1/mentoring-sessions/{session}/participants"), Some(json!({"member_id": nominee}))),
            ("PATCH /api/v1/mentoring-sessions/{session}/participants/{none}", Method::PATCH, format!("/api/v1/mentoring-sessions/{session}/participants/999999"), Some(json!({"attended": true}))),
            ("DELETE /api/v1/mentoring-sessions/{session}/participants/{none}", Method::DELETE, format!("/api/v1/mentoring-sessions/{session}/participants/999999"), None),
            ("GET /api/v1/kims/{kim}/activities", Method::GET, format!("/api/v1/kims/{kim}/activities"), None),
            ("POST /api/v1/kims/{kim}/activities", Method::POST, format!("/api/v1/kims/{kim}/activities"), Some(activity_body.clone())),
            ("GET /api/v1/kims/{kim}/activities/{activity}", Method::GET, format!("/api/v1/kims/{kim}/activities/{activity}"), None),
            ("PATCH /api/v1/kims/{kim}/activities/{activity}", Method::PATCH, format!("/api/v1/kims/{kim}/activities/{activity}"), Some(json!({"reach": 41}))),
            ("POST /api/v1/kims/{kim}/activities/{activity}/attachments", Method::POST, format!("/api/v1/kims/{kim}/activities/{activity}/attachments"), Some(json!({"file": "bukan berkas"}))),
            ("GET /api/v1/kims/{kim}/activities/{activity}/attachments/{none}", Method::GET, format!("/api/v1/kims/{kim}/activities/{activity}/attachments/999999"), None),
            ("GET /api/v1/kims/{kim}/engagement", Method::GET, format!("/api/v1/kims/{kim}/engagement?months=6"), None),
            ("GET /api/v1/consultations", Method::GET, "/api/v1/consultations".into(), None),
            ("POST /api/v1/consultations", Method::POST, "/api/v1/consultations".into(), Some(consultation_body.clone())),
            ("GET /api/v1/consultations/{consultation}", Method::GET, format!("/api/v1/consultations/{consultation}"), None),
            ("PATCH /api/v1/consultations/{consultation}", Method::PATCH, format!("/api/v1/consultations/{consultation}"), Some(json!({"title": "Diubah"}))),
            ("POST /api/v1/consultations/{consultation}/status", Method::POST, format!("/api/v1/consultations/{consultation}/status"), Some(json!({"status": "open"}))),
            ("PUT /api/v1/consultations/{consultation}/responses/mine", Method::PUT, format!("/api/v1/consultations/{consultation}/responses/mine"), Some(json!({"answers": [{"question_id": "setuju", "value": "Ya"}], "citizens_consulted": 4}))),
            ("GET /api/v1/consultations/{consultation}/responses/mine", Method::GET, format!("/api/v1/consultations/{consultation}/responses/mine"), None),
            ("GET /api/v1/consultations/{consultation}/results", Method::GET, format!("/api/v1/consultations/{consultation}/results"), None),
            ("POST /api/v1/consultations/{consultation}/attachments", Method::POST, format!("/api/v1/consultations/{consultation}/attachments"), Some(json!({"file": "bukan berkas"}))),
            ("GET /api/v1/consultations/{consultation}/attachments/{none}", Method::GET, format!("/api/v1/consultations/{consultation}/attachments/999999"), None),
            // Last, as it ends the caller's sign-in.
            (
                "POST /api/v1/auth/logout",
                Method::POST,
                "/api/v1/auth/logout".into(),
                None,
            ),
        ];
        let mut failures = Vec::new();
        for (name, method, path, body) in &routes {
            for who in EVERYONE {
                let token = match who {
                    Who::Anonymous => None,
                    Who::GovAdmin => Some(admin.session.access_token.as_str()),
                    Who::GovOfficer => Some(officer.session.access_token.as_str()),
                    Who::KimAdmin => Some(board.session.access_token.as_str()),
                    Who::KimMember => Some(member.session.access_token.as_str()),
                    Who::IntegrationAllScopes => Some(full_token.as_str()),
                    Who::IntegrationOneScope => Some(one_token.as_str()),
                    Who::Expired => Some(expired.as_str()),
                };
                serial += 1;
                let body = body.clone().map(|mut body| {
                    if *name == "POST /api/v1/users" {
                        body["username"] = json!(format!("m-{}", uuid::Uuid::new_v4().simple()));
                    }
                    if *name == "POST /api/v1/holidays" {
                        let day = chrono::NaiveDate::from_ymd_opt(2030, 1, 1).expect("date")
                            + chrono::Days::new(serial);
                        body["date"] = json!(day.to_string());
                    }
                    if *name == "POST /api/v1/report-categories" {
                        body["code"] = json!(format!("matriks_{serial}"));
                    }
                    if *name == "POST /api/v1/kims/{kim}/members" {
                        body["nik"] = json!(format!("1872011708900{serial:03}"));
                    }
                    body
                });
                let status = app
                    .send(method.clone(), path, token, body.as_ref())
                    .await
                    .status()
                    .as_u16();
                let want = expected(name, who);
                if status != want {
                    failures.push(format!("{name} as {who:?}: got {status}, want {want}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    })
    .await;
}
