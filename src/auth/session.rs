//! Is a validly signed access token still good? Its holder may have been disabled, had
//! its role, KIM, password or scopes changed, or signed out since it was issued.
//!
//! Each token carries its holder's security stamp (`stm`) and sign-in session (`sid`);
//! they are compared with the database on every request, through a short-lived cache
//! per holder and session. So access ends on this instance at once (its own writes
//! clear the cache) and on every other instance within [`SessionCheck::recheck`]
//! (`AUTH_RECHECK_SECS`, default 5 s) — instead of when the token expires.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::dsl::exists;
use diesel::prelude::*;

use super::{Caller, Subject};
use crate::db::Db;
use crate::db::schema::{integration_clients, refresh_tokens, users};
use crate::error::ApiError;

/// Entries kept at most; past it the cache starts afresh (one query per holder).
const MAX_ENTRIES: usize = 50_000;

/// What the database says about a token's holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Standing {
    /// `None`: the holder is gone or disabled, or the session has ended.
    stamp: Option<i64>,
}

struct Entry {
    standing: Standing,
    checked_at: Instant,
    epoch: u64,
}

pub struct SessionCheck {
    db: Db,
    recheck: Duration,
    entries: Mutex<HashMap<String, Entry>>,
    /// Bumped by every local change to an account, client or session: entries from an
    /// older epoch are stale.
    epoch: AtomicU64,
}

impl SessionCheck {
    pub fn new(db: Db, recheck: Duration) -> Self {
        SessionCheck {
            db,
            recheck,
            entries: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(0),
        }
    }

    pub fn recheck(&self) -> Duration {
        self.recheck
    }

    /// Forget what is cached: something this instance wrote may end access.
    pub fn changed(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// `Ok(true)` while the token stamped `stamp` still speaks for `caller`.
    pub async fn is_current(&self, caller: &Caller, stamp: i64) -> Result<bool, ApiError> {
        let key = match (&caller.subject, &caller.session) {
            (Subject::User(id), Some(session)) => format!("u{id}:{session}"),
            // Every user token we issue names its sign-in session.
            (Subject::User(_), None) => return Ok(false),
            (Subject::Client(client_id), _) => format!("c:{client_id}"),
        };
        let epoch = self.epoch.load(Ordering::Acquire);
        if let Some(standing) = self.cached(&key, epoch) {
            return Ok(standing.stamp == Some(stamp));
        }
        let standing = self.load(caller).await?;
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                key,
                Entry {
                    standing,
                    checked_at: Instant::now(),
                    epoch,
                },
            );
        }
        Ok(standing.stamp == Some(stamp))
    }

    fn cached(&self, key: &str, epoch: u64) -> Option<Standing> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        (entry.epoch == epoch && entry.checked_at.elapsed() < self.recheck)
            .then_some(entry.standing)
    }

    async fn load(&self, caller: &Caller) -> Result<Standing, ApiError> {
        let subject = caller.subject.clone();
        let session = caller.session.clone();
        self.db
            .read(move |conn| {
                let stamp = match (subject, session) {
                    (Subject::User(id), Some(session)) => {
                        let session_alive = exists(
                            refresh_tokens::table
                                .filter(refresh_tokens::family_id.eq(session))
                                .filter(refresh_tokens::revoked_at.is_null()),
                        );
                        users::table
                            .find(id)
                            .filter(users::disabled.eq(false))
                            .select((users::security_stamp, session_alive))
                            .first::<(i64, bool)>(conn)
                            .optional()?
                            .and_then(|(stamp, alive)| alive.then_some(stamp))
                    }
                    (Subject::User(_), None) => None,
                    (Subject::Client(client_id), _) => integration_clients::table
                        .filter(integration_clients::client_id.eq(client_id))
                        .filter(integration_clients::disabled.eq(false))
                        .select(integration_clients::security_stamp)
                        .first::<i64>(conn)
                        .optional()?,
                };
                Ok(Standing { stamp })
            })
            .await
    }
}
