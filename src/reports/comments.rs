//! The conversation on a report: government users answer publicly or note internally,
//! the submitting KIM (or client) passes on the citizen's replies, and status changes
//! appear in the same ordered timeline.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::find_visible;
use super::model;
use super::policy::ReportAccess;
use super::timeline::{self, Author, Entry, EntryRow, EntryType, TimelineEntry, Visibility};
use crate::auth::Caller;
use crate::db::{Db, now};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::ApiError;
use crate::events::EventType;
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidQuery, NotFound, ServiceUnavailable,
    Unauthorized, Unprocessable,
};
use crate::pagination::{Page, PageParams};
use crate::unit_of_work::{Event, Target, UnitOfWork};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommentRequest {
    #[schema(example = "Petugas akan meninjau lokasi hari Kamis.")]
    body: String,
    /// `internal` only for government users. Required, so that nothing is published
    /// by default.
    visibility: Visibility,
}

/// A timeline takes no filters; anything but paging is a 400.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineFilter {}

/// A report's timeline, oldest first: status changes and comments. Government users
/// read every entry; others who see the report read the `public` ones.
#[utoipa::path(
    tag = "reports",
    params(("id" = i64, Path, description = "Report id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of the timeline", body = Page<TimelineEntry>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/reports/{id}/comments")]
pub async fn list_comments(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
    query: ListQuery<TimelineFilter>,
) -> Result<web::Json<Page<TimelineEntry>>, ApiError> {
    let id = id.into_inner();
    let ListQuery { page, .. } = query;
    let after: Option<i64> = page.after()?;
    let listed = db
        .read(move |conn| {
            let access = ReportAccess::of(conn, &caller)?;
            find_visible(conn, &access, id)?;
            let internal = access.reads_internal();
            let rows = timeline::entries(conn, id, internal, after, page.fetch_limit())?;
            let entries = rows
                .into_iter()
                .map(|row| TimelineEntry::from_row(row, internal))
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(Page::from_rows(entries, &page, |entry| entry.id))
        })
        .await?;
    Ok(web::Json(listed))
}

/// Comments on a report: government users publicly or internally; the submitting KIM's
/// users and the submitting integration client publicly (a citizen's reply). Honours
/// `Idempotency-Key`.
#[utoipa::path(
    tag = "reports",
    params(("id" = i64, Path, description = "Report id"), IdempotencyKeyParam),
    request_body = NewCommentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The entry; `Location` is the report's timeline",
            body = TimelineEntry, headers(("Location" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 409, description = "`kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/reports/{id}/comments")]
pub async fn add_comment(
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<NewCommentRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(request) = body;
    let comment = request.check()?;
    let writer = caller.clone();
    let replay_caller = caller.clone();
    creating
        .create_once(
            &caller,
            move |uow| {
                crate::kims::model::ensure_kim_user_may_write(uow, &writer)?;
                let access = ReportAccess::of(uow.conn, &writer)?;
                let report = find_visible(uow.conn, &access, id)?;
                access.may_comment(&report, comment.visibility)?;
                let entry = comment.record(uow, access.author(&writer), id)?;
                let entry = TimelineEntry::from_row(entry, access.reads_internal())?;
                CreatedResponse::created(&entry, format!("/api/v1/reports/{id}/comments"), 1)
            },
            move |uow: &mut UnitOfWork<'_>, _: &CreatedResponse| {
                let access = ReportAccess::of(uow.conn, &replay_caller)?;
                find_visible(uow.conn, &access, id).map(|_| ())
            },
        )
        .await
}

/// A comment, checked.
#[derive(Clone)]
struct Comment {
    text: String,
    visibility: Visibility,
}

impl NewCommentRequest {
    fn check(self) -> Result<Comment, ApiError> {
        let mut checks = Checks::new();
        let text = checks.text("body", &self.body, limits::TIMELINE_BODY, Lines::Multi);
        let (text,) = checks.finish_with((text,))?;
        Ok(Comment {
            text,
            visibility: self.visibility,
        })
    }
}

impl Comment {
    /// Writes the comment on report `id`'s timeline, with its audit record and event.
    fn record(
        &self,
        uow: &mut UnitOfWork<'_>,
        author: Author,
        id: i64,
    ) -> Result<EntryRow, ApiError> {
        let row = timeline::record(
            uow.conn,
            author,
            Entry {
                report_id: id,
                entry_type: EntryType::Comment,
                visibility: self.visibility,
                from_status: None,
                to_status: None,
                body: Some(&self.text),
                assigned_agency: None,
                at: now(),
            },
        )?;
        // Apps syncing the report learn that its public timeline grew; an internal note
        // changes nothing they may see.
        if self.visibility == Visibility::Public {
            model::mark_changed(uow.conn, id)?;
        }
        let target = Target::new("report", id);
        uow.audit(
            "report.commented",
            Some(target.clone()),
            Some(format!("entry={} visibility={}", row.id, self.visibility)),
        )?;
        uow.emit(Event::new(
            EventType::ReportCommented,
            target,
            serde_json::json!({"id": id, "entry_id": row.id,
            "visibility": self.visibility, "author_side": &row.author_side}),
        ))?;
        Ok(row)
    }
}
