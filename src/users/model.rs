//! Accounts as stored and as shown.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Role;
use crate::db::schema::{kims, users};
use crate::db::{DbConnection, utc};
use crate::domain::text::limits;
use crate::error::{ApiError, FieldIssue};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub username_key: String,
    pub display_name: Option<String>,
    pub password_hash: String,
    pub role: Role,
    pub kim_id: Option<i64>,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub security_stamp: i64,
    /// What its notifications are written in when no request names a language.
    pub language: String,
}

/// An account as the API shows it; never its password hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: i64,
    #[schema(example = "siti.rahma")]
    pub username: String,
    #[schema(example = "Siti Rahmawati")]
    pub display_name: Option<String>,
    pub role: Role,
    /// The KIM of a `kim_admin` or `kim_member`; `null` for government roles.
    pub kim_id: Option<i64>,
    /// A disabled account cannot sign in and its sessions are ended.
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TryFrom<UserRow> for User {
    type Error = ApiError;

    fn try_from(row: UserRow) -> Result<Self, ApiError> {
        Ok(User {
            role: row.role,
            id: row.id,
            username: row.username,
            display_name: row.display_name,
            kim_id: row.kim_id,
            disabled: row.disabled,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

/// A user name: 3–64 of `a–z A–Z 0–9 . _ -`, unique regardless of case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username {
    pub display: String,
    pub key: String,
}

impl Username {
    pub fn parse(field: &str, text: &str) -> Result<Username, FieldIssue> {
        let valid_chars = text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !(3..=limits::USERNAME).contains(&text.len()) || !valid_chars {
            return Err(FieldIssue::new(
                field,
                "invalid_username",
                "must be 3–64 characters of letters, digits, '.', '_' or '-'",
                "harus 3–64 karakter berupa huruf, angka, '.', '_' atau '-'",
            ));
        }
        Ok(Username {
            display: text.to_owned(),
            key: text.to_ascii_lowercase(),
        })
    }
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<UserRow>, ApiError> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<UserRow>, ApiError> {
    Ok(users::table
        .filter(users::username_key.eq(username.to_ascii_lowercase()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether the KIM exists (`false`: unknown); a dissolved one takes no accounts
/// (`409 kim_dissolved`).
pub fn kim_takes_accounts(conn: &mut DbConnection, kim_id: i64) -> Result<bool, ApiError> {
    let status = kims::table
        .find(kim_id)
        .select(kims::status)
        .first::<String>(conn)
        .optional()?;
    match status {
        Some(status) if status == crate::kims::model::KimStatus::Dissolved.as_str() => {
            Err(crate::kims::model::dissolved())
        }
        Some(_) => Ok(true),
        None => Ok(false),
    }
}

pub struct NewUser<'a> {
    pub username: &'a Username,
    pub display_name: Option<&'a str>,
    pub password_hash: &'a str,
    pub role: Role,
    pub kim_id: Option<i64>,
}

/// Inserts an account; a taken user name is `409 username_taken`.
pub fn insert(conn: &mut DbConnection, new: NewUser<'_>) -> Result<UserRow, ApiError> {
    let taken = users::table
        .filter(users::username_key.eq(&new.username.key))
        .select(users::id)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    if taken {
        return Err(username_taken());
    }
    let now = crate::db::now();
    let row = diesel::insert_into(users::table)
        .values((
            users::username.eq(&new.username.display),
            users::username_key.eq(&new.username.key),
            users::display_name.eq(new.display_name),
            users::password_hash.eq(new.password_hash),
            users::role.eq(new.role),
            users::kim_id.eq(new.kim_id),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(users::all_columns)
        .get_result::<UserRow>(conn)
        .map_err(|error| match ApiError::from(error) {
            ApiError::Conflict { .. } => username_taken(),
            other => other,
        })?;
    Ok(row)
}

fn username_taken() -> ApiError {
    ApiError::conflict(
        "username_taken",
        "An account with this username already exists.",
        "Akun dengan nama pengguna ini sudah ada.",
    )
}

/// The enabled accounts of the KIMs `kim_ids`.
pub fn kim_accounts(conn: &mut DbConnection, kim_ids: &[i64]) -> Result<Vec<i64>, ApiError> {
    Ok(users::table
        .filter(users::kim_id.eq_any(kim_ids))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

/// The enabled government accounts with one of `roles`.
pub fn accounts_with_roles(conn: &mut DbConnection, roles: &[Role]) -> Result<Vec<i64>, ApiError> {
    Ok(users::table
        .filter(users::role.eq_any(roles))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

/// The enabled accounts with `role` of the KIMs `kim_ids`.
pub fn kim_accounts_with_role(
    conn: &mut DbConnection,
    kim_ids: &[i64],
    role: Role,
) -> Result<Vec<i64>, ApiError> {
    Ok(users::table
        .filter(users::kim_id.eq_any(kim_ids))
        .filter(users::role.eq(role))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

/// Keeps the language `user`'s notifications are written in, when it changed.
pub fn set_language(
    conn: &mut DbConnection,
    user: i64,
    language: crate::i18n::Lang,
) -> Result<(), ApiError> {
    diesel::update(
        users::table
            .filter(users::id.eq(user))
            .filter(users::language.ne(language.code())),
    )
    .set(users::language.eq(language.code()))
    .execute(conn)?;
    Ok(())
}

/// The language `user`'s notifications are written in when no request names one.
pub fn language_of(conn: &mut DbConnection, user: i64) -> Result<crate::i18n::Lang, ApiError> {
    let code: Option<String> = users::table
        .find(user)
        .select(users::language)
        .first(conn)
        .optional()?;
    Ok(crate::i18n::Lang::from_code(
        code.as_deref().unwrap_or("id"),
    ))
}
