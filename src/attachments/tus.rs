//! Resumable uploads with the tus 1.0 protocol (core, creation, expiration and
//! termination; <https://tus.io/protocols/resumable-upload>), for phones on networks
//! that drop: `POST /api/v1/uploads` opens an upload of a declared length, `PATCH`
//! appends at the server's offset, `HEAD` (routed as `GET`, like every `HEAD` here)
//! tells that offset after a cut, `DELETE` gives the upload up. A complete upload is attached to an item by its files route with
//! `{"upload_id": …}`, through the same checks as a file sent whole.
//!
//! An upload is its creator's alone: anyone else's, like an expired one, is `404`.
//! The bytes a cut connection delivered are kept, so the client resumes from there.

use std::time::SystemTime;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HttpDate};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, delete, get, options, patch, post, web};
use base64::Engine;
use chrono::NaiveDateTime;
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::resumable::{self, ResumableUpload};
use super::{MAX_FILE_BYTES, Storage};
use crate::audit::{Actor, RequestOrigin};
use crate::auth::Caller;
use crate::db::{Db, now, utc};
use crate::error::{ApiError, FieldIssue};

/// The protocol version spoken, the only one.
pub const TUS_VERSION: &str = "1.0.0";
/// The extensions offered.
pub const TUS_EXTENSIONS: &str = "creation,expiration,termination";
/// The body type of a `PATCH`.
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const TUS_VERSION_HEADER: HeaderName = HeaderName::from_static("tus-version");
const TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");
const TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
const UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");

/// Every answer of the tus routes, errors included, names the protocol version.
pub fn protocol_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((TUS_RESUMABLE, TUS_VERSION))
        .add((TUS_VERSION_HEADER, TUS_VERSION))
}

/// An upload as its creator sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadState {
    /// Attach the complete upload with `{"upload_id": …}`.
    #[schema(
        pattern = "^[0-9a-f]{32}$",
        example = "3f2a9c4e1b7d4f60a8e5c2d1b0a9f8e7"
    )]
    pub id: String,
    /// Bytes declared at creation.
    pub length: i64,
    /// Bytes received so far: where the next `PATCH` starts.
    pub offset: i64,
    /// When an upload not attached by then is removed.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl From<&ResumableUpload> for UploadState {
    fn from(upload: &ResumableUpload) -> Self {
        UploadState {
            id: upload.id.clone(),
            length: upload.length,
            offset: upload.received,
            expires_at: utc(upload.expires_at),
        }
    }
}

/// Tells what the server supports: the tus version, extensions and largest upload.
#[utoipa::path(
    options,
    path = "/uploads",
    tag = "uploads",
    responses(
        (status = 204, description = "What is supported",
            headers(
                ("Tus-Version" = String, description = "`1.0.0`"),
                ("Tus-Extension" = String, description = "`creation,expiration,termination`"),
                ("Tus-Max-Size" = u64, description = "The largest `Upload-Length` accepted, in bytes"),
            )),
    ),
)]
#[options("/uploads", wrap = "protocol_headers()")]
pub async fn upload_options() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((TUS_EXTENSION, TUS_EXTENSIONS))
        .insert_header((TUS_MAX_SIZE, MAX_FILE_BYTES.to_string()))
        .finish()
}

/// Opens a resumable upload of `Upload-Length` bytes (tus creation).
///
/// Send the bytes with `PATCH` to the `Location` answered, then attach the complete
/// upload to an item with `{"upload_id": …}` on the item's files route. An upload not
/// attached {UPLOAD_EXPIRY_HOURS} h after its last bytes is removed (`Upload-Expires`);
/// an account has at most {MAX_OPEN_UPLOADS} open at once.
#[utoipa::path(
    post,
    path = "/uploads",
    tag = "uploads",
    params(CreationHeaders),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Opened, nothing received yet", body = UploadState,
            headers(
                ("Location" = String, description = "The upload's URL, for `PATCH`, `HEAD` and `DELETE`"),
                ("Upload-Expires" = String, description = "When it is removed unless attached (HTTP date)"),
                ("Tus-Resumable" = String, description = "`1.0.0`"),
            )),
        (status = 400, description = "`invalid_header`: `Upload-Length` missing or not a whole number, `Upload-Metadata` malformed; `body_not_expected`: bytes go in `PATCH` requests",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 409, description = "`too_many_uploads`: {MAX_OPEN_UPLOADS} are open; `kim_dissolved`: the caller's KIM is dissolved",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = TusVersionUnsupported),
        (status = 413, description = "`upload_too_large`: `Upload-Length` is over the largest file accepted (`Tus-Max-Size`)",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, response = crate::openapi::ServiceUnavailable),
    ),
)]
#[post("/uploads", wrap = "protocol_headers()")]
pub async fn create_upload(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    origin: RequestOrigin,
) -> Result<HttpResponse, ApiError> {
    require_version(&req)?;
    if announces_body(&req) {
        return Err(rule(
            StatusCode::BAD_REQUEST,
            "body_not_expected",
            "Send the file's bytes with PATCH requests, not with the creation.",
            "Kirim isi berkas dengan permintaan PATCH, bukan saat membuat unggahan.",
        ));
    }
    let length = declared_length(&req)?;
    let file_name = metadata_file_name(&req)?;
    let owner = caller.owner_key();
    let created = db
        .unit_of_work(Actor::from(&caller), origin, move |uow| {
            crate::kims::model::ensure_kim_user_may_write(uow, &caller)?;
            resumable::create(uow.conn, &owner, length, &file_name, now())
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/uploads/{}", created.id)))
        .insert_header((UPLOAD_EXPIRES, http_date(created.expires_at)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(UploadState::from(&created)))
}

/// Tells how many bytes of an upload arrived (`Upload-Offset`): where to resume after a
/// cut connection.
///
/// tus clients ask with `HEAD`, which answers the same headers without the body.
#[utoipa::path(
    get,
    path = "/uploads/{id}",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload's id, from its `Location`", pattern = "^[0-9a-f]{32}$"), VersionHeader),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The upload's progress", body = UploadState,
            headers(
                ("Upload-Offset" = u64, description = "Bytes received"),
                ("Upload-Length" = u64, description = "Bytes declared"),
                ("Upload-Expires" = String, description = "When it is removed unless attached (HTTP date)"),
                ("Cache-Control" = String, description = "`no-store`"),
            )),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No upload of the caller's by this id (never one, another's, expired, attached or deleted)",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = TusVersionUnsupported),
        (status = 503, response = crate::openapi::ServiceUnavailable),
    ),
)]
#[get("/uploads/{id}", wrap = "protocol_headers()")]
pub async fn upload_offset(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_version(&req)?;
    let upload = find(&db, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((UPLOAD_OFFSET, upload.received.to_string()))
        .insert_header((UPLOAD_LENGTH, upload.length.to_string()))
        .insert_header((UPLOAD_EXPIRES, http_date(upload.expires_at)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(UploadState::from(&upload)))
}

/// Appends bytes to an upload at `Upload-Offset`, which must be the upload's offset
/// (ask with `HEAD` after a cut). The bytes of a cut request that arrived are kept.
#[utoipa::path(
    patch,
    path = "/uploads/{id}",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload's id, from its `Location`", pattern = "^[0-9a-f]{32}$"), PatchHeaders),
    request_body(content = super::FileContent, content_type = "application/offset+octet-stream",
        description = "The next bytes of the file, at most the declared length minus `Upload-Offset`"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Received",
            headers(
                ("Upload-Offset" = u64, description = "Bytes received now"),
                ("Upload-Expires" = String, description = "When it is removed unless attached (HTTP date)"),
            )),
        (status = 400, description = "`invalid_header`: `Upload-Offset` missing or not a whole number",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No upload of the caller's by this id (never one, another's, expired, attached or deleted)",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`upload_offset_mismatch`: `Upload-Offset` is not the upload's offset (ask with `HEAD`)",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = TusVersionUnsupported),
        (status = 413, description = "`beyond_upload_length`: the bytes go past the declared length; none of them are kept",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/offset+octet-stream`",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, response = crate::openapi::ServiceUnavailable),
    ),
)]
#[patch("/uploads/{id}", wrap = "protocol_headers()")]
pub async fn append_to_upload(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    storage: web::Data<Storage>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require_version(&req)?;
    require_offset_stream(&req)?;
    let start = header_number(&req, &UPLOAD_OFFSET)?;
    let upload = find(&db, &caller, id.into_inner()).await?;
    if start != upload.received {
        return Err(offset_mismatch(upload.received));
    }
    let room = upload.length - upload.received;
    if header_number(&req, &header::CONTENT_LENGTH).is_ok_and(|announced| announced > room) {
        return Err(beyond_length(room));
    }
    // Received in a task of its own: when the client's connection drops, the request
    // is abandoned, but what arrived is still stored for the client to resume after.
    let receiving = actix_web::rt::spawn(receive_piece(
        payload,
        (**storage).clone(),
        (**db).clone(),
        upload,
        room,
    ));
    let now_at = receiving.await.map_err(ApiError::internal)??;
    Ok(HttpResponse::NoContent()
        .insert_header((UPLOAD_OFFSET, now_at.received.to_string()))
        .insert_header((UPLOAD_EXPIRES, http_date(now_at.expires_at)))
        .finish())
}

/// Gives an upload up (tus termination): its bytes are removed.
#[utoipa::path(
    delete,
    path = "/uploads/{id}",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload's id, from its `Location`", pattern = "^[0-9a-f]{32}$"), VersionHeader),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No upload of the caller's by this id (never one, another's, expired, attached or deleted)",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, response = TusVersionUnsupported),
        (status = 503, response = crate::openapi::ServiceUnavailable),
    ),
)]
#[delete("/uploads/{id}", wrap = "protocol_headers()")]
pub async fn delete_upload(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    storage: web::Data<Storage>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_version(&req)?;
    let id = known_id(id.into_inner())?;
    let owner = caller.owner_key();
    let pieces = db
        .write(move |conn| resumable::delete(conn, &id, &owner))
        .await?
        .ok_or(ApiError::NotFound)?;
    storage.remove_pieces(&pieces).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Reads one `PATCH` body (at most `room` bytes), stores it as a piece and records it
/// if the upload is still where the piece starts. A body cut short is kept as far as
/// it came; one that runs past the declared length is dropped whole.
async fn receive_piece(
    mut payload: web::Payload,
    storage: Storage,
    db: Db,
    upload: ResumableUpload,
    room: i64,
) -> Result<ResumableUpload, ApiError> {
    let room = usize::try_from(room).map_err(ApiError::internal)?;
    let mut bytes: Vec<u8> = Vec::new();
    let mut cut = None;
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) if bytes.len() + chunk.len() > room => {
                return Err(beyond_length(i64::try_from(room).unwrap_or(i64::MAX)));
            }
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(error) => {
                cut = Some(error);
                break;
            }
        }
    }
    let size = i64::try_from(bytes.len()).map_err(ApiError::internal)?;
    let mut now_at = upload.clone();
    if size > 0 {
        let start = upload.received;
        let key = resumable::piece_key(&upload.id, start)?;
        storage.put(&key, bytes).await?;
        let recording = key.clone();
        let moved = db
            .write(move |conn| resumable::append(conn, &upload, start, size, &recording, now()))
            .await;
        match moved {
            Ok(Some(moved)) => now_at = moved,
            Ok(None) => {
                storage.remove_pieces(&[key]).await;
                return Err(offset_mismatch(start + size));
            }
            Err(error) => {
                storage.remove_pieces(&[key]).await;
                return Err(error);
            }
        }
    }
    match cut {
        // The connection is most likely gone; the answer is for a client still there.
        Some(error) => Err(ApiError::InvalidBody(vec![FieldIssue::new(
            "",
            "unreadable",
            format!("the body was cut after {size} bytes, which are kept: {error}"),
            format!("isi permintaan terputus setelah {size} bita, yang disimpan: {error}"),
        )])),
        None => Ok(now_at),
    }
}

async fn find(db: &Db, caller: &Caller, id: String) -> Result<ResumableUpload, ApiError> {
    let id = known_id(id)?;
    let owner = caller.owner_key();
    db.read(move |conn| resumable::find(conn, &id, &owner, now()))
        .await?
        .ok_or(ApiError::NotFound)
}

/// An id that could name an upload; any other is as unknown as a missing one (tus
/// answers unknown uploads `404`).
fn known_id(id: String) -> Result<String, ApiError> {
    if crate::crypto::is_random_hex::<16>(&id) {
        Ok(id)
    } else {
        Err(ApiError::NotFound)
    }
}

fn require_version(req: &HttpRequest) -> Result<(), ApiError> {
    let spoken = req
        .headers()
        .get(&TUS_RESUMABLE)
        .is_some_and(|value| value.as_bytes() == TUS_VERSION.as_bytes());
    if spoken {
        Ok(())
    } else {
        Err(rule(
            StatusCode::PRECONDITION_FAILED,
            "tus_version_unsupported",
            "Send `Tus-Resumable: 1.0.0`: the only tus version spoken here (`Tus-Version`).",
            "Kirim `Tus-Resumable: 1.0.0`: satu-satunya versi tus yang didukung (`Tus-Version`).",
        ))
    }
}

fn require_offset_stream(req: &HttpRequest) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    if declared.as_deref() == Some(OFFSET_OCTET_STREAM) {
        Ok(())
    } else {
        Err(rule(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the bytes as application/offset+octet-stream.",
            "Kirim isi berkas sebagai application/offset+octet-stream.",
        ))
    }
}

/// Whether a request says it carries a body.
fn announces_body(req: &HttpRequest) -> bool {
    req.headers().contains_key(header::TRANSFER_ENCODING)
        || header_number(req, &header::CONTENT_LENGTH).is_ok_and(|length| length > 0)
}

/// `Upload-Length`, within what a file may be.
fn declared_length(req: &HttpRequest) -> Result<i64, ApiError> {
    if !req.headers().contains_key(&UPLOAD_LENGTH)
        && req.headers().contains_key(&UPLOAD_DEFER_LENGTH)
    {
        return Err(invalid_header(
            "Upload-Length",
            "declare the length: deferring it is not supported",
            "nyatakan panjangnya: menundanya tidak didukung",
        ));
    }
    let length = header_number(req, &UPLOAD_LENGTH)?;
    if length == 0 {
        return Err(invalid_header(
            "Upload-Length",
            "an empty file is no image or PDF",
            "berkas kosong bukan gambar atau PDF",
        ));
    }
    if usize::try_from(length).map_or(true, |length| length > MAX_FILE_BYTES) {
        return Err(rule(
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload_too_large",
            format!("A file may be at most {MAX_FILE_BYTES} bytes (Tus-Max-Size)."),
            format!("Berkas paling besar {MAX_FILE_BYTES} bita (Tus-Max-Size)."),
        ));
    }
    Ok(length)
}

/// A non-negative whole number in a header, as tus writes them (digits only).
fn header_number(req: &HttpRequest, name: &HeaderName) -> Result<i64, ApiError> {
    let text = req
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let digits_only =
        !text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit());
    digits_only
        .then(|| text.parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| {
            invalid_header(
                name.as_str(),
                "send a whole number of bytes",
                "kirim bilangan bulat jumlah bita",
            )
        })
}

/// The `filename` of `Upload-Metadata` (`key base64value` pairs, comma-separated),
/// cleaned like a multipart file name; empty when not given.
fn metadata_file_name(req: &HttpRequest) -> Result<String, ApiError> {
    let Some(value) = req.headers().get(&UPLOAD_METADATA) else {
        return Ok(String::new());
    };
    let malformed = || {
        invalid_header(
            "Upload-Metadata",
            "send `key base64value` pairs separated by commas",
            "kirim pasangan `kunci nilaibase64` dipisah koma",
        )
    };
    let text = value.to_str().map_err(|_| malformed())?;
    let mut file_name = String::new();
    for pair in text
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
    {
        let (key, encoded) = pair.split_once(' ').unwrap_or((pair, ""));
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(malformed());
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| malformed())?;
        if key == "filename" {
            let name = String::from_utf8(decoded).map_err(|_| malformed())?;
            file_name = super::clean_file_name(&name);
        }
    }
    Ok(file_name)
}

fn http_date(at: NaiveDateTime) -> String {
    HttpDate::from(SystemTime::from(utc(at))).to_string()
}

fn rule(
    status: StatusCode,
    code: &'static str,
    detail_en: impl Into<String>,
    detail_id: impl Into<String>,
) -> ApiError {
    ApiError::Rule {
        status,
        code,
        detail_en: detail_en.into(),
        detail_id: detail_id.into(),
        issues: Vec::new(),
    }
}

fn invalid_header(name: &str, en: &str, id: &str) -> ApiError {
    ApiError::InvalidHeader(vec![FieldIssue::new(
        name,
        "invalid_header",
        format!("{name}: {en}"),
        format!("{name}: {id}"),
    )])
}

fn offset_mismatch(current: i64) -> ApiError {
    ApiError::conflict(
        "upload_offset_mismatch",
        format!("Upload-Offset must be the upload's offset, {current} (ask with HEAD)."),
        format!(
            "Upload-Offset harus sama dengan posisi unggahan, {current} (tanyakan dengan HEAD)."
        ),
    )
}

fn beyond_length(room: i64) -> ApiError {
    rule(
        StatusCode::PAYLOAD_TOO_LARGE,
        "beyond_upload_length",
        format!("At most {room} more bytes fit in the declared length; nothing was kept."),
        format!(
            "Paling banyak {room} bita lagi muat dalam panjang yang dinyatakan; tidak ada yang disimpan."
        ),
    )
}

/// `412`: the request does not speak tus 1.0.0 (`Tus-Resumable` missing or another
/// version); `Tus-Version` lists the versions spoken.
#[derive(utoipa::ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct TusVersionUnsupported(crate::error::Problem);

fn version_header() -> Parameter {
    header_parameter(
        "Tus-Resumable",
        "`1.0.0`, the tus version the client speaks; any other answers `412`",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([TUS_VERSION])),
    )
}

fn header_parameter(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn byte_count(maximum: Option<usize>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(0))
        .maximum(maximum.map(|max| max as f64))
}

/// `Tus-Resumable` alone.
struct VersionHeader;

impl utoipa::IntoParams for VersionHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![version_header()]
    }
}

/// The headers of a creation.
struct CreationHeaders;

impl utoipa::IntoParams for CreationHeaders {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut metadata = header_parameter(
            "Upload-Metadata",
            "`filename <base64 of the name>` (other keys are ignored), kept for `Content-Disposition`",
            ObjectBuilder::new().schema_type(Type::String),
        );
        metadata.required = Required::False;
        vec![
            version_header(),
            header_parameter(
                "Upload-Length",
                "The file's size in bytes, at most `Tus-Max-Size`",
                byte_count(Some(MAX_FILE_BYTES)).minimum(Some(1)),
            ),
            metadata,
        ]
    }
}

/// The headers of a `PATCH`.
struct PatchHeaders;

impl utoipa::IntoParams for PatchHeaders {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            version_header(),
            header_parameter(
                "Upload-Offset",
                "Where these bytes start: the upload's offset as `HEAD` tells it",
                byte_count(Some(MAX_FILE_BYTES)),
            ),
        ]
    }
}
