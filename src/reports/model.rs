//! Reports as stored and as shown, and the writes the handlers share.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::tracking::TrackingCode;
use crate::attachments::Attachment;
use crate::db::schema::reports;
use crate::db::{DbConnection, utc};
use crate::error::ApiError;
use crate::sync::{Counter, next_change};
use crate::text_enum;

text_enum! {
    pub enum Kind {
        Aspiration = "aspiration",
        Complaint = "complaint",
        Question = "question",
        Information = "information",
    }
}

text_enum! {
    /// `normal`; `anonymous`: the reporter's name and contact only for gov_admin;
    /// `confidential`: only gov and the submitting KIM see the report at all.
    pub enum Privacy {
        Normal = "normal",
        Anonymous = "anonymous",
        Confidential = "confidential",
    }
}

text_enum! {
    pub enum Channel {
        Kim = "kim",
        Integration = "integration",
        Open311 = "open311",
    }
}

text_enum! {
    /// `submitted → verified → in_progress → resolved`; `submitted | verified →
    /// rejected`; the submitting KIM reopens `resolved → in_progress` within 30 days.
    pub enum ReportStatus {
        Submitted = "submitted",
        Verified = "verified",
        InProgress = "in_progress",
        Resolved = "resolved",
        Rejected = "rejected",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reports)]
pub struct ReportRow {
    pub id: i64,
    pub tracking_code: String,
    pub kind: Kind,
    pub category_code: String,
    pub title: String,
    pub description: String,
    pub search_key: String,
    pub kelurahan_code: String,
    pub kecamatan_code: String,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub reporter_name: Option<String>,
    pub reporter_contact: Option<String>,
    pub privacy: Privacy,
    pub kim_id: Option<i64>,
    pub submitted_by: Option<i64>,
    pub submitted_by_client: Option<i64>,
    pub channel: Channel,
    pub status: ReportStatus,
    pub assigned_agency: Option<String>,
    pub verify_due_at: NaiveDateTime,
    pub response_due_at: Option<NaiveDateTime>,
    pub verified_at: Option<NaiveDateTime>,
    pub first_response_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub change_seq: i64,
    /// PostgreSQL: the transaction of the last change (see `sync`).
    pub change_xid: i64,
}

impl ReportRow {
    /// Past a service level at `at`: not verified by `verify_due_at`, or verified and
    /// not followed up by `response_due_at`.
    pub fn overdue(&self, at: NaiveDateTime) -> bool {
        match self.status.as_str() {
            "submitted" => self.verify_due_at < at,
            "verified" => self.response_due_at.is_some_and(|due| due < at),
            _ => false,
        }
    }
}

pub use crate::domain::place::Location;

/// A citizen report as answered; personal data only where the caller may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub id: i64,
    #[schema(example = "MTR-7KQ3-X9PA")]
    pub tracking_code: String,
    pub kind: Kind,
    #[schema(example = "infrastruktur")]
    pub category_code: String,
    pub title: String,
    pub description: String,
    #[schema(example = "18.72.01.1001")]
    pub kelurahan_code: String,
    #[schema(example = "18.72.01")]
    pub kecamatan_code: String,
    pub address: Option<String>,
    #[schema(example = -5.1131)]
    pub latitude: Option<f64>,
    #[schema(example = 105.3067)]
    pub longitude: Option<f64>,
    /// `null` when the caller may not see it (anonymous reports outside gov_admin).
    pub reporter_name: Option<String>,
    /// `+62…` phone or e-mail; `null` when the caller may not see it.
    pub reporter_contact: Option<String>,
    pub privacy: Privacy,
    /// The submitting KIM; `null` for reports from integrations.
    pub kim_id: Option<i64>,
    /// The submitting account; `null` for integration clients and for callers outside
    /// government and the submitting KIM.
    pub submitted_by: Option<i64>,
    pub channel: Channel,
    pub status: ReportStatus,
    pub assigned_agency: Option<String>,
    /// End of the 3rd working day (WIB) after submission.
    pub verify_due_at: DateTime<Utc>,
    /// End of the 5th working day (WIB) after verification.
    pub response_due_at: Option<DateTime<Utc>>,
    /// Past `verify_due_at` unverified, or past `response_due_at` without follow-up.
    pub overdue: bool,
    /// The government's first answer: verification, rejection or follow-up.
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// Photos and documents, oldest first.
    pub attachments: Vec<Attachment>,
}

/// What of a report's people a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeopleView {
    pub reporter: bool,
    pub submitter: bool,
}

impl Report {
    /// `reporter_contact` is the decrypted contact, given only when `people.reporter`.
    pub fn from_row(
        row: ReportRow,
        people: PeopleView,
        reporter_contact: Option<String>,
        attachments: Vec<Attachment>,
        at: NaiveDateTime,
    ) -> Result<Report, ApiError> {
        Ok(Report {
            overdue: row.overdue(at),
            kind: row.kind,
            privacy: row.privacy,
            channel: row.channel,
            status: row.status,
            tracking_code: TrackingCode::from_stored(&row.tracking_code).shown(),
            id: row.id,
            category_code: row.category_code,
            title: row.title,
            description: row.description,
            kelurahan_code: row.kelurahan_code,
            kecamatan_code: row.kecamatan_code,
            address: row.address,
            latitude: row.latitude,
            longitude: row.longitude,
            reporter_name: row.reporter_name.filter(|_| people.reporter),
            reporter_contact,
            kim_id: row.kim_id,
            submitted_by: row.submitted_by.filter(|_| people.submitter),
            assigned_agency: row.assigned_agency,
            verify_due_at: utc(row.verify_due_at),
            response_due_at: row.response_due_at.map(utc),
            first_response_at: row.first_response_at.map(utc),
            resolved_at: row.resolved_at.map(utc),
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
            attachments,
        })
    }
}

/// A checked submission.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub kind: Kind,
    pub category_code: String,
    pub title: String,
    pub description: String,
    /// `None`: taken from `location` by the loaded kelurahan boundaries.
    pub kelurahan_code: Option<String>,
    pub address: Option<String>,
    pub location: Option<Location>,
    pub reporter_name: Option<String>,
    /// Normalised, not yet encrypted.
    pub reporter_contact: Option<String>,
    pub privacy: Privacy,
    pub channel: Channel,
    /// Mail the reporter (an e-mail `reporter_contact`) once they confirm.
    pub notify_reporter: bool,
}

/// Who submits: a KIM's user, or an integration client.
#[derive(Debug, Clone, Copy)]
pub enum Submitter {
    KimUser { kim_id: i64, user_id: i64 },
    Client { client_id: i64 },
}

pub(crate) fn search_key(title: &str, description: &str) -> String {
    format!("{}\n{}", title.to_lowercase(), description.to_lowercase())
}

pub struct Inserted<'a> {
    pub new: &'a NewReport,
    pub submitter: Submitter,
    pub kelurahan_code: &'a str,
    pub kecamatan_code: &'a str,
    pub tracking_code: &'a TrackingCode,
    pub reporter_contact_ciphertext: Option<String>,
    pub verify_due_at: NaiveDateTime,
    pub at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, report: Inserted<'_>) -> Result<ReportRow, ApiError> {
    let new = report.new;
    let (kim_id, submitted_by, submitted_by_client) = match report.submitter {
        Submitter::KimUser { kim_id, user_id } => (Some(kim_id), Some(user_id), None),
        Submitter::Client { client_id } => (None, None, Some(client_id)),
    };
    Ok(diesel::insert_into(reports::table)
        .values((
            reports::tracking_code.eq(report.tracking_code.stored()),
            reports::kind.eq(new.kind),
            reports::category_code.eq(&new.category_code),
            reports::title.eq(&new.title),
            reports::description.eq(&new.description),
            reports::search_key.eq(search_key(&new.title, &new.description)),
            reports::kelurahan_code.eq(report.kelurahan_code),
            reports::kecamatan_code.eq(report.kecamatan_code),
            reports::address.eq(&new.address),
            reports::latitude.eq(new.location.map(|at| at.latitude)),
            reports::longitude.eq(new.location.map(|at| at.longitude)),
            reports::reporter_name.eq(&new.reporter_name),
            reports::reporter_contact.eq(&report.reporter_contact_ciphertext),
            reports::privacy.eq(new.privacy),
            reports::kim_id.eq(kim_id),
            reports::submitted_by.eq(submitted_by),
            reports::submitted_by_client.eq(submitted_by_client),
            reports::channel.eq(new.channel),
            reports::verify_due_at.eq(report.verify_due_at),
            reports::created_at.eq(report.at),
            reports::updated_at.eq(report.at),
            reports::change_seq.eq(next_change(conn, Counter::Reports)?),
        ))
        .returning(reports::all_columns)
        .get_result(conn)?)
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<ReportRow>, ApiError> {
    Ok(reports::table
        .find(id)
        .select(ReportRow::as_select())
        .first(conn)
        .optional()?)
}

/// A status move as stored: the new status and what it sets.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub to: ReportStatus,
    pub assigned_agency: Option<String>,
    pub response_due_at: Option<NaiveDateTime>,
    pub verified_at: Option<NaiveDateTime>,
    pub first_response_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub at: NaiveDateTime,
}

/// Applies `change` if `current` is still the stored version: one conditional
/// statement, so of two simultaneous moves one updates the row and the other gets
/// `None` (PostgreSQL re-checks the condition once the first commits).
pub fn set_status(
    conn: &mut DbConnection,
    current: &ReportRow,
    change: &StatusChange,
) -> Result<Option<ReportRow>, ApiError> {
    Ok(diesel::update(
        reports::table
            .filter(reports::id.eq(current.id))
            .filter(reports::status.eq(&current.status))
            .filter(reports::version.eq(current.version)),
    )
    .set((
        reports::status.eq(change.to),
        reports::assigned_agency.eq(&change.assigned_agency),
        reports::response_due_at.eq(change.response_due_at),
        reports::verified_at.eq(change.verified_at),
        reports::first_response_at.eq(change.first_response_at),
        reports::resolved_at.eq(change.resolved_at),
        reports::updated_at.eq(change.at),
        reports::version.eq(current.version + 1),
        reports::change_seq.eq(next_change(conn, Counter::Reports)?),
    ))
    .returning(reports::all_columns)
    .get_result(conn)
    .optional()?)
}

/// Marks report `id` changed for sync (apps fetch it, and its timeline, again) without
/// changing its version: a comment changes the timeline, not the report.
pub fn mark_changed(conn: &mut DbConnection, id: i64) -> Result<(), ApiError> {
    diesel::update(reports::table.filter(reports::id.eq(id)))
        .set(reports::change_seq.eq(next_change(conn, Counter::Reports)?))
        .execute(conn)?;
    Ok(())
}

/// A new version of report `current` whose representation changed outside its status
/// (a file was attached).
pub fn touch(conn: &mut DbConnection, current: &ReportRow) -> Result<(), ApiError> {
    diesel::update(reports::table.filter(reports::id.eq(current.id)))
        .set((
            reports::updated_at.eq(crate::db::now()),
            reports::version.eq(current.version + 1),
            reports::change_seq.eq(next_change(conn, Counter::Reports)?),
        ))
        .execute(conn)?;
    Ok(())
}

/// The account that wrote timeline entry `entry_id` of report `report_id`, if a person did.
pub fn entry_author(
    conn: &mut DbConnection,
    report_id: i64,
    entry_id: i64,
) -> Result<Option<i64>, ApiError> {
    use crate::db::schema::report_timeline;
    Ok(report_timeline::table
        .filter(report_timeline::id.eq(entry_id))
        .filter(report_timeline::report_id.eq(report_id))
        .select(report_timeline::author_id)
        .first::<Option<i64>>(conn)
        .optional()?
        .flatten())
}

/// The account that last moved report `report_id` to `to` by `at`, if a person did.
pub fn status_mover(
    conn: &mut DbConnection,
    report_id: i64,
    to: ReportStatus,
    at: NaiveDateTime,
) -> Result<Option<i64>, ApiError> {
    use crate::db::schema::report_timeline;
    Ok(report_timeline::table
        .filter(report_timeline::report_id.eq(report_id))
        .filter(report_timeline::to_status.eq(to))
        .filter(report_timeline::created_at.le(at))
        .order(report_timeline::id.desc())
        .select(report_timeline::author_id)
        .first::<Option<i64>>(conn)
        .optional()?
        .flatten())
}

/// A report status as people say it.
pub fn status_words(status: &str, lang: crate::i18n::Lang) -> &str {
    let (en, id) = match status {
        "submitted" => ("submitted", "diajukan"),
        "verified" => ("verified", "diverifikasi"),
        "in_progress" => ("in progress", "sedang ditangani"),
        "resolved" => ("resolved", "selesai"),
        "rejected" => ("rejected", "ditolak"),
        other => (other, other),
    };
    lang.pick(en, id)
}

/// What the rules and the citizens' mail read of a `report.status_changed` event.
#[derive(Debug, serde::Deserialize)]
pub struct MovedPayload {
    pub to: ReportStatus,
}

/// What the rules and the citizens' mail read of a `report.commented` event.
#[derive(Debug, serde::Deserialize)]
pub struct CommentedPayload {
    pub entry_id: i64,
    pub visibility: crate::reports::TimelineVisibility,
}
