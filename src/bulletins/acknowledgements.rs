//! A KIM confirms that a bulletin reached it and was passed on to about `reach`
//! citizens; the government reads the totals (SPEC §6).

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::find_visible;
use super::policy::{self, BulletinAccess};
use crate::auth::Caller;
use crate::db::schema::{bulletin_acknowledgements, bulletins};
use crate::db::{Db, DbConnection, now, utc};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::{ApiError, FieldIssue};
use crate::events::EventType;
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creating, nothing_owed};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidQuery, NotFound, ServiceUnavailable,
    Unauthorized, Unprocessable,
};
use crate::pagination::PageParams;
use crate::unit_of_work::{Event, Target, UnitOfWork};

/// More citizens than Kota Metro has several times over: a typo, not a reach.
pub const MAX_REACH: i64 = 1_000_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgementRequest {
    /// About how many citizens the KIM passed it on to.
    #[schema(minimum = 0, maximum = 1_000_000, example = 120)]
    reach: i64,
    #[schema(example = "Disampaikan di pengajian RT 03 dan grup WhatsApp warga")]
    note: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bulletin_acknowledgements)]
struct AcknowledgementRow {
    id: i64,
    bulletin_id: i64,
    kim_id: i64,
    reach: i32,
    note: Option<String>,
    acknowledged_by: Option<i64>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Acknowledgement {
    pub bulletin_id: i64,
    pub kim_id: i64,
    pub reach: i32,
    pub note: Option<String>,
    /// The account that confirmed last.
    pub acknowledged_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<AcknowledgementRow> for Acknowledgement {
    fn from(row: AcknowledgementRow) -> Self {
        Acknowledgement {
            bulletin_id: row.bulletin_id,
            kim_id: row.kim_id,
            reach: row.reach,
            note: row.note,
            acknowledged_by: row.acknowledged_by,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcknowledgementTotals {
    /// Active KIMs the audience matched when the bulletin was published; `null` for a
    /// draft.
    pub kims_addressed: Option<i32>,
    pub kims_acknowledged: i64,
    pub total_reach: i64,
    /// `kims_acknowledged / kims_addressed`; `null` when nothing was addressed. It can
    /// pass 1 when KIMs joined the audience after publication.
    pub acknowledgement_rate: Option<f64>,
}

/// One page of a bulletin's acknowledgements (by KIM id), with totals over all.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcknowledgementPage {
    pub totals: AcknowledgementTotals,
    pub data: Vec<Acknowledgement>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AcknowledgementFilter {}

impl AcknowledgementRequest {
    fn check(self) -> Result<(i32, Option<String>), ApiError> {
        let mut checks = Checks::new();
        let reach = i32::try_from(self.reach)
            .ok()
            .filter(|reach| (0..=MAX_REACH).contains(&i64::from(*reach)));
        if reach.is_none() {
            checks.push(FieldIssue::new(
                "reach",
                "out_of_range",
                format!("must be between 0 and {MAX_REACH}"),
                format!("harus antara 0 dan {MAX_REACH}"),
            ));
        }
        let note = checks.optional_text(
            "note",
            self.note.as_deref(),
            limits::ACKNOWLEDGEMENT_NOTE,
            Lines::Multi,
        );
        let (reach,) = checks.finish_with((reach,))?;
        Ok((reach, note))
    }
}

fn find_acknowledgement(
    conn: &mut DbConnection,
    bulletin_id: i64,
    kim_id: i64,
) -> Result<Option<AcknowledgementRow>, ApiError> {
    Ok(bulletin_acknowledgements::table
        .filter(bulletin_acknowledgements::bulletin_id.eq(bulletin_id))
        .filter(bulletin_acknowledgements::kim_id.eq(kim_id))
        .select(AcknowledgementRow::as_select())
        .first(conn)
        .optional()?)
}

/// Confirms, for the caller's KIM, that the bulletin arrived and reached about `reach`
/// citizens. Once per KIM: a repeat replaces the figures (`200`). Honours
/// `Idempotency-Key`: a retry with the key replays the first answer, the same key with
/// other figures is `422 idempotency_key_reused`.
///
/// Roles: kim_admin and kim_member of a KIM the bulletin is addressed to.
#[utoipa::path(
    tag = "bulletins",
    params(("id" = i64, Path, description = "Bulletin id"), IdempotencyKeyParam),
    request_body = AcknowledgementRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The KIM's acknowledgement, updated", body = Acknowledgement),
        (status = 201, description = "The KIM's acknowledgement, first given", body = Acknowledgement,
            headers(("Location" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`not_received`: the KIM cannot acknowledge it (a draft or archived bulletin of its own); `kim_dissolved`: the caller's KIM is dissolved",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/bulletins/{id}/acknowledgements")]
pub async fn acknowledge(
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<AcknowledgementRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    policy::may_acknowledge(&caller)?;
    let ApiJson(request) = body;
    let (reach, note) = request.check()?;
    let acknowledging = caller.clone();
    creating
        .create_once(
            &caller,
            move |uow| {
                let (row, created) = record(uow, &acknowledging, id, reach, note.as_deref())?;
                let body = Acknowledgement::from(row);
                Ok(CreatedResponse {
                    status: if created { 201 } else { 200 },
                    body: serde_json::to_value(&body).map_err(ApiError::internal)?,
                    location: created.then(|| format!("/api/v1/bulletins/{id}/acknowledgements")),
                    etag: None,
                })
            },
            nothing_owed,
        )
        .await
}

/// Writes the KIM's acknowledgement of bulletin `id`; answers it and whether it is new.
fn record(
    uow: &mut UnitOfWork<'_>,
    caller: &Caller,
    id: i64,
    reach: i32,
    note: Option<&str>,
) -> Result<(AcknowledgementRow, bool), ApiError> {
    crate::kims::model::ensure_kim_user_may_write(uow, caller)?;
    // One acknowledgement per KIM: two at once queue on the bulletin.
    uow.lock_bulletin(id)?;
    let access = BulletinAccess::of(uow.conn, Some(caller))?;
    let kim_id = access.kim().ok_or(ApiError::Forbidden)?;
    if !received(uow.conn, &access, id)? {
        // Not received: unknown to the caller (404), or its board's own draft or
        // archived bulletin (409).
        find_visible(uow.conn, &access, id)?;
        return Err(ApiError::conflict(
            "not_received",
            "Only a published bulletin your KIM received is acknowledged.",
            "Hanya buletin terbit yang diterima KIM Anda yang dapat dikonfirmasi.",
        ));
    }
    let now = now();
    let existing = find_acknowledgement(uow.conn, id, kim_id)?;
    let row: AcknowledgementRow = match &existing {
        Some(current) => diesel::update(
            bulletin_acknowledgements::table.filter(bulletin_acknowledgements::id.eq(current.id)),
        )
        .set((
            bulletin_acknowledgements::reach.eq(reach),
            bulletin_acknowledgements::note.eq(note),
            bulletin_acknowledgements::acknowledged_by.eq(caller.user_id()),
            bulletin_acknowledgements::updated_at.eq(now),
        ))
        .returning(bulletin_acknowledgements::all_columns)
        .get_result(uow.conn)?,
        None => diesel::insert_into(bulletin_acknowledgements::table)
            .values((
                bulletin_acknowledgements::bulletin_id.eq(id),
                bulletin_acknowledgements::kim_id.eq(kim_id),
                bulletin_acknowledgements::reach.eq(reach),
                bulletin_acknowledgements::note.eq(note),
                bulletin_acknowledgements::acknowledged_by.eq(caller.user_id()),
                bulletin_acknowledgements::created_at.eq(now),
                bulletin_acknowledgements::updated_at.eq(now),
            ))
            .returning(bulletin_acknowledgements::all_columns)
            .get_result(uow.conn)?,
    };
    let target = Target::new("bulletin", id);
    uow.audit(
        "bulletin.acknowledged",
        Some(target.clone()),
        Some(format!("kim={kim_id} reach={reach}")),
    )?;
    uow.emit(Event::new(
        EventType::BulletinAcknowledged,
        target,
        serde_json::json!({"id": id, "kim_id": kim_id, "reach": reach}),
    ))?;
    Ok((row, existing.is_none()))
}

/// Whether the caller's KIM received bulletin `id` (published, unexpired, addressed).
fn received(conn: &mut DbConnection, access: &BulletinAccess, id: i64) -> Result<bool, ApiError> {
    let Some(condition) = access.received() else {
        return Ok(false);
    };
    let found: Option<i64> = bulletins::table
        .filter(bulletins::id.eq(id))
        .filter(condition)
        .select(bulletins::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// The KIMs that acknowledged a bulletin, by KIM id, with totals: KIMs addressed,
/// KIMs acknowledged, total reach and the acknowledgement rate.
///
/// Roles: gov users; the origin KIM's kim_admin for its own KIM's bulletins.
#[utoipa::path(
    tag = "bulletins",
    params(("id" = i64, Path, description = "Bulletin id"), AcknowledgementFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Totals and one page of acknowledgements", body = AcknowledgementPage),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/bulletins/{id}/acknowledgements")]
pub async fn list_acknowledgements(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
    query: ListQuery<AcknowledgementFilter>,
) -> Result<web::Json<AcknowledgementPage>, ApiError> {
    let id = id.into_inner();
    let ListQuery { page, .. } = query;
    let after: Option<i64> = page.after()?;
    let fetch_limit = page.fetch_limit();
    let (bulletin, rows, acknowledged, reach) = db
        .read(move |conn| {
            let access = BulletinAccess::of(conn, Some(&caller))?;
            let bulletin = find_visible(conn, &access, id)?;
            policy::may_read_acknowledgements(&caller, &bulletin)?;
            let of_bulletin = bulletin_acknowledgements::bulletin_id.eq(id);
            let (acknowledged, reach): (i64, Option<i64>) = bulletin_acknowledgements::table
                .filter(of_bulletin)
                .select((
                    diesel::dsl::count_star(),
                    diesel::dsl::sum(bulletin_acknowledgements::reach),
                ))
                .first(conn)?;
            let mut select = bulletin_acknowledgements::table
                .filter(of_bulletin)
                .select(AcknowledgementRow::as_select())
                .order(bulletin_acknowledgements::kim_id)
                .limit(fetch_limit)
                .into_boxed();
            if let Some(after) = after {
                select = select.filter(bulletin_acknowledgements::kim_id.gt(after));
            }
            Ok((bulletin, select.load(conn)?, acknowledged, reach))
        })
        .await?;
    let acknowledgements: Vec<Acknowledgement> = rows.into_iter().map(Into::into).collect();
    let page = crate::pagination::Page::from_rows(acknowledgements, &page, |ack| ack.kim_id);
    let addressed = bulletin.kims_addressed;
    let rate = addressed
        .filter(|addressed| *addressed > 0)
        .map(|addressed| acknowledged as f64 / f64::from(addressed));
    Ok(web::Json(AcknowledgementPage {
        totals: AcknowledgementTotals {
            kims_addressed: addressed,
            kims_acknowledged: acknowledged,
            total_reach: reach.unwrap_or(0),
            acknowledgement_rate: rate,
        },
        data: page.data,
        next_cursor: page.next_cursor,
    }))
}

/// Rows of an acknowledgement export: one per acknowledging KIM, with its name.
const EXPORT_COLUMNS: [&str; 9] = [
    "kim_id",
    "kim_registration_code",
    "kim_name",
    "kelurahan_code",
    "reach",
    "note",
    "acknowledged_by",
    "created_at",
    "updated_at",
];

/// The KIMs that acknowledged a bulletin as CSV, by KIM id, for officers' spreadsheets
/// (one row per KIM: at most as many rows as there are KIMs).
///
/// Roles as for the JSON list: gov users; the origin KIM's kim_admin for its own KIM's
/// bulletins. Columns: `kim_id, kim_registration_code, kim_name, kelurahan_code, reach,
/// note, acknowledged_by, created_at, updated_at`. Typed cells that would start a
/// spreadsheet formula begin with `'`.
#[utoipa::path(
    tag = "bulletins",
    params(("id" = i64, Path, description = "Bulletin id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The acknowledgements as CSV (UTF-8 with a byte-order mark, header row)",
            content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String))),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/bulletins/{id}/acknowledgements.csv")]
pub async fn export_acknowledgements(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
    _no_parameters: crate::extract::ApiQuery<AcknowledgementFilter>,
) -> Result<HttpResponse, ApiError> {
    use crate::db::schema::kims;
    use crate::export::{self, CsvRow};
    let id = id.into_inner();
    let rows = db
        .read(move |conn| {
            let access = BulletinAccess::of(conn, Some(&caller))?;
            let bulletin = find_visible(conn, &access, id)?;
            policy::may_read_acknowledgements(&caller, &bulletin)?;
            Ok(bulletin_acknowledgements::table
                .inner_join(kims::table.on(kims::id.eq(bulletin_acknowledgements::kim_id)))
                .filter(bulletin_acknowledgements::bulletin_id.eq(id))
                .order(bulletin_acknowledgements::kim_id)
                .select((
                    AcknowledgementRow::as_select(),
                    kims::registration_code,
                    kims::name,
                    kims::kelurahan_code,
                ))
                .load::<(AcknowledgementRow, String, String, String)>(conn)?)
        })
        .await?;
    let instant = |at: NaiveDateTime| export::instant(utc(at));
    let lines: Vec<CsvRow> = rows
        .into_iter()
        .map(|(ack, code, name, kelurahan)| {
            let mut row = CsvRow::default();
            row.value(ack.kim_id)
                .value(code)
                .text(&name)
                .value(kelurahan)
                .value(ack.reach)
                .optional_text(ack.note.as_deref())
                .optional_value(ack.acknowledged_by)
                .value(instant(ack.created_at))
                .value(instant(ack.updated_at));
            row
        })
        .collect();
    let body = export::encode(Some(&EXPORT_COLUMNS), &lines)?;
    let filename = format!("tanda-terima-buletin-{id}.csv");
    Ok(export::answer(
        &filename,
        futures_util::stream::once(async move { Ok::<_, ApiError>(body) }),
    ))
}
