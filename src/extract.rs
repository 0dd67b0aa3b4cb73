//! Request extractors whose failures are [`ApiError`] problems naming the bad field.
//!
//! actix's own `Json`/`Query` report serde's message without saying which field it was
//! about; these run serde through `serde_path_to_error` so clients get `errors[].field`.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldIssue};
use crate::pagination::PageParams;

/// For `#[serde(default, deserialize_with = "nullable")]` on an `Option<Option<T>>`
/// field of a PATCH body: absent → `None` (leave as is), `null` → `Some(None)` (clear).
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// Largest JSON body accepted (SPEC §1).
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// A JSON body: `application/json` (or `+json`) only, at most [`JSON_BODY_LIMIT`]
/// bytes, unknown fields refused by the target type's `deny_unknown_fields`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<actix_web::mime::Mime>().ok())
            .is_some_and(|mime| {
                mime.type_() == actix_web::mime::APPLICATION
                    && (mime.subtype() == actix_web::mime::JSON
                        || mime.suffix() == Some(actix_web::mime::JSON))
            });
        if !is_json {
            return Box::pin(ready(Err(ApiError::UnsupportedMediaType)));
        }
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let bytes = body.await.map_err(|error| payload_error(&error))?;
            let value = parse_json(&bytes)?;
            // Kept for idempotency fingerprints; `Bytes` clones share the buffer.
            req.extensions_mut()
                .insert(crate::idempotency::RawJsonBody(bytes));
            Ok(ApiJson(value))
        })
    }
}

fn payload_error(error: &actix_web::Error) -> ApiError {
    if error.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge {
            limit: JSON_BODY_LIMIT,
        }
    } else {
        ApiError::InvalidBody(vec![FieldIssue::new(
            "",
            "unreadable",
            "the request body could not be read",
            "isi permintaan tidak dapat dibaca",
        )])
    }
}

/// Parses a JSON document, reporting the path of the first bad field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| ApiError::InvalidBody(vec![json_issue(&error)]))?;
    deserializer.end().map_err(|error| {
        ApiError::InvalidBody(vec![FieldIssue::new(
            "",
            "malformed_json",
            format!("trailing characters after the JSON document: {error}"),
            format!("ada karakter setelah dokumen JSON: {error}"),
        )])
    })?;
    Ok(value)
}

fn json_issue(error: &serde_path_to_error::Error<serde_json::Error>) -> FieldIssue {
    let inner = error.inner();
    let message = inner.to_string();
    if inner.is_syntax() || inner.is_eof() {
        return FieldIssue::new(
            "",
            "malformed_json",
            format!("the body is not valid JSON: {message}"),
            format!("isi permintaan bukan JSON yang valid: {message}"),
        );
    }
    serde_issue(&error.path().to_string(), &message)
}

/// Names the field and kind of a serde data error ("unknown field", "missing field", …).
fn serde_issue(path: &str, message: &str) -> FieldIssue {
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    // serde_path_to_error already ends the path with an unknown field's name, but not
    // with a missing one's.
    let join = |name: String| match path {
        "" | "." => name,
        parent if parent == name || parent.ends_with(&format!(".{name}")) => parent.to_owned(),
        parent => format!("{parent}.{name}"),
    };
    let field = if path == "." { "" } else { path };
    if let Some(name) = quoted("unknown field `") {
        return FieldIssue::new(
            join(name),
            "unknown_field",
            message,
            "isian ini tidak dikenal",
        );
    }
    if let Some(name) = quoted("missing field `") {
        return FieldIssue::new(
            join(name),
            "required",
            "this field is required",
            "isian ini wajib diisi",
        );
    }
    if message.starts_with("unknown variant") {
        return FieldIssue::new(
            field,
            "unknown_value",
            message,
            format!("nilai tidak dikenal: {message}"),
        );
    }
    FieldIssue::new(
        field,
        "invalid_type",
        message,
        format!("nilai tidak valid: {message}"),
    )
}

/// Parses an `application/x-www-form-urlencoded` body, naming the bad field.
pub fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        ApiError::InvalidBody(vec![serde_issue(
            &error.path().to_string(),
            &error.inner().to_string(),
        )])
    })
}

/// Query parameters; unknown parameters are refused by the target type's
/// `deny_unknown_fields`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(ApiQuery))
    }
}

fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        ApiError::InvalidQuery(vec![serde_issue(
            &error.path().to_string(),
            &error.inner().to_string(),
        )])
    })
}

/// A list request: the shared `limit`/`cursor` parameters plus the list's own filters `F`.
#[derive(Debug)]
pub struct ListQuery<F> {
    pub page: PageParams,
    pub filter: F,
}

impl<F: DeserializeOwned> FromRequest for ListQuery<F> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_list_query(req.query_string()))
    }
}

fn parse_list_query<F: DeserializeOwned>(query: &str) -> Result<ListQuery<F>, ApiError> {
    let (page_pairs, filter_pairs): (Vec<_>, Vec<_>) = form_urlencoded::parse(query.as_bytes())
        .partition(|(key, _)| PageParams::NAMES.contains(&key.as_ref()));
    let page_query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(page_pairs)
        .finish();
    let filter_query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(filter_pairs)
        .finish();
    let page: PageParams = parse_query(&page_query)?;
    page.validate()?;
    let filter = parse_query(&filter_query)?;
    Ok(ListQuery { page, filter })
}

/// actix's built-in extractors, should one be used, fail with the same problems.
pub fn configure_builtin_extractors(config: &mut web::ServiceConfig) {
    config
        .app_data(
            web::JsonConfig::default()
                .limit(JSON_BODY_LIMIT)
                .error_handler(|error, _| {
                    match error {
                        actix_web::error::JsonPayloadError::ContentType => {
                            ApiError::UnsupportedMediaType
                        }
                        actix_web::error::JsonPayloadError::Overflow { .. }
                        | actix_web::error::JsonPayloadError::OverflowKnownLength { .. } => {
                            ApiError::PayloadTooLarge {
                                limit: JSON_BODY_LIMIT,
                            }
                        }
                        other => ApiError::InvalidBody(vec![serde_issue("", &other.to_string())]),
                    }
                    .into()
                }),
        )
        .app_data(web::PayloadConfig::default().limit(JSON_BODY_LIMIT))
        .app_data(web::QueryConfig::default().error_handler(|error, _| {
            ApiError::InvalidQuery(vec![serde_issue("", &error.to_string())]).into()
        }))
        .app_data(web::PathConfig::default().error_handler(|error, _| {
            ApiError::InvalidPath(vec![serde_issue("", &error.to_string())]).into()
        }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "the test checks deserialisation only")]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "the test checks deserialisation only")]
    struct Inner {
        count: u8,
    }

    fn issue(result: Result<Body, ApiError>) -> (String, String) {
        match result {
            Err(ApiError::InvalidBody(issues)) => {
                (issues[0].field.clone(), issues[0].code.to_string())
            }
            other => panic!("expected invalid body, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(
            issue(parse_json(b"{")),
            ("".into(), "malformed_json".into())
        );
        assert_eq!(
            issue(parse_json(br#"{"name":"a","x":1}"#)),
            ("x".into(), "unknown_field".into())
        );
        assert_eq!(
            issue(parse_json(br#"{}"#)),
            ("name".into(), "required".into())
        );
        assert_eq!(
            issue(parse_json(br#"{"name":"a","inner":{"count":300}}"#)),
            ("inner.count".into(), "invalid_type".into())
        );
        assert_eq!(
            issue(parse_json(br#"{"name":"a"} x"#)),
            ("".into(), "malformed_json".into())
        );
    }
}
