//! Policy consultations (SPEC §10): the government asks the KIMs of an audience —
//! its dialogue partners — a few questions for an open period; each KIM's kim_admin
//! submits one response, revisable until `closes_at`, with the number of citizens it
//! consulted; gov reads the results and concludes with a published response. Who sees
//! what is [`policy`]; questions and answers are [`questions`].

mod files;
mod lifecycle;
pub mod model;
pub mod policy;
pub mod questions;
mod results;

use actix_web::{HttpResponse, get, patch, post, put, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

pub use files::{
    ConsultationFiles, attach_consultation_upload, delete_consultation_attachment,
    download_consultation_attachment, list_consultation_attachments,
    upload_consultation_attachment,
};
use model::{
    Consultation, ConsultationChangeset, ConsultationResponse, ConsultationRow, ConsultationStatus,
    NewConsultation, ResponseWrite,
};
use policy::ConsultationAccess;
use questions::{Answer, Question};
pub use results::consultation_results;

use crate::audience::Audience;
use crate::audit::{Actor, RequestOrigin};
use crate::auth::{Authorized, Caller, GovOnly, MaybeCaller};
use crate::concurrency::IfMatch;
use crate::db::schema::consultations;
use crate::db::{Db, DbConnection, now};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::{ApiError, FieldIssue};
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidQuery, NotFound, PreconditionFailed,
    ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::pagination::{Page, PageParams};
use crate::unit_of_work::{Target, UnitOfWork};

/// Most citizens one response says it consulted.
pub const MAX_CITIZENS: i32 = 1_000_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsultationRequest {
    #[schema(example = "Perubahan jadwal pengangkutan sampah")]
    title: String,
    summary: String,
    #[schema(min_items = 1, max_items = 30)]
    questions: Vec<Question>,
    audience: Audience,
    opens_at: DateTime<Utc>,
    /// After `opens_at`, and in the future.
    closes_at: DateTime<Utc>,
}

/// Changes to a draft; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationChanges {
    title: Option<String>,
    summary: Option<String>,
    #[schema(min_items = 1, max_items = 30)]
    questions: Option<Vec<Question>>,
    audience: Option<Audience>,
    opens_at: Option<DateTime<Utc>>,
    closes_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationStatusRequest {
    /// `open` (from draft), `closed` (early, from open) or `concluded` (from closed).
    status: ConsultationStatus,
    /// Required to conclude.
    government_response: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseRequest {
    answers: Vec<Answer>,
    #[schema(minimum = 0, maximum = 1_000_000)]
    citizens_consulted: i32,
}

impl ResponseRequest {
    /// What can be judged without the consultation, before any database work.
    fn check_count(&self) -> Result<(), ApiError> {
        if (0..=MAX_CITIZENS).contains(&self.citizens_consulted) {
            return Ok(());
        }
        Err(ApiError::Validation(vec![FieldIssue::new(
            "citizens_consulted",
            "out_of_range",
            format!("must be between 0 and {MAX_CITIZENS}"),
            format!("harus antara 0 dan {MAX_CITIZENS}"),
        )]))
    }

    /// The answers judged against `questions`, as stored.
    fn check(&self, questions: &[Question], by: Option<i64>) -> Result<ResponseWrite, ApiError> {
        let mut checks = Checks::new();
        let answers = questions::checked_answers(&mut checks, questions, self.answers.clone());
        checks.finish()?;
        Ok(ResponseWrite {
            answers: stored_json(&answers)?,
            citizens_consulted: self.citizens_consulted,
            submitted_by: by,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsultationFilter {
    status: Option<ConsultationStatus>,
}

fn title(checks: &mut Checks, raw: &str) -> Option<String> {
    checks.text("title", raw, limits::CONSULTATION_TITLE, Lines::Single)
}

fn summary(checks: &mut Checks, raw: &str) -> Option<String> {
    checks.text("summary", raw, limits::CONSULTATION_SUMMARY, Lines::Multi)
}

fn storable(checks: &mut Checks, field: &str, at: DateTime<Utc>) -> Option<NaiveDateTime> {
    checks.take(crate::domain::storable_moment(field, at))
}

fn period_issue(field: &str, en: &str, id: &str) -> FieldIssue {
    FieldIssue::new(field, "invalid_period", en, id)
}

/// `422` unless `opens_at < closes_at` and `closes_at` lies ahead.
fn check_period(opens_at: NaiveDateTime, closes_at: NaiveDateTime) -> Result<(), ApiError> {
    if closes_at <= opens_at {
        return Err(ApiError::Validation(vec![period_issue(
            "closes_at",
            "must be after opens_at",
            "harus setelah opens_at",
        )]));
    }
    if closes_at <= now() {
        return Err(ApiError::Validation(vec![period_issue(
            "closes_at",
            "must be in the future",
            "harus di masa depan",
        )]));
    }
    Ok(())
}

/// A checked new consultation or edit; `None` leaves a field.
#[derive(Debug, Clone, Default)]
struct ConsultationFields {
    title: Option<String>,
    summary: Option<String>,
    questions: Option<Vec<Question>>,
    audience: Option<Audience>,
    opens_at: Option<NaiveDateTime>,
    closes_at: Option<NaiveDateTime>,
}

impl NewConsultationRequest {
    fn check(self, author: Option<i64>) -> Result<NewConsultation, ApiError> {
        let mut checks = Checks::new();
        let checked = (
            title(&mut checks, &self.title),
            summary(&mut checks, &self.summary),
            questions::checked(&mut checks, self.questions),
            self.audience.check(&mut checks),
            storable(&mut checks, "opens_at", self.opens_at),
            storable(&mut checks, "closes_at", self.closes_at),
        );
        let (title, summary, questions, audience, opens_at, closes_at) =
            checks.finish_with(checked)?;
        check_period(opens_at, closes_at)?;
        Ok(NewConsultation {
            title,
            summary,
            questions: stored_json(&questions)?,
            audience,
            opens_at,
            closes_at,
            created_by: author,
        })
    }
}

impl ConsultationFields {
    /// The columns the edit changes in `current`, its period checked as it will be.
    fn changeset(&self, current: &ConsultationRow) -> Result<ConsultationChangeset, ApiError> {
        check_period(
            self.opens_at.unwrap_or(current.opens_at),
            self.closes_at.unwrap_or(current.closes_at),
        )?;
        let audience = self.audience.as_ref().map(Audience::stored).transpose()?;
        Ok(ConsultationChangeset {
            title: self.title.clone(),
            summary: self.summary.clone(),
            questions: self.questions.as_ref().map(stored_json).transpose()?,
            audience_scope: audience.as_ref().map(|stored| stored.scope),
            audience_codes: audience.as_ref().map(|stored| stored.codes.clone()),
            audience_kim_ids: audience.map(|stored| stored.kim_ids),
            opens_at: self.opens_at,
            closes_at: self.closes_at,
        })
    }
}

impl ConsultationChanges {
    fn check(self) -> Result<ConsultationFields, ApiError> {
        let mut checks = Checks::new();
        let fields = ConsultationFields {
            title: self.title.and_then(|raw| title(&mut checks, &raw)),
            summary: self.summary.and_then(|raw| summary(&mut checks, &raw)),
            questions: self
                .questions
                .and_then(|asked| questions::checked(&mut checks, asked)),
            audience: self
                .audience
                .and_then(|audience| audience.check(&mut checks)),
            opens_at: self
                .opens_at
                .and_then(|at| storable(&mut checks, "opens_at", at)),
            closes_at: self
                .closes_at
                .and_then(|at| storable(&mut checks, "closes_at", at)),
        };
        checks.finish()?;
        Ok(fields)
    }
}

fn find_visible(
    conn: &mut DbConnection,
    access: &ConsultationAccess,
    id: i64,
) -> Result<ConsultationRow, ApiError> {
    consultations::table
        .filter(consultations::id.eq(id))
        .filter(access.condition())
        .select(ConsultationRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)
}

/// Consultation `id` read under its lock, for gov's changes.
fn find_for_change(uow: &mut UnitOfWork<'_>, id: i64) -> Result<ConsultationRow, ApiError> {
    uow.lock_consultation(id)?;
    find_visible(uow.conn, &ConsultationAccess::Government, id)
}

/// `row` as answered, with its files.
fn present(conn: &mut DbConnection, row: ConsultationRow) -> Result<Consultation, ApiError> {
    let files = crate::attachments::of(
        conn,
        <ConsultationFiles as crate::attachments::FileOwner>::owner(row.id),
    )?;
    Consultation::from_row(row, files)
}

fn answer(consultation: Consultation) -> HttpResponse {
    crate::concurrency::ok_with_etag(consultation.version, &consultation)
}

fn stored_json<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|error| ApiError::internal(error.to_string()))
}

/// Lists the consultations the caller sees, newest first.
///
/// gov users see all; a KIM's users those addressed to their KIM once opened; everyone
/// else public ones once opened.
#[utoipa::path(
    tag = "consultations",
    params(ConsultationFilter, PageParams),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "One page of consultations", body = Page<Consultation>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/consultations")]
pub async fn list_consultations(
    caller: MaybeCaller,
    db: web::Data<Db>,
    query: ListQuery<ConsultationFilter>,
) -> Result<web::Json<Page<Consultation>>, ApiError> {
    let MaybeCaller(caller) = caller;
    let ListQuery { page, filter } = query;
    let before: Option<i64> = page.after()?;
    let listed = db
        .read(move |conn| {
            let access = ConsultationAccess::of(conn, caller.as_ref())?;
            let at = now();
            let mut select = consultations::table
                .filter(access.condition())
                .select(ConsultationRow::as_select())
                .order(consultations::id.desc())
                .limit(page.fetch_limit())
                .into_boxed();
            select = match filter.status {
                None => select,
                Some(ConsultationStatus::Open) => select
                    .filter(consultations::status.eq(ConsultationStatus::Open))
                    .filter(consultations::closes_at.gt(at)),
                Some(ConsultationStatus::Closed) => select.filter(
                    consultations::status
                        .eq(ConsultationStatus::Closed)
                        .or(consultations::status
                            .eq(ConsultationStatus::Open)
                            .and(consultations::closes_at.le(at))),
                ),
                Some(status) => select.filter(consultations::status.eq(status)),
            };
            if let Some(before) = before {
                select = select.filter(consultations::id.lt(before));
            }
            let rows: Vec<ConsultationRow> = select.load(conn)?;
            let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
            let mut files = crate::attachments::of_many(
                conn,
                <ConsultationFiles as crate::attachments::FileOwner>::KIND,
                &ids,
            )?;
            let rows = rows
                .into_iter()
                .map(|row| {
                    let attached = files.remove(&row.id).unwrap_or_default();
                    Consultation::from_row(row, attached)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(rows, &page, |consultation| consultation.id))
        })
        .await?;
    Ok(web::Json(listed))
}

/// Drafts a consultation (gov). Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "consultations",
    params(IdempotencyKeyParam),
    request_body = NewConsultationRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The draft", body = Consultation,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/consultations")]
pub async fn create_consultation(
    caller: Authorized<GovOnly>,
    body: ApiJson<NewConsultationRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let ApiJson(request) = body;
    let new = request.check(caller.caller.user_id())?;
    creating
        .create_once(
            &caller.caller,
            move |uow| {
                new.audience.verify(uow.conn)?;
                let row = model::insert(uow.conn, &new)?;
                policy::CONSULTATION_AUDIENCE.write(uow.conn, row.id, &new.audience)?;
                uow.audit(
                    "consultation.created",
                    Some(Target::new("consultation", row.id)),
                    None,
                )?;
                let consultation = Consultation::from_row(row, Vec::new())?;
                let location = format!("/api/v1/consultations/{}", consultation.id);
                CreatedResponse::created(&consultation, location, consultation.version)
            },
            crate::idempotency::nothing_owed,
        )
        .await
}

/// One consultation the caller sees.
#[utoipa::path(
    tag = "consultations",
    params(("id" = i64, Path, description = "Consultation id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The consultation", body = Consultation, headers(("ETag" = String))),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/consultations/{id}")]
pub async fn get_consultation(
    caller: MaybeCaller,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let MaybeCaller(caller) = caller;
    let row = db
        .read(move |conn| {
            let access = ConsultationAccess::of(conn, caller.as_ref())?;
            let row = find_visible(conn, &access, id)?;
            present(conn, row)
        })
        .await?;
    Ok(answer(row))
}

fn not_draft(status: ConsultationStatus) -> ApiError {
    ApiError::conflict(
        "consultation_not_draft",
        format!(
            "The consultation is {}; only drafts change.",
            status.as_str()
        ),
        format!(
            "Konsultasi berstatus {}; hanya draf yang dapat diubah.",
            status.as_str()
        ),
    )
}

/// Changes a draft (gov).
#[utoipa::path(
    tag = "consultations",
    params(
        ("id" = i64, Path, description = "Consultation id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = ConsultationChanges,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The consultation", body = Consultation, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`consultation_not_draft`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[patch("/consultations/{id}")]
pub async fn update_consultation(
    caller: Authorized<GovOnly>,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: ApiJson<ConsultationChanges>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(changes) = body;
    let edit = changes.check()?;
    let row = db
        .unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
            let current = find_for_change(uow, id)?;
            if_match.check(current.version)?;
            let status = current.effective_status();
            if status != ConsultationStatus::Draft {
                return Err(not_draft(status));
            }
            let changeset = edit.changeset(&current)?;
            if let Some(audience) = &edit.audience {
                audience.verify(uow.conn)?;
                policy::CONSULTATION_AUDIENCE.write(uow.conn, id, audience)?;
            }
            let row = model::update(uow.conn, &current, &changeset)?;
            uow.audit(
                "consultation.updated",
                Some(Target::new("consultation", id)),
                None,
            )?;
            present(uow.conn, row)
        })
        .await?;
    Ok(answer(row))
}

/// Moves a consultation (gov): `open` a draft (emits `consultation.opened`), `closed`
/// an open one early, `concluded` a closed one with its `government_response` (emits
/// `consultation.concluded`).
#[utoipa::path(
    tag = "consultations",
    params(
        ("id" = i64, Path, description = "Consultation id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = ConsultationStatusRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The consultation", body = Consultation, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`invalid_transition`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/consultations/{id}/status")]
pub async fn change_consultation_status(
    caller: Authorized<GovOnly>,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: ApiJson<ConsultationStatusRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(request) = body;
    let change = request.check()?;
    let consultation = db
        .unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
            let row = lifecycle::change_status(uow, id, &if_match, &change)?;
            present(uow.conn, row)
        })
        .await?;
    Ok(answer(consultation))
}

/// Submits or revises the KIM's response (its kim_admin) while the consultation is
/// open: `409 consultation_closed` after `closes_at`, `409 consultation_not_open`
/// before `opens_at`. Answers are judged against the questions.
#[utoipa::path(
    tag = "consultations",
    params(("id" = i64, Path, description = "Consultation id")),
    request_body = ResponseRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The response, revised", body = ConsultationResponse),
        (status = 201, description = "The response, first submitted", body = ConsultationResponse),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`consultation_closed` or `consultation_not_open`; `kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[put("/consultations/{id}/responses/mine")]
pub async fn put_my_response(
    caller: Caller,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    body: ApiJson<ResponseRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(request) = body;
    request.check_count()?;
    let (created, row) = db
        .unit_of_work(Actor::from(&caller), origin, move |uow| {
            crate::kims::model::ensure_kim_user_may_write(uow, &caller)?;
            let access = ConsultationAccess::of(uow.conn, Some(&caller))?;
            let consultation = find_visible(uow.conn, &access, id)?;
            let kim = access.answering_kim()?;
            // One response per KIM: its writes queue on the KIM's lock.
            uow.lock_kim(kim)?;
            let at = now();
            lifecycle::ensure_takes_responses(&consultation, at)?;
            let write = request.check(&consultation.questions()?, caller.user_id())?;
            let row = model::save_response(uow.conn, id, kim, &write, at)?;
            uow.audit(
                "consultation.responded",
                Some(Target::new("consultation", id)),
                Some(format!("kim={kim} version={}", row.version)),
            )?;
            Ok((row.version == 1, row))
        })
        .await?;
    let response = ConsultationResponse::from_row(row)?;
    Ok(if created {
        HttpResponse::Created().json(response)
    } else {
        HttpResponse::Ok().json(response)
    })
}

/// The KIM's response, for its users.
#[utoipa::path(
    tag = "consultations",
    params(("id" = i64, Path, description = "Consultation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The response", body = ConsultationResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/consultations/{id}/responses/mine")]
pub async fn get_my_response(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<web::Json<ConsultationResponse>, ApiError> {
    let id = id.into_inner();
    let row = db
        .read(move |conn| {
            let access = ConsultationAccess::of(conn, Some(&caller))?;
            find_visible(conn, &access, id)?;
            let kim = access.kim()?;
            model::find_response(conn, id, kim)?.ok_or(ApiError::NotFound)
        })
        .await?;
    Ok(web::Json(ConsultationResponse::from_row(row)?))
}
