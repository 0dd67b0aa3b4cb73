//! The OpenAPI document: its header, the shared error responses, and generation.
//!
//! Paths are not listed here: `startup::api_routes` registers each handler together
//! with its `#[utoipa::path]` documentation, so no route can be left out.

use utoipa::{OpenApi, ToResponse};

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "KIM API",
        description = "API of the Kelompok Informasi Masyarakat (KIM) of Kota Metro: the KIM \
registry and members, government information bulletins, and citizen reports.\n\n\
Errors are RFC 9457 `application/problem+json` documents with a stable `code`. \
Send `Accept-Language: id` for Indonesian texts. Lists use keyset pagination: pass \
`next_cursor` back as `cursor`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "reference data", description = "Regions and report categories"),
        (name = "operations", description = "Health probes and metrics"),
    ),
    components(
        schemas(Problem, FieldError),
        responses(InvalidQuery, InvalidBody, NotFound, ServiceUnavailable),
    ),
)]
pub struct ApiDoc;

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

/// The OpenAPI document the service serves, as pretty JSON with a final newline.
pub fn openapi_json() -> String {
    let document = crate::startup::openapi();
    let mut json = document
        .to_pretty_json()
        .unwrap_or_else(|error| panic!("the OpenAPI document cannot be serialised: {error}"));
    json.push('\n');
    json
}
