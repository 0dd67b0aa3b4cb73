//! Incremental sync for offline-first apps (SPEC §1), shared by bulletins and reports.
//!
//! Every change of a synced row takes the next value of its resource's counter in
//! `sync_counters` and stores it in the row (`change_seq`). Taking the value updates
//! the counter row, which stays locked until the transaction ends, so changes commit
//! in the order of their values: once a reader sees the committed counter at `n`,
//! every change up to `n` is visible and every later one will get more than `n`. Two
//! transactions that commit in the opposite order of their start therefore cannot
//! hide a change from a token. The price is that writes of one resource queue on its
//! counter row; bulletins and reports change a few times a minute, not thousands.
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

use crate::db::DbConnection;
use crate::db::schema::sync_counters;
use crate::error::{ApiError, FieldIssue};

/// A resource whose changes are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    Bulletins,
    Reports,
}

impl Counter {
    const fn name(self) -> &'static str {
        match self {
            Counter::Bulletins => "bulletins",
            Counter::Reports => "reports",
        }
    }
}

/// The value the next change of `counter` stores in `change_seq`; the counter row
/// stays locked until the caller's transaction ends.
pub fn next_change(conn: &mut DbConnection, counter: Counter) -> Result<i64, ApiError> {
    Ok(
        diesel::update(sync_counters::table.filter(sync_counters::name.eq(counter.name())))
            .set(sync_counters::value.eq(sync_counters::value + 1))
            .returning(sync_counters::value)
            .get_result(conn)?,
    )
}

/// Where a listing stands: every change up to `seq` and every expiry up to `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPoint {
    #[serde(rename = "s")]
    pub seq: i64,
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
        let seq: i64 = sync_counters::table
            .filter(sync_counters::name.eq(counter.name()))
            .select(sync_counters::value)
            .first(conn)?;
        Ok(SyncPoint {
            seq,
            at: crate::db::now().and_utc().timestamp_micros(),
            view,
        })
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
            .filter(|point| point.view == view && point.seq >= 0)
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
