//! Public tracking (SPEC §7): a citizen follows a report by its tracking code, without
//! an account. It shows where the report stands and the public timeline, never who
//! reported it or what they wrote; a confidential report shows its status and dates
//! only.
//!
//! An unknown code and a confidential report must not be told apart beyond that: both
//! run the same two statements (the timeline is read for no report), and a code that
//! cannot exist is looked up like one that could, so it answers in the same time and
//! words as an unknown one.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{Privacy, ReportRow, ReportStatus};
use super::timeline::{self, AuthorSide, EntryType};
use super::tracking::TrackingCode;
use crate::audit::client_address;
use crate::db::schema::reports;
use crate::db::{Db, utc};
use crate::error::ApiError;
use crate::openapi::{NotFound, ServiceUnavailable, TooManyRequests};
use crate::rate_limit::AddressLimit;

/// Public timeline entries shown on a tracking page; the rest stays with the apps.
const TRACKED_ENTRIES: i64 = 100;

/// A public timeline entry, without authors.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicEntry {
    pub entry_type: EntryType,
    pub from_status: Option<ReportStatus>,
    pub to_status: Option<ReportStatus>,
    pub body: Option<String>,
    pub assigned_agency: Option<String>,
    /// Whether the government, the KIM or a connected system wrote it.
    pub author_side: AuthorSide,
    pub created_at: DateTime<Utc>,
}

/// Where a report stands, as anyone holding its tracking code sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrackedReport {
    #[schema(example = "MTR-7KQ3-X9PA")]
    pub tracking_code: String,
    pub status: ReportStatus,
    /// `null` for a confidential report.
    #[schema(example = "infrastruktur")]
    pub category_code: Option<String>,
    /// `null` for a confidential report.
    #[schema(example = "18.72.01.1001")]
    pub kelurahan_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub verify_due_at: DateTime<Utc>,
    pub response_due_at: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The public timeline, oldest first (at most 100 entries); `null` for a
    /// confidential report.
    pub timeline: Option<Vec<PublicEntry>>,
}

fn tracked(row: ReportRow, entries: Vec<PublicEntry>) -> Result<TrackedReport, ApiError> {
    let open = row.privacy != Privacy::Confidential;
    Ok(TrackedReport {
        tracking_code: TrackingCode::from_stored(&row.tracking_code).shown(),
        status: row.status,
        category_code: open.then_some(row.category_code),
        kelurahan_code: open.then_some(row.kelurahan_code),
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
        verify_due_at: utc(row.verify_due_at),
        response_due_at: row.response_due_at.map(utc),
        first_response_at: row.first_response_at.map(utc),
        resolved_at: row.resolved_at.map(utc),
        timeline: open.then_some(entries),
    })
}

/// Tracking-code lookups allowed per client address (`TRACK_RATE_PER_MINUTE`).
#[derive(Debug)]
pub struct TrackingLookups(pub AddressLimit);

/// Where a report stands, by its tracking code (any case; dashes and spaces optional).
/// Anonymous: status, category, kelurahan, dates and the public timeline, no personal
/// data; for a confidential report only its status and dates. An unknown code is 404.
/// Each client address may look up `TRACK_RATE_PER_MINUTE` codes a minute (default
/// 30, per instance); beyond that `429` with `Retry-After`.
#[utoipa::path(
    tag = "reports",
    params(("tracking_code" = String, Path, description = "As given on submission, e.g. `MTR-7KQ3-X9PA`",
        max_length = 32)),
    responses(
        (status = 200, description = "The report's progress", body = TrackedReport),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/reports/track/{tracking_code}")]
pub async fn track_report(
    req: HttpRequest,
    db: web::Data<Db>,
    lookups: web::Data<TrackingLookups>,
    tracking_code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    lookups.0.check(client_address(&req))?;
    // A code that cannot exist is looked up as one that does not.
    let stored = TrackingCode::parse(&tracking_code)
        .map(|code| code.stored().to_owned())
        .unwrap_or_default();
    let report = db
        .read(move |conn| {
            let row: Option<ReportRow> = reports::table
                .filter(reports::tracking_code.eq(&stored))
                .select(ReportRow::as_select())
                .first(conn)
                .optional()?;
            let shown_timeline = row
                .as_ref()
                .filter(|row| row.privacy != Privacy::Confidential)
                .map_or(-1, |row| row.id);
            let entries = timeline::entries(conn, shown_timeline, false, None, TRACKED_ENTRIES)?
                .into_iter()
                .map(|entry| {
                    let entry = timeline::TimelineEntry::from_row(entry, false)?;
                    Ok(PublicEntry {
                        entry_type: entry.entry_type,
                        from_status: entry.from_status,
                        to_status: entry.to_status,
                        body: entry.body,
                        assigned_agency: entry.assigned_agency,
                        author_side: entry.author_side,
                        created_at: entry.created_at,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            row.map(|row| tracked(row, entries)).transpose()
        })
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok()
        // A status changes; shared caches must not keep someone's report.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(report))
}
