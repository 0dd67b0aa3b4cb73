//! Alert sources and their poll log as stored and as answered.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::bulletins::cap::Severity;
use crate::concurrency::IfMatch;
use crate::db::schema::{alert_polls, alert_sources};
use crate::db::{DbConnection, now, utc};
use crate::error::ApiError;
use crate::text_enum;
use crate::unit_of_work::{Target, UnitOfWork};

/// Shortest and longest time between two polls of a source; also the column's check.
pub const POLL_INTERVAL_SECS: (i32, i32) = (60, 86_400);
/// A new source is polled every five minutes unless told otherwise (BMKG's nowcasts
/// are issued for the next hours).
pub const DEFAULT_POLL_INTERVAL_SECS: i32 = 300;

text_enum! {
    /// What an incoming alert becomes: a `draft` for an officer to review and publish,
    /// or a bulletin published at once.
    pub enum AlertMode {
        Draft = "draft",
        Publish = "publish",
    }
}

text_enum! {
    /// How a poll went: the source answered a document (`fetched`), answered that
    /// nothing changed (`not_modified`), or could not be read (`failed`, see `error`).
    pub enum PollOutcome {
        Fetched = "fetched",
        NotModified = "not_modified",
        Failed = "failed",
    }
}

/// Severities from the least: an alert passes a source's minimum when it ranks at
/// least as high (`unknown` lets everything through).
pub fn severity_rank(severity: Severity) -> u8 {
    match severity {
        Severity::Unknown => 0,
        Severity::Minor => 1,
        Severity::Moderate => 2,
        Severity::Severe => 3,
        Severity::Extreme => 4,
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alert_sources)]
pub struct SourceRow {
    pub id: i64,
    pub url: String,
    pub poll_interval_secs: i32,
    pub min_severity: Severity,
    pub mode: AlertMode,
    pub active: bool,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub next_poll_at: NaiveDateTime,
    pub lease_token: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// An alert source as answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertSource {
    pub id: i64,
    /// An RSS or Atom feed listing CAP documents, or one CAP document.
    #[schema(example = "https://www.bmkg.go.id/alerts/nowcast/id/rss.xml")]
    pub url: String,
    #[schema(minimum = 60, maximum = 86400, example = 300)]
    pub poll_interval_secs: i32,
    /// Alerts less severe are skipped.
    pub min_severity: Severity,
    pub mode: AlertMode,
    /// Inactive sources are not polled.
    pub active: bool,
    /// When the source is polled next (if active).
    pub next_poll_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<SourceRow> for AlertSource {
    fn from(row: SourceRow) -> Self {
        AlertSource {
            id: row.id,
            url: row.url,
            poll_interval_secs: row.poll_interval_secs,
            min_severity: row.min_severity,
            mode: row.mode,
            active: row.active,
            next_poll_at: utc(row.next_poll_at),
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        }
    }
}

/// What became of one alert in a poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PollItem {
    /// The alert's CAP identifier, when it was read that far.
    pub identifier: Option<String>,
    /// Where it was fetched from (for an alert listed by a feed).
    pub url: Option<String>,
    pub outcome: ItemOutcome,
    /// The bulletin it made or changed.
    pub bulletin_id: Option<i64>,
    /// Why it was skipped.
    pub reason: Option<String>,
}

text_enum! {
    pub enum ItemOutcome {
        Created = "created",
        Updated = "updated",
        Archived = "archived",
        Skipped = "skipped",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alert_polls)]
pub struct PollRow {
    pub id: i64,
    pub source_id: i64,
    pub polled_at: NaiveDateTime,
    pub http_status: Option<i32>,
    pub outcome: PollOutcome,
    pub error: Option<String>,
    pub alerts_seen: i32,
    pub created: i32,
    pub updated: i32,
    pub archived: i32,
    pub skipped: i32,
    pub items: String,
}

/// One poll of a source, as answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertPoll {
    pub id: i64,
    pub polled_at: DateTime<Utc>,
    /// The source's HTTP status (of the feed, for a feed); `null` when it was not
    /// reached.
    pub http_status: Option<i32>,
    pub outcome: PollOutcome,
    /// Why the source could not be read.
    pub error: Option<String>,
    pub alerts_seen: i32,
    pub created: i32,
    pub updated: i32,
    pub archived: i32,
    pub skipped: i32,
    /// Each alert seen and what became of it.
    pub items: Vec<PollItem>,
}

impl From<PollRow> for AlertPoll {
    fn from(row: PollRow) -> Self {
        AlertPoll {
            id: row.id,
            polled_at: utc(row.polled_at),
            http_status: row.http_status,
            outcome: row.outcome,
            error: row.error,
            alerts_seen: row.alerts_seen,
            created: row.created,
            updated: row.updated,
            archived: row.archived,
            skipped: row.skipped,
            // Written by the service as a list; an unreadable one shows as empty.
            items: serde_json::from_str(&row.items).unwrap_or_default(),
        }
    }
}

/// A checked new source.
#[derive(Debug, Clone)]
pub struct NewSource {
    pub url: String,
    pub poll_interval_secs: i32,
    pub min_severity: Severity,
    pub mode: AlertMode,
    pub active: bool,
    pub created_by: Option<i64>,
}

/// A checked edit; `None` leaves a field.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = alert_sources)]
pub struct SourceEdit {
    pub url: Option<String>,
    pub poll_interval_secs: Option<i32>,
    pub min_severity: Option<Severity>,
    pub mode: Option<AlertMode>,
    pub active: Option<bool>,
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<SourceRow>, ApiError> {
    Ok(alert_sources::table
        .find(id)
        .select(SourceRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts `new`, due at once: an admin who adds a source wants to see it work.
pub fn insert(conn: &mut DbConnection, new: &NewSource) -> Result<SourceRow, ApiError> {
    let stamp = now();
    Ok(diesel::insert_into(alert_sources::table)
        .values((
            alert_sources::url.eq(&new.url),
            alert_sources::poll_interval_secs.eq(new.poll_interval_secs),
            alert_sources::min_severity.eq(new.min_severity),
            alert_sources::mode.eq(new.mode),
            alert_sources::active.eq(new.active),
            alert_sources::created_by.eq(new.created_by),
            alert_sources::created_at.eq(stamp),
            alert_sources::updated_at.eq(stamp),
            alert_sources::next_poll_at.eq(stamp),
        ))
        .returning(alert_sources::all_columns)
        .get_result(conn)?)
}

/// Applies `edit` when `if_match` holds, as one conditional statement (nothing to
/// change: the source as it is). A new URL forgets the old one's validators and is
/// polled at once.
pub fn apply(
    uow: &mut UnitOfWork<'_>,
    id: i64,
    if_match: &IfMatch,
    edit: &SourceEdit,
) -> Result<SourceRow, ApiError> {
    let current = find(uow.conn, id)?.ok_or(ApiError::NotFound)?;
    if_match.check(current.version)?;
    let changed: Vec<&str> = [
        (
            "url",
            edit.url.as_ref().is_some_and(|url| *url != current.url),
        ),
        (
            "poll_interval_secs",
            edit.poll_interval_secs
                .is_some_and(|secs| secs != current.poll_interval_secs),
        ),
        (
            "min_severity",
            edit.min_severity
                .is_some_and(|severity| severity != current.min_severity),
        ),
        ("mode", edit.mode.is_some_and(|mode| mode != current.mode)),
        (
            "active",
            edit.active.is_some_and(|active| active != current.active),
        ),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect();
    if changed.is_empty() {
        return Ok(current);
    }
    let stamp = now();
    let new_target = changed.contains(&"url").then_some((
        alert_sources::etag.eq(None::<String>),
        alert_sources::last_modified.eq(None::<String>),
        alert_sources::next_poll_at.eq(stamp),
    ));
    let row = diesel::update(
        alert_sources::table
            .find(id)
            .filter(alert_sources::version.eq(current.version)),
    )
    .set((
        edit,
        new_target,
        alert_sources::updated_at.eq(stamp),
        alert_sources::version.eq(current.version + 1),
    ))
    .returning(alert_sources::all_columns)
    .get_result(uow.conn)
    .optional()?
    .ok_or(ApiError::PreconditionFailed)?;
    uow.audit(
        "alert_source.updated",
        Some(Target::new("alert_source", id)),
        Some(format!("changed={}", changed.join(","))),
    )?;
    Ok(row)
}
