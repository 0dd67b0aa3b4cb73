//! `kim-api backup --to DIR` and `kim-api restore --from DIR` for the embedded SQLite
//! database and a filesystem attachment store (PostgreSQL and S3 have tools of their
//! own; the README gives the procedure).
//!
//! A backup is taken while the service runs. The database is copied by `VACUUM INTO`:
//! one read transaction, so the copy is the database as one commit left it, whatever
//! is written meanwhile (as consistent as the online backup API, and compacted). The
//! attachment files are copied after it, so every file a copied record names was
//! written before the copy began; files of later records come along and are harmless.
//! The manifest, written last, lists each file with its size and SHA-256 and the
//! schema version; a directory without one is an unfinished backup.
//!
//! Restoring needs an empty place (no database file, no attachment files), a backup of
//! this binary's schema version and every checksum intact; it refuses anything else
//! before writing.
//!
//! Secrets are not in a backup: `NIK_ENCRYPTION_KEY` and the JWT keys are kept apart.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::{BackendKind, DatabaseLocation};

pub const MANIFEST: &str = "manifest.json";
const FORMAT: u32 = 1;
const DATABASE_FILE: &str = "kim.db";
const ATTACHMENTS: &str = "attachments";
/// Uploads still arriving on one host: not data yet.
const INCOMING: &str = ".incoming";

/// What a backup holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub created_at: String,
    pub backend: String,
    /// The newest migration the copied database had run.
    pub schema_version: String,
    /// `copied`, or where the attachments are kept instead (an `s3://` store).
    pub attachments: String,
    pub files: Vec<BackedUpFile>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BackedUpFile {
    /// Relative to the backup directory, with `/`.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "this command backs up the embedded SQLite database; for PostgreSQL use pg_dump (see the README)"
    )]
    NotSqlite,
    #[error("{0} is not empty: a backup goes into a new directory, a restore into an empty place")]
    NotEmpty(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database: {0}")]
    Database(String),
    #[error("{MANIFEST} cannot be read: {0}")]
    Manifest(String),
    #[error(
        "the backup has schema version {backup}, this binary {binary}: restore it with the kim-api release that made it"
    )]
    SchemaMismatch { backup: String, binary: String },
    #[error("{0} does not match its checksum in {MANIFEST}: the backup is damaged")]
    Checksum(String),
    #[error("{0} is named in {MANIFEST} but is not a file inside the backup")]
    BadPath(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

fn sqlite_file(settings: &Settings) -> Result<PathBuf, BackupError> {
    match DatabaseLocation::parse(&settings.database_url) {
        DatabaseLocation::SqliteFile(path) => Ok(path),
        DatabaseLocation::Postgres(_) => Err(BackupError::NotSqlite),
    }
}

/// Backs up the database and a filesystem store of `settings` into `to` (new, or an
/// empty directory).
pub fn back_up(settings: &Settings, to: &Path) -> Result<Manifest, BackupError> {
    let database = sqlite_file(settings)?;
    if to.exists() && fs::read_dir(to).map_err(io(to))?.next().is_some() {
        return Err(BackupError::NotEmpty(to.to_owned()));
    }
    fs::create_dir_all(to).map_err(io(to))?;
    let copy = to.join(DATABASE_FILE);
    let schema_version = snapshot(&database, &copy)?;
    let mut files = vec![describe(to, &copy)?];
    let attachments = match &settings.storage_url {
        Some(url) => url.clone(),
        None => {
            copy_tree(&settings.storage_dir, &to.join(ATTACHMENTS), to, &mut files)?;
            "copied".to_owned()
        }
    };
    let manifest = Manifest {
        format: FORMAT,
        created_at: crate::clock::now().to_rfc3339(),
        backend: "sqlite".to_owned(),
        schema_version,
        attachments,
        files,
    };
    write_manifest(to, &manifest)?;
    Ok(manifest)
}

/// Copies the database at `database` into `copy` in one read transaction; answers the
/// copy's schema version.
fn snapshot(database: &Path, copy: &Path) -> Result<String, BackupError> {
    let database_error = |error: &dyn std::fmt::Display| BackupError::Database(error.to_string());
    let mut conn = SqliteConnection::establish(&database.to_string_lossy())
        .map_err(|error| database_error(&error))?;
    // Writers hold the lock only briefly; the copy waits for them rather than fail.
    diesel::sql_query("PRAGMA busy_timeout = 10000")
        .execute(&mut conn)
        .map_err(|error| database_error(&error))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(copy.to_string_lossy().into_owned())
        .execute(&mut conn)
        .map_err(|error| database_error(&error))?;
    let mut copied = SqliteConnection::establish(&copy.to_string_lossy())
        .map_err(|error| database_error(&error))?;
    schema_version_of(&mut copied).map_err(|error| database_error(&error))
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    version: Option<String>,
}

fn schema_version_of(conn: &mut SqliteConnection) -> QueryResult<String> {
    let newest: Version =
        diesel::sql_query("SELECT MAX(version) AS version FROM __diesel_schema_migrations")
            .get_result(conn)?;
    Ok(newest.version.unwrap_or_default())
}

/// Copies the files below `from` into `to`, uploads still arriving left out, and
/// describes each relative to `root`.
fn copy_tree(
    from: &Path,
    to: &Path,
    root: &Path,
    files: &mut Vec<BackedUpFile>,
) -> Result<(), BackupError> {
    if !from.exists() {
        return Ok(());
    }
    fs::create_dir_all(to).map_err(io(to))?;
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(from)
        .map_err(io(from))?
        .collect::<Result<_, _>>()
        .map_err(io(from))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().map_err(io(&source))?;
        if kind.is_dir() && entry.file_name() != INCOMING {
            copy_tree(&source, &target, root, files)?;
        } else if kind.is_file() {
            fs::copy(&source, &target).map_err(io(&source))?;
            files.push(describe(root, &target)?);
        }
    }
    Ok(())
}

fn describe(root: &Path, file: &Path) -> Result<BackedUpFile, BackupError> {
    let (bytes, sha256) = checksum(file)?;
    let relative = file.strip_prefix(root).unwrap_or(file);
    Ok(BackedUpFile {
        path: relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        bytes,
        sha256,
    })
}

fn checksum(file: &Path) -> Result<(u64, String), BackupError> {
    let mut reader = fs::File::open(file).map_err(io(file))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let read = reader.read(&mut buffer).map_err(io(file))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        bytes += read as u64;
    }
    Ok((bytes, crate::crypto::hex(&hasher.finalize())))
}

fn write_manifest(to: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let text = serde_json::to_vec_pretty(manifest)
        .map_err(|error| BackupError::Manifest(error.to_string()))?;
    // Renamed into place: a manifest is there whole or not at all.
    let unfinished = to.join(format!("{MANIFEST}.part"));
    let mut file = fs::File::create(&unfinished).map_err(io(&unfinished))?;
    file.write_all(&text).map_err(io(&unfinished))?;
    file.sync_all().map_err(io(&unfinished))?;
    fs::rename(&unfinished, to.join(MANIFEST)).map_err(io(to))
}

/// Checks the backup in `from` whole, then restores it into the empty place
/// `settings` names.
pub fn restore(settings: &Settings, from: &Path) -> Result<Manifest, BackupError> {
    let database = sqlite_file(settings)?;
    let manifest_path = from.join(MANIFEST);
    let text = fs::read(&manifest_path).map_err(io(&manifest_path))?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|error| BackupError::Manifest(error.to_string()))?;
    if manifest.format != FORMAT || manifest.backend != "sqlite" {
        return Err(BackupError::Manifest(format!(
            "format {} of backend {:?} is not one this binary restores",
            manifest.format, manifest.backend
        )));
    }
    let binary = crate::db::latest_version(BackendKind::Sqlite);
    if manifest.schema_version != binary {
        return Err(BackupError::SchemaMismatch {
            backup: manifest.schema_version.clone(),
            binary,
        });
    }
    for file in &manifest.files {
        let path = inside(from, &file.path)?;
        if checksum(&path)? != (file.bytes, file.sha256.clone()) {
            return Err(BackupError::Checksum(file.path.clone()));
        }
    }
    if database.exists() {
        return Err(BackupError::NotEmpty(database));
    }
    if holds_files(&settings.storage_dir)? {
        return Err(BackupError::NotEmpty(settings.storage_dir.clone()));
    }
    for file in &manifest.files {
        let source = inside(from, &file.path)?;
        let target = match file.path.strip_prefix(&format!("{ATTACHMENTS}/")) {
            Some(key) => settings.storage_dir.join(key),
            None if file.path == DATABASE_FILE => database.clone(),
            None => return Err(BackupError::BadPath(file.path.clone())),
        };
        if let Some(dir) = target.parent() {
            fs::create_dir_all(dir).map_err(io(dir))?;
        }
        fs::copy(&source, &target).map_err(io(&source))?;
    }
    Ok(manifest)
}

/// `relative` inside `root`, refusing anything that would leave it.
fn inside(root: &Path, relative: &str) -> Result<PathBuf, BackupError> {
    let safe = !relative.is_empty()
        && relative
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    let path = root.join(relative);
    if safe && path.is_file() {
        Ok(path)
    } else {
        Err(BackupError::BadPath(relative.to_owned()))
    }
}

/// Whether any file lies below `dir`, uploads still arriving left out.
fn holds_files(dir: &Path) -> Result<bool, BackupError> {
    if !dir.exists() {
        return Ok(false);
    }
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let kind = entry.file_type().map_err(io(dir))?;
        if kind.is_file()
            || (kind.is_dir() && entry.file_name() != INCOMING && holds_files(&entry.path())?)
        {
            return Ok(true);
        }
    }
    Ok(false)
}
