//! Early warnings in (SPEC §12): alert sources that government admins register (a CAP
//! feed such as BMKG's nowcasts, or one CAP document), read safely ([`xml`]), their
//! alerts ([`cap`]) matched to the KIMs they concern ([`matching`]) and turned into
//! urgent bulletins by the poller.

pub mod cap;
pub mod feed;
mod ingest;
pub mod matching;
pub mod model;
pub mod poll;
pub mod xml;

#[cfg(test)]
mod tests;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::audit::{Actor, RequestOrigin};
use crate::auth::{Authorized, GovAdminOnly, Subject};
use crate::bulletins::cap::Severity;
use crate::concurrency::{IfMatch, ok_with_etag};
use crate::db::Db;
use crate::db::schema::{alert_polls, alert_sources};
use crate::domain::Checks;
use crate::error::{ApiError, FieldIssue};
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidQuery, NotFound, PreconditionFailed,
    ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::outbound::target::TargetPolicy;
use crate::pagination::{NoFilter, Page, PageParams};
use crate::unit_of_work::Target;
use model::{
    AlertMode, AlertPoll, AlertSource, DEFAULT_POLL_INTERVAL_SECS, NewSource, POLL_INTERVAL_SECS,
    PollRow, SourceEdit, SourceRow,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAlertSourceRequest {
    /// `https` URL on a public address: an RSS or Atom feed listing CAP documents, or
    /// one CAP document.
    #[schema(example = "https://www.bmkg.go.id/alerts/nowcast/id/rss.xml")]
    url: String,
    /// Default 300.
    #[schema(minimum = 60, maximum = 86400)]
    poll_interval_secs: Option<i32>,
    /// Default `moderate`: alerts less severe are skipped.
    min_severity: Option<Severity>,
    /// Default `draft`.
    mode: Option<AlertMode>,
    /// Default `true`.
    active: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertSourceChanges {
    url: Option<String>,
    #[schema(minimum = 60, maximum = 86400)]
    poll_interval_secs: Option<i32>,
    min_severity: Option<Severity>,
    mode: Option<AlertMode>,
    active: Option<bool>,
}

fn checked_interval(checks: &mut Checks, secs: Option<i32>) -> Option<i32> {
    let (shortest, longest) = POLL_INTERVAL_SECS;
    let secs = secs?;
    if (shortest..=longest).contains(&secs) {
        return Some(secs);
    }
    checks.push(FieldIssue::new(
        "poll_interval_secs",
        "out_of_range",
        format!("must be between {shortest} and {longest}"),
        format!("harus antara {shortest} dan {longest}"),
    ));
    None
}

impl AlertSourceChanges {
    fn check(self, targets: &TargetPolicy) -> Result<SourceEdit, ApiError> {
        let mut checks = Checks::new();
        let url = self
            .url
            .as_deref()
            .and_then(|url| checks.take(targets.check(url)));
        let poll_interval_secs = checked_interval(&mut checks, self.poll_interval_secs);
        checks.finish()?;
        Ok(SourceEdit {
            url: url.map(String::from),
            poll_interval_secs,
            min_severity: self.min_severity,
            mode: self.mode,
            active: self.active,
        })
    }
}

/// Registers a source of CAP alerts; it is polled at once, then every
/// `poll_interval_secs`. gov_admin only; honours `Idempotency-Key`.
#[utoipa::path(
    tag = "alert sources",
    params(IdempotencyKeyParam),
    request_body = NewAlertSourceRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The source", body = AlertSource, headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/alert-sources")]
pub async fn create_alert_source(
    caller: Authorized<GovAdminOnly>,
    targets: web::Data<TargetPolicy>,
    body: ApiJson<NewAlertSourceRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let ApiJson(request) = body;
    let mut checks = Checks::new();
    let url = checks.take(targets.check(&request.url));
    let interval = checked_interval(
        &mut checks,
        Some(
            request
                .poll_interval_secs
                .unwrap_or(DEFAULT_POLL_INTERVAL_SECS),
        ),
    );
    let (url, poll_interval_secs) = checks.finish_with((url, interval))?;
    let new = NewSource {
        url: url.into(),
        poll_interval_secs,
        min_severity: request.min_severity.unwrap_or(Severity::Moderate),
        mode: request.mode.unwrap_or(AlertMode::Draft),
        active: request.active.unwrap_or(true),
        created_by: match caller.caller.subject {
            Subject::User(id) => Some(id),
            _ => None,
        },
    };
    creating
        .create_once(
            &caller,
            move |uow| {
                let row = model::insert(uow.conn, &new)?;
                uow.audit(
                    "alert_source.created",
                    Some(Target::new("alert_source", row.id)),
                    None,
                )?;
                let source = AlertSource::from(row);
                let location = format!("/api/v1/alert-sources/{}", source.id);
                CreatedResponse::created(&source, location, source.version)
            },
            crate::idempotency::nothing_owed,
        )
        .await
}

/// Lists sources by id. gov_admin only.
#[utoipa::path(
    tag = "alert sources",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of sources", body = Page<AlertSource>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/alert-sources")]
pub async fn list_alert_sources(
    _admin: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    query: ListQuery<NoFilter>,
) -> Result<web::Json<Page<AlertSource>>, ApiError> {
    let ListQuery { page, .. } = query;
    let after: Option<i64> = page.after()?;
    let listed = db
        .read(move |conn| {
            let mut select = alert_sources::table
                .select(SourceRow::as_select())
                .order(alert_sources::id)
                .limit(page.fetch_limit())
                .into_boxed();
            if let Some(after) = after {
                select = select.filter(alert_sources::id.gt(after));
            }
            let rows: Vec<AlertSource> = select
                .load(conn)?
                .into_iter()
                .map(AlertSource::from)
                .collect();
            Ok(Page::from_rows(rows, &page, |source| source.id))
        })
        .await?;
    Ok(web::Json(listed))
}

/// One source. gov_admin only.
#[utoipa::path(
    tag = "alert sources",
    params(("id" = i64, Path, description = "Source id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The source", body = AlertSource, headers(("ETag" = String))),
        (status = 400, response = crate::openapi::InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/alert-sources/{id}")]
pub async fn get_alert_source(
    _admin: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db
        .read(move |conn| model::find(conn, id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let source = AlertSource::from(row);
    Ok(ok_with_etag(source.version, &source))
}

/// Changes a source; a new URL is polled at once. gov_admin only; honours `If-Match`.
#[utoipa::path(
    tag = "alert sources",
    params(
        ("id" = i64, Path, description = "Source id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = AlertSourceChanges,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The source", body = AlertSource, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[patch("/alert-sources/{id}")]
pub async fn update_alert_source(
    caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    targets: web::Data<TargetPolicy>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: ApiJson<AlertSourceChanges>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(changes) = body;
    let edit = changes.check(&targets)?;
    let row = db
        .unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
            model::apply(uow, id, &if_match, &edit)
        })
        .await?;
    let source = AlertSource::from(row);
    Ok(ok_with_etag(source.version, &source))
}

/// Removes a source and its poll log; the bulletins it made stay. gov_admin only.
#[utoipa::path(
    tag = "alert sources",
    params(("id" = i64, Path, description = "Source id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = crate::openapi::InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[delete("/alert-sources/{id}")]
pub async fn delete_alert_source(
    caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    db.unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
        let removed = diesel::delete(alert_sources::table.find(id)).execute(uow.conn)?;
        if removed == 0 {
            return Err(ApiError::NotFound);
        }
        uow.audit(
            "alert_source.deleted",
            Some(Target::new("alert_source", id)),
            None,
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The source's poll log, newest first (kept 30 days): what the source answered and
/// what became of each alert. gov_admin only.
#[utoipa::path(
    tag = "alert sources",
    params(("id" = i64, Path, description = "Source id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of polls", body = Page<AlertPoll>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/alert-sources/{id}/polls")]
pub async fn list_polls(
    _admin: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    id: web::Path<i64>,
    query: ListQuery<NoFilter>,
) -> Result<web::Json<Page<AlertPoll>>, ApiError> {
    let id = id.into_inner();
    let ListQuery { page, .. } = query;
    let before: Option<i64> = page.after()?;
    let listed = db
        .read(move |conn| {
            model::find(conn, id)?.ok_or(ApiError::NotFound)?;
            let mut select = alert_polls::table
                .filter(alert_polls::source_id.eq(id))
                .select(PollRow::as_select())
                .order(alert_polls::id.desc())
                .limit(page.fetch_limit())
                .into_boxed();
            if let Some(before) = before {
                select = select.filter(alert_polls::id.lt(before));
            }
            let rows: Vec<AlertPoll> = select
                .load(conn)?
                .into_iter()
                .map(AlertPoll::from)
                .collect();
            Ok(Page::from_rows(rows, &page, |poll| poll.id))
        })
        .await?;
    Ok(web::Json(listed))
}
