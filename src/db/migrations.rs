//! Embedded migrations, one folder per backend (`migrations/postgres`, `migrations/sqlite`).

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConnection;

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// Applies pending migrations; returns the versions applied.
pub fn run_pending_migrations(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    let applied = match conn {
        DbConnection::Postgres(pg) => pg.run_pending_migrations(POSTGRES)?,
        DbConnection::Sqlite(sqlite) => sqlite.run_pending_migrations(SQLITE)?,
    };
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Reverts every applied migration; returns the versions reverted.
pub fn revert_all_migrations(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    let reverted = match conn {
        DbConnection::Postgres(pg) => pg.revert_all_migrations(POSTGRES)?,
        DbConnection::Sqlite(sqlite) => sqlite.revert_all_migrations(SQLITE)?,
    };
    Ok(reverted.iter().map(ToString::to_string).collect())
}

/// The newest migration this binary carries for `backend`: the schema version its
/// databases have once migrated.
pub fn latest_version(backend: super::BackendKind) -> String {
    use diesel::migration::MigrationSource;
    let versions: Vec<String> = match backend {
        super::BackendKind::Postgres => MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES)
            .map(|all| all.iter().map(|m| m.name().version().to_string()).collect())
            .unwrap_or_default(),
        super::BackendKind::Sqlite => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE)
                .map(|all| all.iter().map(|m| m.name().version().to_string()).collect())
                .unwrap_or_default()
        }
    };
    versions.into_iter().max().unwrap_or_default()
}
