//! Mentoring sessions (SPEC §10): Diskominfo plans pendampingan, trainings,
//! socialisations and coordination meetings for an audience of KIMs; kim_admins
//! nominate members of their KIM up to the session's capacity; after it, gov records
//! who attended and marks it held (or cancels it). Who sees what is [`policy`].

mod lifecycle;
mod listing;
pub mod model;
mod participants;
pub mod policy;

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};

use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

pub use listing::list_sessions;
pub use participants::{list_participants, nominate, record_attendance, withdraw};

use model::{
    NewSession, Session, SessionEdit, SessionKind, SessionRow, SessionStatus, SessionTopic,
};
use policy::SessionAccess;

use crate::audience::Audience;
use crate::audit::{Actor, RequestOrigin};
use crate::auth::{Authorized, Caller, GovOnly};
use crate::concurrency::IfMatch;
use crate::db::schema::mentoring_sessions;
use crate::db::{Db, DbConnection};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::{ApiError, FieldIssue};
use crate::events::EventType;
use crate::extract::ApiJson;
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, NotFound, PreconditionFailed, ServiceUnavailable,
    Unauthorized, Unprocessable,
};
use crate::unit_of_work::{Event, Target, UnitOfWork};

/// Most seats one session offers.
pub const MAX_CAPACITY: i32 = 10_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSessionRequest {
    #[schema(example = "Pelatihan jurnalistik warga angkatan 3")]
    title: String,
    kind: SessionKind,
    topic: SessionTopic,
    /// A future moment.
    starts_at: DateTime<Utc>,
    /// After `starts_at`.
    ends_at: DateTime<Utc>,
    #[schema(example = "Aula Diskominfo Kota Metro")]
    location: String,
    audience: Audience,
    /// Members it seats, over every KIM.
    #[schema(minimum = 1, maximum = 10_000)]
    capacity: i32,
}

/// Changes to a planned session; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionChanges {
    title: Option<String>,
    kind: Option<SessionKind>,
    topic: Option<SessionTopic>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    location: Option<String>,
    audience: Option<Audience>,
    /// Not below the members already nominated.
    #[schema(minimum = 1, maximum = 10_000)]
    capacity: Option<i32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionStatusRequest {
    /// `held` once it has started, or `cancelled`.
    status: SessionStatus,
}

/// A moment a database of either kind stores, strictly after `after` when given.
fn moment(
    checks: &mut Checks,
    field: &str,
    at: DateTime<Utc>,
    after: Option<(NaiveDateTime, &str)>,
) -> Option<NaiveDateTime> {
    let naive = checks.take(crate::domain::storable_moment(field, at))?;
    if let Some((earlier, name)) = after
        && naive <= earlier
    {
        checks.push(FieldIssue::new(
            field,
            "too_early",
            format!("must be after {name}"),
            format!("harus setelah {name}"),
        ));
        return None;
    }
    Some(naive)
}

fn capacity(checks: &mut Checks, capacity: i32) -> Option<i32> {
    if (1..=MAX_CAPACITY).contains(&capacity) {
        return Some(capacity);
    }
    checks.push(FieldIssue::new(
        "capacity",
        "out_of_range",
        format!("must be between 1 and {MAX_CAPACITY}"),
        format!("harus antara 1 dan {MAX_CAPACITY}"),
    ));
    None
}

impl NewSessionRequest {
    fn check(self, caller: &Caller) -> Result<NewSession, ApiError> {
        let mut checks = Checks::new();
        let title = checks.text("title", &self.title, limits::SESSION_TITLE, Lines::Single);
        let location = checks.text(
            "location",
            &self.location,
            limits::SESSION_LOCATION,
            Lines::Single,
        );
        let now = crate::db::now();
        let starts_at = moment(&mut checks, "starts_at", self.starts_at, Some((now, "now")));
        let ends_at = starts_at.and_then(|starts_at| {
            moment(
                &mut checks,
                "ends_at",
                self.ends_at,
                Some((starts_at, "starts_at")),
            )
        });
        let audience = self.audience.check(&mut checks);
        let capacity = capacity(&mut checks, self.capacity);
        let (title, location, starts_at, ends_at, audience, capacity) =
            checks.finish_with((title, location, starts_at, ends_at, audience, capacity))?;
        Ok(NewSession {
            title,
            kind: self.kind,
            topic: self.topic,
            starts_at,
            ends_at,
            location,
            audience,
            capacity,
            created_by: caller.user_id(),
        })
    }
}

impl SessionChanges {
    fn check(self) -> Result<SessionEdit, ApiError> {
        let mut checks = Checks::new();
        let title = self
            .title
            .and_then(|title| checks.text("title", &title, limits::SESSION_TITLE, Lines::Single));
        let location = self.location.and_then(|location| {
            checks.text(
                "location",
                &location,
                limits::SESSION_LOCATION,
                Lines::Single,
            )
        });
        let starts_at = self.starts_at.and_then(|at| {
            moment(
                &mut checks,
                "starts_at",
                at,
                Some((crate::db::now(), "now")),
            )
        });
        // Against the stored start too, once the session is read.
        let ends_at = self
            .ends_at
            .and_then(|at| moment(&mut checks, "ends_at", at, None));
        let audience = self
            .audience
            .and_then(|audience| audience.check(&mut checks));
        let capacity = self.capacity.and_then(|value| capacity(&mut checks, value));
        checks.finish()?;
        Ok(SessionEdit {
            title,
            kind: self.kind,
            topic: self.topic,
            starts_at,
            ends_at,
            location,
            audience,
            capacity,
        })
    }
}

/// The session `id` if the caller may see it; else 404.
fn find_visible(
    conn: &mut DbConnection,
    access: &SessionAccess,
    id: i64,
) -> Result<SessionRow, ApiError> {
    mentoring_sessions::table
        .filter(mentoring_sessions::id.eq(id))
        .filter(access.condition())
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)
}

/// Session `id` read under its lock, for gov's changes.
fn find_for_change(uow: &mut UnitOfWork<'_>, id: i64) -> Result<SessionRow, ApiError> {
    uow.lock_session(id)?;
    find_visible(uow.conn, &SessionAccess::Government, id)
}

fn not_planned(status: SessionStatus) -> ApiError {
    ApiError::conflict(
        "session_not_planned",
        format!(
            "The session is {}; only planned sessions change.",
            status.as_str()
        ),
        format!(
            "Sesi berstatus {}; hanya sesi terencana yang dapat diubah.",
            status.as_str()
        ),
    )
}

fn answer(session: Session) -> HttpResponse {
    crate::concurrency::ok_with_etag(session.version, &session)
}

/// Plans a session (gov). Emits `session.scheduled`. Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "mentoring",
    params(IdempotencyKeyParam),
    request_body = NewSessionRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The planned session", body = Session,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/mentoring-sessions")]
pub async fn create_session(
    caller: Authorized<GovOnly>,
    _db: web::Data<Db>,
    body: ApiJson<NewSessionRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let ApiJson(request) = body;
    let new = request.check(&caller.caller)?;
    creating
        .create_once(
            &caller.caller,
            move |uow| {
                new.audience.verify(uow.conn)?;
                let row = model::insert(uow.conn, &new)?;
                let target = Target::new("mentoring_session", row.id);
                uow.audit("session.created", Some(target.clone()), None)?;
                uow.emit(Event::new(
                    EventType::SessionScheduled,
                    target,
                    json!({
                        "session_id": row.id,
                        "kind": row.kind,
                        "topic": row.topic,
                        "starts_at": crate::db::utc(row.starts_at),
                        "audience_scope": row.audience_scope,
                    }),
                ))?;
                let session = Session::from_row(row)?;
                let location = format!("/api/v1/mentoring-sessions/{}", session.id);
                CreatedResponse::created(&session, location, session.version)
            },
            crate::idempotency::nothing_owed,
        )
        .await
}

/// One session the caller sees.
#[utoipa::path(
    tag = "mentoring",
    params(("id" = i64, Path, description = "Session id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session", body = Session, headers(("ETag" = String))),
        (status = 400, response = crate::openapi::InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/mentoring-sessions/{id}")]
pub async fn get_session(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db
        .read(move |conn| {
            let access = SessionAccess::of(conn, &caller)?;
            find_visible(conn, &access, id)
        })
        .await?;
    Ok(answer(Session::from_row(row)?))
}

/// Changes a planned session (gov). Capacity cannot drop below the nominations held.
#[utoipa::path(
    tag = "mentoring",
    params(
        ("id" = i64, Path, description = "Session id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = SessionChanges,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session", body = Session, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`session_not_planned` or `capacity_below_nominations`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[patch("/mentoring-sessions/{id}")]
pub async fn update_session(
    caller: Authorized<GovOnly>,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: ApiJson<SessionChanges>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(changes) = body;
    let edit = changes.check()?;
    let row = db
        .unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
            let current = find_for_change(uow, id)?;
            if_match.check(current.version)?;
            let status = current.status;
            if status != SessionStatus::Planned {
                return Err(not_planned(status));
            }
            let starts_at = edit.starts_at.unwrap_or(current.starts_at);
            if edit.ends_at.unwrap_or(current.ends_at) <= starts_at {
                return Err(ApiError::Validation(vec![FieldIssue::new(
                    "ends_at",
                    "too_early",
                    "must be after starts_at",
                    "harus setelah starts_at",
                )]));
            }
            if let Some(audience) = &edit.audience {
                audience.verify(uow.conn)?;
            }
            if edit
                .capacity
                .is_some_and(|capacity| capacity < current.nominated)
            {
                return Err(ApiError::conflict(
                    "capacity_below_nominations",
                    format!("{} members are already nominated.", current.nominated),
                    format!(
                        "Sudah ada {} anggota yang dinominasikan.",
                        current.nominated
                    ),
                ));
            }
            let row =
                model::update(uow.conn, &current, &edit)?.ok_or(ApiError::PreconditionFailed)?;
            uow.audit(
                "session.updated",
                Some(Target::new("mentoring_session", id)),
                None,
            )?;
            Ok(row)
        })
        .await?;
    Ok(answer(Session::from_row(row)?))
}

/// Marks a session held (once it has started) or cancels it (gov).
#[utoipa::path(
    tag = "mentoring",
    params(
        ("id" = i64, Path, description = "Session id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = SessionStatusRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session", body = Session, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`invalid_transition` or `session_not_started`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/mentoring-sessions/{id}/status")]
pub async fn change_session_status(
    caller: Authorized<GovOnly>,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: ApiJson<SessionStatusRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(SessionStatusRequest { status: to }) = body;
    lifecycle::settable(to)?;
    let row = db
        .unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
            let current = find_for_change(uow, id)?;
            if_match.check(current.version)?;
            lifecycle::change_status(uow, &current, to)
        })
        .await?;
    Ok(answer(Session::from_row(row)?))
}
