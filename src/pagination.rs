//! Keyset (cursor) pagination shared by every list (SPEC §1).
//!
//! A cursor is the sort key of the last row of a page, serialised as JSON and base64url
//! encoded. Clients treat it as opaque; the next page starts strictly after that key, so
//! its cost does not grow with how deep the client has paged.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, FieldIssue};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// The paging parameters every list takes.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows per page, 1–100; default 20.
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page; omit it for the first page.
    cursor: Option<String>,
}

impl PageParams {
    pub const NAMES: [&'static str; 2] = ["limit", "cursor"];

    #[cfg(test)]
    fn first(limit: u32) -> Self {
        PageParams {
            limit: Some(limit),
            cursor: None,
        }
    }

    /// A page the service walks itself (exports): any size, from `cursor`.
    pub fn resume(limit: u32, cursor: Option<String>) -> Self {
        PageParams {
            limit: Some(limit),
            cursor,
        }
    }

    pub fn validate(&self) -> Result<(), ApiError> {
        match self.limit {
            Some(limit) if !(1..=MAX_LIMIT).contains(&limit) => {
                Err(ApiError::InvalidQuery(vec![FieldIssue::new(
                    "limit",
                    "out_of_range",
                    format!("must be between 1 and {MAX_LIMIT}"),
                    format!("harus antara 1 dan {MAX_LIMIT}"),
                )]))
            }
            _ => Ok(()),
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT)
    }

    /// Rows to fetch: one more than a page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit()) + 1
    }

    /// Cuts up to `fetch_limit()` rows to one page; `true` when another page follows.
    pub fn cut<T>(&self, rows: &mut Vec<T>) -> bool {
        let limit = self.limit() as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        more
    }

    /// The sort key after which this page starts, if any.
    pub fn after<K: DeserializeOwned>(&self) -> Result<Option<K>, ApiError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::InvalidQuery(vec![FieldIssue::new(
                    "cursor",
                    "invalid_cursor",
                    "not a cursor this list returned; start again without one",
                    "bukan cursor dari daftar ini; mulai lagi tanpa cursor",
                )])
            })
    }
}

/// `text` as a literal inside a `LIKE` pattern escaped with `\\`: `%`, `_` and `\\`
/// match only themselves, and at most `max_chars` characters are kept.
pub fn like_literal(text: &str, max_chars: usize) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars().take(max_chars) {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The `LIKE` pattern (escaped with `\\`) of a `q` filter over a lower-cased search
/// key: rows containing the text in any case. Blank is no filter; longer than
/// `limits::SEARCH` characters is a 400.
pub fn contains_pattern(q: Option<&str>) -> Result<Option<String>, ApiError> {
    let limit = crate::domain::text::limits::SEARCH;
    let Some(search) = q.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if search.chars().count() > limit {
        return Err(ApiError::InvalidQuery(vec![FieldIssue::new(
            "q",
            "too_long",
            format!("at most {limit} characters"),
            format!("maksimal {limit} karakter"),
        )]));
    }
    Ok(Some(format!(
        "%{}%",
        like_literal(&search.to_lowercase(), limit)
    )))
}

/// The cursor of a page whose last row has the sort key `key`.
pub fn cursor_after<K: Serialize>(key: &K) -> Option<String> {
    serde_json::to_vec(key)
        .ok()
        .map(|json| URL_SAFE_NO_PAD.encode(json))
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `fetch_limit()` rows sorted by `key`.
    pub fn from_rows<K: Serialize>(
        mut rows: Vec<T>,
        params: &PageParams,
        key: impl Fn(&T) -> K,
    ) -> Self {
        let next_cursor = if params.cut(&mut rows) {
            rows.last().and_then(|last| cursor_after(&key(last)))
        } else {
            None
        };
        Page {
            data: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_page_points_at_its_last_row() {
        let params = PageParams::first(2);
        let page = Page::from_rows(vec![1, 2, 3], &params, |n| *n);
        assert_eq!(page.data, vec![1, 2]);
        let next = PageParams {
            limit: Some(2),
            cursor: page.next_cursor,
        };
        assert_eq!(next.after::<i32>().ok().flatten(), Some(2));
    }

    #[test]
    fn the_last_page_has_no_cursor() {
        let page = Page::from_rows(vec![1, 2], &PageParams::first(2), |n| *n);
        assert!(page.next_cursor.is_none());
    }

    #[test]
    fn like_literals_escape_wildcards() {
        assert_eq!(like_literal("siti_r%", 100), "siti\\_r\\%");
        assert_eq!(like_literal("abc", 2), "ab");
    }

    #[test]
    fn a_forged_cursor_is_refused() {
        let params = PageParams {
            limit: None,
            cursor: Some("!!".into()),
        };
        assert!(params.after::<i64>().is_err());
    }
}

/// The filters of a list that has none: any other query parameter is refused.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFilter {}
