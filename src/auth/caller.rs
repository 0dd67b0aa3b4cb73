//! Who is calling, and what they may do.
//!
//! Handlers state their audience in their signature: `Authorized<GovAdminOnly>`,
//! `Authorized<UserManagers>`, `Caller` (anyone authenticated) or `MaybeCaller`
//! (anonymous allowed). Object-level decisions go through [`Caller::can_manage_kim`]
//! and friends, so every resource applies the same rule.

use std::fmt;
use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use futures_util::future::LocalBoxFuture;

use super::session::SessionCheck;
use super::tokens::{Claims, TokenKeys};
use crate::error::{ApiError, AuthFailure};

crate::text_enum! {
    pub enum Role {
        GovAdmin = "gov_admin",
        GovOfficer = "gov_officer",
        KimAdmin = "kim_admin",
        KimMember = "kim_member",
        Integration = "integration",
    }
}

impl Role {
    /// KIM roles act inside one KIM and carry its id.
    pub const fn is_kim_role(self) -> bool {
        matches!(self, Role::KimAdmin | Role::KimMember)
    }

    pub const fn is_gov(self) -> bool {
        matches!(self, Role::GovAdmin | Role::GovOfficer)
    }
}

/// The scopes an integration client may be granted.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum Scope {
    #[serde(rename = "kims:read")]
    KimsRead,
    #[serde(rename = "members:read")]
    MembersRead,
    #[serde(rename = "bulletins:read")]
    BulletinsRead,
    #[serde(rename = "reports:read")]
    ReportsRead,
    #[serde(rename = "reports:write")]
    ReportsWrite,
    #[serde(rename = "stats:read")]
    StatsRead,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::KimsRead,
        Scope::MembersRead,
        Scope::BulletinsRead,
        Scope::ReportsRead,
        Scope::ReportsWrite,
        Scope::StatsRead,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::KimsRead => "kims:read",
            Scope::MembersRead => "members:read",
            Scope::BulletinsRead => "bulletins:read",
            Scope::ReportsRead => "reports:read",
            Scope::ReportsWrite => "reports:write",
            Scope::StatsRead => "stats:read",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == text)
    }
}

/// A set of scopes, written space-separated as OAuth does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn new(mut scopes: Vec<Scope>) -> Self {
        scopes.sort();
        scopes.dedup();
        Scopes(scopes)
    }

    /// Parses `"a b c"`; `Err` names the first unknown scope.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split_whitespace()
            .map(|word| Scope::parse(word).ok_or_else(|| word.to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map(Scopes::new)
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.iter().all(|scope| other.contains(*scope))
    }

    pub fn as_slice(&self) -> &[Scope] {
        &self.0
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.0.iter().map(|scope| scope.as_str()).collect();
        f.write_str(&words.join(" "))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User(i64),
    Client(String),
}

/// An authenticated caller, taken from a valid bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: Subject,
    pub role: Role,
    pub kim_id: Option<i64>,
    pub scopes: Scopes,
    /// The sign-in session (refresh-token family) of a user's token.
    pub session: Option<String>,
}

impl Caller {
    fn from_claims(claims: Claims) -> Option<Caller> {
        let subject = match claims.role {
            Role::Integration => Subject::Client(claims.sub),
            _ => Subject::User(claims.sub.parse().ok()?),
        };
        // A KIM role without its KIM (or a KIM on another role) is not a token we issued.
        if claims.role.is_kim_role() != claims.kim_id.is_some() {
            return None;
        }
        let scopes = match &claims.scope {
            Some(text) => Scopes::parse(text).ok()?,
            None => Scopes::default(),
        };
        Some(Caller {
            subject,
            role: claims.role,
            kim_id: claims.kim_id,
            scopes,
            session: claims.sid,
        })
    }

    pub fn user_id(&self) -> Option<i64> {
        match self.subject {
            Subject::User(id) => Some(id),
            Subject::Client(_) => None,
        }
    }

    pub fn is_gov(&self) -> bool {
        self.role.is_gov()
    }

    pub fn has_scope(&self, scope: Scope) -> bool {
        self.role == Role::Integration && self.scopes.contains(scope)
    }

    /// May the caller see `kim_id`'s non-public data (members, private bulletins, reports)?
    /// Government users see every KIM; KIM users only their own.
    pub fn can_see_kim(&self, kim_id: i64) -> bool {
        self.is_gov() || self.kim_id == Some(kim_id)
    }

    /// May the caller change `kim_id`'s data (profile, members, accounts)?
    pub fn can_manage_kim(&self, kim_id: i64) -> bool {
        self.role == Role::GovAdmin || (self.role == Role::KimAdmin && self.kim_id == Some(kim_id))
    }

    /// A stable name for the caller, to scope per-caller records (idempotency keys).
    pub fn owner_key(&self) -> String {
        match &self.subject {
            Subject::User(id) => format!("user:{id}"),
            Subject::Client(client_id) => format!("client:{client_id}"),
        }
    }

    /// For audit records: who acted.
    pub fn actor(&self) -> (&'static str, String) {
        match &self.subject {
            Subject::User(id) => ("user", id.to_string()),
            Subject::Client(client_id) => ("client", client_id.clone()),
        }
    }
}

fn bearer_token(req: &HttpRequest) -> Result<Option<&str>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    // Anything present that is not `Bearer <token>` is a bad credential, not anonymity.
    value
        .to_str()
        .ok()
        .and_then(|text| text.split_once(' '))
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .map(|(_, token)| Some(token.trim()))
        .ok_or(ApiError::Unauthorized(AuthFailure::InvalidToken))
}

/// Whom a request's bearer token names, when it is a token we signed and it is within
/// its lifetime. No database read: whether the holder signed out or was disabled is the
/// extractors' to check; this is for counting requests (rate limits), where a forged
/// token must not spend the allowance of the account it names.
/// The verified claims are kept with the request, so the extractors do not verify the
/// signature a second time.
pub fn signed_subject(req: &HttpRequest) -> Option<Subject> {
    let claims = verified_claims(req)?;
    Caller::from_claims(claims).map(|caller| caller.subject)
}

/// The claims of the request's bearer token, when it verifies: checked once per request.
#[derive(Clone)]
struct VerifiedToken(Option<Claims>);

fn verified_claims(req: &HttpRequest) -> Option<Claims> {
    if let Some(VerifiedToken(claims)) = req.extensions().get::<VerifiedToken>() {
        return claims.clone();
    }
    let token = bearer_token(req).ok()??;
    let keys = req.app_data::<web::Data<TokenKeys>>()?;
    let claims = keys.verify(token);
    req.extensions_mut().insert(VerifiedToken(claims.clone()));
    claims
}

/// The caller named by a bearer token, if any: signature and claims checked at once,
/// then whether the token still speaks for its holder ([`SessionCheck`]).
fn authenticate(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Option<Caller>, ApiError>> {
    type Verified = Option<(Caller, i64, web::Data<SessionCheck>)>;
    let verified = (|| -> Result<Verified, ApiError> {
        if bearer_token(req)?.is_none() {
            return Ok(None);
        }
        if req.app_data::<web::Data<TokenKeys>>().is_none() {
            return Err(ApiError::internal("token keys are not configured"));
        }
        let claims =
            verified_claims(req).ok_or(ApiError::Unauthorized(AuthFailure::InvalidToken))?;
        let stamp = claims.stm;
        let caller =
            Caller::from_claims(claims).ok_or(ApiError::Unauthorized(AuthFailure::InvalidToken))?;
        let sessions = req
            .app_data::<web::Data<SessionCheck>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("the session check is not configured"))?;
        Ok(Some((caller, stamp, sessions)))
    })();
    Box::pin(async move {
        let Some((caller, stamp, sessions)) = verified? else {
            return Ok(None);
        };
        if !sessions.is_current(&caller, stamp).await? {
            return Err(ApiError::Unauthorized(AuthFailure::InvalidToken));
        }
        tracing::Span::current().record("caller", tracing::field::display(caller.actor().1));
        Ok(Some(caller))
    })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = authenticate(req);
        Box::pin(async move {
            caller
                .await?
                .ok_or(ApiError::Unauthorized(AuthFailure::Missing))
        })
    }
}

/// A route open to anonymous callers: `None` without a token. A token that is present
/// but invalid is still a 401, never anonymous.
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequest for MaybeCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = authenticate(req);
        Box::pin(async move { caller.await.map(MaybeCaller) })
    }
}

/// Who may call a route; checked by [`Authorized`] before the handler runs.
pub trait Policy {
    fn allows(caller: &Caller) -> bool;
}

/// Diskominfo administrators only.
pub struct GovAdminOnly;

impl Policy for GovAdminOnly {
    fn allows(caller: &Caller) -> bool {
        caller.role == Role::GovAdmin
    }
}

/// Government users: gov_admin and gov_officer.
pub struct GovOnly;

impl Policy for GovOnly {
    fn allows(caller: &Caller) -> bool {
        caller.is_gov()
    }
}

/// Readers of dashboard statistics: gov users and integration clients holding
/// `stats:read`.
pub struct StatsReaders;

impl Policy for StatsReaders {
    fn allows(caller: &Caller) -> bool {
        caller.is_gov() || caller.has_scope(Scope::StatsRead)
    }
}

/// Those who manage accounts: gov_admin (everyone) and kim_admin (its KIM's members).
pub struct UserManagers;

impl Policy for UserManagers {
    fn allows(caller: &Caller) -> bool {
        matches!(caller.role, Role::GovAdmin | Role::KimAdmin)
    }
}

/// An authenticated caller that passed policy `P` (else 403).
pub struct Authorized<P: Policy> {
    pub caller: Caller,
    policy: PhantomData<P>,
}

impl<P: Policy> std::ops::Deref for Authorized<P> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<P: Policy> FromRequest for Authorized<P> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            if P::allows(&caller) {
                Ok(Authorized {
                    caller,
                    policy: PhantomData,
                })
            } else {
                Err(ApiError::Forbidden)
            }
        })
    }
}

/// Who acts, for audit records: the caller's account or client.
impl From<&Caller> for crate::audit::Actor {
    fn from(caller: &Caller) -> Self {
        match &caller.subject {
            Subject::User(id) => crate::audit::Actor::User(*id),
            Subject::Client(client_id) => crate::audit::Actor::Client(client_id.clone()),
        }
    }
}

/// A request's bearer token kept for an answer that outlives the request (the
/// notification stream): [`Credential::still_current`] checks again what the `Caller`
/// extractor checked once — signature, lifetime, and that the holder was not disabled,
/// changed or signed out since.
pub struct Credential {
    token: String,
    keys: web::Data<TokenKeys>,
    sessions: web::Data<SessionCheck>,
}

impl Credential {
    /// The credential of `req`; `None` without a bearer token.
    pub fn of(req: &HttpRequest) -> Result<Option<Credential>, ApiError> {
        let Some(token) = bearer_token(req)? else {
            return Ok(None);
        };
        let keys = req
            .app_data::<web::Data<TokenKeys>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("token keys are not configured"))?;
        let sessions = req
            .app_data::<web::Data<SessionCheck>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("the session check is not configured"))?;
        Ok(Some(Credential {
            token: token.to_owned(),
            keys,
            sessions,
        }))
    }

    /// Whether the token still speaks for its holder now.
    pub async fn still_current(&self) -> Result<bool, ApiError> {
        let Some(claims) = self.keys.verify(&self.token) else {
            return Ok(false);
        };
        let stamp = claims.stm;
        let Some(caller) = Caller::from_claims(claims) else {
            return Ok(false);
        };
        self.sessions.is_current(&caller, stamp).await
    }

    /// How often a long answer should call [`Credential::still_current`].
    pub fn recheck(&self) -> std::time::Duration {
        self.sessions.recheck()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_print_in_a_stable_order() {
        let scopes = Scopes::parse("reports:write kims:read reports:write").ok();
        assert_eq!(
            scopes.map(|s| s.to_string()),
            Some("kims:read reports:write".into())
        );
        assert_eq!(Scopes::parse("kims:read admin"), Err("admin".to_owned()));
    }

    #[test]
    fn kim_users_act_only_inside_their_kim() {
        let kim_admin = Caller {
            subject: Subject::User(1),
            role: Role::KimAdmin,
            kim_id: Some(7),
            scopes: Scopes::default(),
            session: None,
        };
        assert!(kim_admin.can_manage_kim(7));
        assert!(!kim_admin.can_manage_kim(8));
        assert!(!kim_admin.can_see_kim(8));
        let officer = Caller {
            role: Role::GovOfficer,
            kim_id: None,
            ..kim_admin
        };
        assert!(officer.can_see_kim(8));
        assert!(!officer.can_manage_kim(8));
    }
}
