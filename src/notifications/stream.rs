//! The live stream (SPEC §11): `GET /api/v1/notifications/stream` sends each new
//! notification of the caller as a Server-Sent Event whose `id:` is the notification's
//! id, so `Last-Event-ID` resumes from the inbox with nothing lost or repeated.
//!
//! Every instance serves every account: the inbox is the source, not this process. One
//! [`Hub`] per instance reads what was added to the inbox every [`LOOK_EVERY`] while any
//! stream is open there: one read for all its streams, whatever their number, handed to
//! each as a shared [`Batch`] from which it takes its account's rows. A stream that
//! missed a batch (it lagged, or opened while the hub was idle) catches up from the
//! inbox itself, [`BATCH`] rows at a time, so it holds a bounded amount. A comment line
//! goes every [`HEARTBEAT`] so that proxies keep an idle stream open, and the token is
//! checked again every `AUTH_RECHECK_SECS`: a disabled, changed or signed-out account's
//! stream ends, as does one whose token expires. When the instance stops, each stream
//! ends with a `retry:` hint, spread over a few seconds so that its clients do not all
//! reconnect to the other instances at once.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use actix_web::web::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::broadcast;
use tokio::time::{Instant, sleep_until};

use super::Notification;
use super::model::{self, NotificationRow, NotificationType};
use super::preferences::off_stream;
use crate::auth::Credential;
use crate::db::Db;
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::shutdown::Shutdown;

/// How often each instance looks for new notifications: the stream's added latency.
pub const LOOK_EVERY: Duration = Duration::from_millis(100);
/// The longest silence on a stream.
pub const HEARTBEAT: Duration = Duration::from_secs(20);
/// Notifications read and held by one connection at a time.
const BATCH: i64 = 50;
/// What a client waits before reconnecting after the stream ends.
const RECONNECT_MILLIS: u32 = 3000;
/// Streams ended by a stop ask their clients to come back after 1 s plus up to this.
const STOP_SPREAD_MILLIS: u128 = 4000;

/// Rows the hub reads at once.
const HUB_BATCH: i64 = 500;
/// Batches kept for streams that have not taken them yet; one further behind lags and
/// catches up from the inbox.
const BACKLOG: usize = 16;

/// What the inbox gained: every row with an id above `from`, up to `to`.
#[derive(Debug)]
pub struct Batch {
    from: i64,
    to: i64,
    rows: Vec<NotificationRow>,
}

/// This instance's reader of new notifications, for its streams to take from.
#[derive(Clone)]
pub struct Hub {
    shutdown: Shutdown,
    batches: Arc<broadcast::Sender<Arc<Batch>>>,
    /// The id up to which batches were sent; `-1` while the hub is idle.
    seen: Arc<AtomicI64>,
}

impl Hub {
    /// Starts reading on the current runtime; it ends when the last handle to the hub
    /// is gone.
    pub fn start(db: Db, shutdown: Shutdown) -> Hub {
        let (sender, _) = broadcast::channel(BACKLOG);
        let hub = Hub {
            shutdown,
            batches: Arc::new(sender),
            seen: Arc::new(AtomicI64::new(-1)),
        };
        let batches = Arc::downgrade(&hub.batches);
        let seen = Arc::clone(&hub.seen);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(LOOK_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                ticks.tick().await;
                let Some(sender) = batches.upgrade() else {
                    return;
                };
                // No stream open here: nothing to read, and where the inbox stands is
                // read again when one opens.
                if sender.receiver_count() == 0 {
                    seen.store(-1, Ordering::Release);
                    continue;
                }
                read_new(&db, &sender, &seen).await;
            }
        });
        hub
    }
}

/// Sends what the inbox gained since the last batch, in batches of [`HUB_BATCH`].
async fn read_new(db: &Db, sender: &broadcast::Sender<Arc<Batch>>, seen: &AtomicI64) {
    let mut from = seen.load(Ordering::Acquire);
    if from < 0 {
        match db.read(model::newest_id).await {
            Ok(newest) => seen.store(newest, Ordering::Release),
            Err(error) => tracing::debug!(%error, "the inbox was not read"),
        }
        return;
    }
    loop {
        let rows = match db
            .read(move |conn| model::all_since(conn, from, HUB_BATCH))
            .await
        {
            Ok(rows) => rows,
            Err(error) => {
                tracing::debug!(%error, "the inbox was not read");
                return;
            }
        };
        let Some(last) = rows.last().map(|row| row.id) else {
            return;
        };
        let full = rows.len() as i64 == HUB_BATCH;
        // A closed channel only means the streams just ended.
        let _ = sender.send(Arc::new(Batch {
            from,
            to: last,
            rows,
        }));
        seen.store(last, Ordering::Release);
        if !full {
            return;
        }
        from = last;
    }
}

/// One caller's stream.
pub struct Connection {
    db: Db,
    user: i64,
    lang: Lang,
    /// The last notification sent (or the newest one when the stream began).
    after: i64,
    batches: broadcast::Receiver<Arc<Batch>>,
    /// The id up to which every row was looked at: the next batch must start here, or
    /// the stream catches up from the inbox.
    covered: i64,
    credential: Credential,
    next_check: Instant,
    pending: VecDeque<Bytes>,
    /// When the stream last carried anything, for the heartbeat.
    last_sent: Instant,
    /// A read filled a whole batch: more may wait without the newest id moving.
    more: bool,
    /// The types the account does not take on the stream (read again with the token).
    off_stream: HashSet<NotificationType>,
    shutdown: Shutdown,
    /// The instance is stopping: the stream ends once `pending` is sent.
    ending: bool,
}

impl Connection {
    /// A stream for `user` from `resume_after` (the `Last-Event-ID`), or from now.
    pub async fn open(
        db: Db,
        hub: &Hub,
        credential: Credential,
        user: i64,
        stated: Option<Lang>,
        resume_after: Option<i64>,
    ) -> Result<Connection, ApiError> {
        // Subscribed first: a batch sent from here on is received, and one sent before
        // ends at or below `covered`, which the read below accounts for.
        let batches = hub.batches.subscribe();
        let seen = hub.seen.load(Ordering::Acquire);
        // One read for all a stream needs to start: a burst of connections costs the
        // database as few jobs as it can.
        let (newest, after, off_stream, lang) = db
            .read(move |conn| {
                let newest = (seen < 0).then(|| model::newest_id(conn)).transpose()?;
                let after = match resume_after {
                    Some(id) => id,
                    None => model::newest_id_of(conn, user)?,
                };
                let lang = super::language(conn, stated, user)?;
                Ok((newest, after, off_stream(conn, user)?, lang))
            })
            .await?;
        let covered = match newest {
            None => seen,
            // The hub was idle: it starts from where this stream read the inbox (if it
            // read its own meanwhile, the first batch shows a gap, and this stream
            // catches up from the inbox).
            Some(newest) => {
                let _ = hub
                    .seen
                    .compare_exchange(-1, newest, Ordering::AcqRel, Ordering::Acquire);
                newest
            }
        };
        let retry = format!("retry: {RECONNECT_MILLIS}\n\n");
        Ok(Connection {
            db,
            user,
            lang,
            after,
            batches,
            covered,
            next_check: Instant::now() + credential.recheck(),
            credential,
            pending: VecDeque::from([Bytes::from(retry)]),
            last_sent: Instant::now(),
            // What was missed since `Last-Event-ID` is read at once.
            more: resume_after.is_some(),
            off_stream,
            shutdown: hub.shutdown.clone(),
            ending: false,
        })
    }

    /// The next piece of the stream; `None` ends it.
    pub async fn next(&mut self) -> Option<Result<Bytes, ApiError>> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                self.last_sent = Instant::now();
                return Some(Ok(chunk));
            }
            if self.ending {
                return None;
            }
            if self.more {
                if let Err(error) = self.read_new().await {
                    return Some(Err(error));
                }
                continue;
            }
            tokio::select! {
                batch = self.batches.recv() => match batch {
                    Ok(batch) => self.take(&batch),
                    // Behind the backlog: what it missed is in the inbox.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.covered = -1;
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                () = sleep_until(self.next_check) => {
                    // A database that does not answer ends nothing; a "no" does.
                    if let Ok(false) = self.credential.still_current().await {
                        return None;
                    }
                    self.next_check = Instant::now() + self.credential.recheck();
                    let user = self.user;
                    if let Ok(off) = self.db.read(move |conn| off_stream(conn, user)).await {
                        self.off_stream = off;
                    }
                }
                () = sleep_until(self.last_sent + HEARTBEAT) => {
                    self.pending.push_back(Bytes::from_static(b": keep-alive\n\n"));
                }
                () = self.shutdown.begun() => {
                    let spread = uuid::Uuid::new_v4().as_u128() % STOP_SPREAD_MILLIS;
                    let retry = format!("retry: {}\n\n", 1000 + spread);
                    self.pending.push_back(Bytes::from(retry));
                    self.ending = true;
                }
            }
        }
    }

    /// Takes the account's rows of `batch`; after a gap, reads them from the inbox
    /// instead (the batch's rows are committed, so the inbox has them).
    fn take(&mut self, batch: &Batch) {
        if batch.from != self.covered {
            self.covered = batch.to;
            self.more = true;
            return;
        }
        self.covered = batch.to;
        let user = self.user;
        for row in batch.rows.iter().filter(|row| row.user_id == user) {
            if row.id > self.after {
                self.after = row.id;
                self.push(row.clone());
            }
        }
    }

    fn push(&mut self, row: NotificationRow) {
        if self.off_stream.contains(&row.kind) {
            return;
        }
        let id = row.id;
        // A notification always serializes; were it not to, it is left out, not the
        // stream ended.
        if let Ok(data) = serde_json::to_string(&Notification::shown(row, self.lang)) {
            self.pending.push_back(Bytes::from(format!(
                "id: {id}\nevent: notification\ndata: {data}\n\n"
            )));
        }
    }

    async fn read_new(&mut self) -> Result<(), ApiError> {
        let (user, after) = (self.user, self.after);
        let rows = self
            .db
            .read(move |conn| model::since(conn, user, after, BATCH))
            .await?;
        self.more = rows.len() as i64 == BATCH;
        for row in rows {
            self.after = row.id;
            self.push(row);
        }
        Ok(())
    }
}
