//! KIMs as stored and as shown, their compliance with the formation rules, and the
//! queries the handlers share.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{kim_members, kims, regions};
use crate::db::{DbConnection, utc};
use crate::domain::place::Location;
use crate::error::{ApiError, FieldIssue};

pub const MIN_MEMBERS: i32 = 3;
pub const MAX_MEMBERS: i32 = 30;

crate::text_enum! {
    pub enum Position {
        Ketua = "ketua",
        WakilKetua = "wakil_ketua",
        Sekretaris = "sekretaris",
        Bendahara = "bendahara",
        Anggota = "anggota",
    }
}

crate::text_enum! {
    pub enum MemberStatus {
        Active = "active",
        Left = "left",
    }
}

crate::text_enum! {
    pub enum KimStatus {
        Proposed = "proposed",
        Active = "active",
        Inactive = "inactive",
        Dissolved = "dissolved",
    }
}

impl KimStatus {
    /// `proposed → active → inactive → active …`; anything but `dissolved` → `dissolved`.
    pub fn can_move_to(self, next: KimStatus) -> bool {
        use KimStatus::*;
        matches!(
            (self, next),
            (Proposed, Active)
                | (Active, Inactive)
                | (Inactive, Active)
                | (Proposed | Active | Inactive, Dissolved)
        )
    }
}

crate::text_enum! {
    pub enum AreaType {
        /// Perkotaan.
        Urban = "urban",
        /// Pedesaan.
        Rural = "rural",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = kims)]
pub struct KimRow {
    pub id: i64,
    pub registration_code: String,
    pub name: String,
    pub name_key: String,
    pub kelurahan_code: String,
    pub kecamatan_code: String,
    pub area_type: AreaType,
    pub address: Option<String>,
    pub description: Option<String>,
    pub focus: String,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    pub status: KimStatus,
    pub sk_number: Option<String>,
    pub sk_date: Option<NaiveDate>,
    pub established_on: Option<NaiveDate>,
    pub active_member_count: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl KimRow {
    pub fn location(&self) -> Option<Location> {
        Some(Location {
            latitude: self.latitude?,
            longitude: self.longitude?,
        })
    }
}

/// A rule of KIM formation that a KIM does not meet right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplianceProblem {
    /// Fewer than 3 active members.
    TooFewMembers,
    /// More than 30 active members.
    TooManyMembers,
    /// No active member holds the `ketua` position.
    NoKetua,
    /// No SK (decree) number and date.
    MissingSk,
}

impl ComplianceProblem {
    pub const fn code(self) -> &'static str {
        match self {
            ComplianceProblem::TooFewMembers => "too_few_members",
            ComplianceProblem::TooManyMembers => "too_many_members",
            ComplianceProblem::NoKetua => "no_ketua",
            ComplianceProblem::MissingSk => "missing_sk",
        }
    }
}

/// Whether the KIM meets the formation rules now (3–30 active members, one ketua, an SK).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Compliance {
    pub ok: bool,
    pub problems: Vec<ComplianceProblem>,
}

impl Compliance {
    pub fn evaluate(active_members: i32, has_ketua: bool, has_sk: bool) -> Compliance {
        let mut problems = Vec::new();
        if active_members < MIN_MEMBERS {
            problems.push(ComplianceProblem::TooFewMembers);
        }
        if active_members > MAX_MEMBERS {
            problems.push(ComplianceProblem::TooManyMembers);
        }
        if !has_ketua {
            problems.push(ComplianceProblem::NoKetua);
        }
        if !has_sk {
            problems.push(ComplianceProblem::MissingSk);
        }
        Compliance {
            ok: problems.is_empty(),
            problems,
        }
    }
}

/// A KIM as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Kim {
    pub id: i64,
    /// Assigned on creation; unique and stable.
    #[schema(example = "KIM-1872-0001")]
    pub registration_code: String,
    #[schema(example = "KIM Mulyojati Bersatu")]
    pub name: String,
    #[schema(example = "18.72.03.1001")]
    pub kelurahan_code: String,
    /// Derived from the kelurahan.
    #[schema(example = "18.72.03")]
    pub kecamatan_code: String,
    pub area_type: AreaType,
    pub address: Option<String>,
    /// Where the KIM meets, inside its kelurahan; early warnings for an area reach
    /// the KIMs placed in it.
    pub location: Option<Location>,
    pub description: Option<String>,
    /// Topic tags.
    #[schema(example = json!(["kesehatan", "umkm"]))]
    pub focus: Vec<String>,
    /// `null` for callers outside government and the KIM itself.
    pub contact_phone: Option<String>,
    /// `null` for callers outside government and the KIM itself.
    pub contact_email: Option<String>,
    pub status: KimStatus,
    /// The decree (SK) that made the KIM official.
    pub sk_number: Option<String>,
    pub sk_date: Option<NaiveDate>,
    pub established_on: Option<NaiveDate>,
    pub active_member_count: i32,
    pub compliance: Compliance,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// Which view this is; views of one version differ, so their entity tags do too.
    #[serde(skip)]
    pub view: Visibility,
}

impl Kim {
    /// `"7"` for the full view, `"7-public"` for the public directory's.
    pub fn etag(&self) -> String {
        match self.view {
            Visibility::Full => crate::concurrency::etag(self.version),
            Visibility::Public => format!("\"{}-public\"", self.version),
        }
    }
}

/// How much of a KIM a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Government, integration clients with `kims:read`, and the KIM's own users.
    Full,
    /// The public directory: no contact details.
    Public,
}

impl Kim {
    pub fn from_row(row: KimRow, has_ketua: bool, visibility: Visibility) -> Result<Kim, ApiError> {
        let status = row.status;
        let area_type = match row.area_type.as_str() {
            "rural" => Some(AreaType::Rural),
            "urban" => Some(AreaType::Urban),
            _ => None,
        };
        let area_type = crate::db::stored(area_type, "kims.area_type", row.id)?;
        let focus: Vec<String> = serde_json::from_str(&row.focus).map_err(ApiError::internal)?;
        let compliance = Compliance::evaluate(
            row.active_member_count,
            has_ketua,
            row.sk_number.is_some() && row.sk_date.is_some(),
        );
        let full = visibility == Visibility::Full;
        let location = row.location();
        Ok(Kim {
            id: row.id,
            registration_code: row.registration_code,
            name: row.name,
            kelurahan_code: row.kelurahan_code,
            kecamatan_code: row.kecamatan_code,
            area_type,
            address: row.address,
            location,
            description: row.description,
            focus,
            contact_phone: row.contact_phone.filter(|_| full),
            contact_email: row.contact_email.filter(|_| full),
            status,
            sk_number: row.sk_number,
            sk_date: row.sk_date,
            established_on: row.established_on,
            active_member_count: row.active_member_count,
            compliance,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
            view: visibility,
        })
    }
}

/// `409 kim_dissolved`: dissolution is final, nothing of the KIM changes after it.
pub fn dissolved() -> ApiError {
    ApiError::conflict(
        "kim_dissolved",
        "The KIM is dissolved; its profile, members and accounts no longer change.",
        "KIM sudah dibubarkan; profil, anggota, dan akunnya tidak dapat diubah lagi.",
    )
}

/// The one rule for what users of a KIM may still write, applied to every KIM-user
/// write (bulletins and their files and acknowledgements, reports, comments, report
/// files and reopening, nominations, consultation responses, activities, members,
/// profile, accounts): a **dissolved** KIM's users change nothing any more (`409
/// kim_dissolved`) — dissolution is final and the KIM no longer speaks. A `proposed`
/// or `inactive` KIM keeps working: it must be able to put its records in order to
/// become (again) active, and what it reported is still followed up.
///
/// Takes the KIM's lock, as its dissolution does, so no write slips in while the KIM
/// is being dissolved. Government and integration callers are not KIM users: nothing
/// to check.
/// Locks one KIM as [`crate::unit_of_work::UnitOfWork::lock_kim`] does and answers its
/// status in the same statement (`None`: no such KIM); one round trip for writes that
/// only check it.
pub fn lock_status(conn: &mut DbConnection, kim_id: i64) -> Result<Option<KimStatus>, ApiError> {
    Ok(match conn {
        DbConnection::Postgres(pg) => kims::table
            .find(kim_id)
            .select(kims::status)
            .for_update()
            .first(pg)
            .optional()?,
        // One writer: reading is holding.
        DbConnection::Sqlite(_) => kims::table
            .find(kim_id)
            .select(kims::status)
            .first(conn)
            .optional()?,
    })
}

pub fn ensure_kim_user_may_write(
    uow: &mut crate::unit_of_work::UnitOfWork<'_>,
    caller: &crate::auth::Caller,
) -> Result<(), ApiError> {
    let Some(kim_id) = caller.kim_id.filter(|_| caller.role.is_kim_role()) else {
        return Ok(());
    };
    match lock_status(uow.conn, kim_id)? {
        Some(KimStatus::Dissolved) => Err(dissolved()),
        Some(_) => Ok(()),
        None => Err(ApiError::Forbidden),
    }
}

impl KimRow {
    pub fn ensure_not_dissolved(&self) -> Result<(), ApiError> {
        if self.status == KimStatus::Dissolved {
            Err(dissolved())
        } else {
            Ok(())
        }
    }
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<KimRow>, ApiError> {
    Ok(kims::table
        .find(id)
        .select(KimRow::as_select())
        .first(conn)
        .optional()?)
}

/// A KIM to register, its fields checked.
#[derive(Debug, Clone)]
pub struct NewKim {
    pub name: String,
    pub kelurahan_code: String,
    pub area_type: AreaType,
    pub address: Option<String>,
    pub description: Option<String>,
    /// The focus tags as stored: a JSON array.
    pub focus: String,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    pub established_on: Option<chrono::NaiveDate>,
    pub location: Option<Location>,
}

/// A checked edit of a KIM's profile: `None` leaves a field, `Some(None)` clears an
/// optional one.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = kims)]
pub struct KimEdit {
    pub name: Option<String>,
    pub address: Option<Option<String>>,
    pub description: Option<Option<String>>,
    /// The focus tags as stored: a JSON array.
    pub focus: Option<String>,
    pub contact_phone: Option<Option<String>>,
    pub contact_email: Option<Option<String>>,
    /// Written with the kecamatan it lies in, by [`update`].
    #[diesel(skip_update)]
    pub kelurahan_code: Option<String>,
    pub area_type: Option<AreaType>,
    pub established_on: Option<Option<chrono::NaiveDate>>,
    pub sk_number: Option<Option<String>>,
    pub sk_date: Option<Option<chrono::NaiveDate>>,
    pub latitude: Option<Option<f64>>,
    pub longitude: Option<Option<f64>>,
}

/// Applies `edit` to `current` if it is still the stored version (else 412).
pub fn update(
    conn: &mut DbConnection,
    current: &KimRow,
    edit: &KimEdit,
) -> Result<KimRow, ApiError> {
    // A new kelurahan brings its kecamatan; a new name its search key.
    let region = match &edit.kelurahan_code {
        Some(code) if *code != current.kelurahan_code => Some(kelurahan(conn, code)?),
        _ => None,
    };
    diesel::update(
        kims::table
            .filter(kims::id.eq(current.id))
            .filter(kims::version.eq(current.version)),
    )
    .set((
        edit,
        edit.name
            .as_ref()
            .map(|name| kims::name_key.eq(name.to_lowercase())),
        region.map(|(kelurahan_code, kecamatan_code)| {
            (
                kims::kelurahan_code.eq(kelurahan_code),
                kims::kecamatan_code.eq(kecamatan_code),
            )
        }),
        kims::updated_at.eq(crate::db::now()),
        kims::version.eq(current.version + 1),
    ))
    .returning(kims::all_columns)
    .get_result(conn)
    .optional()?
    .ok_or(ApiError::PreconditionFailed)
    .and_then(|row: KimRow| {
        if edit.kelurahan_code.is_some() || edit.latitude.is_some() {
            check_place(conn, &row.kelurahan_code, row.location())?;
        }
        Ok(row)
    })
}

/// A KIM's place must lie in its kelurahan, where that kelurahan's boundary is
/// loaded (`422 outside_kelurahan` on `location`).
fn check_place(
    conn: &mut DbConnection,
    kelurahan: &str,
    location: Option<Location>,
) -> Result<(), ApiError> {
    let Some(location) = location else {
        return Ok(());
    };
    let point = crate::regions::boundaries::Point {
        latitude: location.latitude,
        longitude: location.longitude,
    };
    match crate::regions::boundaries::contains(conn, kelurahan, point)? {
        Some(false) => Err(ApiError::Validation(vec![FieldIssue::new(
            "location",
            "outside_kelurahan",
            format!("the point lies outside the KIM's kelurahan {kelurahan}"),
            format!("titik berada di luar kelurahan KIM ({kelurahan})"),
        )])),
        Some(true) | None => Ok(()),
    }
}

/// Registers `new` (status `proposed`) with the next registration code of its kota.
pub fn insert(conn: &mut DbConnection, new: &NewKim) -> Result<KimRow, ApiError> {
    let (kelurahan_code, kecamatan_code) = kelurahan(conn, &new.kelurahan_code)?;
    check_place(conn, &kelurahan_code, new.location)?;
    let registration_code = next_registration_code(conn, &kelurahan_code)?;
    let now = crate::db::now();
    Ok(diesel::insert_into(kims::table)
        .values((
            kims::registration_code.eq(&registration_code),
            kims::name.eq(&new.name),
            kims::name_key.eq(new.name.to_lowercase()),
            kims::kelurahan_code.eq(&kelurahan_code),
            kims::kecamatan_code.eq(&kecamatan_code),
            kims::area_type.eq(new.area_type),
            kims::address.eq(&new.address),
            kims::description.eq(&new.description),
            kims::focus.eq(&new.focus),
            kims::contact_phone.eq(&new.contact_phone),
            kims::contact_email.eq(&new.contact_email),
            kims::established_on.eq(new.established_on),
            kims::latitude.eq(new.location.map(|at| at.latitude)),
            kims::longitude.eq(new.location.map(|at| at.longitude)),
            kims::created_at.eq(now),
            kims::updated_at.eq(now),
        ))
        .returning(kims::all_columns)
        .get_result(conn)?)
}

/// Checks a kelurahan code; returns it with its kecamatan.
pub fn kelurahan(conn: &mut DbConnection, code: &str) -> Result<(String, String), ApiError> {
    let found: Option<(String, Option<String>)> = regions::table
        .filter(regions::code.eq(code))
        .filter(regions::level.eq(crate::regions::RegionLevel::Kelurahan))
        .select((regions::code, regions::parent_code))
        .first(conn)
        .optional()?;
    match found {
        Some((code, Some(kecamatan))) => Ok((code, kecamatan)),
        _ => Err(ApiError::Validation(vec![FieldIssue::new(
            "kelurahan_code",
            "unknown_kelurahan",
            "no kelurahan has this code (see GET /api/v1/regions?level=kelurahan)",
            "tidak ada kelurahan dengan kode ini (lihat GET /api/v1/regions?level=kelurahan)",
        )])),
    }
}

/// The KIM `id` and whether it has an active ketua, in one statement: one round trip,
/// and a fixed SQL text that the prepared-statement cache keeps.
pub fn find_with_ketua(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<(KimRow, bool)>, ApiError> {
    Ok(crate::on_backend!(conn, |c| {
        let has_ketua = diesel::dsl::exists(
            kim_members::table
                .filter(kim_members::kim_id.eq(kims::id))
                .filter(kim_members::status.eq(MemberStatus::Active))
                .filter(kim_members::position.eq(Position::Ketua)),
        );
        kims::table
            .find(id)
            .select((KimRow::as_select(), has_ketua))
            .first(c)
            .optional()
    })?)
}

/// Which of `kim_ids` have an active ketua.
pub fn with_ketua(conn: &mut DbConnection, kim_ids: &[i64]) -> Result<HashSet<i64>, ApiError> {
    if kim_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<i64> = kim_members::table
        .filter(kim_members::kim_id.eq_any(kim_ids))
        .filter(kim_members::status.eq(MemberStatus::Active))
        .filter(kim_members::position.eq(Position::Ketua))
        .select(kim_members::kim_id)
        .load(conn)?;
    Ok(ids.into_iter().collect())
}

/// Rows as API values, with their compliance, for one caller.
pub fn present(
    conn: &mut DbConnection,
    rows: Vec<KimRow>,
    visibility: impl Fn(&KimRow) -> Visibility,
) -> Result<Vec<Kim>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let ketua = with_ketua(conn, &ids)?;
    rows.into_iter()
        .map(|row| {
            let view = visibility(&row);
            let has_ketua = ketua.contains(&row.id);
            Kim::from_row(row, has_ketua, view)
        })
        .collect()
}

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    last_value: i32,
}

/// The next registration code for a KIM in `kelurahan_code`'s kota, e.g.
/// `KIM-1872-0001`. The counter row is updated in the caller's transaction, so
/// concurrent creations get distinct numbers.
pub fn next_registration_code(
    conn: &mut DbConnection,
    kelurahan_code: &str,
) -> Result<String, ApiError> {
    let prefix: String = kelurahan_code.split('.').take(2).collect();
    let counter: Counter = diesel::sql_query(
        "INSERT INTO registration_counters (prefix, last_value) VALUES ($1, 1) \
         ON CONFLICT (prefix) DO UPDATE SET last_value = registration_counters.last_value + 1 \
         RETURNING last_value",
    )
    .bind::<diesel::sql_types::Text, _>(&prefix)
    .get_result(conn)?;
    Ok(format!("KIM-{prefix}-{:04}", counter.last_value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_lifecycle_moves_are_allowed() {
        use KimStatus::*;
        let allowed = [
            (Proposed, Active),
            (Active, Inactive),
            (Inactive, Active),
            (Proposed, Dissolved),
            (Active, Dissolved),
            (Inactive, Dissolved),
        ];
        for from in [Proposed, Active, Inactive, Dissolved] {
            for to in [Proposed, Active, Inactive, Dissolved] {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn compliance_lists_every_failing_rule() {
        assert_eq!(
            Compliance::evaluate(2, false, false).problems,
            vec![
                ComplianceProblem::TooFewMembers,
                ComplianceProblem::NoKetua,
                ComplianceProblem::MissingSk
            ]
        );
        assert!(Compliance::evaluate(3, true, true).ok);
        assert!(Compliance::evaluate(30, true, true).ok);
        assert_eq!(
            Compliance::evaluate(31, true, true).problems,
            vec![ComplianceProblem::TooManyMembers]
        );
    }
}
