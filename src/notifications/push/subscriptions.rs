//! Stored push subscriptions: a browser's endpoint and the keys to encrypt for it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::push_subscriptions;
use crate::db::{DbConnection, now};
use crate::error::ApiError;

/// Browsers and devices one account may take pushes on; a browser that subscribes
/// again replaces its own row, so only abandoned ones accumulate.
pub const MAX_PER_ACCOUNT: i64 = 20;
/// An uncompressed P-256 point (65 bytes) in base64url, padded or not.
pub const MAX_P256DH: usize = 100;
/// A 16-byte secret in base64url, padded or not.
pub const MAX_AUTH: usize = 40;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = push_subscriptions)]
pub struct SubscriptionRow {
    pub id: i64,
    pub user_id: i64,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub created_at: NaiveDateTime,
}

/// A checked subscription to keep.
pub struct NewSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// Whether a subscription was added or an existing one of the account renewed.
pub enum Kept {
    Added(SubscriptionRow),
    Renewed(SubscriptionRow),
}

/// Keeps `new` for `user`, who must be locked by the caller (the per-account cap is
/// counted under that lock). An endpoint another account held moves to `user`: the
/// browser profile behind it is now signed in as `user`.
pub fn keep(conn: &mut DbConnection, user: i64, new: &NewSubscription) -> Result<Kept, ApiError> {
    let held: Option<SubscriptionRow> = push_subscriptions::table
        .filter(push_subscriptions::endpoint.eq(&new.endpoint))
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(held) = held.as_ref().filter(|held| held.user_id == user) {
        let renewed = diesel::update(push_subscriptions::table.find(held.id))
            .set((
                push_subscriptions::p256dh.eq(&new.p256dh),
                push_subscriptions::auth.eq(&new.auth),
            ))
            .returning(push_subscriptions::all_columns)
            .get_result(conn)?;
        return Ok(Kept::Renewed(renewed));
    }
    let count: i64 = push_subscriptions::table
        .filter(push_subscriptions::user_id.eq(user))
        .count()
        .get_result(conn)?;
    if count >= MAX_PER_ACCOUNT {
        return Err(ApiError::unprocessable(
            "too_many_subscriptions",
            format!(
                "an account takes pushes on at most {MAX_PER_ACCOUNT} browsers; remove one first"
            ),
            format!(
                "satu akun menerima push di paling banyak {MAX_PER_ACCOUNT} peramban; hapus salah satu dulu"
            ),
            vec![],
        ));
    }
    if let Some(held) = held {
        diesel::delete(push_subscriptions::table.find(held.id)).execute(conn)?;
    }
    let added = diesel::insert_into(push_subscriptions::table)
        .values((
            push_subscriptions::user_id.eq(user),
            push_subscriptions::endpoint.eq(&new.endpoint),
            push_subscriptions::p256dh.eq(&new.p256dh),
            push_subscriptions::auth.eq(&new.auth),
            push_subscriptions::created_at.eq(now()),
        ))
        .returning(push_subscriptions::all_columns)
        .get_result(conn)?;
    Ok(Kept::Added(added))
}

pub fn of_user(conn: &mut DbConnection, user: i64) -> Result<Vec<SubscriptionRow>, ApiError> {
    Ok(push_subscriptions::table
        .filter(push_subscriptions::user_id.eq(user))
        .order(push_subscriptions::id)
        .select(SubscriptionRow::as_select())
        .load(conn)?)
}

/// Removes `user`'s subscription `id`; whether there was one.
pub fn remove(conn: &mut DbConnection, user: i64, id: i64) -> Result<bool, ApiError> {
    let removed = diesel::delete(
        push_subscriptions::table
            .filter(push_subscriptions::id.eq(id))
            .filter(push_subscriptions::user_id.eq(user)),
    )
    .execute(conn)?;
    Ok(removed > 0)
}
