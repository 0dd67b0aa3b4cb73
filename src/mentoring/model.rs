//! Mentoring sessions and their participants as stored, and the statements that keep
//! the seat count honest under concurrency.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::audience::Audience;
use crate::audience::AudienceScope;
use crate::db::schema::{mentoring_participants, mentoring_sessions};
use crate::db::{DbConnection, now, utc};
use crate::error::ApiError;
use crate::text_enum;

text_enum! {
    pub enum SessionKind {
        Pendampingan = "pendampingan",
        Pelatihan = "pelatihan",
        Sosialisasi = "sosialisasi",
        RapatKoordinasi = "rapat_koordinasi",
    }
}

text_enum! {
    pub enum SessionTopic {
        LiterasiDigital = "literasi_digital",
        LiterasiMedia = "literasi_media",
        JurnalistikWarga = "jurnalistik_warga",
        PengelolaanInformasi = "pengelolaan_informasi",
        Tik = "tik",
        EkonomiKreatif = "ekonomi_kreatif",
        Kelembagaan = "kelembagaan",
        Lainnya = "lainnya",
    }
}

text_enum! {
    pub enum SessionStatus {
        /// Open for nominations until it starts.
        Planned = "planned",
        /// It took place; attendance may still be recorded.
        Held = "held",
        Cancelled = "cancelled",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mentoring_sessions)]
pub struct SessionRow {
    pub id: i64,
    pub title: String,
    pub kind: SessionKind,
    pub topic: SessionTopic,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub location: String,
    pub audience_scope: AudienceScope,
    pub audience_codes: String,
    pub audience_kim_ids: String,
    pub capacity: i32,
    pub nominated: i32,
    pub status: SessionStatus,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

const TABLE: &str = "mentoring_sessions";

impl SessionRow {
    pub fn audience(&self) -> Result<Audience, ApiError> {
        Audience::from_stored(
            TABLE,
            self.id,
            self.audience_scope,
            &self.audience_codes,
            &self.audience_kim_ids,
        )
    }

    /// Whether its start has come (nominations close then; attendance opens).
    pub fn started(&self) -> bool {
        self.starts_at <= now()
    }
}

/// A mentoring session as answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Session {
    pub id: i64,
    #[schema(example = "Pelatihan jurnalistik warga angkatan 3")]
    pub title: String,
    pub kind: SessionKind,
    pub topic: SessionTopic,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[schema(example = "Aula Diskominfo Kota Metro")]
    pub location: String,
    /// The KIMs it is for, as for bulletins.
    pub audience: Audience,
    /// Members it seats.
    pub capacity: i32,
    /// Members nominated so far, over every KIM.
    pub nominated: i32,
    pub status: SessionStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Session {
    pub fn from_row(row: SessionRow) -> Result<Session, ApiError> {
        Ok(Session {
            kind: row.kind,
            topic: row.topic,
            audience: row.audience()?,
            status: row.status,
            id: row.id,
            title: row.title,
            starts_at: utc(row.starts_at),
            ends_at: utc(row.ends_at),
            location: row.location,
            capacity: row.capacity,
            nominated: row.nominated,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

/// A session to plan, its fields checked.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub title: String,
    pub kind: SessionKind,
    pub topic: SessionTopic,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub location: String,
    pub audience: Audience,
    pub capacity: i32,
    pub created_by: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, new: &NewSession) -> Result<SessionRow, ApiError> {
    let audience = new.audience.stored()?;
    let stamp = now();
    let row: SessionRow = diesel::insert_into(mentoring_sessions::table)
        .values((
            mentoring_sessions::title.eq(&new.title),
            mentoring_sessions::kind.eq(new.kind),
            mentoring_sessions::topic.eq(new.topic),
            mentoring_sessions::starts_at.eq(new.starts_at),
            mentoring_sessions::ends_at.eq(new.ends_at),
            mentoring_sessions::location.eq(&new.location),
            mentoring_sessions::audience_scope.eq(&audience.scope),
            mentoring_sessions::audience_codes.eq(&audience.codes),
            mentoring_sessions::audience_kim_ids.eq(&audience.kim_ids),
            mentoring_sessions::capacity.eq(new.capacity),
            mentoring_sessions::created_by.eq(new.created_by),
            mentoring_sessions::created_at.eq(stamp),
            mentoring_sessions::updated_at.eq(stamp),
        ))
        .returning(mentoring_sessions::all_columns)
        .get_result(conn)?;
    super::policy::SESSION_AUDIENCE.write(conn, row.id, &new.audience)?;
    Ok(row)
}

/// A checked edit of a planned session; `None` leaves a field.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = mentoring_sessions)]
pub struct SessionEdit {
    pub title: Option<String>,
    pub kind: Option<SessionKind>,
    pub topic: Option<SessionTopic>,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub location: Option<String>,
    /// Written as its stored columns, by [`update`].
    #[diesel(skip_update)]
    pub audience: Option<Audience>,
    pub capacity: Option<i32>,
}

/// Applies `edit` to `current` if it is still the stored version and still planned,
/// and if the seats already taken fit the new capacity; `None` otherwise (the caller
/// tells which rule failed).
pub fn update(
    conn: &mut DbConnection,
    current: &SessionRow,
    edit: &SessionEdit,
) -> Result<Option<SessionRow>, ApiError> {
    let audience = edit.audience.as_ref().map(Audience::stored).transpose()?;
    let capacity = edit.capacity.unwrap_or(current.capacity);
    let row: Option<SessionRow> = diesel::update(
        mentoring_sessions::table
            .filter(mentoring_sessions::id.eq(current.id))
            .filter(mentoring_sessions::version.eq(current.version))
            .filter(mentoring_sessions::status.eq(SessionStatus::Planned))
            .filter(mentoring_sessions::nominated.le(capacity)),
    )
    .set((
        edit,
        audience.map(|stored| {
            (
                mentoring_sessions::audience_scope.eq(stored.scope),
                mentoring_sessions::audience_codes.eq(stored.codes),
                mentoring_sessions::audience_kim_ids.eq(stored.kim_ids),
            )
        }),
        mentoring_sessions::updated_at.eq(now()),
        mentoring_sessions::version.eq(current.version + 1),
    ))
    .returning(mentoring_sessions::all_columns)
    .get_result(conn)
    .optional()?;
    if let (Some(row), Some(audience)) = (&row, &edit.audience) {
        super::policy::SESSION_AUDIENCE.write(conn, row.id, audience)?;
    }
    Ok(row)
}

/// Moves a planned session to `to` if it is still the stored version; `None` if it
/// is not (moved or edited meanwhile).
pub fn set_status(
    conn: &mut DbConnection,
    current: &SessionRow,
    to: SessionStatus,
) -> Result<Option<SessionRow>, ApiError> {
    Ok(diesel::update(
        mentoring_sessions::table
            .filter(mentoring_sessions::id.eq(current.id))
            .filter(mentoring_sessions::version.eq(current.version))
            .filter(mentoring_sessions::status.eq(SessionStatus::Planned)),
    )
    .set((
        mentoring_sessions::status.eq(to),
        mentoring_sessions::updated_at.eq(now()),
        mentoring_sessions::version.eq(current.version + 1),
    ))
    .returning(mentoring_sessions::all_columns)
    .get_result(conn)
    .optional()?)
}

/// Takes one seat of planned session `id` if one is free: one conditional statement,
/// so of simultaneous nominations for the last seat exactly one gets it (PostgreSQL
/// re-checks the condition on the row the first one updated). `false`: none free.
pub fn take_seat(conn: &mut DbConnection, id: i64) -> Result<bool, ApiError> {
    let taken = diesel::update(
        mentoring_sessions::table
            .filter(mentoring_sessions::id.eq(id))
            .filter(mentoring_sessions::status.eq(SessionStatus::Planned))
            .filter(mentoring_sessions::nominated.lt(mentoring_sessions::capacity)),
    )
    .set((
        mentoring_sessions::nominated.eq(mentoring_sessions::nominated + 1),
        mentoring_sessions::updated_at.eq(now()),
        mentoring_sessions::version.eq(mentoring_sessions::version + 1),
    ))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Gives back the seat of a withdrawn nomination.
pub fn free_seat(conn: &mut DbConnection, id: i64) -> Result<(), ApiError> {
    diesel::update(
        mentoring_sessions::table
            .filter(mentoring_sessions::id.eq(id))
            .filter(mentoring_sessions::nominated.gt(0)),
    )
    .set((
        mentoring_sessions::nominated.eq(mentoring_sessions::nominated - 1),
        mentoring_sessions::updated_at.eq(now()),
        mentoring_sessions::version.eq(mentoring_sessions::version + 1),
    ))
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mentoring_participants)]
pub struct ParticipantRow {
    pub id: i64,
    pub session_id: i64,
    pub kim_id: i64,
    pub member_id: i64,
    pub nominated_by: Option<i64>,
    pub nominated_at: NaiveDateTime,
    pub attended: Option<bool>,
    pub attendance_recorded_at: Option<NaiveDateTime>,
}

/// A nomination as answered, with the member's name (personal data: only the
/// member's own KIM and gov read it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Participant {
    pub id: i64,
    pub session_id: i64,
    pub kim_id: i64,
    pub member_id: i64,
    #[schema(example = "Siti Rahayu")]
    pub full_name: String,
    pub nominated_by: Option<i64>,
    pub nominated_at: DateTime<Utc>,
    /// `null` until gov records attendance.
    pub attended: Option<bool>,
    pub attendance_recorded_at: Option<DateTime<Utc>>,
}

impl Participant {
    pub fn from_row(row: ParticipantRow, full_name: String) -> Participant {
        Participant {
            id: row.id,
            session_id: row.session_id,
            kim_id: row.kim_id,
            member_id: row.member_id,
            full_name,
            nominated_by: row.nominated_by,
            nominated_at: utc(row.nominated_at),
            attended: row.attended,
            attendance_recorded_at: row.attendance_recorded_at.map(utc),
        }
    }
}

/// Session `id`.
pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<SessionRow>, ApiError> {
    Ok(mentoring_sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?)
}

/// The planned sessions starting after `from`, up to `to`.
pub fn starting_between(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<SessionRow>, ApiError> {
    Ok(mentoring_sessions::table
        .filter(mentoring_sessions::status.eq(SessionStatus::Planned))
        .filter(mentoring_sessions::starts_at.gt(from))
        .filter(mentoring_sessions::starts_at.le(to))
        .select(SessionRow::as_select())
        .order(mentoring_sessions::id)
        .load(conn)?)
}
