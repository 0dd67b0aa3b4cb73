//! Lists of reports (SPEC §7): the caller's reports under the list filters, newest
//! first, as JSON pages that also sync (SPEC §1) or as a GeoJSON map ([`super::map`]).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::ReportFiles;
use super::model::{Channel, Kind, Privacy, Report, ReportRow, ReportStatus};
use super::policy::{ReportAccess, ReportCondition};
use super::{map, shown};
use crate::attachments::{self, FileOwner};
use crate::auth::Caller;
use crate::crypto::PersonalDataCipher;
use crate::db::schema::reports;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::extract::ListQuery;
use crate::openapi::{Forbidden, InvalidQuery, ServiceUnavailable, Unauthorized};
use crate::pagination::{PageParams, contains_pattern, cursor_after};
use crate::sync::{Counter, Removed, SyncItem, SyncPage, SyncPoint};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportFilter {
    status: Option<ReportStatus>,
    kind: Option<Kind>,
    category_code: Option<String>,
    kecamatan_code: Option<String>,
    kelurahan_code: Option<String>,
    /// gov and integration clients: one KIM's reports.
    kim_id: Option<i64>,
    /// Submitted at or after this moment.
    from: Option<DateTime<Utc>>,
    /// Submitted before this moment.
    to: Option<DateTime<Utc>>,
    /// Text in the title or description, case-insensitive.
    q: Option<String>,
    /// Past a service level (`true`) or not (`false`). Not with `updated_since`: time
    /// alone makes a report overdue.
    overdue: Option<bool>,
    privacy: Option<Privacy>,
    channel: Option<Channel>,
    /// Reports assigned to this agency (exact name).
    assigned_agency: Option<String>,
    /// A `sync_token` from an earlier listing: only what changed since, with reports
    /// that left the view (for this filter) as `{"id", "removed": true}`. JSON lists
    /// only.
    updated_since: Option<String>,
}

impl ReportFilter {
    pub fn syncs(&self) -> bool {
        self.updated_since.is_some()
    }
}

pub(crate) fn overdue_condition(at: NaiveDateTime) -> ReportCondition {
    let [unverified, unanswered] = overdue_branches(at);
    Box::new(unverified.or(unanswered))
}

/// The two ways a report is overdue at `at`, apart: not verified in time, or verified
/// and not answered in time. Counted one by one, each reads an index by status and
/// submission that holds its due date (`stats/overview`).
pub(crate) fn overdue_branches(at: NaiveDateTime) -> [ReportCondition; 2] {
    [
        Box::new(
            reports::status
                .eq(ReportStatus::Submitted)
                .and(reports::verify_due_at.lt(at)),
        ),
        Box::new(
            reports::status
                .eq(ReportStatus::Verified)
                .and(reports::response_due_at.is_not_null())
                .and(reports::response_due_at.assume_not_null().lt(at)),
        ),
    ]
}

/// What a caller sees in a list: its access and the list's filters as one condition,
/// the same for plain lists and for sync (where it is also selected as a column, so it
/// is false, never NULL, where it does not hold).
fn in_view(
    access: &ReportAccess,
    filter: &ReportFilter,
    pattern: Option<&str>,
    at: NaiveDateTime,
) -> ReportCondition {
    let mut view = access.condition();
    if let Some(status) = filter.status {
        view = Box::new(view.and(reports::status.eq(status)));
    }
    if let Some(kind) = filter.kind {
        view = Box::new(view.and(reports::kind.eq(kind)));
    }
    if let Some(code) = &filter.category_code {
        view = Box::new(view.and(reports::category_code.eq(code.clone())));
    }
    if let Some(code) = &filter.kecamatan_code {
        view = Box::new(view.and(reports::kecamatan_code.eq(code.clone())));
    }
    if let Some(code) = &filter.kelurahan_code {
        view = Box::new(view.and(reports::kelurahan_code.eq(code.clone())));
    }
    if let Some(kim_id) = filter.kim_id {
        let of_kim = reports::kim_id
            .is_not_null()
            .and(reports::kim_id.assume_not_null().eq(kim_id));
        view = Box::new(view.and(of_kim));
    }
    if let Some(from) = filter.from {
        view = Box::new(view.and(reports::created_at.ge(from.naive_utc())));
    }
    if let Some(to) = filter.to {
        view = Box::new(view.and(reports::created_at.lt(to.naive_utc())));
    }
    if let Some(pattern) = pattern {
        view = Box::new(view.and(reports::search_key.like(pattern.to_owned()).escape('\\')));
    }
    if let Some(overdue) = filter.overdue {
        view = if overdue {
            Box::new(view.and(overdue_condition(at)))
        } else {
            Box::new(view.and(diesel::dsl::not(overdue_condition(at))))
        };
    }
    if let Some(privacy) = filter.privacy {
        view = Box::new(view.and(reports::privacy.eq(privacy)));
    }
    if let Some(channel) = filter.channel {
        view = Box::new(view.and(reports::channel.eq(channel)));
    }
    if let Some(agency) = &filter.assigned_agency {
        let assigned = reports::assigned_agency.is_not_null().and(
            reports::assigned_agency
                .assume_not_null()
                .eq(agency.clone()),
        );
        view = Box::new(view.and(assigned));
    }
    view
}

/// Where a page starts: after this `(created_at, id)`, for the listing made at this
/// point.
type ListCursor = ((NaiveDateTime, i64), SyncPoint);

/// One page of rows, newest first, each with whether it is in the caller's view (rows
/// out of view come only from sync), and the point the listing answers for.
pub struct Rows {
    pub access: ReportAccess,
    pub rows: Vec<(ReportRow, bool)>,
    pub upto: SyncPoint,
    pub at: NaiveDateTime,
}

/// Which rows a listing takes beyond the caller's view and filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Only reports with a location (maps).
    Located,
}

pub fn load_rows(
    conn: &mut DbConnection,
    caller: &Caller,
    filter: &ReportFilter,
    page: &PageParams,
    scope: Scope,
) -> Result<Rows, ApiError> {
    let cursor: Option<ListCursor> = page.after()?;
    let pattern = contains_pattern(filter.q.as_deref())?;
    let access = ReportAccess::of(conn, caller)?;
    let view_key = access.view_key();
    let changed_since = filter
        .updated_since
        .as_deref()
        .map(|token| SyncPoint::from_token(token, view_key))
        .transpose()?;
    if changed_since.is_some() && filter.overdue.is_some() {
        return Err(ApiError::invalid_query(
            "overdue",
            "not_with_updated_since",
            "`overdue` changes with time alone, so it cannot be synced: list it in full",
            "`overdue` berubah karena waktu saja sehingga tidak dapat disinkronkan: \
             ambil daftarnya utuh",
        ));
    }
    let current = SyncPoint::now(conn, Counter::Reports, view_key)?;
    // Every page of one listing answers for the same point, so that the token of its
    // last page covers what changed while the client was paging.
    let upto = cursor
        .as_ref()
        .map_or_else(|| current.clone(), |(_, upto)| upto.clone());
    let at = current.at();
    let mut view = in_view(&access, filter, pattern.as_deref(), at);
    if scope == Scope::Located {
        view = Box::new(view.and(reports::latitude.is_not_null()));
    }
    // A plain list takes the rows in view; a sync takes the changed rows, with whether
    // each is still in view as a column (those that left come back as removals).
    let (in_view_column, taken): (ReportCondition, ReportCondition) = match &changed_since {
        None => (Box::new(true.into_sql::<diesel::sql_types::Bool>()), view),
        // Only reports the caller's access ever covered: no report changes that access
        // (privacy is fixed at submission), so others never were in its view and are
        // not its business even as removals.
        Some(from) => (
            view,
            Box::new(
                access
                    .condition()
                    .and(from.changed_since("reports"))
                    .and(reports::change_seq.le(upto.seq)),
            ),
        ),
    };
    let mut select = reports::table
        .select((ReportRow::as_select(), in_view_column))
        .filter(taken)
        .order((reports::created_at.desc(), reports::id.desc()))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(((created_at, id), _)) = cursor {
        // `created_at <= ?` bounds the index scan on both databases; the OR alone made
        // SQLite scan from the newest report down to the cursor.
        select = select.filter(
            reports::created_at
                .le(created_at)
                .and(reports::created_at.lt(created_at).or(reports::id.lt(id))),
        );
    }
    Ok(Rows {
        access,
        rows: select.load(conn)?,
        upto,
        at,
    })
}

/// The `next_cursor` after `rows` (cut to a page), if another page follows.
pub fn next_cursor(
    rows: &mut Vec<(ReportRow, bool)>,
    page: &PageParams,
    upto: &SyncPoint,
) -> Option<String> {
    if !page.cut(rows) {
        return None;
    }
    rows.last()
        .and_then(|(row, _)| cursor_after(&((row.created_at, row.id), upto)))
}

/// Whether the caller asked for GeoJSON rather than JSON.
fn wants_geojson(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.contains(map::GEOJSON))
}

/// Lists the reports the caller may see, newest first.
///
/// gov users see all; a KIM's users their KIM's; integration clients their own and, with
/// `reports:read`, every report that is not confidential. Every page carries a
/// `sync_token` for `updated_since`. With `Accept: application/geo+json` the answer is
/// the map of `GET /api/v1/reports.geojson`.
#[utoipa::path(
    tag = "reports",
    params(ReportFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of reports (or of what changed since `updated_since`)",
            content(
                (SyncPage<Report> = "application/json"),
                (map::ReportMap = "application/geo+json"),
            )),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/reports")]
pub async fn list_reports(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    query: ListQuery<ReportFilter>,
) -> Result<HttpResponse, ApiError> {
    if wants_geojson(&req) {
        return map::answer(caller, db, query).await;
    }
    let ListQuery { page, filter } = query;
    let listed = db
        .read(move |conn| {
            let Rows {
                access,
                mut rows,
                upto,
                at,
            } = load_rows(conn, &caller, &filter, &page, Scope::All)?;
            let next_cursor = next_cursor(&mut rows, &page, &upto);
            let shown_ids: Vec<i64> = rows
                .iter()
                .filter(|(_, visible)| *visible)
                .map(|(row, _)| row.id)
                .collect();
            let mut files = attachments::of_many(conn, ReportFiles::KIND, &shown_ids)?;
            let data = rows
                .into_iter()
                .map(|(row, visible)| {
                    Ok(if visible {
                        let attached = files.remove(&row.id).unwrap_or_default();
                        SyncItem::Current(shown(row, &access, &cipher, attached, at)?)
                    } else {
                        SyncItem::Removed(Removed {
                            id: row.id,
                            removed: true,
                        })
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(SyncPage {
                data,
                next_cursor,
                sync_token: upto.token(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(listed))
}
