//! Optimistic concurrency (SPEC §1): a resource's `version` is its `ETag`, and a write
//! that sends `If-Match` with an older one is refused with 412.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Serialize;

use crate::error::ApiError;

pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// Answers `200` with `body` and its version as `ETag`.
pub fn ok_with_etag<T: Serialize>(version: i64, body: &T) -> HttpResponse {
    with_etag(HttpResponse::Ok(), version).json(body)
}

pub fn with_etag(mut builder: HttpResponseBuilder, version: i64) -> HttpResponseBuilder {
    builder.insert_header((header::ETAG, etag(version)));
    builder
}

/// The `If-Match` precondition of a write; absent means "whatever the version".
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<Vec<String>>);

impl IfMatch {
    /// `Err(412)` unless the current `version` is one the client named (or `*`).
    pub fn check(&self, version: i64) -> Result<(), ApiError> {
        let Some(tags) = &self.0 else {
            return Ok(());
        };
        let current = etag(version);
        // If-Match uses the strong comparison (RFC 9110 §13.1.1): a weak tag never matches.
        let matches = tags.iter().any(|tag| tag == "*" || *tag == current);
        if matches {
            Ok(())
        } else {
            Err(ApiError::PreconditionFailed)
        }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_if_match(req))
    }
}

/// A present `If-Match` must name at least one entity tag (`"3"`, `W/"3"` or `*`): an
/// empty or garbled header is refused rather than read as "no precondition".
fn parse_if_match(req: &HttpRequest) -> Result<IfMatch, ApiError> {
    let headers: Vec<_> = req.headers().get_all(header::IF_MATCH).collect();
    if headers.is_empty() {
        return Ok(IfMatch(None));
    }
    let invalid = || {
        ApiError::InvalidHeader(vec![crate::error::FieldIssue::new(
            "If-Match",
            "invalid_entity_tag",
            "must be `*` or a list of entity tags such as \"3\"",
            "harus `*` atau daftar entity tag seperti \"3\"",
        )])
    };
    let mut tags = Vec::new();
    for value in headers {
        let text = value.to_str().map_err(|_| invalid())?;
        for tag in text.split(',').map(str::trim) {
            let opaque = tag.strip_prefix("W/").unwrap_or(tag);
            let well_formed = tag == "*"
                || (opaque.len() >= 2 && opaque.starts_with('"') && opaque.ends_with('"'));
            if !well_formed {
                return Err(invalid());
            }
            tags.push(tag.to_owned());
        }
    }
    Ok(IfMatch(Some(tags)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_the_current_version_only() {
        assert!(IfMatch(None).check(3).is_ok());
        assert!(IfMatch(Some(vec!["\"3\"".into()])).check(3).is_ok());
        assert!(IfMatch(Some(vec!["W/\"3\"".into()])).check(3).is_err());
        assert!(IfMatch(Some(vec!["*".into()])).check(3).is_ok());
        assert!(IfMatch(Some(vec!["\"2\"".into()])).check(3).is_err());
    }
}
