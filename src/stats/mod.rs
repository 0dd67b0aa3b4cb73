//! Dashboard statistics (SPEC §8): what the city's dashboards show of the KIM network
//! and of citizen reports and bulletins over a period, as plain counts computed by
//! aggregate queries over indexed ranges; the same numbers on both databases.
//!
//! A period is whole days in Asia/Jakarta (WIB, UTC+7, no daylight saving): reports
//! count by submission, resolutions by resolution, bulletins by publication and
//! acknowledgements when made. KIMs and members are counted as they are now.

mod queries;

use std::collections::BTreeMap;

use actix_web::{get, web};
use chrono::{Days, NaiveDate, NaiveDateTime};

use crate::holidays::calendar::{wib_midnight, wib_today};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authorized, StatsReaders};
use crate::db::Db;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::openapi::{Forbidden, InvalidQuery, ServiceUnavailable, Unauthorized};

/// Longest period one request covers.
pub const MAX_PERIOD_DAYS: u64 = 366;
/// Period when none is given: the last 30 days, today included.
const DEFAULT_PERIOD_DAYS: u64 = 30;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsPeriod {
    /// First day (WIB), `YYYY-MM-DD`; 29 days before `to` by default.
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    #[param(value_type = Option<String>, format = Date)]
    from: Option<NaiveDate>,
    /// Last day (WIB), included; today by default.
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    #[param(value_type = Option<String>, format = Date)]
    to: Option<NaiveDate>,
}

/// A period as days and as the UTC instants `[start, end)` they cover.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl StatsPeriod {
    fn period(&self, today: NaiveDate) -> Result<Period, ApiError> {
        let last_day = self.to.unwrap_or(today);
        let first_day = match self.from {
            Some(from) => from,
            None => last_day
                .checked_sub_days(Days::new(DEFAULT_PERIOD_DAYS - 1))
                .ok_or_else(|| {
                    ApiError::invalid_query("to", "out_of_range", "too early", "terlalu awal")
                })?,
        };
        if first_day > last_day {
            return Err(ApiError::invalid_query(
                "to",
                "before_from",
                "must not be before `from`",
                "tidak boleh sebelum `from`",
            ));
        }
        let days = (last_day - first_day).num_days() + 1;
        if days > MAX_PERIOD_DAYS as i64 {
            return Err(ApiError::invalid_query(
                "from",
                "period_too_long",
                format!("a period spans at most {MAX_PERIOD_DAYS} days"),
                format!("periode paling panjang {MAX_PERIOD_DAYS} hari"),
            ));
        }
        let after_last = last_day.checked_add_days(Days::new(1)).ok_or_else(|| {
            ApiError::invalid_query("to", "out_of_range", "too late", "terlalu jauh")
        })?;
        Ok(Period {
            first_day,
            last_day,
            start: wib_midnight(first_day),
            end: wib_midnight(after_last),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOverview {
    /// First day of the period (WIB).
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Last day of the period (WIB), included.
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub kims: KimFigures,
    pub reports: ReportFigures,
    pub bulletins: BulletinFigures,
    pub feedback: FeedbackFigures,
    /// One entry per day of the period, oldest first.
    pub daily: Vec<DailyFigures>,
}

/// Whether resolutions satisfied those who reported: the answers given in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackFigures {
    pub answers: i64,
    pub satisfied: i64,
    /// `satisfied / answers`; `null` without answers.
    pub satisfaction_rate: Option<f64>,
}

/// The KIM network now.
#[derive(Debug, Serialize, ToSchema)]
pub struct KimFigures {
    pub total: i64,
    /// KIMs per status (`proposed`, `active`, `inactive`, `dissolved`).
    pub by_status: BTreeMap<String, i64>,
    /// Per kecamatan, KIMs per status.
    pub by_kecamatan: Vec<KecamatanKims>,
    /// Active members of active KIMs.
    pub active_members: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KecamatanKims {
    #[schema(example = "18.72.01")]
    pub kecamatan_code: String,
    pub total: i64,
    pub by_status: BTreeMap<String, i64>,
}

/// A count under a code.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeCount {
    pub code: String,
    pub count: i64,
}

/// Reports submitted in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportFigures {
    pub submitted: i64,
    pub by_status: BTreeMap<String, i64>,
    pub by_kind: BTreeMap<String, i64>,
    /// Most reported first.
    pub by_category: Vec<CodeCount>,
    /// Most reported first.
    pub by_kecamatan: Vec<CodeCount>,
    /// Of these, past a service level now.
    pub overdue: i64,
    /// Median time from submission to the government's first answer, in seconds;
    /// `null` when none was answered.
    pub median_first_response_seconds: Option<i64>,
    /// Median time from submission to resolution, in seconds; `null` when none was
    /// resolved.
    pub median_resolution_seconds: Option<i64>,
    /// Reports resolved in the period, whenever submitted.
    pub resolved_in_period: i64,
}

/// Bulletins published in the period and their acknowledgements.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulletinFigures {
    pub published: i64,
    /// KIMs addressed, summed over those bulletins.
    pub kims_addressed: i64,
    /// Acknowledgements of those bulletins.
    pub acknowledgements: i64,
    /// `acknowledgements / kims_addressed`; `null` when no KIM was addressed.
    pub acknowledgement_rate: Option<f64>,
    /// Citizens reached, as the acknowledging KIMs reported.
    pub reach: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DailyFigures {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub reports_submitted: i64,
    pub reports_resolved: i64,
    pub bulletins_published: i64,
    pub acknowledgements: i64,
}

/// Figures for the dashboard over a period.
///
/// gov users and integration clients holding `stats:read`.
#[utoipa::path(
    tag = "statistics",
    params(StatsPeriod),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The figures", body = StatsOverview),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/stats/overview")]
pub async fn overview(
    _reader: Authorized<StatsReaders>,
    db: web::Data<Db>,
    query: ApiQuery<StatsPeriod>,
) -> Result<web::Json<StatsOverview>, ApiError> {
    let ApiQuery(period) = query;
    let period = period.period(wib_today())?;
    let figures = db
        .read(move |conn| queries::overview(conn, &period))
        .await?;
    Ok(web::Json(figures))
}
