//! Reports as CSV for officers (`GET /api/v1/reports/export.csv`): the list with its
//! filters and the caller's access, every row, streamed a chunk at a time. Reporter
//! names and contacts appear only where the caller may see them (anonymous reports:
//! gov_admin only); timeline entries, internal or public, are not exported.

use std::sync::Arc;

use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};
use futures_util::{StreamExt, stream};

use super::listing::{ReportFilter, Rows, Scope, load_rows, next_cursor};
use super::model::Report;
use crate::auth::{Authorized, Caller, GovOnly};
use crate::crypto::PersonalDataCipher;
use crate::db::Db;
use crate::error::{ApiError, FieldIssue};
use crate::export::{self, CsvRow, instant};
use crate::extract::ApiQuery;
use crate::openapi::{Forbidden, InvalidQuery, ServiceUnavailable, Unauthorized};
use crate::pagination::PageParams;

/// Rows read and written per chunk: large enough that per-chunk work (access, sync
/// point) does not count, small enough to keep memory flat.
const CHUNK: u32 = 1000;

const COLUMNS: [&str; 26] = [
    "id",
    "tracking_code",
    "created_at",
    "kind",
    "category_code",
    "status",
    "title",
    "description",
    "kelurahan_code",
    "kecamatan_code",
    "address",
    "latitude",
    "longitude",
    "privacy",
    "channel",
    "kim_id",
    "submitted_by",
    "assigned_agency",
    "verify_due_at",
    "response_due_at",
    "overdue",
    "first_response_at",
    "resolved_at",
    "reporter_name",
    "reporter_contact",
    "updated_at",
];

fn csv_row(report: &Report) -> CsvRow {
    let mut row = CsvRow::default();
    row.value(report.id)
        .value(&report.tracking_code)
        .value(instant(report.created_at))
        .value(report.kind.as_str())
        .value(&report.category_code)
        .value(report.status.as_str())
        .text(&report.title)
        .text(&report.description)
        .value(&report.kelurahan_code)
        .value(&report.kecamatan_code)
        .optional_text(report.address.as_deref())
        .optional_value(report.latitude)
        .optional_value(report.longitude)
        .value(report.privacy.as_str())
        .value(report.channel.as_str())
        .optional_value(report.kim_id)
        .optional_value(report.submitted_by)
        .optional_text(report.assigned_agency.as_deref())
        .value(instant(report.verify_due_at))
        .optional_value(report.response_due_at.map(instant))
        .value(report.overdue)
        .optional_value(report.first_response_at.map(instant))
        .optional_value(report.resolved_at.map(instant))
        .optional_text(report.reporter_name.as_deref())
        .optional_text(report.reporter_contact.as_deref())
        .value(instant(report.updated_at));
    row
}

/// What each chunk needs: who asks, for what, and where the last chunk stopped.
#[derive(Clone)]
struct Export {
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    caller: Caller,
    filter: Arc<ReportFilter>,
}

impl Export {
    /// The chunk after `cursor` as CSV (with the header when it is the first), and the
    /// cursor of the next one.
    async fn chunk(&self, cursor: Option<String>) -> Result<(Bytes, Option<String>), ApiError> {
        let Export {
            cipher,
            caller,
            filter,
            ..
        } = self.clone();
        self.db
            .read(move |conn| {
                let first = cursor.is_none();
                let page = PageParams::resume(CHUNK, cursor);
                let Rows {
                    access,
                    mut rows,
                    upto,
                    at,
                } = load_rows(conn, &caller, &filter, &page, Scope::All)?;
                let next = next_cursor(&mut rows, &page, &upto);
                let lines = rows
                    .into_iter()
                    .map(|(row, _)| {
                        super::shown(row, &access, &cipher, Vec::new(), at)
                            .map(|report| csv_row(&report))
                    })
                    .collect::<Result<Vec<_>, ApiError>>()?;
                let header = first.then_some(COLUMNS.as_slice());
                Ok((export::encode(header, &lines)?, next))
            })
            .await
    }
}

/// Exports the reports the caller may see as CSV, newest first, with the list's filters.
///
/// gov users only. The whole list, streamed; no paging, and not with `updated_since`.
/// Columns: `id, tracking_code, created_at, kind, category_code, status, title,
/// description, kelurahan_code, kecamatan_code, address, latitude, longitude, privacy,
/// channel, kim_id, submitted_by, assigned_agency, verify_due_at, response_due_at,
/// overdue, first_response_at, resolved_at, reporter_name, reporter_contact,
/// updated_at`; times in UTC (RFC 3339). Text cells that would start a spreadsheet
/// formula begin with `'`.
#[utoipa::path(
    tag = "reports",
    params(ReportFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The reports as CSV (UTF-8 with a byte-order mark, header row)",
            content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String))),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/reports/export.csv")]
pub async fn export_reports(
    gov: Authorized<GovOnly>,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    query: ApiQuery<ReportFilter>,
) -> Result<HttpResponse, ApiError> {
    let ApiQuery(filter) = query;
    if filter.syncs() {
        return Err(ApiError::InvalidQuery(vec![FieldIssue::new(
            "updated_since",
            "not_for_export",
            "an export holds every report of the filter; sync with the JSON list",
            "ekspor memuat semua laporan dari filter; sinkronkan lewat daftar JSON",
        )]));
    }
    let export = Export {
        db,
        cipher,
        caller: gov.caller,
        filter: Arc::new(filter),
    };
    // The first chunk is read before answering, so a bad filter or an unavailable
    // database is a problem document rather than a cut-off file.
    let (first, cursor) = export.chunk(None).await?;
    // A failure after the first chunk can only cut the file short: the status line has
    // been sent. The stream ends there and the client sees an incomplete body.
    let rest = stream::unfold((export, cursor), |(export, cursor)| async move {
        let cursor = cursor?;
        match export.chunk(Some(cursor)).await {
            Ok((bytes, next)) => Some((Ok(bytes), (export, next))),
            Err(error) => {
                tracing::error!(%error, "report export stopped");
                Some((Err(error), (export, None)))
            }
        }
    });
    let body = stream::once(async move { Ok::<_, ApiError>(first) }).chain(rest);
    let filename = format!("laporan-{}.csv", crate::clock::now().format("%Y%m%d"));
    Ok(export::answer(&filename, body))
}
