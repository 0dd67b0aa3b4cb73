//! The answers and parameters operations share in the OpenAPI document, referred to
//! by name from each operation's documentation. It depends on nothing but the error
//! shape; the document itself is assembled in [`crate::api_document`].

use utoipa::ToResponse;

use crate::error::Problem;

/// No valid bearer token: missing, malformed, forged or expired. Comes with
/// `WWW-Authenticate: Bearer error="invalid_token"` when a token was sent.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct Unauthorized(Problem);

/// The caller's role or scopes do not allow this request.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct Forbidden(Problem);

/// `If-Match` names an older version; read the resource again.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct PreconditionFailed(Problem);

/// Well-formed but invalid: `errors` lists each field and why.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct Unprocessable(Problem);

/// Over a rate limit (`too_many_requests`): the caller's allowance of requests
/// (`RateLimit-Policy` names it: `anonymous` per client address, `account`, or
/// `client`), or an action's own limit (sign-in attempts, tracking-code lookups,
/// subscriptions). Retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(
        ("Retry-After" = u64, description = "Seconds to wait before trying again"),
        ("RateLimit-Policy" = String, description = "The caller's allowance (IETF draft-ietf-httpapi-ratelimit-headers), e.g. `\"account\";q=600;w=60`; every answer of a limited route carries it"),
        ("RateLimit" = String, description = "What is left of it and the seconds until it is whole again, e.g. `\"account\";r=0;t=60`; every answer of a limited route carries it"),
    )
)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct TooManyRequests(Problem);

/// Bad query parameters (unknown parameter, bad value, bad cursor).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct InvalidQuery(Problem);

/// The body is not valid JSON, has unknown fields or values of the wrong type.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct InvalidBody(Problem);

/// The resource does not exist, or the caller may not know that it does.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct NotFound(Problem);

/// The database is unreachable or overloaded; retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct ServiceUnavailable(Problem);

/// The path, query, body or a header is malformed: `invalid_path`, `invalid_query`,
/// `invalid_body` or `invalid_header` (`errors` names the culprit).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct BadRequest(Problem);

/// A path parameter is not valid, e.g. an id that is not a 64-bit integer (`invalid_path`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct InvalidPath(Problem);

/// The body is larger than the limit ({MAX_JSON_MIB} MiB for JSON, {MAX_FILE_MIB} MiB
/// for a file).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct PayloadTooLarge(Problem);

/// An uploaded file that cannot be kept: `unreadable_file` (an image that does not
/// decode completely, a PDF that does not parse), `image_too_large` (over
/// {MAX_IMAGE_MEGAPIXELS} megapixels) or `unsafe_file` (a PDF with JavaScript, launch
/// actions or embedded files); or, for `upload_id`, `upload_not_found` (no upload of
/// the caller's by that id: never one, expired or attached already) or
/// `upload_incomplete` (bytes still missing).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct UnusableFile(Problem);

/// The request body did not arrive within `BODY_READ_TIMEOUT_SECS`; the connection is
/// closed.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct RequestTimeout(Problem);

/// The path and query are longer than 8 KiB.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct UriTooLong(Problem);

/// The body is not in a media type the operation takes (`Content-Type`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct UnsupportedMediaType(Problem);

/// The `If-Match` header of changes to a versioned resource.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatchParam {
    /// The `ETag` last read; a stale one is 412
    #[param(rename = "If-Match")]
    #[expect(dead_code, reason = "read only by the OpenAPI derive")]
    if_match: Option<String>,
}

/// The `Idempotency-Key` header of creating POSTs.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyParam {
    /// Any unique string (1–255 visible ASCII), e.g. a UUID. A retry with the same key
    /// and body within 24 h answers the first response again (`Idempotent-Replayed:
    /// true`) without creating a second record; the same key with another body is
    /// `422 idempotency_key_reused`.
    #[param(rename = "Idempotency-Key")]
    #[expect(dead_code, reason = "read only by the OpenAPI derive")]
    idempotency_key: Option<String>,
}

/// The conditional and range headers of file downloads.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct DownloadConditions {
    /// One byte range (`bytes=0-1023`, `bytes=4096-`, `bytes=-512`) answers `206` with
    /// those bytes: how a cut download resumes. Several ranges or a malformed one get
    /// the whole file; a range past the end is `416`.
    #[param(rename = "Range")]
    range: Option<String>,
    /// The `ETag` of a copy the client holds: `304` without a body when it is current.
    #[param(rename = "If-None-Match")]
    if_none_match: Option<String>,
    /// With `Range`: the `ETag` the earlier part came from; another one gets the whole
    /// file.
    #[param(rename = "If-Range")]
    if_range: Option<String>,
}
