//! Dedicated database threads, one per pooled connection, fed from a queue.
//!
//! Under load a thread takes the next job as soon as it finishes one, so a busy service
//! does not pay a thread wake-up for every query (as a fresh `spawn_blocking` task
//! does); the async workers only await a oneshot answer.
//!
//! Each thread keeps its connection between jobs instead of checking one out of the
//! pool per job: a check-out of a PostgreSQL connection costs a `SELECT 1` round trip.
//! A kept connection is checked only after it sat idle (when a server restart or a
//! firewall may have ended it), and dropped as soon as it reports itself broken.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use diesel::r2d2::R2D2Connection;

use super::pool::PooledConnection;
use super::{DbConnection, Pool};
use crate::error::ApiError;

/// What a grouped job leaves to do once its group's transaction has ended: answer its
/// caller with its own result if the group committed, else with the failure.
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;

enum Job {
    /// Runs on the thread's connection on its own.
    Alone(Box<dyn FnOnce(&mut KeptConnection) + Send>),
    /// Runs in a savepoint of a transaction that the jobs waiting together share
    /// ([`DbWorkers::run_grouped`]).
    /// Given no connection when its group could not start a transaction.
    Grouped(GroupedJob),
}

type GroupedJob = Box<dyn FnOnce(Option<&mut DbConnection>) -> Finish + Send>;

/// Grouped jobs committed together at most; bounds the wait of the first one.
const MAX_GROUP: usize = 32;

/// A kept connection idle longer than this is pinged before its next job.
const IDLE_BEFORE_CHECK: Duration = Duration::from_secs(10);

/// The connection a database thread keeps between jobs.
struct KeptConnection {
    pool: Pool,
    conn: Option<(PooledConnection, Instant)>,
}

impl KeptConnection {
    fn get(&mut self) -> Result<&mut DbConnection, ApiError> {
        let stale = self.conn.as_mut().is_some_and(|(conn, last_used)| {
            last_used.elapsed() > IDLE_BEFORE_CHECK && conn.ping().is_err()
        });
        if stale {
            self.conn = None;
        }
        if self.conn.is_none() {
            self.conn = Some((self.pool.get()?, Instant::now()));
        }
        match self.conn.as_mut() {
            Some((conn, _)) => Ok(conn),
            None => Err(ApiError::internal(
                "no database connection after a check-out",
            )),
        }
    }

    /// After a job: note the use, and let a broken connection go back to the pool
    /// (which discards it) instead of serving the next job.
    fn release_if_broken(&mut self) {
        if let Some((conn, last_used)) = self.conn.as_mut() {
            if conn.is_broken() {
                self.conn = None;
            } else {
                *last_used = Instant::now();
            }
        }
    }
}

pub struct DbWorkers {
    queue: Sender<Job>,
    /// Jobs sent and not yet taken by a thread.
    queued: Arc<AtomicUsize>,
    /// Beyond this many queued jobs a request is refused at once with `503`: a backlog
    /// that cannot be served within the wait only holds memory and sockets.
    queue_limit: usize,
    wait: Duration,
}

/// Queued jobs allowed per database thread before load is shed.
const QUEUED_JOBS_PER_THREAD: usize = 64;

impl DbWorkers {
    /// Starts `threads` threads serving `pool`, each keeping one of its connections.
    /// They end, releasing their connections and the pool, when the last handle is
    /// dropped.
    pub fn start(name: &str, pool: Pool, threads: u32, wait: Duration) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let queued = Arc::new(AtomicUsize::new(0));
        for index in 0..threads {
            let jobs = Arc::clone(&jobs);
            let queued = Arc::clone(&queued);
            let kept = KeptConnection {
                pool: pool.clone(),
                conn: None,
            };
            thread::Builder::new()
                .name(format!("kim-db-{name}-{index}"))
                .spawn(move || serve(&jobs, &queued, kept))?;
        }
        Ok(DbWorkers {
            queue,
            queued,
            queue_limit: threads as usize * QUEUED_JOBS_PER_THREAD,
            wait,
        })
    }

    /// Runs `work` on a database thread with a pooled connection. A job still queued
    /// after the pool's wait is abandoned and answered 503; once started, it is awaited
    /// to the end, so a write is never reported as failed after it committed.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(|start, answer| {
            Job::Alone(Box::new(move |kept: &mut KeptConnection| {
                if !start() {
                    return;
                }
                let result = kept.get().and_then(work);
                kept.release_if_broken();
                let _ = answer.send(result);
            }))
        })
        .await
    }

    /// Runs `work` in a savepoint of a write transaction that it shares with the other
    /// grouped jobs waiting at that moment; it is answered once that transaction has
    /// committed. One commit (one WAL append and fsync on SQLite) then serves a whole
    /// burst of writes, while a lone write waits for no one. `work` failing rolls back
    /// its own savepoint only.
    pub async fn run_grouped<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(|start, answer| {
            Job::Grouped(Box::new(move |conn: Option<&mut DbConnection>| -> Finish {
                if !start() {
                    return Box::new(|_| {});
                }
                let result = match conn {
                    Some(conn) => in_savepoint(conn, work),
                    None => Err(ApiError::Unavailable("the write could not start".into())),
                };
                Box::new(move |failure: Option<&str>| {
                    let answered = match (result, failure) {
                        (Ok(_), Some(failure)) => Err(ApiError::Unavailable(
                            format!("the write was not committed: {failure}").into(),
                        )),
                        (result, _) => result,
                    };
                    let _ = answer.send(answered);
                })
            }))
        })
        .await
    }

    /// Queues the job `make` builds from a start check (false once the caller gave up
    /// waiting) and the answer channel, and awaits the answer.
    async fn submit<T, M>(&self, make: M) -> Result<T, ApiError>
    where
        M: FnOnce(Box<dyn FnOnce() -> bool + Send>, oneshot::Sender<Result<T, ApiError>>) -> Job,
        T: Send + 'static,
    {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.queue_limit {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::Unavailable(
                "too many database requests are waiting".into(),
            ));
        }
        let (answer, mut answered) = oneshot::channel();
        let state = Arc::new(AtomicU8::new(QUEUED));
        let job_state = Arc::clone(&state);
        let start = Box::new(move || {
            job_state
                .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        });
        if self.queue.send(make(start, answer)).is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::internal("the database threads have stopped"));
        }
        let lost = |_| ApiError::internal("a database job ended without an answer");
        match actix_web::rt::time::timeout(self.wait, &mut answered).await {
            Ok(result) => result.map_err(lost)?,
            Err(_) => {
                let abandoned =
                    state.compare_exchange(QUEUED, ABANDONED, Ordering::AcqRel, Ordering::Acquire);
                if abandoned.is_ok() {
                    Err(ApiError::Unavailable(
                        "timed out waiting for a database connection".into(),
                    ))
                } else {
                    answered.await.map_err(lost)?
                }
            }
        }
    }
}

/// Runs `work` in a savepoint of the open transaction: its writes stay if it succeeds
/// and are undone if it fails.
fn in_savepoint<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    use diesel::connection::TransactionManager;
    type Manager = <DbConnection as diesel::Connection>::TransactionManager;
    Manager::begin_transaction(conn)?;
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback_error) = Manager::rollback_transaction(conn) {
                tracing::error!(%rollback_error, "rollback to a savepoint failed");
            }
            Err(error)
        }
    }
}

const QUEUED: u8 = 0;
const STARTED: u8 = 1;
const ABANDONED: u8 = 2;

/// Takes jobs off the queue for good: a job counts as queued until a thread takes it,
/// even when it then waits for the write lock with its group.
fn serve(jobs: &Mutex<Receiver<Job>>, queued: &AtomicUsize, mut kept: KeptConnection) {
    let taken = |job: Result<Job, _>| {
        if job.is_ok() {
            queued.fetch_sub(1, Ordering::AcqRel);
        }
        job
    };
    loop {
        let job = match jobs.lock() {
            Ok(receiver) => taken(receiver.recv().map_err(|_| ())),
            Err(_) => return,
        };
        match job {
            Ok(Job::Alone(job)) => run_alone(&mut kept, job),
            Ok(Job::Grouped(first)) => {
                // The grouped jobs already waiting join the first; a lone job met on
                // the way runs after the group.
                let mut group = vec![first];
                let mut after = None;
                if let Ok(receiver) = jobs.lock() {
                    while group.len() < MAX_GROUP {
                        match taken(receiver.try_recv().map_err(|_| ())) {
                            Ok(Job::Grouped(job)) => group.push(job),
                            Ok(Job::Alone(job)) => {
                                after = Some(job);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                }
                run_group(&mut kept, group);
                if let Some(job) = after {
                    run_alone(&mut kept, job);
                }
            }
            Err(_) => return,
        }
    }
}

fn run_alone(kept: &mut KeptConnection, job: Box<dyn FnOnce(&mut KeptConnection) + Send>) {
    // A panicking job must not take the thread with it, nor leave it a connection in
    // an unknown state.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(kept)));
    if outcome.is_err() {
        kept.conn = None;
    }
}

/// Runs `group` in one write transaction, each job in its own savepoint, commits, and
/// then answers every job: none is told its write succeeded before it is durable.
fn run_group(kept: &mut KeptConnection, group: Vec<GroupedJob>) {
    let conn = match kept.get().and_then(|conn| {
        super::begin_write(conn)?;
        Ok(conn)
    }) {
        Ok(conn) => conn,
        Err(error) => {
            let failure = error.to_string();
            for job in group {
                job(None)(Some(&failure));
            }
            kept.release_if_broken();
            return;
        }
    };
    let mut finishes = Vec::with_capacity(group.len());
    let mut panicked = false;
    for job in group {
        if panicked {
            finishes.push(job(None));
            continue;
        }
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Some(&mut *conn)))) {
            Ok(finish) => finishes.push(finish),
            // The savepoint is left open: the whole group is rolled back below.
            Err(_) => panicked = true,
        }
    }
    use diesel::connection::TransactionManager;
    type Manager = <DbConnection as diesel::Connection>::TransactionManager;
    let failure = if panicked {
        Some("a write in the same commit failed unexpectedly".to_owned())
    } else {
        Manager::commit_transaction(conn)
            .err()
            .map(|error| error.to_string())
    };
    if failure.is_some() {
        // Nothing of the group stays; a connection in an unknown state is let go.
        if Manager::rollback_transaction(conn).is_err() || panicked {
            kept.conn = None;
        }
    }
    kept.release_if_broken();
    for finish in finishes {
        finish(failure.as_deref());
    }
}
