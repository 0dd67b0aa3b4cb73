//! KIM activities as stored and as answered.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::kim_activities;
use crate::db::{DbConnection, now, utc};
use crate::error::ApiError;
use crate::text_enum;

text_enum! {
    pub enum ActivityKind {
        Sosialisasi = "sosialisasi",
        Diskusi = "diskusi",
        Pelatihan = "pelatihan",
        Liputan = "liputan",
        LayananInformasi = "layanan_informasi",
        UsahaEkonomi = "usaha_ekonomi",
        Lainnya = "lainnya",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = kim_activities)]
pub struct ActivityRow {
    pub id: i64,
    pub kim_id: i64,
    pub held_on: NaiveDate,
    pub kind: ActivityKind,
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub participants: i32,
    pub reach: i32,
    pub bulletin_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// An activity as answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activity {
    pub id: i64,
    pub kim_id: i64,
    /// The day it took place.
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub kind: ActivityKind,
    #[schema(example = "Sosialisasi jadwal posyandu di balai RW 03")]
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    /// People who took part.
    pub participants: i32,
    /// Citizens the activity reached, as the KIM estimates.
    pub reach: i32,
    /// A bulletin addressed to the KIM that the activity passed on.
    pub bulletin_id: Option<i64>,
    /// The account that recorded it; `null` for readers outside the KIM and gov.
    pub created_by: Option<i64>,
    /// Photos and documents, downloaded from
    /// `/api/v1/kims/{id}/activities/{activity id}/attachments/{attachment id}`.
    pub attachments: Vec<crate::attachments::Attachment>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Activity {
    pub fn from_row(
        row: ActivityRow,
        show_author: bool,
        attachments: Vec<crate::attachments::Attachment>,
    ) -> Result<Activity, ApiError> {
        Ok(Activity {
            kind: row.kind,
            id: row.id,
            kim_id: row.kim_id,
            date: row.held_on,
            title: row.title,
            description: row.description,
            location: row.location,
            participants: row.participants,
            reach: row.reach,
            bulletin_id: row.bulletin_id,
            created_by: row.created_by.filter(|_| show_author),
            attachments,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

/// A checked activity to record for a KIM.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = kim_activities)]
pub struct NewActivity {
    #[diesel(column_name = held_on)]
    pub date: NaiveDate,
    pub kind: ActivityKind,
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub participants: i32,
    pub reach: i32,
    pub bulletin_id: Option<i64>,
}

/// Records `activity` for KIM `kim_id`, by `recorder` (no account for integrations).
pub fn insert(
    conn: &mut DbConnection,
    kim_id: i64,
    activity: &NewActivity,
    recorder: Option<i64>,
) -> Result<ActivityRow, ApiError> {
    let stamp = now();
    Ok(diesel::insert_into(kim_activities::table)
        .values((
            activity,
            kim_activities::kim_id.eq(kim_id),
            kim_activities::created_by.eq(recorder),
            kim_activities::created_at.eq(stamp),
            kim_activities::updated_at.eq(stamp),
        ))
        .returning(kim_activities::all_columns)
        .get_result(conn)?)
}

/// A checked edit of an activity: `None` leaves a field.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = kim_activities)]
pub struct ActivityFields {
    #[diesel(column_name = held_on)]
    pub date: Option<NaiveDate>,
    pub kind: Option<ActivityKind>,
    pub title: Option<String>,
    /// `Some(None)` clears it.
    pub description: Option<Option<String>>,
    pub location: Option<Option<String>>,
    pub participants: Option<i32>,
    pub reach: Option<i32>,
    pub bulletin_id: Option<Option<i64>>,
}

/// Applies `edit` to `current`, read under its KIM's lock.
pub fn update(
    conn: &mut DbConnection,
    current: &ActivityRow,
    edit: &ActivityFields,
) -> Result<ActivityRow, ApiError> {
    Ok(diesel::update(kim_activities::table.find(current.id))
        .set((
            edit,
            kim_activities::updated_at.eq(now()),
            kim_activities::version.eq(current.version + 1),
        ))
        .returning(kim_activities::all_columns)
        .get_result(conn)?)
}
