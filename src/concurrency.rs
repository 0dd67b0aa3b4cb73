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
        let matches = tags
            .iter()
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == current);
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
        let values: Vec<String> = req
            .headers()
            .get_all(header::IF_MATCH)
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|tag| tag.trim().to_owned())
            .filter(|tag| !tag.is_empty())
            .collect();
        ready(Ok(IfMatch((!values.is_empty()).then_some(values))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_the_current_version_only() {
        assert!(IfMatch(None).check(3).is_ok());
        assert!(IfMatch(Some(vec!["\"3\"".into()])).check(3).is_ok());
        assert!(IfMatch(Some(vec!["W/\"3\"".into()])).check(3).is_ok());
        assert!(IfMatch(Some(vec!["*".into()])).check(3).is_ok());
        assert!(IfMatch(Some(vec!["\"2\"".into()])).check(3).is_err());
    }
}
