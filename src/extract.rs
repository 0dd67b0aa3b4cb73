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

mod strict_json;

use crate::domain::text::is_acceptable_anywhere;
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

/// A calendar date exactly as SPEC §1 writes it, `YYYY-MM-DD`, in years 1900–9999:
/// chrono alone also takes `2026-1-1`, `+002026-01-01` and year 1.
pub fn parse_strict_date(text: &str) -> Result<chrono::NaiveDate, String> {
    let shape_ok = text.len() == 10
        && text.bytes().enumerate().all(|(index, byte)| match index {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    let date = shape_ok
        .then(|| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .filter(|date| chrono::Datelike::year(date) >= 1900);
    date.ok_or_else(|| format!("`{text}` is not a date written YYYY-MM-DD from 1900 on"))
}

/// `#[serde(deserialize_with = "crate::extract::date")]` on a `NaiveDate`.
pub fn date<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<chrono::NaiveDate, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    parse_strict_date(&text).map_err(serde::de::Error::custom)
}

/// [`date`] for an `Option<NaiveDate>` (with `#[serde(default)]`).
pub fn optional_date<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<chrono::NaiveDate>, D::Error> {
    let text = <Option<String> as serde::Deserialize>::deserialize(deserializer)?;
    text.map(|text| parse_strict_date(&text))
        .transpose()
        .map_err(serde::de::Error::custom)
}

/// [`date`] for a PATCH field (`Option<Option<NaiveDate>>`, with `#[serde(default)]`).
pub fn nullable_date<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<chrono::NaiveDate>>, D::Error> {
    optional_date(deserializer).map(Some)
}

/// The raw body of the request, kept by the extractor that read it, for fingerprinting.
#[derive(Clone)]
pub struct RawBody {
    pub bytes: web::Bytes,
    /// JSON is compared in canonical form (key order and whitespace do not count).
    pub is_json: bool,
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
            req.extensions_mut().insert(RawBody {
                bytes,
                is_json: true,
            });
            Ok(ApiJson(value))
        })
    }
}

/// The body of an operation that documents none: read (within the JSON limit) and kept
/// for the idempotency fingerprint, like any other body, so an operation that honours
/// `Idempotency-Key` always has one to compare.
#[derive(Debug)]
pub struct NoBody;

impl FromRequest for NoBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let bytes = body.await.map_err(|error| payload_error(&error))?;
            req.extensions_mut().insert(RawBody {
                bytes,
                is_json: false,
            });
            Ok(NoBody)
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

/// Parses a JSON document, reporting the path of the first bad field. Text anywhere
/// in it must pass the text policy's character rule (no NUL or other control
/// characters but tab and line breaks, no direction overrides).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let malformed = |message: String| {
        ApiError::InvalidBody(vec![FieldIssue::new(
            "",
            "malformed_json",
            format!("the body is not valid JSON: {message}"),
            format!("isi permintaan bukan JSON yang valid: {message}"),
        )])
    };
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let strict_json::StrictValue(document) = serde_path_to_error::deserialize(&mut reader)
        .map_err(|error| {
            let message = error.inner().to_string();
            match strict_json::duplicate_key(&message) {
                Some(key) => duplicate_key(&error.path().to_string(), key),
                None => malformed(message),
            }
        })?;
    reader.end().map_err(|error| malformed(error.to_string()))?;
    if let Some(path) = first_unacceptable_text(&document, String::new()) {
        return Err(ApiError::InvalidBody(vec![invalid_character(path)]));
    }
    serde_path_to_error::deserialize(document)
        .map_err(|error| ApiError::InvalidBody(vec![json_issue(&error)]))
}

fn duplicate_key(path: &str, key: &str) -> ApiError {
    let field = match path {
        "" | "." => key.to_owned(),
        parent => format!("{parent}.{key}"),
    };
    ApiError::InvalidBody(vec![FieldIssue::new(
        field,
        "duplicate_key",
        "the key appears more than once in its object",
        "kunci ini muncul lebih dari sekali dalam objeknya",
    )])
}

fn invalid_character(field: String) -> FieldIssue {
    FieldIssue::new(
        field,
        "invalid_character",
        "must not contain NUL, control characters, direction overrides or noncharacters",
        "tidak boleh memuat NUL, karakter kendali, penimpa arah teks, atau nonkarakter",
    )
}

/// The path of the first string (or key) holding a character no text may hold.
fn first_unacceptable_text(value: &serde_json::Value, path: String) -> Option<String> {
    let acceptable = |text: &str| text.chars().all(is_acceptable_anywhere);
    match value {
        serde_json::Value::String(text) => (!acceptable(text)).then_some(path),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| first_unacceptable_text(item, format!("{path}[{index}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let field = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if acceptable(key) {
                first_unacceptable_text(item, field)
            } else {
                Some(field)
            }
        }),
        _ => None,
    }
}

fn json_issue(error: &serde_path_to_error::Error<serde_json::Error>) -> FieldIssue {
    serde_issue(&error.path().to_string(), &error.inner().to_string())
}

/// serde's message in the client's terms: the Rust type names it quotes
/// (`expected struct KimChanges with 11 elements`, `expected u8`) say nothing to a
/// client and expose the implementation.
fn plain_message(message: &str) -> String {
    let Some(at) = message.find("expected ") else {
        return message.to_owned();
    };
    let (head, expected) = message.split_at(at);
    let what = &expected["expected ".len()..];
    let plain = if what.starts_with("struct ") || what.starts_with("a map") {
        "an object"
    } else if what.starts_with("enum ") || what.starts_with("variant ") {
        "one of the documented values"
    } else if what.starts_with("a sequence") || what.starts_with("tuple") {
        "an array"
    } else if what.starts_with("i64")
        || what.starts_with("i32")
        || what.starts_with("u64")
        || what.starts_with("u32")
        || what.starts_with("u16")
        || what.starts_with("u8")
        || what.starts_with("usize")
    {
        "a whole number in the documented range"
    } else if what.starts_with("f64") || what.starts_with("f32") {
        "a number"
    } else {
        return message.to_owned();
    };
    format!("{head}expected {plain}")
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
    let message = plain_message(message);
    FieldIssue::new(
        field,
        "invalid_type",
        message.clone(),
        format!("nilai tidak valid: {message}"),
    )
}

/// Parses an `application/x-www-form-urlencoded` body, naming the bad field.
pub fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(bytes));
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
    // No control character belongs in a query parameter, line breaks included.
    if let Some((key, _)) = url::form_urlencoded::parse(query.as_bytes()).find(|(key, value)| {
        key.chars()
            .chain(value.chars())
            .any(|c| !is_acceptable_anywhere(c) || matches!(c, '\n' | '\r' | '\t'))
    }) {
        return Err(ApiError::InvalidQuery(vec![invalid_character(
            key.into_owned(),
        )]));
    }
    let deserializer =
        serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
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
    let (page_pairs, filter_pairs): (Vec<_>, Vec<_>) =
        url::form_urlencoded::parse(query.as_bytes())
            .partition(|(key, _)| PageParams::NAMES.contains(&key.as_ref()));
    let page_query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(page_pairs)
        .finish();
    let filter_query = url::form_urlencoded::Serializer::new(String::new())
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
        .app_data(web::PathConfig::default().error_handler(|_, _| {
            ApiError::InvalidPath(vec![FieldIssue::new(
                "",
                "invalid_id",
                "ids are whole numbers from 1 to 9223372036854775807",
                "id berupa bilangan bulat dari 1 sampai 9223372036854775807",
            )])
            .into()
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
        assert_eq!(
            issue(parse_json(br#"{"name":"a\u0000b"}"#)),
            ("name".into(), "invalid_character".into())
        );
        assert_eq!(
            issue(parse_json(br#"{"name":"a","inner":[{"k\u001b":1}]}"#)),
            ("inner[0].k\u{1b}".into(), "invalid_character".into())
        );
    }

    #[test]
    fn dates_are_written_one_way() {
        assert!(parse_strict_date("2026-01-31").is_ok());
        for bad in [
            "2026-1-1",
            "0001-01-01",
            "-0001-01-01",
            "+02026-01-01",
            "2026-02-30",
            "20260101",
        ] {
            assert!(parse_strict_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_do_not_name_rust_types() {
        let message = match parse_json::<Body>(br#"[1]"#) {
            Err(ApiError::InvalidBody(issues)) => issues[0].render_en(),
            other => panic!("expected invalid body, got {other:?}"),
        };
        assert!(!message.contains("struct"), "{message}");
        assert!(!message.contains("Body"), "{message}");
        assert_eq!(
            plain_message("invalid value: integer `300`, expected u8"),
            "invalid value: integer `300`, expected a whole number in the documented range"
        );
    }
}
