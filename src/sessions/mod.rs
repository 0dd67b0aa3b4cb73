//! Sign-in sessions as a resource: the token endpoint (OAuth 2.0 password,
//! refresh-token and client-credentials grants), sign-out, the caller's identity and
//! the public keys. The mechanisms it uses (tokens, passwords, throttling, the caller
//! extractors) live in `auth`.

use actix_web::dev::Payload;
use actix_web::http::header::{self, ContentType};
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, post, web};
use futures_util::future::LocalBoxFuture;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Actor, AuditEvent, RequestOrigin};
use crate::auth::password::PasswordWork;
use crate::auth::refresh::{self};
use crate::auth::tokens::TokenKeys;
use crate::auth::{Caller, Role, SessionCheck, Subject, password};
use crate::config::Settings;
use crate::db::Db;
use crate::error::ApiError;
use crate::extract::parse_json;
use crate::integration_clients::{self, IntegrationClient};
use crate::notifications;
use crate::openapi::{NotFound, ServiceUnavailable, TooManyRequests, Unauthorized};
use crate::unit_of_work::Target;
use crate::users::{self, User};

mod grants;

use grants::{Grant, SignIn, basic_credentials, client_grant, password_grant, refresh_grant};

/// Refresh-token lifetime, from the settings, shared with the handlers.
#[derive(Debug, Clone, Copy)]
pub struct RefreshTokenLifetime(pub std::time::Duration);

impl RefreshTokenLifetime {
    pub fn from_settings(settings: &Settings) -> Self {
        RefreshTokenLifetime(settings.refresh_token_ttl)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    Password,
    RefreshToken,
    ClientCredentials,
}

/// A token request, `application/x-www-form-urlencoded` (RFC 6749) or the same fields as JSON.
/// Integration clients may send their credentials with HTTP Basic instead.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Unknown values are `unsupported_grant_type`.
    #[schema(value_type = GrantType)]
    grant_type: String,
    /// `password` grant.
    username: Option<String>,
    /// `password` grant.
    #[schema(format = Password)]
    password: Option<String>,
    /// `refresh_token` grant.
    refresh_token: Option<String>,
    /// `client_credentials` grant (or HTTP Basic).
    client_id: Option<String>,
    /// `client_credentials` grant (or HTTP Basic).
    #[schema(format = Password)]
    client_secret: Option<String>,
    /// `client_credentials` grant: a space-separated subset of the client's scopes.
    scope: Option<String>,
}

/// The body of a token request, JSON or form-encoded.
struct TokenForm(TokenRequest);

impl FromRequest for TokenForm {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<actix_web::mime::Mime>().ok());
        let is_form = content_type
            .as_ref()
            .is_some_and(|mime| mime.essence_str() == "application/x-www-form-urlencoded");
        let is_json = content_type.as_ref().is_some_and(|mime| {
            mime.type_() == actix_web::mime::APPLICATION
                && (mime.subtype() == actix_web::mime::JSON
                    || mime.suffix() == Some(actix_web::mime::JSON))
        });
        if !is_form && !is_json {
            return Box::pin(std::future::ready(Err(ApiError::UnsupportedMediaType)));
        }
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body.await.map_err(|_| ApiError::PayloadTooLarge {
                limit: crate::extract::JSON_BODY_LIMIT,
            })?;
            let request = if is_form {
                crate::extract::parse_form(&bytes)?
            } else {
                parse_json(&bytes)?
            };
            Ok(TokenForm(request))
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
    /// Password and refresh-token grants: the next refresh token (single use).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Client-credentials grant: the granted scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

fn oauth(error: &'static str, description: &'static str) -> ApiError {
    let status = match error {
        "invalid_client" => actix_web::http::StatusCode::UNAUTHORIZED,
        _ => actix_web::http::StatusCode::BAD_REQUEST,
    };
    ApiError::OAuth {
        error,
        status,
        description,
    }
}

fn invalid_grant() -> ApiError {
    oauth(
        "invalid_grant",
        "The credentials or the refresh token are not valid.",
    )
}

/// Issues tokens (OAuth 2.0).
///
/// Anonymous. `grant_type=password` (`username`, `password`) answers an access token
/// and a refresh token; `grant_type=refresh_token` spends a refresh token and answers
/// a new pair (presenting a spent one ends that whole sign-in); `grant_type=
/// client_credentials` (`client_id`, `client_secret` or HTTP Basic, optional `scope`)
/// answers an access token with role `integration`. Failed sign-ins are throttled
/// (429 with `Retry-After`). Errors carry the OAuth `error` code (`invalid_grant`,
/// `invalid_client`, `invalid_request`, `invalid_scope`) besides the problem fields.
///
/// The body is the OAuth 2.0 form (RFC 6749 §4.3, §4.4, §6). A JSON object with the
/// same fields (`Content-Type: application/json`) is accepted as well.
// Only the form is in the document: with two media types for one required body, the
// common client generators (openapi-python-client) emit an operation that does not
// import; every OAuth library speaks the form.
#[utoipa::path(
    tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens", body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `invalid_scope`, or a malformed body",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_client`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON or form-encoded", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/auth/token")]
#[expect(
    clippy::too_many_arguments,
    reason = "actix extractors, one per concern"
)]
pub async fn token(
    req: HttpRequest,
    form: TokenForm,
    db: web::Data<Db>,
    keys: web::Data<TokenKeys>,
    refresh_lifetime: web::Data<RefreshTokenLifetime>,
    passwords: web::Data<PasswordWork>,
    sessions: web::Data<SessionCheck>,
    origin: RequestOrigin,
) -> Result<HttpResponse, ApiError> {
    let TokenForm(request) = form;
    let response = match request.grant(basic_credentials(&req)?)? {
        Grant::Password { username, password } => {
            password_grant(
                &db,
                &keys,
                &passwords,
                refresh_lifetime.0,
                origin,
                SignIn {
                    username,
                    password,
                    language: crate::i18n::Lang::stated(&req),
                },
            )
            .await?
        }
        Grant::RefreshToken(presented) => {
            refresh_grant(&db, &keys, &sessions, refresh_lifetime.0, origin, presented).await?
        }
        Grant::ClientCredentials { id, secret, scope } => {
            client_grant(&db, &keys, origin, id, secret, scope).await?
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}

/// Signs out: revokes the refresh-token family of the caller's sign-in.
///
/// Any authenticated caller; for integration clients (no refresh tokens) it changes
/// nothing. Access tokens of the session stop working too: at once on the instance that
/// answered, within `AUTH_RECHECK_SECS` (default 5 s) on the others.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/auth/logout")]
pub async fn logout(
    caller: Caller,
    db: web::Data<Db>,
    sessions: web::Data<SessionCheck>,
    origin: RequestOrigin,
) -> Result<HttpResponse, ApiError> {
    if let Some(family) = caller.session.clone() {
        let target = caller.user_id().map(|id| Target::new("user", id));
        db.unit_of_work(Actor::from(&caller), origin, move |uow| {
            let revoked = refresh::revoke_family(uow.conn, &family)?;
            uow.audit(
                "auth.logout",
                target.clone(),
                Some(format!("refresh_tokens={revoked}")),
            )
        })
        .await?;
        sessions.changed();
    }
    Ok(HttpResponse::NoContent().finish())
}

// Each kind is its own named schema with `kind` as the discriminator, so client
// generators produce one type per kind instead of an anonymous merge.
/// The caller: a person's account or an integration client, told apart by `kind`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(discriminator(property_name = "kind", mapping(
    ("user" = "#/components/schemas/UserMe"),
    ("integration" = "#/components/schemas/IntegrationMe"),
)))]
pub enum Me {
    User(UserMe),
    Integration(IntegrationMe),
}

/// The caller is a person's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserMe {
    #[schema(inline)]
    kind: UserKind,
    #[serde(flatten)]
    user: User,
    /// How many of the account's notifications are unread.
    unread_notifications: i64,
}

/// The caller is an integration client.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationMe {
    #[schema(inline)]
    kind: IntegrationKind,
    #[serde(flatten)]
    client: IntegrationClient,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum UserKind {
    User,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum IntegrationKind {
    Integration,
}

/// Who am I? Any authenticated caller.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/me")]
pub async fn me(caller: Caller, db: web::Data<Db>) -> Result<web::Json<Me>, ApiError> {
    let me = match caller.subject {
        Subject::User(id) => {
            let (row, unread_notifications) = db
                .read(move |conn| {
                    let row = users::model::find(conn, id)?.ok_or(ApiError::NotFound)?;
                    Ok((row, notifications::model::unread_count(conn, id)?))
                })
                .await?;
            Me::User(UserMe {
                kind: UserKind::User,
                user: User::try_from(row)?,
                unread_notifications,
            })
        }
        Subject::Client(client_id) => {
            let row = db
                .read(move |conn| integration_clients::find_by_client_id(conn, &client_id))
                .await?
                .ok_or(ApiError::NotFound)?;
            Me::Integration(IntegrationMe {
                kind: IntegrationKind::Integration,
                client: IntegrationClient::try_from(row)?,
            })
        }
    };
    Ok(web::Json(me))
}

/// The public keys that verify access tokens (RFC 7517), by `kid`.
///
/// Anonymous. Empty when tokens are signed with a shared secret (HS256).
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "A JWK set", body = Object, content_type = "application/jwk-set+json")),
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(keys: web::Data<TokenKeys>) -> Result<HttpResponse, ApiError> {
    let body = serde_json::to_string(keys.jwks()).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType(
            "application/jwk-set+json"
                .parse()
                .map_err(|_| ApiError::internal("bad JWK set media type"))?,
        ))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body))
}

/// Creates the first gov_admin (the `create-admin` command).
pub fn create_admin(db: &Db, username: &str, password: SecretString) -> Result<User, ApiError> {
    let username_parsed = users::Username::parse("username", username)
        .map_err(|issue| ApiError::Validation(vec![issue]))?;
    password::check_strength("password", &password, &[username])
        .map_err(|issue| ApiError::Validation(vec![issue]))?;
    let hash = password::hash_password(&password)
        .map_err(|error| ApiError::internal(error.to_string()))?;
    let mut conn = db.blocking_connection()?;
    let row = crate::db::write_transaction(&mut conn, |conn| {
        let row = users::model::insert(
            conn,
            users::model::NewUser {
                username: &username_parsed,
                display_name: None,
                password_hash: &hash,
                role: Role::GovAdmin,
                kim_id: None,
            },
        )?;
        audit::record(
            conn,
            AuditEvent {
                actor: Actor::System,
                action: "user.created",
                target: Some(("user", row.id.to_string())),
                origin: &RequestOrigin::default(),
                detail: Some("role=gov_admin via create-admin".into()),
            },
        )?;
        Ok::<_, ApiError>(row)
    })?;
    User::try_from(row)
}
