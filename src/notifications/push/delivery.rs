//! Sends the push messages of notifications (RFC 8030): each encrypted for its
//! browser (RFC 8291) and signed for its push service (RFC 8292), from any instance.
//!
//! A message is claimed by the one conditional update that moves its next attempt past
//! now, so two instances never send it both; a crash after the claim leaves it to be
//! sent again when the lease ends (push services and browsers tolerate a repeat, the
//! notification's id lets an app drop it).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Timestamp;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::vapid::Vapid;
use crate::db::schema::{notifications, push_deliveries, push_subscriptions, users};
use crate::db::{Db, DbConnection, now};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::notifications::Notification;
use crate::notifications::model::NotificationRow;
use crate::outbound::sender::{Outcome, Sender};

/// Messages claimed at once by one instance.
const BATCH: i64 = 50;
/// Messages in flight at once.
const PARALLEL: usize = 8;
/// A claimed message not settled by then is sent again (the claimer died).
const LEASE: chrono::Duration = chrono::Duration::minutes(2);
/// Attempts before a message the push service keeps refusing is dropped.
const MAX_ATTEMPTS: i32 = 8;
/// How long the push service keeps a message for a browser that is offline.
const TIME_TO_LIVE: &str = "86400";

/// Queues the push messages of the notifications just written (`(id, user)` pairs),
/// for the users among `push_users`, one per browser they subscribed.
pub fn enqueue(
    conn: &mut DbConnection,
    written: &[(i64, i64)],
    push_users: &HashSet<i64>,
) -> Result<(), ApiError> {
    let ids: Vec<i64> = written
        .iter()
        .filter(|(_, user)| push_users.contains(user))
        .map(|(id, _)| *id)
        .collect();
    let stamp = now();
    for chunk in ids.chunks(500) {
        let wanted = notifications::table
            .inner_join(
                push_subscriptions::table
                    .on(push_subscriptions::user_id.eq(notifications::user_id)),
            )
            .filter(notifications::id.eq_any(chunk))
            .select((
                push_subscriptions::id,
                notifications::id,
                stamp.into_sql::<Timestamp>(),
                stamp.into_sql::<Timestamp>(),
            ));
        diesel::insert_into(push_deliveries::table)
            .values(wanted)
            .into_columns((
                push_deliveries::subscription_id,
                push_deliveries::notification_id,
                push_deliveries::next_attempt_at,
                push_deliveries::created_at,
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// One claimed message with what it takes to send it.
struct Message {
    delivery_id: i64,
    attempts: i32,
    subscription_id: i64,
    endpoint: String,
    p256dh: String,
    auth: String,
    language: String,
    notification: NotificationRow,
}

pub struct Pusher {
    pub sender: Sender,
    pub vapid: Arc<Vapid>,
}

/// Sends what is due; how many messages the push services took.
pub async fn send_due(db: &Db, pusher: Arc<Pusher>) -> Result<usize, ApiError> {
    let due = db.read(due).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let messages = db.write(move |conn| claim(conn, due)).await?;
    let outcomes: Vec<(Message, Settlement)> = futures_util::stream::iter(messages)
        .map(|message| {
            let pusher = pusher.clone();
            async move {
                let settlement = pusher.send(&message).await;
                (message, settlement)
            }
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let sent = outcomes
        .iter()
        .filter(|(_, settlement)| matches!(settlement, Settlement::Sent))
        .count();
    db.write(move |conn| {
        for (message, settlement) in &outcomes {
            settle(conn, message, settlement)?;
        }
        Ok(())
    })
    .await?;
    Ok(sent)
}

/// Due messages, read before anything is written: an idle service takes no write lock.
fn due(conn: &mut DbConnection) -> Result<Vec<(i64, NaiveDateTime)>, ApiError> {
    Ok(push_deliveries::table
        .filter(push_deliveries::next_attempt_at.le(now()))
        .order(push_deliveries::id)
        .limit(BATCH)
        .select((push_deliveries::id, push_deliveries::next_attempt_at))
        .load(conn)?)
}

/// Claims those of `due` no other instance claimed meanwhile, in one statement.
fn claim(
    conn: &mut DbConnection,
    due: Vec<(i64, NaiveDateTime)>,
) -> Result<Vec<Message>, ApiError> {
    let stamp = now();
    let ids: Vec<i64> = due.into_iter().map(|(id, _)| id).collect();
    let claimed: Vec<i64> = diesel::update(
        push_deliveries::table
            .filter(push_deliveries::id.eq_any(&ids))
            .filter(push_deliveries::next_attempt_at.le(stamp)),
    )
    .set((
        push_deliveries::next_attempt_at.eq(stamp + LEASE),
        push_deliveries::attempts.eq(push_deliveries::attempts + 1),
    ))
    .returning(push_deliveries::id)
    .get_results(conn)?;
    let rows = push_deliveries::table
        .inner_join(push_subscriptions::table.inner_join(users::table))
        .inner_join(notifications::table)
        .filter(push_deliveries::id.eq_any(&claimed))
        .select((
            push_deliveries::id,
            push_deliveries::attempts,
            push_subscriptions::id,
            push_subscriptions::endpoint,
            push_subscriptions::p256dh,
            push_subscriptions::auth,
            users::language,
            NotificationRow::as_select(),
        ))
        .load::<(
            i64,
            i32,
            i64,
            String,
            String,
            String,
            String,
            NotificationRow,
        )>(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                delivery_id,
                attempts,
                subscription_id,
                endpoint,
                p256dh,
                auth,
                language,
                notification,
            )| {
                Message {
                    delivery_id,
                    attempts,
                    subscription_id,
                    endpoint,
                    p256dh,
                    auth,
                    language,
                    notification,
                }
            },
        )
        .collect())
}

/// What became of one attempt.
enum Settlement {
    Sent,
    /// The push service no longer knows the browser (404, 410).
    Gone,
    /// Worth another attempt (no answer, 429, 5xx).
    Retry,
    /// Refused for good (another 4xx, a key that does not encrypt).
    Dropped,
}

impl Pusher {
    async fn send(&self, message: &Message) -> Settlement {
        let (headers, body) = match self.request(message) {
            Ok(request) => request,
            Err(reason) => {
                tracing::warn!(delivery = message.delivery_id, %reason, "a push message cannot be made");
                return Settlement::Dropped;
            }
        };
        let outcome = self.sender.send(&message.endpoint, headers, body).await;
        settlement_of(&outcome, message.delivery_id)
    }

    /// The headers and encrypted body of `message`'s push.
    fn request(&self, message: &Message) -> Result<(HeaderMap, Vec<u8>), String> {
        let key = URL_SAFE_NO_PAD
            .decode(&message.p256dh)
            .ok()
            .and_then(|point| p256::PublicKey::from_sec1_bytes(&point).ok())
            .ok_or("the browser's key is not a P-256 point")?;
        let auth = URL_SAFE_NO_PAD
            .decode(&message.auth)
            .ok()
            .filter(|secret| secret.len() == 16)
            .ok_or("the browser's secret is not 16 bytes")?;
        let lang = Lang::from_code(&message.language);
        let shown = Notification::shown(message.notification.clone(), lang);
        let plain = serde_json::to_vec(&shown).map_err(|error| error.to_string())?;
        let body =
            web_push_native::encrypt(plain, &key, &web_push_native::Auth::clone_from_slice(&auth))
                .map_err(|error| error.to_string())?;
        let endpoint = url::Url::parse(&message.endpoint).map_err(|error| error.to_string())?;
        let authorization = self
            .vapid
            .authorization(&endpoint)
            .map_err(|error| error.to_string())?;
        let urgency = if message.notification.urgent {
            "high"
        } else {
            "normal"
        };
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", authorization.as_str()),
            ("content-encoding", "aes128gcm"),
            ("content-type", "application/octet-stream"),
            ("ttl", TIME_TO_LIVE),
            ("urgency", urgency),
        ] {
            let value = HeaderValue::from_str(value).map_err(|error| error.to_string())?;
            headers.insert(HeaderName::from_static(name), value);
        }
        Ok((headers, body))
    }
}

fn settlement_of(outcome: &Outcome, delivery: i64) -> Settlement {
    match outcome.status {
        Some(status) if (200..300).contains(&status) => Settlement::Sent,
        Some(404 | 410) => Settlement::Gone,
        Some(429) | Some(500..=599) | None => {
            tracing::info!(
                delivery,
                status = outcome.status,
                error = outcome.error.as_deref(),
                "a push message will be retried"
            );
            Settlement::Retry
        }
        Some(status) => {
            tracing::warn!(delivery, status, "a push service refused a message");
            Settlement::Dropped
        }
    }
}

fn settle(
    conn: &mut DbConnection,
    message: &Message,
    settlement: &Settlement,
) -> Result<(), ApiError> {
    let delivery = push_deliveries::table.find(message.delivery_id);
    match settlement {
        Settlement::Retry if message.attempts < MAX_ATTEMPTS => {
            diesel::update(delivery)
                .set(push_deliveries::next_attempt_at.eq(now() + backoff(message.attempts)))
                .execute(conn)?;
        }
        Settlement::Gone => {
            // Its other queued messages go with it (ON DELETE CASCADE).
            diesel::delete(push_subscriptions::table.find(message.subscription_id))
                .execute(conn)?;
        }
        Settlement::Sent | Settlement::Retry | Settlement::Dropped => {
            diesel::delete(delivery).execute(conn)?;
        }
    }
    Ok(())
}

/// Half a minute after the first failure, doubling to at most an hour.
fn backoff(attempts: i32) -> chrono::Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(7);
    chrono::Duration::seconds(30 * 2_i64.pow(doublings)).min(chrono::Duration::hours(1))
}

/// How often each instance looks for due messages.
pub const POLL: Duration = Duration::from_secs(1);
