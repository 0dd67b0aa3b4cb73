//! Incremental sync for offline-first apps (SPEC §1), shared by bulletins, reports and
//! the inbox.
//!
//! Every change of a synced row stores a change number (`change_seq`), and a listing
//! answers a token of where it stands. No change may be skipped, even when two
//! transactions commit in the opposite order of their numbers:
//!
//! - **SQLite** has one writer: a change takes the next value of its resource's counter
//!   in `sync_counters`, so numbers are in commit order and a token is the counter's
//!   committed value.
//! - **PostgreSQL** writes concurrently, and a counter row would make every write of a
//!   resource wait for the previous one's commit (it held report submissions to a few
//!   hundred a second). A change takes its number from a sequence, and a trigger stamps
//!   the row with the id of the transaction that made it (`change_xid`). A token keeps
//!   the oldest transaction still running when it was made (the snapshot's `xmin`): any
//!   change it could not see belongs to a transaction at least that recent, so the next
//!   sync takes every row whose `change_xid` is at least that. Rows a slow transaction
//!   kept in that window are answered twice; none is missed. The sequence's value caps
//!   a listing so that its pages stay one listing.
//!
//! A token also carries the moment it was made, so rows whose `expires_at` passed
//! since then are answered as removed although no write touched them, and a key of
//! the caller's view, so a token is not replayed by a caller who sees other rows.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::sync_counters;
use crate::db::{BoundSql, DbConnection};
use crate::error::{ApiError, FieldIssue};

/// A resource whose changes are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    Bulletins,
    Reports,
    Notifications,
}

impl Counter {
    const fn name(self) -> &'static str {
        match self {
            Counter::Bulletins => "bulletins",
            Counter::Reports => "reports",
            Counter::Notifications => "notifications",
        }
    }

    /// The PostgreSQL sequence (a fixed name, never from input).
    const fn sequence(self) -> &'static str {
        match self {
            Counter::Bulletins => "sync_bulletins_seq",
            Counter::Reports => "sync_reports_seq",
            Counter::Notifications => "sync_notifications_seq",
        }
    }
}

diesel::define_sql_function! {
    fn nextval(sequence: diesel::sql_types::Text) -> diesel::sql_types::BigInt;
}

/// The value the next change of `counter` stores in `change_seq`. On SQLite the
/// counter row stays locked until the caller's transaction ends (one writer anyway).
pub fn next_change(conn: &mut DbConnection, counter: Counter) -> Result<i64, ApiError> {
    Ok(match conn {
        DbConnection::Postgres(_) => {
            diesel::select(nextval(counter.sequence())).get_result(conn)?
        }
        DbConnection::Sqlite(_) => {
            diesel::update(sync_counters::table.filter(sync_counters::name.eq(counter.name())))
                .set(sync_counters::value.eq(sync_counters::value + 1))
                .returning(sync_counters::value)
                .get_result(conn)?
        }
    })
}

/// The newest change number handed out for `counter` (committed or not, on PostgreSQL).
pub fn last_change(conn: &mut DbConnection, counter: Counter) -> Result<i64, ApiError> {
    #[derive(QueryableByName)]
    struct Last {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seq: i64,
    }
    Ok(match conn {
        DbConnection::Postgres(pg) => {
            diesel::sql_query(format!(
                "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS seq FROM {}",
                counter.sequence()
            ))
            .get_result::<Last>(pg)?
            .seq
        }
        DbConnection::Sqlite(_) => sync_counters::table
            .filter(sync_counters::name.eq(counter.name()))
            .select(sync_counters::value)
            .first(conn)?,
    })
}

/// Moves `counter` on to `value` after rows were written with numbers up to it
/// (`seed-demo`).
pub fn advance_to(conn: &mut DbConnection, counter: Counter, value: i64) -> Result<(), ApiError> {
    match conn {
        DbConnection::Postgres(pg) => {
            diesel::sql_query(format!("SELECT setval('{}', $1)", counter.sequence()))
                .bind::<diesel::sql_types::BigInt, _>(value.max(1))
                .execute(pg)?;
        }
        DbConnection::Sqlite(_) => {
            diesel::update(sync_counters::table.filter(sync_counters::name.eq(counter.name())))
                .set(sync_counters::value.eq(value))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Where `counter` stands now: the newest change number, and on PostgreSQL the
/// snapshot's oldest running transaction and text, in one statement: the snapshot is
/// taken as it starts and the sequence read after, so a change numbered later belongs
/// to a transaction the snapshot did not see.
fn standing(
    conn: &mut DbConnection,
    counter: Counter,
) -> Result<(i64, i64, Option<String>), ApiError> {
    #[derive(QueryableByName)]
    struct Standing {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seq: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        xmin: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        snapshot: String,
    }
    Ok(match conn {
        DbConnection::Postgres(pg) => {
            let taken = diesel::sql_query(format!(
                "SELECT (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END \
                 FROM {}) AS seq, pg_snapshot_xmin(s)::text::bigint AS xmin, \
                 s::text AS snapshot FROM (SELECT pg_current_snapshot() AS s) AS current",
                counter.sequence()
            ))
            .get_result::<Standing>(pg)?;
            (taken.seq, taken.xmin, Some(taken.snapshot))
        }
        DbConnection::Sqlite(_) => (last_change(conn, counter)?, 0, None),
    })
}

/// Where a listing stands: every change up to `seq` (on PostgreSQL, every change of
/// a transaction older than `xmin`) and every expiry up to `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPoint {
    #[serde(rename = "s")]
    pub seq: i64,
    /// PostgreSQL: the oldest transaction running when the point was made; 0 on
    /// SQLite (and in tokens from before it was kept).
    #[serde(rename = "x", default)]
    pub xmin: i64,
    /// PostgreSQL: the snapshot the point was made in (`pg_snapshot` text), which says
    /// whose changes it saw.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    snapshot: Option<String>,
    /// Microseconds since the Unix epoch.
    #[serde(rename = "t")]
    at: i64,
    /// Which view of the rows the point belongs to.
    #[serde(rename = "v")]
    view: u64,
}

impl SyncPoint {
    /// The committed state of `counter` now, for the caller whose view is `view`.
    pub fn now(conn: &mut DbConnection, counter: Counter, view: u64) -> Result<Self, ApiError> {
        let (seq, xmin, snapshot) = standing(conn, counter)?;
        Ok(SyncPoint {
            seq,
            xmin,
            snapshot,
            at: crate::db::now().and_utc().timestamp_micros(),
            view,
        })
    }

    /// The rows of `table` changed since this point, as SQL: numbered after it, or (on
    /// PostgreSQL) changed by a transaction its snapshot did not see, which may have
    /// taken its number before the point. Exact: a row it saw unchanged is not answered.
    pub fn changed_since(&self, table: &'static str) -> BoundSql {
        let by_number = BoundSql::new("(")
            .sql(table)
            .sql(".change_seq > ")
            .big_int(self.seq);
        match &self.snapshot {
            Some(snapshot) => by_number
                .sql(" OR (")
                .sql(table)
                .sql(".change_xid >= ")
                .big_int(self.xmin)
                .sql(" AND NOT pg_visible_in_snapshot(")
                .sql(table)
                .sql(".change_xid::text::xid8, ")
                .text(snapshot.clone())
                .sql("::pg_snapshot)))"),
            None => by_number.sql(")"),
        }
    }

    /// PostgreSQL: the snapshot the point was made in, as text.
    pub fn snapshot(&self) -> Option<&str> {
        self.snapshot.as_deref()
    }

    pub fn at(&self) -> NaiveDateTime {
        chrono::DateTime::from_timestamp_micros(self.at)
            .map(|at| at.naive_utc())
            .unwrap_or_default()
    }

    /// The opaque `sync_token` clients keep.
    pub fn token(&self) -> String {
        serde_json::to_vec(self)
            .map(|json| URL_SAFE_NO_PAD.encode(json))
            .unwrap_or_default()
    }

    /// A token this service gave to a caller with the same view; anything else is a
    /// 400 asking for a full sync.
    pub fn from_token(token: &str, view: u64) -> Result<Self, ApiError> {
        URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|json| serde_json::from_slice::<SyncPoint>(&json).ok())
            .filter(|point| {
                point.view == view
                    && point.seq >= 0
                    && point.snapshot.as_deref().is_none_or(well_formed_snapshot)
            })
            .ok_or_else(|| {
                ApiError::InvalidQuery(vec![FieldIssue::new(
                    "updated_since",
                    "invalid_sync_token",
                    "not a sync_token of this list for this caller (its access may have \
                     changed): sync again from the start, without updated_since",
                    "bukan sync_token daftar ini untuk pemanggil ini (aksesnya mungkin \
                     berubah): sinkronkan ulang dari awal tanpa updated_since",
                )])
            })
    }
}

/// A `pg_snapshot` as PostgreSQL writes it, `xmin:xmax:xip,…` with `xmin <= xip <
/// xmax`: a token is the client's text, and a malformed one must be a 400, not a
/// failed cast in the query.
fn well_formed_snapshot(text: &str) -> bool {
    let mut parts = text.splitn(3, ':');
    let (Some(xmin), Some(xmax), Some(running)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let number = |part: &str| {
        (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<i64>().ok())
            .flatten()
    };
    let (Some(xmin), Some(xmax)) = (number(xmin), number(xmax)) else {
        return false;
    };
    xmin <= xmax
        && (running.is_empty()
            || running
                .split(',')
                .all(|xid| number(xid).is_some_and(|xid| (xmin..xmax).contains(&xid))))
}

/// A stable key of a caller's view, for [`SyncPoint::view`].
pub fn view_key(parts: &str) -> u64 {
    crate::crypto::short_digest(parts)
}

/// An item that left the caller's view since its token (archived, expired, re-targeted,
/// deleted): the app drops its copy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Removed {
    pub id: i64,
    /// Always `true`.
    pub removed: bool,
}

/// A list entry: the item as it is now, or the note that it left the view.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SyncItem<T> {
    Current(T),
    Removed(Removed),
}

/// One page of a synced list.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncPage<T> {
    /// Without `updated_since`: the items. With it: what changed since, changed items
    /// whole and items that left the view as `{"id", "removed": true}`.
    pub data: Vec<SyncItem<T>>,
    pub next_cursor: Option<String>,
    /// Pass it as `updated_since` to get only what changed after this listing. Every
    /// page of one listing carries the same token; keep the last page's.
    pub sync_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_snapshots_postgresql_writes_are_taken() {
        for good in ["750:750:", "748:755:748,751", "1:2:1"] {
            assert!(well_formed_snapshot(good), "{good}");
        }
        for bad in [
            "",
            "750",
            "750:749:",
            "748:755:756",
            "748:755:x",
            "a:b:",
            "748:755:,",
            "-1:2:",
            "1:2:1;DROP TABLE reports",
            "99999999999999999999:1:",
        ] {
            assert!(!well_formed_snapshot(bad), "{bad}");
        }
    }

    #[test]
    fn a_token_with_a_forged_snapshot_is_refused() {
        let forged = SyncPoint {
            seq: 1,
            xmin: 5,
            snapshot: Some("5:9:'); SELECT 1; --".into()),
            at: 0,
            view: 7,
        };
        assert!(SyncPoint::from_token(&forged.token(), 7).is_err());
        let honest = SyncPoint {
            snapshot: Some("5:9:6".into()),
            ..forged
        };
        assert!(SyncPoint::from_token(&honest.token(), 7).is_ok());
    }
}
