//! Refresh tokens: opaque random strings, stored only as SHA-256 hashes, rotated on
//! every use and grouped in families (one per sign-in). Presenting a spent token
//! means it was stolen or replayed, so the whole family is revoked.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::refresh_tokens;
use crate::db::{DbConnection, now};
use crate::error::ApiError;

/// A refresh token to hand to the client, and its family.
pub struct IssuedRefreshToken {
    pub token: String,
    pub family: String,
}

pub fn hash_token(token: &str) -> String {
    crate::crypto::hex(&Sha256::digest(token.as_bytes()))
}

pub fn random_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| ApiError::internal(error.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn insert(
    conn: &mut DbConnection,
    user_id: i64,
    family: String,
    lifetime: Duration,
) -> Result<IssuedRefreshToken, ApiError> {
    let token = random_token()?;
    let issued_at = now();
    let expires_at =
        issued_at + chrono::Duration::from_std(lifetime).map_err(ApiError::internal)?;
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash_token(&token)),
            refresh_tokens::family_id.eq(&family),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::issued_at.eq(issued_at),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(IssuedRefreshToken { token, family })
}

/// Starts a new family for a fresh sign-in.
pub fn start_family(
    conn: &mut DbConnection,
    user_id: i64,
    lifetime: Duration,
) -> Result<IssuedRefreshToken, ApiError> {
    insert(conn, user_id, uuid::Uuid::new_v4().to_string(), lifetime)
}

pub enum Rotation {
    /// The token was live: here is its successor.
    Rotated {
        user_id: i64,
        next: IssuedRefreshToken,
    },
    /// Unknown, expired or revoked.
    Invalid,
    /// Already spent: the family has been revoked.
    Reused { user_id: i64, family: String },
}

/// Spends `presented` and issues its successor in the same family. Must run in a write
/// transaction; a `Reused` outcome has revoked the family and must still be committed.
pub fn rotate(
    conn: &mut DbConnection,
    presented: &str,
    lifetime: Duration,
) -> Result<Rotation, ApiError> {
    let found = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash_token(presented)))
        .select((
            refresh_tokens::id,
            refresh_tokens::family_id,
            refresh_tokens::user_id,
            refresh_tokens::expires_at,
            refresh_tokens::revoked_at.is_not_null(),
        ))
        .first::<(i64, String, i64, chrono::NaiveDateTime, bool)>(conn)
        .optional()?;
    let Some((id, family, user_id, expires_at, revoked)) = found else {
        return Ok(Rotation::Invalid);
    };
    if revoked || expires_at <= now() {
        return Ok(Rotation::Invalid);
    }
    // Spend it atomically: of two concurrent uses, only one finds it unspent.
    let spent = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now()))
    .execute(conn)?;
    if spent == 0 {
        revoke_family(conn, &family)?;
        return Ok(Rotation::Reused { user_id, family });
    }
    let next = insert(conn, user_id, family, lifetime)?;
    Ok(Rotation::Rotated { user_id, next })
}

pub fn revoke_family(conn: &mut DbConnection, family: &str) -> Result<usize, ApiError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now()))
    .execute(conn)?)
}

/// Ends every sign-in of a user (disabled, new password, new role).
pub fn revoke_user(conn: &mut DbConnection, user_id: i64) -> Result<usize, ApiError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now()))
    .execute(conn)?)
}
