//! The one place where failures become HTTP answers: RFC 9457 `application/problem+json`
//! with a stable `code`, per-field `errors` and the request id (SPEC §1).
//!
//! Handlers and extractors return [`ApiError`]. The request middleware in
//! [`crate::telemetry`] renders every error response through [`problem_response`], so
//! actix's own failures (unknown route, bad JSON, …) get the same shape, the caller's
//! language and the request id.

use std::borrow::Cow;
use std::error::Error as StdError;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::i18n::Lang;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Field errors listed in one problem: a body with thousands of bad entries must not
/// make an answer of hundreds of kilobytes. The rest are counted in `errors_omitted`.
pub const MAX_PROBLEM_ERRORS: usize = 100;

type Cause = Box<dyn StdError + Send + Sync>;

/// Why one field of a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub field: String,
    pub code: Cow<'static, str>,
    message_en: String,
    message_id: String,
}

impl FieldIssue {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<Cow<'static, str>>,
        message_en: impl Into<String>,
        message_id: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message_en: message_en.into(),
            message_id: message_id.into(),
        }
    }

    /// The English message, for protocols that carry one text (Open311).
    pub fn message_en(&self) -> &str {
        &self.message_en
    }

    /// `in_the_future` when `date` is after today (UTC).
    pub fn check_not_future(field: &str, date: Option<chrono::NaiveDate>) -> Option<FieldIssue> {
        date.filter(|date| *date > crate::clock::now().date_naive())
            .map(|_| {
                FieldIssue::new(
                    field,
                    "in_the_future",
                    "cannot be in the future",
                    "tidak boleh di masa depan",
                )
            })
    }

    #[cfg(test)]
    pub fn render_en(&self) -> String {
        self.message_en.clone()
    }

    fn render(&self, lang: Lang) -> FieldError {
        FieldError {
            field: self.field.clone(),
            code: self.code.to_string(),
            message: lang.pick(&self.message_en, &self.message_id).clone(),
        }
    }
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// A token that is malformed, forged, expired or not meant for us.
    InvalidToken,
}

/// Marks an error response rendered in another documented shape (Open311's error
/// list) in its response extensions: the problem renderer leaves it as it is.
#[derive(Debug, Clone, Copy)]
pub struct AlreadyRendered;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid")]
    InvalidBody(Vec<FieldIssue>),
    #[error("the request body must be JSON")]
    UnsupportedMediaType,
    #[error("the request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("the request target exceeds {limit} bytes")]
    UriTooLong { limit: usize },
    #[error("invalid query parameters")]
    InvalidQuery(Vec<FieldIssue>),
    #[error("invalid path parameters")]
    InvalidPath(Vec<FieldIssue>),
    #[error("validation failed")]
    Validation(Vec<FieldIssue>),
    #[error("resource not found")]
    NotFound,
    #[error("no route matches the path")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The methods the path accepts, for the `Allow` header.
        allow: String,
    },
    #[error("conflict with an existing record")]
    Conflict { constraint: Option<String> },
    /// A business rule refused the request, with its own stable code
    /// (`409 last_admin`, `422 kim_not_compliant`, …) and, if any, the rules that failed.
    #[error("rule {code}")]
    Rule {
        status: StatusCode,
        code: &'static str,
        detail_en: String,
        detail_id: String,
        issues: Vec<FieldIssue>,
    },
    #[error("invalid request header")]
    InvalidHeader(Vec<FieldIssue>),
    #[error("authentication required or failed")]
    Unauthorized(AuthFailure),
    #[error("forbidden")]
    Forbidden,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("the resource changed since it was read")]
    PreconditionFailed,
    /// A `Range` no byte of a file of `size` bytes satisfies (RFC 9110 §15.5.17).
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    /// An OAuth 2.0 error from the token endpoint (RFC 6749 §5.2).
    #[error("oauth error {error}")]
    OAuth {
        error: &'static str,
        status: StatusCode,
        description: &'static str,
    },
    #[error("service unavailable")]
    Unavailable(#[source] Cause),
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ApiError {
    /// `409` with a specific code.
    pub fn conflict(
        code: &'static str,
        detail_en: impl Into<String>,
        detail_id: impl Into<String>,
    ) -> Self {
        ApiError::Rule {
            status: StatusCode::CONFLICT,
            code,
            detail_en: detail_en.into(),
            detail_id: detail_id.into(),
            issues: Vec::new(),
        }
    }

    /// `422` with a specific code and the failing rules as `errors`.
    pub fn unprocessable(
        code: &'static str,
        detail_en: impl Into<String>,
        detail_id: impl Into<String>,
        issues: Vec<FieldIssue>,
    ) -> Self {
        ApiError::Rule {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            detail_en: detail_en.into(),
            detail_id: detail_id.into(),
            issues,
        }
    }

    /// `403 field_not_allowed`: the caller may make this request, but not set `field`.
    pub fn field_not_allowed(field: &str) -> Self {
        ApiError::Rule {
            status: StatusCode::FORBIDDEN,
            code: "field_not_allowed",
            detail_en: format!("Your role may not set `{field}`."),
            detail_id: format!("Peran Anda tidak boleh mengisi `{field}`."),
            issues: vec![FieldIssue::new(
                field,
                "not_allowed_for_role",
                "your role may not set this field",
                "peran Anda tidak boleh mengisi isian ini",
            )],
        }
    }

    /// `400` for one bad query parameter.
    pub fn invalid_query(
        field: &str,
        code: &'static str,
        detail_en: impl Into<String>,
        detail_id: impl Into<String>,
    ) -> Self {
        ApiError::InvalidQuery(vec![FieldIssue::new(field, code, detail_en, detail_id)])
    }

    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::Internal(cause.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidBody(_) | Self::InvalidQuery(_) | Self::InvalidPath(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Rule { status, .. } => *status,
            Self::InvalidHeader(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::OAuth { status, .. } => *status,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidBody(_) => "invalid_body",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UriTooLong { .. } => "uri_too_long",
            Self::RequestTimeout => "request_timeout",
            Self::InvalidQuery(_) => "invalid_query",
            Self::InvalidPath(_) => "invalid_path",
            Self::Validation(_) => "validation_failed",
            Self::NotFound => "not_found",
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Conflict { .. } => "conflict",
            Self::Rule { code, .. } => code,
            Self::InvalidHeader(_) => "invalid_header",
            Self::Unauthorized(AuthFailure::Missing) => "unauthenticated",
            Self::Unauthorized(AuthFailure::InvalidToken) => "invalid_token",
            Self::Forbidden => "forbidden",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Self::PreconditionFailed => "precondition_failed",
            Self::OAuth { error, .. } => error,
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    fn title(&self, lang: Lang) -> &'static str {
        match self {
            Self::InvalidBody(_) => lang.pick("Invalid request body", "Isi permintaan tidak valid"),
            Self::UnsupportedMediaType => {
                lang.pick("Unsupported media type", "Jenis konten tidak didukung")
            }
            Self::PayloadTooLarge { .. } => {
                lang.pick("Payload too large", "Isi permintaan terlalu besar")
            }
            Self::UriTooLong { .. } => lang.pick("URI too long", "URI terlalu panjang"),
            Self::RequestTimeout => lang.pick("Request timeout", "Waktu permintaan habis"),
            Self::InvalidQuery(_) => {
                lang.pick("Invalid query parameters", "Parameter kueri tidak valid")
            }
            Self::InvalidPath(_) => {
                lang.pick("Invalid path parameters", "Parameter path tidak valid")
            }
            Self::Validation(_) => lang.pick("Validation failed", "Validasi gagal"),
            Self::NotFound => lang.pick("Not found", "Tidak ditemukan"),
            Self::RouteNotFound => lang.pick("Route not found", "Rute tidak ditemukan"),
            Self::MethodNotAllowed { .. } => {
                lang.pick("Method not allowed", "Metode tidak diizinkan")
            }
            Self::Conflict { .. } => lang.pick("Conflict", "Konflik data"),
            Self::Rule { status, .. } if *status == StatusCode::CONFLICT => {
                lang.pick("Conflict", "Konflik data")
            }
            Self::Rule { .. } => lang.pick(
                "Request refused by a rule",
                "Permintaan ditolak oleh aturan",
            ),
            Self::InvalidHeader(_) => {
                lang.pick("Invalid request header", "Header permintaan tidak valid")
            }
            Self::Unauthorized(_) => lang.pick("Unauthorized", "Tidak terautentikasi"),
            Self::Forbidden => lang.pick("Forbidden", "Akses ditolak"),
            Self::TooManyRequests { .. } => {
                lang.pick("Too many requests", "Terlalu banyak permintaan")
            }
            Self::PreconditionFailed => lang.pick("Precondition failed", "Prasyarat gagal"),
            Self::RangeNotSatisfiable { .. } => {
                lang.pick("Range not satisfiable", "Rentang tidak dapat dipenuhi")
            }
            Self::OAuth { .. } => lang.pick("Token request refused", "Permintaan token ditolak"),
            Self::Unavailable(_) => lang.pick("Service unavailable", "Layanan tidak tersedia"),
            Self::Internal(_) => lang.pick("Internal server error", "Kesalahan internal server"),
        }
    }

    fn detail(&self, lang: Lang) -> String {
        match self {
            Self::InvalidBody(_) => lang
                .pick(
                    "The request body could not be read; see `errors`.",
                    "Isi permintaan tidak dapat dibaca; lihat `errors`.",
                )
                .into(),
            Self::UnsupportedMediaType => lang
                .pick(
                    "Send the body as `application/json`.",
                    "Kirim isi permintaan sebagai `application/json`.",
                )
                .into(),
            Self::RequestTimeout => lang
                .pick(
                    "The request body did not arrive in time; send it again.",
                    "Isi permintaan tidak tiba tepat waktu; kirim ulang.",
                )
                .into(),
            Self::UriTooLong { limit } => lang.pick(
                format!("The path and query are longer than the limit of {limit} bytes."),
                format!("Path dan kueri melebihi batas {limit} byte."),
            ),
            Self::PayloadTooLarge { limit } => lang.pick(
                format!("The request body is larger than the limit of {limit} bytes."),
                format!("Isi permintaan melebihi batas {limit} byte."),
            ),
            Self::InvalidQuery(_) => lang
                .pick(
                    "One or more query parameters are invalid; see `errors`.",
                    "Satu atau lebih parameter kueri tidak valid; lihat `errors`.",
                )
                .into(),
            Self::InvalidPath(_) => lang
                .pick(
                    "A path parameter is invalid; see `errors`.",
                    "Parameter path tidak valid; lihat `errors`.",
                )
                .into(),
            Self::Validation(_) => lang
                .pick(
                    "One or more fields are invalid; see `errors`.",
                    "Satu atau lebih isian tidak valid; lihat `errors`.",
                )
                .into(),
            Self::NotFound => lang
                .pick(
                    "The requested resource does not exist.",
                    "Sumber daya yang diminta tidak ada.",
                )
                .into(),
            Self::RouteNotFound => lang
                .pick(
                    "No endpoint exists at this path; see /docs.",
                    "Tidak ada endpoint pada path ini; lihat /docs.",
                )
                .into(),
            Self::MethodNotAllowed { .. } => lang
                .pick(
                    "This endpoint does not support the request method.",
                    "Endpoint ini tidak mendukung metode permintaan tersebut.",
                )
                .into(),
            Self::Conflict { .. } => lang
                .pick(
                    "The request conflicts with an existing record.",
                    "Permintaan bertentangan dengan data yang sudah ada.",
                )
                .into(),
            Self::Rule {
                detail_en,
                detail_id,
                ..
            } => lang.pick(detail_en, detail_id).clone(),
            Self::InvalidHeader(_) => lang
                .pick(
                    "A request header is invalid; see `errors`.",
                    "Header permintaan tidak valid; lihat `errors`.",
                )
                .into(),
            Self::Unauthorized(AuthFailure::Missing) => lang
                .pick(
                    "This endpoint needs a bearer access token.",
                    "Endpoint ini memerlukan access token bearer.",
                )
                .into(),
            Self::Unauthorized(AuthFailure::InvalidToken) => lang
                .pick(
                    "The access token is invalid or has expired; get a new one.",
                    "Access token tidak valid atau sudah kedaluwarsa; minta yang baru.",
                )
                .into(),
            Self::Forbidden => lang
                .pick(
                    "Your role or scopes do not allow this request.",
                    "Peran atau cakupan Anda tidak mengizinkan permintaan ini.",
                )
                .into(),
            Self::TooManyRequests { retry_after_secs } => lang.pick(
                format!("Too many attempts; retry after {retry_after_secs} seconds."),
                format!("Terlalu banyak percobaan; coba lagi setelah {retry_after_secs} detik."),
            ),
            Self::RangeNotSatisfiable { size } => lang.pick(
                format!("The file has {size} bytes; ask for a range within them."),
                format!("Berkas berukuran {size} bita; minta rentang di dalamnya."),
            ),
            Self::PreconditionFailed => lang
                .pick(
                    "The resource changed since you read it (If-Match); read it again.",
                    "Data sudah berubah sejak Anda membacanya (If-Match); baca ulang.",
                )
                .into(),
            Self::OAuth { description, .. } => (*description).into(),
            Self::Unavailable(_) => lang
                .pick(
                    "The service is temporarily unavailable; retry shortly.",
                    "Layanan sedang tidak tersedia; coba lagi sebentar lagi.",
                )
                .into(),
            Self::Internal(_) => lang
                .pick(
                    "An unexpected error occurred; quote the request id when reporting it.",
                    "Terjadi kesalahan tak terduga; sebutkan request id saat melaporkannya.",
                )
                .into(),
        }
    }

    fn field_issues(&self) -> &[FieldIssue] {
        match self {
            Self::InvalidBody(issues)
            | Self::InvalidQuery(issues)
            | Self::InvalidPath(issues)
            | Self::Validation(issues)
            | Self::InvalidHeader(issues)
            | Self::Rule { issues, .. } => issues,
            _ => &[],
        }
    }

    pub fn to_problem(&self, lang: Lang, request_id: Option<&str>) -> Problem {
        let code = self.code();
        let issues = self.field_issues();
        let (error, error_description) = match self {
            Self::OAuth {
                error, description, ..
            } => (Some((*error).to_owned()), Some((*description).to_owned())),
            _ => (None, None),
        };
        Problem {
            error,
            error_description,
            problem_type: format!("urn:kim-api:problem:{code}"),
            title: self.title(lang).to_owned(),
            status: self.status().as_u16(),
            detail: self.detail(lang),
            code: code.to_owned(),
            request_id: request_id.map(str::to_owned),
            errors: issues
                .iter()
                .take(MAX_PROBLEM_ERRORS)
                .map(|i| i.render(lang))
                .collect(),
            errors_omitted: issues.len().saturating_sub(MAX_PROBLEM_ERRORS),
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:kim-api:problem:invalid_query",
    "title": "Invalid query parameters",
    "status": 400,
    "detail": "One or more query parameters are invalid; see `errors`.",
    "code": "invalid_query",
    "request_id": "0b8e5f8e-7a51-4d4c-9a8e-0f6b2b8f1c11",
    "errors": [{"field": "limit", "code": "out_of_range", "message": "must be between 1 and 100"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem; `urn:kim-api:problem:{code}`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short human-readable summary, in the language asked for by `Accept-Language`.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Human-readable explanation of this occurrence.
    pub detail: String,
    /// Stable machine-readable snake_case code, e.g. `validation_failed`, `not_found`.
    pub code: String,
    /// The `X-Request-Id` of the request; quote it when reporting a problem.
    pub request_id: Option<String>,
    /// One entry per invalid field (the first 100); empty when the problem is not
    /// about fields.
    #[schema(max_items = 100)]
    pub errors: Vec<FieldError>,
    /// How many more invalid fields there were beyond those in `errors`; absent when
    /// none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub errors_omitted: usize,
    /// Token endpoint only: the OAuth 2.0 error code (RFC 6749 §5.2), e.g. `invalid_grant`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Token endpoint only: the OAuth 2.0 error description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct FieldError {
    /// The field's name, or its path inside the body (`audience.codes[2]`).
    pub field: String,
    /// Stable machine-readable snake_case code, e.g. `required`, `out_of_range`.
    pub code: String,
    /// Human-readable explanation, in the requested language.
    pub message: String,
}

/// Renders `error` as the problem answer for a request in `lang` with `request_id`.
pub fn problem_response(error: &ApiError, lang: Lang, request_id: Option<&str>) -> HttpResponse {
    let problem = error.to_problem(lang, request_id);
    let mut response = HttpResponse::build(error.status());
    response.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
    ));
    match error {
        ApiError::Unavailable(_) => {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
        }
        ApiError::TooManyRequests { retry_after_secs } => {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        ApiError::RangeNotSatisfiable { size } => {
            response.insert_header((header::CONTENT_RANGE, format!("bytes */{size}")));
        }
        ApiError::Unauthorized(AuthFailure::Missing) => {
            response.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="kim-api""#));
        }
        ApiError::Unauthorized(AuthFailure::InvalidToken) => {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                r#"Bearer realm="kim-api", error="invalid_token""#,
            ));
        }
        ApiError::OAuth { status, .. } => {
            if *status == StatusCode::UNAUTHORIZED {
                response.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="kim-api""#));
            }
            response.insert_header((header::CACHE_CONTROL, "no-store"));
        }
        _ => {}
    }
    if let ApiError::MethodNotAllowed { allow } = error
        && let Ok(value) = HeaderValue::from_str(allow)
    {
        response.insert_header((header::ALLOW, value));
    }
    if lang == Lang::Id {
        response.insert_header((header::CONTENT_LANGUAGE, HeaderValue::from_static("id")));
    }
    response.json(problem)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    /// A context-free rendering; the request middleware replaces it with one that carries
    /// the request id and the caller's language.
    fn error_response(&self) -> HttpResponse {
        problem_response(self, Lang::En, None)
    }
}

impl ApiError {
    /// The problem for an error raised by actix or a middleware rather than our code.
    /// `body_limit`: the request body limit a 413 from actix was about.
    pub(crate) fn from_foreign_status(status: StatusCode, body_limit: usize) -> ApiError {
        match status {
            StatusCode::NOT_FOUND => ApiError::RouteNotFound,
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed {
                allow: String::new(),
            },
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit: body_limit },
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable("unavailable".into()),
            status if status.is_client_error() => ApiError::InvalidBody(Vec::new()),
            _ => ApiError::internal(format!("unhandled error with status {status}")),
        }
    }
}

impl From<DieselError> for ApiError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => ApiError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                // PostgreSQL names the constraint; SQLite only says which columns
                // ("UNIQUE constraint failed: kim_members.nik_hash").
                ApiError::Conflict {
                    constraint: Some(
                        info.constraint_name()
                            .map_or_else(|| info.message().to_owned(), str::to_owned),
                    ),
                }
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )
            | DieselError::BrokenTransactionManager => ApiError::Unavailable(Box::new(error)),
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ApiError::Unavailable(Box::new(TransientConflict))
            }
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if is_deadlock(info.message()) =>
            {
                ApiError::Unavailable(Box::new(TransientConflict))
            }
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if is_sqlite_busy(info.message()) || is_pg_timeout(info.message()) =>
            {
                ApiError::Unavailable(Box::new(error))
            }
            DieselError::DatabaseError(DatabaseErrorKind::CheckViolation, _) => ApiError::conflict(
                "constraint_violated",
                "The change would break a rule of the stored data; read the record again.",
                "Perubahan akan melanggar aturan data tersimpan; baca ulang datanya.",
            ),
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                ApiError::unprocessable(
                    "invalid_reference",
                    "The request refers to a record that does not exist (or is still referred to).",
                    "Permintaan merujuk data yang tidak ada (atau masih dirujuk).",
                    Vec::new(),
                )
            }
            // Validation keeps every value within its column; these are the last guard,
            // so a gap there is a clear 422, never a 500.
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if is_value_refused(info.message()) =>
            {
                tracing::error!(
                    message = info.message(),
                    "a value passed validation but not the database"
                );
                ApiError::unprocessable(
                    "value_not_storable",
                    "A value is too long or holds characters that cannot be stored.",
                    "Ada nilai yang terlalu panjang atau memuat karakter yang tidak dapat disimpan.",
                    Vec::new(),
                )
            }
            other => ApiError::internal(other),
        }
    }
}

/// A transaction lost a race it can win on a second try (PostgreSQL 40001, 40P01).
#[derive(Debug, thiserror::Error)]
#[error("the transaction conflicted with a concurrent one")]
pub struct TransientConflict;

impl ApiError {
    /// A failure that the same transaction, run again, may not meet.
    pub fn is_transient_conflict(&self) -> bool {
        matches!(self, ApiError::Unavailable(cause) if cause.is::<TransientConflict>())
    }
}

fn is_deadlock(message: &str) -> bool {
    message.contains("deadlock detected")
}

fn is_pg_timeout(message: &str) -> bool {
    message.contains("canceling statement due to")
        || message.contains("terminating connection due to idle-in-transaction timeout")
}

fn is_value_refused(message: &str) -> bool {
    message.contains("value too long for type")
        || message.contains("invalid byte sequence for encoding")
        || message.contains("out of range for type")
}

fn is_sqlite_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        ApiError::Unavailable(Box::new(error))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        ApiError::internal(error)
    }
}
