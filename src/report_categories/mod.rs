//! Report categories (SPEC §3): the stable codes citizen reports are filed under, and
//! the services of the Open311 facade. gov_admin adds, renames and retires them; a
//! retired category keeps its reports and takes no new ones. Codes never change:
//! reports, exports and Open311 clients hold them.

pub mod model;

use actix_web::{HttpResponse, get, patch, post, web};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use model::{CategoryEdit, CategoryRow, NewCategory};
pub use model::{ReportCategory, all, find};

use crate::audit::{Actor, RequestOrigin};
use crate::auth::{Authorized, GovAdminOnly, MaybeCaller};
use crate::concurrency::{IfMatch, ok_with_etag};
use crate::db::Db;
use crate::db::schema::report_categories;
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
use crate::unit_of_work::Target;

/// Lower-case letters, digits and `_`, starting with a letter.
pub const CATEGORY_CODE_PATTERN: &str = "^[a-z][a-z0-9_]*$";

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CategoryFilter {
    /// `true` for categories that take new reports, `false` for retired ones.
    active: Option<bool>,
}

/// Lists report categories in code order.
///
/// Anonymous (a token, if sent, must be valid).
#[utoipa::path(
    tag = "reference data",
    security((), ("bearer" = [])),
    params(CategoryFilter, PageParams),
    responses(
        (status = 200, description = "One page of categories", body = Page<ReportCategory>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/report-categories")]
pub async fn list_categories(
    _anyone: MaybeCaller,
    db: web::Data<Db>,
    query: ListQuery<CategoryFilter>,
) -> Result<web::Json<Page<ReportCategory>>, ApiError> {
    let ListQuery { page, filter } = query;
    let after: Option<String> = page.after()?;
    let categories = db
        .read(move |conn| {
            let mut select = report_categories::table
                .select(CategoryRow::as_select())
                .order(report_categories::code)
                .limit(page.fetch_limit())
                .into_boxed();
            if let Some(active) = filter.active {
                select = select.filter(report_categories::active.eq(active));
            }
            if let Some(after) = after {
                select = select.filter(report_categories::code.gt(after));
            }
            let rows: Vec<ReportCategory> =
                select.load(conn)?.into_iter().map(Into::into).collect();
            Ok(Page::from_rows(rows, &page, |category| {
                category.code.clone()
            }))
        })
        .await?;
    Ok(web::Json(categories))
}

/// Answers one category.
///
/// Anonymous (a token, if sent, must be valid).
#[utoipa::path(
    tag = "reference data",
    security((), ("bearer" = [])),
    params(("code" = String, Path, description = "Category code")),
    responses(
        (status = 200, description = "The category", body = ReportCategory, headers(("ETag" = String))),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/report-categories/{code}")]
pub async fn get_category(
    _anyone: MaybeCaller,
    db: web::Data<Db>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let category = db
        .read(move |conn| model::find(conn, &code))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(ok_with_etag(category.version, &category))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategoryRequest {
    /// Stable code, never changed once created.
    #[schema(example = "air_bersih")]
    code: String,
    #[schema(example = "Air Bersih (PDAM, sumur bor)")]
    name: String,
    description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryChanges {
    name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    /// `false` retires the category (it takes no new reports), `true` brings it back.
    active: Option<bool>,
}

impl NewCategoryRequest {
    fn check(self) -> Result<NewCategory, ApiError> {
        let mut checks = Checks::new();
        let code = checked_code(&mut checks, &self.code);
        let name = checks.text("name", &self.name, limits::CATEGORY_NAME, Lines::Single);
        let description = checks.optional_text(
            "description",
            self.description.as_deref(),
            limits::CATEGORY_DESCRIPTION,
            Lines::Multi,
        );
        let (code, name) = checks.finish_with((code, name))?;
        Ok(NewCategory {
            code,
            name,
            description,
        })
    }
}

impl CategoryChanges {
    fn check(self) -> Result<CategoryEdit, ApiError> {
        let mut checks = Checks::new();
        let name = self
            .name
            .as_deref()
            .and_then(|name| checks.text("name", name, limits::CATEGORY_NAME, Lines::Single));
        let description = checks.changed_text(
            "description",
            self.description.as_ref().map(Option::as_deref),
            limits::CATEGORY_DESCRIPTION,
            Lines::Multi,
        );
        checks.finish()?;
        Ok(CategoryEdit {
            name,
            description,
            active: self.active,
        })
    }
}

fn checked_code(checks: &mut Checks, code: &str) -> Option<String> {
    let well_formed = (2..=limits::CATEGORY_CODE).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if well_formed {
        Some(code.to_owned())
    } else {
        checks.push(FieldIssue::new(
            "code",
            "invalid_code",
            format!(
                "must be 2 to {} lower-case letters, digits or `_`, starting with a letter",
                limits::CATEGORY_CODE
            ),
            format!(
                "harus 2 sampai {} huruf kecil, angka atau `_`, diawali huruf",
                limits::CATEGORY_CODE
            ),
        ));
        None
    }
}

/// Adds a report category, active at once. gov_admin only; honours `Idempotency-Key`.
#[utoipa::path(
    tag = "reference data",
    params(IdempotencyKeyParam),
    request_body = NewCategoryRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The category", body = ReportCategory, headers(("Location" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "`category_exists`: the code is taken", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/report-categories")]
pub async fn create_category(
    caller: Authorized<GovAdminOnly>,
    body: ApiJson<NewCategoryRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let ApiJson(request) = body;
    let new = request.check()?;
    creating
        .create_once(
            &caller,
            move |uow| {
                let category = ReportCategory::from(model::insert(uow.conn, &new)?);
                uow.audit(
                    "report_category.created",
                    Some(Target::new("report_category", &new.code)),
                    None,
                )?;
                CreatedResponse::created(
                    &category,
                    format!("/api/v1/report-categories/{}", new.code),
                    category.version,
                )
            },
            crate::idempotency::nothing_owed,
        )
        .await
}

/// Renames, describes, retires or brings back a category. gov_admin only; honours
/// `If-Match`.
#[utoipa::path(
    tag = "reference data",
    params(
        ("code" = String, Path, description = "Category code"),
        crate::openapi::IfMatchParam,
    ),
    request_body = CategoryChanges,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed category", body = ReportCategory, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[patch("/report-categories/{code}")]
pub async fn update_category(
    caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    origin: RequestOrigin,
    code: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<CategoryChanges>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let ApiJson(changes) = body;
    let edit = changes.check()?;
    let category = db
        .unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
            let current = model::find(uow.conn, &code)?.ok_or(ApiError::NotFound)?;
            if_match.check(current.version)?;
            let changed = edit.changes(&current);
            if changed.is_empty() {
                return Ok(current);
            }
            let category = model::update(uow.conn, &current, &edit)?;
            uow.audit(
                "report_category.updated",
                Some(Target::new("report_category", &code)),
                Some(format!("changed={}", changed.join(","))),
            )?;
            Ok(category)
        })
        .await?;
    Ok(ok_with_etag(category.version, &category))
}
