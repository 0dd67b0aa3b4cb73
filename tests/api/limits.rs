//! Every length limit is one constant: validation refuses one character more, the
//! database stores the maximum (PostgreSQL enforces column sizes; SQLite does not), and
//! the columns are exactly as wide as the constants.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text};
use kim_api::domain::text::limits;
use serde_json::json;

use crate::helpers::{Backend, TestApp, backends, on_each_backend, problem, spawn_app};

/// `n` characters, wide ones that lower-casing lengthens ("İ" → "i̇") included.
fn text(n: usize) -> String {
    "İ".repeat(n / 2) + &"a".repeat(n - n / 2)
}

#[tokio::test]
async fn every_field_takes_its_maximum_and_refuses_one_more() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let token = &admin.session.access_token;
        // Quotes and backslashes grow when the tags are stored as JSON.
        let tag = "\"\\".repeat(limits::FOCUS_TAG / 2);
        let kim_body = json!({
            "name": text(limits::KIM_NAME),
            "kelurahan_code": "18.72.01.1001",
            "area_type": "urban",
            "address": text(limits::KIM_ADDRESS),
            "description": format!("{}\n", text(limits::KIM_DESCRIPTION - 2)) + "b",
            "focus": vec![tag; limits::FOCUS_TAGS],
        });
        let created = app.post_as("/api/v1/kims", token, &kim_body).await;
        assert_eq!(created.status().as_u16(), 201, "{:?}", created.text().await);
        let kim: serde_json::Value = created.json().await.expect("json");
        let kim_id = kim["id"].as_i64().expect("id");
        assert_eq!(
            kim["name"].as_str().map(|n| n.chars().count()),
            Some(limits::KIM_NAME)
        );

        for (field, value) in [
            ("name", json!(text(limits::KIM_NAME + 1))),
            ("address", json!(text(limits::KIM_ADDRESS + 1))),
            ("description", json!(text(limits::KIM_DESCRIPTION + 1))),
            ("focus", json!(vec!["x"; limits::FOCUS_TAGS + 1])),
            ("focus", json!(["x".repeat(limits::FOCUS_TAG + 1)])),
        ] {
            let mut body = kim_body.clone();
            body[field] = value;
            let refused = app.post_as("/api/v1/kims", token, &body).await;
            problem(refused, 422).await;
        }

        let moved = app
            .post_as(
                &format!("/api/v1/kims/{kim_id}/status"),
                token,
                &json!({"status": "inactive", "reason": text(limits::STATUS_REASON),
                        "sk_number": text(limits::SK_NUMBER)}),
            )
            .await;
        // proposed → inactive is not a move; the texts were accepted before the rule.
        assert_eq!(problem(moved, 409).await["code"], "invalid_transition");
        let too_long = app
            .post_as(
                &format!("/api/v1/kims/{kim_id}/status"),
                token,
                &json!({"status": "dissolved", "reason": text(limits::STATUS_REASON + 1)}),
            )
            .await;
        problem(too_long, 422).await;
        let dissolved = app
            .post_as(
                &format!("/api/v1/kims/{kim_id}/status"),
                token,
                &json!({"status": "dissolved", "reason": text(limits::STATUS_REASON),
                        "sk_number": text(limits::SK_NUMBER), "sk_date": "2026-01-02"}),
            )
            .await;
        assert_eq!(dissolved.status().as_u16(), 200);

        let other_kim = app.create_kim("KIM Batas").await;
        let member = app
            .post_as(
                &format!("/api/v1/kims/{other_kim}/members"),
                token,
                &json!({"full_name": text(limits::MEMBER_NAME), "nik": "1872011708900001",
                        "gender": "male", "birth_date": "1990-08-17", "position": "anggota",
                        "profession": text(limits::PROFESSION),
                        "email": format!("{}@example.id", "a".repeat(64))}),
            )
            .await;
        assert_eq!(member.status().as_u16(), 201);

        let user = app
            .post_as(
                "/api/v1/users",
                token,
                &json!({"username": "u".repeat(limits::USERNAME),
                        "password": crate::helpers::USER_PASSWORD, "role": "gov_officer",
                        "display_name": text(limits::DISPLAY_NAME)}),
            )
            .await;
        assert_eq!(user.status().as_u16(), 201);
        let long_name = app
            .post_as(
                "/api/v1/users",
                token,
                &json!({"username": "u".repeat(limits::USERNAME + 1),
                        "password": crate::helpers::USER_PASSWORD, "role": "gov_officer"}),
            )
            .await;
        problem(long_name, 422).await;

        let client = app
            .post_as(
                "/api/v1/integration-clients",
                token,
                &json!({"name": text(limits::CLIENT_NAME), "scopes": ["kims:read"]}),
            )
            .await;
        assert_eq!(client.status().as_u16(), 201);
    })
    .await;
}

#[derive(QueryableByName)]
struct ColumnSize {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Nullable<Integer>)]
    character_maximum_length: Option<i32>,
}

#[tokio::test]
async fn postgres_columns_are_exactly_as_wide_as_the_limits() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let app: TestApp = spawn_app(Backend::Postgres).await;
    let sizes: Vec<ColumnSize> = app
        .db
        .read(|conn| {
            let kim_api::db::DbConnection::Postgres(pg) = conn else {
                return Err(kim_api::error::ApiError::internal("not PostgreSQL"));
            };
            Ok(diesel::sql_query(
                "SELECT table_name::text, column_name::text, character_maximum_length
                 FROM information_schema.columns WHERE table_schema = 'public'",
            )
            .load(pg)?)
        })
        .await
        .expect("column sizes");
    let width = |table: &str, column: &str| {
        sizes
            .iter()
            .find(|size| size.table_name == table && size.column_name == column)
            .and_then(|size| size.character_maximum_length)
            .and_then(|width| usize::try_from(width).ok())
    };
    for (table, column, limit) in [
        ("kims", "name", limits::KIM_NAME),
        ("kims", "name_key", 3 * limits::KIM_NAME),
        ("kims", "address", limits::KIM_ADDRESS),
        ("kims", "description", limits::KIM_DESCRIPTION),
        ("kims", "sk_number", limits::SK_NUMBER),
        ("kims", "kelurahan_code", limits::REGION_CODE),
        ("kims", "contact_email", limits::EMAIL),
        ("kim_status_changes", "reason", limits::STATUS_REASON),
        ("kim_status_changes", "sk_number", limits::SK_NUMBER),
        ("users", "username", limits::USERNAME),
        ("users", "username_key", limits::USERNAME),
        ("users", "display_name", limits::DISPLAY_NAME),
        ("integration_clients", "name", limits::CLIENT_NAME),
        ("kim_members", "full_name", limits::MEMBER_NAME),
        ("kim_members", "profession", limits::PROFESSION),
        ("kim_members", "email", limits::EMAIL),
        ("bulletins", "title", limits::BULLETIN_TITLE),
        ("bulletin_audience", "region_code", limits::REGION_CODE),
        (
            "bulletin_acknowledgements",
            "note",
            limits::ACKNOWLEDGEMENT_NOTE,
        ),
        ("holidays", "name", limits::HOLIDAY_NAME),
        ("report_categories", "code", limits::CATEGORY_CODE),
        ("report_categories", "name", limits::CATEGORY_NAME),
        (
            "report_categories",
            "description",
            limits::CATEGORY_DESCRIPTION,
        ),
        ("reports", "title", limits::REPORT_TITLE),
        ("reports", "description", limits::REPORT_DESCRIPTION),
        ("reports", "address", limits::REPORT_ADDRESS),
        ("reports", "reporter_name", limits::REPORTER_NAME),
        ("reports", "assigned_agency", limits::AGENCY),
        ("reports", "kelurahan_code", limits::REGION_CODE),
        ("report_timeline", "body", limits::TIMELINE_BODY),
        ("report_feedback", "comment", limits::TIMELINE_BODY),
        ("report_timeline", "assigned_agency", limits::AGENCY),
        (
            "webhook_subscriptions",
            "url",
            kim_api::outbound::target::MAX_URL,
        ),
        (
            "webhook_subscriptions",
            "description",
            limits::WEBHOOK_DESCRIPTION,
        ),
        ("webhook_attempts", "error", limits::WEBHOOK_ATTEMPT_ERROR),
        (
            "idempotency_keys",
            "idempotency_key",
            kim_api::idempotency::MAX_KEY_LENGTH,
        ),
    ] {
        assert_eq!(width(table, column), Some(limit), "{table}.{column}");
    }
    assert_eq!(width("kims", "focus"), None, "kims.focus is unbounded text");
    // Bounded by the service (limits::BULLETIN_BODY), which counts characters as the
    // text policy does; the column takes whatever that allows.
    assert_eq!(
        width("bulletins", "body"),
        None,
        "bulletins.body is unbounded text"
    );
}
