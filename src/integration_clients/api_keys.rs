//! Open311 API keys (SPEC §8): Open311 clients send an `api_key` instead of a bearer
//! token. gov_admin issues keys to an integration client holding `reports:write`; a
//! key is shown once and kept as a SHA-256 hash, and acts as its client does.
//! Disabling the client or taking `reports:write` away revokes its keys for good:
//! enabling the client again, or granting the scope again, does not bring them back.

use actix_web::{HttpResponse, delete, post, web};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{self, ClientRow};
use crate::audit::{Actor, RequestOrigin};
use crate::auth::refresh::{hash_token, random_token};
use crate::auth::{Authorized, Caller, GovAdminOnly, Role, Scope, Subject};
use crate::db::schema::{integration_api_keys, integration_clients};
use crate::db::{Db, DbConnection, now};
use crate::error::ApiError;
use crate::extract::NoBody;
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{Forbidden, IdempotencyKeyParam, NotFound, ServiceUnavailable, Unauthorized};
use crate::unit_of_work::Target;

/// A new API key: shown only in this answer; only a hash is kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedApiKey {
    pub id: i64,
    #[schema(example = "kimk_3q2-EXAMPLE-ONLY")]
    pub api_key: String,
}

fn new_key() -> Result<String, ApiError> {
    Ok(format!("kimk_{}", random_token()?))
}

fn lacks_reports_write() -> ApiError {
    ApiError::unprocessable(
        "scope_missing",
        "the client must hold reports:write to get an Open311 API key",
        "klien harus memiliki reports:write untuk mendapat kunci API Open311",
        Vec::new(),
    )
}

/// Issues an Open311 API key to a client holding `reports:write`. gov_admin only;
/// honours `Idempotency-Key`. The key is shown once.
#[utoipa::path(
    tag = "integration clients",
    params(("id" = i64, Path, description = "Client record id"), IdempotencyKeyParam),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The key, shown once", body = IssuedApiKey),
        (status = 400, response = crate::openapi::InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "`scope_missing`: the client does not hold `reports:write`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/integration-clients/{id}/api-keys")]
pub async fn issue_api_key(
    caller: Authorized<GovAdminOnly>,
    id: web::Path<i64>,
    _no_body: NoBody,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let client_id = id.into_inner();
    let created_by = match caller.caller.subject {
        Subject::User(id) => Some(id),
        Subject::Client(_) => None,
    };
    creating
        .create_once(
            &caller,
            move |uow| {
                let client = model::find(uow.conn, client_id)?.ok_or(ApiError::NotFound)?;
                if !client.granted_scopes()?.contains(Scope::ReportsWrite) {
                    return Err(lacks_reports_write());
                }
                let key = new_key()?;
                let id: i64 = diesel::insert_into(integration_api_keys::table)
                    .values((
                        integration_api_keys::client_id.eq(client_id),
                        integration_api_keys::key_hash.eq(hash_token(&key)),
                        integration_api_keys::created_by.eq(created_by),
                        integration_api_keys::created_at.eq(now()),
                    ))
                    .returning(integration_api_keys::id)
                    .get_result(uow.conn)?;
                uow.audit(
                    "integration_client.api_key_issued",
                    Some(Target::new("integration_client", client_id)),
                    Some(format!("key={id}")),
                )?;
                CreatedResponse::created(
                    &IssuedApiKey { id, api_key: key },
                    format!("/api/v1/integration-clients/{client_id}/api-keys/{id}"),
                    1,
                )
            },
            crate::idempotency::nothing_owed,
        )
        .await
}

/// Revokes an API key: Open311 requests sent with it are refused from now on.
/// gov_admin only.
#[utoipa::path(
    tag = "integration clients",
    params(
        ("id" = i64, Path, description = "Client record id"),
        ("key_id" = i64, Path, description = "API key id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, response = crate::openapi::InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[delete("/integration-clients/{id}/api-keys/{key_id}")]
pub async fn revoke_api_key(
    caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    origin: RequestOrigin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (client_id, key_id) = path.into_inner();
    db.unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
        let removed = diesel::delete(
            integration_api_keys::table
                .filter(integration_api_keys::id.eq(key_id))
                .filter(integration_api_keys::client_id.eq(client_id)),
        )
        .execute(uow.conn)?;
        if removed == 0 {
            return Err(ApiError::NotFound);
        }
        uow.audit(
            "integration_client.api_key_revoked",
            Some(Target::new("integration_client", client_id)),
            Some(format!("key={key_id}")),
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller an API key stands for: its client, while enabled and holding
/// `reports:write`; `None` for any other key.
/// Deletes the keys of `client` when it can no longer use them (disabled, or without
/// `reports:write`), in the caller's transaction; answers how many were revoked.
pub fn revoke_unusable(conn: &mut DbConnection, client: &ClientRow) -> Result<usize, ApiError> {
    if !client.disabled && client.granted_scopes()?.contains(Scope::ReportsWrite) {
        return Ok(0);
    }
    Ok(diesel::delete(
        integration_api_keys::table.filter(integration_api_keys::client_id.eq(client.id)),
    )
    .execute(conn)?)
}

pub fn caller_of_key(conn: &mut DbConnection, key: &str) -> Result<Option<Caller>, ApiError> {
    let client: Option<ClientRow> = integration_api_keys::table
        .inner_join(integration_clients::table)
        .filter(integration_api_keys::key_hash.eq(hash_token(key)))
        .filter(integration_clients::disabled.eq(false))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?;
    let Some(client) = client else {
        return Ok(None);
    };
    let scopes = client.granted_scopes()?;
    if !scopes.contains(Scope::ReportsWrite) {
        return Ok(None);
    }
    Ok(Some(Caller {
        subject: Subject::Client(client.client_id),
        role: Role::Integration,
        kim_id: None,
        scopes,
        session: None,
    }))
}
