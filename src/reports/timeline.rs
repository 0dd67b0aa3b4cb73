//! A report's one ordered timeline: status changes and comments, each with who and
//! when, written in the transaction of the change it records. `internal` entries are
//! for government users only; everyone else (the submitting KIM, integration clients,
//! the public tracking page) reads the `public` ones.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::model::ReportStatus;
use crate::db::schema::report_timeline;
use crate::db::{DbConnection, utc};
use crate::error::ApiError;
use crate::text_enum;

text_enum! {
    pub enum EntryType {
        Status = "status",
        Comment = "comment",
    }
}

text_enum! {
    /// `public`: the submitting KIM, integration clients and public tracking read it;
    /// `internal`: government users only.
    pub enum Visibility {
        Public = "public",
        Internal = "internal",
    }
}

text_enum! {
    /// In what capacity an entry was written, as it was then.
    pub enum AuthorSide {
        Government = "government",
        Kim = "kim",
        Integration = "integration",
        /// A citizen following the report by e-mail (feedback that reopened it).
        Citizen = "citizen",
    }
}

/// Who wrote an entry: an account or an integration client, and on whose side.
#[derive(Debug, Clone, Copy)]
pub struct Author {
    pub user_id: Option<i64>,
    pub client_id: Option<i64>,
    pub side: AuthorSide,
}

/// An entry to record.
pub struct Entry<'a> {
    pub report_id: i64,
    pub entry_type: EntryType,
    pub visibility: Visibility,
    pub from_status: Option<ReportStatus>,
    pub to_status: Option<ReportStatus>,
    pub body: Option<&'a str>,
    pub assigned_agency: Option<&'a str>,
    pub at: NaiveDateTime,
}

pub fn record(
    conn: &mut DbConnection,
    author: Author,
    entry: Entry<'_>,
) -> Result<EntryRow, ApiError> {
    Ok(diesel::insert_into(report_timeline::table)
        .values((
            report_timeline::report_id.eq(entry.report_id),
            report_timeline::entry_type.eq(entry.entry_type),
            report_timeline::visibility.eq(entry.visibility),
            report_timeline::from_status.eq(entry.from_status.map(ReportStatus::as_str)),
            report_timeline::to_status.eq(entry.to_status.map(ReportStatus::as_str)),
            report_timeline::body.eq(entry.body),
            report_timeline::assigned_agency.eq(entry.assigned_agency),
            report_timeline::author_id.eq(author.user_id),
            report_timeline::author_client_id.eq(author.client_id),
            report_timeline::author_side.eq(author.side),
            report_timeline::created_at.eq(entry.at),
        ))
        .returning(report_timeline::all_columns)
        .get_result(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = report_timeline)]
pub struct EntryRow {
    pub id: i64,
    #[expect(
        dead_code,
        reason = "a column of RETURNING *; entries are read per report"
    )]
    pub report_id: i64,
    pub entry_type: EntryType,
    pub visibility: Visibility,
    pub from_status: Option<ReportStatus>,
    pub to_status: Option<ReportStatus>,
    pub body: Option<String>,
    pub assigned_agency: Option<String>,
    pub author_id: Option<i64>,
    #[expect(dead_code, reason = "a column of RETURNING *; clients are never shown")]
    pub author_client_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub author_side: AuthorSide,
}

/// A timeline entry as answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub id: i64,
    /// `status`: a move through the workflow; `comment`: a message.
    pub entry_type: EntryType,
    pub visibility: Visibility,
    /// For `status` entries; `null` for the submission itself.
    pub from_status: Option<ReportStatus>,
    /// For `status` entries.
    pub to_status: Option<ReportStatus>,
    /// A comment, or the note of a status change.
    pub body: Option<String>,
    /// The agency assigned by this move, if it assigned one.
    pub assigned_agency: Option<String>,
    pub author_side: AuthorSide,
    /// The writing account, for government users only; `null` otherwise and for
    /// integration clients.
    pub author_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl TimelineEntry {
    pub fn from_row(row: EntryRow, show_author: bool) -> Result<TimelineEntry, ApiError> {
        let id = row.id;
        Ok(TimelineEntry {
            id,
            entry_type: row.entry_type,
            visibility: row.visibility,
            from_status: row.from_status,
            to_status: row.to_status,
            body: row.body,
            assigned_agency: row.assigned_agency,
            author_side: row.author_side,
            author_id: row.author_id.filter(|_| show_author),
            created_at: utc(row.created_at),
        })
    }
}

/// Up to `limit` entries of report `report_id` after entry `after`, oldest first;
/// `internal` ones only when `with_internal`.
pub fn entries(
    conn: &mut DbConnection,
    report_id: i64,
    with_internal: bool,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<EntryRow>, ApiError> {
    let mut select = report_timeline::table
        .filter(report_timeline::report_id.eq(report_id))
        .filter(report_timeline::id.gt(after.unwrap_or(0)))
        .order(report_timeline::id)
        .limit(limit)
        .select(EntryRow::as_select())
        .into_boxed();
    if !with_internal {
        select = select.filter(report_timeline::visibility.eq(Visibility::Public));
    }
    Ok(select.load(conn)?)
}
