//! How engaged a KIM is (SPEC §10): plain counts over the last months — activities and
//! the citizens they reached, bulletins addressed and acknowledged, reports submitted,
//! members trained, consultations answered — for gov, computed by aggregate queries over indexed ranges (the
//! KIM's rows of the period), the same numbers on both databases. No invented grade.

use actix_web::{get, web};
use chrono::{Months, NaiveDate};

use crate::holidays::calendar::{wib_midnight, wib_today};
use diesel::dsl::{count, count_star, sum};
use diesel::expression_methods::AggregateExpressionMethods;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audience::KimPlace;
use crate::auth::{Authorized, GovOnly};
use crate::bulletins::policy::BULLETIN_AUDIENCE;
use crate::db::schema::{
    bulletin_acknowledgements, bulletins, consultation_responses, kim_activities,
    mentoring_participants, mentoring_sessions, reports,
};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::openapi::{Forbidden, InvalidQuery, NotFound, ServiceUnavailable, Unauthorized};

/// Longest period one request covers, in months.
pub const MAX_MONTHS: u32 = 36;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EngagementQuery {
    /// The last this many months up to today (WIB); 12 by default.
    #[param(minimum = 1, maximum = 36)]
    months: Option<u32>,
}

/// A KIM's figures over a period of WIB days.
#[derive(Debug, Serialize, ToSchema)]
pub struct Engagement {
    pub kim_id: i64,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Included.
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// Activities held in the period.
    pub activities: i64,
    /// Citizens those activities reached, as the KIM recorded.
    pub reach: i64,
    /// Bulletins published to the KIM in the period (its own excluded).
    pub bulletins_addressed: i64,
    /// Of those, the ones the KIM acknowledged.
    pub bulletins_acknowledged: i64,
    /// `bulletins_acknowledged / bulletins_addressed`; `null` when none was addressed.
    pub acknowledgement_rate: Option<f64>,
    /// Reports the KIM's users submitted in the period.
    pub reports_submitted: i64,
    /// Members who attended at least one session held in the period.
    pub members_trained: i64,
    /// Attendances of the KIM's members at sessions held in the period.
    pub session_attendances: i64,
    /// Consultations the KIM first answered in the period.
    pub consultations_answered: i64,
}

fn figures(
    conn: &mut DbConnection,
    place: &KimPlace,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Engagement, ApiError> {
    let kim = place.kim_id;
    let (start, end) = (
        wib_midnight(from),
        wib_midnight(to) + chrono::Duration::days(1),
    );
    let (activities, reach): (i64, Option<i64>) = kim_activities::table
        .filter(kim_activities::kim_id.eq(kim))
        .filter(kim_activities::held_on.between(from, to))
        .select((count_star(), sum(kim_activities::reach)))
        .first(conn)?;
    let addressed = || {
        bulletins::table
            .filter(bulletins::status.eq_any([
                crate::bulletins::model::BulletinStatus::Published,
                crate::bulletins::model::BulletinStatus::Archived,
            ]))
            .filter(bulletins::published_at.ge(start))
            .filter(bulletins::published_at.lt(end))
            .filter(
                bulletins::origin_kim_id
                    .is_null()
                    .or(bulletins::origin_kim_id.ne(kim)),
            )
            .filter(place.addressed_in(&BULLETIN_AUDIENCE))
    };
    let bulletins_addressed: i64 = addressed().count().get_result(conn)?;
    let bulletins_acknowledged: i64 = addressed()
        .inner_join(bulletin_acknowledgements::table)
        .filter(bulletin_acknowledgements::kim_id.eq(kim))
        .count()
        .get_result(conn)?;
    let reports_submitted: i64 = reports::table
        .filter(reports::kim_id.eq(kim))
        .filter(reports::created_at.ge(start))
        .filter(reports::created_at.lt(end))
        .count()
        .get_result(conn)?;
    let (session_attendances, members_trained): (i64, i64) = mentoring_participants::table
        .inner_join(mentoring_sessions::table)
        .filter(mentoring_participants::kim_id.eq(kim))
        .filter(mentoring_participants::attended.eq(true))
        .filter(mentoring_sessions::status.eq(crate::mentoring::model::SessionStatus::Held))
        .filter(mentoring_sessions::starts_at.ge(start))
        .filter(mentoring_sessions::starts_at.lt(end))
        .select((
            count_star(),
            count(mentoring_participants::member_id).aggregate_distinct(),
        ))
        .first(conn)?;
    let consultations_answered: i64 = consultation_responses::table
        .filter(consultation_responses::kim_id.eq(kim))
        .filter(consultation_responses::created_at.ge(start))
        .filter(consultation_responses::created_at.lt(end))
        .count()
        .get_result(conn)?;
    Ok(Engagement {
        kim_id: kim,
        from,
        to,
        activities,
        reach: reach.unwrap_or(0),
        bulletins_addressed,
        bulletins_acknowledged,
        acknowledgement_rate: (bulletins_addressed > 0)
            .then(|| bulletins_acknowledged as f64 / bulletins_addressed as f64),
        reports_submitted,
        members_trained,
        session_attendances,
        consultations_answered,
    })
}

/// A KIM's engagement over the last `months` months (gov).
#[utoipa::path(
    tag = "kims",
    params(("id" = i64, Path, description = "KIM id"), EngagementQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The figures", body = Engagement),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/kims/{id}/engagement")]
pub async fn engagement(
    _gov: Authorized<GovOnly>,
    db: web::Data<Db>,
    id: web::Path<i64>,
    query: ApiQuery<EngagementQuery>,
) -> Result<web::Json<Engagement>, ApiError> {
    let kim_id = id.into_inner();
    let ApiQuery(query) = query;
    let months = query.months.unwrap_or(12);
    if !(1..=MAX_MONTHS).contains(&months) {
        return Err(ApiError::invalid_query(
            "months",
            "out_of_range",
            format!("must be between 1 and {MAX_MONTHS}"),
            format!("harus antara 1 dan {MAX_MONTHS}"),
        ));
    }
    let to = wib_today();
    let from = to
        .checked_sub_months(Months::new(months))
        .and_then(|day| day.succ_opt())
        .ok_or_else(|| ApiError::internal("a period of months out of the calendar"))?;
    let figures = db
        .read(move |conn| {
            let place = KimPlace::of(conn, kim_id)?.ok_or(ApiError::NotFound)?;
            figures(conn, &place, from, to)
        })
        .await?;
    Ok(web::Json(figures))
}
