//! Nominations and attendance: a kim_admin nominates active members of its own KIM
//! for a planned session addressed to it, before it starts, while seats are free;
//! gov records after the start who attended.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;

use super::model::{self, Participant, ParticipantRow, SessionRow, SessionStatus};
use super::policy::SessionAccess;
use super::{find_visible, not_planned};
use crate::audit::{Actor, RequestOrigin};
use crate::auth::{Authorized, Caller, GovOnly};
use crate::db::schema::{kim_members, mentoring_participants};
use crate::db::{Db, DbConnection, now};
use crate::error::{ApiError, FieldIssue};
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidQuery, NotFound, ServiceUnavailable,
    Unauthorized, Unprocessable,
};
use crate::pagination::{Page, PageParams};
use crate::unit_of_work::{Target, UnitOfWork};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NominationRequest {
    /// An active member of the caller's KIM.
    member_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceRequest {
    attended: bool,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParticipantFilter {
    /// gov only: the nominations of one KIM.
    kim_id: Option<i64>,
}

fn started_already() -> ApiError {
    ApiError::conflict(
        "session_started",
        "The session has started; nominations are closed.",
        "Sesi sudah dimulai; nominasi ditutup.",
    )
}

/// Participants with their members' names.
fn presented(
    conn: &mut DbConnection,
    rows: Vec<ParticipantRow>,
) -> Result<Vec<Participant>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|row| row.member_id).collect();
    let names: std::collections::HashMap<i64, String> = kim_members::table
        .filter(kim_members::id.eq_any(&ids))
        .select((kim_members::id, kim_members::full_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    rows.into_iter()
        .map(|row| {
            let name = names
                .get(&row.member_id)
                .cloned()
                .ok_or_else(|| ApiError::internal("a participant's member is missing"))?;
            Ok(Participant::from_row(row, name))
        })
        .collect()
}

/// The nomination `pid` of session `session_id`, if the caller's view holds it:
/// gov sees all, a KIM's users their own KIM's.
fn find_participant(
    conn: &mut DbConnection,
    access: &SessionAccess,
    session_id: i64,
    pid: i64,
) -> Result<ParticipantRow, ApiError> {
    let mut query = mentoring_participants::table
        .filter(mentoring_participants::id.eq(pid))
        .filter(mentoring_participants::session_id.eq(session_id))
        .select(ParticipantRow::as_select())
        .into_boxed();
    if let Some(kim) = access.kim() {
        query = query.filter(mentoring_participants::kim_id.eq(kim));
    }
    query.first(conn).optional()?.ok_or(ApiError::NotFound)
}

/// Lists a session's nominations, oldest first: every KIM's for gov, their own KIM's
/// for a KIM's users.
#[utoipa::path(
    tag = "mentoring",
    params(("id" = i64, Path, description = "Session id"), ParticipantFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of nominations", body = Page<Participant>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/mentoring-sessions/{id}/participants")]
pub async fn list_participants(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
    query: ListQuery<ParticipantFilter>,
) -> Result<web::Json<Page<Participant>>, ApiError> {
    let id = id.into_inner();
    let ListQuery { page, filter } = query;
    let after: Option<i64> = page.after()?;
    if filter.kim_id.is_some() {
        super::policy::may_filter_by_kim(&caller)?;
    }
    let listed = db
        .read(move |conn| {
            let access = SessionAccess::of(conn, &caller)?;
            find_visible(conn, &access, id)?;
            let mut select = mentoring_participants::table
                .filter(mentoring_participants::session_id.eq(id))
                .select(ParticipantRow::as_select())
                .order(mentoring_participants::id)
                .limit(page.fetch_limit())
                .into_boxed();
            if let Some(kim) = access.kim().or(filter.kim_id) {
                select = select.filter(mentoring_participants::kim_id.eq(kim));
            }
            if let Some(after) = after {
                select = select.filter(mentoring_participants::id.gt(after));
            }
            let rows = select.load(conn)?;
            let participants = presented(conn, rows)?;
            Ok(Page::from_rows(participants, &page, |participant| {
                participant.id
            }))
        })
        .await?;
    Ok(web::Json(listed))
}

/// Nominates a member of the caller's KIM (kim_admin): `409 session_full` when no
/// seat is free, `409 already_nominated`, `409 session_started` once it began.
#[utoipa::path(
    tag = "mentoring",
    params(("id" = i64, Path, description = "Session id"), IdempotencyKeyParam),
    request_body = NominationRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The nomination", body = Participant, headers(("Location" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`session_full`, `already_nominated`, `session_started` or `session_not_planned`; `kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/mentoring-sessions/{id}/participants")]
pub async fn nominate(
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<NominationRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(NominationRequest { member_id }) = body;
    let nominator = caller.clone();
    creating
        .create_once(
            &caller,
            move |uow| {
                crate::kims::model::ensure_kim_user_may_write(uow, &nominator)?;
                let (access, session) = locked_session(uow, &nominator, id)?;
                let kim = access.nominating_kim()?;
                // Under the KIM's lock a member cannot leave while being nominated.
                uow.lock_kim(kim)?;
                open_for_nominations(&session)?;
                if !crate::members::model::is_active_member(uow.conn, kim, member_id)? {
                    return Err(not_an_active_member());
                }
                let row = seat(uow.conn, id, kim, member_id, nominator.user_id())?;
                uow.audit(
                    "session.nominated",
                    Some(Target::new("mentoring_session", id)),
                    Some(serde_json::json!({"participant_id": row.id, "kim_id": kim}).to_string()),
                )?;
                let participant = presented(uow.conn, vec![row])?
                    .pop()
                    .ok_or_else(|| ApiError::internal("a nomination vanished"))?;
                let location = format!(
                    "/api/v1/mentoring-sessions/{id}/participants/{}",
                    participant.id
                );
                CreatedResponse::created(&participant, location, 1)
            },
            crate::idempotency::nothing_owed,
        )
        .await
}

/// Gives `member_id` of `kim` a seat of session `id`: once per member, while seats last.
fn seat(
    conn: &mut DbConnection,
    id: i64,
    kim: i64,
    member_id: i64,
    by: Option<i64>,
) -> Result<ParticipantRow, ApiError> {
    let already: Option<i64> = mentoring_participants::table
        .filter(mentoring_participants::session_id.eq(id))
        .filter(mentoring_participants::member_id.eq(member_id))
        .select(mentoring_participants::id)
        .first(conn)
        .optional()?;
    if already.is_some() {
        return Err(already_nominated());
    }
    if !model::take_seat(conn, id)? {
        return Err(ApiError::conflict(
            "session_full",
            "Every seat of the session is taken.",
            "Semua kursi sesi sudah terisi.",
        ));
    }
    // The unique (session, member) key settles two simultaneous nominations of one
    // member: the second insert fails and its seat goes back with its rolled-back
    // transaction.
    diesel::insert_into(mentoring_participants::table)
        .values((
            mentoring_participants::session_id.eq(id),
            mentoring_participants::kim_id.eq(kim),
            mentoring_participants::member_id.eq(member_id),
            mentoring_participants::nominated_by.eq(by),
            mentoring_participants::nominated_at.eq(now()),
        ))
        .returning(mentoring_participants::all_columns)
        .get_result(conn)
        .map_err(|error| match ApiError::from(error) {
            ApiError::Conflict { .. } => already_nominated(),
            other => other,
        })
}

fn not_an_active_member() -> ApiError {
    ApiError::Validation(vec![FieldIssue::new(
        "member_id",
        "not_an_active_member",
        "no active member of your KIM has this id",
        "tidak ada anggota aktif KIM Anda dengan id ini",
    )])
}

fn already_nominated() -> ApiError {
    ApiError::conflict(
        "already_nominated",
        "The member is already nominated for this session.",
        "Anggota sudah dinominasikan untuk sesi ini.",
    )
}

fn open_for_nominations(session: &SessionRow) -> Result<(), ApiError> {
    let status = session.status;
    if status != SessionStatus::Planned {
        return Err(not_planned(status));
    }
    if session.started() {
        return Err(started_already());
    }
    Ok(())
}

/// Session `id` locked and visible to `caller`, with the caller's view.
fn locked_session(
    uow: &mut UnitOfWork<'_>,
    caller: &Caller,
    id: i64,
) -> Result<(SessionAccess, SessionRow), ApiError> {
    uow.lock_session(id)?;
    let access = SessionAccess::of(uow.conn, caller)?;
    let session = find_visible(uow.conn, &access, id)?;
    Ok((access, session))
}

/// Withdraws a nomination before the session starts: the nominating KIM's kim_admin,
/// or gov. The seat is free again.
#[utoipa::path(
    tag = "mentoring",
    params(
        ("id" = i64, Path, description = "Session id"),
        ("pid" = i64, Path, description = "Nomination id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 400, response = crate::openapi::InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`session_started` or `session_not_planned`; `kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[delete("/mentoring-sessions/{id}/participants/{pid}")]
pub async fn withdraw(
    caller: Caller,
    db: web::Data<Db>,
    origin: RequestOrigin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, pid) = path.into_inner();
    let actor = Actor::from(&caller);
    db.unit_of_work(actor, origin, move |uow| {
        crate::kims::model::ensure_kim_user_may_write(uow, &caller)?;
        let (access, session) = locked_session(uow, &caller, id)?;
        let participant = find_participant(uow.conn, &access, id, pid)?;
        access.may_withdraw()?;
        open_for_nominations(&session)?;
        diesel::delete(mentoring_participants::table.find(participant.id)).execute(uow.conn)?;
        model::free_seat(uow.conn, id)?;
        uow.audit(
            "session.nomination_withdrawn",
            Some(Target::new("mentoring_session", id)),
            Some(
                serde_json::json!({"participant_id": pid, "kim_id": participant.kim_id})
                    .to_string(),
            ),
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Records whether a nominee attended (gov), once the session has started and
/// unless it was cancelled.
#[utoipa::path(
    tag = "mentoring",
    params(
        ("id" = i64, Path, description = "Session id"),
        ("pid" = i64, Path, description = "Nomination id"),
    ),
    request_body = AttendanceRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The nomination", body = Participant),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`session_not_started` or `session_not_planned` (cancelled)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[patch("/mentoring-sessions/{id}/participants/{pid}")]
pub async fn record_attendance(
    caller: Authorized<GovOnly>,
    db: web::Data<Db>,
    origin: RequestOrigin,
    path: web::Path<(i64, i64)>,
    body: ApiJson<AttendanceRequest>,
) -> Result<web::Json<Participant>, ApiError> {
    let (id, pid) = path.into_inner();
    let ApiJson(AttendanceRequest { attended }) = body;
    let gov = caller.caller.clone();
    let participant = db
        .unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
            let (access, session) = locked_session(uow, &gov, id)?;
            let participant = find_participant(uow.conn, &access, id, pid)?;
            let status = session.status;
            if status == SessionStatus::Cancelled {
                return Err(not_planned(status));
            }
            if !session.started() {
                return Err(ApiError::conflict(
                    "session_not_started",
                    "Attendance is recorded once the session has started.",
                    "Kehadiran dicatat setelah sesi dimulai.",
                ));
            }
            let row: ParticipantRow =
                diesel::update(mentoring_participants::table.find(participant.id))
                    .set((
                        mentoring_participants::attended.eq(Some(attended)),
                        mentoring_participants::attendance_recorded_at.eq(Some(now())),
                    ))
                    .returning(mentoring_participants::all_columns)
                    .get_result(uow.conn)?;
            uow.audit(
                "session.attendance_recorded",
                Some(Target::new("mentoring_session", id)),
                Some(serde_json::json!({"participant_id": pid, "attended": attended}).to_string()),
            )?;
            presented(uow.conn, vec![row])?
                .pop()
                .ok_or_else(|| ApiError::internal("a nomination vanished"))
        })
        .await?;
    Ok(web::Json(participant))
}
