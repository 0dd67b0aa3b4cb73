//! r2d2 pools of [`DbConnection`]s that choose the backend from the URL.
//!
//! `AnyConnection::establish` would try each backend in turn and hide PostgreSQL's real
//! error (bad password, closed port) behind "Invalid connection url"; this manager
//! knows the backend up front and reports the real cause.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::{Connection, ConnectionError, PgConnection, SqliteConnection};

use super::{DatabaseLocation, DbConnection};

pub type PooledConnection = r2d2::PooledConnection<Manager>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_size: u32,
    pub connection_timeout: Duration,
}

#[derive(Clone)]
pub struct Pool(r2d2::Pool<Manager>);

/// SQLite's process-wide settings, applied once before its first connection:
/// no global memory statistics (their mutex is taken on every allocation), and no
/// per-connection mutex (a pooled connection is only ever used by one thread at a time).
fn configure_sqlite_once() {
    static CONFIGURED: std::sync::Once = std::sync::Once::new();
    CONFIGURED.call_once(|| {
        // SAFETY: sqlite3_config is only valid before SQLite initialises, which is what
        // this Once guarantees for this process (no connection is opened elsewhere
        // first); called later it returns SQLITE_MISUSE and changes nothing.
        unsafe {
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0);
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD);
        }
    });
}

impl Pool {
    pub fn open(
        location: &DatabaseLocation,
        settings: PoolSettings,
        read_only: bool,
    ) -> Result<Self, r2d2::PoolError> {
        if matches!(location, DatabaseLocation::SqliteFile(_)) {
            configure_sqlite_once();
        }
        let manager = Manager {
            location: location.clone(),
            read_only,
        };
        r2d2::Pool::builder()
            .max_size(settings.max_size)
            .min_idle(Some(1))
            // An SQLite connection is a file handle that cannot drop; checking it before
            // every use would cost a query per request for nothing. A PostgreSQL
            // connection can die with the server or the network, so it is checked.
            .test_on_check_out(matches!(location, DatabaseLocation::Postgres(_)))
            .connection_timeout(settings.connection_timeout)
            .error_handler(Box::new(TracingErrorHandler))
            .build(manager)
            .map(Pool)
    }

    pub fn get(&self) -> Result<PooledConnection, r2d2::PoolError> {
        self.0.get()
    }

    pub fn state(&self) -> r2d2::State {
        self.0.state()
    }
}

pub struct Manager {
    location: DatabaseLocation,
    read_only: bool,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.location {
            DatabaseLocation::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(POSTGRES_SESSION_SETTINGS)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Postgres(conn))
            }
            DatabaseLocation::SqliteFile(path) => {
                let path = path.to_str().ok_or_else(|| {
                    r2d2::Error::ConnectionError(ConnectionError::InvalidConnectionUrl(
                        "the SQLite path is not valid UTF-8".into(),
                    ))
                })?;
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(&sqlite_pragmas(self.read_only))
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// A stuck query, a lock held by a forgotten transaction or a client that went away
/// mid-transaction must not hold a connection (and the rows it locked) for ever: each
/// ends with an error the service answers as `503` with `Retry-After`.
const POSTGRES_SESSION_SETTINGS: &str = "SET statement_timeout = '30s';
     SET lock_timeout = '5s';
     SET idle_in_transaction_session_timeout = '60s';";

/// busy_timeout comes first: the other pragmas may need a lock that another
/// connection holds. `synchronous=FULL` makes an acknowledged commit survive a power
/// cut, as PostgreSQL's default does. The writer's savepoints (group commit) keep their
/// undo pages in a sub-journal; in memory it costs no temporary file writes. Readers
/// keep temporary files on disk: a statistics query sorting a year of reports would
/// otherwise hold hundreds of megabytes.
fn sqlite_pragmas(read_only: bool) -> String {
    let mut pragmas = String::from(
        "PRAGMA busy_timeout = 5000;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    );
    if read_only {
        pragmas.push_str("PRAGMA query_only = ON;");
    } else {
        pragmas.push_str("PRAGMA temp_store = MEMORY;");
    }
    pragmas
}

#[derive(Debug)]
struct TracingErrorHandler;

impl r2d2::HandleError<r2d2::Error> for TracingErrorHandler {
    fn handle_error(&self, error: r2d2::Error) {
        tracing::error!(%error, "database connection failed");
    }
}
