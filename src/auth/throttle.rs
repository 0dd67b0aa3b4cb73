//! Throttling of sign-ins, kept in the database so that every instance of the service
//! sees the same counts.
//!
//! Three limits over a sliding 15-minute window:
//! - one account from one address: 10 failures (the usual guessing case);
//! - one address, any accounts: 30 failures (spraying one password over many names);
//! - one account, any addresses: 100 failures (a distributed attack).
//!
//! An attempt is *claimed* before its password is checked: the claim counts it as a
//! failure up front, under a lock per account and per address, so simultaneous
//! attempts cannot all slip under a limit; a correct password then takes the claim
//! back. Attempts refused while throttled are not counted, so a lock ends at most 15
//! minutes after the failures that caused it.
//!
//! Lock-out is not a weapon: the two wide limits (per address, per account) do not
//! apply where the account has signed in successfully from that address in the last
//! [`KNOWN_ADDRESS_DAYS`] days. Someone guessing `admin`'s password from ten addresses
//! does not keep the administrator out of the office network it always uses, and 30
//! failures behind a carrier NAT do not lock out the members who signed in from there
//! before. Only the pair limit (one account from one address) applies to them.

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use crate::db::schema::{known_sign_ins, login_failures};
use crate::db::{DbConnection, now};
use crate::error::ApiError;
use crate::unit_of_work::UnitOfWork;

pub const WINDOW_MINUTES: i64 = 15;
pub const ACCOUNT_ADDRESS_LIMIT: i64 = 10;
pub const ADDRESS_LIMIT: i64 = 30;
pub const ACCOUNT_LIMIT: i64 = 100;
pub const KNOWN_ADDRESS_DAYS: i64 = 90;

/// Longest account name kept as written in a key; longer ones are keyed by their hash,
/// so the key always fits its column whatever a caller sends.
const MAX_KEYED_NAME: usize = 64;

/// The key a sign-in is counted under: a user name or a client id.
pub fn user_key(username: &str) -> String {
    bounded_key("user", &username.to_lowercase())
}

pub fn client_key(client_id: &str) -> String {
    bounded_key("client", client_id)
}

fn bounded_key(kind: &str, name: &str) -> String {
    if name.len() <= MAX_KEYED_NAME && !name.chars().any(char::is_control) {
        format!("{kind}:{name}")
    } else {
        format!("{kind}#{}", super::refresh::hash_token(name))
    }
}

/// A sign-in attempt, counted as a failure until [`Claim::succeeded`] takes it back.
#[derive(Debug, Clone)]
pub struct Claim {
    account: String,
    address: String,
}

/// Claims an attempt for `account` from `address`; `Err(429)` with `Retry-After` when
/// a limit that applies is reached.
pub fn claim(uow: &mut UnitOfWork<'_>, account: &str, address: &str) -> Result<Claim, ApiError> {
    // Always account before address, so two claims never wait on each other in a cycle.
    uow.lock_name(&format!("sign-in:{account}"))?;
    uow.lock_name(&format!("sign-in-from:{address}"))?;
    let conn = &mut *uow.conn;
    let cutoff = now() - Duration::minutes(WINDOW_MINUTES);
    let recent = || login_failures::table.filter(login_failures::failed_at.gt(cutoff));
    let pair: (i64, Option<NaiveDateTime>) = recent()
        .filter(login_failures::account_key.eq(account))
        .filter(login_failures::client_ip.eq(address))
        .select((count_star(), min(login_failures::failed_at)))
        .first(conn)?;
    let mut windows = vec![(pair, ACCOUNT_ADDRESS_LIMIT)];
    if !is_known(conn, account, address)? {
        let from_address = recent()
            .filter(login_failures::client_ip.eq(address))
            .select((count_star(), min(login_failures::failed_at)))
            .first(conn)?;
        let for_account = recent()
            .filter(login_failures::account_key.eq(account))
            .select((count_star(), min(login_failures::failed_at)))
            .first(conn)?;
        windows.push((from_address, ADDRESS_LIMIT));
        windows.push((for_account, ACCOUNT_LIMIT));
    }
    let retry_after = windows
        .iter()
        .filter(|((count, _), limit)| count >= limit)
        .filter_map(|((_, oldest), _)| *oldest)
        .map(|oldest| {
            (oldest + Duration::minutes(WINDOW_MINUTES) - now())
                .num_seconds()
                .max(1)
        })
        .max();
    if let Some(seconds) = retry_after {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: seconds.unsigned_abs(),
        });
    }
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
    Ok(Claim {
        account: account.to_owned(),
        address: address.to_owned(),
    })
}

fn is_known(conn: &mut DbConnection, account: &str, address: &str) -> Result<bool, ApiError> {
    let since = now() - Duration::days(KNOWN_ADDRESS_DAYS);
    Ok(known_sign_ins::table
        .filter(known_sign_ins::account_key.eq(account))
        .filter(known_sign_ins::client_ip.eq(address))
        .filter(known_sign_ins::last_success_at.gt(since))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

impl Claim {
    /// The credentials were right: forget this account's failures from this address
    /// (the claim among them) and remember the address as one it signs in from. Under
    /// the account's lock, so simultaneous successes do not both insert the address.
    pub fn succeeded(self, uow: &mut UnitOfWork<'_>) -> Result<(), ApiError> {
        uow.lock_name(&format!("sign-in:{}", self.account))?;
        let conn = &mut *uow.conn;
        diesel::delete(
            login_failures::table
                .filter(login_failures::account_key.eq(&self.account))
                .filter(login_failures::client_ip.eq(&self.address)),
        )
        .execute(conn)?;
        diesel::delete(
            known_sign_ins::table
                .filter(known_sign_ins::account_key.eq(&self.account))
                .filter(known_sign_ins::client_ip.eq(&self.address)),
        )
        .execute(conn)?;
        diesel::insert_into(known_sign_ins::table)
            .values((
                known_sign_ins::account_key.eq(&self.account),
                known_sign_ins::client_ip.eq(&self.address),
                known_sign_ins::last_success_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fit_their_column_whatever_is_sent() {
        assert_eq!(user_key("Admin"), "user:admin");
        let long = user_key(&"x".repeat(10_000));
        assert!(long.len() <= 80, "{long}");
        assert!(client_key("a\u{0}b").starts_with("client#"));
        // Lower-casing can lengthen text (İ → i̇); the key is still bounded.
        assert!(user_key(&"İ".repeat(40)).len() <= 80);
    }
}
