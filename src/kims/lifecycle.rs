//! Status moves of a KIM and their history.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{self, Compliance, Kim, KimRow, KimStatus, Visibility};
use crate::audit::{Actor, RequestOrigin};
use crate::auth::{Authorized, Caller, GovAdminOnly};
use crate::concurrency::{IfMatch, ok_with_etag};
use crate::db::schema::{kim_status_changes, kims};
use crate::db::{Db, DbConnection, now, utc};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::{ApiError, FieldIssue};
use crate::events::EventType;
use crate::extract::{ApiJson, ListQuery};
use crate::openapi::{
    Forbidden, InvalidBody, InvalidQuery, NotFound, PreconditionFailed, ServiceUnavailable,
    Unauthorized, Unprocessable,
};
use crate::pagination::{Page, PageParams};
use crate::unit_of_work::{Event, Target};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KimStatusRequest {
    status: KimStatus,
    /// Why; kept in the history.
    reason: String,
    /// The decree; required to activate unless the KIM already has one.
    sk_number: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    sk_date: Option<NaiveDate>,
}

impl KimStatusRequest {
    fn check(self) -> Result<StatusMove, ApiError> {
        let mut checks = Checks::new();
        let reason = checks.text("reason", &self.reason, limits::STATUS_REASON, Lines::Multi);
        let sk_number = checks.optional_text(
            "sk_number",
            self.sk_number.as_deref(),
            limits::SK_NUMBER,
            Lines::Single,
        );
        checks.not_future("sk_date", self.sk_date);
        let (reason,) = checks.finish_with((reason,))?;
        Ok(StatusMove {
            to: self.status,
            reason,
            sk_number,
            sk_date: self.sk_date,
        })
    }
}

/// A checked status move, applied to a KIM read under its lock.
#[derive(Debug, Clone)]
struct StatusMove {
    to: KimStatus,
    reason: String,
    sk_number: Option<String>,
    sk_date: Option<NaiveDate>,
}

impl StatusMove {
    /// Moves `current` if the lifecycle allows it and, to `active`, if the KIM
    /// complies; records the move in the history.
    fn apply(
        &self,
        conn: &mut DbConnection,
        current: &KimRow,
        has_ketua: bool,
        changed_by: Option<i64>,
        request_id: Option<String>,
    ) -> Result<KimRow, ApiError> {
        let from = current.status;
        let to = self.to;
        if !from.can_move_to(to) {
            return Err(invalid_transition(from, to));
        }
        let sk_number = self.sk_number.clone().or(current.sk_number.clone());
        let sk_date = self.sk_date.or(current.sk_date);
        if to == KimStatus::Active {
            let compliance = Compliance::evaluate(
                current.active_member_count,
                has_ketua,
                sk_number.is_some() && sk_date.is_some(),
            );
            if !compliance.ok {
                return Err(not_compliant(&compliance));
            }
        }
        let now = now();
        let updated: KimRow = diesel::update(
            kims::table
                .filter(kims::id.eq(current.id))
                .filter(kims::version.eq(current.version)),
        )
        .set((
            kims::status.eq(to),
            kims::sk_number.eq(&sk_number),
            kims::sk_date.eq(sk_date),
            kims::updated_at.eq(now),
            kims::version.eq(current.version + 1),
        ))
        .returning(kims::all_columns)
        .get_result(conn)
        .optional()?
        .ok_or(ApiError::PreconditionFailed)?;
        diesel::insert_into(kim_status_changes::table)
            .values((
                kim_status_changes::kim_id.eq(current.id),
                kim_status_changes::from_status.eq(from),
                kim_status_changes::to_status.eq(to),
                kim_status_changes::reason.eq(&self.reason),
                kim_status_changes::sk_number.eq(&sk_number),
                kim_status_changes::sk_date.eq(sk_date),
                kim_status_changes::changed_by.eq(changed_by),
                kim_status_changes::changed_at.eq(now),
                kim_status_changes::request_id.eq(request_id),
            ))
            .execute(conn)?;
        Ok(updated)
    }
}

/// One lifecycle move.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChange {
    pub id: i64,
    /// `null` for the first entry.
    pub from_status: Option<KimStatus>,
    pub to_status: KimStatus,
    pub reason: String,
    pub sk_number: Option<String>,
    pub sk_date: Option<NaiveDate>,
    /// The account that made the move.
    pub changed_by: Option<i64>,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryFilter {}

fn invalid_transition(from: KimStatus, to: KimStatus) -> ApiError {
    ApiError::conflict(
        "invalid_transition",
        format!(
            "A {} KIM cannot become {}: proposed → active → inactive → active …, any → dissolved.",
            from.as_str(),
            to.as_str()
        ),
        format!(
            "KIM berstatus {} tidak dapat menjadi {}: proposed → active → inactive → active …, semua → dissolved.",
            from.as_str(),
            to.as_str()
        ),
    )
}

fn not_compliant(compliance: &Compliance) -> ApiError {
    let issues = compliance
        .problems
        .iter()
        .map(|problem| {
            let (field, en, id) = match problem {
                model::ComplianceProblem::TooFewMembers => (
                    "members",
                    "at least 3 active members are needed",
                    "perlu minimal 3 anggota aktif",
                ),
                model::ComplianceProblem::TooManyMembers => (
                    "members",
                    "at most 30 active members are allowed",
                    "maksimal 30 anggota aktif",
                ),
                model::ComplianceProblem::NoKetua => (
                    "members",
                    "exactly one active member must be ketua",
                    "tepat satu anggota aktif harus menjadi ketua",
                ),
                model::ComplianceProblem::MissingSk => (
                    "sk_number",
                    "an SK number and date are needed",
                    "nomor dan tanggal SK diperlukan",
                ),
            };
            FieldIssue::new(field, problem.code(), en, id)
        })
        .collect();
    ApiError::unprocessable(
        "kim_not_compliant",
        "The KIM does not meet the rules for activation; see `errors`.",
        "KIM belum memenuhi syarat pengaktifan; lihat `errors`.",
        issues,
    )
}

/// Moves a KIM through its lifecycle.
///
/// Role: gov_admin. `proposed → active → inactive → active …`, any → `dissolved`
/// (final); other moves are `409 invalid_transition`. Activation needs an SK number
/// and date (in the body or already on the KIM), 3–30 active members and one active
/// ketua, otherwise `422 kim_not_compliant` lists every failing rule. Honours `If-Match`.
#[utoipa::path(
    tag = "kims",
    params(
        ("id" = i64, Path, description = "KIM id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = KimStatusRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The KIM after the move", body = Kim, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`invalid_transition`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/kims/{id}/status")]
pub async fn change_status(
    caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: ApiJson<KimStatusRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(request) = body;
    let status_move = request.check()?;
    let changed_by = caller.user_id();
    let kim = db
        .unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
            // Status moves and member changes of one KIM queue here, so compliance is
            // judged on the members as they are when the move commits.
            uow.lock_kim(id)?;
            let (current, has_ketua) =
                model::find_with_ketua(uow.conn, id)?.ok_or(ApiError::NotFound)?;
            if_match.check(current.version)?;
            let from = current.status;
            let request_id = uow.origin().request_id.clone();
            let updated = status_move.apply(uow.conn, &current, has_ketua, changed_by, request_id)?;
            let target = Target::new("kim", id);
            let to = status_move.to;
            uow.audit(
                "kim.status_changed",
                Some(target.clone()),
                Some(format!("{}->{}", from.as_str(), to.as_str())),
            )?;
            uow.emit(Event::new(
                EventType::KimStatusChanged,
                target,
                serde_json::json!({"id": id, "from": from, "to": to, "reason": &status_move.reason}),
            ))?;
            Kim::from_row(updated, has_ketua, Visibility::Full)
        })
        .await?;
    Ok(ok_with_etag(kim.version, &kim))
}

type ChangeColumns = (
    i64,
    Option<KimStatus>,
    KimStatus,
    String,
    Option<String>,
    Option<NaiveDate>,
    Option<i64>,
    chrono::NaiveDateTime,
);

/// The lifecycle moves of a KIM, oldest first.
///
/// Roles: government, the KIM's own users, integration clients with `kims:read`.
#[utoipa::path(
    tag = "kims",
    params(("id" = i64, Path, description = "KIM id"), HistoryFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of moves", body = Page<StatusChange>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/kims/{id}/history")]
pub async fn history(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
    query: ListQuery<HistoryFilter>,
) -> Result<web::Json<Page<StatusChange>>, ApiError> {
    let id = id.into_inner();
    let page = query.page;
    let after: Option<i64> = page.after()?;
    let fetch_limit = page.fetch_limit();
    let rows: Vec<ChangeColumns> = db
        .read(move |conn| {
            let row = model::find(conn, id)?.ok_or(ApiError::NotFound)?;
            if super::visibility(Some(&caller), &row)? != Visibility::Full {
                // The public directory does not include who moved a KIM when.
                return Err(ApiError::Forbidden);
            }
            let mut select = kim_status_changes::table
                .filter(kim_status_changes::kim_id.eq(id))
                .order(kim_status_changes::id)
                .limit(fetch_limit)
                .select((
                    kim_status_changes::id,
                    kim_status_changes::from_status,
                    kim_status_changes::to_status,
                    kim_status_changes::reason,
                    kim_status_changes::sk_number,
                    kim_status_changes::sk_date,
                    kim_status_changes::changed_by,
                    kim_status_changes::changed_at,
                ))
                .into_boxed();
            if let Some(after) = after {
                select = select.filter(kim_status_changes::id.gt(after));
            }
            Ok(select.load(conn)?)
        })
        .await?;
    let changes = rows
        .into_iter()
        .map(
            |(id, from, to, reason, sk_number, sk_date, changed_by, changed_at)| StatusChange {
                id,
                from_status: from,
                to_status: to,
                reason,
                sk_number,
                sk_date,
                changed_by,
                changed_at: utc(changed_at),
            },
        )
        .collect();
    Ok(web::Json(Page::from_rows(
        changes,
        &page,
        |change: &StatusChange| change.id,
    )))
}
