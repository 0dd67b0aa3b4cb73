//! Feedback after resolution (SPEC §11), the question LAPOR and FixMyStreet ask: within
//! ten days of `resolved`, the submitting KIM's users say whether they are satisfied.
//! One answer per respondent; "not satisfied" reopens the report (the reopening rule of
//! the workflow) with the comment on its timeline.

use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{ReportRow, ReportStatus};
use super::policy::ReportAccess;
use super::timeline::{Author, AuthorSide};
use super::workflow::{Mover, ReportMove};
use crate::audit::{Actor, RequestOrigin};
use crate::auth::Caller;
use crate::db::schema::report_feedback;
use crate::db::{Db, DbConnection, now, utc};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::openapi::{
    Forbidden, InvalidBody, NotFound, ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::unit_of_work::{Target, UnitOfWork};

/// How long after its resolution a report takes feedback.
pub const FEEDBACK_DAYS: i64 = 10;

/// Whether the resolution satisfied the respondent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    pub(crate) satisfied: bool,
    /// Why; when not satisfied it goes on the report's public timeline.
    pub(crate) comment: Option<String>,
}

/// A respondent's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Feedback {
    pub report_id: i64,
    pub satisfied: bool,
    pub comment: Option<String>,
    /// Whether the answer reopened the report.
    pub reopened: bool,
    pub created_at: DateTime<Utc>,
}

/// A checked answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub satisfied: bool,
    pub comment: Option<String>,
}

impl FeedbackRequest {
    pub(crate) fn check(self) -> Result<Answer, ApiError> {
        let mut checks = Checks::new();
        let comment = checks.changed_text(
            "comment",
            Some(self.comment.as_deref()),
            limits::TIMELINE_BODY,
            Lines::Multi,
        );
        let (comment,) = checks.finish_with((comment,))?;
        Ok(Answer {
            satisfied: self.satisfied,
            comment,
        })
    }
}

/// `409 feedback_closed` unless `report` is resolved and its ten days have not passed.
fn ensure_takes_feedback(report: &ReportRow, at: NaiveDateTime) -> Result<(), ApiError> {
    let open = report.status == ReportStatus::Resolved
        && report
            .resolved_at
            .is_some_and(|resolved| at - resolved <= Duration::days(FEEDBACK_DAYS));
    if open {
        return Ok(());
    }
    Err(ApiError::conflict(
        "feedback_closed",
        format!("Feedback is taken within {FEEDBACK_DAYS} days of a report's resolution."),
        format!("Tanggapan diterima dalam {FEEDBACK_DAYS} hari setelah laporan selesai."),
    ))
}

/// Records `answer` of `respondent` on `report_id`; false when it answered before.
fn record(
    conn: &mut DbConnection,
    report_id: i64,
    respondent: &str,
    answer: &Answer,
    at: NaiveDateTime,
) -> Result<bool, ApiError> {
    let insert = diesel::insert_into(report_feedback::table).values((
        report_feedback::report_id.eq(report_id),
        report_feedback::respondent.eq(respondent),
        report_feedback::satisfied.eq(answer.satisfied),
        report_feedback::comment.eq(answer.comment.as_deref()),
        report_feedback::created_at.eq(at),
    ));
    // MultiConnection has no ON CONFLICT: it goes per backend.
    let inserted = crate::on_backend!(conn, |c| insert.on_conflict_do_nothing().execute(c))?;
    Ok(inserted == 1)
}

/// Records the answer and, when not satisfied, reopens the report, under its lock: of
/// two answers at once, the second finds it reopened.
fn answer_once(
    uow: &mut UnitOfWork<'_>,
    caller: &Caller,
    report_id: i64,
    answer: &Answer,
) -> Result<(bool, NaiveDateTime), ApiError> {
    let access = ReportAccess::of(uow.conn, caller)?;
    uow.lock_report(report_id)?;
    let report = super::find_visible(uow.conn, &access, report_id)?;
    access.may_give_feedback(&report)?;
    let respondent = format!("user:{}", caller.user_id().ok_or(ApiError::Forbidden)?);
    let reopener = (Mover::SubmittingKim, access.author(caller));
    settle(uow, &report, &respondent, answer, reopener)
}

/// Records the answer of a citizen following report `report_id` (subscription
/// `subscription`) and, when not satisfied, reopens the report, under its lock.
pub(crate) fn answer_as_citizen(
    uow: &mut UnitOfWork<'_>,
    report_id: i64,
    subscription: i64,
    answer: &Answer,
) -> Result<(bool, NaiveDateTime), ApiError> {
    uow.lock_report(report_id)?;
    let report = super::model::find(uow.conn, report_id)?.ok_or(ApiError::NotFound)?;
    let citizen = Author {
        user_id: None,
        client_id: None,
        side: AuthorSide::Citizen,
    };
    settle(
        uow,
        &report,
        &format!("citizen:{subscription}"),
        answer,
        (Mover::Citizen, citizen),
    )
}

/// Records `respondent`'s answer on the locked `report` once, within its ten days, and
/// reopens it as `reopener` when not satisfied.
fn settle(
    uow: &mut UnitOfWork<'_>,
    report: &ReportRow,
    respondent: &str,
    answer: &Answer,
    reopener: (Mover, Author),
) -> Result<(bool, NaiveDateTime), ApiError> {
    let at = now();
    ensure_takes_feedback(report, at)?;
    if !record(uow.conn, report.id, respondent, answer, at)? {
        return Err(ApiError::conflict(
            "feedback_given",
            "You already said whether this resolution satisfied you.",
            "Anda sudah memberi tanggapan atas penyelesaian laporan ini.",
        ));
    }
    uow.audit(
        "report.feedback",
        Some(Target::new("report", report.id)),
        Some(format!("satisfied={}", answer.satisfied)),
    )?;
    if answer.satisfied {
        return Ok((false, at));
    }
    let reopen = ReportMove {
        to: ReportStatus::InProgress,
        note: answer.comment.clone(),
        agency: None,
    };
    let (mover, author) = reopener;
    reopen.apply_as(uow, mover, author, report)?;
    Ok((true, at))
}

/// Says whether a report's resolution satisfied the caller: users of the submitting
/// KIM, once each, within 10 days of `resolved`. `satisfied: false` reopens the report
/// (`resolved → in_progress`) with the comment on its public timeline.
#[utoipa::path(
    tag = "reports",
    params(("id" = i64, Path, description = "Report id")),
    request_body = FeedbackRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The answer, recorded", body = Feedback),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`feedback_closed`: not resolved, or resolved more than 10 days ago; `feedback_given`: the caller answered already; `kim_dissolved`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/reports/{id}/feedback")]
pub async fn give_feedback(
    caller: Caller,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    body: ApiJson<FeedbackRequest>,
) -> Result<HttpResponse, ApiError> {
    let report_id = id.into_inner();
    let ApiJson(request) = body;
    let answer = request.check()?;
    let given = answer.clone();
    let (reopened, at) = db
        .unit_of_work(Actor::from(&caller), origin, move |uow| {
            crate::kims::model::ensure_kim_user_may_write(uow, &caller)?;
            answer_once(uow, &caller, report_id, &given)
        })
        .await?;
    Ok(HttpResponse::Created().json(Feedback {
        report_id,
        satisfied: answer.satisfied,
        comment: answer.comment,
        reopened,
        created_at: utc(at),
    }))
}

/// The answers given from `start` (included) to `end` (excluded): how many, and how
/// many of them satisfied.
pub fn satisfaction(
    conn: &mut DbConnection,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> Result<(i64, i64), ApiError> {
    let in_period = report_feedback::created_at
        .ge(start)
        .and(report_feedback::created_at.lt(end));
    let answers: i64 = report_feedback::table
        .filter(in_period)
        .count()
        .get_result(conn)?;
    let satisfied: i64 = report_feedback::table
        .filter(in_period)
        .filter(report_feedback::satisfied.eq(true))
        .count()
        .get_result(conn)?;
    Ok((answers, satisfied))
}
