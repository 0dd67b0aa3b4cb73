//! Members of a KIM (SPEC §5): 3–30 active members, one active ketua, one active
//! membership per person across all KIMs. NIK and phone are encrypted at rest; the NIK
//! is shown whole only to gov_admin and the KIM's own kim_admin, and each answer that
//! shows one is audited. Members are never visible anonymously.

pub mod model;
pub mod policy;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use model::find_member;
pub use model::{GenderValue, Member, MemberRow, MemberStatus, MemberView, Position};

use crate::audit::{Actor, RequestOrigin};
use crate::auth::Caller;
use crate::concurrency::{IfMatch, ok_with_etag};
use crate::crypto::PersonalDataCipher;
use crate::db::schema::{kim_members, kims};
use crate::db::{Db, now};
use crate::domain::text::{Lines, limits};
use crate::domain::{Checks, EmailAddress, Nik, PhoneNumber};
use crate::error::ApiError;
use crate::events::EventType;
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidQuery, NotFound, PreconditionFailed,
    ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::pagination::{Page, PageParams};
use crate::unit_of_work::{Event, Target, UnitOfWork};
use policy::{managed_kim, visible_kim};

/// Writes the audit record owed for showing whole NIKs of `members`.
fn audit_nik_reads(
    uow: &mut UnitOfWork<'_>,
    kim_id: i64,
    members: &[Member],
) -> Result<(), ApiError> {
    let ids: Vec<String> = members
        .iter()
        .filter(|m| !m.nik_masked)
        .map(|m| m.id.to_string())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    uow.audit(
        "member.nik_viewed",
        Some(Target::new("kim", kim_id)),
        Some(format!("members={}", ids.join(","))),
    )
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMemberRequest {
    full_name: String,
    /// 16 digits, consistent with `birth_date` and `gender` (women add 40 to the day).
    #[schema(example = "1872011708900001")]
    nik: String,
    gender: GenderValue,
    #[serde(deserialize_with = "crate::extract::date")]
    birth_date: NaiveDate,
    profession: Option<String>,
    position: Position,
    /// Indonesian number; stored encrypted as `+62…`.
    phone: Option<String>,
    email: Option<String>,
    /// Default: today.
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    joined_on: Option<NaiveDate>,
}

impl NewMemberRequest {
    /// The request as a member to add: every field checked (all problems at once), the
    /// NIK and phone sealed with `cipher`.
    fn check(self, cipher: &PersonalDataCipher) -> Result<model::NewMember, ApiError> {
        let mut issues = Checks::new();
        let full_name = issues.text(
            "full_name",
            &self.full_name,
            limits::MEMBER_NAME,
            Lines::Single,
        );
        let profession = issues.optional_text(
            "profession",
            self.profession.as_deref(),
            limits::PROFESSION,
            Lines::Single,
        );
        issues.past_date("birth_date", self.birth_date);
        let joined_on = self
            .joined_on
            .unwrap_or_else(|| crate::clock::now().date_naive());
        issues.past_date("joined_on", joined_on);
        let nik = issues.take(Nik::parse("nik", &self.nik));
        if let Some(nik) = &nik {
            issues.take(nik.check_person("nik", self.birth_date, self.gender.domain()));
        }
        let phone = self
            .phone
            .as_deref()
            .and_then(|p| issues.take(PhoneNumber::parse("phone", p)));
        let email = self
            .email
            .as_deref()
            .and_then(|e| issues.take(EmailAddress::parse("email", e)));
        let (nik, full_name) = issues.finish_with((nik, full_name))?;
        Ok(model::NewMember {
            full_name,
            nik_ciphertext: cipher.encrypt(nik.expose()).map_err(ApiError::internal)?,
            nik_hash: cipher.keyed_hash("nik", nik.expose().as_bytes()),
            nik_masked: nik.masked(),
            gender: self.gender,
            birth_date: self.birth_date,
            profession,
            position: self.position,
            phone_ciphertext: phone
                .map(|p| cipher.encrypt(p.as_str()))
                .transpose()
                .map_err(ApiError::internal)?,
            email: email.map(EmailAddress::into_string),
            joined_on,
        })
    }
}

/// Changes to a member; absent fields stay, `null` clears an optional one.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MemberChanges {
    full_name: Option<String>,
    nik: Option<String>,
    gender: Option<GenderValue>,
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    birth_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    profession: Option<Option<String>>,
    position: Option<Position>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    joined_on: Option<NaiveDate>,
}

impl MemberChanges {
    /// The changes as a checked edit (all field problems at once).
    fn check(self) -> Result<model::MemberEdit, ApiError> {
        let changes = self;
        let mut issues = Checks::new();
        let full_name = changes
            .full_name
            .as_deref()
            .and_then(|name| issues.text("full_name", name, limits::MEMBER_NAME, Lines::Single));
        let profession = issues.changed_text(
            "profession",
            changes.profession.as_ref().map(Option::as_deref),
            limits::PROFESSION,
            Lines::Single,
        );
        if let Some(date) = changes.birth_date {
            issues.past_date("birth_date", date);
        }
        if let Some(date) = changes.joined_on {
            issues.past_date("joined_on", date);
        }
        let new_nik = changes
            .nik
            .as_deref()
            .and_then(|n| issues.take(Nik::parse("nik", n)));
        let phone = match &changes.phone {
            Some(Some(text)) => issues.take(PhoneNumber::parse("phone", text)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let email = match &changes.email {
            Some(Some(text)) => issues
                .take(EmailAddress::parse("email", text))
                .map(|e| Some(e.into_string())),
            Some(None) => Some(None),
            None => None,
        };
        issues.finish()?;
        Ok(model::MemberEdit {
            full_name,
            nik: new_nik,
            gender: changes.gender,
            birth_date: changes.birth_date,
            profession,
            position: changes.position,
            phone,
            email,
            joined_on: changes.joined_on,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberFilter {
    status: Option<MemberStatus>,
    position: Option<Position>,
}

/// Lists a KIM's members in id order.
///
/// Roles: gov_admin and the KIM's own kim_admin (whole NIK, audited), gov_officer (NIK
/// masked), the KIM's own kim_member (masked, no contacts), integration clients with
/// `members:read` (masked, no contacts). Other KIMs' users get 404.
#[utoipa::path(
    tag = "members",
    params(("id" = i64, Path, description = "KIM id"), MemberFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of members", body = Page<Member>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/kims/{id}/members")]
pub async fn list_members(
    caller: Caller,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    origin: RequestOrigin,
    kim_id: web::Path<i64>,
    query: ListQuery<MemberFilter>,
) -> Result<web::Json<Page<Member>>, ApiError> {
    let kim_id = kim_id.into_inner();
    let ListQuery { page, filter } = query;
    let after: Option<i64> = page.after()?;
    let fetch_limit = page.fetch_limit();
    let (rows, view) = db
        .read({
            let caller = caller.clone();
            move |conn| {
                let (_, view) = visible_kim(conn, &caller, kim_id)?;
                let mut select = kim_members::table
                    .filter(kim_members::kim_id.eq(kim_id))
                    .select(MemberRow::as_select())
                    .order(kim_members::id)
                    .limit(fetch_limit)
                    .into_boxed();
                if let Some(status) = filter.status {
                    select =
                        select.filter(kim_members::status.eq(if status == MemberStatus::Left {
                            "left"
                        } else {
                            "active"
                        }));
                }
                if let Some(position) = filter.position {
                    select = select.filter(kim_members::position.eq(position));
                }
                if let Some(after) = after {
                    select = select.filter(kim_members::id.gt(after));
                }
                Ok((select.load(conn)?, view))
            }
        })
        .await?;
    let members = rows
        .into_iter()
        .map(|row| Member::from_row(row, view, &cipher))
        .collect::<Result<Vec<_>, _>>()?;
    let page = Page::from_rows(members, &page, |member| member.id);
    if view.whole_nik && !page.data.is_empty() {
        let shown = page.data.clone();
        db.unit_of_work(Actor::from(&caller), origin, move |uow| {
            audit_nik_reads(uow, kim_id, &shown)
        })
        .await?;
    }
    Ok(web::Json(page))
}

/// Adds a member to a KIM.
///
/// Roles: gov_admin, the KIM's own kim_admin. Refused with `409 member_limit_reached`
/// (30 active members), `409 position_taken` (a second active ketua),
/// `409 nik_already_member` (active in any KIM) or `409 kim_dissolved`.
#[utoipa::path(
    tag = "members",
    params(("id" = i64, Path, description = "KIM id"), IdempotencyKeyParam),
    request_body = NewMemberRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = Member, headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`member_limit_reached`, `position_taken`, `nik_already_member`, `kim_dissolved`",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/kims/{id}/members")]
pub async fn add_member(
    caller: Caller,
    cipher: web::Data<PersonalDataCipher>,
    kim_id: web::Path<i64>,
    body: ApiJson<NewMemberRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let kim_id = kim_id.into_inner();
    let ApiJson(request) = body;
    policy::may_add_to(&caller, kim_id)?;
    let new = request.check(&cipher)?;
    let replay_caller = caller.clone();
    let creator = caller.clone();
    creating
        .create_once(
            &caller,
            move |uow| {
                let member = add(uow, &creator, kim_id, &new, &cipher)?;
                CreatedResponse::created(
                    &member,
                    format!("/api/v1/kims/{kim_id}/members/{}", member.id),
                    member.version,
                )
            },
            move |uow, stored| replayed_add(uow, &replay_caller, kim_id, stored),
        )
        .await
}

/// Adds `new` to the KIM under its lock, as the caller sees it.
fn add(
    uow: &mut UnitOfWork<'_>,
    caller: &Caller,
    kim_id: i64,
    new: &model::NewMember,
    cipher: &PersonalDataCipher,
) -> Result<Member, ApiError> {
    uow.lock_kim(kim_id)?;
    let (kim, view) = managed_kim(uow.conn, caller, kim_id)?;
    kim.ensure_not_dissolved()?;
    let row = model::insert(uow.conn, kim_id, new)?;
    let target = Target::new("member", row.id);
    uow.audit(
        "member.added",
        Some(target.clone()),
        Some(format!("kim={kim_id}")),
    )?;
    uow.emit(Event::new(
        EventType::MemberAdded,
        target,
        serde_json::json!({"id": row.id, "kim_id": kim_id, "position": new.position}),
    ))?;
    let member = Member::from_row(row, view, cipher)?;
    audit_nik_reads(uow, kim_id, std::slice::from_ref(&member))?;
    Ok(member)
}

/// A replayed addition: the caller must still manage the KIM, and a whole NIK shown
/// again is a read the audit log owes.
fn replayed_add(
    uow: &mut UnitOfWork<'_>,
    caller: &Caller,
    kim_id: i64,
    stored: &CreatedResponse,
) -> Result<(), ApiError> {
    managed_kim(uow.conn, caller, kim_id)?;
    let shows_whole_nik = stored.body.get("nik_masked") == Some(&serde_json::Value::Bool(false));
    let member_id = stored.body.get("id").and_then(serde_json::Value::as_i64);
    if shows_whole_nik && let Some(member_id) = member_id {
        uow.audit(
            "member.nik_viewed",
            Some(Target::new("kim", kim_id)),
            Some(format!("members={member_id} replayed")),
        )?;
    }
    Ok(())
}

/// One member, with its version as `ETag`. Same roles and views as the list.
#[utoipa::path(
    tag = "members",
    params(("id" = i64, Path, description = "KIM id"), ("member_id" = i64, Path, description = "Member id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The member", body = Member, headers(("ETag" = String))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/kims/{id}/members/{member_id}")]
pub async fn get_member(
    caller: Caller,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    origin: RequestOrigin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (kim_id, member_id) = path.into_inner();
    let (row, view) = db
        .read({
            let caller = caller.clone();
            move |conn| {
                let (_, view) = visible_kim(conn, &caller, kim_id)?;
                Ok((find_member(conn, kim_id, member_id)?, view))
            }
        })
        .await?;
    let member = Member::from_row(row, view, &cipher)?;
    if view.whole_nik {
        let shown = member.clone();
        db.unit_of_work(Actor::from(&caller), origin, move |uow| {
            audit_nik_reads(uow, kim_id, std::slice::from_ref(&shown))
        })
        .await?;
    }
    Ok(ok_with_etag(member.version, &member))
}

/// Changes a member's data. Roles: gov_admin, the KIM's own kim_admin. Honours
/// `If-Match`. Making a member ketua while another is active is `409 position_taken`.
#[utoipa::path(
    tag = "members",
    params(
        ("id" = i64, Path, description = "KIM id"),
        ("member_id" = i64, Path, description = "Member id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = MemberChanges,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed member", body = Member, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`position_taken`, `nik_already_member`, `kim_dissolved`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[patch("/kims/{id}/members/{member_id}")]
pub async fn update_member(
    caller: Caller,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    origin: RequestOrigin,
    path: web::Path<(i64, i64)>,
    if_match: IfMatch,
    body: ApiJson<MemberChanges>,
) -> Result<HttpResponse, ApiError> {
    let (kim_id, member_id) = path.into_inner();
    let ApiJson(changes) = body;
    let edit = changes.check()?;
    let member = db
        .unit_of_work(Actor::from(&caller), origin, move |uow| {
            uow.lock_kim(kim_id)?;
            let (kim, view) = managed_kim(uow.conn, &caller, kim_id)?;
            kim.ensure_not_dissolved()?;
            let current = find_member(uow.conn, kim_id, member_id)?;
            if_match.check(current.version)?;
            let updated = model::update(uow.conn, &cipher, &current, &edit)?;
            let target = Target::new("member", member_id);
            uow.audit(
                "member.updated",
                Some(target.clone()),
                Some(format!("kim={kim_id}")),
            )?;
            uow.emit(Event::new(
                EventType::MemberUpdated,
                target,
                serde_json::json!({"id": member_id, "kim_id": kim_id, "version": updated.version}),
            ))?;
            let member = Member::from_row(updated, view, &cipher)?;
            audit_nik_reads(uow, kim_id, std::slice::from_ref(&member))?;
            Ok(member)
        })
        .await?;
    Ok(ok_with_etag(member.version, &member))
}

/// Records that a member left (`left_on` today, `status: left`); the record stays.
///
/// Roles: gov_admin, the KIM's own kim_admin. Leaving may take an active KIM below 3
/// members; its `compliance` then reports `too_few_members`. Repeating it is harmless.
#[utoipa::path(
    tag = "members",
    params(("id" = i64, Path, description = "KIM id"), ("member_id" = i64, Path, description = "Member id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The member has left"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[delete("/kims/{id}/members/{member_id}")]
pub async fn remove_member(
    caller: Caller,
    db: web::Data<Db>,
    origin: RequestOrigin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (kim_id, member_id) = path.into_inner();
    db.unit_of_work(Actor::from(&caller), origin, move |uow| {
        crate::kims::model::ensure_kim_user_may_write(uow, &caller)?;
        uow.lock_kim(kim_id)?;
        managed_kim(uow.conn, &caller, kim_id)?;
        find_member(uow.conn, kim_id, member_id)?;
        // Conditional on still being active: a retried or concurrent DELETE finds
        // nothing to change and must not count the departure twice.
        let today = crate::clock::now().date_naive();
        let left = diesel::update(
            kim_members::table
                .filter(kim_members::id.eq(member_id))
                .filter(kim_members::status.eq(model::MemberStatus::Active)),
        )
        .set((
            kim_members::status.eq(model::MemberStatus::Left),
            kim_members::left_on.eq(today),
            kim_members::updated_at.eq(now()),
            kim_members::version.eq(kim_members::version + 1),
        ))
        .execute(uow.conn)?;
        if left == 0 {
            return Ok(());
        }
        diesel::update(kims::table.filter(kims::id.eq(kim_id)))
            .set((
                kims::active_member_count.eq(kims::active_member_count - 1),
                kims::updated_at.eq(now()),
            ))
            .execute(uow.conn)?;
        let target = Target::new("member", member_id);
        uow.audit(
            "member.left",
            Some(target.clone()),
            Some(format!("kim={kim_id}")),
        )?;
        uow.emit(Event::new(
            EventType::MemberLeft,
            target,
            serde_json::json!({"id": member_id, "kim_id": kim_id, "left_on": today}),
        ))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
