//! List pages already answered, kept while nothing they show can have changed.
//!
//! A synced list's counter (`sync.rs`) moves with every change of its rows and is read
//! by every listing anyway, so a page computed when the counter stood at `n` is still
//! the right answer, for the same view and query, while the counter reads `n` — until
//! the first of its items expires (expiry changes a view without a write). The counter
//! lives in the database, so changes made through another instance are seen at once.
//! Many members of one KIM poll the same first pages from their apps; answering those
//! from memory costs a counter read instead of the audience-matching scan
//! (benches/bulletins.sh).
//!
//! Only pages of the counter's newest value are kept, within a byte budget.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use serde_json::value::RawValue;

use crate::sync::Counter;

/// What decides a page's content besides the rows: the list, its counter value, the
/// caller's view (`SyncPoint` view key) and the query (filters, start, size).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub counter: Counter,
    pub seq: i64,
    /// PostgreSQL's snapshot at the counter's value: it moves with every commit
    /// anywhere, so under writes it is what tells one version of a list from the next.
    pub snapshot: Option<String>,
    pub view: u64,
    pub query: String,
}

/// An answered page: its items as JSON, the sort key of its last item when another page
/// follows, and the first moment one of its items expires.
#[derive(Debug)]
pub struct CachedPage {
    pub data: Box<RawValue>,
    pub last_key: Option<i64>,
    pub valid_until: Option<NaiveDateTime>,
}

#[derive(Debug, Default)]
struct Kept {
    /// Per list, the version (counter value and snapshot) whose pages are kept.
    newest: HashMap<Counter, (i64, Option<String>)>,
    pages: HashMap<PageKey, Arc<CachedPage>>,
    bytes: usize,
}

#[derive(Debug)]
pub struct PageCache {
    kept: Mutex<Kept>,
    budget_bytes: usize,
}

impl PageCache {
    /// A cache holding at most `budget_bytes` of page JSON; 0 keeps nothing.
    pub fn new(budget_bytes: usize) -> Self {
        PageCache {
            kept: Mutex::new(Kept::default()),
            budget_bytes,
        }
    }

    pub fn enabled(&self) -> bool {
        self.budget_bytes > 0
    }

    /// The page kept under `key`, unless one of its items has expired by `at`.
    pub fn get(&self, key: &PageKey, at: NaiveDateTime) -> Option<Arc<CachedPage>> {
        let kept = self.kept.lock().ok()?;
        let page = kept.pages.get(key)?;
        match page.valid_until {
            Some(until) if until <= at => None,
            _ => Some(Arc::clone(page)),
        }
    }

    /// Keeps `page`. Pages of older versions of its list go (nobody asks for them
    /// again): an older counter value is refused, and a page of another snapshot at the
    /// same value replaces those kept, so that writes elsewhere (which move PostgreSQL's
    /// snapshot) cannot pile up pages nobody will ask for. A page that does not fit
    /// empties the cache rather than tracking recency.
    pub fn put(&self, key: PageKey, page: Arc<CachedPage>) {
        let size = page.data.get().len() + key.query.len();
        // A page bigger than a tenth of the budget would evict too much for one entry.
        if size.saturating_mul(10) > self.budget_bytes {
            return;
        }
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        let version = (key.seq, key.snapshot.clone());
        let current = kept.newest.get(&key.counter);
        if current.is_some_and(|(seq, _)| key.seq < *seq) {
            return;
        }
        if current != Some(&version) {
            kept.newest.insert(key.counter, version);
            let counter = key.counter;
            kept.pages.retain(|kept_key, _| kept_key.counter != counter);
            kept.bytes = kept
                .pages
                .iter()
                .map(|(key, page)| page.data.get().len() + key.query.len())
                .sum();
        }
        if kept.bytes + size > self.budget_bytes {
            kept.pages.clear();
            kept.bytes = 0;
        }
        if kept.pages.insert(key, page).is_none() {
            kept.bytes += size;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(json: &str, valid_until: Option<NaiveDateTime>) -> Arc<CachedPage> {
        Arc::new(CachedPage {
            data: RawValue::from_string(json.to_owned()).unwrap_or_else(|_| unreachable!()),
            last_key: None,
            valid_until,
        })
    }

    fn key(seq: i64, query: &str) -> PageKey {
        PageKey {
            counter: Counter::Bulletins,
            seq,
            snapshot: None,
            view: 7,
            query: query.to_owned(),
        }
    }

    fn at(hour: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
            .and_then(|day| day.and_hms_opt(hour, 0, 0))
            .unwrap_or_default()
    }

    #[test]
    fn a_page_is_answered_for_its_counter_value_only() {
        let cache = PageCache::new(1 << 20);
        cache.put(key(5, "a"), page("[1]", None));
        assert!(cache.get(&key(5, "a"), at(1)).is_some());
        assert!(cache.get(&key(6, "a"), at(1)).is_none());
        assert!(cache.get(&key(5, "b"), at(1)).is_none());
        cache.put(key(6, "a"), page("[2]", None));
        assert!(
            cache.get(&key(5, "a"), at(1)).is_none(),
            "older values are dropped"
        );
        cache.put(key(5, "c"), page("[3]", None));
        assert!(
            cache.get(&key(5, "c"), at(1)).is_none(),
            "a late writer does not go back"
        );
    }

    #[test]
    fn a_page_goes_when_an_item_expires() {
        let cache = PageCache::new(1 << 20);
        cache.put(key(1, "a"), page("[1]", Some(at(10))));
        assert!(cache.get(&key(1, "a"), at(9)).is_some());
        assert!(cache.get(&key(1, "a"), at(10)).is_none());
    }

    #[test]
    fn the_budget_holds() {
        let cache = PageCache::new(100);
        cache.put(key(1, "a"), page("[1,2,3,4,5,6,7,8,9,10,11,12]", None));
        assert!(
            cache.get(&key(1, "a"), at(1)).is_none(),
            "too big for the budget"
        );
        for n in 0..50 {
            cache.put(key(1, &n.to_string()), page("[1]", None));
        }
        let bytes = cache
            .kept
            .lock()
            .map(|kept| kept.bytes)
            .unwrap_or(usize::MAX);
        assert!(bytes <= 100, "{bytes} bytes kept");
        assert!(!PageCache::new(0).enabled());
    }

    #[test]
    fn pages_of_another_snapshot_replace_those_kept() {
        let cache = PageCache::new(1 << 20);
        for snapshot in 0..100 {
            let mut key = key(5, "first page");
            key.snapshot = Some(format!("{snapshot}:{snapshot}:"));
            cache.put(key, page("[1]", None));
        }
        let kept = cache.kept.lock().map(|kept| kept.pages.len()).unwrap_or(0);
        assert_eq!(kept, 1, "writes elsewhere must not pile up pages");
    }
}
