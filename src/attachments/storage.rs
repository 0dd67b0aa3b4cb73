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

use actix_web::http::StatusCode;
use actix_web::http::header::{self, EntityTag, Header, IfNoneMatch};
use actix_web::{HttpRequest, HttpResponse};
use diesel::prelude::*;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};

use super::resumable::{self, PIECES_PREFIX};
use super::variants::{self, Variant, VariantRow};
use super::{AttachmentRow, FromPieces, Upload, disposition_of};
use crate::db::schema::attachments;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;

/// Where part files of uploads still arriving are written, under `STORAGE_DIR`.
const INCOMING: &str = ".incoming";
/// Uploads cleaned at once per instance (see [`Storage::cleaning`]).
const CLEANING_AT_ONCE: usize = 2;
/// Keys swept or settled per database query.
const SWEEP_BATCH: usize = 500;
const SWEEP_BATCH_ROWS: i64 = SWEEP_BATCH as i64;

/// One stored file as a download answers it: an attachment's original or a variant.
#[derive(Debug)]
pub struct Served {
    key: String,
    content_type: String,
    sha256: String,
    size_bytes: i64,
    file_name: String,
}

impl Served {
    pub fn original(row: AttachmentRow) -> Self {
        Served {
            key: row.storage_key,
            content_type: row.content_type,
            sha256: row.sha256,
            size_bytes: row.size_bytes,
            file_name: row.file_name,
        }
    }

    /// `foto.png`'s thumb made as JPEG is named `foto-thumb.jpg`.
    pub fn variant(row: AttachmentRow, made: VariantRow, variant: Variant) -> Self {
        let stem = row
            .file_name
            .rsplit_once('.')
            .map_or(row.file_name.as_str(), |(stem, _)| stem);
        let extension = if made.content_type == "image/png" {
            "png"
        } else {
            "jpg"
        };
        Served {
            key: variants::key_of(&row.storage_key, variant),
            file_name: format!("{stem}-{}.{extension}", variant.as_str()),
            content_type: made.content_type,
            sha256: made.sha256,
            size_bytes: made.size_bytes,
        }
    }
}

/// The store of attachment files, and the local directory uploads arrive in.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    incoming: PathBuf,
    /// Images decoded at once: a 12-megapixel photo takes ~100 MiB while it is cleaned,
    /// so simultaneous uploads wait for a turn rather than multiply that.
    cleaning: Arc<tokio::sync::Semaphore>,
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
            cleaning: Arc::new(tokio::sync::Semaphore::new(CLEANING_AT_ONCE)),
            location,
        })
    }

    /// Waits for a turn to clean an upload; the turn ends when the permit drops.
    pub(super) async fn cleaning_turn(
        &self,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.cleaning)
            .acquire_owned()
            .await
            .map_err(ApiError::internal)
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
    /// or a replay that kept the first upload) is removed; the pieces of a resumable
    /// upload whose attachment committed go too (a failed one stays, to be retried).
    pub async fn settle(&self, db: &Db, upload: &Upload) -> Result<(), ApiError> {
        let key = upload.storage_key.clone();
        let committed = db
            .read(move |conn| super::find_by_key(conn, &key).map(|row| row.is_some()))
            .await?;
        if !committed {
            self.delete_with_variants(&upload.storage_key).await?;
        } else if let Some(from) = &upload.from_pieces {
            self.remove_pieces(&from.piece_keys).await;
        }
        Ok(())
    }

    /// Puts `owner`'s complete resumable upload `upload_id` together as a received
    /// file, checked and cleaned as one sent whole; `None` when there is no such upload
    /// (never one, another's, expired, or already attached).
    pub async fn take_pieces(
        &self,
        db: &Db,
        upload_id: String,
        owner: String,
    ) -> Result<Option<Upload>, ApiError> {
        let (id, who) = (upload_id.clone(), owner.clone());
        let found = db
            .read(move |conn| {
                let Some(upload) = resumable::find(conn, &id, &who, crate::db::now())? else {
                    return Ok(None);
                };
                let pieces = resumable::pieces(conn, &id)?;
                Ok(Some((upload, pieces)))
            })
            .await?;
        let Some((upload, pieces)) = found else {
            return Ok(None);
        };
        if !upload.is_complete() {
            return Err(super::upload_incomplete(upload.received, upload.length));
        }
        let mut expected = 0;
        for piece in &pieces {
            if piece.start_offset != expected {
                return Err(ApiError::internal(
                    "a resumable upload's pieces do not join",
                ));
            }
            expected += piece.size_bytes;
        }
        if expected != upload.length {
            return Err(ApiError::internal(
                "a resumable upload's pieces do not add up",
            ));
        }
        let piece_keys: Vec<String> = pieces.into_iter().map(|piece| piece.storage_key).collect();
        let store = Arc::clone(&self.store);
        let bytes = futures_util::stream::iter(piece_keys.clone())
            .then(move |key| {
                let store = Arc::clone(&store);
                async move {
                    store
                        .get(&Self::object(&key))
                        .await
                        .map(object_store::GetResult::into_stream)
                }
            })
            .try_flatten()
            .map_err(store_error);
        let written = self
            .write_part(Box::pin(bytes), upload.file_name.clone())
            .await?;
        let mut kept = self.clean(written).await?;
        kept.from_pieces = Some(FromPieces {
            upload_id,
            owner,
            piece_keys,
        });
        Ok(Some(kept))
    }

    /// Removes pieces of resumable uploads whose rows are gone (or never committed);
    /// one that cannot be removed is left to the sweep.
    pub async fn remove_pieces(&self, keys: &[String]) {
        for key in keys {
            if let Err(error) = self.delete(key).await {
                tracing::warn!(%error, "a piece of a resumable upload stays until the sweep");
            }
        }
    }

    /// Deletes a file and whatever variants it has.
    async fn delete_with_variants(&self, storage_key: &str) -> Result<(), ApiError> {
        for variant in Variant::ALL {
            self.delete(&variants::key_of(storage_key, *variant))
                .await?;
        }
        self.delete(storage_key).await
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
            if let Err(error) = self.delete_with_variants(key).await {
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
        // The system's time, not the service clock's: it is compared with modification
        // times the store stamps.
        let cutoff =
            chrono::Utc::now() - chrono::Duration::from_std(grace).map_err(ApiError::internal)?;
        let candidates = self.ours(Some(cutoff)).await?;
        let mut removed = self.sweep_pieces(db, cutoff).await?;
        for batch in candidates.chunks(SWEEP_BATCH) {
            let batch = batch.to_vec();
            let looking: Vec<String> = batch
                .iter()
                .filter_map(|key| owning_key(key).map(str::to_owned))
                .collect();
            let known = db.read(move |conn| keys_with_rows(conn, &looking)).await?;
            let orphans = batch
                .iter()
                .filter(|key| owning_key(key).is_some_and(|owner| !known.contains(owner)));
            for key in orphans {
                self.delete(key).await?;
                removed += 1;
            }
        }
        Ok((parts, removed))
    }

    /// Removes expired resumable uploads, and pieces older than `cutoff` no upload
    /// records (their row did not commit). Returns the pieces removed.
    async fn sweep_pieces(
        &self,
        db: &Db,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, ApiError> {
        let mut removed = 0;
        // Found by reading first: the sweep takes the write lock only when there is
        // something to delete.
        loop {
            let expired = db
                .read(|conn| resumable::expired(conn, crate::db::now(), SWEEP_BATCH_ROWS))
                .await?;
            if expired.is_empty() {
                break;
            }
            let full_batch = expired.len() == SWEEP_BATCH;
            let pieces = db
                .write(move |conn| resumable::delete_expired(conn, &expired, crate::db::now()))
                .await?;
            for key in &pieces {
                self.delete(key).await?;
                removed += 1;
            }
            if !full_batch {
                break;
            }
        }
        let prefix = ObjectPath::from(PIECES_PREFIX);
        let stored: Vec<String> = self
            .store
            .list(Some(&prefix))
            .try_filter_map(|meta| async move {
                Ok((meta.last_modified < cutoff).then(|| meta.location.to_string()))
            })
            .try_collect()
            .await
            .map_err(store_error)?;
        for batch in stored.chunks(SWEEP_BATCH) {
            let looking = batch.to_vec();
            let known = db
                .read(move |conn| resumable::recorded(conn, &looking))
                .await?;
            for key in batch.iter().filter(|key| !known.contains(*key)) {
                self.delete(key).await?;
                removed += 1;
            }
        }
        Ok(removed)
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
        self.ours(None).await
    }

    /// The keys of our objects (attachments and their variants), those written before
    /// `before` only if given.
    async fn ours(
        &self,
        before: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<String>, ApiError> {
        self.store
            .list(None)
            .try_filter_map(|meta| async move {
                let key = meta.location.to_string();
                let old_enough = before.is_none_or(|cutoff| meta.last_modified < cutoff);
                Ok((old_enough && owning_key(&key).is_some()).then_some(key))
            })
            .try_collect()
            .await
            .map_err(store_error)
    }

    /// Every object in the store with when it was written, probes and uploads still
    /// arriving on this host left out.
    pub(super) async fn listing(
        &self,
    ) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, ApiError> {
        self.store
            .list(None)
            .try_filter_map(|meta| async move {
                let key = meta.location.to_string();
                let ours = !key.starts_with(INCOMING) && !key.starts_with(".ready");
                Ok(ours.then_some((key, meta.last_modified)))
            })
            .try_collect()
            .await
            .map_err(store_error)
    }

    /// The keys of the stored pieces of resumable uploads, for checks and tests.
    pub async fn piece_keys(&self) -> Result<Vec<String>, ApiError> {
        self.store
            .list(Some(&ObjectPath::from(PIECES_PREFIX)))
            .map_ok(|meta| meta.location.to_string())
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
    /// browser, never shown inline. Its hash is its `ETag` (a file never changes), so a
    /// client revalidates with `If-None-Match` (`304`) and resumes a cut download with
    /// `Range` (`206`; one range, else the whole file; `If-Range` with another tag gets
    /// the whole file).
    pub async fn download(
        &self,
        row: &Served,
        req: &HttpRequest,
    ) -> Result<HttpResponse, ApiError> {
        let size = u64::try_from(row.size_bytes).map_err(|_| ApiError::internal("size"))?;
        let tag = EntityTag::new_strong(row.sha256.clone());
        let unchanged = none_match(req, &tag);
        let mut answer = if unchanged {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        answer
            .insert_header((header::ETAG, tag.clone()))
            .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            // Opened directly anyway, the file runs no script and reaches no origin.
            .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"));
        if unchanged {
            return Ok(answer.finish());
        }
        answer
            .insert_header((header::CONTENT_TYPE, row.content_type.clone()))
            .insert_header((header::CONTENT_DISPOSITION, disposition_of(&row.file_name)))
            .insert_header((header::ACCEPT_RANGES, "bytes"));
        let range = requested_range(req, &tag, size)?;
        let options = GetOptions::new().with_range(
            range
                .as_ref()
                .map(|range| GetRange::Bounded(*range.start()..range.end() + 1)),
        );
        let found = self
            .store
            .get_opts(&Self::object(&row.key), options)
            .await
            .map_err(store_error)?;
        let length = match &range {
            Some(range) => {
                answer.status(StatusCode::PARTIAL_CONTENT);
                answer.insert_header((
                    header::CONTENT_RANGE,
                    format!("bytes {}-{}/{size}", range.start(), range.end()),
                ));
                range.end() - range.start() + 1
            }
            None => size,
        };
        Ok(answer.body(actix_web::body::SizedStream::new(
            length,
            body_of(found).await?,
        )))
    }
}

type Body =
    futures_util::stream::BoxStream<'static, Result<actix_web::web::Bytes, actix_web::Error>>;

/// The bytes of `found` as a response body. A local file is read in large chunks on
/// the async runtime: object_store's own file stream reads 8 KiB per blocking task,
/// which made filesystem downloads several times slower than S3 ones.
async fn body_of(found: object_store::GetResult) -> Result<Body, ApiError> {
    const CHUNK: usize = 256 * 1024;
    let range = found.range.clone();
    match found.payload {
        object_store::GetResultPayload::File(file, _) => {
            use tokio::io::{AsyncReadExt, AsyncSeekExt};
            let mut file = tokio::fs::File::from_std(file);
            file.seek(std::io::SeekFrom::Start(range.start))
                .await
                .map_err(ApiError::internal)?;
            let limited = file.take(range.end - range.start);
            Ok(tokio_util::io::ReaderStream::with_capacity(limited, CHUNK)
                .map(|chunk| chunk.map_err(actix_web::error::ErrorInternalServerError))
                .boxed())
        }
        object_store::GetResultPayload::Stream(stream) => Ok(stream
            .map(|chunk| {
                chunk.map_err(|error| actix_web::error::ErrorInternalServerError(error.to_string()))
            })
            .boxed()),
    }
}

/// A file never changes under its URL, so a browser keeps it; `private`: only the
/// caller's own cache, never a shared one, and for a day, so access taken away is not
/// outlived for long.
const CACHE_CONTROL: &str = "private, max-age=86400, immutable";

/// Whether `If-None-Match` names `tag` (weak comparison, RFC 9110 §13.1.2).
fn none_match(req: &HttpRequest, tag: &EntityTag) -> bool {
    match IfNoneMatch::parse(req) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|given| given.weak_eq(tag)),
        Err(_) => false,
    }
}

/// The one byte range asked for, if it is to be honoured: none without `Range`, for
/// several ranges, for a malformed one, or when `If-Range` names another version;
/// `416` when no byte of the file is in it.
fn requested_range(
    req: &HttpRequest,
    tag: &EntityTag,
    size: u64,
) -> Result<Option<std::ops::RangeInclusive<u64>>, ApiError> {
    let Some(asked) = req
        .headers()
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
    else {
        return Ok(None);
    };
    if let Some(if_range) = req.headers().get(header::IF_RANGE) {
        let same = if_range
            .to_str()
            .ok()
            .and_then(|text| text.parse::<EntityTag>().ok())
            .is_some_and(|given| given.strong_eq(tag));
        if !same {
            return Ok(None);
        }
    }
    let Ok(parsed) = http_range_header::parse_range_header(asked) else {
        return Ok(None);
    };
    match parsed.validate(size) {
        Ok(ranges) if ranges.len() == 1 => Ok(ranges.into_iter().next()),
        Ok(_) => Ok(None),
        Err(http_range_header::RangeUnsatisfiableError::Unsatisfiable) => {
            Err(ApiError::RangeNotSatisfiable { size })
        }
        Err(_) => Ok(None),
    }
}

/// The attachment key a stored object belongs to: the object's own key (32 lowercase
/// hex digits, [`crate::crypto::random_hex`]) or, for a variant, the key before its
/// `-thumb`/`-preview`. Anything else in the store is not ours to sweep.
fn owning_key(key: &str) -> Option<&str> {
    let owner = Variant::ALL
        .iter()
        .find_map(|variant| key.strip_suffix(&format!("-{}", variant.as_str())))
        .unwrap_or(key);
    crate::crypto::is_random_hex::<16>(owner).then_some(owner)
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
