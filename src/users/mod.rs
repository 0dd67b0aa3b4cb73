//! Accounts of government staff and KIM boards and members (SPEC §2).
//!
//! gov_admin manages every account; a kim_admin creates and disables `kim_member`
//! accounts of its own KIM and sees only its KIM's accounts (others are 404).

pub mod model;
pub mod policy;

use actix_web::{HttpResponse, get, patch, post, web};
use diesel::prelude::*;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Actor, RequestOrigin};
use crate::auth::password::PasswordWork;
use crate::auth::{Authorized, Caller, Role, SessionCheck, UserManagers, password, refresh};
use crate::concurrency::{IfMatch, ok_with_etag};
use crate::db::schema::users;
use crate::db::{Db, now};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::{ApiError, FieldIssue};
use crate::events::EventType;
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidQuery, NotFound, PreconditionFailed,
    ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::pagination::{Page, PageParams, like_literal};
use crate::unit_of_work::{Event, Target, UnitOfWork};
pub use model::{User, UserRow, Username};

fn secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SecretString, D::Error> {
    String::deserialize(deserializer).map(SecretString::from)
}

fn optional_secret<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SecretString>, D::Error> {
    Option::<String>::deserialize(deserializer).map(|text| text.map(SecretString::from))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// 3–64 letters, digits, `.`, `_` or `-`; unique regardless of case.
    #[schema(example = "siti.rahma")]
    username: String,
    /// 12–128 characters, not easy to guess. Never returned.
    #[serde(deserialize_with = "secret")]
    #[schema(value_type = String, format = Password)]
    password: SecretString,
    role: Role,
    /// Required for `kim_admin`/`kim_member`, absent otherwise. A kim_admin may omit it
    /// (its own KIM is used).
    kim_id: Option<i64>,
    display_name: Option<String>,
}

/// Changes to an account; absent fields stay as they are.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    display_name: Option<Option<String>>,
    /// Disabling ends the account's sessions (its refresh tokens are revoked).
    disabled: Option<bool>,
    /// A new password (gov_admin only); ends the account's sessions.
    #[serde(default, deserialize_with = "optional_secret")]
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<SecretString>,
    /// A new role (gov_admin only); ends the account's sessions.
    role: Option<Role>,
    /// The KIM of a KIM role (gov_admin only).
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<i64>)]
    kim_id: Option<Option<i64>>,
}

/// A checked account to create, its password already hashed.
#[derive(Clone)]
struct NewAccount {
    username: Username,
    display_name: Option<String>,
    password_hash: String,
    role: Role,
    kim_id: Option<i64>,
}

impl NewAccount {
    fn as_new_user(&self) -> model::NewUser<'_> {
        model::NewUser {
            username: &self.username,
            display_name: self.display_name.as_deref(),
            password_hash: &self.password_hash,
            role: self.role,
            kim_id: self.kim_id,
        }
    }
}

impl NewUserRequest {
    /// Every field checked (all problems at once); the password is hashed only for a
    /// request that passed, since hashing costs 19 MiB and tens of milliseconds.
    async fn check(
        self,
        kim_id: Option<i64>,
        passwords: &PasswordWork,
    ) -> Result<NewAccount, ApiError> {
        let mut checks = Checks::new();
        let username = checks.take(Username::parse("username", &self.username));
        checks.take(password::check_strength(
            "password",
            &self.password,
            &[&self.username],
        ));
        let display_name = checks.optional_text(
            "display_name",
            self.display_name.as_deref(),
            limits::DISPLAY_NAME,
            Lines::Single,
        );
        checks.take(user_role(self.role));
        checks.take(kim_role_issue(self.role, kim_id).map_or(Ok(()), Err));
        let (username,) = checks.finish_with((username,))?;
        Ok(NewAccount {
            username,
            display_name,
            password_hash: passwords.hash(self.password).await?,
            role: self.role,
            kim_id,
        })
    }
}

impl UserChanges {
    /// Whether the request does no more than disable the account (what a kim_admin may).
    fn only_disables(&self) -> bool {
        self.display_name.is_none()
            && self.password.is_none()
            && self.role.is_none()
            && self.kim_id.is_none()
            && self.disabled != Some(false)
    }

    /// The changes checked, the new password (if any) hashed once they passed.
    async fn check(self, passwords: &PasswordWork) -> Result<AccountChanges, ApiError> {
        let mut checks = Checks::new();
        let display_name = checks.changed_text(
            "display_name",
            self.display_name.as_ref().map(Option::as_deref),
            limits::DISPLAY_NAME,
            Lines::Single,
        );
        if let Some(role) = self.role {
            checks.take(user_role(role));
        }
        if let Some(password) = &self.password {
            checks.take(password::check_strength("password", password, &[]));
        }
        checks.finish()?;
        let password_hash = match self.password {
            Some(password) => Some(passwords.hash(password).await?),
            None => None,
        };
        Ok(AccountChanges {
            display_name,
            disabled: self.disabled,
            password_hash,
            role: self.role,
            kim_id: self.kim_id,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    role: Option<Role>,
    kim_id: Option<i64>,
    disabled: Option<bool>,
    /// Usernames starting with this text (case-insensitive).
    q: Option<String>,
}

/// Lists accounts in id order.
///
/// Roles: gov_admin (all accounts), kim_admin (its KIM's accounts).
#[utoipa::path(
    tag = "users",
    params(UserFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of accounts", body = Page<User>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/users")]
pub async fn list_users(
    caller: Authorized<UserManagers>,
    db: web::Data<Db>,
    query: ListQuery<UserFilter>,
) -> Result<web::Json<Page<User>>, ApiError> {
    let ListQuery { page, filter } = query;
    let after: Option<i64> = page.after()?;
    let fetch_limit = page.fetch_limit();
    let caller = caller.caller;
    let rows = db
        .read(move |conn| {
            let mut select = users::table
                .select(UserRow::as_select())
                .order(users::id)
                .limit(fetch_limit)
                .into_boxed();
            if let Some(condition) = policy::list_condition(&caller) {
                select = select.filter(condition);
            }
            if let Some(role) = filter.role {
                select = select.filter(users::role.eq(role));
            }
            if let Some(kim_id) = filter.kim_id {
                select = select.filter(users::kim_id.eq(kim_id));
            }
            if let Some(disabled) = filter.disabled {
                select = select.filter(users::disabled.eq(disabled));
            }
            if let Some(prefix) = filter.q {
                let literal = like_literal(&prefix.to_ascii_lowercase(), 64);
                select =
                    select.filter(users::username_key.like(format!("{literal}%")).escape('\\'));
            }
            if let Some(after) = after {
                select = select.filter(users::id.gt(after));
            }
            Ok(select.load(conn)?)
        })
        .await?;
    let users = rows
        .into_iter()
        .map(User::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(Page::from_rows(users, &page, |user| user.id)))
}

/// Creates an account.
///
/// Roles: gov_admin (any role), kim_admin (`kim_member` of its own KIM only).
#[utoipa::path(
    tag = "users",
    params(IdempotencyKeyParam),
    request_body = NewUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = User,
            headers(("Location" = String, description = "URL of the new account"), ("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "`username_taken`, `kim_dissolved`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/users")]
pub async fn create_user(
    caller: Authorized<UserManagers>,
    passwords: web::Data<PasswordWork>,
    body: ApiJson<NewUserRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let ApiJson(request) = body;
    let kim_id = policy::may_create(&caller, request.role, request.kim_id)?;
    let account = request.check(kim_id, &passwords).await?;
    let replay_caller = caller.caller.clone();
    creating
        .create_once(
            &caller,
            move |uow| {
                if let Some(kim_id) = account.kim_id {
                    // The KIM is locked: a dissolution cannot slip between check and insert.
                    uow.lock_kim(kim_id)?;
                    if !model::kim_takes_accounts(uow.conn, kim_id)? {
                        return Err(unknown_kim());
                    }
                }
                let row = model::insert(uow.conn, account.as_new_user())?;
                let target = Target::new("user", row.id);
                uow.audit(
                    "user.created",
                    Some(target.clone()),
                    Some(format!("role={}", row.role)),
                )?;
                uow.emit(Event::new(
                    EventType::UserCreated,
                    target,
                    serde_json::json!({"id": row.id, "role": &row.role, "kim_id": row.kim_id}),
                ))?;
                let user = User::try_from(row)?;
                CreatedResponse::created(&user, format!("/api/v1/users/{}", user.id), user.version)
            },
            move |_: &mut UnitOfWork<'_>, stored: &CreatedResponse| {
                replay_visible(&replay_caller, stored)
            },
        )
        .await
}

/// A replayed creation shows the account only to a caller who may still see it (a
/// kim_admin moved to another KIM may not).
fn replay_visible(caller: &Caller, stored: &CreatedResponse) -> Result<(), ApiError> {
    let kim_id = stored
        .body
        .get("kim_id")
        .and_then(serde_json::Value::as_i64);
    policy::may_see_account_of(caller, kim_id)
}

/// `integration` is granted to integration clients, never to a person's account.
fn user_role(role: Role) -> Result<(), FieldIssue> {
    if role == Role::Integration {
        return Err(FieldIssue::new(
            "role",
            "not_a_user_role",
            "integration access is granted to integration clients, not users",
            "akses integrasi diberikan kepada klien integrasi, bukan pengguna",
        ));
    }
    Ok(())
}

fn kim_role_issue(role: Role, kim_id: Option<i64>) -> Option<FieldIssue> {
    match (role.is_kim_role(), kim_id.is_some()) {
        (true, false) => Some(FieldIssue::new(
            "kim_id",
            "required",
            "KIM roles need the KIM they belong to",
            "peran KIM memerlukan KIM tempatnya bernaung",
        )),
        (false, true) => Some(FieldIssue::new(
            "kim_id",
            "not_allowed",
            "only kim_admin and kim_member accounts belong to a KIM",
            "hanya akun kim_admin dan kim_member yang terikat pada KIM",
        )),
        _ => None,
    }
}

fn unknown_kim() -> ApiError {
    ApiError::Validation(vec![FieldIssue::new(
        "kim_id",
        "unknown_kim",
        "no KIM has this id",
        "tidak ada KIM dengan id ini",
    )])
}

/// One account, with its version as `ETag`.
///
/// Roles: gov_admin, kim_admin (its KIM's accounts; others are 404).
#[utoipa::path(
    tag = "users",
    params(("id" = i64, Path, description = "Account id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = User, headers(("ETag" = String))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/users/{id}")]
pub async fn get_user(
    caller: Authorized<UserManagers>,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db
        .read(move |conn| model::find(conn, id))
        .await?
        .ok_or(ApiError::NotFound)?;
    policy::may_see(&caller, &row)?;
    let user = User::try_from(row)?;
    Ok(ok_with_etag(user.version, &user))
}

/// Changes an account: disable or enable it, reset its password, change its role.
///
/// Roles: gov_admin (every field of every account), kim_admin (only `disabled`, only
/// for `kim_member` accounts of its KIM). Honours `If-Match`. Disabling, a new
/// password and a new role or KIM end the account's sessions. The last active
/// gov_admin cannot be disabled or demoted (`409 last_admin`).
#[utoipa::path(
    tag = "users",
    params(
        ("id" = i64, Path, description = "Account id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = UserChanges,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed account", body = User, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`last_admin`; `kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[patch("/users/{id}")]
#[expect(
    clippy::too_many_arguments,
    reason = "actix extractors, one per concern"
)]
pub async fn update_user(
    caller: Authorized<UserManagers>,
    db: web::Data<Db>,
    passwords: web::Data<PasswordWork>,
    sessions: web::Data<SessionCheck>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: ApiJson<UserChanges>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(changes) = body;
    policy::may_edit_as_asked(&caller, changes.only_disables())?;
    let changes = changes.check(&passwords).await?;
    let caller = caller.caller;
    let row = db
        .unit_of_work(Actor::from(&caller), origin, move |uow| {
            crate::kims::model::ensure_kim_user_may_write(uow, &caller)?;
            uow.lock_user(id)?;
            let current = model::find(uow.conn, id)?.ok_or(ApiError::NotFound)?;
            policy::may_change(&caller, &current)?;
            if_match.check(current.version)?;
            apply_changes(uow, current, changes.clone())
        })
        .await?;
    sessions.changed();
    let user = User::try_from(row)?;
    Ok(ok_with_etag(user.version, &user))
}

/// [`UserChanges`] once checked, with the new password already hashed.
#[derive(Clone)]
struct AccountChanges {
    display_name: Option<Option<String>>,
    disabled: Option<bool>,
    password_hash: Option<String>,
    role: Option<Role>,
    kim_id: Option<Option<i64>>,
}

fn apply_changes(
    uow: &mut UnitOfWork<'_>,
    current: UserRow,
    changes: AccountChanges,
) -> Result<UserRow, ApiError> {
    let AccountChanges {
        display_name,
        disabled,
        password_hash,
        role,
        kim_id,
    } = changes;
    let current_role = current.role;
    let new_role = role.unwrap_or(current_role);
    // A change to a government role drops the KIM unless one is named.
    let new_kim = match kim_id {
        Some(kim_id) => kim_id,
        None if new_role.is_kim_role() => current.kim_id,
        None => None,
    };
    if let Some(issue) = kim_role_issue(new_role, new_kim) {
        return Err(ApiError::Validation(vec![issue]));
    }
    if let Some(kim) = new_kim
        && Some(kim) != current.kim_id
    {
        uow.lock_kim(kim)?;
        if !model::kim_takes_accounts(uow.conn, kim)? {
            return Err(unknown_kim());
        }
    }
    let new_disabled = disabled.unwrap_or(current.disabled);
    let loses_admin = current_role == Role::GovAdmin
        && !current.disabled
        && (new_disabled || new_role != Role::GovAdmin);
    if loses_admin
        && uow
            .lock_active_gov_admins()?
            .iter()
            .all(|admin| *admin == current.id)
    {
        return Err(ApiError::conflict(
            "last_admin",
            "This is the last active gov_admin; create another one first.",
            "Ini gov_admin aktif terakhir; buat gov_admin lain terlebih dahulu.",
        ));
    }

    let mut changed = Vec::new();
    if display_name
        .as_ref()
        .is_some_and(|name| *name != current.display_name)
    {
        changed.push("display_name");
    }
    if new_disabled != current.disabled {
        changed.push(if new_disabled { "disabled" } else { "enabled" });
    }
    if password_hash.is_some() {
        changed.push("password");
    }
    if new_role != current_role {
        changed.push("role");
    }
    if new_kim != current.kim_id {
        changed.push("kim_id");
    }
    if changed.is_empty() {
        return Ok(current);
    }
    // What an access token says about its holder stops being true: end those tokens.
    let ends_sessions = changed
        .iter()
        .any(|field| matches!(*field, "disabled" | "password" | "role" | "kim_id"));

    let updated = diesel::update(
        users::table
            .filter(users::id.eq(current.id))
            .filter(users::version.eq(current.version)),
    )
    .set((
        display_name.map(|name| users::display_name.eq(name)),
        users::disabled.eq(new_disabled),
        password_hash.map(|hash| users::password_hash.eq(hash)),
        users::role.eq(new_role),
        users::kim_id.eq(new_kim),
        users::updated_at.eq(now()),
        users::version.eq(current.version + 1),
        users::security_stamp.eq(current.security_stamp + i64::from(ends_sessions)),
    ))
    .returning(users::all_columns)
    .get_result::<UserRow>(uow.conn)
    .optional()?
    .ok_or(ApiError::PreconditionFailed)?;

    let target = Target::new("user", current.id);
    uow.audit(
        "user.updated",
        Some(target.clone()),
        Some(format!("changed={}", changed.join(","))),
    )?;
    uow.emit(Event::new(
        EventType::UserUpdated,
        target.clone(),
        serde_json::json!({"id": current.id, "changed": changed}),
    ))?;
    if ends_sessions {
        let revoked = refresh::revoke_user(uow.conn, current.id)?;
        uow.audit(
            "auth.sessions_revoked",
            Some(target),
            Some(format!("refresh_tokens={revoked}")),
        )?;
    }
    Ok(updated)
}
