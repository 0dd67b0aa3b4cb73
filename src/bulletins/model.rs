//! Bulletins as stored and as shown, and the queries the handlers share.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::cap::{CapCategory, CapFields, Certainty, ResponseType, Severity, Urgency};
use crate::audience::{Audience, AudienceScope};
use crate::db::schema::{bulletin_audience, bulletins};
use crate::db::{DbConnection, now, stored, utc};
use crate::error::ApiError;
use crate::sync::{Counter, next_change};
use crate::text_enum;

text_enum! {
    /// Who speaks: the government (top-down) or a KIM (horizontal).
    pub enum Origin {
        Government = "government",
        Kim = "kim",
    }
}

text_enum! {
    pub enum Category {
        Umum = "umum",
        Pemerintahan = "pemerintahan",
        Kesehatan = "kesehatan",
        Pendidikan = "pendidikan",
        Ekonomi = "ekonomi",
        Infrastruktur = "infrastruktur",
        Keamanan = "keamanan",
        Bencana = "bencana",
        Sosial = "sosial",
        Literasi = "literasi",
        Lainnya = "lainnya",
    }
}

text_enum! {
    pub enum Priority {
        Normal = "normal",
        Important = "important",
        Urgent = "urgent",
    }
}

text_enum! {
    /// `draft → published → archived`; only drafts are deleted.
    pub enum BulletinStatus {
        Draft = "draft",
        Published = "published",
        Archived = "archived",
    }
}

text_enum! {
    /// The `status` column: a bulletin's status, or `deleted` for a deleted draft whose
    /// emptied row stays so that sync tells the apps that saw it to drop it.
    pub enum StoredStatus {
        Draft = "draft",
        Published = "published",
        Archived = "archived",
        Deleted = "deleted",
    }
}

impl StoredStatus {
    /// The status as answered; `None` for a deleted draft, which is never answered.
    pub const fn shown(self) -> Option<BulletinStatus> {
        match self {
            StoredStatus::Draft => Some(BulletinStatus::Draft),
            StoredStatus::Published => Some(BulletinStatus::Published),
            StoredStatus::Archived => Some(BulletinStatus::Archived),
            StoredStatus::Deleted => None,
        }
    }
}

impl PartialEq<BulletinStatus> for StoredStatus {
    fn eq(&self, other: &BulletinStatus) -> bool {
        self.shown() == Some(*other)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bulletins)]
pub struct BulletinRow {
    pub id: i64,
    pub origin: Origin,
    pub origin_kim_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub search_key: String,
    pub category: Category,
    pub priority: Priority,
    pub audience_scope: AudienceScope,
    pub audience_codes: String,
    pub audience_kim_ids: String,
    pub status: StoredStatus,
    pub published_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub author_id: Option<i64>,
    pub kims_addressed: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub change_seq: i64,
    /// PostgreSQL: the transaction of the last change (see `sync`).
    pub change_xid: i64,
    /// The CAP fields the author set, as JSON (see `cap::CapFields`).
    pub cap: Option<String>,
    /// The alert source an incoming CAP alert came from (SPEC §12, CAP in).
    pub alert_source_id: Option<i64>,
    /// The incoming alert's first identifier.
    pub cap_identifier: Option<String>,
}

impl BulletinRow {
    pub fn audience(&self) -> Result<Audience, ApiError> {
        let scope = self.audience_scope;
        let codes = stored(
            serde_json::from_str(&self.audience_codes).ok(),
            "bulletins.audience_codes",
            self.id,
        )?;
        let kim_ids = stored(
            serde_json::from_str(&self.audience_kim_ids).ok(),
            "bulletins.audience_kim_ids",
            self.id,
        )?;
        Ok(Audience {
            scope,
            codes,
            kim_ids,
        })
    }
}

/// A bulletin as answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bulletin {
    pub id: i64,
    pub origin: Origin,
    /// The publishing KIM of a KIM bulletin; `null` for government bulletins.
    pub origin_kim_id: Option<i64>,
    #[schema(example = "Jadwal posyandu balita bulan Desember")]
    pub title: String,
    /// Plain text or Markdown, as written; clients render it.
    pub body: String,
    pub category: Category,
    pub priority: Priority,
    pub audience: Audience,
    pub status: BulletinStatus,
    pub published_at: Option<DateTime<Utc>>,
    /// After this moment KIM users and the public no longer see the bulletin.
    pub expires_at: Option<DateTime<Utc>>,
    /// The account that wrote it; `null` for anonymous readers.
    pub author_id: Option<i64>,
    /// Active KIMs the audience matched when it was published.
    pub kims_addressed: Option<i32>,
    /// CAP fields the author set (see `GET /api/v1/bulletins/{id}.cap`); `null`
    /// ones default from the category.
    #[schema(example = "Banjir")]
    pub event: Option<String>,
    pub cap_category: Option<CapCategory>,
    pub urgency: Option<Urgency>,
    pub severity: Option<Severity>,
    pub certainty: Option<Certainty>,
    pub instruction: Option<String>,
    pub response_type: Option<ResponseType>,
    /// The alert source (`/api/v1/alert-sources/{id}`) of a bulletin made from an
    /// incoming CAP alert; `null` for bulletins people wrote.
    pub source: Option<i64>,
    /// That alert's CAP identifier (its first message's).
    pub cap_identifier: Option<String>,
    /// Files, downloaded from `/api/v1/bulletins/{id}/attachments/{attachment id}`.
    pub attachments: Vec<crate::attachments::Attachment>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Bulletin {
    /// `show_author`: false for anonymous readers, who get no account ids.
    pub fn from_row(
        row: BulletinRow,
        show_author: bool,
        attachments: Vec<crate::attachments::Attachment>,
    ) -> Result<Bulletin, ApiError> {
        let cap = CapFields::from_stored(row.cap.as_deref());
        Ok(Bulletin {
            event: cap.event,
            cap_category: cap.cap_category,
            urgency: cap.urgency,
            severity: cap.severity,
            certainty: cap.certainty,
            instruction: cap.instruction,
            response_type: cap.response_type,
            origin: row.origin,
            category: row.category,
            priority: row.priority,
            audience: row.audience()?,
            status: row
                .status
                .shown()
                .ok_or_else(|| ApiError::internal(format!("bulletin {} is deleted", row.id)))?,
            id: row.id,
            origin_kim_id: row.origin_kim_id,
            title: row.title,
            body: row.body,
            published_at: row.published_at.map(utc),
            expires_at: row.expires_at.map(utc),
            author_id: row.author_id.filter(|_| show_author),
            source: row.alert_source_id,
            cap_identifier: row.cap_identifier,
            kims_addressed: row.kims_addressed,
            attachments,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

/// A bulletin to write as a draft, its fields checked.
#[derive(Debug, Clone)]
pub struct NewBulletin {
    pub origin: Origin,
    pub origin_kim_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub category: Category,
    pub priority: Priority,
    pub audience: Audience,
    pub expires_at: Option<NaiveDateTime>,
    pub author_id: Option<i64>,
    /// The CAP fields as stored.
    pub cap: Option<String>,
    /// The alert source and CAP identifier of a bulletin made from an incoming alert.
    pub alert_source_id: Option<i64>,
    pub cap_identifier: Option<String>,
}

/// A checked edit: `None` leaves a field; `expires_at: Some(None)` clears it.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = bulletins)]
pub struct BulletinEdit {
    /// Written with the body and the search key made of both, by [`update`].
    #[diesel(skip_update)]
    pub title: Option<String>,
    #[diesel(skip_update)]
    pub body: Option<String>,
    pub category: Option<Category>,
    pub priority: Option<Priority>,
    /// Written as its stored columns, by [`update`].
    #[diesel(skip_update)]
    pub audience: Option<Audience>,
    pub expires_at: Option<Option<NaiveDateTime>>,
    /// Set from the current fields and the changed ones, in the changing transaction.
    pub cap: Option<Option<String>>,
}

/// What `q` is matched against: title and body lower-cased here, not by the database,
/// whose `lower()` differs (SQLite folds ASCII only).
fn search_key(title: &str, body: &str) -> String {
    format!("{}\n{}", title.to_lowercase(), body.to_lowercase())
}

fn json_list<T: Serialize>(items: &[T]) -> Result<String, ApiError> {
    serde_json::to_string(items).map_err(|error| ApiError::internal(error.to_string()))
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<BulletinRow>, ApiError> {
    Ok(bulletins::table
        .find(id)
        .select(BulletinRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, new: &NewBulletin) -> Result<BulletinRow, ApiError> {
    let now = now();
    let row: BulletinRow = diesel::insert_into(bulletins::table)
        .values((
            bulletins::origin.eq(new.origin),
            bulletins::origin_kim_id.eq(new.origin_kim_id),
            bulletins::title.eq(&new.title),
            bulletins::body.eq(&new.body),
            bulletins::search_key.eq(search_key(&new.title, &new.body)),
            bulletins::category.eq(new.category),
            bulletins::priority.eq(new.priority),
            bulletins::audience_scope.eq(new.audience.scope),
            bulletins::audience_codes.eq(json_list(&new.audience.codes)?),
            bulletins::audience_kim_ids.eq(json_list(&new.audience.kim_ids)?),
            bulletins::expires_at.eq(new.expires_at),
            bulletins::author_id.eq(new.author_id),
            bulletins::cap.eq(&new.cap),
            bulletins::alert_source_id.eq(new.alert_source_id),
            bulletins::cap_identifier.eq(&new.cap_identifier),
            bulletins::created_at.eq(now),
            bulletins::updated_at.eq(now),
            bulletins::change_seq.eq(next_change(conn, Counter::Bulletins)?),
        ))
        .returning(bulletins::all_columns)
        .get_result(conn)?;
    super::policy::BULLETIN_AUDIENCE.write(conn, row.id, &new.audience)?;
    Ok(row)
}

/// Applies `edit` to `current` if it is still the stored version (else 412).
pub fn update(
    conn: &mut DbConnection,
    current: &BulletinRow,
    edit: &BulletinEdit,
) -> Result<BulletinRow, ApiError> {
    let words = (edit.title.is_some() || edit.body.is_some()).then(|| {
        let title = edit.title.as_deref().unwrap_or(&current.title);
        let body = edit.body.as_deref().unwrap_or(&current.body);
        (
            bulletins::title.eq(title.to_owned()),
            bulletins::body.eq(body.to_owned()),
            bulletins::search_key.eq(search_key(title, body)),
        )
    });
    let audience = edit.audience.as_ref().map(Audience::stored).transpose()?;
    let row: BulletinRow = diesel::update(
        bulletins::table
            .filter(bulletins::id.eq(current.id))
            .filter(bulletins::version.eq(current.version)),
    )
    .set((
        edit,
        words,
        audience.map(|stored| {
            (
                bulletins::audience_scope.eq(stored.scope),
                bulletins::audience_codes.eq(stored.codes),
                bulletins::audience_kim_ids.eq(stored.kim_ids),
            )
        }),
        bulletins::updated_at.eq(now()),
        bulletins::version.eq(current.version + 1),
        bulletins::change_seq.eq(next_change(conn, Counter::Bulletins)?),
    ))
    .returning(bulletins::all_columns)
    .get_result(conn)
    .optional()?
    .ok_or(ApiError::PreconditionFailed)?;
    if let Some(audience) = &edit.audience {
        super::policy::BULLETIN_AUDIENCE.write(conn, row.id, audience)?;
        super::seen::record(conn, &row)?;
    }
    Ok(row)
}

/// Moves `current` to `to` if it is still the stored version (else 412); publishing
/// stamps `published_at` and the count of KIMs addressed.
pub fn set_status(
    conn: &mut DbConnection,
    current: &BulletinRow,
    to: BulletinStatus,
    kims_addressed: Option<i32>,
) -> Result<BulletinRow, ApiError> {
    let now = now();
    let published_at = match to {
        BulletinStatus::Published => Some(now),
        _ => current.published_at,
    };
    let row: BulletinRow = diesel::update(
        bulletins::table
            .filter(bulletins::id.eq(current.id))
            .filter(bulletins::version.eq(current.version)),
    )
    .set((
        bulletins::status.eq(to),
        bulletins::published_at.eq(published_at),
        bulletins::kims_addressed.eq(kims_addressed.or(current.kims_addressed)),
        bulletins::updated_at.eq(now),
        bulletins::version.eq(current.version + 1),
        bulletins::change_seq.eq(next_change(conn, Counter::Bulletins)?),
    ))
    .returning(bulletins::all_columns)
    .get_result(conn)
    .optional()?
    .ok_or(ApiError::PreconditionFailed)?;
    super::seen::record(conn, &row)?;
    Ok(row)
}

/// Marks `current` changed (a file attached): a new version and change number.
pub fn touch(conn: &mut DbConnection, current: &BulletinRow) -> Result<(), ApiError> {
    diesel::update(bulletins::table.filter(bulletins::id.eq(current.id)))
        .set((
            bulletins::updated_at.eq(now()),
            bulletins::version.eq(current.version + 1),
            bulletins::change_seq.eq(next_change(conn, Counter::Bulletins)?),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes a draft: its words and audience go; an empty `deleted` row stays so that
/// sync tells the apps that saw the draft to drop it.
pub fn delete(conn: &mut DbConnection, current: &BulletinRow) -> Result<(), ApiError> {
    diesel::delete(bulletin_audience::table.filter(bulletin_audience::bulletin_id.eq(current.id)))
        .execute(conn)?;
    diesel::update(bulletins::table.filter(bulletins::id.eq(current.id)))
        .set((
            bulletins::status.eq(StoredStatus::Deleted),
            bulletins::title.eq(""),
            bulletins::body.eq(""),
            bulletins::search_key.eq(""),
            bulletins::audience_codes.eq("[]"),
            bulletins::audience_kim_ids.eq("[]"),
            bulletins::expires_at.eq(None::<NaiveDateTime>),
            bulletins::updated_at.eq(now()),
            bulletins::version.eq(current.version + 1),
            bulletins::change_seq.eq(next_change(conn, Counter::Bulletins)?),
        ))
        .execute(conn)?;
    Ok(())
}

/// `row` as answered, with its files.
pub fn present(
    conn: &mut DbConnection,
    row: BulletinRow,
    show_author: bool,
) -> Result<Bulletin, ApiError> {
    let files = crate::attachments::of(
        conn,
        <super::BulletinFiles as crate::attachments::FileOwner>::owner(row.id),
    )?;
    Bulletin::from_row(row, show_author, files)
}
