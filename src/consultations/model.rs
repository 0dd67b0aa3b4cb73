//! Consultations and responses as stored and as answered.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::questions::{Answer, Question};
use crate::audience::Audience;
use crate::audience::AudienceScope;
use crate::db::schema::{consultation_responses, consultations};
use crate::db::{DbConnection, now, stored, utc};
use crate::error::ApiError;
use crate::text_enum;

text_enum! {
    pub enum ConsultationStatus {
        /// Written, not yet shown to KIMs.
        Draft = "draft",
        /// Taking responses from `opens_at` until `closes_at`.
        Open = "open",
        /// No more responses; the government is weighing them.
        Closed = "closed",
        /// The government has published its response.
        Concluded = "concluded",
    }
}

const TABLE: &str = "consultations";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = consultations)]
pub struct ConsultationRow {
    pub id: i64,
    pub title: String,
    pub summary: String,
    pub questions: String,
    pub audience_scope: AudienceScope,
    pub audience_codes: String,
    pub audience_kim_ids: String,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    pub status: ConsultationStatus,
    pub government_response: Option<String>,
    pub kims_addressed: Option<i32>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl ConsultationRow {
    /// The status as answered: an open consultation past `closes_at` is closed.
    pub fn effective_status(&self) -> ConsultationStatus {
        match self.status {
            ConsultationStatus::Open if self.closes_at <= now() => ConsultationStatus::Closed,
            status => status,
        }
    }

    pub fn questions(&self) -> Result<Vec<Question>, ApiError> {
        stored(serde_json::from_str(&self.questions).ok(), TABLE, self.id)
    }

    pub fn audience(&self) -> Result<Audience, ApiError> {
        Audience::from_stored(
            TABLE,
            self.id,
            self.audience_scope,
            &self.audience_codes,
            &self.audience_kim_ids,
        )
    }
}

/// A consultation as answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Consultation {
    pub id: i64,
    #[schema(example = "Perubahan jadwal pengangkutan sampah")]
    pub title: String,
    pub summary: String,
    pub questions: Vec<Question>,
    pub audience: Audience,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub status: ConsultationStatus,
    /// The government's response, once concluded.
    pub government_response: Option<String>,
    /// Active KIMs the audience matched when it opened.
    pub kims_addressed: Option<i32>,
    /// Documents, downloaded from `/api/v1/consultations/{id}/attachments/{attachment id}`.
    pub attachments: Vec<crate::attachments::Attachment>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Consultation {
    pub fn from_row(
        row: ConsultationRow,
        attachments: Vec<crate::attachments::Attachment>,
    ) -> Result<Consultation, ApiError> {
        Ok(Consultation {
            attachments,
            questions: row.questions()?,
            audience: row.audience()?,
            status: row.effective_status(),
            id: row.id,
            title: row.title,
            summary: row.summary,
            opens_at: utc(row.opens_at),
            closes_at: utc(row.closes_at),
            government_response: row.government_response,
            kims_addressed: row.kims_addressed,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = consultation_responses)]
pub struct ResponseRow {
    pub id: i64,
    pub consultation_id: i64,
    pub kim_id: i64,
    pub answers: String,
    pub citizens_consulted: i32,
    pub submitted_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl ResponseRow {
    pub fn answers(&self) -> Result<Vec<Answer>, ApiError> {
        stored(
            serde_json::from_str(&self.answers).ok(),
            "consultation_responses",
            self.id,
        )
    }
}

/// A KIM's response as answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsultationResponse {
    pub consultation_id: i64,
    pub kim_id: i64,
    pub answers: Vec<Answer>,
    /// Citizens the KIM consulted to answer.
    pub citizens_consulted: i32,
    pub submitted_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// 1 when first submitted, one more per revision.
    pub version: i64,
}

impl ConsultationResponse {
    pub fn from_row(row: ResponseRow) -> Result<ConsultationResponse, ApiError> {
        Ok(ConsultationResponse {
            answers: row.answers()?,
            consultation_id: row.consultation_id,
            kim_id: row.kim_id,
            citizens_consulted: row.citizens_consulted,
            submitted_by: row.submitted_by,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

/// A KIM's response as written: its answers as stored JSON.
pub struct ResponseWrite {
    pub answers: String,
    pub citizens_consulted: i32,
    pub submitted_by: Option<i64>,
}

pub fn find_response(
    conn: &mut DbConnection,
    consultation: i64,
    kim: i64,
) -> Result<Option<ResponseRow>, ApiError> {
    Ok(consultation_responses::table
        .filter(consultation_responses::consultation_id.eq(consultation))
        .filter(consultation_responses::kim_id.eq(kim))
        .select(ResponseRow::as_select())
        .first(conn)
        .optional()?)
}

/// Writes the KIM's response: the first one, or a new version of the one it has.
pub fn save_response(
    conn: &mut DbConnection,
    consultation: i64,
    kim: i64,
    write: &ResponseWrite,
    at: NaiveDateTime,
) -> Result<ResponseRow, ApiError> {
    Ok(match find_response(conn, consultation, kim)? {
        Some(current) => diesel::update(consultation_responses::table.find(current.id))
            .set((
                consultation_responses::answers.eq(&write.answers),
                consultation_responses::citizens_consulted.eq(write.citizens_consulted),
                consultation_responses::submitted_by.eq(write.submitted_by),
                consultation_responses::updated_at.eq(at),
                consultation_responses::version.eq(current.version + 1),
            ))
            .returning(consultation_responses::all_columns)
            .get_result(conn)?,
        None => diesel::insert_into(consultation_responses::table)
            .values((
                consultation_responses::consultation_id.eq(consultation),
                consultation_responses::kim_id.eq(kim),
                consultation_responses::answers.eq(&write.answers),
                consultation_responses::citizens_consulted.eq(write.citizens_consulted),
                consultation_responses::submitted_by.eq(write.submitted_by),
                consultation_responses::created_at.eq(at),
                consultation_responses::updated_at.eq(at),
            ))
            .returning(consultation_responses::all_columns)
            .get_result(conn)?,
    })
}

/// A consultation to write as a draft, checked; its questions as stored JSON.
#[derive(Debug, Clone)]
pub struct NewConsultation {
    pub title: String,
    pub summary: String,
    pub questions: String,
    pub audience: Audience,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    pub created_by: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, new: &NewConsultation) -> Result<ConsultationRow, ApiError> {
    let audience = new.audience.stored()?;
    let stamp = now();
    Ok(diesel::insert_into(consultations::table)
        .values((
            consultations::title.eq(&new.title),
            consultations::summary.eq(&new.summary),
            consultations::questions.eq(&new.questions),
            consultations::audience_scope.eq(audience.scope),
            consultations::audience_codes.eq(&audience.codes),
            consultations::audience_kim_ids.eq(&audience.kim_ids),
            consultations::opens_at.eq(new.opens_at),
            consultations::closes_at.eq(new.closes_at),
            consultations::created_by.eq(new.created_by),
            consultations::created_at.eq(stamp),
            consultations::updated_at.eq(stamp),
        ))
        .returning(consultations::all_columns)
        .get_result(conn)?)
}

/// The columns an edit of a draft changes; `None` leaves a column as it is.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = consultations)]
pub struct ConsultationChangeset {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub questions: Option<String>,
    pub audience_scope: Option<AudienceScope>,
    pub audience_codes: Option<String>,
    pub audience_kim_ids: Option<String>,
    pub opens_at: Option<NaiveDateTime>,
    pub closes_at: Option<NaiveDateTime>,
}

/// Applies `changes` to `current`, read under its lock.
pub fn update(
    conn: &mut DbConnection,
    current: &ConsultationRow,
    changes: &ConsultationChangeset,
) -> Result<ConsultationRow, ApiError> {
    Ok(diesel::update(consultations::table.find(current.id))
        .set((
            changes,
            consultations::updated_at.eq(now()),
            consultations::version.eq(current.version + 1),
        ))
        .returning(consultations::all_columns)
        .get_result(conn)?)
}

/// Consultation `id`.
pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<ConsultationRow>, ApiError> {
    Ok(consultations::table
        .find(id)
        .select(ConsultationRow::as_select())
        .first(conn)
        .optional()?)
}

/// The open consultations closing after `from`, up to `to`.
pub fn closing_between(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<ConsultationRow>, ApiError> {
    Ok(consultations::table
        .filter(consultations::status.eq(ConsultationStatus::Open))
        .filter(consultations::closes_at.gt(from))
        .filter(consultations::closes_at.le(to))
        .select(ConsultationRow::as_select())
        .order(consultations::id)
        .load(conn)?)
}
