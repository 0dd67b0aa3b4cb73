//! Logs and the request middleware: request ids, one span per request, metrics, and
//! the final rendering of every error as a problem document.
//!
//! Logs carry the route pattern, never the raw path or query string, which may hold
//! personal data (names in `q=`, tracking codes).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, web};
use tracing::Instrument;
use tracing::field::Empty;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::body_deadline::{self, BodyDeadline};
use crate::config::LogFormat;
use crate::error::{AlreadyRendered, ApiError, problem_response};
use crate::i18n::Lang;
use crate::metrics::Metrics;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global subscriber; a second call (as in tests) keeps the first.
pub fn init_subscriber(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE);
    let _already_installed = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// The id of the current request: the caller's `X-Request-Id` when it is sane, a new
/// UUID otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    fn from_header(value: Option<&HeaderValue>) -> Self {
        value
            .and_then(|value| value.to_str().ok())
            .filter(|id| {
                (1..=64).contains(&id.len())
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            })
            .map(|id| RequestId(id.to_owned()))
            .unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()))
    }

    pub fn of(req: &HttpRequest) -> Option<String> {
        req.extensions().get::<RequestId>().map(|id| id.0.clone())
    }
}

/// Longest path and query answered (8 KiB, what common reverse proxies allow). No
/// operation needs more; a longer one is `414`. Targets of 64 KiB and more never reach
/// this code: actix-http's parser refuses them with a bare `400` (heads over 128 KiB
/// with `431`).
pub const MAX_REQUEST_TARGET: usize = 8 * 1024;

pub async fn request_context(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    // HEAD is GET without the body (RFC 9110 §9.3.2): routed as GET; the connection
    // still knows the request was HEAD and sends the headers only.
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);
    let request_id = RequestId::from_header(req.headers().get(&REQUEST_ID_HEADER));
    req.extensions_mut().insert(request_id.clone());
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        route = Empty,
        status = Empty,
        latency_ms = Empty,
        request_id = %request_id.0,
        caller = Empty,
    );

    // The router needs sole ownership of the request, so it cannot be kept for an
    // `Err` here; handlers' errors arrive as responses, and only a failing inner
    // middleware (the rate limit, inside this one, never fails) would take the `?`.
    let body_deadline = req
        .app_data::<web::Data<BodyDeadline>>()
        .map(|deadline| deadline.0);
    let missed_body = body_deadline.and_then(|deadline| body_deadline::guard(&mut req, deadline));
    let target_length = req
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    let response = if target_length > MAX_REQUEST_TARGET {
        req.error_response(ApiError::UriTooLong {
            limit: MAX_REQUEST_TARGET,
        })
    } else {
        next.call(req)
            .instrument(span.clone())
            .await?
            .map_into_boxed_body()
    };
    // Whatever the handler made of a body that stopped arriving, the answer is 408, and
    // the connection, with the rest of that body still owed, is closed.
    let body_missed = missed_body.is_some_and(|missed| missed.happened());
    let response = if body_missed {
        let (request, _) = response.into_parts();
        ServiceResponse::from_err(ApiError::RequestTimeout, request)
    } else {
        response
    };
    let mut response = render_error(response, &request_id, &span);
    // A stopping instance closes each connection after its answer, so that a proxy's
    // kept-alive connection brings no new request to it.
    let stopping = response
        .request()
        .app_data::<web::Data<crate::shutdown::Shutdown>>()
        .is_some_and(|shutdown| shutdown.has_begun());
    if body_missed || stopping {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    // What a caller sees with its token (whole NIKs, phone numbers, secrets) is for it
    // alone: no shared or browser cache may keep it.
    if authenticated && !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status();
    let latency = started.elapsed();
    if let Some(metrics) = response.request().app_data::<web::Data<Metrics>>() {
        metrics.observe_request(response.request().method(), &route, status, latency);
    }
    span.record("route", route.as_str());
    span.record("status", status.as_u16());
    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
    span.in_scope(|| tracing::info!("request finished"));
    Ok(response)
}

/// Replaces the body of an error response with the problem document in the caller's
/// language, and logs the cause of server errors.
fn render_error(
    response: ServiceResponse<BoxBody>,
    request_id: &RequestId,
    span: &tracing::Span,
) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let foreign;
    let api_error = match response.response().error() {
        // Answered in another documented shape (Open311's), already rendered.
        Some(_)
            if response
                .response()
                .extensions()
                .contains::<AlreadyRendered>() =>
        {
            return response;
        }
        Some(error) => match error.as_error::<ApiError>() {
            Some(api_error) => api_error,
            None => {
                foreign = ApiError::from_foreign_status(status, crate::extract::JSON_BODY_LIMIT);
                &foreign
            }
        },
        // A bare error answer from a service we mount (the docs page's files): it
        // gets the problem shape too.
        None if (status.is_client_error() || status.is_server_error())
            && !response.headers().contains_key(header::CONTENT_TYPE) =>
        {
            foreign = ApiError::from_foreign_status(status, crate::extract::JSON_BODY_LIMIT);
            &foreign
        }
        None => return response,
    };
    if api_error.status().is_server_error() {
        span.in_scope(|| tracing::error!(error = %error_chain(api_error), "request failed"));
    }
    let lang = Lang::from_request(response.request());
    let mut problem = problem_response(api_error, lang, Some(&request_id.0));
    let (request, original) = response.into_parts();
    // Headers a route's middleware put on the answer (tus's `Tus-Resumable`) stay; the
    // body's own headers are the problem document's.
    let own: Vec<HeaderName> = problem.headers().keys().cloned().collect();
    for (name, value) in original.headers() {
        let describes_body = *name == header::CONTENT_TYPE || *name == header::CONTENT_LENGTH;
        if !describes_body && !own.contains(name) {
            problem.headers_mut().append(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(request, problem)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
