//! Information bulletins (SPEC §6): the government informs the community (top-down)
//! and KIMs inform each other (horizontal); KIMs confirm what reached how many
//! citizens. Who sees what is [`policy`]; the audience is [`audience`].

mod acknowledgements;
pub mod cap;
mod feed;
mod files;
pub mod lifecycle;
mod listing;
pub mod model;
pub mod policy;
mod seen;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;

pub use acknowledgements::{acknowledge, export_acknowledgements, list_acknowledgements};
use cap::{CapCategory, CapFields, Certainty, ResponseType, Severity, Urgency};
pub use cap::{alerts_feed, bulletin_alert};
pub use feed::atom_feed;
pub use files::{
    BulletinFiles, attach_upload, delete_attachment, download_attachment, list_attachments,
    upload_attachment,
};
pub use listing::list_bulletins;
use model::{Bulletin, BulletinEdit, BulletinRow, BulletinStatus, Category, NewBulletin, Priority};
use policy::BulletinAccess;

use crate::attachments::FileOwner;
use crate::audience::Audience;
use crate::audit::{Actor, RequestOrigin};
use crate::auth::{Caller, MaybeCaller};
use crate::concurrency::IfMatch;
use crate::db::schema::bulletins;
use crate::db::{Db, DbConnection};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::{ApiError, FieldIssue};
use crate::extract::ApiJson;
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, NotFound, PreconditionFailed, ServiceUnavailable,
    Unauthorized, Unprocessable,
};
use crate::unit_of_work::{Target, UnitOfWork};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBulletinRequest {
    #[schema(example = "Jadwal posyandu balita bulan Desember")]
    title: String,
    /// Plain text or Markdown, stored as written.
    body: String,
    category: Category,
    /// `normal` when absent.
    priority: Option<Priority>,
    audience: Audience,
    /// A future moment after which KIM users and the public no longer see it.
    expires_at: Option<DateTime<Utc>>,
    /// CAP `event` (urgent bulletins are CAP alerts): the kind of hazard, e.g.
    /// `Banjir`; left out, the category's name.
    event: Option<String>,
    /// CAP `category`; left out, from the bulletin's category.
    cap_category: Option<CapCategory>,
    /// CAP `urgency`; left out, from the bulletin's category.
    urgency: Option<Urgency>,
    /// CAP `severity`; left out, from the bulletin's category.
    severity: Option<Severity>,
    /// CAP `certainty`; left out, `likely`.
    certainty: Option<Certainty>,
    /// CAP `instruction`: what people should do.
    instruction: Option<String>,
    /// CAP `responseType`; left out, from the bulletin's category.
    response_type: Option<ResponseType>,
}

/// Changes to a draft or published bulletin; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulletinChanges {
    title: Option<String>,
    body: Option<String>,
    category: Option<Category>,
    priority: Option<Priority>,
    audience: Option<Audience>,
    /// `null` removes the expiry.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    expires_at: Option<Option<DateTime<Utc>>>,
    /// CAP fields (see `NewBulletinRequest`); `null` returns one to its default.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    event: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<CapCategory>)]
    cap_category: Option<Option<CapCategory>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<Urgency>)]
    urgency: Option<Option<Urgency>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<Severity>)]
    severity: Option<Option<Severity>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<Certainty>)]
    certainty: Option<Option<Certainty>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    instruction: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<ResponseType>)]
    response_type: Option<Option<ResponseType>>,
}

/// An expiry must lie ahead.
fn expiry(checks: &mut Checks, moment: DateTime<Utc>) -> Option<NaiveDateTime> {
    if moment <= crate::clock::now() {
        checks.push(FieldIssue::new(
            "expires_at",
            "in_past",
            "must be in the future",
            "harus di masa depan",
        ));
        return None;
    }
    checks.take(crate::domain::storable_moment("expires_at", moment))
}

impl NewBulletinRequest {
    fn check(self, caller: &Caller) -> Result<NewBulletin, ApiError> {
        let (origin, origin_kim_id) = policy::author_origin(caller)?;
        let mut checks = Checks::new();
        let title = checks.text("title", &self.title, limits::BULLETIN_TITLE, Lines::Single);
        let body = checks.text("body", &self.body, limits::BULLETIN_BODY, Lines::Multi);
        let audience = self.audience.check(&mut checks);
        let expires_at = self.expires_at.map(|moment| expiry(&mut checks, moment));
        let cap = CapFields {
            event: self.event,
            cap_category: self.cap_category,
            urgency: self.urgency,
            severity: self.severity,
            certainty: self.certainty,
            instruction: self.instruction,
            response_type: self.response_type,
        }
        .check(&mut checks);
        let (title, body, audience) = checks.finish_with((title, body, audience))?;
        if let Some(kim) = origin_kim_id {
            audience.allowed_for_kim(kim)?;
        }
        Ok(NewBulletin {
            origin,
            origin_kim_id,
            title,
            body,
            category: self.category,
            priority: self.priority.unwrap_or(Priority::Normal),
            audience,
            expires_at: expires_at.flatten(),
            author_id: caller.user_id(),
            cap: cap.stored(),
            alert_source_id: None,
            cap_identifier: None,
        })
    }
}

/// Changes to a bulletin's CAP fields: `None` leaves one, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
struct CapChanges {
    event: Option<Option<String>>,
    cap_category: Option<Option<CapCategory>>,
    urgency: Option<Option<Urgency>>,
    severity: Option<Option<Severity>>,
    certainty: Option<Option<Certainty>>,
    instruction: Option<Option<String>>,
    response_type: Option<Option<ResponseType>>,
}

impl CapChanges {
    fn touches(&self) -> bool {
        self.event.is_some()
            || self.cap_category.is_some()
            || self.urgency.is_some()
            || self.severity.is_some()
            || self.certainty.is_some()
            || self.instruction.is_some()
            || self.response_type.is_some()
    }

    /// `current`'s fields with these changes, as stored.
    fn applied_to(&self, current: &BulletinRow) -> Option<String> {
        let mut fields = CapFields::from_stored(current.cap.as_deref());
        fn change<T: Clone>(field: &mut Option<T>, to: &Option<Option<T>>) {
            if let Some(to) = to {
                field.clone_from(to);
            }
        }
        change(&mut fields.event, &self.event);
        change(&mut fields.cap_category, &self.cap_category);
        change(&mut fields.urgency, &self.urgency);
        change(&mut fields.severity, &self.severity);
        change(&mut fields.certainty, &self.certainty);
        change(&mut fields.instruction, &self.instruction);
        change(&mut fields.response_type, &self.response_type);
        fields.stored()
    }
}

impl BulletinChanges {
    fn check(self) -> Result<(BulletinEdit, CapChanges), ApiError> {
        let mut checks = Checks::new();
        let title = self
            .title
            .and_then(|title| checks.text("title", &title, limits::BULLETIN_TITLE, Lines::Single));
        let body = self
            .body
            .and_then(|body| checks.text("body", &body, limits::BULLETIN_BODY, Lines::Multi));
        let audience = self
            .audience
            .and_then(|audience| audience.check(&mut checks));
        let expires_at = self
            .expires_at
            .map(|change| change.and_then(|moment| expiry(&mut checks, moment)));
        let checked = CapFields {
            event: self.event.clone().flatten(),
            instruction: self.instruction.clone().flatten(),
            ..CapFields::default()
        }
        .check(&mut checks);
        checks.finish()?;
        let cap = CapChanges {
            event: self.event.map(|_| checked.event),
            cap_category: self.cap_category,
            urgency: self.urgency,
            severity: self.severity,
            certainty: self.certainty,
            instruction: self.instruction.map(|_| checked.instruction),
            response_type: self.response_type,
        };
        let edit = BulletinEdit {
            title,
            body,
            category: self.category,
            priority: self.priority,
            audience,
            expires_at,
            cap: None,
        };
        Ok((edit, cap))
    }
}

/// The bulletin `id` if `access` lets its caller see it; else 404.
fn find_visible(
    conn: &mut DbConnection,
    access: &BulletinAccess,
    id: i64,
) -> Result<BulletinRow, ApiError> {
    find_where(conn, id, access.condition())
}

/// The bulletin `id` if `access` lets its caller see it now or ever could (its CAP
/// alert, cancelled or not); else 404.
fn find_ever_visible(
    conn: &mut DbConnection,
    access: &BulletinAccess,
    id: i64,
) -> Result<BulletinRow, ApiError> {
    find_where(
        conn,
        id,
        Box::new(access.condition().or(access.could_have_seen())),
    )
}

/// The bulletin `id`, not deleted, if `condition` holds for it; else 404.
fn find_where(
    conn: &mut DbConnection,
    id: i64,
    condition: policy::BulletinCondition,
) -> Result<BulletinRow, ApiError> {
    bulletins::table
        .filter(bulletins::id.eq(id))
        .filter(bulletins::status.ne(model::StoredStatus::Deleted))
        .filter(condition)
        .select(BulletinRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)
}

/// The bulletin `id` as `caller` may change it, read under its lock: 404 when the
/// caller may not see it, 403 when it may see but not change it.
fn find_changeable(
    uow: &mut UnitOfWork<'_>,
    caller: &Caller,
    id: i64,
    may: fn(&Caller, &BulletinRow) -> Result<(), ApiError>,
) -> Result<BulletinRow, ApiError> {
    crate::kims::model::ensure_kim_user_may_write(uow, caller)?;
    uow.lock_bulletin(id)?;
    let access = BulletinAccess::of(uow.conn, Some(caller))?;
    let row = find_visible(uow.conn, &access, id)?;
    may(caller, &row)?;
    Ok(row)
}

fn answer(bulletin: Bulletin) -> HttpResponse {
    crate::concurrency::ok_with_etag(bulletin.version, &bulletin)
}

/// Writes a draft. gov users write government bulletins to any audience; a kim_admin
/// writes its KIM's bulletins to its own KIM (`kims` with its id), `all_kims` or
/// `public`. Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "bulletins",
    params(IdempotencyKeyParam),
    request_body = NewBulletinRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The draft", body = Bulletin,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 409, description = "`kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/bulletins")]
pub async fn create_bulletin(
    caller: Caller,
    body: ApiJson<NewBulletinRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let ApiJson(request) = body;
    let new = request.check(&caller)?;
    let replay_caller = caller.clone();
    creating
        .create_once(
            &caller,
            move |uow| {
                if let Some(kim) = new.origin_kim_id {
                    uow.lock_kim(kim)?;
                    crate::kims::model::find(uow.conn, kim)?
                        .ok_or(ApiError::Forbidden)?
                        .ensure_not_dissolved()?;
                }
                new.audience.verify(uow.conn)?;
                let row = model::insert(uow.conn, &new)?;
                uow.audit(
                    "bulletin.created",
                    Some(Target::new("bulletin", row.id)),
                    None,
                )?;
                let bulletin = Bulletin::from_row(row, true, Vec::new())?;
                let location = format!("/api/v1/bulletins/{}", bulletin.id);
                CreatedResponse::created(&bulletin, location, bulletin.version)
            },
            move |uow: &mut UnitOfWork<'_>, stored: &CreatedResponse| {
                // A replay shows the bulletin only to a caller who may still see it.
                let id = stored.body.get("id").and_then(serde_json::Value::as_i64);
                let access = BulletinAccess::of(uow.conn, Some(&replay_caller))?;
                find_visible(uow.conn, &access, id.ok_or(ApiError::NotFound)?).map(|_| ())
            },
        )
        .await
}

/// One bulletin, with its version as `ETag`; 404 when the caller may not see it.
/// With `Accept: application/cap+xml`, its CAP alert (as `GET /api/v1/bulletins/{id}.cap`).
#[utoipa::path(
    tag = "bulletins",
    params(("id" = i64, Path, description = "Bulletin id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The bulletin, or its CAP alert", content(
            (Bulletin = "application/json"), (crate::attachments::FileContent = "application/cap+xml")), headers(("ETag" = String))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/bulletins/{id}")]
pub async fn get_bulletin(
    caller: MaybeCaller,
    db: web::Data<Db>,
    id: web::Path<i64>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let MaybeCaller(caller) = caller;
    if wants_cap(&req) {
        let (Some(identity), Some(base)) = (
            req.app_data::<web::Data<cap::CapIdentity>>(),
            req.app_data::<web::Data<crate::config::PublicBaseUrl>>(),
        ) else {
            return Err(ApiError::internal("the CAP identity is not configured"));
        };
        let document =
            cap::alert_document(&db, caller, id, identity.get_ref().clone(), base.0.clone())
                .await?;
        return Ok(HttpResponse::Ok()
            .content_type(cap::document::CONTENT_TYPE)
            .insert_header((actix_web::http::header::VARY, "Accept"))
            .body(document));
    }
    let (bulletin, show_author) = db
        .read(move |conn| {
            let access = BulletinAccess::of(conn, caller.as_ref())?;
            let row = find_visible(conn, &access, id)?;
            let show_author = access.shows_authors();
            Ok((model::present(conn, row, show_author)?, show_author))
        })
        .await?;
    // The anonymous view leaves out the author: it is another representation.
    let etag = if show_author {
        crate::concurrency::etag(bulletin.version)
    } else {
        format!("\"{}-public\"", bulletin.version)
    };
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::ETAG, etag))
        .insert_header((actix_web::http::header::VARY, "Accept"))
        .json(&bulletin))
}

/// Whether the request asks for CAP rather than JSON.
fn wants_cap(req: &actix_web::HttpRequest) -> bool {
    req.headers()
        .get_all(actix_web::http::header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.contains(cap::document::CONTENT_TYPE))
}

/// Edits a draft or published bulletin (an archived one is final: 409).
///
/// Roles: gov users for government bulletins, the origin KIM's kim_admin for its KIM's.
/// Honours `If-Match`.
#[utoipa::path(
    tag = "bulletins",
    params(
        ("id" = i64, Path, description = "Bulletin id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = BulletinChanges,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed bulletin", body = Bulletin, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`bulletin_archived`; `kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[patch("/bulletins/{id}")]
pub async fn update_bulletin(
    caller: Caller,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: ApiJson<BulletinChanges>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(changes) = body;
    let (mut edit, cap_changes) = changes.check()?;
    let row = db
        .unit_of_work(Actor::from(&caller), origin, move |uow| {
            let current = find_changeable(uow, &caller, id, policy::may_change)?;
            if_match.check(current.version)?;
            if current.status == BulletinStatus::Archived {
                return Err(archived());
            }
            if cap_changes.touches() {
                edit.cap = Some(cap_changes.applied_to(&current));
            }
            if let Some(audience) = &edit.audience {
                if let Some(kim) = current.origin_kim_id {
                    audience.allowed_for_kim(kim)?;
                }
                audience.verify(uow.conn)?;
            }
            let row = model::update(uow.conn, &current, &edit)?;
            cap::messages::record(uow.conn, &current, &row)?;
            uow.audit("bulletin.updated", Some(Target::new("bulletin", id)), None)?;
            model::present(uow.conn, row, true)
        })
        .await?;
    Ok(answer(row))
}

/// Deletes a draft; a published or archived bulletin stays (archive it instead: 409).
///
/// Roles: as for editing.
#[utoipa::path(
    tag = "bulletins",
    params(("id" = i64, Path, description = "Bulletin id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`not_a_draft`; `kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[delete("/bulletins/{id}")]
pub async fn delete_bulletin(
    caller: Caller,
    db: web::Data<Db>,
    storage: web::Data<crate::attachments::Storage>,
    origin: RequestOrigin,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let files = db
        .unit_of_work(Actor::from(&caller), origin, move |uow| {
            let current = find_changeable(uow, &caller, id, policy::may_change)?;
            if current.status != BulletinStatus::Draft {
                return Err(ApiError::conflict(
                    "not_a_draft",
                    "Only drafts are deleted; archive a published bulletin instead.",
                    "Hanya draf yang dapat dihapus; arsipkan buletin yang sudah terbit.",
                ));
            }
            let files = crate::attachments::delete_all(uow.conn, BulletinFiles::owner(id))?;
            model::delete(uow.conn, &current)?;
            uow.audit("bulletin.deleted", Some(Target::new("bulletin", id)), None)?;
            Ok(files)
        })
        .await?;
    // Only once the rows are gone: a failed delete keeps its files.
    storage.remove(&files).await;
    Ok(HttpResponse::NoContent().finish())
}

fn archived() -> ApiError {
    ApiError::conflict(
        "bulletin_archived",
        "This bulletin is archived; it no longer changes.",
        "Buletin ini sudah diarsipkan; tidak dapat diubah lagi.",
    )
}

/// Moves a bulletin `draft → published` or `published → archived`, with its audit
/// record and outbox event in the same transaction.
async fn move_status(
    caller: Caller,
    db: &Db,
    origin: RequestOrigin,
    id: i64,
    if_match: IfMatch,
    to: BulletinStatus,
) -> Result<HttpResponse, ApiError> {
    let may = match to {
        BulletinStatus::Archived => policy::may_archive,
        _ => policy::may_change,
    };
    let row = db
        .unit_of_work(Actor::from(&caller), origin, move |uow| {
            let current = find_changeable(uow, &caller, id, may)?;
            if_match.check(current.version)?;
            let row = lifecycle::change_status(uow, &current, to)?;
            model::present(uow.conn, row, true)
        })
        .await?;
    Ok(answer(row))
}

/// Publishes a draft: KIM users of its audience (and the public, for `public`) see it
/// from now on; the active KIMs it addresses are counted for the reach rate.
///
/// Roles: as for editing. Honours `If-Match`.
#[utoipa::path(
    tag = "bulletins",
    params(
        ("id" = i64, Path, description = "Bulletin id"),
        crate::openapi::IfMatchParam,
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The published bulletin", body = Bulletin, headers(("ETag" = String))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`invalid_transition`; `kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/bulletins/{id}/publish")]
pub async fn publish_bulletin(
    caller: Caller,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    move_status(
        caller,
        &db,
        origin,
        id.into_inner(),
        if_match,
        BulletinStatus::Published,
    )
    .await
}

/// Archives a published bulletin: it leaves KIM users' and the public's view.
///
/// Roles: as for editing, and gov users for any bulletin. Honours `If-Match`.
#[utoipa::path(
    tag = "bulletins",
    params(
        ("id" = i64, Path, description = "Bulletin id"),
        crate::openapi::IfMatchParam,
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The archived bulletin", body = Bulletin, headers(("ETag" = String))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`invalid_transition`; `kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/bulletins/{id}/archive")]
pub async fn archive_bulletin(
    caller: Caller,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    move_status(
        caller,
        &db,
        origin,
        id.into_inner(),
        if_match,
        BulletinStatus::Archived,
    )
    .await
}
