//! Open311 GeoReport v2 (<https://wiki.open311.org/GeoReport_v2>) at `/open311/v2/`,
//! so existing Open311 clients work with the service unchanged (SPEC §8). Report
//! categories are services; reports are service requests. Every resource answers in
//! `.json` and `.xml`, with the specification's field names, W3C date-times and error
//! shape (`[{"code", "description"}]`, `<errors><error>…`).
//!
//! Where the specification leaves room:
//! - Every service has `metadata: true` and two attributes: the kelurahan where it
//!   happens (required; a report needs it) and the report's kind (optional,
//!   `complaint` by default).
//! - A request's `service_request_id` is the report's id, answered at once; its
//!   tracking code is the `token` of `tokens/{token}`.
//! - Reading needs no key and shows only what the public may see: confidential reports
//!   never appear, and no request carries its reporter.

pub mod requests;
mod xml;

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, ResponseError, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::schema::regions;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::report_categories::{self, ReportCategory};
use crate::reports::model::Kind;

/// The one jurisdiction this endpoint serves.
pub const JURISDICTION: &str = "metrokota.go.id";
/// The most requests one `GET requests` answers.
pub const MAX_REQUESTS: i64 = 1000;
/// The period `GET requests` covers when no dates are given.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;

/// `json` or `xml`, from the resource's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    fn parse(text: &str) -> Result<Format, Open311Error> {
        match text {
            "json" => Ok(Format::Json),
            "xml" => Ok(Format::Xml),
            _ => Err(Open311Error::new(
                Format::Json,
                StatusCode::NOT_FOUND,
                "the format must be json or xml",
            )),
        }
    }
}

/// One error as Open311 writes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Open311ErrorItem {
    #[schema(example = 400)]
    pub code: u16,
    pub description: String,
}

/// An Open311 error answer, in the format the request asked for.
#[derive(Debug)]
pub struct Open311Error {
    format: Format,
    status: StatusCode,
    description: String,
}

impl Open311Error {
    pub fn new(format: Format, status: StatusCode, description: impl Into<String>) -> Self {
        Open311Error {
            format,
            status,
            description: description.into(),
        }
    }

    /// The service's own error in Open311's shape: rules and bad input are `400`;
    /// field names are those of the JSON API, which `rename` maps back.
    pub fn from_api(format: Format, error: ApiError, rename: fn(&str) -> String) -> Self {
        let status = match error.status() {
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT => StatusCode::BAD_REQUEST,
            status => status,
        };
        let issues = match &error {
            ApiError::Validation(issues)
            | ApiError::InvalidBody(issues)
            | ApiError::InvalidQuery(issues)
            | ApiError::Rule { issues, .. } => issues.as_slice(),
            _ => &[],
        };
        let description = if issues.is_empty() {
            match &error {
                ApiError::Internal(_) => "internal error".to_owned(),
                ApiError::Unavailable(_) => "the service is busy; try again".to_owned(),
                ApiError::NotFound => "not found".to_owned(),
                ApiError::Rule { detail_en, .. } => detail_en.clone(),
                other => other.to_string(),
            }
        } else {
            issues
                .iter()
                .map(|issue| format!("{}: {}", rename(&issue.field), issue.message_en()))
                .collect::<Vec<_>>()
                .join("; ")
        };
        if status.is_server_error() {
            tracing::error!(%error, "an Open311 request failed");
        }
        Open311Error::new(format, status, description)
    }
}

impl std::fmt::Display for Open311Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.description)
    }
}

impl ResponseError for Open311Error {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let errors = vec![Open311ErrorItem {
            code: self.status.as_u16(),
            description: self.description.clone(),
        }];
        let mut answer = HttpResponse::build(self.status);
        let mut response = match self.format {
            Format::Json => answer.json(errors),
            Format::Xml => match xml::errors(errors) {
                Ok(body) => answer.content_type(xml::CONTENT_TYPE).body(body),
                Err(_) => answer.finish(),
            },
        };
        // Open311 clients read errors in Open311's shape, not as problem documents.
        response
            .extensions_mut()
            .insert(crate::error::AlreadyRendered);
        response
    }
}

/// An answer in the asked format: `json` as it is, `xml` from its XML shape.
pub fn answer<T: Serialize>(
    format: Format,
    status: StatusCode,
    value: &T,
    as_xml: impl FnOnce() -> Result<String, quick_xml::SeError>,
) -> Result<HttpResponse, Open311Error> {
    match format {
        Format::Json => Ok(HttpResponse::build(status)
            .insert_header(ContentType::json())
            .json(value)),
        Format::Xml => {
            let body = as_xml().map_err(|error| {
                Open311Error::from_api(format, ApiError::internal(error), str::to_owned)
            })?;
            Ok(HttpResponse::build(status)
                .content_type(xml::CONTENT_TYPE)
                .body(body))
        }
    }
}

/// The `jurisdiction_id` every resource takes: optional, and only this one.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JurisdictionQuery {
    /// Optional: this endpoint serves one jurisdiction.
    #[param(example = "metrokota.go.id")]
    pub jurisdiction_id: Option<String>,
}

/// Reads the query of a resource that takes only `jurisdiction_id`.
fn jurisdiction_only(format: Format, query: &str) -> Result<(), Open311Error> {
    let parsed: JurisdictionQuery = serde_urlencoded::from_str(query)
        .map_err(|error| Open311Error::new(format, StatusCode::BAD_REQUEST, error.to_string()))?;
    check_jurisdiction(format, parsed.jurisdiction_id.as_deref())
}

pub fn check_jurisdiction(format: Format, jurisdiction: Option<&str>) -> Result<(), Open311Error> {
    match jurisdiction {
        Some(given) if given != JURISDICTION => Err(Open311Error::new(
            format,
            StatusCode::NOT_FOUND,
            format!("unknown jurisdiction_id; this endpoint serves {JURISDICTION}"),
        )),
        _ => Ok(()),
    }
}

async fn read<T, F>(db: &Db, format: Format, query: F) -> Result<T, Open311Error>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    db.read(query)
        .await
        .map_err(|error| Open311Error::from_api(format, error, str::to_owned))
}

/// One endpoint of the discovery document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Endpoint {
    pub specification: &'static str,
    pub url: String,
    pub changeset: &'static str,
    #[serde(rename = "type")]
    pub endpoint_type: &'static str,
    pub formats: Vec<&'static str>,
}

/// What this Open311 endpoint offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Discovery {
    pub changeset: &'static str,
    pub contact: &'static str,
    pub key_service: &'static str,
    pub endpoints: Vec<Endpoint>,
}

/// When this endpoint last changed what it offers.
const CHANGESET: &str = "2026-11-30T00:00:00+07:00";

fn discovery_document() -> Discovery {
    Discovery {
        changeset: CHANGESET,
        contact: "Diskominfo Kota Metro",
        key_service: "API keys are issued by Diskominfo Kota Metro to registered integration clients",
        endpoints: vec![Endpoint {
            specification: "http://wiki.open311.org/GeoReport_v2",
            url: "/open311/v2".to_owned(),
            changeset: CHANGESET,
            endpoint_type: "production",
            formats: vec!["application/json", "text/xml"],
        }],
    }
}

/// Open311 discovery: the specification, formats and contact of this endpoint.
#[utoipa::path(
    tag = "open311",
    params(("format" = inline(Format), Path, description = "`json` or `xml`"), JurisdictionQuery),
    responses(
        (status = 200, description = "The discovery document", content(
            (Discovery = "application/json"), (String = "text/xml"))),
        (status = 400, description = "A bad query parameter", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 404, description = "Unknown format or jurisdiction", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
    ),
)]
#[get("/open311/v2/discovery.{format}")]
pub async fn discovery(
    path: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, Open311Error> {
    let format = Format::parse(&path)?;
    jurisdiction_only(format, req.query_string())?;
    let document = discovery_document();
    answer(format, StatusCode::OK, &document, || {
        xml::discovery(&document)
    })
}

/// A service: an active report category.
#[derive(Debug, Serialize, ToSchema)]
pub struct Service {
    #[schema(example = "infrastruktur")]
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// Always `true`: every service has attributes (`services/{service_code}`).
    pub metadata: bool,
    /// Always `realtime`: a request gets its id at once.
    #[serde(rename = "type")]
    pub service_type: &'static str,
    pub keywords: String,
    pub group: String,
}

impl From<ReportCategory> for Service {
    fn from(category: ReportCategory) -> Self {
        Service {
            service_code: category.code,
            service_name: category.name,
            description: category.description.unwrap_or_default(),
            metadata: true,
            service_type: "realtime",
            keywords: String::new(),
            group: String::new(),
        }
    }
}

/// The services (active report categories).
#[utoipa::path(
    tag = "open311",
    params(("format" = inline(Format), Path, description = "`json` or `xml`"), JurisdictionQuery),
    responses(
        (status = 200, description = "The services", content(
            (Vec<Service> = "application/json"), (String = "text/xml"))),
        (status = 400, description = "A bad query parameter", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 404, description = "Unknown format or jurisdiction", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 503, description = "The database is unavailable", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
    ),
)]
#[get("/open311/v2/services.{format}")]
pub async fn services(
    path: web::Path<String>,
    req: actix_web::HttpRequest,
    db: web::Data<Db>,
) -> Result<HttpResponse, Open311Error> {
    let format = Format::parse(&path)?;
    jurisdiction_only(format, req.query_string())?;
    let services: Vec<Service> = read(&db, format, |conn| {
        Ok(report_categories::all(conn)?
            .into_iter()
            .filter(|category| category.active)
            .map(Service::from)
            .collect())
    })
    .await?;
    answer(format, StatusCode::OK, &services, || {
        xml::services(&services)
    })
}

/// One allowed value of a list attribute.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

/// A question a request of the service answers, as `attribute[code]`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Attribute {
    pub variable: bool,
    pub code: &'static str,
    /// Always `singlevaluelist` here.
    pub datatype: &'static str,
    pub required: bool,
    pub datatype_description: &'static str,
    pub order: u32,
    pub description: &'static str,
    pub values: Vec<AttributeValue>,
}

/// A service's attributes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDefinition {
    pub service_code: String,
    pub attributes: Vec<Attribute>,
}

/// The attribute naming the kelurahan of a request.
pub const KELURAHAN_ATTRIBUTE: &str = "kelurahan_code";
/// The attribute naming the kind of report.
pub const KIND_ATTRIBUTE: &str = "kind";

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Aspiration => "Aspirasi",
        Kind::Complaint => "Pengaduan",
        Kind::Question => "Pertanyaan",
        Kind::Information => "Informasi",
    }
}

fn definition(conn: &mut DbConnection, code: String) -> Result<ServiceDefinition, ApiError> {
    use diesel::prelude::*;
    report_categories::find(conn, &code)?
        .filter(|category| category.active)
        .ok_or(ApiError::NotFound)?;
    let kelurahans = regions::table
        .filter(regions::level.eq(crate::regions::RegionLevel::Kelurahan))
        .order(regions::code)
        .select((regions::code, regions::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(key, name)| AttributeValue { key, name })
        .collect();
    let derivable = crate::regions::boundaries::kelurahan_loaded(conn)?;
    Ok(ServiceDefinition {
        service_code: code,
        attributes: vec![
            Attribute {
                variable: true,
                code: KELURAHAN_ATTRIBUTE,
                datatype: "singlevaluelist",
                // With boundaries loaded, lat/long name the kelurahan.
                required: !derivable,
                datatype_description: if derivable {
                    "Kode kelurahan di Kota Metro; bila kosong, ditentukan dari lat/long"
                } else {
                    "Kode kelurahan di Kota Metro"
                },
                order: 1,
                description: "Kelurahan tempat kejadian",
                values: kelurahans,
            },
            Attribute {
                variable: true,
                code: KIND_ATTRIBUTE,
                datatype: "singlevaluelist",
                required: false,
                datatype_description: "Jenis laporan; pengaduan bila tidak diisi",
                order: 2,
                description: "Jenis laporan",
                values: Kind::ALL
                    .iter()
                    .map(|kind| AttributeValue {
                        key: kind.as_str().to_owned(),
                        name: kind_name(*kind).to_owned(),
                    })
                    .collect(),
            },
        ],
    })
}

/// A service's definition: the attributes a request of it answers.
#[utoipa::path(
    tag = "open311",
    params(
        ("service_code" = String, Path, description = "A service code"),
        ("format" = inline(Format), Path, description = "`json` or `xml`"),
        JurisdictionQuery,
    ),
    responses(
        (status = 200, description = "The service definition", content(
            (ServiceDefinition = "application/json"), (String = "text/xml"))),
        (status = 400, description = "A bad query parameter", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 404, description = "No such active service, or unknown format or jurisdiction", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
        (status = 503, description = "The database is unavailable", content(
            (Vec<Open311ErrorItem> = "application/json"), (String = "text/xml"))),
    ),
)]
#[get("/open311/v2/services/{service_code}.{format}")]
pub async fn service_definition(
    path: web::Path<(String, String)>,
    req: actix_web::HttpRequest,
    db: web::Data<Db>,
) -> Result<HttpResponse, Open311Error> {
    let (code, format) = path.into_inner();
    let format = Format::parse(&format)?;
    jurisdiction_only(format, req.query_string())?;
    let found = read(&db, format, move |conn| definition(conn, code)).await?;
    answer(format, StatusCode::OK, &found, || xml::definition(&found))
}
