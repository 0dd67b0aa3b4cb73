//! Machine clients of other Pemda systems (SPEC §2): a name, granted scopes and a
//! secret that is shown once and stored only as a SHA-256 hash. They sign in with the
//! client credentials grant.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Actor, RequestOrigin};
use crate::auth::refresh::{hash_token, random_token};
use crate::auth::{Authorized, GovAdminOnly, Scope, Scopes, SessionCheck};
use crate::concurrency::{IfMatch, ok_with_etag};
use crate::crypto::PersonalDataCipher;
use crate::db::schema::integration_clients;
use crate::db::{Db, DbConnection, now, utc};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::{ApiError, FieldIssue};
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creation, IdempotencyKey, create_once};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidQuery, NotFound, PreconditionFailed,
    ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::pagination::{Page, PageParams};
use crate::unit_of_work::Target;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = integration_clients)]
pub struct ClientRow {
    pub id: i64,
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    pub scopes: String,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub security_stamp: i64,
}

impl ClientRow {
    /// The stored scopes; one this version does not know is a corrupt row, not a
    /// scope to drop silently.
    pub fn granted_scopes(&self) -> Result<Scopes, ApiError> {
        crate::db::stored(
            Scopes::parse(&self.scopes).ok(),
            "integration_clients.scopes",
            self.id,
        )
    }

    /// Compares in constant time, so response timing does not reveal the hash.
    pub fn secret_matches(&self, presented: &str) -> bool {
        hash_token(presented)
            .as_bytes()
            .ct_eq(self.secret_hash.as_bytes())
            .into()
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntegrationClient {
    pub id: i64,
    /// Public identifier used as `client_id` in the token request.
    #[schema(example = "kimc_3f9a1c2b7d4e5f60")]
    pub client_id: String,
    #[schema(example = "SP4N-LAPOR! connector")]
    pub name: String,
    pub scopes: Vec<Scope>,
    /// A disabled client cannot get tokens, and its tokens already issued stop working.
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TryFrom<ClientRow> for IntegrationClient {
    type Error = ApiError;

    fn try_from(row: ClientRow) -> Result<Self, ApiError> {
        Ok(IntegrationClient {
            scopes: row.granted_scopes()?.as_slice().to_vec(),
            id: row.id,
            client_id: row.client_id,
            name: row.name,
            disabled: row.disabled,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

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

fn scopes_issue(scopes: &[Scope]) -> Option<FieldIssue> {
    scopes.is_empty().then(|| {
        FieldIssue::new(
            "scopes",
            "required",
            "grant at least one scope",
            "berikan minimal satu cakupan",
        )
    })
}

pub fn find_by_client_id(
    conn: &mut DbConnection,
    client_id: &str,
) -> Result<Option<ClientRow>, ApiError> {
    Ok(integration_clients::table
        .filter(integration_clients::client_id.eq(client_id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?)
}

fn new_client_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|error| ApiError::internal(error.to_string()))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("kimc_{hex}"))
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
    req: HttpRequest,
    caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    origin: RequestOrigin,
    idempotency_key: IdempotencyKey,
    body: ApiJson<NewClientRequest>,
) -> Result<HttpResponse, ApiError> {
    let ApiJson(request) = body;
    let mut checks = Checks::new();
    let name = checks.text("name", &request.name, limits::CLIENT_NAME, Lines::Single);
    if let Some(issue) = scopes_issue(&request.scopes) {
        checks.push(issue);
    }
    checks.finish()?;
    let Some(name) = name else {
        return Err(ApiError::internal("a checked client name is missing"));
    };
    let secret = format!("kims_{}", random_token()?);
    let secret_hash = hash_token(&secret);
    let client_id = new_client_id()?;
    let scopes = Scopes::new(request.scopes).to_string();
    let creation = Creation {
        request: &req,
        key: idempotency_key,
        caller: &caller,
        origin,
    };
    create_once(
        creation,
        &db,
        cipher,
        move |uow| {
            let now = now();
            let row: ClientRow = diesel::insert_into(integration_clients::table)
                .values((
                    integration_clients::client_id.eq(&client_id),
                    integration_clients::name.eq(&name),
                    integration_clients::secret_hash.eq(&secret_hash),
                    integration_clients::scopes.eq(&scopes),
                    integration_clients::created_at.eq(now),
                    integration_clients::updated_at.eq(now),
                ))
                .returning(integration_clients::all_columns)
                .get_result(uow.conn)?;
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
    let row: ClientRow = db
        .read(move |conn| {
            Ok(integration_clients::table
                .find(id)
                .select(ClientRow::as_select())
                .first(conn)
                .optional()?)
        })
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
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read; a stale one is 412"),
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
    let mut checks = Checks::new();
    let name = changes
        .name
        .as_deref()
        .and_then(|name| checks.text("name", name, limits::CLIENT_NAME, Lines::Single));
    if let Some(issue) = changes.scopes.as_deref().and_then(scopes_issue) {
        checks.push(issue);
    }
    checks.finish()?;
    let changes = ClientChanges { name, ..changes };
    let new_secret = if changes.rotate_secret {
        Some(format!("kims_{}", random_token()?))
    } else {
        None
    };
    let secret_hash = new_secret.as_deref().map(hash_token);
    let row = db
        .unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
            let current: ClientRow = integration_clients::table
                .find(id)
                .select(ClientRow::as_select())
                .first(uow.conn)
                .optional()?
                .ok_or(ApiError::NotFound)?;
            if_match.check(current.version)?;
            let scopes = changes
                .scopes
                .clone()
                .map(|scopes| Scopes::new(scopes).to_string());
            let mut changed = Vec::new();
            if changes
                .name
                .as_deref()
                .is_some_and(|name| name.trim() != current.name)
            {
                changed.push("name");
            }
            if scopes
                .as_ref()
                .is_some_and(|scopes| *scopes != current.scopes)
            {
                changed.push("scopes");
            }
            if changes
                .disabled
                .is_some_and(|disabled| disabled != current.disabled)
            {
                changed.push(if changes.disabled == Some(true) {
                    "disabled"
                } else {
                    "enabled"
                });
            }
            if secret_hash.is_some() {
                changed.push("secret");
            }
            if changed.is_empty() {
                return Ok(current);
            }
            // Tokens issued before a change of access or of the secret stop working.
            let ends_tokens = changed
                .iter()
                .any(|field| matches!(*field, "scopes" | "disabled" | "secret"));
            let row: ClientRow = diesel::update(
                integration_clients::table
                    .filter(integration_clients::id.eq(id))
                    .filter(integration_clients::version.eq(current.version)),
            )
            .set((
                integration_clients::name.eq(changes
                    .name
                    .as_deref()
                    .map_or(current.name.as_str(), str::trim)),
                integration_clients::scopes.eq(scopes.as_deref().unwrap_or(&current.scopes)),
                integration_clients::disabled.eq(changes.disabled.unwrap_or(current.disabled)),
                integration_clients::secret_hash
                    .eq(secret_hash.as_deref().unwrap_or(&current.secret_hash)),
                integration_clients::updated_at.eq(now()),
                integration_clients::version.eq(current.version + 1),
                integration_clients::security_stamp
                    .eq(current.security_stamp + i64::from(ends_tokens)),
            ))
            .returning(integration_clients::all_columns)
            .get_result(uow.conn)
            .optional()?
            .ok_or(ApiError::PreconditionFailed)?;
            uow.audit(
                "integration_client.updated",
                Some(Target::new("integration_client", id)),
                Some(format!("changed={}", changed.join(","))),
            )?;
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
