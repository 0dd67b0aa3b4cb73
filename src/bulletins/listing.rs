//! Listing bulletins: the caller's view and the filters as one condition, kept pages,
//! and sync (what changed since a token, with removals for what left the view).

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::files::BulletinFiles;
use super::model::{Bulletin, BulletinRow, BulletinStatus, Category, Origin, Priority};
use super::policy::{BulletinAccess, BulletinCondition};
use crate::attachments::{Attachment, FileOwner};
use crate::auth::MaybeCaller;
use crate::db::schema::bulletins;
use crate::db::{BoundSql, Db, DbConnection};
use crate::error::{ApiError, FieldIssue};
use crate::extract::ListQuery;
use crate::openapi::{Forbidden, InvalidQuery, ServiceUnavailable, Unauthorized};
use crate::page_cache::{CachedPage, PageCache, PageKey};
use crate::pagination::{PageParams, contains_pattern, cursor_after};
use crate::sync::{Counter, Removed, SyncItem, SyncPage, SyncPoint};

/// Serialized whole into the key of kept list pages ([`page_query`]): a field added
/// here changes the key without anyone remembering to.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BulletinFilter {
    status: Option<BulletinStatus>,
    category: Option<Category>,
    priority: Option<Priority>,
    origin: Option<Origin>,
    /// Published at or after this moment.
    since: Option<DateTime<Utc>>,
    /// Text in the title or body, case-insensitive.
    q: Option<String>,
    /// KIM users only: whether their KIM has acknowledged it (`false`: what is new).
    acknowledged: Option<bool>,
    /// A `sync_token` from an earlier listing: only what changed since, with items
    /// that left the view as `{"id", "removed": true}`.
    updated_since: Option<String>,
}

/// What, besides the caller's view and the counter, decides a kept list page: the whole
/// filter as parsed, where the page starts and how long it is, and (PostgreSQL) the
/// snapshot — a change may commit under a number already handed out, and only the
/// snapshot moves then.
fn page_query(
    filter: &BulletinFilter,
    before: Option<i64>,
    fetch_limit: i64,
) -> Result<String, ApiError> {
    serde_json::to_string(&(filter, before, fetch_limit)).map_err(ApiError::internal)
}

/// What a caller sees in a list: its access and the list's filters, as one condition
/// (the same rows are "in view" for plain lists and for sync). It is also selected as
/// a column, so it must be false, never NULL, where it does not hold.
fn in_view(
    access: &BulletinAccess,
    filter: &BulletinFilter,
    since: Option<NaiveDateTime>,
    pattern: Option<&str>,
) -> Result<BulletinCondition, ApiError> {
    let mut view = access.condition();
    if let Some(acknowledged) = filter.acknowledged {
        let kim = access.kim().ok_or_else(|| {
            ApiError::InvalidQuery(vec![FieldIssue::new(
                "acknowledged",
                "kim_users_only",
                "only KIM users filter by their KIM's acknowledgement",
                "hanya pengguna KIM yang menyaring menurut konfirmasi KIM-nya",
            )])
        })?;
        // Probed per candidate row on the (bulletin_id, kim_id) key, like the audience
        // match, rather than listing every bulletin the KIM ever acknowledged.
        let acknowledged_here = BoundSql::new(
            "EXISTS (SELECT 1 FROM bulletin_acknowledgements k \
             WHERE k.bulletin_id = bulletins.id AND k.kim_id = ",
        )
        .big_int(kim)
        .sql(")");
        view = if acknowledged {
            Box::new(view.and(acknowledged_here))
        } else {
            Box::new(view.and(diesel::dsl::not(acknowledged_here)))
        };
    }
    if let Some(status) = filter.status {
        view = Box::new(view.and(bulletins::status.eq(status)));
    }
    if let Some(category) = filter.category {
        view = Box::new(view.and(bulletins::category.eq(category)));
    }
    if let Some(priority) = filter.priority {
        view = Box::new(view.and(bulletins::priority.eq(priority)));
    }
    if let Some(origin) = filter.origin {
        view = Box::new(view.and(bulletins::origin.eq(origin)));
    }
    if let Some(since) = since {
        let published_since = bulletins::published_at
            .is_not_null()
            .and(bulletins::published_at.assume_not_null().ge(since));
        view = Box::new(view.and(published_since));
    }
    if let Some(pattern) = pattern {
        view = Box::new(view.and(bulletins::search_key.like(pattern.to_owned()).escape('\\')));
    }
    Ok(view)
}

/// Lists the bulletins the caller may see, newest first.
///
/// gov users see all; integration clients with `bulletins:read` the published ones;
/// a KIM's users the published, unexpired bulletins addressed to their KIM (and its
/// kim_admin every bulletin of its own KIM); anonymous callers published public ones.
#[utoipa::path(
    tag = "bulletins",
    params(BulletinFilter, PageParams),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "One page of bulletins (or of what changed since `updated_since`)", body = SyncPage<Bulletin>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/bulletins")]
pub async fn list_bulletins(
    caller: MaybeCaller,
    db: web::Data<Db>,
    kept_pages: web::Data<PageCache>,
    query: ListQuery<BulletinFilter>,
) -> Result<HttpResponse, ApiError> {
    let MaybeCaller(caller) = caller;
    let ListQuery { page, filter } = query;
    let request = ListRequest::check(filter, &page)?;
    let cache = kept_pages.into_inner();
    let kept = Arc::clone(&cache);
    let listing = db
        .read(move |conn| request.find(conn, caller.as_ref(), &kept))
        .await?;
    listing.answer(&page, &cache)
}

/// A listing as asked for, its query checked.
struct ListRequest {
    filter: BulletinFilter,
    cursor: Option<(i64, SyncPoint)>,
    fetch_limit: i64,
    since: Option<NaiveDateTime>,
    pattern: Option<String>,
}

impl ListRequest {
    fn check(filter: BulletinFilter, page: &PageParams) -> Result<ListRequest, ApiError> {
        let since = filter
            .since
            .map(|since| crate::domain::storable_moment("since", since))
            .transpose()
            .map_err(|issue| ApiError::InvalidQuery(vec![issue]))?;
        Ok(ListRequest {
            pattern: contains_pattern(filter.q.as_deref())?,
            cursor: page.after()?,
            fetch_limit: page.fetch_limit(),
            since,
            filter,
        })
    }

    /// The page for `caller`: kept from an earlier answer, or read.
    fn find(
        self,
        conn: &mut DbConnection,
        caller: Option<&crate::auth::Caller>,
        kept: &PageCache,
    ) -> Result<Listing, ApiError> {
        let access = BulletinAccess::of(conn, caller)?;
        let view_key = access.view_key();
        let changed_since = self
            .filter
            .updated_since
            .as_deref()
            .map(|token| SyncPoint::from_token(token, view_key))
            .transpose()?;
        let current = SyncPoint::now(conn, Counter::Bulletins, view_key)?;
        // Every page of one listing answers for the same point, so that the token of
        // its last page covers what changed while the client was paging.
        let upto = self
            .cursor
            .as_ref()
            .map_or_else(|| current.clone(), |(_, upto)| upto.clone());
        // A sync answer depends on its token, and acknowledgements do not move the
        // counter: neither is kept.
        let keep = changed_since.is_none() && self.filter.acknowledged.is_none() && kept.enabled();
        let key = keep
            .then(|| self.page_key(&current, view_key))
            .transpose()?;
        if let Some(hit) = key.as_ref().and_then(|key| kept.get(key, current.at())) {
            return Ok(Listing::Kept { page: hit, upto });
        }
        let rows = self.rows(conn, &access, changed_since.as_ref(), &upto)?;
        let shown: Vec<i64> = rows
            .iter()
            .filter(|(_, visible)| *visible)
            .map(|(row, _)| row.id)
            .collect();
        let files = crate::attachments::of_many(conn, BulletinFiles::KIND, &shown)?;
        Ok(Listing::Fresh {
            rows,
            files,
            show_author: access.shows_authors(),
            upto,
            at: current.at(),
            key,
        })
    }

    fn page_key(&self, current: &SyncPoint, view: u64) -> Result<PageKey, ApiError> {
        let before = self.cursor.as_ref().map(|(before, _)| *before);
        let query = page_query(&self.filter, before, self.fetch_limit)?;
        Ok(PageKey {
            counter: Counter::Bulletins,
            seq: current.seq,
            snapshot: current.snapshot().map(str::to_owned),
            view,
            query,
        })
    }

    /// The rows of the page, each with whether it is in view (only a sync answer holds
    /// rows that are not: they come back as removals).
    fn rows(
        &self,
        conn: &mut DbConnection,
        access: &BulletinAccess,
        changed_since: Option<&SyncPoint>,
        upto: &SyncPoint,
    ) -> Result<Vec<(BulletinRow, bool)>, ApiError> {
        let in_view = || in_view(access, &self.filter, self.since, self.pattern.as_deref());
        let in_view_column: BulletinCondition = match changed_since {
            None => Box::new(true.into_sql::<diesel::sql_types::Bool>()),
            Some(_) => in_view()?,
        };
        let mut select = bulletins::table
            .select((BulletinRow::as_select(), in_view_column))
            .order(bulletins::id.desc())
            .limit(self.fetch_limit)
            .into_boxed();
        select = match changed_since {
            None => select.filter(in_view()?),
            // Only what the caller could have seen: a removal of anything else
            // would tell it of a bulletin it was never shown.
            Some(from) => select
                .filter(
                    from.changed_since("bulletins")
                        .and(bulletins::change_seq.le(upto.seq))
                        .or(bulletins::expires_at
                            .assume_not_null()
                            .gt(from.at())
                            .and(bulletins::expires_at.assume_not_null().le(upto.at()))),
                )
                .filter(access.could_have_seen()),
        };
        if let Some((before, _)) = &self.cursor {
            select = select.filter(bulletins::id.lt(*before));
        }
        Ok(select.load(conn)?)
    }
}

/// What a listing found: a page kept from an earlier answer, or rows to answer with.
enum Listing {
    Kept {
        page: Arc<CachedPage>,
        upto: SyncPoint,
    },
    Fresh {
        rows: Vec<(BulletinRow, bool)>,
        files: HashMap<i64, Vec<Attachment>>,
        show_author: bool,
        upto: SyncPoint,
        at: NaiveDateTime,
        key: Option<PageKey>,
    },
}

/// [`SyncPage`] around items already in JSON.
#[derive(serde::Serialize)]
struct PageBody<'a> {
    data: &'a serde_json::value::RawValue,
    next_cursor: Option<String>,
    sync_token: String,
}

/// Up to `fetch_limit()` rows as one page of items: current bulletins, and removals
/// for rows (selected by sync) that left the view. It stays right until the first
/// expiry after `at` among the rows.
fn answered_page(
    mut rows: Vec<(BulletinRow, bool)>,
    mut files: HashMap<i64, Vec<Attachment>>,
    show_author: bool,
    params: &PageParams,
    at: NaiveDateTime,
) -> Result<CachedPage, ApiError> {
    let valid_until = rows
        .iter()
        .filter_map(|(row, _)| row.expires_at)
        .filter(|expiry| *expiry > at)
        .min();
    let last_key = if params.cut(&mut rows) {
        rows.last().map(|(row, _)| row.id)
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|(row, visible)| {
            Ok(if visible {
                let attached = files.remove(&row.id).unwrap_or_default();
                SyncItem::Current(Bulletin::from_row(row, show_author, attached)?)
            } else {
                SyncItem::Removed(Removed {
                    id: row.id,
                    removed: true,
                })
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let data = serde_json::value::to_raw_value(&items)
        .map_err(|e| ApiError::internal(format!("bulletin page as JSON: {e}")))?;
    Ok(CachedPage {
        data,
        last_key,
        valid_until,
    })
}

impl Listing {
    fn answer(self, params: &PageParams, cache: &PageCache) -> Result<HttpResponse, ApiError> {
        let (page, upto) = match self {
            Listing::Kept { page, upto } => (page, upto),
            Listing::Fresh {
                rows,
                files,
                show_author,
                upto,
                at,
                key,
            } => {
                let page = Arc::new(answered_page(rows, files, show_author, params, at)?);
                if let Some(key) = key {
                    cache.put(key, Arc::clone(&page));
                }
                (page, upto)
            }
        };
        Ok(HttpResponse::Ok().json(PageBody {
            data: &page.data,
            next_cursor: page.last_key.and_then(|last| cursor_after(&(last, &upto))),
            sync_token: upto.token(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use utoipa::IntoParams;

    use super::*;

    /// Each filter parameter, set alone, gives another key than no filter: the key is
    /// the whole filter, so a parameter added later cannot be left out of it. A new
    /// parameter fails here until it has a sample value below.
    #[test]
    fn every_filter_parameter_changes_the_page_key() {
        let sample = |name: &str| match name {
            "status" => Some("published"),
            "category" => Some("kesehatan"),
            "priority" => Some("urgent"),
            "origin" => Some("kim"),
            "since" => Some("2026-01-01T00:00:00Z"),
            "q" => Some("banjir"),
            "acknowledged" => Some("false"),
            "updated_since" => Some("token"),
            _ => None,
        };
        let key = |query: &str| {
            let filter: BulletinFilter = serde_urlencoded::from_str(query)
                .unwrap_or_else(|error| panic!("{query}: {error}"));
            page_query(&filter, None, 21).unwrap_or_else(|error| panic!("{error}"))
        };
        let unfiltered = key("");
        let parameters = <BulletinFilter as IntoParams>::into_params(|| None);
        assert!(parameters.len() >= 8);
        for parameter in parameters {
            let value = sample(&parameter.name)
                .unwrap_or_else(|| panic!("no sample value for `{}`", parameter.name));
            assert_ne!(
                key(&format!("{}={value}", parameter.name)),
                unfiltered,
                "{}",
                parameter.name
            );
        }
        assert_ne!(
            page_query(&BulletinFilter::default_for_tests(), Some(9), 21).ok(),
            Some(unfiltered),
            "where the page starts"
        );
    }

    impl BulletinFilter {
        fn default_for_tests() -> Self {
            serde_urlencoded::from_str("").unwrap_or_else(|error| panic!("{error}"))
        }
    }
}
