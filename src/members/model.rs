//! Members as stored (NIK and phone encrypted) and as shown (NIK whole or masked).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::PersonalDataCipher;
use crate::db::schema::kim_members;
use crate::db::{stored, utc};
use crate::domain::Gender;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GenderValue {
    Male,
    Female,
}

impl GenderValue {
    pub const fn as_str(self) -> &'static str {
        match self {
            GenderValue::Male => "male",
            GenderValue::Female => "female",
        }
    }

    pub fn parse(text: &str) -> Option<GenderValue> {
        [GenderValue::Male, GenderValue::Female]
            .into_iter()
            .find(|gender| gender.as_str() == text)
    }

    pub const fn domain(self) -> Gender {
        match self {
            GenderValue::Male => Gender::Male,
            GenderValue::Female => Gender::Female,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    Ketua,
    WakilKetua,
    Sekretaris,
    Bendahara,
    Anggota,
}

impl Position {
    pub const fn as_str(self) -> &'static str {
        match self {
            Position::Ketua => "ketua",
            Position::WakilKetua => "wakil_ketua",
            Position::Sekretaris => "sekretaris",
            Position::Bendahara => "bendahara",
            Position::Anggota => "anggota",
        }
    }

    fn parse(text: &str) -> Option<Position> {
        [
            Position::Ketua,
            Position::WakilKetua,
            Position::Sekretaris,
            Position::Bendahara,
            Position::Anggota,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Active,
    Left,
}

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = kim_members)]
pub struct MemberRow {
    pub id: i64,
    pub kim_id: i64,
    pub full_name: String,
    pub nik_ciphertext: String,
    pub nik_hash: String,
    pub nik_masked: String,
    pub gender: String,
    pub birth_date: NaiveDate,
    pub profession: Option<String>,
    pub position: String,
    pub phone_ciphertext: Option<String>,
    pub email: Option<String>,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// A member as the API shows it. No `Debug`: it may hold a whole NIK.
#[derive(Clone, Serialize, ToSchema)]
pub struct Member {
    pub id: i64,
    pub kim_id: i64,
    #[schema(example = "Siti Rahmawati")]
    pub full_name: String,
    /// Whole only for gov_admin and the KIM's own kim_admin (each such answer is
    /// audited); masked (`1872**********01`) for everyone else.
    #[schema(example = "1872**********01")]
    pub nik: String,
    /// Whether `nik` is the masked form.
    pub nik_masked: bool,
    pub gender: GenderValue,
    pub birth_date: NaiveDate,
    pub profession: Option<String>,
    pub position: Position,
    /// `+62…`; `null` for callers who may not see contact details.
    #[schema(example = "+6281234567890")]
    pub phone: Option<String>,
    /// `null` for callers who may not see contact details.
    pub email: Option<String>,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub status: MemberStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// What a caller may see of members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberView {
    pub whole_nik: bool,
    pub contacts: bool,
}

impl Member {
    pub fn from_row(
        row: MemberRow,
        view: MemberView,
        cipher: &PersonalDataCipher,
    ) -> Result<Member, ApiError> {
        let undecryptable = |_| {
            ApiError::internal(format!(
                "member {} holds data the key cannot decrypt",
                row.id
            ))
        };
        let nik = if view.whole_nik {
            cipher.decrypt(&row.nik_ciphertext).map_err(undecryptable)?
        } else {
            row.nik_masked.clone()
        };
        let phone = match (&row.phone_ciphertext, view.contacts) {
            (Some(sealed), true) => Some(cipher.decrypt(sealed).map_err(undecryptable)?),
            _ => None,
        };
        Ok(Member {
            id: row.id,
            kim_id: row.kim_id,
            full_name: row.full_name,
            nik,
            nik_masked: !view.whole_nik,
            gender: stored(
                GenderValue::parse(&row.gender),
                "kim_members.gender",
                row.id,
            )?,
            birth_date: row.birth_date,
            profession: row.profession,
            position: stored(
                Position::parse(&row.position),
                "kim_members.position",
                row.id,
            )?,
            phone,
            email: row.email.filter(|_| view.contacts),
            joined_on: row.joined_on,
            left_on: row.left_on,
            status: stored(
                match row.status.as_str() {
                    "active" => Some(MemberStatus::Active),
                    "left" => Some(MemberStatus::Left),
                    _ => None,
                },
                "kim_members.status",
                row.id,
            )?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}
