//! Public holidays (SPEC §7): the days besides weekends that the service-level
//! calendar of citizen reports skips. gov_admin keeps them (the yearly SKB of national
//! holidays and collective leave, and local ones); gov users read them.
//!
//! A due date is computed once, when its clock starts (submission, verification);
//! holidays entered later do not move the due dates of reports already running.

pub mod calendar;

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Actor, RequestOrigin};
use crate::auth::{Authorized, GovAdminOnly, GovOnly};
use crate::db::schema::holidays;
use crate::db::{Db, utc};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::{ApiError, FieldIssue};
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidPath, InvalidQuery, NotFound,
    ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::pagination::{Page, PageParams};
use crate::unit_of_work::Target;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = holidays)]
struct HolidayRow {
    day: NaiveDate,
    name: String,
    created_at: NaiveDateTime,
}

/// A day that is not a working day although it falls on a weekday.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Holiday {
    #[schema(value_type = String, format = Date, example = "2026-12-25")]
    pub date: NaiveDate,
    #[schema(example = "Hari Raya Natal")]
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<HolidayRow> for Holiday {
    fn from(row: HolidayRow) -> Self {
        Holiday {
            date: row.day,
            name: row.name,
            created_at: utc(row.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHolidayRequest {
    /// `YYYY-MM-DD`.
    #[serde(deserialize_with = "crate::extract::date")]
    #[schema(value_type = String, format = Date, example = "2026-12-25")]
    date: NaiveDate,
    #[schema(example = "Hari Raya Natal")]
    name: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HolidayFilter {
    /// Only holidays of this year.
    #[param(minimum = 1900, maximum = 9999)]
    year: Option<i32>,
}

/// Lists public holidays in date order.
///
/// gov users only.
#[utoipa::path(
    tag = "holidays",
    params(HolidayFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of holidays", body = Page<Holiday>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/holidays")]
pub async fn list_holidays(
    _gov: Authorized<GovOnly>,
    db: web::Data<Db>,
    query: ListQuery<HolidayFilter>,
) -> Result<web::Json<Page<Holiday>>, ApiError> {
    let ListQuery { page, filter } = query;
    let after: Option<NaiveDate> = page.after()?;
    let year = filter
        .year
        .map(|year| {
            let first =
                NaiveDate::from_ymd_opt(year, 1, 1).filter(|_| (1900..=9999).contains(&year));
            let last = NaiveDate::from_ymd_opt(year, 12, 31);
            first.zip(last).ok_or_else(|| {
                ApiError::InvalidQuery(vec![FieldIssue::new(
                    "year",
                    "out_of_range",
                    "must be between 1900 and 9999",
                    "harus antara 1900 dan 9999",
                )])
            })
        })
        .transpose()?;
    let listed = db
        .read(move |conn| {
            let mut select = holidays::table
                .select(HolidayRow::as_select())
                .order(holidays::day)
                .limit(page.fetch_limit())
                .into_boxed();
            if let Some((first, last)) = year {
                select = select.filter(holidays::day.between(first, last));
            }
            if let Some(after) = after {
                select = select.filter(holidays::day.gt(after));
            }
            let rows: Vec<Holiday> = select.load(conn)?.into_iter().map(Into::into).collect();
            Ok(Page::from_rows(rows, &page, |holiday| holiday.date))
        })
        .await?;
    Ok(web::Json(listed))
}

/// Adds a public holiday. gov_admin only; honours `Idempotency-Key`.
#[utoipa::path(
    tag = "holidays",
    params(IdempotencyKeyParam),
    request_body = NewHolidayRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The holiday", body = Holiday, headers(("Location" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "`holiday_exists`: the date is already a holiday", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/holidays")]
pub async fn create_holiday(
    caller: Authorized<GovAdminOnly>,
    _db: web::Data<Db>,
    body: ApiJson<NewHolidayRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let ApiJson(request) = body;
    let mut checks = Checks::new();
    let name = checks.text("name", &request.name, limits::HOLIDAY_NAME, Lines::Single);
    let (name,) = checks.finish_with((name,))?;
    let day = request.date;
    creating
        .create_once(
            &caller,
            move |uow| {
                let row = HolidayRow {
                    day,
                    name: name.clone(),
                    created_at: crate::db::now(),
                };
                // The date is the key: of two simultaneous requests for one date, the
                // database lets one insert and the other learns that it exists.
                diesel::insert_into(holidays::table)
                    .values(&row)
                    .execute(uow.conn)
                    .map_err(|error| match error {
                        diesel::result::Error::DatabaseError(
                            diesel::result::DatabaseErrorKind::UniqueViolation,
                            _,
                        ) => ApiError::conflict(
                            "holiday_exists",
                            "This date is already a holiday.",
                            "Tanggal ini sudah tercatat sebagai hari libur.",
                        ),
                        other => other.into(),
                    })?;
                uow.audit("holiday.created", Some(Target::new("holiday", day)), None)?;
                let holiday = Holiday::from(row);
                CreatedResponse::created(&holiday, format!("/api/v1/holidays/{day}"), 1)
            },
            crate::idempotency::nothing_owed,
        )
        .await
}

/// Removes a public holiday. gov_admin only.
#[utoipa::path(
    tag = "holidays",
    params(("date" = String, Path, format = Date, description = "`YYYY-MM-DD`")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, response = InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[delete("/holidays/{date}")]
pub async fn delete_holiday(
    caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    origin: RequestOrigin,
    date: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let day = crate::extract::parse_strict_date(&date).map_err(|detail| {
        ApiError::InvalidPath(vec![FieldIssue::new(
            "date",
            "invalid_date",
            detail,
            "bukan tanggal dengan format YYYY-MM-DD",
        )])
    })?;
    db.unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
        let removed =
            diesel::delete(holidays::table.filter(holidays::day.eq(day))).execute(uow.conn)?;
        if removed == 0 {
            return Err(ApiError::NotFound);
        }
        uow.audit("holiday.deleted", Some(Target::new("holiday", day)), None)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
