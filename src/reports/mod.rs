//! Citizen reports (SPEC §7): KIMs bring citizens' aspirations and complaints to the
//! government, which verifies, routes, answers and resolves them within working-day
//! service levels. Who sees what is [`policy`]; the moves are [`workflow`].

mod comments;
pub mod escalation;
mod export;
pub mod feedback;
mod files;
pub(crate) mod listing;
mod map;
pub mod model;
pub mod policy;
pub mod subscriptions;
mod timeline;
mod track;
pub mod tracking;
mod workflow;

use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::attachments::{self, Attachment, FileOwner};
use crate::audit::{Actor, RequestOrigin};
use crate::auth::Caller;
use crate::concurrency::IfMatch;
use crate::crypto::PersonalDataCipher;
use crate::db::schema::{regions, report_categories, reports};
use crate::db::{Db, DbConnection, now};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::domain::{EmailAddress, PhoneNumber};
use crate::error::{ApiError, FieldIssue};
use crate::events::EventType;
use crate::extract::ApiJson;
use crate::holidays::calendar::Calendar;
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidPath, NotFound, PreconditionFailed,
    ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::unit_of_work::{Event, Target, UnitOfWork};
use model::{
    Channel, Inserted, Kind, Location, NewReport, Privacy, Report, ReportRow, ReportStatus,
};
use policy::ReportAccess;
use timeline::{Entry, EntryType, Visibility};
use tracking::TrackingCode;
use workflow::ReportMove;

pub use comments::{add_comment, list_comments};
pub use export::export_reports;
pub use feedback::give_feedback;
pub use files::{
    ReportFiles, attach_report_upload, delete_report_attachment, download_report_attachment,
    list_report_attachments, upload_report_attachment,
};
pub use listing::list_reports;
pub use map::reports_map;
pub use timeline::Visibility as TimelineVisibility;
pub use track::{TrackingLookups, track_report};

/// Working days to verify a report after submission, and to follow it up after
/// verification (SP4N-LAPOR!).
pub const VERIFY_WORKING_DAYS: u32 = 3;
pub const RESPONSE_WORKING_DAYS: u32 = 5;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReportRequest {
    pub(crate) kind: Kind,
    /// An active report category (`GET /api/v1/report-categories`).
    #[schema(example = "infrastruktur")]
    pub(crate) category_code: String,
    #[schema(example = "Lampu jalan padam di Jl. Ahmad Yani")]
    pub(crate) title: String,
    pub(crate) description: String,
    /// The kelurahan where it happens; its kecamatan is derived. May be left out
    /// when `latitude` and `longitude` are given and kelurahan boundaries are loaded:
    /// the point then names it (`422 outside_area` when it lies in none).
    #[schema(example = "18.72.01.1001")]
    pub(crate) kelurahan_code: Option<String>,
    pub(crate) address: Option<String>,
    /// With `longitude`, inside Kota Metro.
    #[schema(minimum = -90, maximum = 90, example = -5.1131)]
    pub(crate) latitude: Option<f64>,
    #[schema(minimum = -180, maximum = 180, example = 105.3067)]
    pub(crate) longitude: Option<f64>,
    pub(crate) reporter_name: Option<String>,
    /// An Indonesian phone number or an e-mail address; stored encrypted.
    #[schema(example = "+6281234567890")]
    pub(crate) reporter_contact: Option<String>,
    /// `normal` when absent.
    pub(crate) privacy: Option<Privacy>,
    /// With an e-mail `reporter_contact`: mail the reporter each status change and
    /// public comment, once they confirm the link of a confirmation mail.
    pub(crate) notify_reporter: Option<bool>,
}

impl NewReportRequest {
    pub(crate) fn check(self, channel: Channel) -> Result<NewReport, ApiError> {
        let mut checks = Checks::new();
        let title = checks.text("title", &self.title, limits::REPORT_TITLE, Lines::Single);
        let description = checks.text(
            "description",
            &self.description,
            limits::REPORT_DESCRIPTION,
            Lines::Multi,
        );
        let address = checks.optional_text(
            "address",
            self.address.as_deref(),
            limits::REPORT_ADDRESS,
            Lines::Single,
        );
        let reporter_name = checks.optional_text(
            "reporter_name",
            self.reporter_name.as_deref(),
            limits::REPORTER_NAME,
            Lines::Single,
        );
        let reporter_contact = self
            .reporter_contact
            .as_deref()
            .map(str::trim)
            .filter(|contact| !contact.is_empty())
            .and_then(|contact| checks.take(contact_of(contact)));
        let location = Location::check(
            &mut checks,
            self.latitude,
            self.longitude,
            ("latitude", "longitude"),
        );
        let notify_reporter = self.notify_reporter.unwrap_or(false);
        if notify_reporter && !reporter_contact.as_deref().is_some_and(|c| c.contains('@')) {
            checks.push(FieldIssue::new(
                "notify_reporter",
                "needs_email",
                "needs an e-mail address as reporter_contact",
                "memerlukan alamat surel sebagai reporter_contact",
            ));
        }
        let (title, description) = checks.finish_with((title, description))?;
        Ok(NewReport {
            kind: self.kind,
            category_code: self.category_code,
            title,
            description,
            kelurahan_code: self.kelurahan_code,
            address,
            location,
            reporter_name,
            reporter_contact,
            privacy: self.privacy.unwrap_or(Privacy::Normal),
            channel,
            notify_reporter,
        })
    }
}

/// A phone number (normalised to `+62…`) or an e-mail address.
fn contact_of(text: &str) -> Result<String, FieldIssue> {
    if text.contains('@') {
        EmailAddress::parse("reporter_contact", text).map(EmailAddress::into_string)
    } else {
        PhoneNumber::parse("reporter_contact", text).map(PhoneNumber::into_string)
    }
}

/// The report's kelurahan (given, or found from its point) with its kecamatan, and
/// that the category takes reports: 422 naming the field otherwise.
fn verify_places(conn: &mut DbConnection, new: &NewReport) -> Result<(String, String), ApiError> {
    let kelurahan = match (&new.kelurahan_code, new.location) {
        (Some(code), _) => Some(code.clone()),
        (None, Some(location)) => Some(kelurahan_at(conn, location)?),
        (None, None) => None,
    };
    // Both looked up in one statement: one round trip per submission.
    let (active, kecamatan): (Option<bool>, Option<String>) = diesel::select((
        report_categories::table
            .filter(report_categories::code.eq(&new.category_code))
            .select(report_categories::active)
            .single_value(),
        regions::table
            .filter(regions::code.eq(kelurahan.clone().unwrap_or_default()))
            .filter(regions::level.eq(crate::regions::RegionLevel::Kelurahan))
            .select(regions::parent_code)
            .single_value(),
    ))
    .get_result(conn)?;
    let mut issues = Vec::new();
    if active != Some(true) {
        issues.push(FieldIssue::new(
            "category_code",
            "unknown_category",
            format!("`{}` is not an active report category", new.category_code),
            format!("`{}` bukan kategori laporan yang aktif", new.category_code),
        ));
    }
    match &kelurahan {
        None => issues.push(FieldIssue::new(
            "kelurahan_code",
            "required",
            "required, unless latitude and longitude are given",
            "wajib diisi, kecuali latitude dan longitude diberikan",
        )),
        Some(code) if kecamatan.is_none() => issues.push(FieldIssue::new(
            "kelurahan_code",
            "unknown_region",
            format!("`{code}` is not a kelurahan of Kota Metro"),
            format!("`{code}` bukan kelurahan di Kota Metro"),
        )),
        Some(_) => {}
    }
    match (kelurahan, kecamatan) {
        (Some(kelurahan), Some(kecamatan)) if issues.is_empty() => Ok((kelurahan, kecamatan)),
        _ => Err(ApiError::Validation(issues)),
    }
}

/// The kelurahan `location` lies in, by the loaded boundaries.
fn kelurahan_at(conn: &mut DbConnection, location: Location) -> Result<String, ApiError> {
    use crate::regions::boundaries::{self, Placed, Point};
    let point = Point {
        latitude: location.latitude,
        longitude: location.longitude,
    };
    match boundaries::kelurahan_at(conn, point)? {
        Placed::Kelurahan { code, .. } => Ok(code),
        Placed::Outside => Err(ApiError::Validation(vec![FieldIssue::new(
            "latitude",
            "outside_area",
            "the point lies in no kelurahan of Kota Metro",
            "titik tidak berada di kelurahan mana pun di Kota Metro",
        )])),
        Placed::Unknown => Err(ApiError::Validation(vec![FieldIssue::new(
            "kelurahan_code",
            "required",
            "required: no kelurahan boundaries are loaded to find it from the point",
            "wajib diisi: batas kelurahan belum dimuat untuk menentukannya dari titik",
        )])),
    }
}

/// A tracking code no report holds yet (a collision is retried; the unique index is
/// the last word).
fn fresh_tracking_code(conn: &mut DbConnection) -> Result<TrackingCode, ApiError> {
    for _ in 0..5 {
        let code = TrackingCode::generate()?;
        let taken: i64 = reports::table
            .filter(reports::tracking_code.eq(code.stored()))
            .count()
            .get_result(conn)?;
        if taken == 0 {
            return Ok(code);
        }
    }
    Err(ApiError::internal(
        "five tracking codes in a row were taken",
    ))
}

/// A report as `access` shows it.
fn shown(
    row: ReportRow,
    access: &ReportAccess,
    cipher: &PersonalDataCipher,
    attached: Vec<Attachment>,
    at: NaiveDateTime,
) -> Result<Report, ApiError> {
    let people = access.people(&row);
    let contact = match (&row.reporter_contact, people.reporter) {
        (Some(stored), true) => Some(cipher.decrypt(stored).map_err(ApiError::internal)?),
        _ => None,
    };
    Report::from_row(row, people, contact, attached, at)
}

/// One report as `access` shows it, with its files.
fn shown_with_files(
    conn: &mut DbConnection,
    row: ReportRow,
    access: &ReportAccess,
    cipher: &PersonalDataCipher,
) -> Result<Report, ApiError> {
    let attached = attachments::of(conn, ReportFiles::owner(row.id))?;
    shown(row, access, cipher, attached, now())
}

/// Submits a report.
///
/// KIM users (the KIM comes from the token; `kim_id` in the body is an unknown field)
/// and integration clients holding `reports:write` (`channel: integration`). Honours
/// `Idempotency-Key`: a retry, even one racing the first request or sent after the
/// server died mid-request, answers the same report.
#[utoipa::path(
    tag = "reports",
    params(IdempotencyKeyParam),
    request_body = NewReportRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The report", body = Report,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "`kim_dissolved`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/reports")]
pub async fn create_report(
    caller: Caller,
    cipher: web::Data<PersonalDataCipher>,
    body: ApiJson<NewReportRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let channel = policy::channel_of(&caller)?;
    let ApiJson(request) = body;
    let new = request.check(channel)?;
    let writer = caller.clone();
    let replay_caller = caller.clone();
    let encrypting = cipher.clone();
    creating
        .create_once(
            &caller,
            move |uow| {
                let (row, access) = submit(uow, &writer, &new, &encrypting)?;
                let at = row.created_at;
                let report = shown(row, &access, &encrypting, Vec::new(), at)?;
                let location = format!("/api/v1/reports/{}", report.id);
                CreatedResponse::created(&report, location, report.version)
            },
            move |uow: &mut UnitOfWork<'_>, stored: &CreatedResponse| {
                // A replay shows the report only to a caller who may still see it.
                let id = stored.body.get("id").and_then(serde_json::Value::as_i64);
                let access = ReportAccess::of(uow.conn, &replay_caller)?;
                find_visible(uow.conn, &access, id.ok_or(ApiError::NotFound)?).map(|_| ())
            },
        )
        .await
}

/// Writes a submitted report with its first timeline entry, audit record and outbox
/// event, in the caller's unit of work: the one way in for every channel.
pub(crate) fn submit(
    uow: &mut UnitOfWork<'_>,
    writer: &Caller,
    new: &NewReport,
    encrypting: &PersonalDataCipher,
) -> Result<(ReportRow, ReportAccess), ApiError> {
    let access = ReportAccess::of(uow.conn, writer)?;
    let submitter = access.submitter(writer)?;
    crate::kims::model::ensure_kim_user_may_write(uow, writer)?;
    let (kelurahan_code, kecamatan_code) = verify_places(uow.conn, new)?;
    let at = now();
    let verify_due_at = Calendar::load(uow.conn, at)?.due(at, VERIFY_WORKING_DAYS);
    let tracking_code = fresh_tracking_code(uow.conn)?;
    let reporter_contact_ciphertext = new
        .reporter_contact
        .as_deref()
        .map(|contact| encrypting.encrypt(contact))
        .transpose()
        .map_err(ApiError::internal)?;
    let row = model::insert(
        uow.conn,
        Inserted {
            new,
            submitter,
            kelurahan_code: &kelurahan_code,
            kecamatan_code: &kecamatan_code,
            tracking_code: &tracking_code,
            reporter_contact_ciphertext,
            verify_due_at,
            at,
        },
    )?;
    timeline::record(
        uow.conn,
        access.author(writer),
        Entry {
            report_id: row.id,
            entry_type: EntryType::Status,
            visibility: Visibility::Public,
            from_status: None,
            to_status: Some(ReportStatus::Submitted),
            body: None,
            assigned_agency: None,
            at,
        },
    )?;
    if let Some(email) = new
        .reporter_contact
        .as_deref()
        .filter(|_| new.notify_reporter)
    {
        // Past the limits of mail to one address, the report still counts; the reporter
        // can follow it by its tracking code.
        match subscriptions::start(uow, encrypting, &row, email) {
            Err(ApiError::TooManyRequests { .. }) | Ok(_) => {}
            Err(error) => return Err(error),
        }
    }
    let target = Target::new("report", row.id);
    uow.audit("report.created", Some(target.clone()), None)?;
    uow.emit(Event::new(
        EventType::ReportCreated,
        target,
        serde_json::json!({"id": row.id, "kim_id": row.kim_id,
            "category_code": &row.category_code, "status": &row.status}),
    ))?;
    Ok((row, access))
}

/// The report `id` if `access` lets its caller see it; else 404.
fn find_visible(
    conn: &mut DbConnection,
    access: &ReportAccess,
    id: i64,
) -> Result<ReportRow, ApiError> {
    reports::table
        .filter(reports::id.eq(id))
        .filter(access.condition())
        .select(ReportRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)
}

/// One report, with its version as `ETag`.
///
/// gov users: every report; KIM users: their KIM's; integration clients: their own and,
/// with `reports:read`, every report that is not confidential. Others are 404.
#[utoipa::path(
    tag = "reports",
    params(("id" = i64, Path, description = "Report id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report", body = Report, headers(("ETag" = String))),
        (status = 400, response = InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/reports/{id}")]
pub async fn get_report(
    caller: Caller,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let report = db
        .read(move |conn| {
            let access = ReportAccess::of(conn, &caller)?;
            let row = find_visible(conn, &access, id)?;
            shown_with_files(conn, row, &access, &cipher)
        })
        .await?;
    Ok(crate::concurrency::ok_with_etag(report.version, &report))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportStatusRequest {
    status: ReportStatus,
    /// Required for `rejected`; shown on the public timeline.
    note: Option<String>,
    /// The government agency (OPD) handling it; from verification on.
    #[schema(example = "Dinas Pekerjaan Umum dan Penataan Ruang")]
    assigned_agency: Option<String>,
}

impl ReportStatusRequest {
    fn check(self) -> Result<ReportMove, ApiError> {
        let mut checks = Checks::new();
        let note = checks.optional_text(
            "note",
            self.note.as_deref(),
            limits::TIMELINE_BODY,
            Lines::Multi,
        );
        let agency = checks.optional_text(
            "assigned_agency",
            self.assigned_agency.as_deref(),
            limits::AGENCY,
            Lines::Single,
        );
        if self.status == ReportStatus::Rejected && note.is_none() && checks.is_empty() {
            checks.push(FieldIssue::new(
                "note",
                "required",
                "a rejection needs a note for the citizen",
                "penolakan memerlukan catatan untuk warga",
            ));
        }
        if agency.is_some()
            && matches!(
                self.status,
                ReportStatus::Submitted | ReportStatus::Rejected
            )
        {
            checks.push(FieldIssue::new(
                "assigned_agency",
                "not_allowed",
                "an agency is assigned on verification or later",
                "instansi ditetapkan saat verifikasi atau sesudahnya",
            ));
        }
        checks.finish()?;
        Ok(ReportMove {
            to: self.status,
            note,
            agency,
        })
    }
}

/// Moves a report through its workflow.
///
/// gov users: `submitted → verified → in_progress → resolved`, `submitted | verified →
/// rejected` (a note is required); a user of the submitting KIM: `resolved →
/// in_progress` within 30 days of the resolution. Any other move is `409
/// invalid_transition`; of two simultaneous moves of one report only one wins.
#[utoipa::path(
    tag = "reports",
    params(("id" = i64, Path, description = "Report id"),
        crate::openapi::IfMatchParam),
    request_body = ReportStatusRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report after the move", body = Report, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`invalid_transition`; `kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/reports/{id}/status")]
pub async fn change_report_status(
    caller: Caller,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: ApiJson<ReportStatusRequest>,
) -> Result<HttpResponse, ApiError> {
    let ApiJson(request) = body;
    let id = id.into_inner();
    let report_move = request.check()?;
    let report = db
        .unit_of_work(Actor::from(&caller), origin, move |uow| {
            crate::kims::model::ensure_kim_user_may_write(uow, &caller)?;
            let access = ReportAccess::of(uow.conn, &caller)?;
            let current = find_visible(uow.conn, &access, id)?;
            if_match.check(current.version)?;
            let row = report_move.apply(uow, &access, access.author(&caller), &current)?;
            shown_with_files(uow.conn, row, &access, &cipher)
        })
        .await?;
    Ok(crate::concurrency::ok_with_etag(report.version, &report))
}
