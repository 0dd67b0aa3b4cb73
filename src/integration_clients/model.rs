//! Integration clients as stored and as shown, and the queries the handlers share.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::auth::refresh::hash_token;
use crate::auth::{Scope, Scopes};
use crate::db::schema::integration_clients;
use crate::db::{DbConnection, now, utc};
use crate::error::ApiError;

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

/// A client to register, its fields checked and its secret already hashed.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    pub scopes: Scopes,
}

/// A checked change of a client: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = integration_clients)]
pub struct ClientEdit {
    pub name: Option<String>,
    /// Written in their stored form by [`update`].
    #[diesel(skip_update)]
    pub scopes: Option<Scopes>,
    pub disabled: Option<bool>,
    /// The hash of a newly issued secret.
    pub secret_hash: Option<String>,
}

impl ClientEdit {
    /// What this edit really changes in `current`, as named in the audit log.
    pub fn changes(&self, current: &ClientRow) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.name.as_ref().is_some_and(|name| *name != current.name) {
            changed.push("name");
        }
        if self
            .scopes
            .as_ref()
            .is_some_and(|scopes| scopes.to_string() != current.scopes)
        {
            changed.push("scopes");
        }
        match self.disabled {
            Some(true) if !current.disabled => changed.push("disabled"),
            Some(false) if current.disabled => changed.push("enabled"),
            _ => {}
        }
        if self.secret_hash.is_some() {
            changed.push("secret");
        }
        changed
    }
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<ClientRow>, ApiError> {
    Ok(integration_clients::table
        .find(id)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?)
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

pub fn insert(conn: &mut DbConnection, new: &NewClient) -> Result<ClientRow, ApiError> {
    let now = now();
    Ok(diesel::insert_into(integration_clients::table)
        .values((
            integration_clients::client_id.eq(&new.client_id),
            integration_clients::name.eq(&new.name),
            integration_clients::secret_hash.eq(&new.secret_hash),
            integration_clients::scopes.eq(new.scopes.to_string()),
            integration_clients::created_at.eq(now),
            integration_clients::updated_at.eq(now),
        ))
        .returning(integration_clients::all_columns)
        .get_result(conn)?)
}

/// Applies `edit` to `current` if it is still the stored version (else 412). A change
/// of access or of the secret moves the security stamp, which ends the tokens issued
/// before it.
pub fn update(
    conn: &mut DbConnection,
    current: &ClientRow,
    edit: &ClientEdit,
    changed: &[&str],
) -> Result<ClientRow, ApiError> {
    let ends_tokens = changed
        .iter()
        .any(|field| matches!(*field, "scopes" | "disabled" | "secret"));
    diesel::update(
        integration_clients::table
            .filter(integration_clients::id.eq(current.id))
            .filter(integration_clients::version.eq(current.version)),
    )
    .set((
        edit,
        edit.scopes
            .as_ref()
            .map(|scopes| integration_clients::scopes.eq(scopes.to_string())),
        integration_clients::updated_at.eq(now()),
        integration_clients::version.eq(current.version + 1),
        integration_clients::security_stamp.eq(current.security_stamp + i64::from(ends_tokens)),
    ))
    .returning(integration_clients::all_columns)
    .get_result(conn)
    .optional()?
    .ok_or(ApiError::PreconditionFailed)
}

/// A fresh public identifier: `kimc_` and 16 hex digits from the CSPRNG.
pub fn new_client_id() -> Result<String, ApiError> {
    Ok(format!("kimc_{}", crate::crypto::random_hex::<8>()?))
}
