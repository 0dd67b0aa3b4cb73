//! Uploaded files (posters, scanned circulars, photos of a problem), shared by every
//! resource that has them. The rules are the same everywhere:
//!
//! - the type is decided by the content (magic bytes), never by the declared type or
//!   the file name: JPEG, PNG, WebP or PDF, else `415`;
//! - at most [`MAX_FILE_BYTES`] per file, stopped while streaming (`413`), and at most
//!   [`MAX_PER_OWNER`] per item;
//! - the file is written under `STORAGE_DIR` as `<random key>.part` and renamed to
//!   `<random key>` only after its row commits, so a failure leaves no file without a
//!   row; a crash between the two is settled by [`Storage::recover`] at start-up (the
//!   rename is finished when the row exists, the part file removed when it does not);
//! - no client-supplied name ever reaches the file system: the key is random, the
//!   original name is kept (cleaned) only for `Content-Disposition`.

mod content;
pub mod endpoints;
mod owner;
mod sniff;
mod upload;

use std::path::{Path, PathBuf};

use actix_multipart::Multipart;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;

pub use owner::{FileOwner, Owner};
pub use sniff::FileKind;
pub use upload::{UploadRequest, upload_once};

use crate::db::schema::attachments;
use crate::db::{Db, DbConnection, now, utc};
use crate::error::{ApiError, FieldIssue};

/// Largest file accepted (SPEC §1: 5 MiB per upload).
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// Files one bulletin or report may carry.
pub const MAX_PER_OWNER: i64 = 10;
/// Longest original file name kept (longer ones are cut, keeping the extension).
pub const MAX_FILE_NAME: usize = 255;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attachments)]
pub struct AttachmentRow {
    pub id: i64,
    pub owner_type: String,
    pub owner_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub uploaded_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// An attachment as listed; the file itself is downloaded from its own URL.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attachment {
    pub id: i64,
    #[schema(example = "poster-posyandu.pdf")]
    pub file_name: String,
    #[schema(example = "application/pdf")]
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

impl From<AttachmentRow> for Attachment {
    fn from(row: AttachmentRow) -> Self {
        Attachment {
            id: row.id,
            file_name: row.file_name,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            sha256: row.sha256,
            created_at: utc(row.created_at),
        }
    }
}

/// A file received and written as a part file, its row not yet committed.
#[derive(Debug, Clone)]
pub struct Upload {
    pub storage_key: String,
    pub file_name: String,
    pub kind: FileKind,
    /// Of the stored (cleaned) file.
    pub size_bytes: i64,
    /// Of the stored (cleaned) file.
    pub sha256: String,
    /// Of the file as the client sent it.
    pub received_sha256: String,
}

impl Upload {
    /// What the idempotency fingerprint compares for an upload: the file as sent and
    /// its name, not the multipart framing, whose boundary a retry changes, nor the
    /// cleaned file, which another encoder version might write differently.
    pub fn fingerprint(&self) -> String {
        format!("file={};sha256={}", self.file_name, self.received_sha256)
    }
}

/// The directory uploaded files live in.
#[derive(Debug, Clone)]
pub struct Storage {
    dir: PathBuf,
}

impl Storage {
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Storage {
            dir: dir.to_owned(),
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    fn part_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.part"))
    }

    /// Reads the single `file` field of a `multipart/form-data` request into a part
    /// file, refusing a file of another type (`415`) or too large (`413`) as soon as
    /// the bytes show it.
    pub async fn receive(
        &self,
        req: &HttpRequest,
        payload: web::Payload,
    ) -> Result<Upload, ApiError> {
        let is_multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        if !is_multipart {
            return Err(not_multipart());
        }
        let mut form = Multipart::new(req.headers(), payload);
        let mut upload: Option<Upload> = None;
        let read = async {
            while let Some(field) = form.next().await {
                let field = field.map_err(|error| malformed(&error.to_string()))?;
                if field.name() != Some("file") || upload.is_some() {
                    return Err(malformed("send exactly one field, named `file`"));
                }
                let file_name = field
                    .content_disposition()
                    .and_then(ContentDisposition::get_filename)
                    .map(clean_file_name)
                    .unwrap_or_default();
                upload = Some(self.write_part(field, file_name).await?);
            }
            Ok(())
        }
        .await;
        match (read, upload) {
            (Ok(()), Some(written)) => self.clean(written).await,
            (Ok(()), None) => Err(malformed("send exactly one field, named `file`")),
            (Err(error), written) => {
                if let Some(written) = written {
                    // A refused request leaves nothing on disk, a part already
                    // written included.
                    self.discard(&written).await;
                }
                Err(error)
            }
        }
    }

    /// Replaces the received part file by what is kept of it (see [`content`]): the
    /// stored size and hash are the cleaned file's. A refused file's part is removed.
    async fn clean(&self, received: Upload) -> Result<Upload, ApiError> {
        let part = self.part_path(&received.storage_key);
        let kind = received.kind;
        let cleaned = web::block(move || {
            let bytes = std::fs::read(&part).map_err(storage_error)?;
            let cleaned = content::clean(&bytes, kind)?;
            write_synced(&part, &cleaned)?;
            Ok::<_, ApiError>(cleaned)
        })
        .await
        .map_err(ApiError::internal)
        .and_then(|cleaned| cleaned);
        match cleaned {
            Ok(cleaned) => Ok(Upload {
                size_bytes: i64::try_from(cleaned.len())
                    .map_err(|_| ApiError::internal("file size"))?,
                sha256: crate::crypto::hex(&Sha256::digest(&cleaned)),
                ..received
            }),
            Err(error) => {
                let _ = tokio::fs::remove_file(self.part_path(&received.storage_key)).await;
                Err(error)
            }
        }
    }

    async fn write_part(
        &self,
        mut field: actix_multipart::Field,
        file_name: String,
    ) -> Result<Upload, ApiError> {
        let storage_key = crate::crypto::random_hex::<16>()?;
        let part_path = self.part_path(&storage_key);
        let result = async {
            let mut file = tokio::fs::File::create(&part_path)
                .await
                .map_err(storage_error)?;
            let mut hasher = Sha256::new();
            let mut size = 0usize;
            let mut head = Vec::with_capacity(sniff::HEAD_BYTES);
            let mut kind = None;
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|error| upload_error(&error))?;
                size += chunk.len();
                if size > MAX_FILE_BYTES {
                    return Err(ApiError::PayloadTooLarge {
                        limit: MAX_FILE_BYTES,
                    });
                }
                if kind.is_none() {
                    head.extend_from_slice(
                        &chunk[..chunk.len().min(sniff::HEAD_BYTES - head.len())],
                    );
                    if head.len() >= sniff::HEAD_BYTES {
                        kind = Some(FileKind::sniff(&head).ok_or_else(unsupported_type)?);
                    }
                }
                hasher.update(&chunk);
                file.write_all(&chunk).await.map_err(storage_error)?;
            }
            let kind = match kind {
                Some(kind) => kind,
                None => FileKind::sniff(&head).ok_or_else(unsupported_type)?,
            };
            file.sync_all().await.map_err(storage_error)?;
            let size_bytes = i64::try_from(size).map_err(|_| ApiError::internal("file size"))?;
            let sha256 = crate::crypto::hex(&hasher.finalize());
            let file_name = named_as(&file_name, kind);
            Ok(Upload {
                storage_key: storage_key.clone(),
                file_name,
                kind,
                size_bytes,
                received_sha256: sha256.clone(),
                sha256,
            })
        }
        .await;
        if result.is_err() {
            // Nothing of a refused upload stays behind.
            let _ = tokio::fs::remove_file(&part_path).await;
        }
        result
    }

    /// After the creating transaction: the part file becomes the stored file if its
    /// row committed, and is removed if not (a failure, or a replay that kept the
    /// first upload).
    pub async fn settle(&self, db: &Db, upload: &Upload) -> Result<(), ApiError> {
        let key = upload.storage_key.clone();
        let committed = db
            .read(move |conn| find_by_key(conn, &key).map(|row| row.is_some()))
            .await?;
        let part = self.part_path(&upload.storage_key);
        if committed {
            tokio::fs::rename(&part, self.path(&upload.storage_key))
                .await
                .map_err(storage_error)
        } else {
            tokio::fs::remove_file(&part).await.map_err(storage_error)
        }
    }

    /// Removes stored files whose rows are gone. A file that cannot be removed is
    /// logged: it is unreachable without its row, so nothing is exposed.
    pub async fn remove(&self, storage_keys: &[String]) {
        for key in storage_keys {
            if let Err(error) = tokio::fs::remove_file(self.path(key)).await {
                tracing::warn!(%error, "a deleted attachment's file stays on disk");
            }
        }
    }

    /// Removes the part file of an upload whose request failed before settling.
    pub async fn discard(&self, upload: &Upload) {
        let _ = tokio::fs::remove_file(self.part_path(&upload.storage_key)).await;
    }

    /// Settles what a crash left between file and row: a part file whose row exists is
    /// renamed into place; one without a row, older than `grace` (so an upload another
    /// instance is still finishing is left alone), is removed. Returns how many files
    /// were renamed and removed.
    pub fn recover(
        &self,
        conn: &mut DbConnection,
        grace: std::time::Duration,
    ) -> Result<(usize, usize), ApiError> {
        let (mut renamed, mut removed) = (0, 0);
        let entries = std::fs::read_dir(&self.dir).map_err(storage_error)?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(key) = name.strip_suffix(".part") else {
                continue;
            };
            if find_by_key(conn, key)?.is_some() {
                std::fs::rename(entry.path(), self.path(key)).map_err(storage_error)?;
                renamed += 1;
                continue;
            }
            let old_enough = entry
                .metadata()
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age >= grace);
            if old_enough {
                std::fs::remove_file(entry.path()).map_err(storage_error)?;
                removed += 1;
            }
        }
        Ok((renamed, removed))
    }

    /// Streams a stored file as a download: its stored type, never sniffed by the
    /// browser, never shown inline.
    pub async fn download(&self, row: &AttachmentRow) -> Result<HttpResponse, ApiError> {
        let path = self.path(&row.storage_key);
        if tokio::fs::metadata(&path).await.is_err() {
            // The row committed but the rename did not happen (a crash): finish it.
            tokio::fs::rename(self.part_path(&row.storage_key), &path)
                .await
                .map_err(storage_error)?;
        }
        let file = tokio::fs::File::open(&path).await.map_err(storage_error)?;
        let size = u64::try_from(row.size_bytes).map_err(|_| ApiError::internal("size"))?;
        let stream = tokio_util::io::ReaderStream::new(file);
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

/// `attachment` with the name as RFC 6266 asks: `filename*=UTF-8''…` for any name, and
/// an ASCII `filename` for clients that read only that (other characters as `_`).
fn disposition_of(file_name: &str) -> ContentDisposition {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii)];
    if !file_name.is_ascii() {
        parameters.push(DispositionParam::FilenameExt(
            actix_web::http::header::ExtendedValue {
                charset: actix_web::http::header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: file_name.as_bytes().to_vec(),
            },
        ));
    }
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters,
    }
}

/// `file_name` with the extension of what the file is: `foto.html` holding a PNG is
/// kept and served as `foto.png`, so no program opens it as what its name claimed.
fn named_as(file_name: &str, kind: FileKind) -> String {
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem);
    let stem = if stem.trim().is_empty() {
        "lampiran"
    } else {
        stem
    };
    format!("{stem}.{}", kind.extension())
}

/// A file name safe to put in a header and show: the last path segment, printable
/// characters only, at most [`MAX_FILE_NAME`] characters.
fn clean_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '"' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.chars().count() <= MAX_FILE_NAME {
        return cleaned;
    }
    let extension: String = cleaned
        .rsplit_once('.')
        .map(|(_, ext)| ext.chars().take(10).collect())
        .unwrap_or_default();
    let keep = MAX_FILE_NAME - extension.chars().count() - 1;
    format!(
        "{}.{extension}",
        cleaned.chars().take(keep).collect::<String>()
    )
}

/// Writes `bytes` to `path` and waits until they are on disk.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), ApiError> {
    use std::io::Write;
    let mut file = std::fs::File::create(path).map_err(storage_error)?;
    file.write_all(bytes).map_err(storage_error)?;
    file.sync_all().map_err(storage_error)
}

fn storage_error(error: std::io::Error) -> ApiError {
    ApiError::internal(format!("attachment storage: {error}"))
}

fn upload_error(error: &actix_multipart::MultipartError) -> ApiError {
    malformed(&error.to_string())
}

fn malformed(detail: &str) -> ApiError {
    ApiError::InvalidBody(vec![FieldIssue::new(
        "file",
        "invalid_multipart",
        format!("not a valid upload: {detail}"),
        format!("unggahan tidak sah: {detail}"),
    )])
}

fn not_multipart() -> ApiError {
    ApiError::Rule {
        status: actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        code: "unsupported_media_type",
        detail_en: "Send the file as multipart/form-data, in a field named `file`.".into(),
        detail_id: "Kirim berkas sebagai multipart/form-data, pada isian bernama `file`.".into(),
        issues: Vec::new(),
    }
}

fn unsupported_type() -> ApiError {
    ApiError::Rule {
        status: actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        code: "unsupported_file_type",
        detail_en: "Only JPEG, PNG, WebP and PDF files are accepted (judged by content).".into(),
        detail_id: "Hanya berkas JPEG, PNG, WebP, dan PDF yang diterima (dinilai dari isinya)."
            .into(),
        issues: Vec::new(),
    }
}

fn find_by_key(conn: &mut DbConnection, key: &str) -> Result<Option<AttachmentRow>, ApiError> {
    Ok(attachments::table
        .filter(attachments::storage_key.eq(key))
        .select(AttachmentRow::as_select())
        .first(conn)
        .optional()?)
}

/// The attachment `id` of `owner`.
pub fn find(
    conn: &mut DbConnection,
    owner: Owner,
    id: i64,
) -> Result<Option<AttachmentRow>, ApiError> {
    let Owner {
        kind: owner_type,
        id: owner_id,
    } = owner;
    Ok(attachments::table
        .filter(attachments::id.eq(id))
        .filter(attachments::owner_type.eq(owner_type))
        .filter(attachments::owner_id.eq(owner_id))
        .select(AttachmentRow::as_select())
        .first(conn)
        .optional()?)
}

/// The attachments of `owner`, oldest first.
pub fn of(conn: &mut DbConnection, owner: Owner) -> Result<Vec<AttachmentRow>, ApiError> {
    let Owner {
        kind: owner_type,
        id: owner_id,
    } = owner;
    Ok(attachments::table
        .filter(attachments::owner_type.eq(owner_type))
        .filter(attachments::owner_id.eq(owner_id))
        .order(attachments::id)
        .select(AttachmentRow::as_select())
        .load(conn)?)
}

/// Records `upload` for `owner` (locked by the caller), within the per-item limit.
pub fn insert(
    conn: &mut DbConnection,
    owner: Owner,
    upload: &Upload,
    uploaded_by: Option<i64>,
) -> Result<AttachmentRow, ApiError> {
    let Owner {
        kind: owner_type,
        id: owner_id,
    } = owner;
    let existing: i64 = attachments::table
        .filter(attachments::owner_type.eq(owner_type))
        .filter(attachments::owner_id.eq(owner_id))
        .count()
        .get_result(conn)?;
    if existing >= MAX_PER_OWNER {
        return Err(ApiError::conflict(
            "too_many_attachments",
            format!("An item carries at most {MAX_PER_OWNER} files."),
            format!("Satu item memuat paling banyak {MAX_PER_OWNER} berkas."),
        ));
    }
    Ok(diesel::insert_into(attachments::table)
        .values((
            attachments::owner_type.eq(owner_type),
            attachments::owner_id.eq(owner_id),
            attachments::file_name.eq(&upload.file_name),
            attachments::content_type.eq(upload.kind.mime()),
            attachments::size_bytes.eq(upload.size_bytes),
            attachments::sha256.eq(&upload.sha256),
            attachments::storage_key.eq(&upload.storage_key),
            attachments::uploaded_by.eq(uploaded_by),
            attachments::created_at.eq(now()),
        ))
        .returning(attachments::all_columns)
        .get_result(conn)?)
}

/// The attachments of many owners of one type, by owner id: one query for a page.
pub fn of_many(
    conn: &mut DbConnection,
    owner_type: &'static str,
    owner_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<Attachment>>, ApiError> {
    let mut by_owner: std::collections::HashMap<i64, Vec<Attachment>> = Default::default();
    // The id range of the page rather than `IN (ids)`: one statement shape the cache
    // keeps, on the owner index; owners in the range but not on the page are dropped.
    let (Some(low), Some(high)) = (owner_ids.iter().min(), owner_ids.iter().max()) else {
        return Ok(by_owner);
    };
    let rows: Vec<AttachmentRow> = attachments::table
        .filter(attachments::owner_type.eq(owner_type))
        .filter(attachments::owner_id.between(*low, *high))
        .order(attachments::id)
        .select(AttachmentRow::as_select())
        .load(conn)?;
    for row in rows
        .into_iter()
        .filter(|row| owner_ids.contains(&row.owner_id))
    {
        by_owner.entry(row.owner_id).or_default().push(row.into());
    }
    Ok(by_owner)
}

/// The multipart form of an upload, for the OpenAPI document.
#[derive(ToSchema)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct UploadForm {
    /// JPEG, PNG, WebP or PDF (judged by content), at most 5 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A downloaded file's bytes, for the OpenAPI document.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct FileContent(Vec<u8>);

/// Deletes one attachment's row; the caller removes its file once the transaction
/// commits.
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), ApiError> {
    diesel::delete(attachments::table.filter(attachments::id.eq(id))).execute(conn)?;
    Ok(())
}

/// Deletes the rows of `owner`'s attachments; returns their storage keys, whose files
/// the caller removes once the transaction commits.
pub fn delete_all(conn: &mut DbConnection, owner: Owner) -> Result<Vec<String>, ApiError> {
    let Owner {
        kind: owner_type,
        id: owner_id,
    } = owner;
    let of_owner = attachments::owner_type
        .eq(owner_type)
        .and(attachments::owner_id.eq(owner_id));
    let keys: Vec<String> = attachments::table
        .filter(of_owner)
        .select(attachments::storage_key)
        .load(conn)?;
    diesel::delete(attachments::table.filter(of_owner)).execute(conn)?;
    Ok(keys)
}
