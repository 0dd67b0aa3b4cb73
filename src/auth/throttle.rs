//! Throttling of failed sign-ins, kept in the database so that every instance of the
//! service sees the same counts.
//!
//! Three limits over a sliding 15-minute window:
//! - one account from one address: 10 failures (the usual guessing case);
//! - one address, any accounts: 30 failures (spraying one password over many names);
//! - one account, any addresses: 100 failures (a distributed attack).
//!
//! Attempts refused while throttled are not counted, so a lock ends at most 15 minutes
//! after the failures that caused it, however long an attacker keeps knocking; and since
//! the tightest limit is per address, someone guessing from elsewhere does not lock the
//! account's owner out.

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::min;
use diesel::prelude::*;

use crate::db::schema::login_failures;
use crate::db::{DbConnection, now};
use crate::error::ApiError;

pub const WINDOW_MINUTES: i64 = 15;
pub const ACCOUNT_ADDRESS_LIMIT: i64 = 10;
pub const ADDRESS_LIMIT: i64 = 30;
pub const ACCOUNT_LIMIT: i64 = 100;

/// The key a sign-in is counted under: a user name or a client id.
pub fn user_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
}

pub fn client_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

/// `Err(429)` when any limit is reached for `account` from `address`.
pub fn check(conn: &mut DbConnection, account: &str, address: &str) -> Result<(), ApiError> {
    let cutoff = now() - Duration::minutes(WINDOW_MINUTES);
    let recent = || login_failures::table.filter(login_failures::failed_at.gt(cutoff));
    let windows: [(i64, Option<NaiveDateTime>); 3] = [
        recent()
            .filter(login_failures::account_key.eq(account))
            .filter(login_failures::client_ip.eq(address))
            .select((diesel::dsl::count_star(), min(login_failures::failed_at)))
            .first(conn)?,
        recent()
            .filter(login_failures::client_ip.eq(address))
            .select((diesel::dsl::count_star(), min(login_failures::failed_at)))
            .first(conn)?,
        recent()
            .filter(login_failures::account_key.eq(account))
            .select((diesel::dsl::count_star(), min(login_failures::failed_at)))
            .first(conn)?,
    ];
    let limits = [ACCOUNT_ADDRESS_LIMIT, ADDRESS_LIMIT, ACCOUNT_LIMIT];
    let retry_after = windows
        .iter()
        .zip(limits)
        .filter(|((count, _), limit)| count >= limit)
        .filter_map(|((_, oldest), _)| *oldest)
        .map(|oldest| {
            (oldest + Duration::minutes(WINDOW_MINUTES) - now())
                .num_seconds()
                .max(1)
        })
        .max();
    match retry_after {
        Some(seconds) => Err(ApiError::TooManyRequests {
            retry_after_secs: seconds as u64,
        }),
        None => Ok(()),
    }
}

pub fn record_failure(
    conn: &mut DbConnection,
    account: &str,
    address: &str,
) -> Result<(), ApiError> {
    let cutoff = now() - Duration::minutes(WINDOW_MINUTES);
    // Keep the table small: this account's and address's expired rows go first.
    diesel::delete(
        login_failures::table
            .filter(login_failures::failed_at.le(cutoff))
            .filter(
                login_failures::account_key
                    .eq(account)
                    .or(login_failures::client_ip.eq(address)),
            ),
    )
    .execute(conn)?;
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::account_key.eq(account),
            login_failures::client_ip.eq(address),
            login_failures::failed_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A successful sign-in forgets this account's failures from this address.
pub fn clear(conn: &mut DbConnection, account: &str, address: &str) -> Result<(), ApiError> {
    diesel::delete(
        login_failures::table
            .filter(login_failures::account_key.eq(account))
            .filter(login_failures::client_ip.eq(address)),
    )
    .execute(conn)?;
    Ok(())
}
