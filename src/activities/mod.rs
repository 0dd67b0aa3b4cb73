//! KIM activity logs (SPEC §10): what a KIM did in its community — socialisations,
//! discussions, trainings, coverage, information services, economic activities —
//! with its participants, the citizens it reached, the bulletin it passed on and its
//! photos. Who sees and records what is [`policy`].

mod files;
pub mod model;
pub mod policy;

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

pub use files::{
    ActivityFiles, attach_activity_upload, delete_activity_attachment,
    download_activity_attachment, list_activity_attachments, upload_activity_attachment,
};
use model::{Activity, ActivityFields, ActivityKind, ActivityRow, NewActivity};

use crate::attachments::FileOwner;
use crate::audience::KimPlace;
use crate::audit::{Actor, RequestOrigin};
use crate::auth::{Caller, MaybeCaller};
use crate::concurrency::IfMatch;
use crate::db::schema::kim_activities;
use crate::db::{Db, DbConnection};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::{ApiError, FieldIssue};
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creating};
use crate::kims::model::KimRow;
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidQuery, NotFound, PreconditionFailed,
    ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::pagination::{Page, PageParams};
use crate::unit_of_work::Target;

/// Most participants or citizens reached one activity records.
pub const MAX_COUNT: i32 = 1_000_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivityRequest {
    /// The day it took place (WIB), not in the future.
    #[schema(value_type = String, format = Date)]
    date: NaiveDate,
    kind: ActivityKind,
    #[schema(example = "Sosialisasi jadwal posyandu di balai RW 03")]
    title: String,
    description: Option<String>,
    location: Option<String>,
    #[schema(minimum = 0, maximum = 1_000_000)]
    participants: i32,
    #[schema(minimum = 0, maximum = 1_000_000)]
    reach: i32,
    /// A published bulletin addressed to the KIM.
    bulletin_id: Option<i64>,
}

/// Changes to an activity; absent fields stay, `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityChanges {
    #[schema(value_type = Option<String>, format = Date)]
    date: Option<NaiveDate>,
    kind: Option<ActivityKind>,
    title: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    location: Option<Option<String>>,
    #[schema(minimum = 0, maximum = 1_000_000)]
    participants: Option<i32>,
    #[schema(minimum = 0, maximum = 1_000_000)]
    reach: Option<i32>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<i64>)]
    bulletin_id: Option<Option<i64>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityFilter {
    kind: Option<ActivityKind>,
    /// On or after this day, `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    #[param(value_type = Option<String>, format = Date)]
    from: Option<NaiveDate>,
    /// On or before this day, `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    #[param(value_type = Option<String>, format = Date)]
    to: Option<NaiveDate>,
}

fn count(checks: &mut Checks, field: &str, value: i32) -> Option<i32> {
    if (0..=MAX_COUNT).contains(&value) {
        return Some(value);
    }
    checks.push(FieldIssue::new(
        field,
        "out_of_range",
        format!("must be between 0 and {MAX_COUNT}"),
        format!("harus antara 0 dan {MAX_COUNT}"),
    ));
    None
}

/// No KIM activity is older than this: earlier dates are typing errors (and some lie
/// outside what PostgreSQL's `DATE` holds).
const EARLIEST_ACTIVITY: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(day) => day,
    None => NaiveDate::MIN,
};

fn date(checks: &mut Checks, value: NaiveDate) -> Option<NaiveDate> {
    if value < EARLIEST_ACTIVITY {
        checks.push(FieldIssue::new(
            "date",
            "out_of_range",
            "must be 2000-01-01 or later",
            "harus 2000-01-01 atau sesudahnya",
        ));
        return None;
    }
    if value > crate::holidays::calendar::wib_today() {
        checks.push(FieldIssue::new(
            "date",
            "in_future",
            "an activity is recorded once it took place",
            "kegiatan dicatat setelah terlaksana",
        ));
        return None;
    }
    Some(value)
}

fn optional_text(
    checks: &mut Checks,
    field: &str,
    value: Option<Option<String>>,
    max: usize,
    lines: Lines,
) -> Option<Option<String>> {
    checks.changed_text(field, value.as_ref().map(Option::as_deref), max, lines)
}

fn title(checks: &mut Checks, raw: &str) -> Option<String> {
    checks.text("title", raw, limits::ACTIVITY_TITLE, Lines::Single)
}

fn description(checks: &mut Checks, value: Option<Option<String>>) -> Option<Option<String>> {
    let max = limits::ACTIVITY_DESCRIPTION;
    optional_text(checks, "description", value, max, Lines::Multi)
}

fn location(checks: &mut Checks, value: Option<Option<String>>) -> Option<Option<String>> {
    optional_text(
        checks,
        "location",
        value,
        limits::ACTIVITY_LOCATION,
        Lines::Single,
    )
}

impl NewActivityRequest {
    fn check(self) -> Result<NewActivity, ApiError> {
        let mut checks = Checks::new();
        let checked = (
            date(&mut checks, self.date),
            title(&mut checks, &self.title),
            description(&mut checks, Some(self.description)),
            location(&mut checks, Some(self.location)),
            count(&mut checks, "participants", self.participants),
            count(&mut checks, "reach", self.reach),
        );
        let (date, title, description, location, participants, reach) =
            checks.finish_with(checked)?;
        Ok(NewActivity {
            date,
            kind: self.kind,
            title,
            description,
            location,
            participants,
            reach,
            bulletin_id: self.bulletin_id,
        })
    }
}

impl ActivityChanges {
    fn check(self) -> Result<ActivityFields, ApiError> {
        let mut checks = Checks::new();
        let fields = ActivityFields {
            date: self.date.and_then(|value| date(&mut checks, value)),
            kind: self.kind,
            title: self.title.and_then(|raw| title(&mut checks, &raw)),
            description: description(&mut checks, self.description),
            location: location(&mut checks, self.location),
            participants: self
                .participants
                .and_then(|value| count(&mut checks, "participants", value)),
            reach: self
                .reach
                .and_then(|value| count(&mut checks, "reach", value)),
            bulletin_id: self.bulletin_id,
        };
        checks.finish()?;
        Ok(fields)
    }
}

/// `422 bulletin_not_addressed` unless bulletin `id` was published to `kim`.
fn check_bulletin(conn: &mut DbConnection, kim: &KimRow, id: i64) -> Result<(), ApiError> {
    let place = KimPlace::from(kim);
    let addressed = match crate::bulletins::model::find(conn, id)? {
        Some(bulletin) => bulletin.published_at.is_some() && bulletin.audience()?.includes(&place),
        None => false,
    };
    if addressed {
        return Ok(());
    }
    Err(ApiError::Validation(vec![FieldIssue::new(
        "bulletin_id",
        "bulletin_not_addressed",
        "no bulletin published to this KIM has this id",
        "tidak ada buletin yang diterbitkan untuk KIM ini dengan id ini",
    )]))
}

fn find(conn: &mut DbConnection, kim_id: i64, id: i64) -> Result<ActivityRow, ApiError> {
    kim_activities::table
        .filter(kim_activities::id.eq(id))
        .filter(kim_activities::kim_id.eq(kim_id))
        .select(ActivityRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)
}

/// `row` as answered, with its files.
fn present(conn: &mut DbConnection, row: ActivityRow, insider: bool) -> Result<Activity, ApiError> {
    let files = crate::attachments::of(conn, ActivityFiles::owner(row.id))?;
    Activity::from_row(row, insider, files)
}

/// Lists a KIM's activities, latest first. Anonymous callers and other KIMs see
/// those of active KIMs.
#[utoipa::path(
    tag = "activities",
    params(("id" = i64, Path, description = "KIM id"), ActivityFilter, PageParams),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "One page of activities", body = Page<Activity>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/kims/{id}/activities")]
pub async fn list_activities(
    caller: MaybeCaller,
    db: web::Data<Db>,
    id: web::Path<i64>,
    query: ListQuery<ActivityFilter>,
) -> Result<web::Json<Page<Activity>>, ApiError> {
    let kim_id = id.into_inner();
    let MaybeCaller(caller) = caller;
    let ListQuery { page, filter } = query;
    let after: Option<(NaiveDate, i64)> = page.after()?;
    let listed = db
        .read(move |conn| {
            let (_, access) = policy::visible_kim(conn, caller.as_ref(), kim_id)?;
            let mut select = kim_activities::table
                .filter(kim_activities::kim_id.eq(kim_id))
                .select(ActivityRow::as_select())
                .order((kim_activities::held_on.desc(), kim_activities::id.desc()))
                .limit(page.fetch_limit())
                .into_boxed();
            if let Some(kind) = filter.kind {
                select = select.filter(kim_activities::kind.eq(kind));
            }
            if let Some(from) = filter.from {
                select = select.filter(kim_activities::held_on.ge(from));
            }
            if let Some(to) = filter.to {
                select = select.filter(kim_activities::held_on.le(to));
            }
            if let Some((held_on, id)) = after {
                select = select.filter(
                    kim_activities::held_on
                        .lt(held_on)
                        .or(kim_activities::held_on
                            .eq(held_on)
                            .and(kim_activities::id.lt(id))),
                );
            }
            let rows: Vec<ActivityRow> = select.load(conn)?;
            let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
            let mut files = crate::attachments::of_many(conn, ActivityFiles::KIND, &ids)?;
            let activities = rows
                .into_iter()
                .map(|row| {
                    let attached = files.remove(&row.id).unwrap_or_default();
                    Activity::from_row(row, access.insider, attached)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(activities, &page, |activity| {
                (activity.date, activity.id)
            }))
        })
        .await?;
    Ok(web::Json(listed))
}

/// Records an activity of the KIM: its own kim_admin, or gov. Honours
/// `Idempotency-Key`.
#[utoipa::path(
    tag = "activities",
    params(("id" = i64, Path, description = "KIM id"), IdempotencyKeyParam),
    request_body = NewActivityRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The activity", body = Activity,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`kim_dissolved`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/kims/{id}/activities")]
pub async fn create_activity(
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<NewActivityRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let kim_id = id.into_inner();
    let ApiJson(request) = body;
    let activity = request.check()?;
    let recorder = caller.clone();
    creating
        .create_once(
            &caller,
            move |uow| {
                uow.lock_kim(kim_id)?;
                let kim = policy::recording_kim(uow.conn, &recorder, kim_id)?;
                if let Some(bulletin) = activity.bulletin_id {
                    check_bulletin(uow.conn, &kim, bulletin)?;
                }
                let row = model::insert(uow.conn, kim_id, &activity, recorder.user_id())?;
                uow.audit(
                    "activity.created",
                    Some(Target::new("kim", kim_id)),
                    Some(format!("activity={}", row.id)),
                )?;
                let activity = Activity::from_row(row, true, Vec::new())?;
                let location = format!("/api/v1/kims/{kim_id}/activities/{}", activity.id);
                CreatedResponse::created(&activity, location, activity.version)
            },
            crate::idempotency::nothing_owed,
        )
        .await
}

/// One activity of a KIM the caller sees.
#[utoipa::path(
    tag = "activities",
    params(
        ("id" = i64, Path, description = "KIM id"),
        ("aid" = i64, Path, description = "Activity id"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The activity", body = Activity, headers(("ETag" = String))),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/kims/{id}/activities/{aid}")]
pub async fn get_activity(
    caller: MaybeCaller,
    db: web::Data<Db>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (kim_id, id) = path.into_inner();
    let MaybeCaller(caller) = caller;
    let activity = db
        .read(move |conn| {
            let (_, access) = policy::visible_kim(conn, caller.as_ref(), kim_id)?;
            let row = find(conn, kim_id, id)?;
            present(conn, row, access.insider)
        })
        .await?;
    Ok(crate::concurrency::ok_with_etag(
        activity.version,
        &activity,
    ))
}

/// Corrects an activity: the KIM's kim_admin, or gov.
#[utoipa::path(
    tag = "activities",
    params(
        ("id" = i64, Path, description = "KIM id"),
        ("aid" = i64, Path, description = "Activity id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = ActivityChanges,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The activity", body = Activity, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`kim_dissolved`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[patch("/kims/{id}/activities/{aid}")]
pub async fn update_activity(
    caller: Caller,
    db: web::Data<Db>,
    origin: RequestOrigin,
    path: web::Path<(i64, i64)>,
    if_match: IfMatch,
    body: ApiJson<ActivityChanges>,
) -> Result<HttpResponse, ApiError> {
    let (kim_id, id) = path.into_inner();
    let ApiJson(changes) = body;
    let edit = changes.check()?;
    let actor = Actor::from(&caller);
    let activity = db
        .unit_of_work(actor, origin, move |uow| {
            uow.lock_kim(kim_id)?;
            let kim = policy::recording_kim(uow.conn, &caller, kim_id)?;
            let current = find(uow.conn, kim_id, id)?;
            if_match.check(current.version)?;
            if let Some(Some(bulletin)) = edit.bulletin_id {
                check_bulletin(uow.conn, &kim, bulletin)?;
            }
            let row = model::update(uow.conn, &current, &edit)?;
            uow.audit(
                "activity.updated",
                Some(Target::new("kim", kim_id)),
                Some(format!("activity={id}")),
            )?;
            present(uow.conn, row, true)
        })
        .await?;
    Ok(crate::concurrency::ok_with_etag(
        activity.version,
        &activity,
    ))
}
