//! The grants of the token endpoint: what each needs from the request, and the sign-in
//! it makes (checked credentials, throttling, token pairs, audit records).

use actix_web::HttpRequest;
use actix_web::http::header;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::{ExposeSecret, SecretString};

use super::{TokenRequest, TokenResponse, invalid_grant, oauth};
use crate::audit::{Actor, RequestOrigin};
use crate::auth::password::PasswordWork;
use crate::auth::refresh::{self, Rotation};
use crate::auth::tokens::{TokenKeys, TokenSubject};
use crate::auth::{Role, Scopes, SessionCheck, throttle};
use crate::db::Db;
use crate::error::ApiError;
use crate::integration_clients::{self};
use crate::unit_of_work::Target;
use crate::users::{self};

/// A token request with the fields its grant needs.
pub(super) enum Grant {
    Password {
        username: String,
        password: SecretString,
    },
    RefreshToken(String),
    ClientCredentials {
        id: String,
        secret: SecretString,
        scope: Option<String>,
    },
}

impl TokenRequest {
    /// The grant asked for; `basic` is the HTTP Basic credentials, if sent.
    pub(super) fn grant(self, basic: Option<(String, String)>) -> Result<Grant, ApiError> {
        let needs = |message: &'static str| oauth("invalid_request", message);
        match self.grant_type.as_str() {
            "password" => match (self.username, self.password) {
                (Some(username), Some(password)) => Ok(Grant::Password {
                    username,
                    password: SecretString::from(password),
                }),
                _ => Err(needs("The password grant needs username and password.")),
            },
            "refresh_token" => self
                .refresh_token
                .map(Grant::RefreshToken)
                .ok_or_else(|| needs("The refresh_token grant needs refresh_token.")),
            "client_credentials" => {
                let (id, secret) = match (basic, self.client_id, self.client_secret) {
                    (Some(basic), None, None) => basic,
                    (None, Some(id), Some(secret)) => (id, secret),
                    _ => {
                        return Err(needs(
                            "Send client_id and client_secret either in the body or with HTTP Basic, once.",
                        ));
                    }
                };
                Ok(Grant::ClientCredentials {
                    id,
                    secret: SecretString::from(secret),
                    scope: self.scope,
                })
            }
            _ => Err(oauth(
                "unsupported_grant_type",
                "grant_type must be password, refresh_token or client_credentials.",
            )),
        }
    }
}

pub(super) fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        oauth(
            "invalid_client",
            "The HTTP Basic credentials are malformed.",
        )
    };
    let text = value.to_str().map_err(|_| malformed())?;
    let Some(encoded) = text
        .strip_prefix("Basic ")
        .or_else(|| text.strip_prefix("basic "))
    else {
        return Err(malformed());
    };
    let decoded = BASE64.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some((id.to_owned(), secret.to_owned())))
}

fn client_address(origin: &RequestOrigin) -> String {
    origin.client_ip.clone().unwrap_or_else(|| "unknown".into())
}

/// A password sign-in as presented.
pub(super) struct SignIn {
    pub username: String,
    pub password: SecretString,
    /// The language the request names: the account's notifications are written in it
    /// from now on (a push message has no request to name one).
    pub language: Option<crate::i18n::Lang>,
}

pub(super) async fn password_grant(
    db: &Db,
    keys: &TokenKeys,
    passwords: &PasswordWork,
    refresh_lifetime: std::time::Duration,
    origin: RequestOrigin,
    sign_in: SignIn,
) -> Result<TokenResponse, ApiError> {
    let SignIn {
        username,
        password,
        language,
    } = sign_in;
    let account = throttle::user_key(&username);
    let address = client_address(&origin);
    // A name no account can have is not looked up (nor sent to the database).
    let lookup = users::Username::parse("username", &username).ok();
    let (claim, user) = db
        .unit_of_work(Actor::Anonymous, origin.clone(), move |uow| {
            let claim = throttle::claim(uow, &account, &address)?;
            let user = match &lookup {
                Some(name) => users::model::find_by_username(uow.conn, &name.key)?,
                None => None,
            };
            Ok((claim, user))
        })
        .await?;
    let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
    let verified = passwords.verify(password, stored_hash).await?;
    let user = user.filter(|user| verified && !user.disabled);

    let Some(user) = user else {
        // The claim already counted this failure.
        db.unit_of_work(Actor::Anonymous, origin, |uow| {
            uow.audit("auth.login_failed", None, None)
        })
        .await?;
        return Err(invalid_grant());
    };
    let role = user.role;
    let (user_id, kim_id, stamp) = (user.id, user.kim_id, user.security_stamp);
    let issued = db
        .unit_of_work(Actor::User(user_id), origin, move |uow| {
            claim.clone().succeeded(uow)?;
            if let Some(language) = language {
                users::model::set_language(uow.conn, user_id, language)?;
            }
            let issued = refresh::start_family(uow.conn, user_id, refresh_lifetime)?;
            uow.audit("auth.login", Some(Target::new("user", user_id)), None)?;
            Ok(issued)
        })
        .await?;
    user_tokens(keys, user_id, role, kim_id, stamp, issued)
}

fn user_tokens(
    keys: &TokenKeys,
    user_id: i64,
    role: Role,
    kim_id: Option<i64>,
    stamp: i64,
    refresh: refresh::IssuedRefreshToken,
) -> Result<TokenResponse, ApiError> {
    let access_token = keys
        .issue(TokenSubject {
            sub: user_id.to_string(),
            role,
            kim_id,
            scopes: None,
            session: Some(refresh.family),
            stamp,
        })
        .map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: keys.lifetime().as_secs(),
        refresh_token: Some(refresh.token),
        scope: None,
    })
}

pub(super) async fn refresh_grant(
    db: &Db,
    keys: &TokenKeys,
    sessions: &SessionCheck,
    refresh_lifetime: std::time::Duration,
    origin: RequestOrigin,
    presented: String,
) -> Result<TokenResponse, ApiError> {
    // `None`: refused. A reuse still commits the family's revocation.
    let outcome = db
        .unit_of_work(Actor::Anonymous, origin, move |uow| match refresh::rotate(
            uow.conn,
            &presented,
            refresh_lifetime,
        )? {
            Rotation::Invalid => Ok(None),
            Rotation::Reused { user_id, family } => {
                uow.audit(
                    "auth.refresh_token_reused",
                    Some(Target::new("user", user_id)),
                    Some(format!("family_revoked={family}")),
                )?;
                Ok(None)
            }
            Rotation::Rotated { user_id, next } => {
                let user = users::model::find(uow.conn, user_id)?.filter(|user| !user.disabled);
                match user {
                    Some(user) => Ok(Some((user, next))),
                    None => {
                        refresh::revoke_family(uow.conn, &next.family)?;
                        Ok(None)
                    }
                }
            }
        })
        .await?;
    // A refused refresh may have ended a whole sign-in (a spent token presented
    // again): its access tokens end here at once.
    if outcome.is_none() {
        sessions.changed();
    }
    match outcome {
        Some((user, next)) => user_tokens(
            keys,
            user.id,
            user.role,
            user.kim_id,
            user.security_stamp,
            next,
        ),
        None => Err(invalid_grant()),
    }
}

pub(super) async fn client_grant(
    db: &Db,
    keys: &TokenKeys,
    origin: RequestOrigin,
    client_id: String,
    secret: SecretString,
    requested_scope: Option<String>,
) -> Result<TokenResponse, ApiError> {
    let account = throttle::client_key(&client_id);
    let address = client_address(&origin);
    let lookup = (client_id.len() <= 64 && !client_id.chars().any(char::is_control))
        .then(|| client_id.clone());
    let (claim, client) = db
        .unit_of_work(Actor::Anonymous, origin.clone(), move |uow| {
            let claim = throttle::claim(uow, &account, &address)?;
            let client = match &lookup {
                Some(id) => integration_clients::find_by_client_id(uow.conn, id)?,
                None => None,
            };
            Ok((claim, client))
        })
        .await?;
    let client =
        client.filter(|client| !client.disabled && client.secret_matches(secret.expose_secret()));
    let Some(client) = client else {
        db.unit_of_work(Actor::Anonymous, origin, |uow| {
            uow.audit("auth.client_failed", None, None)
        })
        .await?;
        return Err(oauth(
            "invalid_client",
            "The client credentials are not valid.",
        ));
    };
    let granted = client.granted_scopes()?;
    let scopes = match requested_scope
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => granted,
        Some(text) => {
            let requested = Scopes::parse(text)
                .map_err(|_| oauth("invalid_scope", "A requested scope does not exist."))?;
            if !requested.is_subset_of(&granted) {
                return Err(oauth(
                    "invalid_scope",
                    "A requested scope was not granted to this client.",
                ));
            }
            requested
        }
    };
    let client_row_id = client.id;
    db.unit_of_work(Actor::Client(client_id), origin, move |uow| {
        claim.clone().succeeded(uow)?;
        uow.audit(
            "auth.client_token",
            Some(Target::new("integration_client", client_row_id)),
            None,
        )
    })
    .await?;
    let access_token = keys
        .issue(TokenSubject {
            sub: client.client_id,
            role: Role::Integration,
            kim_id: None,
            scopes: Some(scopes.clone()),
            session: None,
            stamp: client.security_stamp,
        })
        .map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: keys.lifetime().as_secs(),
        refresh_token: None,
        scope: Some(scopes.to_string()),
    })
}
