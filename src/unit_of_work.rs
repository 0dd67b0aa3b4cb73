//! One unit of work per write: a transaction that knows who acts and from where, and
//! offers what every write needs — audit records, outbox events and aggregate locks —
//! so the right thing is the short thing.
//!
//! ```ignore
//! db.unit_of_work(Actor::from(&caller), origin, move |uow| {
//!     uow.lock_kim(kim_id)?;
//!     // … read, check the rule, write …
//!     uow.audit("member.left", Target::member(member_id), None)?;
//!     uow.emit(Event::new(EventType::MemberLeft, Target::member(member_id), json!({…})))
//! }).await
//! ```
//!
//! Rules that are read and then written lock what they read (`SELECT … FOR UPDATE` on
//! PostgreSQL; SQLite's single writer already serialises every write transaction).
//! A transaction that loses a serialization or deadlock race is run again, a bounded
//! number of times, before the caller gets `503` with `Retry-After`.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::audit::{self, Actor, AuditEvent, RequestOrigin};
use crate::db::schema::outbox_events;
use crate::db::{Db, DbConnection, now};
use crate::error::ApiError;
use crate::events::EventType;

/// How many times a transaction that lost a race is tried in all.
const ATTEMPTS: u32 = 3;

/// What a record or an event is about: `("kim", "12")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: &'static str,
    pub id: String,
}

impl Target {
    pub fn new(kind: &'static str, id: impl ToString) -> Self {
        Target {
            kind,
            id: id.to_string(),
        }
    }
}

/// A domain event, delivered later (webhooks) from the outbox row written with the
/// change it describes.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: EventType,
    pub aggregate: Target,
    pub payload: serde_json::Value,
}

impl Event {
    pub fn new(event_type: EventType, aggregate: Target, payload: serde_json::Value) -> Self {
        Event {
            event_type,
            aggregate,
            payload,
        }
    }
}

pub struct UnitOfWork<'c> {
    pub conn: &'c mut DbConnection,
    actor: &'c Actor,
    origin: &'c RequestOrigin,
    /// Whether an outbox event was written: the dispatcher is woken after the commit.
    emitted: bool,
}

impl<'c> UnitOfWork<'c> {
    pub fn actor(&self) -> &Actor {
        self.actor
    }

    pub fn origin(&self) -> &RequestOrigin {
        self.origin
    }

    /// An audit record of this change, in this transaction.
    pub fn audit(
        &mut self,
        action: &'static str,
        target: Option<Target>,
        detail: Option<String>,
    ) -> Result<(), ApiError> {
        audit::record(
            self.conn,
            AuditEvent {
                actor: self.actor.clone(),
                action,
                target: target.map(|target| (target.kind, target.id)),
                origin: self.origin,
                detail,
            },
        )
    }

    /// An outbox row for `event`, committed (or not) with the change.
    pub fn emit(&mut self, event: Event) -> Result<(), ApiError> {
        let payload = serde_json::to_string(&event.payload).map_err(ApiError::internal)?;
        diesel::insert_into(outbox_events::table)
            .values((
                outbox_events::event_type.eq(event.event_type.as_str()),
                outbox_events::aggregate_type.eq(event.aggregate.kind),
                outbox_events::aggregate_id.eq(&event.aggregate.id),
                outbox_events::payload.eq(payload),
                outbox_events::request_id.eq(self.origin.request_id.as_deref()),
                outbox_events::created_at.eq(now()),
            ))
            .execute(self.conn)?;
        self.emitted = true;
        Ok(())
    }

    /// Locks one KIM until the end of the transaction: every rule about a KIM and its
    /// members (counts, one ketua, status moves, compliance) is decided under it.
    pub fn lock_kim(&mut self, kim_id: i64) -> Result<(), ApiError> {
        lock_kim(self.conn, kim_id)
    }

    /// Locks one bulletin until the end of the transaction: edits, status moves and
    /// acknowledgements of it queue here.
    pub fn lock_bulletin(&mut self, bulletin_id: i64) -> Result<(), ApiError> {
        lock_row(
            self.conn,
            "SELECT id FROM bulletins WHERE id = $1 FOR UPDATE",
            bulletin_id,
        )
    }

    /// Locks one mentoring session until the end of the transaction: its edits, status
    /// moves, nominations and attendance queue here.
    pub fn lock_session(&mut self, session_id: i64) -> Result<(), ApiError> {
        lock_row(
            self.conn,
            "SELECT id FROM mentoring_sessions WHERE id = $1 FOR UPDATE",
            session_id,
        )
    }

    /// Locks one consultation until the end of the transaction: its edits and status
    /// moves queue here.
    pub fn lock_consultation(&mut self, consultation_id: i64) -> Result<(), ApiError> {
        lock_row(
            self.conn,
            "SELECT id FROM consultations WHERE id = $1 FOR UPDATE",
            consultation_id,
        )
    }

    /// Locks one report until the end of the transaction: its files are counted and
    /// added here.
    pub fn lock_report(&mut self, report_id: i64) -> Result<(), ApiError> {
        lock_row(
            self.conn,
            "SELECT id FROM reports WHERE id = $1 FOR UPDATE",
            report_id,
        )
    }

    /// Locks one account until the end of the transaction.
    pub fn lock_user(&mut self, user_id: i64) -> Result<(), ApiError> {
        lock_row(
            self.conn,
            "SELECT id FROM users WHERE id = $1 FOR UPDATE",
            user_id,
        )
    }

    /// Locks the active gov_admin accounts and answers their ids. Two transactions that
    /// each take an administrator away then see each other's result instead of both
    /// counting the other as still active.
    pub fn lock_active_gov_admins(&mut self) -> Result<Vec<i64>, ApiError> {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let ids = match self.conn {
            DbConnection::Postgres(pg) => diesel::sql_query(
                "SELECT id FROM users WHERE role = 'gov_admin' AND NOT disabled ORDER BY id FOR UPDATE",
            )
            .load::<Id>(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::sql_query(
                "SELECT id FROM users WHERE role = 'gov_admin' AND NOT disabled ORDER BY id",
            )
            .load::<Id>(sqlite)?,
        };
        Ok(ids.into_iter().map(|row| row.id).collect())
    }

    /// Takes a transaction-scoped lock on a name (PostgreSQL advisory lock), for rules
    /// about rows that may not exist yet, such as sign-in attempts per account.
    pub fn lock_name(&mut self, name: &str) -> Result<(), ApiError> {
        if let DbConnection::Postgres(pg) = self.conn {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<BigInt, _>(advisory_key(name))
                .execute(pg)?;
        }
        Ok(())
    }
}

fn lock_kim(conn: &mut DbConnection, kim_id: i64) -> Result<(), ApiError> {
    lock_row(conn, "SELECT id FROM kims WHERE id = $1 FOR UPDATE", kim_id)
}

fn lock_row(conn: &mut DbConnection, sql: &'static str, id: i64) -> Result<(), ApiError> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query(sql).bind::<BigInt, _>(id).execute(pg)?;
    }
    Ok(())
}

/// A stable 64-bit key for an advisory lock name.
pub(crate) fn advisory_key(name: &str) -> i64 {
    i64::from_be_bytes(crate::crypto::short_digest(name).to_be_bytes())
}

impl Db {
    /// Runs `work` as one unit of work acting for `actor`: one write transaction that
    /// commits when `work` returns `Ok`. `work` may run more than once when the
    /// transaction loses a serialization or deadlock race, so it must not have effects
    /// outside the transaction.
    pub async fn unit_of_work<T, F>(
        &self,
        actor: Actor,
        origin: RequestOrigin,
        mut work: F,
    ) -> Result<T, ApiError>
    where
        F: FnMut(&mut UnitOfWork<'_>) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let emitted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let emitting = std::sync::Arc::clone(&emitted);
        let result = self
            .write_attempts(move |conn| {
                let mut uow = UnitOfWork {
                    conn,
                    actor: &actor,
                    origin: &origin,
                    emitted: false,
                };
                let result = work(&mut uow);
                if uow.emitted {
                    emitting.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                result
            })
            .await;
        if result.is_ok() && emitted.load(std::sync::atomic::Ordering::Relaxed) {
            self.wake_outbox();
        }
        result
    }

    /// [`Db::write`], tried again when the transaction lost a race.
    async fn write_attempts<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnMut(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let work = std::sync::Arc::new(std::sync::Mutex::new(work));
        let mut attempt = 1;
        loop {
            let this_try = std::sync::Arc::clone(&work);
            let result = self
                .write(move |conn| {
                    let mut work = this_try
                        .lock()
                        .map_err(|_| ApiError::internal("a unit of work panicked before"))?;
                    (*work)(conn)
                })
                .await;
            match result {
                Err(error) if error.is_transient_conflict() && attempt < ATTEMPTS => {
                    tracing::info!(attempt, "transaction lost a race; running it again");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}
