//! Machine clients of other Pemda systems (SPEC §2): a name, granted scopes and a
//! secret that is shown once and stored only as a SHA-256 hash. They sign in with the
//! client credentials grant.

pub mod api_keys;
mod model;

pub use model::{ClientRow, IntegrationClient, find_by_client_id};

use actix_web::{HttpResponse, get, patch, post, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Actor, RequestOrigin};
use crate::auth::refresh::{hash_token, random_token};
use crate::auth::{Authorized, GovAdminOnly, Scope, Scopes, SessionCheck};
use crate::concurrency::{IfMatch, ok_with_etag};
use crate::db::Db;
use crate::db::schema::integration_clients;
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::{ApiError, FieldIssue};
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidQuery, NotFound, PreconditionFailed,
    ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::pagination::{Page, PageParams};
use crate::unit_of_work::Target;

/// A client after a change: with its new secret only when the change rotated it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangedIntegrationClient {
    #[serde(flatten)]
    pub client: IntegrationClient,
    /// Present only when the change rotated the secret; shown only in this answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// A client with its secret: answered once, when created or when the secret rotates.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationClientWithSecret {
    #[serde(flatten)]
    pub client: IntegrationClient,
    /// Shown only in this answer; store it safely. Only a hash is kept.
    pub client_secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientRequest {
    #[schema(example = "SP4N-LAPOR! connector")]
    name: String,
    #[schema(min_items = 1)]
    scopes: Vec<Scope>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientChanges {
    name: Option<String>,
    scopes: Option<Vec<Scope>>,
    disabled: Option<bool>,
    /// `true` issues a new secret (answered once); the old one stops working.
    #[serde(default)]
    rotate_secret: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientFilter {
    disabled: Option<bool>,
}

fn checked_scopes(checks: &mut Checks, scopes: Vec<Scope>) -> Option<Scopes> {
    if scopes.is_empty() {
        checks.push(FieldIssue::new(
            "scopes",
            "required",
            "grant at least one scope",
            "berikan minimal satu cakupan",
        ));
        return None;
    }
    Some(Scopes::new(scopes))
}

fn new_secret() -> Result<String, ApiError> {
    Ok(format!("kims_{}", random_token()?))
}

impl NewClientRequest {
    /// The request as a client to register, with a fresh identifier; the secret it
    /// is issued is returned beside it, to be shown once.
    fn check(self) -> Result<(model::NewClient, String), ApiError> {
        let mut checks = Checks::new();
        let name = checks.text("name", &self.name, limits::CLIENT_NAME, Lines::Single);
        let scopes = checked_scopes(&mut checks, self.scopes);
        let (name, scopes) = checks.finish_with((name, scopes))?;
        let secret = new_secret()?;
        let client = model::NewClient {
            client_id: model::new_client_id()?,
            name,
            secret_hash: hash_token(&secret),
            scopes,
        };
        Ok((client, secret))
    }
}

impl ClientChanges {
    /// The changes as a checked edit, and the new secret when one is asked for.
    fn check(self) -> Result<(model::ClientEdit, Option<String>), ApiError> {
        let mut checks = Checks::new();
        let name = self
            .name
            .as_deref()
            .and_then(|name| checks.text("name", name, limits::CLIENT_NAME, Lines::Single));
        let scopes = self
            .scopes
            .and_then(|scopes| checked_scopes(&mut checks, scopes));
        checks.finish()?;
        let secret = self.rotate_secret.then(new_secret).transpose()?;
        let edit = model::ClientEdit {
            name,
            scopes,
            disabled: self.disabled,
            secret_hash: secret.as_deref().map(hash_token),
        };
        Ok((edit, secret))
    }
}

/// Lists integration clients in id order. Role: gov_admin.
#[utoipa::path(
    tag = "integration clients",
    params(ClientFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of clients", body = Page<IntegrationClient>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/integration-clients")]
pub async fn list_clients(
    _caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    query: ListQuery<ClientFilter>,
) -> Result<web::Json<Page<IntegrationClient>>, ApiError> {
    let ListQuery { page, filter } = query;
    let after: Option<i64> = page.after()?;
    let fetch_limit = page.fetch_limit();
    let rows = db
        .read(move |conn| {
            let mut select = integration_clients::table
                .select(ClientRow::as_select())
                .order(integration_clients::id)
                .limit(fetch_limit)
                .into_boxed();
            if let Some(disabled) = filter.disabled {
                select = select.filter(integration_clients::disabled.eq(disabled));
            }
            if let Some(after) = after {
                select = select.filter(integration_clients::id.gt(after));
            }
            Ok(select.load(conn)?)
        })
        .await?;
    let clients = rows
        .into_iter()
        .map(IntegrationClient::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(Page::from_rows(
        clients,
        &page,
        |client: &IntegrationClient| client.id,
    )))
}

/// Registers a client; its secret is in this answer only. Role: gov_admin.
#[utoipa::path(
    tag = "integration clients",
    params(IdempotencyKeyParam),
    request_body = NewClientRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created, with the secret", body = IntegrationClientWithSecret,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/integration-clients")]
pub async fn create_client(
    caller: Authorized<GovAdminOnly>,
    body: ApiJson<NewClientRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let ApiJson(request) = body;
    let (new_client, secret) = request.check()?;
    creating
        .create_once(
            &caller,
            move |uow| {
                let row = model::insert(uow.conn, &new_client)?;
                uow.audit(
                    "integration_client.created",
                    Some(Target::new("integration_client", row.id)),
                    Some(format!("scopes={}", row.scopes)),
                )?;
                let client = IntegrationClient::try_from(row)?;
                let location = format!("/api/v1/integration-clients/{}", client.id);
                let version = client.version;
                CreatedResponse::created(
                    &IntegrationClientWithSecret {
                        client,
                        client_secret: secret.clone(),
                    },
                    location,
                    version,
                )
            },
            crate::idempotency::nothing_owed,
        )
        .await
}

/// One client, with its version as `ETag`. Role: gov_admin.
#[utoipa::path(
    tag = "integration clients",
    params(("id" = i64, Path, description = "Client record id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The client", body = IntegrationClient, headers(("ETag" = String))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/integration-clients/{id}")]
pub async fn get_client(
    _caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db
        .read(move |conn| model::find(conn, id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let client = IntegrationClient::try_from(row)?;
    Ok(ok_with_etag(client.version, &client))
}

/// Renames, re-scopes, disables or enables a client, or rotates its secret.
/// Role: gov_admin. Honours `If-Match`. With `rotate_secret` the answer carries the
/// new `client_secret`.
#[utoipa::path(
    tag = "integration clients",
    params(
        ("id" = i64, Path, description = "Client record id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = ClientChanges,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed client; `client_secret` only after a rotation", body = ChangedIntegrationClient,
            headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[patch("/integration-clients/{id}")]
pub async fn update_client(
    caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    sessions: web::Data<SessionCheck>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: ApiJson<ClientChanges>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(changes) = body;
    let (edit, new_secret) = changes.check()?;
    let row = db
        .unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
            let current = model::find(uow.conn, id)?.ok_or(ApiError::NotFound)?;
            if_match.check(current.version)?;
            let changed = edit.changes(&current);
            if changed.is_empty() {
                return Ok(current);
            }
            let row = model::update(uow.conn, &current, &edit, &changed)?;
            uow.audit(
                "integration_client.updated",
                Some(Target::new("integration_client", id)),
                Some(format!("changed={}", changed.join(","))),
            )?;
            let revoked = api_keys::revoke_unusable(uow.conn, &row)?;
            if revoked > 0 {
                uow.audit(
                    "integration_client.api_key_revoked",
                    Some(Target::new("integration_client", id)),
                    Some(format!("keys={revoked}")),
                )?;
            }
            Ok(row)
        })
        .await?;
    sessions.changed();
    let client = IntegrationClient::try_from(row)?;
    let version = client.version;
    Ok(ok_with_etag(
        version,
        &ChangedIntegrationClient {
            client,
            client_secret: new_secret,
        },
    ))
}
