//! Uploads sent in pieces over networks that drop (the rows behind [`super::tus`]).
//!
//! An upload declares its length when created; each piece is put into the store under
//! `tus/<upload id>/…` and only then recorded, by one conditional statement that moves
//! the upload's offset from where the piece started: of two pieces sent for the same
//! offset (a client retrying through another instance) exactly one is kept. A complete
//! upload is attached once — the attaching transaction deletes its row — and its pieces
//! go afterwards; an upload nobody finishes or attaches expires.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{resumable_upload_chunks, resumable_uploads};
use crate::error::ApiError;

/// How long an upload lives after it was created or last received a piece.
pub const EXPIRES_AFTER_HOURS: i64 = 24;
/// Uploads one account may have open at once: they hold storage until they expire.
pub const MAX_OPEN_PER_OWNER: i64 = 20;
/// Where pieces live in the store.
pub const PIECES_PREFIX: &str = "tus";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = resumable_uploads)]
pub struct ResumableUpload {
    pub id: String,
    pub owner: String,
    pub length: i64,
    pub received: i64,
    pub file_name: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl ResumableUpload {
    pub fn is_complete(&self) -> bool {
        self.received == self.length
    }
}

/// One stored piece of an upload.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = resumable_upload_chunks)]
pub struct Piece {
    pub start_offset: i64,
    pub size_bytes: i64,
    pub storage_key: String,
}

/// The store key of a new piece starting at `start`: random, so two pieces sent for
/// the same offset never overwrite each other before one of them is recorded.
pub fn piece_key(upload_id: &str, start: i64) -> Result<String, ApiError> {
    Ok(format!(
        "{PIECES_PREFIX}/{upload_id}/{start:010}-{}",
        crate::crypto::random_hex::<8>()?
    ))
}

/// The upload a store key of a piece belongs to.
pub fn upload_of_key(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(PIECES_PREFIX)?.strip_prefix('/')?;
    rest.split_once('/').map(|(upload, _)| upload)
}

/// Opens an upload of `length` bytes for `owner`, within [`MAX_OPEN_PER_OWNER`].
pub fn create(
    conn: &mut DbConnection,
    owner: &str,
    length: i64,
    file_name: &str,
    now: NaiveDateTime,
) -> Result<ResumableUpload, ApiError> {
    let open: i64 = resumable_uploads::table
        .filter(resumable_uploads::owner.eq(owner))
        .filter(resumable_uploads::expires_at.gt(now))
        .count()
        .get_result(conn)?;
    if open >= MAX_OPEN_PER_OWNER {
        return Err(ApiError::conflict(
            "too_many_uploads",
            format!(
                "At most {MAX_OPEN_PER_OWNER} uploads may be open at once: attach or delete one."
            ),
            format!(
                "Paling banyak {MAX_OPEN_PER_OWNER} unggahan boleh terbuka sekaligus: lampirkan atau hapus salah satunya."
            ),
        ));
    }
    Ok(diesel::insert_into(resumable_uploads::table)
        .values((
            resumable_uploads::id.eq(crate::crypto::random_hex::<16>()?),
            resumable_uploads::owner.eq(owner),
            resumable_uploads::length.eq(length),
            resumable_uploads::received.eq(0),
            resumable_uploads::file_name.eq(file_name),
            resumable_uploads::created_at.eq(now),
            resumable_uploads::expires_at.eq(now + Duration::hours(EXPIRES_AFTER_HOURS)),
        ))
        .returning(resumable_uploads::all_columns)
        .get_result(conn)?)
}

/// `owner`'s upload `id`, unless it expired: anyone else's is as unknown as a missing
/// one.
pub fn find(
    conn: &mut DbConnection,
    id: &str,
    owner: &str,
    now: NaiveDateTime,
) -> Result<Option<ResumableUpload>, ApiError> {
    Ok(resumable_uploads::table
        .filter(resumable_uploads::id.eq(id))
        .filter(resumable_uploads::owner.eq(owner))
        .filter(resumable_uploads::expires_at.gt(now))
        .select(ResumableUpload::as_select())
        .first(conn)
        .optional()?)
}

/// Records a piece stored under `key`, if the upload is still at `start`: one
/// conditional statement, so of two pieces for one offset only the first counts.
/// Answers the upload as it now is, or `None` when another piece came first (or the
/// upload is gone).
pub fn append(
    conn: &mut DbConnection,
    upload: &ResumableUpload,
    start: i64,
    size: i64,
    key: &str,
    now: NaiveDateTime,
) -> Result<Option<ResumableUpload>, ApiError> {
    let moved: Option<ResumableUpload> = diesel::update(
        resumable_uploads::table
            .filter(resumable_uploads::id.eq(&upload.id))
            .filter(resumable_uploads::owner.eq(&upload.owner))
            .filter(resumable_uploads::received.eq(start))
            .filter(resumable_uploads::length.ge(start + size)),
    )
    .set((
        resumable_uploads::received.eq(start + size),
        resumable_uploads::expires_at.eq(now + Duration::hours(EXPIRES_AFTER_HOURS)),
    ))
    .returning(resumable_uploads::all_columns)
    .get_result(conn)
    .optional()?;
    if moved.is_some() {
        diesel::insert_into(resumable_upload_chunks::table)
            .values((
                resumable_upload_chunks::upload_id.eq(&upload.id),
                resumable_upload_chunks::start_offset.eq(start),
                resumable_upload_chunks::size_bytes.eq(size),
                resumable_upload_chunks::storage_key.eq(key),
            ))
            .execute(conn)?;
    }
    Ok(moved)
}

/// The pieces of an upload, in order.
pub fn pieces(conn: &mut DbConnection, upload_id: &str) -> Result<Vec<Piece>, ApiError> {
    Ok(resumable_upload_chunks::table
        .filter(resumable_upload_chunks::upload_id.eq(upload_id))
        .order(resumable_upload_chunks::start_offset)
        .select(Piece::as_select())
        .load(conn)?)
}

/// Deletes `owner`'s upload `id` and its piece rows; answers the pieces' store keys
/// (removed by the caller once this commits), or `None` when there was no such upload
/// — already attached or deleted by a concurrent request.
pub fn delete(
    conn: &mut DbConnection,
    id: &str,
    owner: &str,
) -> Result<Option<Vec<String>>, ApiError> {
    // The keys first: PostgreSQL's cascade removes the piece rows with the upload's.
    let keys: Vec<String> = resumable_upload_chunks::table
        .filter(resumable_upload_chunks::upload_id.eq(id))
        .select(resumable_upload_chunks::storage_key)
        .load(conn)?;
    let deleted = diesel::delete(
        resumable_uploads::table
            .filter(resumable_uploads::id.eq(id))
            .filter(resumable_uploads::owner.eq(owner)),
    )
    .execute(conn)?;
    if deleted == 1 {
        diesel::delete(
            resumable_upload_chunks::table.filter(resumable_upload_chunks::upload_id.eq(id)),
        )
        .execute(conn)?;
    }
    Ok((deleted == 1).then_some(keys))
}

/// Up to `limit` uploads expired at `now`, oldest first.
pub fn expired(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, ApiError> {
    Ok(resumable_uploads::table
        .filter(resumable_uploads::expires_at.le(now))
        .order(resumable_uploads::expires_at)
        .select(resumable_uploads::id)
        .limit(limit)
        .load(conn)?)
}

/// Deletes those of `ids` still expired at `now` (a piece may have arrived since they
/// were found), with their piece rows; answers the pieces' store keys, for the caller
/// to remove once this commits.
pub fn delete_expired(
    conn: &mut DbConnection,
    ids: &[String],
    now: NaiveDateTime,
) -> Result<Vec<String>, ApiError> {
    // The pieces first: PostgreSQL's cascade removes their rows with the uploads'.
    let pieces: Vec<(String, String)> = resumable_upload_chunks::table
        .filter(resumable_upload_chunks::upload_id.eq_any(ids))
        .select((
            resumable_upload_chunks::upload_id,
            resumable_upload_chunks::storage_key,
        ))
        .load(conn)?;
    let gone: Vec<String> = diesel::delete(
        resumable_uploads::table
            .filter(resumable_uploads::id.eq_any(ids))
            .filter(resumable_uploads::expires_at.le(now)),
    )
    .returning(resumable_uploads::id)
    .get_results(conn)?;
    diesel::delete(
        resumable_upload_chunks::table.filter(resumable_upload_chunks::upload_id.eq_any(&gone)),
    )
    .execute(conn)?;
    Ok(pieces
        .into_iter()
        .filter(|(upload, _)| gone.contains(upload))
        .map(|(_, key)| key)
        .collect())
}

/// Of `keys` (pieces in the store), those some upload row records.
pub fn recorded(
    conn: &mut DbConnection,
    keys: &[String],
) -> Result<std::collections::HashSet<String>, ApiError> {
    Ok(resumable_upload_chunks::table
        .filter(resumable_upload_chunks::storage_key.eq_any(keys))
        .select(resumable_upload_chunks::storage_key)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_piece_key_names_its_upload() {
        let key = piece_key("0123456789abcdef0123456789abcdef", 4096).expect("key");
        assert!(key.starts_with("tus/0123456789abcdef0123456789abcdef/0000004096-"));
        assert_eq!(
            upload_of_key(&key),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(upload_of_key("0123456789abcdef0123456789abcdef"), None);
        assert_eq!(upload_of_key("tusx/a/b"), None);
    }
}
