//! Database access for both backends through one connection type.
//!
//! Queries are written once against [`DbConnection`], diesel's `MultiConnection` over
//! PostgreSQL and SQLite. [`Db`] owns the pools and runs every piece of blocking
//! database work on its own database threads (`workers`), never on an async worker.

mod bound_sql;
mod migrations;
mod pool;
pub mod schema;
mod workers;

use std::path::PathBuf;
use std::sync::Arc;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

use crate::error::ApiError;

pub use bound_sql::BoundSql;
pub use migrations::{latest_version, revert_all_migrations, run_pending_migrations};
pub use pool::{Pool, PoolSettings};

/// Runs a diesel query on the connection's own backend: `on_backend!(conn, |c|
/// query.first(c))`. Through the `MultiConnection` a statement's SQL text is built
/// again on every execution (about 8 % of the CPU of a cached single-row read, in
/// `perf`); run natively, a statement cached once is not rebuilt. For hot reads only:
/// the query is compiled once per backend.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// The backend type of [`DbConnection`], for boxed query fragments.
pub type Backend = <DbConnection as diesel::Connection>::Backend;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Postgres,
    Sqlite,
}

/// Where a database URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    Postgres(String),
    SqliteFile(PathBuf),
}

impl DatabaseLocation {
    /// `postgres://` and `postgresql://` select PostgreSQL; anything else is an SQLite
    /// file, written as a path or as `sqlite://path`.
    pub fn parse(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return DatabaseLocation::Postgres(url.to_owned());
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        DatabaseLocation::SqliteFile(PathBuf::from(path))
    }

    pub fn kind(&self) -> BackendKind {
        match self {
            DatabaseLocation::Postgres(_) => BackendKind::Postgres,
            DatabaseLocation::SqliteFile(_) => BackendKind::Sqlite,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot create the directory for the SQLite database {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::r2d2::PoolError),
    #[error("cannot start database threads: {0}")]
    Threads(std::io::Error),
    #[error("migrations failed: {0}")]
    Migrations(String),
}

/// Readers and the writer. On PostgreSQL both are the same pool; on SQLite, writes go
/// through a single connection so concurrent writers queue in the pool instead of
/// failing with "database is locked".
#[derive(Clone)]
pub struct Db {
    readers: Gate,
    writer: Gate,
    location: DatabaseLocation,
    /// Rung after a commit that wrote outbox events (see `webhooks::dispatcher`).
    outbox: Arc<tokio::sync::Notify>,
    /// The SQLite file opened (device, inode): a file made again at the same path (a
    /// connection opened after it was deleted creates an empty one) is not ours.
    sqlite_file: Option<(u64, u64)>,
}

fn file_identity(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .ok()
        .map(|meta| (meta.dev(), meta.ino()))
}

/// A pool and the threads that use it: blocking database work never runs on an async
/// worker, and requests beyond the pool's size wait in a queue, not on threads.
#[derive(Clone)]
struct Gate {
    pool: Pool,
    workers: Arc<workers::DbWorkers>,
}

impl Gate {
    fn new(name: &str, pool: Pool, settings: PoolSettings) -> Result<Self, DbSetupError> {
        let workers = workers::DbWorkers::start(
            name,
            pool.clone(),
            settings.max_size,
            settings.connection_timeout,
        )
        .map_err(DbSetupError::Threads)?;
        Ok(Gate {
            pool,
            workers: Arc::new(workers),
        })
    }

    async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.workers.run(work).await
    }
}

impl Db {
    /// Opens the pools and runs pending migrations.
    pub fn connect(database_url: &str, settings: PoolSettings) -> Result<Self, DbSetupError> {
        let location = DatabaseLocation::parse(database_url);
        if let DatabaseLocation::SqliteFile(path) = &location
            && let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| DbSetupError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let db = match &location {
            DatabaseLocation::Postgres(_) => {
                let gate = Gate::new("main", Pool::open(&location, settings, false)?, settings)?;
                Db {
                    readers: gate.clone(),
                    writer: gate,
                    location,
                    outbox: Arc::default(),
                    sqlite_file: None,
                }
            }
            DatabaseLocation::SqliteFile(path) => {
                // The writer opens first: it creates the file and switches it to WAL.
                let writer_settings = PoolSettings {
                    max_size: 1,
                    ..settings
                };
                let writer = Pool::open(&location, writer_settings, false)?;
                let readers = Pool::open(&location, settings, true)?;
                Db {
                    readers: Gate::new("reader", readers, settings)?,
                    writer: Gate::new("writer", writer, writer_settings)?,
                    sqlite_file: file_identity(path),
                    location,
                    outbox: Arc::default(),
                }
            }
        };
        let mut conn = db.writer.pool.get()?;
        run_pending_migrations(&mut conn).map_err(|e| DbSetupError::Migrations(e.to_string()))?;
        Ok(db)
    }

    pub fn backend(&self) -> BackendKind {
        self.location.kind()
    }

    /// Pool gauges for `/metrics`: (pool name, connections, idle connections).
    pub fn pool_states(&self) -> Vec<(&'static str, u32, u32)> {
        let state = |name, pool: &Pool| {
            let s = pool.state();
            (name, s.connections, s.idle_connections)
        };
        match self.backend() {
            BackendKind::Postgres => vec![state("main", &self.readers.pool)],
            BackendKind::Sqlite => vec![
                state("readers", &self.readers.pool),
                state("writer", &self.writer.pool),
            ],
        }
    }

    /// Runs read-only queries on a reader connection, off the async workers.
    pub async fn read<T, F>(&self, query: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.readers.run(query).await
    }

    /// Runs `work` in a write transaction on the writer, off the async workers.
    /// It commits when `work` returns `Ok` and rolls back otherwise.
    pub async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        match self.location {
            // SQLite has one writer: the writes waiting together share one commit.
            DatabaseLocation::SqliteFile(_) => self.writer.workers.run_grouped(work).await,
            DatabaseLocation::Postgres(_) => {
                self.writer
                    .run(move |conn| write_transaction(conn, work))
                    .await
            }
        }
    }

    /// Tells this instance's webhook dispatcher that outbox events were committed.
    pub fn wake_outbox(&self) {
        self.outbox.notify_one();
    }

    /// Returns when [`Db::wake_outbox`] was called since the last return.
    pub async fn outbox_woken(&self) {
        self.outbox.notified().await;
    }

    /// Checks that the database answers; used by readiness.
    pub async fn ping(&self) -> Result<(), ApiError> {
        if let DatabaseLocation::SqliteFile(path) = &self.location {
            // Open connections keep working on a deleted file while every write is lost
            // with it, so a missing file means "not ready".
            if file_identity(path).is_none() || file_identity(path) != self.sqlite_file {
                return Err(ApiError::Unavailable(
                    "the SQLite database file is gone".into(),
                ));
            }
        }
        self.read(|conn| {
            use diesel::r2d2::R2D2Connection;
            conn.ping().map_err(ApiError::from)
        })
        .await
    }

    /// A connection for one-off blocking work outside a request (CLI commands).
    pub fn blocking_connection(&self) -> Result<pool::PooledConnection, ApiError> {
        Ok(self.writer.pool.get()?)
    }
}

/// A stored enum value that does not parse is a corrupt row, never a silent default.
pub fn stored<T>(
    parsed: Option<T>,
    column: &'static str,
    id: impl std::fmt::Display,
) -> Result<T, ApiError> {
    parsed.ok_or_else(|| ApiError::internal(format!("{column} of row {id} holds an unknown value")))
}

/// The current UTC time as stored: microsecond precision, as both backends keep it.
pub fn now() -> chrono::NaiveDateTime {
    crate::clock::now_naive()
}

/// A database timestamp (stored as UTC without zone) as a UTC instant.
pub fn utc(naive: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    naive.and_utc()
}

/// Opens a write transaction: SQLite's takes the write lock up front.
fn begin_write(conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
    match conn {
        DbConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
        }
        DbConnection::Postgres(_) => DbConnection::begin_transaction(conn),
    }
}

/// Runs `work` in a transaction that takes SQLite's write lock up front (`BEGIN
/// IMMEDIATE`), so a writer waits for the busy timeout instead of failing when it
/// upgrades a read lock. PostgreSQL uses an ordinary transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    begin_write(conn)?;
    match work(conn) {
        Ok(value) => {
            DbConnection::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            // The work's own error is the answer; a failed rollback (the connection is
            // then dropped by the pool as broken) is only logged beside it.
            if let Err(rollback_error) = DbConnection::rollback_transaction(conn) {
                tracing::error!(%rollback_error, "rollback failed after a refused write");
            }
            Err(error)
        }
    }
}
