//! Where files live: an object store — the local filesystem under `STORAGE_DIR` by
//! default, any S3-compatible store with `STORAGE_URL=s3://bucket/prefix` (endpoint,
//! region and credentials from the usual `AWS_*` variables; path-style requests, as
//! MinIO, Garage and Ceph want) — so several instances on several hosts share them.
//!
//! An upload arrives as a part file in a local directory (`STORAGE_DIR/.incoming`), is
//! checked and cleaned, and only the cleaned file goes to the store, under a random key,
//! before its row is written. The order is what keeps a failure harmless: a row never
//! names a missing object; an object without a row (the row's transaction failed, or
//! the process died between the two) is removed at once when possible and otherwise by
//! [`Storage::sweep`] once it is older than a grace period.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::header;
use diesel::prelude::*;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::{AttachmentRow, Upload, disposition_of};
use crate::db::schema::attachments;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;

/// Where part files of uploads still arriving are written, under `STORAGE_DIR`.
const INCOMING: &str = ".incoming";
/// Keys swept or settled per database query.
const SWEEP_BATCH: usize = 500;

/// The store of attachment files, and the local directory uploads arrive in.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    incoming: PathBuf,
    /// Where the files are, for messages: a directory or `s3://bucket/prefix`, never a
    /// credential.
    location: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// The store at `url` (`s3://bucket/prefix`) or, without one, the directory `dir`;
    /// `dir` also holds the uploads still arriving.
    pub fn open(dir: &Path, url: Option<&str>) -> Result<Self, String> {
        let incoming = dir.join(INCOMING);
        std::fs::create_dir_all(&incoming).map_err(|error| error.to_string())?;
        let (store, location): (Arc<dyn ObjectStore>, String) = match url {
            None => {
                let local = LocalFileSystem::new_with_prefix(dir).map_err(|e| e.to_string())?;
                (Arc::new(local), dir.display().to_string())
            }
            Some(url) => {
                let parsed = url::Url::parse(url).map_err(|error| error.to_string())?;
                if parsed.scheme() != "s3" || parsed.host_str().is_none_or(str::is_empty) {
                    return Err("STORAGE_URL must be s3://bucket or s3://bucket/prefix".into());
                }
                let s3 = AmazonS3Builder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(|error| error.to_string())?;
                let prefix = parsed.path().trim_matches('/').to_owned();
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix.as_str()))
                };
                (store, url.to_owned())
            }
        };
        Ok(Storage {
            store,
            incoming,
            location,
        })
    }

    /// Where the files are (a directory or an `s3://` URL), for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    pub(super) fn part_path(&self, key: &str) -> PathBuf {
        self.incoming.join(format!("{key}.part"))
    }

    fn object(key: &str) -> ObjectPath {
        ObjectPath::from(key)
    }

    /// Puts a file into the store under `key` (an upload's cleaned file, before its row
    /// is written).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), ApiError> {
        self.store
            .put(&Self::object(key), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(store_error)
    }

    /// After the creating transaction: an object whose row did not commit (a failure,
    /// or a replay that kept the first upload) is removed.
    pub async fn settle(&self, db: &Db, upload: &Upload) -> Result<(), ApiError> {
        let key = upload.storage_key.clone();
        let committed = db
            .read(move |conn| super::find_by_key(conn, &key).map(|row| row.is_some()))
            .await?;
        if !committed {
            self.delete(&upload.storage_key).await?;
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), ApiError> {
        match self.store.delete(&Self::object(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(store_error(error)),
        }
    }

    /// Removes the objects of rows that are gone. One that cannot be removed is logged
    /// and left to the sweep: without its row it is unreachable, so nothing is exposed.
    pub async fn remove(&self, storage_keys: &[String]) {
        for key in storage_keys {
            if let Err(error) = self.delete(key).await {
                tracing::warn!(%error, "a deleted attachment's file stays until the sweep");
            }
        }
    }

    /// Settles what failures and crashes left: part files older than `grace` (uploads
    /// that never finished, on this host) and objects older than `grace` with no row
    /// (on any host: the store is shared). `grace` leaves alone an upload another
    /// instance is still finishing. Returns (part files, objects) removed.
    pub async fn sweep(&self, db: &Db, grace: Duration) -> Result<(usize, usize), ApiError> {
        let parts = self.sweep_parts(grace).await?;
        let cutoff =
            chrono::Utc::now() - chrono::Duration::from_std(grace).map_err(ApiError::internal)?;
        let candidates: Vec<String> = self
            .store
            .list(None)
            .try_filter_map(|meta| async move {
                let key = meta.location.to_string();
                Ok((meta.last_modified < cutoff && is_storage_key(&key)).then_some(key))
            })
            .try_collect()
            .await
            .map_err(store_error)?;
        let mut removed = 0;
        for batch in candidates.chunks(SWEEP_BATCH) {
            let batch = batch.to_vec();
            let looking = batch.clone();
            let known = db.read(move |conn| keys_with_rows(conn, &looking)).await?;
            for key in batch.iter().filter(|key| !known.contains(*key)) {
                self.delete(key).await?;
                removed += 1;
            }
        }
        Ok((parts, removed))
    }

    async fn sweep_parts(&self, grace: Duration) -> Result<usize, ApiError> {
        let incoming = self.incoming.clone();
        actix_web::web::block(move || {
            let mut removed = 0;
            for entry in std::fs::read_dir(&incoming)?.flatten() {
                let old_enough = entry
                    .metadata()
                    .and_then(|meta| meta.modified())
                    .ok()
                    .and_then(|modified| modified.elapsed().ok())
                    .is_some_and(|age| age >= grace);
                if old_enough {
                    std::fs::remove_file(entry.path())?;
                    removed += 1;
                }
            }
            Ok::<_, std::io::Error>(removed)
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
    }

    /// The keys of every stored file, for checks and tests.
    pub async fn keys(&self) -> Result<Vec<String>, ApiError> {
        self.store
            .list(None)
            .try_filter_map(|meta| async move {
                let key = meta.location.to_string();
                Ok(is_storage_key(&key).then_some(key))
            })
            .try_collect()
            .await
            .map_err(store_error)
    }

    /// The part files of uploads still arriving on this host.
    pub fn incoming(&self) -> &Path {
        &self.incoming
    }

    /// Whether the store answers: a missing probe object is an answer.
    pub async fn check(&self) -> Result<(), ApiError> {
        match self.store.head(&Self::object(".ready")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(ApiError::Unavailable(
                format!("the attachment store does not answer: {error}").into(),
            )),
        }
    }

    /// Streams a stored file as a download: its stored type, never sniffed by the
    /// browser, never shown inline.
    pub async fn download(&self, row: &AttachmentRow) -> Result<HttpResponse, ApiError> {
        let found = self
            .store
            .get(&Self::object(&row.storage_key))
            .await
            .map_err(store_error)?;
        let size = u64::try_from(row.size_bytes).map_err(|_| ApiError::internal("size"))?;
        let stream = found.into_stream().map(|chunk| {
            chunk.map_err(|error| actix_web::error::ErrorInternalServerError(error.to_string()))
        });
        Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, row.content_type.clone()))
            .insert_header((header::CONTENT_DISPOSITION, disposition_of(&row.file_name)))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            // Opened directly anyway, the file runs no script and reaches no origin.
            .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .body(actix_web::body::SizedStream::new(size, stream)))
    }
}

/// Keys are 32 lowercase hex digits ([`crate::crypto::random_hex`]); anything else in
/// the store is not ours to sweep.
fn is_storage_key(key: &str) -> bool {
    key.len() == 32
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn keys_with_rows(
    conn: &mut DbConnection,
    keys: &[String],
) -> Result<std::collections::HashSet<String>, ApiError> {
    Ok(attachments::table
        .filter(attachments::storage_key.eq_any(keys))
        .select(attachments::storage_key)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

fn store_error(error: object_store::Error) -> ApiError {
    ApiError::internal(format!("attachment store: {error}"))
}
