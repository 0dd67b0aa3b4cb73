//! Members as stored (NIK and phone encrypted) and as shown (NIK whole or masked).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::crypto::PersonalDataCipher;
use crate::db::schema::{kim_members, kims};
use crate::db::{DbConnection, now, stored, utc};
use crate::domain::{Gender, Nik, PhoneNumber};
use crate::error::ApiError;
// The positions and statuses belong to the KIM formation rules, which count them.
pub use crate::kims::model::{MAX_MEMBERS, MemberStatus, Position};

crate::text_enum! {
    pub enum GenderValue {
        Male = "male",
        Female = "female",
    }
}

impl GenderValue {
    pub const fn domain(self) -> Gender {
        match self {
            GenderValue::Male => Gender::Male,
            GenderValue::Female => Gender::Female,
        }
    }
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
    pub gender: GenderValue,
    pub birth_date: NaiveDate,
    pub profession: Option<String>,
    pub position: Position,
    pub phone_ciphertext: Option<String>,
    pub email: Option<String>,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub status: MemberStatus,
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
            gender: row.gender,
            birth_date: row.birth_date,
            profession: row.profession,
            position: row.position,
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

pub fn find_member(
    conn: &mut DbConnection,
    kim_id: i64,
    member_id: i64,
) -> Result<MemberRow, ApiError> {
    kim_members::table
        .filter(kim_members::id.eq(member_id))
        .filter(kim_members::kim_id.eq(kim_id))
        .select(MemberRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)
}

fn rule(code: &'static str, en: &str, id: &str) -> ApiError {
    ApiError::conflict(code, en, id)
}

pub fn limit_reached() -> ApiError {
    rule(
        "member_limit_reached",
        "The KIM already has 30 active members.",
        "KIM sudah memiliki 30 anggota aktif.",
    )
}

pub fn position_taken() -> ApiError {
    rule(
        "position_taken",
        "The KIM already has an active ketua.",
        "KIM sudah memiliki ketua aktif.",
    )
}

pub fn nik_already_member() -> ApiError {
    rule(
        "nik_already_member",
        "This person is already an active member of a KIM.",
        "Orang ini sudah menjadi anggota aktif sebuah KIM.",
    )
}

/// Names the rule behind a unique-index violation (the race the pre-checks can miss).
pub fn unique_rule(error: ApiError) -> ApiError {
    match &error {
        ApiError::Conflict {
            constraint: Some(constraint),
        } if constraint.contains("nik") => nik_already_member(),
        ApiError::Conflict {
            constraint: Some(constraint),
        } if constraint.contains("ketua") || constraint.contains("kim_members.kim_id") => {
            position_taken()
        }
        _ => error,
    }
}

pub fn active_nik_exists(
    conn: &mut DbConnection,
    nik_hash: &str,
    except: Option<i64>,
) -> Result<bool, ApiError> {
    let mut query = kim_members::table
        .filter(kim_members::nik_hash.eq(nik_hash))
        .filter(kim_members::status.eq(MemberStatus::Active))
        .select(kim_members::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(kim_members::id.ne(id));
    }
    Ok(query.first::<i64>(conn).optional()?.is_some())
}

/// Whether `member_id` is an active member of `kim_id`.
pub fn is_active_member(
    conn: &mut DbConnection,
    kim_id: i64,
    member_id: i64,
) -> Result<bool, ApiError> {
    Ok(kim_members::table
        .filter(kim_members::id.eq(member_id))
        .filter(kim_members::kim_id.eq(kim_id))
        .filter(kim_members::status.eq(MemberStatus::Active))
        .select(kim_members::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

pub fn active_ketua_exists(
    conn: &mut DbConnection,
    kim_id: i64,
    except: Option<i64>,
) -> Result<bool, ApiError> {
    let mut query = kim_members::table
        .filter(kim_members::kim_id.eq(kim_id))
        .filter(kim_members::position.eq(Position::Ketua))
        .filter(kim_members::status.eq(MemberStatus::Active))
        .select(kim_members::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(kim_members::id.ne(id));
    }
    Ok(query.first::<i64>(conn).optional()?.is_some())
}

/// A member to add, its personal data already sealed.
#[derive(Clone)]
pub struct NewMember {
    pub full_name: String,
    pub nik_ciphertext: String,
    pub nik_hash: String,
    pub nik_masked: String,
    pub gender: GenderValue,
    pub birth_date: NaiveDate,
    pub profession: Option<String>,
    pub position: Position,
    pub phone_ciphertext: Option<String>,
    pub email: Option<String>,
    pub joined_on: NaiveDate,
}

/// Adds `new` to `kim_id` under the member rules: a person active in one KIM only, one
/// active ketua, at most [`MAX_MEMBERS`]. The caller holds the KIM's lock.
pub fn insert(
    conn: &mut DbConnection,
    kim_id: i64,
    new: &NewMember,
) -> Result<MemberRow, ApiError> {
    if active_nik_exists(conn, &new.nik_hash, None)? {
        return Err(nik_already_member());
    }
    if new.position == Position::Ketua && active_ketua_exists(conn, kim_id, None)? {
        return Err(position_taken());
    }
    // Counting and checking in one conditional UPDATE: the 31st finds the KIM full even
    // if some future path forgets the lock.
    let counted = diesel::update(
        kims::table
            .filter(kims::id.eq(kim_id))
            .filter(kims::active_member_count.lt(MAX_MEMBERS)),
    )
    .set((
        kims::active_member_count.eq(kims::active_member_count + 1),
        kims::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if counted == 0 {
        return Err(limit_reached());
    }
    let now = now();
    diesel::insert_into(kim_members::table)
        .values((
            kim_members::kim_id.eq(kim_id),
            kim_members::full_name.eq(&new.full_name),
            kim_members::nik_ciphertext.eq(&new.nik_ciphertext),
            kim_members::nik_hash.eq(&new.nik_hash),
            kim_members::nik_masked.eq(&new.nik_masked),
            kim_members::gender.eq(new.gender),
            kim_members::birth_date.eq(new.birth_date),
            kim_members::profession.eq(&new.profession),
            kim_members::position.eq(new.position),
            kim_members::phone_ciphertext.eq(&new.phone_ciphertext),
            kim_members::email.eq(&new.email),
            kim_members::joined_on.eq(new.joined_on),
            kim_members::created_at.eq(now),
            kim_members::updated_at.eq(now),
        ))
        .returning(kim_members::all_columns)
        .get_result(conn)
        .map_err(|error| unique_rule(error.into()))
}

/// A checked change of a member: `None` leaves a field, `Some(None)` clears an optional
/// one.
#[derive(Clone, AsChangeset)]
#[diesel(table_name = kim_members)]
pub struct MemberEdit {
    pub full_name: Option<String>,
    /// Written sealed, hashed and masked by [`update`].
    #[diesel(skip_update)]
    pub nik: Option<Nik>,
    pub gender: Option<GenderValue>,
    pub birth_date: Option<NaiveDate>,
    pub profession: Option<Option<String>>,
    pub position: Option<Position>,
    /// Written sealed by [`update`].
    #[diesel(skip_update)]
    pub phone: Option<Option<PhoneNumber>>,
    pub email: Option<Option<String>>,
    pub joined_on: Option<NaiveDate>,
}

/// Applies `edit` to `current` if it is still the stored version (else 412), under the
/// member rules: the NIK agrees with the person as changed, a person is active in one
/// KIM only, one active ketua. The caller holds the KIM's lock.
pub fn update(
    conn: &mut DbConnection,
    cipher: &PersonalDataCipher,
    current: &MemberRow,
    edit: &MemberEdit,
) -> Result<MemberRow, ApiError> {
    let gender = edit.gender.unwrap_or(current.gender);
    let birth_date = edit.birth_date.unwrap_or(current.birth_date);
    // The NIK must agree with the person as changed, whichever part changed.
    let nik = match &edit.nik {
        Some(nik) => nik.clone(),
        None => {
            let plain = cipher
                .decrypt(&current.nik_ciphertext)
                .map_err(ApiError::internal)?;
            Nik::parse("nik", &plain)
                .map_err(|_| ApiError::internal("a stored NIK no longer parses"))?
        }
    };
    nik.check_person("nik", birth_date, gender.domain())
        .map_err(|issue| ApiError::Validation(vec![issue]))?;
    let nik_hash = cipher.keyed_hash("nik", nik.expose().as_bytes());
    let active = current.status == MemberStatus::Active;
    if active
        && nik_hash != current.nik_hash
        && active_nik_exists(conn, &nik_hash, Some(current.id))?
    {
        return Err(nik_already_member());
    }
    if active
        && edit.position.unwrap_or(current.position) == Position::Ketua
        && active_ketua_exists(conn, current.kim_id, Some(current.id))?
    {
        return Err(position_taken());
    }
    let sealed_nik = match &edit.nik {
        Some(_) => Some((
            kim_members::nik_ciphertext
                .eq(cipher.encrypt(nik.expose()).map_err(ApiError::internal)?),
            kim_members::nik_hash.eq(nik_hash),
            kim_members::nik_masked.eq(nik.masked()),
        )),
        None => None,
    };
    let sealed_phone = match &edit.phone {
        Some(Some(phone)) => Some(kim_members::phone_ciphertext.eq(Some(
            cipher.encrypt(phone.as_str()).map_err(ApiError::internal)?,
        ))),
        Some(None) => Some(kim_members::phone_ciphertext.eq(None)),
        None => None,
    };
    diesel::update(
        kim_members::table
            .filter(kim_members::id.eq(current.id))
            .filter(kim_members::version.eq(current.version)),
    )
    .set((
        edit,
        sealed_nik,
        sealed_phone,
        kim_members::updated_at.eq(now()),
        kim_members::version.eq(current.version + 1),
    ))
    .returning(kim_members::all_columns)
    .get_result(conn)
    .optional()
    .map_err(|error| unique_rule(error.into()))?
    .ok_or(ApiError::PreconditionFailed)
}
