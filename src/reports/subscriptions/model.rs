//! Stored subscriptions of citizens to a report, and the mail queued for them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::crypto::PersonalDataCipher;
use crate::db::schema::{mail_outbox, report_subscriptions};
use crate::db::{DbConnection, now};
use crate::error::ApiError;
use crate::text_enum;

/// Subscription requests one report takes in an hour, whoever asks.
pub const PER_REPORT_PER_HOUR: i64 = 10;
/// Subscriptions one address may ask for in a day, across reports: each sends it a
/// confirmation, so this bounds the mail anyone can make the service send a stranger.
pub const PER_ADDRESS_PER_DAY: i64 = 5;

text_enum! {
    /// What a queued mail is.
    pub enum MailKind {
        Confirmation = "confirmation",
        Update = "update",
        /// An update that also asks whether the resolution satisfied (with its link).
        Resolved = "resolved",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = report_subscriptions)]
pub struct SubscriptionRow {
    pub id: i64,
    pub report_id: i64,
    pub email_ciphertext: String,
    pub email_digest: String,
    pub confirmed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// The keyed digest an address is found and counted by (case-insensitive).
pub fn digest(cipher: &PersonalDataCipher, email: &str) -> String {
    cipher.keyed_hash("report-subscription-email", email.to_lowercase().as_bytes())
}

/// What asking to follow a report came to.
pub enum Asked {
    /// A new subscription, waiting for its confirmation.
    Pending(i64),
    /// The address already follows (or asked to follow) the report: nothing is sent,
    /// and the caller is answered as for a new one.
    Known,
}

/// Records that `email` asks to follow `report`, within the limits; the caller holds
/// the report's lock and the address's (so the counts stay true on PostgreSQL).
pub fn ask(
    conn: &mut DbConnection,
    cipher: &PersonalDataCipher,
    report: i64,
    email: &str,
) -> Result<Asked, ApiError> {
    let digest = digest(cipher, email);
    let at = now();
    let known: bool = diesel::select(diesel::dsl::exists(
        report_subscriptions::table
            .filter(report_subscriptions::report_id.eq(report))
            .filter(report_subscriptions::email_digest.eq(&digest)),
    ))
    .get_result(conn)?;
    if known {
        return Ok(Asked::Known);
    }
    let for_report: i64 = report_subscriptions::table
        .filter(report_subscriptions::report_id.eq(report))
        .filter(report_subscriptions::created_at.gt(at - chrono::Duration::hours(1)))
        .count()
        .get_result(conn)?;
    let for_address: i64 = report_subscriptions::table
        .filter(report_subscriptions::email_digest.eq(&digest))
        .filter(report_subscriptions::created_at.gt(at - chrono::Duration::days(1)))
        .count()
        .get_result(conn)?;
    if for_report >= PER_REPORT_PER_HOUR {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: 3600,
        });
    }
    if for_address >= PER_ADDRESS_PER_DAY {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: 86_400,
        });
    }
    let email_ciphertext = cipher.encrypt(email).map_err(ApiError::internal)?;
    let id = diesel::insert_into(report_subscriptions::table)
        .values((
            report_subscriptions::report_id.eq(report),
            report_subscriptions::email_ciphertext.eq(email_ciphertext),
            report_subscriptions::email_digest.eq(&digest),
            report_subscriptions::created_at.eq(at),
        ))
        .returning(report_subscriptions::id)
        .get_result(conn)?;
    Ok(Asked::Pending(id))
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<SubscriptionRow>, ApiError> {
    Ok(report_subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Confirms subscription `id` (once: a second confirmation keeps the first time);
/// whether it exists.
pub fn confirm(conn: &mut DbConnection, id: i64) -> Result<bool, ApiError> {
    diesel::update(
        report_subscriptions::table
            .find(id)
            .filter(report_subscriptions::confirmed_at.is_null()),
    )
    .set(report_subscriptions::confirmed_at.eq(now()))
    .execute(conn)?;
    Ok(find(conn, id)?.is_some())
}

/// Removes subscription `id` and the mail still queued for it.
pub fn remove(conn: &mut DbConnection, id: i64) -> Result<(), ApiError> {
    diesel::delete(report_subscriptions::table.find(id)).execute(conn)?;
    Ok(())
}

/// Queues a mail to subscription `id`.
pub fn queue(
    conn: &mut DbConnection,
    subscription: i64,
    kind: MailKind,
    subject: &str,
    body: &str,
) -> Result<(), ApiError> {
    let at = now();
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::subscription_id.eq(subscription),
            mail_outbox::kind.eq(kind),
            mail_outbox::subject.eq(subject),
            mail_outbox::body.eq(body),
            mail_outbox::next_attempt_at.eq(at),
            mail_outbox::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Queues the same mail to every confirmed subscription of `report`.
pub fn queue_to_followers(
    conn: &mut DbConnection,
    report: i64,
    kind: MailKind,
    subject: &str,
    body: &str,
) -> Result<usize, ApiError> {
    let followers: Vec<i64> = report_subscriptions::table
        .filter(report_subscriptions::report_id.eq(report))
        .filter(report_subscriptions::confirmed_at.is_not_null())
        .select(report_subscriptions::id)
        .load(conn)?;
    for &follower in &followers {
        queue(conn, follower, kind, subject, body)?;
    }
    Ok(followers.len())
}
