//! The background dispatcher of `kim-api serve`: turns outbox events into deliveries
//! and sends them, at least once and in order per aggregate.
//!
//! - **Fan-out.** Unpublished outbox events, in id order, become one delivery per
//!   subscription (not disabled, made before the event) that takes their type; the
//!   events are then marked published, in the same transaction. One instance fans out
//!   at a time (a PostgreSQL advisory lock; SQLite has one writer), so a delivery never
//!   appears after a later one of its aggregate.
//! - **Claims.** An instance leases due deliveries of active subscriptions for
//!   [`DeliverySettings::lease`] with `FOR UPDATE SKIP LOCKED`, so instances share the
//!   work and none sends what another holds. A delivery waits while an earlier one of
//!   its subscription and aggregate is pending, so receivers see each aggregate's events
//!   in order. A killed instance's leases run out and its deliveries are sent again; a
//!   stopped one waits for what it is sending (within the shutdown grace) and gives the
//!   rest back at once ([`release_leases`]).
//! - **Outcomes.** Every attempt is recorded. A failure is retried after an exponential
//!   back-off with jitter until the delivery's retry period ends; then it fails and the
//!   subscription is marked `failing` (nothing more is sent to it until gov_admin sets it
//!   `active` again).

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};
use reqwest::header::{HeaderMap, HeaderValue};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::Semaphore;

use super::DeliverySettings;
use super::deliveries::{DeliveryStatus, webhook_id};
use super::model::{SubscriptionStatus, WebhookEvent, events_of};
use super::signing::{SigningKey, signature_header};
use crate::audit::{Actor, RequestOrigin};
use crate::crypto::PersonalDataCipher;
use crate::db::schema::{
    outbox_events, webhook_attempts, webhook_deliveries, webhook_subscriptions,
};
use crate::db::{Db, DbConnection, now};
use crate::domain::text::limits;
use crate::error::ApiError;
use crate::outbound::sender::{Outcome, Sender};
use crate::shutdown::{LeaseOwner, Shutdown};
use crate::unit_of_work::UnitOfWork;

/// Outbox events fanned out per transaction.
const FAN_OUT_BATCH: usize = 500;
/// Deliveries one instance sends at once.
const MAX_IN_FLIGHT: usize = 16;
/// How often other instances' events and due retries are looked for; this instance's
/// own events wake the dispatcher at once.
const POLL: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Starts the dispatcher on the current runtime.
pub fn start(
    db: Db,
    cipher: PersonalDataCipher,
    settings: DeliverySettings,
    shutdown: Shutdown,
) -> Result<(), reqwest::Error> {
    let dispatcher = Arc::new(Dispatcher {
        sender: Sender::new(settings.timeout, settings.allow_private)?,
        db,
        cipher: Arc::new(cipher),
        settings,
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        shutdown,
    });
    tokio::spawn(dispatcher.run());
    Ok(())
}

/// Gives back the deliveries leased by the process `owner` names (it is stopping), so
/// that any instance sends them now. One that is still being sent may reach its
/// receiver twice: deliveries are at least once, and carry their `webhook-id`.
pub fn release_leases(conn: &mut DbConnection, owner: &LeaseOwner) -> Result<usize, ApiError> {
    Ok(diesel::update(
        webhook_deliveries::table.filter(webhook_deliveries::lease_token.like(owner.pattern())),
    )
    .set((
        webhook_deliveries::lease_token.eq(None::<String>),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?)
}

struct Dispatcher {
    db: Db,
    cipher: Arc<PersonalDataCipher>,
    sender: Sender,
    settings: DeliverySettings,
    in_flight: Arc<Semaphore>,
    shutdown: Shutdown,
}

/// A leased delivery with what it takes to send it.
struct Job {
    delivery_id: i64,
    event_id: i64,
    attempt_count: i32,
    retry_until: NaiveDateTime,
    subscription_id: i64,
    url: String,
    keys: Vec<SigningKey>,
    event_type: String,
    occurred_at: NaiveDateTime,
    payload: String,
}

/// The delivery body (SPEC §8).
#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: String,
    data: &'a RawValue,
}

impl Dispatcher {
    async fn run(self: Arc<Self>) {
        while !self.shutdown.has_begun() {
            if let Err(error) = self.shutdown.track(self.round()).await {
                tracing::warn!(%error, "a webhook dispatch round failed");
            }
            tokio::select! {
                () = self.db.outbox_woken() => {}
                () = tokio::time::sleep(POLL) => {}
                () = self.shutdown.begun() => {}
            }
        }
    }

    async fn round(self: &Arc<Self>) -> Result<(), ApiError> {
        // Looked for with a read first: an idle service takes no write lock.
        let (unpublished, due) = self.db.read(work_waiting).await?;
        if unpublished {
            let window = self.settings.retry_period()?;
            while self.db.write(move |conn| fan_out(conn, window)).await? == FAN_OUT_BATCH {}
        }
        let free = self.in_flight.available_permits();
        if free == 0 || !(unpublished || due) {
            return Ok(());
        }
        let token = self.shutdown.owner().token()?;
        let lease =
            chrono::Duration::from_std(self.settings.lease()).map_err(ApiError::internal)?;
        let claiming = token.clone();
        let claimed = self
            .db
            .write(move |conn| claim(conn, &claiming, lease, free))
            .await?;
        if claimed.is_empty() {
            return Ok(());
        }
        let cipher = Arc::clone(&self.cipher);
        let jobs = self
            .db
            .read(move |conn| load_jobs(conn, &claimed, &cipher))
            .await?;
        for job in jobs {
            let permit = Arc::clone(&self.in_flight)
                .acquire_owned()
                .await
                .map_err(ApiError::internal)?;
            let this = Arc::clone(self);
            let token = token.clone();
            self.shutdown.spawn(async move {
                this.deliver(job, token).await;
                drop(permit);
            });
        }
        Ok(())
    }

    async fn deliver(&self, job: Job, token: String) {
        let outcome = self.send(&job).await;
        let delivery_id = job.delivery_id;
        let first_retry = self.settings.first_retry;
        // Acting as the service itself: a subscription marked failing is audited so.
        match self
            .db
            .unit_of_work(Actor::System, RequestOrigin::default(), move |uow| {
                record(uow, &job, &outcome, &token, first_retry)
            })
            .await
        {
            Ok(Some(retry_in)) => {
                let db = self.db.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(retry_in).await;
                    db.wake_outbox();
                });
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, delivery_id, "a webhook attempt could not be recorded");
            }
        }
        // The next event of the aggregate may go now.
        self.db.wake_outbox();
    }

    async fn send(&self, job: &Job) -> Outcome {
        let id = webhook_id(job.event_id);
        if job.keys.is_empty() {
            return Outcome {
                status: None,
                latency: Duration::ZERO,
                error: Some(
                    "the subscription's signing secret cannot be read (was NIK_ENCRYPTION_KEY changed?); rotate it"
                        .to_owned(),
                ),
            };
        }
        let body = match signed_body(job) {
            Ok(body) => body,
            Err(error) => {
                return Outcome {
                    status: None,
                    latency: Duration::ZERO,
                    error: Some(error),
                };
            }
        };
        // The system's time, not the service clock's: the receiver checks it against
        // its own clock to refuse replays (Standard Webhooks' tolerance).
        let timestamp = Utc::now().timestamp();
        let signature = signature_header(&job.keys, &id, timestamp, &body);
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("webhook-id", id),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        self.sender.send(&job.url, headers, body).await
    }
}

fn signed_body(job: &Job) -> Result<Vec<u8>, String> {
    let data: &RawValue = serde_json::from_str(&job.payload)
        .map_err(|error| format!("the event's stored payload is not JSON: {error}"))?;
    let body = Body {
        event_type: &job.event_type,
        timestamp: job
            .occurred_at
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        data,
    };
    serde_json::to_vec(&body).map_err(|error| error.to_string())
}

/// The wait after the `failures`-th failed attempt: `first · 2^(failures-1)`, at most
/// [`MAX_BACKOFF`], of which a random half is taken off so that receivers recovering
/// from an outage are not hit by every retry at once.
pub fn backoff(first: Duration, failures: i32) -> Duration {
    let doublings = u32::try_from(failures.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let full = first
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(MAX_BACKOFF);
    let half = full / 2;
    let fraction = getrandom::u64().map_or(0.5, |bits| (bits >> 11) as f64 / (1u64 << 53) as f64);
    half + half.mul_f64(fraction)
}

/// The outbox's unsent work, for `/metrics` (registered as its [`BacklogProbe`]).
///
/// [`BacklogProbe`]: crate::metrics::BacklogProbe
pub fn backlog(conn: &mut DbConnection) -> Result<crate::metrics::Backlog, ApiError> {
    Ok(crate::metrics::Backlog {
        unpublished_events: outbox_events::table
            .filter(outbox_events::published_at.is_null())
            .count()
            .get_result(conn)?,
        pending_deliveries: webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
            .count()
            .get_result(conn)?,
    })
}

/// Whether there are outbox events to fan out, and deliveries that may be due.
fn work_waiting(conn: &mut DbConnection) -> Result<(bool, bool), ApiError> {
    let unpublished = outbox_events::table
        .filter(outbox_events::published_at.is_null())
        .select(outbox_events::id)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    let stamp = now();
    let active = webhook_subscriptions::table
        .filter(webhook_subscriptions::status.eq(SubscriptionStatus::Active))
        .select(webhook_subscriptions::id);
    let due = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
        .filter(webhook_deliveries::next_attempt_at.le(stamp))
        .filter(
            webhook_deliveries::lease_until
                .is_null()
                .or(webhook_deliveries::lease_until.lt(stamp)),
        )
        .filter(webhook_deliveries::subscription_id.eq_any(active))
        .select(webhook_deliveries::id)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    Ok((unpublished, due))
}

fn fan_out(conn: &mut DbConnection, window: chrono::Duration) -> Result<usize, ApiError> {
    if !take_fan_out_lock(conn)? {
        return Ok(0);
    }
    let events: Vec<(i64, String, String, String, NaiveDateTime)> = outbox_events::table
        .filter(outbox_events::published_at.is_null())
        .order(outbox_events::id)
        .limit(FAN_OUT_BATCH as i64)
        .select((
            outbox_events::id,
            outbox_events::event_type,
            outbox_events::aggregate_type,
            outbox_events::aggregate_id,
            outbox_events::created_at,
        ))
        .load(conn)?;
    if events.is_empty() {
        return Ok(0);
    }
    let subscriptions = webhook_subscriptions::table
        .filter(webhook_subscriptions::status.ne(SubscriptionStatus::Disabled))
        .select((
            webhook_subscriptions::id,
            webhook_subscriptions::events,
            webhook_subscriptions::created_at,
        ))
        .load::<(i64, String, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(id, events, created_at)| Ok((id, events_of(&events, id)?, created_at)))
        .collect::<Result<Vec<(i64, Vec<WebhookEvent>, NaiveDateTime)>, ApiError>>()?;
    let stamp = now();
    let deliveries: Vec<_> = events
        .iter()
        .flat_map(
            |(event_id, event_type, aggregate_type, aggregate_id, occurred_at)| {
                subscriptions
                    .iter()
                    .filter(move |(_, taken, created_at)| {
                        created_at <= occurred_at
                            && taken.iter().any(|event| event.covers(event_type))
                    })
                    .map(move |(subscription_id, _, _)| {
                        (
                            webhook_deliveries::subscription_id.eq(*subscription_id),
                            webhook_deliveries::event_id.eq(*event_id),
                            webhook_deliveries::event_type.eq(event_type.as_str()),
                            webhook_deliveries::aggregate_type.eq(aggregate_type.as_str()),
                            webhook_deliveries::aggregate_id.eq(aggregate_id.as_str()),
                            webhook_deliveries::status.eq(DeliveryStatus::Pending),
                            webhook_deliveries::next_attempt_at.eq(stamp),
                            webhook_deliveries::retry_until.eq(stamp + window),
                            webhook_deliveries::created_at.eq(stamp),
                        )
                    })
            },
        )
        .collect();
    // A statement per thousand deliveries, not one per delivery: 9 000 bound values
    // stay under both databases' limits. MultiConnection has no batch inserts, so it
    // goes per backend, as seed-demo does.
    for chunk in deliveries.chunks(1000) {
        let insert = diesel::insert_into(webhook_deliveries::table).values(chunk);
        match conn {
            DbConnection::Postgres(pg) => insert.execute(pg)?,
            DbConnection::Sqlite(sqlite) => insert.execute(sqlite)?,
        };
    }
    let ids: Vec<i64> = events.iter().map(|event| event.0).collect();
    crate::notifications::rules::notify(conn, &ids)?;
    diesel::update(outbox_events::table.filter(outbox_events::id.eq_any(&ids)))
        .set(outbox_events::published_at.eq(stamp))
        .execute(conn)?;
    Ok(events.len())
}

/// Whether this transaction may fan out: on PostgreSQL one instance at a time, and an
/// instance that finds another at it skips this round.
fn take_fan_out_lock(conn: &mut DbConnection) -> Result<bool, ApiError> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = Bool)]
        taken: bool,
    }
    Ok(match conn {
        DbConnection::Postgres(pg) => {
            diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS taken")
                .bind::<BigInt, _>(crate::unit_of_work::advisory_key("webhook-fan-out"))
                .get_result::<Taken>(pg)?
                .taken
        }
        DbConnection::Sqlite(_) => true,
    })
}

/// Leases up to `limit` due deliveries to `token` and answers their ids.
fn claim(
    conn: &mut DbConnection,
    token: &str,
    lease: chrono::Duration,
    limit: usize,
) -> Result<Vec<i64>, ApiError> {
    #[derive(QueryableByName)]
    struct Claimed {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    // A delivery waits while an earlier event of its subscription and aggregate is
    // still pending, leased or not.
    const DUE: &str = "SELECT d.id FROM webhook_deliveries d
        WHERE d.status = $5 AND d.next_attempt_at <= $3
          AND (d.lease_until IS NULL OR d.lease_until < $3)
          AND d.subscription_id IN
            (SELECT s.id FROM webhook_subscriptions s WHERE s.status = $6)
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
            WHERE e.subscription_id = d.subscription_id
              AND e.aggregate_type = d.aggregate_type AND e.aggregate_id = d.aggregate_id
              AND e.status = $5 AND e.event_id < d.event_id)
        ORDER BY d.next_attempt_at, d.id
        LIMIT $4";
    let stamp = now();
    let statement = |sql: String| {
        diesel::sql_query(sql)
            .bind::<Text, _>(token.to_owned())
            .bind::<Timestamp, _>(stamp + lease)
            .bind::<Timestamp, _>(stamp)
            .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind::<Text, _>(DeliveryStatus::Pending)
            .bind::<Text, _>(SubscriptionStatus::Active)
    };
    let update = "UPDATE webhook_deliveries SET lease_token = $1, lease_until = $2 WHERE id IN";
    let claimed: Vec<Claimed> = match conn {
        DbConnection::Postgres(pg) => statement(format!(
            "{update} ({DUE} FOR UPDATE SKIP LOCKED) RETURNING id"
        ))
        .load(pg)?,
        DbConnection::Sqlite(sqlite) => {
            statement(format!("{update} ({DUE}) RETURNING id").replace('$', "?")).load(sqlite)?
        }
    };
    Ok(claimed.into_iter().map(|row| row.id).collect())
}

type JobColumns = (
    (i64, i64, i32, NaiveDateTime, i64),
    (String, String, Option<String>, Option<NaiveDateTime>),
    (String, String, NaiveDateTime),
);

fn load_jobs(
    conn: &mut DbConnection,
    ids: &[i64],
    cipher: &PersonalDataCipher,
) -> Result<Vec<Job>, ApiError> {
    let rows: Vec<JobColumns> = webhook_deliveries::table
        .inner_join(webhook_subscriptions::table)
        .inner_join(outbox_events::table)
        .filter(webhook_deliveries::id.eq_any(ids))
        .order(webhook_deliveries::id)
        .select((
            (
                webhook_deliveries::id,
                webhook_deliveries::event_id,
                webhook_deliveries::attempt_count,
                webhook_deliveries::retry_until,
                webhook_deliveries::subscription_id,
            ),
            (
                webhook_subscriptions::url,
                webhook_subscriptions::secret,
                webhook_subscriptions::previous_secret,
                webhook_subscriptions::previous_secret_expires_at,
            ),
            (
                outbox_events::event_type,
                outbox_events::payload,
                outbox_events::created_at,
            ),
        ))
        .load(conn)?;
    let stamp = now();
    rows.into_iter()
        .map(|(delivery, subscription, event)| {
            let (delivery_id, event_id, attempt_count, retry_until, subscription_id) = delivery;
            let (url, secret, previous, previous_until) = subscription;
            let (event_type, payload, occurred_at) = event;
            let previous = previous.filter(|_| previous_until.is_some_and(|until| until > stamp));
            // A secret that no longer decrypts (the key was changed) fails this
            // delivery's attempts, not the whole batch.
            let keys = std::iter::once(secret)
                .chain(previous)
                .map(|sealed| {
                    let secret = cipher.decrypt(&sealed).ok()?;
                    SigningKey::parse(&secret).ok()
                })
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default();
            Ok(Job {
                delivery_id,
                event_id,
                attempt_count,
                retry_until,
                subscription_id,
                url,
                keys,
                event_type,
                occurred_at,
                payload,
            })
        })
        .collect()
}

/// Records an attempt and moves its delivery on, if this instance still holds it.
/// Answers the wait before the next attempt, when there is one.
fn record(
    uow: &mut UnitOfWork<'_>,
    job: &Job,
    outcome: &Outcome,
    token: &str,
    first_retry: Duration,
) -> Result<Option<Duration>, ApiError> {
    let stamp = now();
    let attempts = job.attempt_count.saturating_add(1);
    let (status, retry_in) = if outcome.succeeded() {
        (DeliveryStatus::Delivered, None)
    } else {
        let wait = backoff(first_retry, attempts);
        let next = stamp + chrono::Duration::from_std(wait).map_err(ApiError::internal)?;
        if next > job.retry_until {
            (DeliveryStatus::Failed, None)
        } else {
            (DeliveryStatus::Pending, Some((wait, next)))
        }
    };
    let held = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(job.delivery_id))
            .filter(webhook_deliveries::lease_token.eq(token)),
    )
    .set((
        webhook_deliveries::status.eq(status),
        webhook_deliveries::attempt_count.eq(attempts),
        webhook_deliveries::next_attempt_at.eq(retry_in.map_or(stamp, |(_, next)| next)),
        webhook_deliveries::finished_at.eq((status != DeliveryStatus::Pending).then_some(stamp)),
        webhook_deliveries::lease_token.eq(None::<String>),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(uow.conn)?
        == 1;
    if !held {
        // Another instance took it over after the lease ran out, or the subscription
        // was deleted: the attempt still happened, so it is recorded if there is a
        // delivery to record it on.
        let exists: i64 = webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(job.delivery_id))
            .count()
            .get_result(uow.conn)?;
        if exists == 0 {
            return Ok(None);
        }
    }
    let error = outcome.error.as_deref().map(|error| {
        error
            .chars()
            .take(limits::WEBHOOK_ATTEMPT_ERROR)
            .collect::<String>()
    });
    diesel::insert_into(webhook_attempts::table)
        .values((
            webhook_attempts::delivery_id.eq(job.delivery_id),
            webhook_attempts::attempted_at.eq(stamp),
            webhook_attempts::response_status.eq(outcome.status.map(i32::from)),
            webhook_attempts::latency_ms
                .eq(i64::try_from(outcome.latency.as_millis()).unwrap_or(i64::MAX)),
            webhook_attempts::error.eq(error),
        ))
        .execute(uow.conn)?;
    if held && status == DeliveryStatus::Failed {
        super::lifecycle::mark_failing(uow, job.subscription_id)?;
    }
    Ok(if held {
        retry_in.map(|(wait, _)| wait)
    } else {
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_an_hour() {
        let first = Duration::from_secs(5);
        for failures in 1..=40 {
            let full = first
                .saturating_mul(
                    2u32.saturating_pow(u32::try_from(failures - 1).unwrap_or(0).min(30)),
                )
                .min(MAX_BACKOFF);
            let wait = backoff(first, failures);
            assert!(
                wait >= full / 2 && wait <= full,
                "{failures}: {wait:?} of {full:?}"
            );
        }
        assert!(backoff(first, 1) <= first);
        assert!(backoff(first, 40) >= MAX_BACKOFF / 2);
    }
}
