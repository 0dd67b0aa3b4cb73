//! The poller inside `kim-api serve`: every [`POLL`] it looks for due sources, claims
//! each with one conditional statement (so, across instances, one poll per source per
//! interval: the claim moves `next_poll_at` on and leases the source), fetches it
//! under the webhook target rules with its validators (ETag, Last-Modified), takes in
//! the alerts it lists and writes the poll log. A killed instance's lease runs out; the
//! source is polled again at its next time.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::cap::{IncomingAlert, read};
use super::feed::{SourceDocument, classify};
use super::ingest::{KotaSnapshot, archive_expired, clipped, take_in};
use super::model::{ItemOutcome, PollItem, PollOutcome, SourceRow};
use super::xml::{MAX_DOCUMENT_BYTES, parse};
use crate::audit::{Actor, RequestOrigin};
use crate::db::schema::{alert_polls, alert_sources, bulletins, incoming_alerts};
use crate::db::{Db, now};
use crate::error::ApiError;
use crate::outbound::sender::{Sender, Validators};

/// How often the poller looks for due sources.
pub const POLL: Duration = Duration::from_secs(2);
/// How long a claimed source stays with the instance polling it.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// How long the poll log is kept.
const KEEP_POLLS: chrono::Duration = chrono::Duration::days(30);

pub struct AlertPoller {
    pub sender: Sender,
    /// Names this process's leases; once begun, no further source is taken.
    pub shutdown: crate::shutdown::Shutdown,
}

/// One poll's record, as it is built.
#[derive(Default)]
struct PollRecord {
    http_status: Option<i32>,
    outcome: Option<PollOutcome>,
    error: Option<String>,
    items: Vec<PollItem>,
    validators: Option<Validators>,
}

impl PollRecord {
    fn failed(mut self, error: impl Into<String>) -> PollRecord {
        self.outcome = Some(PollOutcome::Failed);
        self.error = Some(error.into());
        self
    }
}

/// Polls every due source and archives expired alert bulletins; returns how many
/// sources were polled.
pub async fn poll_due(db: &Db, poller: Arc<AlertPoller>) -> Result<usize, ApiError> {
    let stamp = now();
    let due: Vec<(i64, i32)> = db
        .read(move |conn| {
            Ok(alert_sources::table
                .filter(alert_sources::active.eq(true))
                .filter(alert_sources::next_poll_at.le(stamp))
                .filter(
                    alert_sources::lease_until
                        .is_null()
                        .or(alert_sources::lease_until.lt(stamp)),
                )
                .select((alert_sources::id, alert_sources::poll_interval_secs))
                .load(conn)?)
        })
        .await?;
    let mut polled = 0;
    for (id, interval) in due {
        if poller.shutdown.has_begun() {
            break;
        }
        let token = poller.shutdown.owner().token()?;
        let claiming = token.clone();
        let claimed = db
            .write(move |conn| claim(conn, id, interval, &claiming))
            .await?;
        if let Some(source) = claimed {
            poll_one(db, &poller, source, token).await?;
            polled += 1;
        }
    }
    sweep_expired(db).await?;
    Ok(polled)
}

/// Gives back the sources leased by the process `owner` names (it is stopping before
/// their polls ended), due at once, so that any instance polls them now.
pub fn release_leases(
    conn: &mut crate::db::DbConnection,
    owner: &crate::shutdown::LeaseOwner,
) -> Result<usize, ApiError> {
    Ok(diesel::update(
        alert_sources::table.filter(alert_sources::lease_token.like(owner.pattern())),
    )
    .set((
        alert_sources::lease_token.eq(None::<String>),
        alert_sources::lease_until.eq(None::<NaiveDateTime>),
        alert_sources::next_poll_at.eq(now()),
    ))
    .execute(conn)?)
}

/// Takes source `id` if it is still due and unleased: one statement, so of instances
/// racing for it exactly one gets the row back.
fn claim(
    conn: &mut crate::db::DbConnection,
    id: i64,
    interval: i32,
    token: &str,
) -> Result<Option<SourceRow>, ApiError> {
    let stamp = now();
    Ok(diesel::update(
        alert_sources::table
            .find(id)
            .filter(alert_sources::active.eq(true))
            .filter(alert_sources::next_poll_at.le(stamp))
            .filter(
                alert_sources::lease_until
                    .is_null()
                    .or(alert_sources::lease_until.lt(stamp)),
            ),
    )
    .set((
        alert_sources::lease_token.eq(token),
        alert_sources::lease_until.eq(stamp + LEASE),
        alert_sources::next_poll_at.eq(stamp + chrono::Duration::seconds(interval.into())),
    ))
    .returning(alert_sources::all_columns)
    .get_result(conn)
    .optional()?)
}

async fn poll_one(
    db: &Db,
    poller: &AlertPoller,
    source: SourceRow,
    token: String,
) -> Result<(), ApiError> {
    let polled_at = now();
    let record = fetch_and_take_in(db, poller, &source).await?;
    db.write(move |conn| finish(conn, &source, &token, polled_at, record))
        .await
}

async fn fetch_and_take_in(
    db: &Db,
    poller: &AlertPoller,
    source: &SourceRow,
) -> Result<PollRecord, ApiError> {
    let record = PollRecord::default();
    let validators = Validators {
        etag: source.etag.clone(),
        last_modified: source.last_modified.clone(),
    };
    let fetched = match poller
        .sender
        .fetch(&source.url, &validators, MAX_DOCUMENT_BYTES)
        .await
    {
        Ok(fetched) => fetched,
        Err(error) => return Ok(record.failed(error)),
    };
    let mut record = PollRecord {
        http_status: Some(i32::from(fetched.status)),
        ..record
    };
    match fetched.status {
        304 => {
            record.outcome = Some(PollOutcome::NotModified);
            return Ok(record);
        }
        200 => {}
        other => return Ok(record.failed(format!("the source answered {other}"))),
    }
    let base = match url::Url::parse(&source.url) {
        Ok(base) => base,
        Err(error) => return Ok(record.failed(error.to_string())),
    };
    let document = match parse(&fetched.body)
        .map_err(|refusal| refusal.to_string())
        .and_then(|root| classify(root, &base))
    {
        Ok(document) => document,
        Err(reason) => return Ok(record.failed(reason)),
    };
    let alerts: Vec<(Option<String>, Result<IncomingAlert, String>)> = match document {
        SourceDocument::Alert(root) => vec![(None, read(&root))],
        SourceDocument::Links(links) => {
            let known = known_identifiers(db, &links).await?;
            let mut alerts = Vec::with_capacity(links.len());
            for link in links {
                if let Some(identifier) = link.identifier.filter(|id| known.contains(id)) {
                    record.items.push(PollItem {
                        url: Some(link.url.into()),
                        ..skipped_item(Some(identifier), "already taken in")
                    });
                    continue;
                }
                let alert = fetch_alert(&poller.sender, link.url.as_str()).await;
                alerts.push((Some(link.url.into()), alert));
            }
            alerts
        }
    };
    let kota = Arc::new(db.read(KotaSnapshot::load).await?);
    for (url, alert) in alerts {
        let item = match alert {
            Ok(alert) => {
                let identifier = alert.identifier.clone();
                take_in_one(db, source, &kota, alert)
                    .await
                    .unwrap_or_else(|error| {
                        // One alert that cannot be stored must not lose the others' log.
                        tracing::warn!(%error, source = source.id, "an alert was not taken in");
                        skipped_item(
                            Some(identifier),
                            "not taken in: the service failed; its log has the details",
                        )
                    })
            }
            Err(reason) => skipped_item(None, &reason),
        };
        record.items.push(PollItem {
            url: url.or(item.url.clone()),
            ..item
        });
    }
    record.outcome = Some(PollOutcome::Fetched);
    record.validators = Some(Validators {
        etag: fetched.etag,
        last_modified: fetched.last_modified,
    });
    Ok(record)
}

/// Which of the identifiers a feed lists were taken in before (from any sender: CAP
/// identifiers such as BMKG's WMO ones are unique), so that those alerts are not fetched.
async fn known_identifiers(
    db: &Db,
    links: &[super::feed::Listed],
) -> Result<std::collections::HashSet<String>, ApiError> {
    let listed: Vec<String> = links
        .iter()
        .filter_map(|link| link.identifier.clone())
        .collect();
    if listed.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    db.read(move |conn| {
        Ok(incoming_alerts::table
            .filter(incoming_alerts::identifier.eq_any(&listed))
            .select(incoming_alerts::identifier)
            .load::<String>(conn)?
            .into_iter()
            .collect())
    })
    .await
}

fn skipped_item(identifier: Option<String>, reason: &str) -> PollItem {
    PollItem {
        identifier,
        url: None,
        outcome: ItemOutcome::Skipped,
        bulletin_id: None,
        reason: Some(reason.to_owned()),
    }
}

async fn fetch_alert(sender: &Sender, url: &str) -> Result<IncomingAlert, String> {
    let fetched = sender
        .fetch(url, &Validators::default(), MAX_DOCUMENT_BYTES)
        .await?;
    if fetched.status != 200 {
        return Err(format!("the alert's URL answered {}", fetched.status));
    }
    let root = parse(&fetched.body).map_err(|refusal| refusal.to_string())?;
    read(&root)
}

async fn take_in_one(
    db: &Db,
    source: &SourceRow,
    kota: &Arc<KotaSnapshot>,
    alert: IncomingAlert,
) -> Result<PollItem, ApiError> {
    let (source, kota) = (source.clone(), kota.clone());
    db.unit_of_work(Actor::System, RequestOrigin::default(), move |uow| {
        take_in(uow, &source, &kota, &alert)
    })
    .await
}

/// Writes the poll log, keeps the validators of a document read, and gives the lease
/// back (if this instance still holds it).
fn finish(
    conn: &mut crate::db::DbConnection,
    source: &SourceRow,
    token: &str,
    polled_at: NaiveDateTime,
    record: PollRecord,
) -> Result<(), ApiError> {
    let count = |outcome: ItemOutcome| {
        i32::try_from(
            record
                .items
                .iter()
                .filter(|item| item.outcome == outcome)
                .count(),
        )
        .unwrap_or(i32::MAX)
    };
    let items = serde_json::to_string(&record.items).map_err(ApiError::internal)?;
    diesel::insert_into(alert_polls::table)
        .values((
            alert_polls::source_id.eq(source.id),
            alert_polls::polled_at.eq(polled_at),
            alert_polls::http_status.eq(record.http_status),
            alert_polls::outcome.eq(record.outcome.unwrap_or(PollOutcome::Failed)),
            alert_polls::error.eq(record.error.as_deref().map(|error| clipped(error, 500))),
            alert_polls::alerts_seen.eq(i32::try_from(record.items.len()).unwrap_or(i32::MAX)),
            alert_polls::created.eq(count(ItemOutcome::Created)),
            alert_polls::updated.eq(count(ItemOutcome::Updated)),
            alert_polls::archived.eq(count(ItemOutcome::Archived)),
            alert_polls::skipped.eq(count(ItemOutcome::Skipped)),
            alert_polls::items.eq(items),
        ))
        .execute(conn)?;
    let validators = record.validators.map(|validators| {
        (
            alert_sources::etag.eq(validators.etag.map(|etag| clipped(&etag, 500))),
            alert_sources::last_modified.eq(validators.last_modified.map(|at| clipped(&at, 100))),
        )
    });
    diesel::update(
        alert_sources::table
            .find(source.id)
            .filter(alert_sources::lease_token.eq(token)),
    )
    .set((
        alert_sources::lease_token.eq(None::<String>),
        alert_sources::lease_until.eq(None::<NaiveDateTime>),
        validators,
    ))
    .execute(conn)?;
    diesel::delete(
        alert_polls::table
            .filter(alert_polls::source_id.eq(source.id))
            .filter(alert_polls::polled_at.lt(polled_at - KEEP_POLLS)),
    )
    .execute(conn)?;
    Ok(())
}

/// Archives expired alert bulletins, reading first so that an idle service writes
/// nothing.
async fn sweep_expired(db: &Db) -> Result<(), ApiError> {
    let stamp = now();
    let any: bool = db
        .read(move |conn| {
            Ok(diesel::select(diesel::dsl::exists(
                bulletins::table
                    .filter(bulletins::alert_source_id.is_not_null())
                    .filter(bulletins::status.eq(crate::bulletins::model::StoredStatus::Published))
                    .filter(bulletins::expires_at.le(stamp)),
            ))
            .get_result(conn)?)
        })
        .await?;
    if any {
        db.unit_of_work(Actor::System, RequestOrigin::default(), archive_expired)
            .await?;
    }
    Ok(())
}
