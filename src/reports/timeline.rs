//! A report's one ordered timeline: status changes and comments, each with who and
//! when, written in the transaction of the change it records.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::report_timeline;
use crate::error::ApiError;

/// Who wrote an entry: an account, or an integration client.
#[derive(Debug, Clone, Copy)]
pub struct Author {
    pub user_id: Option<i64>,
    pub client_id: Option<i64>,
}

/// An entry to record.
pub struct Entry<'a> {
    pub report_id: i64,
    pub entry_type: &'static str,
    pub visibility: &'static str,
    pub from_status: Option<&'static str>,
    pub to_status: Option<&'static str>,
    pub body: Option<&'a str>,
    pub assigned_agency: Option<&'a str>,
    pub at: NaiveDateTime,
}

pub fn record(conn: &mut DbConnection, author: Author, entry: Entry<'_>) -> Result<(), ApiError> {
    diesel::insert_into(report_timeline::table)
        .values((
            report_timeline::report_id.eq(entry.report_id),
            report_timeline::entry_type.eq(entry.entry_type),
            report_timeline::visibility.eq(entry.visibility),
            report_timeline::from_status.eq(entry.from_status),
            report_timeline::to_status.eq(entry.to_status),
            report_timeline::body.eq(entry.body),
            report_timeline::assigned_agency.eq(entry.assigned_agency),
            report_timeline::author_id.eq(author.user_id),
            report_timeline::author_client_id.eq(author.client_id),
            report_timeline::created_at.eq(entry.at),
        ))
        .execute(conn)?;
    Ok(())
}
