//! The live stream (SPEC §11): `GET /api/v1/notifications/stream` sends each new
//! notification of the caller as a Server-Sent Event whose `id:` is the notification's
//! id, so `Last-Event-ID` resumes from the inbox with nothing lost or repeated.
//!
//! Every instance serves every account: the inbox is the source, not this process. One
//! [`Hub`] per instance looks up the newest notification id every [`LOOK_EVERY`] (one
//! indexed read, whatever the number of connections) and wakes the connections when it
//! moves; each then reads its own new rows, at most [`BATCH`] at a time, so a
//! connection holds a bounded amount whatever arrives. A comment line goes every
//! [`HEARTBEAT`] so that proxies keep an idle stream open, and the token is checked
//! again every `AUTH_RECHECK_SECS`: a disabled, changed or signed-out account's stream
//! ends, as does one whose token expires.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use actix_web::web::Bytes;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use super::Notification;
use super::model::{self, NotificationType};
use super::preferences::off_stream;
use crate::auth::Credential;
use crate::db::Db;
use crate::error::ApiError;
use crate::i18n::Lang;

/// How often each instance looks for new notifications: the stream's added latency.
pub const LOOK_EVERY: Duration = Duration::from_millis(200);
/// The longest silence on a stream.
pub const HEARTBEAT: Duration = Duration::from_secs(20);
/// Notifications read and held by one connection at a time.
const BATCH: i64 = 50;
/// What a client waits before reconnecting after the stream ends.
const RECONNECT_MILLIS: u32 = 3000;

/// The newest notification id this instance has seen, for its connections to watch.
#[derive(Clone)]
pub struct Hub {
    newest: watch::Receiver<i64>,
}

impl Hub {
    /// Starts looking for new notifications on the current runtime; the look ends when
    /// the last handle to the hub is gone.
    pub fn start(db: Db) -> Hub {
        let (sender, newest) = watch::channel(0);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(LOOK_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            while !sender.is_closed() {
                ticks.tick().await;
                match db.read(model::newest_id).await {
                    Ok(id) => {
                        sender.send_if_modified(|seen| std::mem::replace(seen, id) != id);
                    }
                    Err(error) => tracing::debug!(%error, "new notifications not looked up"),
                }
            }
        });
        Hub { newest }
    }
}

/// One caller's stream.
pub struct Connection {
    db: Db,
    user: i64,
    lang: Lang,
    /// The last notification sent (or the newest one when the stream began).
    after: i64,
    newest: watch::Receiver<i64>,
    credential: Credential,
    next_check: Instant,
    pending: VecDeque<Bytes>,
    /// When the stream last carried anything, for the heartbeat.
    last_sent: Instant,
    /// A read filled a whole batch: more may wait without the newest id moving.
    more: bool,
    /// The types the account does not take on the stream (read again with the token).
    off_stream: HashSet<NotificationType>,
}

impl Connection {
    /// A stream for `user` from `resume_after` (the `Last-Event-ID`), or from now.
    pub async fn open(
        db: Db,
        hub: &Hub,
        credential: Credential,
        user: i64,
        lang: Lang,
        resume_after: Option<i64>,
    ) -> Result<Connection, ApiError> {
        let after = match resume_after {
            Some(id) => id,
            None => db.read(move |conn| model::newest_id_of(conn, user)).await?,
        };
        let off_stream = db.read(move |conn| off_stream(conn, user)).await?;
        let retry = format!("retry: {RECONNECT_MILLIS}\n\n");
        Ok(Connection {
            db,
            user,
            lang,
            after,
            newest: hub.newest.clone(),
            next_check: Instant::now() + credential.recheck(),
            credential,
            pending: VecDeque::from([Bytes::from(retry)]),
            last_sent: Instant::now(),
            // What was missed since `Last-Event-ID` is read at once.
            more: resume_after.is_some(),
            off_stream,
        })
    }

    /// The next piece of the stream; `None` ends it.
    pub async fn next(&mut self) -> Option<Result<Bytes, ApiError>> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                self.last_sent = Instant::now();
                return Some(Ok(chunk));
            }
            if self.more {
                if let Err(error) = self.read_new().await {
                    return Some(Err(error));
                }
                continue;
            }
            tokio::select! {
                changed = self.newest.changed() => {
                    changed.ok()?;
                    self.more = true;
                }
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
            }
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
            if self.off_stream.contains(&row.kind) {
                continue;
            }
            let id = row.id;
            let data = serde_json::to_string(&Notification::shown(row, self.lang))
                .map_err(ApiError::internal)?;
            self.pending.push_back(Bytes::from(format!(
                "id: {id}\nevent: notification\ndata: {data}\n\n"
            )));
        }
        Ok(())
    }
}
