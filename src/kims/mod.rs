//! The KIM registry (SPEC §4): Diskominfo forms KIMs (`proposed`), makes them official
//! with an SK (`active`), and may deactivate or dissolve them. The public sees active
//! KIMs without contact details; government sees everything; a KIM's own board edits
//! its profile.

mod lifecycle;
pub mod model;
pub mod policy;

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

pub use lifecycle::{change_status, history};
pub use model::{AreaType, Compliance, ComplianceProblem, Kim, KimRow, KimStatus, Visibility};
use policy::KimAccess;

use crate::audit::{Actor, RequestOrigin};
use crate::auth::{Authorized, Caller, GovAdminOnly, MaybeCaller};
use crate::concurrency::{IfMatch, ok_with_etag};
use crate::db::schema::kims;
use crate::db::{Db, DbConnection};
use crate::domain::place::Location;
use crate::domain::text::{Lines, limits};
use crate::domain::{Checks, EmailAddress, PhoneNumber};
use crate::error::{ApiError, FieldIssue};
use crate::events::EventType;
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidQuery, NotFound, PreconditionFailed,
    ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::pagination::{Page, PageParams, like_literal};
use crate::unit_of_work::{Event, Target};

/// How much of `row` the caller may see; `Err` when it may not see it at all.
pub fn visibility(caller: Option<&Caller>, row: &KimRow) -> Result<Visibility, ApiError> {
    KimAccess::of(caller)?.view(row)
}

/// Reads the KIM `id` as `caller` may see it.
pub fn load_visible(
    conn: &mut DbConnection,
    caller: Option<&Caller>,
    id: i64,
) -> Result<Kim, ApiError> {
    let (row, has_ketua) = model::find_with_ketua(conn, id)?.ok_or(ApiError::NotFound)?;
    let view = visibility(caller, &row)?;
    Kim::from_row(row, has_ketua, view)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKimRequest {
    #[schema(example = "KIM Mulyojati Bersatu")]
    name: String,
    /// An existing kelurahan code; the kecamatan is derived from it.
    #[schema(example = "18.72.03.1001")]
    kelurahan_code: String,
    area_type: AreaType,
    address: Option<String>,
    description: Option<String>,
    /// Up to 20 topic tags of 1–50 characters.
    #[serde(default)]
    focus: Vec<String>,
    /// Indonesian number; stored as `+62…`.
    #[schema(example = "0725-41234")]
    contact_phone: Option<String>,
    contact_email: Option<String>,
    /// Not in the future.
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    established_on: Option<NaiveDate>,
    /// Where the KIM meets: inside Kota Metro, and inside its kelurahan when that
    /// kelurahan's boundary is loaded.
    location: Option<Location>,
}

/// Profile changes; absent fields stay, `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KimChanges {
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    address: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    focus: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    contact_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    contact_email: Option<Option<String>>,
    /// gov_admin only.
    kelurahan_code: Option<String>,
    /// gov_admin only.
    area_type: Option<AreaType>,
    /// gov_admin only.
    #[serde(default, deserialize_with = "crate::extract::nullable_date")]
    #[schema(value_type = Option<NaiveDate>)]
    established_on: Option<Option<NaiveDate>>,
    /// gov_admin only (the lifecycle endpoint also records an SK).
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    sk_number: Option<Option<String>>,
    /// gov_admin only.
    #[serde(default, deserialize_with = "crate::extract::nullable_date")]
    #[schema(value_type = Option<NaiveDate>)]
    sk_date: Option<Option<NaiveDate>>,
    /// gov_admin only. Inside Kota Metro, and inside the KIM's kelurahan when that
    /// kelurahan's boundary is loaded; `null` clears it.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<Location>)]
    location: Option<Option<Location>>,
}

impl NewKimRequest {
    /// The request as a KIM to register, every field checked (all problems at once).
    fn check(self) -> Result<model::NewKim, ApiError> {
        let mut checks = Checks::new();
        let name = checks.text("name", &self.name, limits::KIM_NAME, Lines::Single);
        let kelurahan_code = checks.text(
            "kelurahan_code",
            &self.kelurahan_code,
            limits::REGION_CODE,
            Lines::Single,
        );
        let address = checks.optional_text(
            "address",
            self.address.as_deref(),
            limits::KIM_ADDRESS,
            Lines::Multi,
        );
        let description = checks.optional_text(
            "description",
            self.description.as_deref(),
            limits::KIM_DESCRIPTION,
            Lines::Multi,
        );
        let focus = focus_tags(&mut checks, &self.focus);
        checks.not_future("established_on", self.established_on);
        let contact_phone = self
            .contact_phone
            .as_deref()
            .and_then(|p| checks.take(PhoneNumber::parse("contact_phone", p)));
        let contact_email = self
            .contact_email
            .as_deref()
            .and_then(|e| checks.take(EmailAddress::parse("contact_email", e)));
        let location = self
            .location
            .and_then(|at| checked_location(&mut checks, at));
        let (name, kelurahan_code, focus) = checks.finish_with((name, kelurahan_code, focus))?;
        Ok(model::NewKim {
            location,
            name,
            kelurahan_code,
            area_type: self.area_type,
            address,
            description,
            focus,
            contact_phone: contact_phone.map(PhoneNumber::into_string),
            contact_email: contact_email.map(EmailAddress::into_string),
            established_on: self.established_on,
        })
    }
}

impl KimChanges {
    /// The changes as a checked edit (all field problems at once).
    fn check(self) -> Result<model::KimEdit, ApiError> {
        let mut checks = Checks::new();
        let name = self
            .name
            .as_deref()
            .and_then(|n| checks.text("name", n, limits::KIM_NAME, Lines::Single));
        let address = checks.changed_text(
            "address",
            self.address.as_ref().map(Option::as_deref),
            limits::KIM_ADDRESS,
            Lines::Multi,
        );
        let description = checks.changed_text(
            "description",
            self.description.as_ref().map(Option::as_deref),
            limits::KIM_DESCRIPTION,
            Lines::Multi,
        );
        let sk_number = checks.changed_text(
            "sk_number",
            self.sk_number.as_ref().map(Option::as_deref),
            limits::SK_NUMBER,
            Lines::Single,
        );
        let kelurahan_code = self.kelurahan_code.as_deref().and_then(|code| {
            checks.text("kelurahan_code", code, limits::REGION_CODE, Lines::Single)
        });
        let focus = self
            .focus
            .as_deref()
            .and_then(|tags| focus_tags(&mut checks, tags));
        checks.not_future("established_on", self.established_on.flatten());
        checks.not_future("sk_date", self.sk_date.flatten());
        let phone = match &self.contact_phone {
            Some(Some(text)) => checks
                .take(PhoneNumber::parse("contact_phone", text))
                .map(|phone| Some(phone.into_string())),
            Some(None) => Some(None),
            None => None,
        };
        let email = match &self.contact_email {
            Some(Some(text)) => checks
                .take(EmailAddress::parse("contact_email", text))
                .map(|email| Some(email.into_string())),
            Some(None) => Some(None),
            None => None,
        };
        let location = match self.location {
            Some(Some(at)) => checked_location(&mut checks, at).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        checks.finish()?;
        Ok(model::KimEdit {
            latitude: location.map(|at| at.map(|at| at.latitude)),
            longitude: location.map(|at| at.map(|at| at.longitude)),
            name,
            address,
            description,
            focus,
            contact_phone: phone,
            contact_email: email,
            kelurahan_code,
            area_type: self.area_type,
            established_on: self.established_on,
            sk_number,
            sk_date: self.sk_date,
        })
    }

    fn touches_government_fields(&self) -> bool {
        self.kelurahan_code.is_some()
            || self.area_type.is_some()
            || self.established_on.is_some()
            || self.sk_number.is_some()
            || self.sk_date.is_some()
            || self.location.is_some()
    }
}

/// A KIM's place, checked as a report's point is.
fn checked_location(checks: &mut Checks, at: Location) -> Option<Location> {
    Location::check(
        checks,
        Some(at.latitude),
        Some(at.longitude),
        ("location.latitude", "location.longitude"),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KimFilter {
    /// Anonymous callers and other KIMs' users only ever see `active` KIMs.
    status: Option<KimStatus>,
    #[param(example = "18.72.03")]
    kecamatan_code: Option<String>,
    kelurahan_code: Option<String>,
    area_type: Option<AreaType>,
    /// Part of the name, case-insensitive.
    q: Option<String>,
}

/// The focus tags as stored (a JSON array), each cleaned; at most
/// [`limits::FOCUS_TAGS`] of at most [`limits::FOCUS_TAG`] characters.
fn focus_tags(checks: &mut Checks, tags: &[String]) -> Option<String> {
    if tags.len() > limits::FOCUS_TAGS {
        checks.push(FieldIssue::new(
            "focus",
            "too_many_tags",
            format!("at most {} tags", limits::FOCUS_TAGS),
            format!("maksimal {} tag", limits::FOCUS_TAGS),
        ));
        return None;
    }
    let cleaned: Vec<String> = tags
        .iter()
        .enumerate()
        .filter_map(|(index, tag)| {
            checks.text(
                &format!("focus[{index}]"),
                tag,
                limits::FOCUS_TAG,
                Lines::Single,
            )
        })
        .collect();
    (cleaned.len() == tags.len())
        .then(|| serde_json::to_string(&cleaned).ok())
        .flatten()
}

/// Lists KIMs in id order.
///
/// Anonymous callers and other KIMs' users see active KIMs only, without contact
/// details; a KIM user also sees its own KIM whatever its status; government roles
/// see all. Integration clients need `kims:read`.
#[utoipa::path(
    tag = "kims",
    params(KimFilter, PageParams),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "One page of KIMs", body = Page<Kim>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/kims")]
pub async fn list_kims(
    caller: MaybeCaller,
    db: web::Data<Db>,
    query: ListQuery<KimFilter>,
) -> Result<web::Json<Page<Kim>>, ApiError> {
    let MaybeCaller(caller) = caller;
    let access = KimAccess::of(caller.as_ref())?;
    let ListQuery { page, filter } = query;
    let after: Option<i64> = page.after()?;
    let fetch_limit = page.fetch_limit();
    let kims = db
        .read(move |conn| {
            let mut select = kims::table
                .select(KimRow::as_select())
                .order(kims::id)
                .limit(fetch_limit)
                .into_boxed();
            if let Some(condition) = access.list_condition() {
                select = select.filter(condition);
            }
            if let Some(status) = filter.status {
                select = select.filter(kims::status.eq(status));
            }
            if let Some(code) = filter.kecamatan_code {
                select = select.filter(kims::kecamatan_code.eq(code));
            }
            if let Some(code) = filter.kelurahan_code {
                select = select.filter(kims::kelurahan_code.eq(code));
            }
            if let Some(area) = filter.area_type {
                select = select.filter(kims::area_type.eq(area));
            }
            if let Some(q) = filter
                .q
                .map(|q| q.trim().to_lowercase())
                .filter(|q| !q.is_empty())
            {
                let literal = like_literal(&q, 100);
                select = select.filter(kims::name_key.like(format!("%{literal}%")).escape('\\'));
            }
            if let Some(after) = after {
                select = select.filter(kims::id.gt(after));
            }
            let rows = select.load(conn)?;
            model::present(conn, rows, |row| {
                access.view(row).unwrap_or(Visibility::Public)
            })
        })
        .await?;
    Ok(web::Json(Page::from_rows(kims, &page, |kim| kim.id)))
}

/// Registers a KIM (status `proposed`) and assigns its registration code.
///
/// Role: gov_admin.
#[utoipa::path(
    tag = "kims",
    params(IdempotencyKeyParam),
    request_body = NewKimRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Kim, headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/kims")]
pub async fn create_kim(
    caller: Authorized<GovAdminOnly>,
    body: ApiJson<NewKimRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let ApiJson(request) = body;
    let new = request.check()?;
    creating
        .create_once(
            &caller,
            move |uow| {
                let row = model::insert(uow.conn, &new)?;
                let registration_code = row.registration_code.clone();
                let target = Target::new("kim", row.id);
                uow.audit(
                    "kim.created",
                    Some(target.clone()),
                    Some(format!("registration_code={registration_code}")),
                )?;
                uow.emit(Event::new(
                    EventType::KimCreated,
                    target,
                    serde_json::json!({"id": row.id, "registration_code": &registration_code}),
                ))?;
                let kim = Kim::from_row(row, false, Visibility::Full)?;
                CreatedResponse::created(&kim, format!("/api/v1/kims/{}", kim.id), kim.version)
            },
            crate::idempotency::nothing_owed,
        )
        .await
}

/// One KIM, with its version as `ETag`.
///
/// Anonymous callers see an active KIM without contact details; other statuses are
/// 404 to them and to other KIMs' users. Integration clients need `kims:read`.
#[utoipa::path(
    tag = "kims",
    params(("id" = i64, Path, description = "KIM id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The KIM", body = Kim, headers(("ETag" = String))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/kims/{id}")]
pub async fn get_kim(
    caller: MaybeCaller,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let MaybeCaller(caller) = caller;
    let kim = db
        .read(move |conn| load_visible(conn, caller.as_ref(), id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::ETAG, kim.etag()))
        .json(&kim))
}

/// Edits a KIM's profile.
///
/// Roles: gov_admin (every field here), the KIM's own kim_admin (name, address,
/// description, focus, contacts; not kelurahan, location, SK or status). Status moves go through
/// `POST /api/v1/kims/{id}/status`. Honours `If-Match`.
#[utoipa::path(
    tag = "kims",
    params(
        ("id" = i64, Path, description = "KIM id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = KimChanges,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed KIM", body = Kim, headers(("ETag" = String))),
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
#[patch("/kims/{id}")]
pub async fn update_kim(
    caller: Caller,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: ApiJson<KimChanges>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(changes) = body;
    policy::may_edit_profile(&caller, changes.touches_government_fields())?;
    let edit = changes.check()?;
    let kim = db
        .unit_of_work(Actor::from(&caller), origin, move |uow| {
            // Status moves and member changes of this KIM wait for this change.
            uow.lock_kim(id)?;
            // A profile edit leaves the members (and so the ketua) as they are.
            let (current, has_ketua) =
                model::find_with_ketua(uow.conn, id)?.ok_or(ApiError::NotFound)?;
            policy::may_change(&caller, &current)?;
            if_match.check(current.version)?;
            current.ensure_not_dissolved()?;
            let updated = model::update(uow.conn, &current, &edit)?;
            let target = Target::new("kim", id);
            uow.audit("kim.updated", Some(target.clone()), None)?;
            uow.emit(Event::new(
                EventType::KimUpdated,
                target,
                serde_json::json!({"id": id, "version": updated.version}),
            ))?;
            Kim::from_row(updated, has_ketua, Visibility::Full)
        })
        .await?;
    Ok(ok_with_etag(kim.version, &kim))
}
