//! Service requests: reports as Open311 shows them, and new ones from Open311 clients
//! (`channel: open311`).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    DEFAULT_WINDOW_DAYS, Format, JurisdictionQuery, KELURAHAN_ATTRIBUTE, KIND_ATTRIBUTE,
    MAX_REQUESTS, Open311Error, Open311ErrorItem, answer, check_jurisdiction, read, xml,
};
use crate::audit::{Actor, RequestOrigin};
use crate::auth::Caller;
use crate::crypto::PersonalDataCipher;
use crate::db::schema::{
    integration_api_keys, report_categories, report_media_urls, report_timeline, reports,
};
use crate::db::{Db, DbConnection, now};
use crate::domain::text::limits;
use crate::error::ApiError;
use crate::integration_clients::api_keys::caller_of_key;
use crate::outbound::target::MAX_URL;
use crate::reports::model::{Channel, Kind, Privacy, ReportStatus};
use crate::reports::tracking::TrackingCode;
use crate::reports::{NewReportRequest, submit};

/// W3C date-time in Western Indonesian Time, as Open311 writes dates.
fn w3c(at: NaiveDateTime) -> String {
    let wib = FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| unreachable!("a valid offset"));
    at.and_utc()
        .with_timezone(&wib)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// A report as Open311 shows it: no reporter, ever.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceRequest {
    #[schema(example = "1042")]
    pub service_request_id: String,
    /// `open` or `closed`.
    #[schema(example = "open")]
    pub status: &'static str,
    /// The last public note on the report's timeline.
    pub status_notes: Option<String>,
    pub service_name: String,
    pub service_code: String,
    pub description: String,
    pub agency_responsible: Option<String>,
    pub service_notice: Option<String>,
    #[schema(example = "2026-11-30T09:15:00+07:00")]
    pub requested_datetime: String,
    pub updated_datetime: String,
    /// When the next service-level step is due.
    pub expected_datetime: Option<String>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub media_url: Option<String>,
}

/// Open311's two statuses for the report workflow's five.
fn open311_status(status: ReportStatus) -> &'static str {
    match status {
        ReportStatus::Resolved | ReportStatus::Rejected => "closed",
        _ => "open",
    }
}

fn statuses_for(open311: &str) -> &'static [ReportStatus] {
    use ReportStatus::*;
    if open311 == "closed" {
        &[Resolved, Rejected]
    } else {
        &[Submitted, Verified, InProgress]
    }
}

type RequestColumns = (
    (i64, ReportStatus, String, String, Option<String>),
    (
        NaiveDateTime,
        NaiveDateTime,
        NaiveDateTime,
        Option<NaiveDateTime>,
    ),
    (Option<String>, Option<f64>, Option<f64>),
);

/// Publicly visible reports (not confidential), newest first, at most `MAX_REQUESTS`.
fn load(
    conn: &mut DbConnection,
    narrow: impl FnOnce(
        reports::BoxedQuery<'static, crate::db::Backend>,
    ) -> reports::BoxedQuery<'static, crate::db::Backend>,
) -> Result<Vec<ServiceRequest>, ApiError> {
    let query = reports::table
        .filter(reports::privacy.ne(Privacy::Confidential))
        .into_boxed();
    let ids_and_rows: Vec<RequestColumns> = narrow(query)
        .order((reports::created_at.desc(), reports::id.desc()))
        .limit(MAX_REQUESTS)
        .select((
            (
                reports::id,
                reports::status,
                reports::category_code,
                reports::description,
                reports::assigned_agency,
            ),
            (
                reports::created_at,
                reports::updated_at,
                reports::verify_due_at,
                reports::response_due_at,
            ),
            (reports::address, reports::latitude, reports::longitude),
        ))
        .load(conn)?;
    let ids: Vec<i64> = ids_and_rows.iter().map(|row| row.0.0).collect();
    let names: HashMap<String, String> = report_categories::table
        .select((report_categories::code, report_categories::name))
        .load(conn)?
        .into_iter()
        .collect();
    let mut notes: HashMap<i64, String> = HashMap::new();
    for (report_id, body) in report_timeline::table
        .filter(report_timeline::report_id.eq_any(&ids))
        .filter(report_timeline::visibility.eq(crate::reports::TimelineVisibility::Public))
        .filter(report_timeline::body.is_not_null())
        .order((report_timeline::report_id, report_timeline::id))
        .select((report_timeline::report_id, report_timeline::body))
        .load::<(i64, Option<String>)>(conn)?
    {
        if let Some(body) = body {
            notes.insert(report_id, body);
        }
    }
    let media: HashMap<i64, String> = report_media_urls::table
        .filter(report_media_urls::report_id.eq_any(&ids))
        .select((report_media_urls::report_id, report_media_urls::media_url))
        .load(conn)?
        .into_iter()
        .collect();
    Ok(ids_and_rows
        .into_iter()
        .map(|(head, times, place)| {
            let (id, status, code, description, agency) = head;
            let (created, updated, verify_due, response_due) = times;
            let (address, lat, long) = place;
            let shown_status = open311_status(status);
            let expected = (shown_status == "open").then(|| {
                if status == ReportStatus::Submitted {
                    Some(verify_due)
                } else {
                    response_due
                }
            });
            ServiceRequest {
                service_request_id: id.to_string(),
                status: shown_status,
                status_notes: notes.remove(&id),
                service_name: names.get(&code).cloned().unwrap_or_else(|| code.clone()),
                service_code: code,
                description,
                agency_responsible: agency,
                service_notice: None,
                requested_datetime: w3c(created),
                updated_datetime: w3c(updated),
                expected_datetime: expected.flatten().map(w3c),
                address,
                address_id: None,
                zipcode: None,
                lat,
                long,
                media_url: media.get(&id).cloned(),
            }
        })
        .collect())
}

/// The filters of `GET requests`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// Comma-separated ids; when given, the other filters are ignored.
    #[param(example = "1042,1043")]
    service_request_id: Option<String>,
    /// Comma-separated service codes.
    #[param(example = "infrastruktur")]
    service_code: Option<String>,
    /// W3C date-time; with neither date, the last 90 days.
    #[param(example = "2026-11-01T00:00:00+07:00")]
    start_date: Option<String>,
    end_date: Option<String>,
    /// `open`, `closed` or both, comma-separated.
    #[param(example = "open")]
    status: Option<String>,
    jurisdiction_id: Option<String>,
}

fn bad(format: Format, description: impl Into<String>) -> Open311Error {
    Open311Error::new(format, StatusCode::BAD_REQUEST, description)
}

fn date(
    format: Format,
    name: &str,
    text: Option<&str>,
) -> Result<Option<NaiveDateTime>, Open311Error> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&Utc).naive_utc())
            .map_err(|_| {
                bad(
                    format,
                    format!("{name} must be a W3C date-time such as 2026-11-30T09:00:00+07:00"),
                )
            })
    })
    .transpose()
}

fn list(text: Option<&str>) -> Vec<String> {
    text.map(|text| {
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// Service requests: by id, or by service, period and status (the last 90 days by
/// default; at most 1000, newest first). Confidential reports never appear.
#[utoipa::path(
    tag = "open311",
    params(("format" = inline(Format), Path, description = "`json` or `xml`"), RequestsQuery),
    responses(
        (status = 200, description = "The service requests", content(
            (Vec<ServiceRequest> = "application/json"), (String = "text/xml"))),
        (status = 400, description = "A bad filter", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 404, description = "Unknown format or jurisdiction", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 503, description = "The database is unavailable", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
    ),
)]
#[get("/open311/v2/requests.{format}")]
pub async fn list_requests(
    path: web::Path<String>,
    req: HttpRequest,
    db: web::Data<Db>,
) -> Result<HttpResponse, Open311Error> {
    let format = Format::parse(&path)?;
    let query: RequestsQuery = serde_urlencoded::from_str(req.query_string())
        .map_err(|error| bad(format, error.to_string()))?;
    check_jurisdiction(format, query.jurisdiction_id.as_deref())?;
    let selection = query.check(format)?;
    let found = read(&db, format, move |conn| {
        load(conn, |query| selection.narrow(query))
    })
    .await?;
    answer(format, StatusCode::OK, &found, || xml::requests(&found))
}

/// The requests a listing asks for: by id, or by creation window, service and status.
struct Selection {
    ids: Vec<i64>,
    codes: Vec<String>,
    statuses: Option<&'static [ReportStatus]>,
    start: NaiveDateTime,
    end: NaiveDateTime,
}

impl RequestsQuery {
    fn check(self, format: Format) -> Result<Selection, Open311Error> {
        let ids = list(self.service_request_id.as_deref())
            .into_iter()
            .map(|id| {
                id.parse::<i64>()
                    .map_err(|_| bad(format, "service_request_id must be comma-separated numbers"))
            })
            .collect::<Result<Vec<i64>, _>>()?;
        let statuses = list(self.status.as_deref());
        if let Some(unknown) = statuses
            .iter()
            .find(|status| *status != "open" && *status != "closed")
        {
            return Err(bad(
                format,
                format!("status must be open or closed, not {unknown}"),
            ));
        }
        let (start, end) = window(
            format,
            date(format, "start_date", self.start_date.as_deref())?,
            date(format, "end_date", self.end_date.as_deref())?,
        )?;
        Ok(Selection {
            ids,
            codes: list(self.service_code.as_deref()),
            // Both `open` and `closed` is every status.
            statuses: (statuses.len() == 1).then(|| statuses_for(&statuses[0])),
            start,
            end,
        })
    }
}

/// The creation window of a listing: as given, or [`DEFAULT_WINDOW_DAYS`] from the
/// bound given, or up to now; never longer.
fn window(
    format: Format,
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
) -> Result<(NaiveDateTime, NaiveDateTime), Open311Error> {
    let window = Duration::days(DEFAULT_WINDOW_DAYS);
    let (start, end) = match (start, end) {
        (Some(start), Some(end)) => (start, end),
        (Some(start), None) => (start, start + window),
        (None, Some(end)) => (end - window, end),
        (None, None) => {
            let stamp = now();
            (stamp - window, stamp)
        }
    };
    if start > end {
        return Err(bad(format, "start_date must not be after end_date"));
    }
    if end - start > window {
        return Err(bad(
            format,
            format!("start_date to end_date may span at most {DEFAULT_WINDOW_DAYS} days"),
        ));
    }
    Ok((start, end))
}

impl Selection {
    fn narrow(
        self,
        query: reports::BoxedQuery<'static, crate::db::Backend>,
    ) -> reports::BoxedQuery<'static, crate::db::Backend> {
        if !self.ids.is_empty() {
            return query.filter(reports::id.eq_any(self.ids));
        }
        let mut query = query
            .filter(reports::created_at.ge(self.start))
            .filter(reports::created_at.le(self.end));
        if !self.codes.is_empty() {
            query = query.filter(reports::category_code.eq_any(self.codes));
        }
        if let Some(statuses) = self.statuses {
            query = query.filter(reports::status.eq_any(statuses));
        }
        query
    }
}

fn not_found(format: Format) -> Open311Error {
    Open311Error::new(format, StatusCode::NOT_FOUND, "no such service request")
}

/// One service request, as a list of one.
#[utoipa::path(
    tag = "open311",
    params(
        ("service_request_id" = String, Path, description = "The request's id"),
        ("format" = inline(Format), Path, description = "`json` or `xml`"),
        JurisdictionQuery,
    ),
    responses(
        (status = 200, description = "The service request", content(
            (Vec<ServiceRequest> = "application/json"), (String = "text/xml"))),
        (status = 400, description = "A bad query parameter", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 404, description = "No such public request, or unknown format or jurisdiction", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 503, description = "The database is unavailable", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
    ),
)]
#[get("/open311/v2/requests/{service_request_id}.{format}")]
pub async fn get_request(
    path: web::Path<(String, String)>,
    req: HttpRequest,
    db: web::Data<Db>,
) -> Result<HttpResponse, Open311Error> {
    let (id, format) = path.into_inner();
    let format = Format::parse(&format)?;
    super::jurisdiction_only(format, req.query_string())?;
    let id: i64 = id.parse().map_err(|_| not_found(format))?;
    let found = read(&db, format, move |conn| {
        load(conn, |query| query.filter(reports::id.eq(id)))
    })
    .await?;
    if found.is_empty() {
        return Err(not_found(format));
    }
    answer(format, StatusCode::OK, &found, || xml::requests(&found))
}

/// A token's request.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenAnswer {
    pub service_request_id: String,
    #[schema(example = "MTR-7KQ3-X9PA")]
    pub token: String,
}

/// The request a token (a report's tracking code) stands for.
#[utoipa::path(
    tag = "open311",
    params(
        ("token" = String, Path, description = "The report's tracking code"),
        ("format" = inline(Format), Path, description = "`json` or `xml`"),
        JurisdictionQuery,
    ),
    responses(
        (status = 200, description = "The request's id", content(
            (Vec<TokenAnswer> = "application/json"), (String = "text/xml"))),
        (status = 400, description = "A bad query parameter", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 404, description = "No such public request, or unknown format or jurisdiction", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 503, description = "The database is unavailable", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
    ),
)]
#[get("/open311/v2/tokens/{token}.{format}")]
pub async fn request_of_token(
    path: web::Path<(String, String)>,
    req: HttpRequest,
    db: web::Data<Db>,
) -> Result<HttpResponse, Open311Error> {
    let (token, format) = path.into_inner();
    let format = Format::parse(&format)?;
    super::jurisdiction_only(format, req.query_string())?;
    // The code as the citizen was given it (`MTR-7KQ3-X9PA`) or typed it.
    let code = TrackingCode::parse(&token).ok_or_else(|| not_found(format))?;
    let id: Option<i64> = read(&db, format, move |conn| {
        Ok(reports::table
            .filter(reports::tracking_code.eq(code.stored()))
            .filter(reports::privacy.ne(Privacy::Confidential))
            .select(reports::id)
            .first(conn)
            .optional()?)
    })
    .await?;
    let id = id.ok_or_else(|| not_found(format))?;
    let found = [TokenAnswer {
        service_request_id: id.to_string(),
        token,
    }];
    answer(format, StatusCode::OK, &found, || xml::tokens(&found))
}

/// What a new request answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostedRequest {
    pub service_request_id: String,
    pub service_notice: String,
    pub account_id: Option<String>,
}

/// The fields of `POST requests` (form-encoded; `api_key` and `jurisdiction_id` may
/// also come in the query). Attributes come as `attribute[kelurahan_code]` and
/// `attribute[kind]`.
#[derive(Debug, Default, ToSchema)]
pub struct NewServiceRequest {
    pub api_key: String,
    #[schema(example = "infrastruktur")]
    pub service_code: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub email: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    /// `attribute[kelurahan_code]`: required unless `lat`/`long` are given and
    /// kelurahan boundaries are loaded (the point then names it).
    #[schema(rename = "attribute[kelurahan_code]")]
    pub kelurahan_code: Option<String>,
    /// `attribute[kind]`: `complaint` when absent.
    #[schema(rename = "attribute[kind]")]
    pub kind: Option<String>,
    pub jurisdiction_id: Option<String>,
}

impl NewServiceRequest {
    fn parse(format: Format, pairs: Vec<(String, String)>) -> Result<Self, Open311Error> {
        let mut request = NewServiceRequest::default();
        for (name, value) in pairs {
            let number = |value: &str| {
                value
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|number| number.is_finite())
                    .ok_or_else(|| bad(format, format!("{name} must be a number")))
            };
            let text = Some(value.clone());
            match name.as_str() {
                "api_key" => request.api_key = value,
                "service_code" => request.service_code = value,
                "lat" => request.lat = Some(number(&value)?),
                "long" => request.long = Some(number(&value)?),
                "address_string" => request.address_string = text,
                "address_id" => request.address_id = text,
                "email" => request.email = text,
                "device_id" => request.device_id = text,
                "account_id" => request.account_id = text,
                "first_name" => request.first_name = text,
                "last_name" => request.last_name = text,
                "phone" => request.phone = text,
                "description" => request.description = text,
                "media_url" => request.media_url = text,
                "jurisdiction_id" => request.jurisdiction_id = text,
                "attribute[kelurahan_code]" => request.kelurahan_code = text,
                "attribute[kind]" => request.kind = text,
                other if other.starts_with("attribute[") => {
                    return Err(bad(
                        format,
                        format!(
                            "{other} is not an attribute of this service (see services/{{service_code}})"
                        ),
                    ));
                }
                other => return Err(bad(format, format!("unknown parameter {other}"))),
            }
        }
        Ok(request)
    }

    /// The report it asks for, checked as the JSON API checks one, and its media URL.
    fn into_report(
        self,
        format: Format,
    ) -> Result<(NewReportRequest, Option<String>), Open311Error> {
        let missing = |what: &str| bad(format, format!("{what} is required"));
        if self.service_code.trim().is_empty() {
            return Err(missing("service_code"));
        }
        let located = self.lat.is_some() || self.long.is_some();
        let address = self
            .address_string
            .filter(|address| !address.trim().is_empty())
            .or(self.address_id.filter(|id| !id.trim().is_empty()));
        if !located && address.is_none() {
            return Err(bad(
                format,
                "a location is required: lat and long, or address_string",
            ));
        }
        let description = self
            .description
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| missing("description"))?;
        // Without it the point names the kelurahan, when boundaries are loaded; the
        // report's own check says so otherwise.
        let kelurahan = self.kelurahan_code.filter(|code| !code.trim().is_empty());
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") => Kind::Complaint,
            Some(text) => Kind::parse(text).ok_or_else(|| {
                bad(
                    format,
                    "attribute[kind] must be aspiration, complaint, question or information",
                )
            })?,
        };
        let media_url = self.media_url.filter(|url| !url.trim().is_empty());
        if let Some(url) = &media_url {
            let parsed = url::Url::parse(url.trim()).ok();
            let web = parsed.is_some_and(|url| matches!(url.scheme(), "http" | "https"));
            if !web || url.chars().count() > MAX_URL {
                return Err(bad(
                    format,
                    format!("media_url must be an http(s) URL of at most {MAX_URL} characters"),
                ));
            }
        }
        let name = [self.first_name, self.last_name]
            .into_iter()
            .flatten()
            .map(|part| part.trim().to_owned())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let contact = self
            .phone
            .filter(|phone| !phone.trim().is_empty())
            .or(self.email.filter(|email| !email.trim().is_empty()));
        // Checked by the JSON API's own rules.
        let report = NewReportRequest {
            kind,
            category_code: self.service_code,
            title: title_of(&description),
            description,
            kelurahan_code: kelurahan,
            address,
            latitude: self.lat,
            longitude: self.long,
            reporter_name: (!name.is_empty()).then_some(name),
            reporter_contact: contact,
            privacy: None,
            notify_reporter: None,
        };
        Ok((report, media_url.map(|url| url.trim().to_owned())))
    }
}

/// Open311 has no title: the description's first line, cut to the title's limit.
fn title_of(description: &str) -> String {
    let first_line = description.trim().lines().next().unwrap_or_default().trim();
    if first_line.chars().count() <= limits::REPORT_TITLE {
        return first_line.to_owned();
    }
    let mut title: String = first_line.chars().take(limits::REPORT_TITLE - 1).collect();
    title.push('…');
    title
}

/// The JSON API's field names as an Open311 client sent them.
fn open311_field(field: &str) -> String {
    match field {
        "category_code" => "service_code".to_owned(),
        "kelurahan_code" => format!("attribute[{KELURAHAN_ATTRIBUTE}]"),
        "kind" => format!("attribute[{KIND_ATTRIBUTE}]"),
        "address" => "address_string".to_owned(),
        "latitude" => "lat".to_owned(),
        "longitude" => "long".to_owned(),
        "reporter_name" => "first_name/last_name".to_owned(),
        "reporter_contact" => "phone/email".to_owned(),
        "title" => "description".to_owned(),
        other => other.to_owned(),
    }
}

/// Creates a service request (a report, `channel: open311`) with the `api_key` of an
/// integration client holding `reports:write`.
#[utoipa::path(
    tag = "open311",
    params(("format" = inline(Format), Path, description = "`json` or `xml`")),
    request_body(content = NewServiceRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "Created: the request's id, and its tracking code in the notice", content(
            (Vec<PostedRequest> = "application/json"), (String = "text/xml"))),
        (status = 400, description = "A missing or invalid field", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 403, description = "No valid `api_key`", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 404, description = "Unknown format or jurisdiction", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 503, description = "The database is unavailable", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
    ),
)]
#[post("/open311/v2/requests.{format}")]
pub async fn create_request(
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    origin: RequestOrigin,
) -> Result<HttpResponse, Open311Error> {
    let format = Format::parse(&path)?;
    let request = NewServiceRequest::parse(format, form_pairs(format, &req, &body)?)?;
    check_jurisdiction(format, request.jurisdiction_id.as_deref())?;
    // The key first: a caller without one learns nothing about the fields.
    let key = request.api_key.clone();
    let caller = key_holder(&db, format, key.clone()).await?;
    let account_id = request.account_id.clone();
    let (report, media_url) = request.into_report(format)?;
    let new = report
        .check(Channel::Open311)
        .map_err(|error| Open311Error::from_api(format, error, open311_field))?;
    let (id, tracking_code) = db
        .unit_of_work(Actor::from(&caller), origin, move |uow| {
            let (row, _) = submit(uow, &caller, &new, &cipher)?;
            record_media_and_key_use(uow.conn, row.id, media_url.as_deref(), &key)?;
            Ok((row.id, row.tracking_code))
        })
        .await
        .map_err(|error| Open311Error::from_api(format, error, open311_field))?;
    let posted = [PostedRequest {
        service_request_id: id.to_string(),
        service_notice: format!(
            "Laporan diterima; kode lacak {tracking_code} (tokens/{tracking_code})"
        ),
        account_id,
    }];
    answer(format, StatusCode::CREATED, &posted, || {
        xml::posted(&posted)
    })
}

/// The fields of a POST: its query string and its form body, which must be
/// `application/x-www-form-urlencoded`.
fn form_pairs(
    format: Format,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Vec<(String, String)>, Open311Error> {
    let form = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(bad(
            format,
            "send the fields as application/x-www-form-urlencoded",
        ));
    }
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|error| bad(format, error.to_string()))?;
    pairs.extend(
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map_err(|error| bad(format, error.to_string()))?,
    );
    Ok(pairs)
}

/// The integration client holding `key`; 403 without a valid one.
async fn key_holder(db: &Db, format: Format, key: String) -> Result<Caller, Open311Error> {
    let forbidden =
        || Open311Error::new(format, StatusCode::FORBIDDEN, "a valid api_key is required");
    if key.is_empty() {
        return Err(forbidden());
    }
    read(db, format, move |conn| caller_of_key(conn, &key))
        .await?
        .ok_or_else(forbidden)
}

/// Keeps the request's media URL beside report `id`, and when its key was last used.
fn record_media_and_key_use(
    conn: &mut DbConnection,
    id: i64,
    media_url: Option<&str>,
    key: &str,
) -> Result<(), ApiError> {
    if let Some(url) = media_url {
        diesel::insert_into(report_media_urls::table)
            .values((
                report_media_urls::report_id.eq(id),
                report_media_urls::media_url.eq(url),
            ))
            .execute(conn)?;
    }
    diesel::update(
        integration_api_keys::table
            .filter(integration_api_keys::key_hash.eq(crate::auth::refresh::hash_token(key))),
    )
    .set(integration_api_keys::last_used_at.eq(now()))
    .execute(conn)?;
    Ok(())
}
