//! Uploaded files (posters, scanned circulars, photos of a problem), shared by every
//! resource that has them. The rules are the same everywhere:
//!
//! - the type is decided by the content (magic bytes), never by the declared type or
//!   the file name: JPEG, PNG, WebP or PDF, else `415`;
//! - at most [`MAX_FILE_BYTES`] per file, stopped while streaming (`413`), and at most
//!   [`MAX_PER_OWNER`] per item;
//! - what is kept is cleaned ([`content`]): images as their pixels only, upright; PDFs
//!   without their document information;
//! - the cleaned file goes to the store ([`Storage`]: the filesystem or S3) under a
//!   random key before its row is written, so a row never names a missing file; an
//!   object whose row did not commit is removed, at once or by [`Storage::sweep`];
//! - no client-supplied name ever reaches the store: the key is random, the original
//!   name is kept (cleaned) only for `Content-Disposition`.

pub mod content;
pub mod endpoints;
pub mod inventory;
mod owner;
pub mod resumable;
mod sniff;
pub mod storage;
pub mod tus;
mod upload;
pub mod variants;

use actix_multipart::Multipart;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;

pub use owner::{FileOwner, Owner};
pub use sniff::FileKind;
pub use storage::Storage;
pub use upload::{Source, UploadRequest, upload_once};
pub use variants::{AttachmentVariant, DownloadQuery, Variant, VariantChoice};

use crate::db::schema::attachments;
use crate::db::{DbConnection, now, utc};
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
    /// An image's smaller copies for slow networks (download with `?variant=`),
    /// smallest first; none for a PDF.
    pub variants: Vec<AttachmentVariant>,
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
            variants: Vec::new(),
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
    /// An image's smaller copies, stored beside it.
    pub variants: Vec<variants::StoredVariant>,
    /// The resumable upload it was put together from, consumed by the attachment.
    pub from_pieces: Option<FromPieces>,
}

/// A resumable upload being attached: its row goes in the attaching transaction, its
/// pieces once that commits.
#[derive(Debug, Clone)]
pub struct FromPieces {
    pub upload_id: String,
    pub owner: String,
    pub piece_keys: Vec<String>,
}

impl Upload {
    /// What the idempotency fingerprint compares for an upload: the file as sent and
    /// its name, not the multipart framing, whose boundary a retry changes, nor the
    /// cleaned file, which another encoder version might write differently.
    pub fn fingerprint(&self) -> String {
        format!("file={};sha256={}", self.file_name, self.received_sha256)
    }
}

impl Storage {
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
                let bytes = field.map(|chunk| chunk.map_err(|error| upload_error(&error)));
                upload = Some(self.write_part(bytes, file_name).await?);
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
                    let _ = tokio::fs::remove_file(self.part_path(&written.storage_key)).await;
                }
                Err(error)
            }
        }
    }

    /// Puts what is kept of the received part file (see [`content`]) into the store:
    /// the stored size and hash are the cleaned file's. The part file goes either way.
    async fn clean(&self, received: Upload) -> Result<Upload, ApiError> {
        let part = self.part_path(&received.storage_key);
        let kind = received.kind;
        let reading = part.clone();
        let turn = self.cleaning_turn().await?;
        let cleaned = web::block(move || {
            let _turn = turn;
            let bytes = std::fs::read(&reading).map_err(storage_error)?;
            content::clean(&bytes, kind)
        })
        .await
        .map_err(ApiError::internal)
        .and_then(|cleaned| cleaned);
        let _ = tokio::fs::remove_file(&part).await;
        let content::Kept { file, variants } = cleaned?;
        let mut kept = Upload {
            size_bytes: byte_count(&file)?,
            sha256: crate::crypto::hex(&Sha256::digest(&file)),
            ..received
        };
        // The variants first: once the original is in, the row may name it.
        for made in variants {
            let stored = variants::StoredVariant {
                variant: made.variant,
                kind: made.kind,
                width: i32::try_from(made.width).map_err(ApiError::internal)?,
                height: i32::try_from(made.height).map_err(ApiError::internal)?,
                size_bytes: byte_count(&made.bytes)?,
                sha256: crate::crypto::hex(&Sha256::digest(&made.bytes)),
            };
            self.put(
                &variants::key_of(&kept.storage_key, made.variant),
                made.bytes,
            )
            .await?;
            kept.variants.push(stored);
        }
        self.put(&kept.storage_key, file).await?;
        Ok(kept)
    }

    /// Writes `bytes` to a new part file, judging the type by the first bytes and
    /// stopping at [`MAX_FILE_BYTES`].
    async fn write_part<S>(&self, mut bytes: S, file_name: String) -> Result<Upload, ApiError>
    where
        S: futures_util::Stream<Item = Result<web::Bytes, ApiError>> + Unpin,
    {
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
            while let Some(chunk) = bytes.next().await {
                let chunk = chunk?;
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
                variants: Vec::new(),
                from_pieces: None,
            })
        }
        .await;
        if result.is_err() {
            // Nothing of a refused upload stays behind.
            let _ = tokio::fs::remove_file(&part_path).await;
        }
        result
    }
}

/// `attachment` with the name as RFC 6266 asks: `filename*=UTF-8''…` for any name, and
/// an ASCII `filename` for clients that read only that (other characters as `_`).
pub(super) fn disposition_of(file_name: &str) -> ContentDisposition {
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
pub(super) fn clean_file_name(raw: &str) -> String {
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

fn byte_count(bytes: &[u8]) -> Result<i64, ApiError> {
    i64::try_from(bytes.len()).map_err(|_| ApiError::internal("file size"))
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

/// `422 upload_incomplete`: the resumable upload named has not received all its bytes.
pub(super) fn upload_incomplete(received: i64, length: i64) -> ApiError {
    ApiError::unprocessable(
        "upload_incomplete",
        format!("The upload has {received} of its {length} bytes: send the rest first."),
        format!("Unggahan baru berisi {received} dari {length} bita: kirim sisanya dulu."),
        vec![FieldIssue::new(
            "upload_id",
            "upload_incomplete",
            "the upload is not complete",
            "unggahan belum lengkap",
        )],
    )
}

/// `422 upload_not_found`: no complete resumable upload of the caller's by that id.
pub(super) fn upload_not_found() -> ApiError {
    ApiError::unprocessable(
        "upload_not_found",
        "No upload of yours has this id (it may have expired or been attached already).",
        "Tidak ada unggahan Anda dengan id ini (mungkin kedaluwarsa atau sudah dilampirkan).",
        vec![FieldIssue::new(
            "upload_id",
            "upload_not_found",
            "no upload of yours has this id",
            "tidak ada unggahan Anda dengan id ini",
        )],
    )
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

pub(super) fn find_by_key(
    conn: &mut DbConnection,
    key: &str,
) -> Result<Option<AttachmentRow>, ApiError> {
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

/// The attachments of `owner`, oldest first, with their variants.
pub fn of(conn: &mut DbConnection, owner: Owner) -> Result<Vec<Attachment>, ApiError> {
    let rows: Vec<AttachmentRow> = attachments::table
        .filter(attachments::owner_type.eq(owner.kind))
        .filter(attachments::owner_id.eq(owner.id))
        .order(attachments::id)
        .select(AttachmentRow::as_select())
        .load(conn)?;
    let mut variants = variants::of_owners(conn, owner.kind, owner.id, owner.id)?;
    Ok(rows
        .into_iter()
        .map(|row| with_variants(row, &mut variants))
        .collect())
}

fn with_variants(
    row: AttachmentRow,
    variants: &mut std::collections::HashMap<i64, Vec<AttachmentVariant>>,
) -> Attachment {
    let made = variants.remove(&row.id).unwrap_or_default();
    Attachment {
        variants: made,
        ..Attachment::from(row)
    }
}

/// Records `upload` for `owner` (locked by the caller), within the per-item limit.
pub fn insert(
    conn: &mut DbConnection,
    owner: Owner,
    upload: &Upload,
    uploaded_by: Option<i64>,
) -> Result<Attachment, ApiError> {
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
    let row: AttachmentRow = diesel::insert_into(attachments::table)
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
        .get_result(conn)?;
    variants::insert(conn, row.id, &upload.variants)?;
    Ok(Attachment {
        variants: upload
            .variants
            .iter()
            .map(AttachmentVariant::from)
            .collect(),
        ..Attachment::from(row)
    })
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
    let mut variants = variants::of_owners(conn, owner_type, *low, *high)?;
    for row in rows
        .into_iter()
        .filter(|row| owner_ids.contains(&row.owner_id))
    {
        let owner_id = row.owner_id;
        by_owner
            .entry(owner_id)
            .or_default()
            .push(with_variants(row, &mut variants));
    }
    Ok(by_owner)
}

/// The multipart form of an upload, for the OpenAPI document.
#[derive(ToSchema)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct UploadForm {
    /// JPEG, PNG, WebP or PDF (judged by content), at most {MAX_FILE_MIB} MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A complete resumable upload (`POST /api/v1/uploads`) to attach.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachUpload {
    /// The upload's id, from its creation.
    #[schema(
        pattern = "^[0-9a-f]{32}$",
        example = "3f2a9c4e1b7d4f60a8e5c2d1b0a9f8e7"
    )]
    pub upload_id: String,
}

/// A downloaded file's bytes, for the OpenAPI document.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct FileContent(Vec<u8>);

/// Deletes one attachment's row; the caller removes its file once the transaction
/// commits.
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), ApiError> {
    variants::delete_of(conn, &[id])?;
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
    let stored: Vec<(i64, String)> = attachments::table
        .filter(of_owner)
        .select((attachments::id, attachments::storage_key))
        .load(conn)?;
    let (ids, keys): (Vec<i64>, Vec<String>) = stored.into_iter().unzip();
    variants::delete_of(conn, &ids)?;
    diesel::delete(attachments::table.filter(of_owner)).execute(conn)?;
    Ok(keys)
}
