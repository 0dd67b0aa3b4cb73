//! Report categories as stored and as shown, and their writes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::report_categories;
use crate::db::{DbConnection, now, utc};
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = report_categories)]
pub struct CategoryRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportCategory {
    pub id: i64,
    /// Stable code that reports refer to.
    #[schema(example = "infrastruktur")]
    pub code: String,
    #[schema(example = "Infrastruktur (jalan, jembatan, drainase, penerangan)")]
    pub name: String,
    /// What the category covers.
    pub description: Option<String>,
    /// A retired category stays on old reports but takes no new ones.
    pub active: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub version: i64,
}

impl From<CategoryRow> for ReportCategory {
    fn from(row: CategoryRow) -> Self {
        ReportCategory {
            id: row.id,
            code: row.code,
            name: row.name,
            description: row.description,
            active: row.active,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        }
    }
}

/// One category by code, for the Open311 facade and the handlers here.
pub fn find(conn: &mut DbConnection, code: &str) -> Result<Option<ReportCategory>, ApiError> {
    Ok(report_categories::table
        .filter(report_categories::code.eq(code))
        .select(CategoryRow::as_select())
        .first(conn)
        .optional()?
        .map(Into::into))
}

/// Every category in code order (a few dozen at most), for Open311 `services`.
pub fn all(conn: &mut DbConnection) -> Result<Vec<ReportCategory>, ApiError> {
    Ok(report_categories::table
        .select(CategoryRow::as_select())
        .order(report_categories::code)
        .load(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// A category to add, checked.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = report_categories)]
pub struct NewCategory {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
}

/// Adds `new`, active; `409 category_exists` when its code is taken.
pub fn insert(conn: &mut DbConnection, new: &NewCategory) -> Result<CategoryRow, ApiError> {
    let stamp = now();
    diesel::insert_into(report_categories::table)
        .values((
            new,
            report_categories::active.eq(true),
            report_categories::created_at.eq(stamp),
            report_categories::updated_at.eq(stamp),
        ))
        .returning(report_categories::all_columns)
        .get_result(conn)
        .map_err(|error| match error {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => ApiError::conflict(
                "category_exists",
                "A category with this code exists.",
                "Kategori dengan kode ini sudah ada.",
            ),
            other => other.into(),
        })
}

/// Changes to a category, checked; `None` leaves a column as it is.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = report_categories)]
pub struct CategoryEdit {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

impl CategoryEdit {
    /// What the edit would change in `current`, as the audit record names it.
    pub fn changes(&self, current: &ReportCategory) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.name.as_ref().is_some_and(|name| *name != current.name) {
            changed.push("name");
        }
        if self
            .description
            .as_ref()
            .is_some_and(|description| *description != current.description)
        {
            changed.push("description");
        }
        if self.active.is_some_and(|active| active != current.active) {
            changed.push(if current.active {
                "retired"
            } else {
                "reactivated"
            });
        }
        changed
    }
}

/// Applies `edit` to `current`, conditional on the version read: a change made meanwhile
/// is never undone (`412`).
pub fn update(
    conn: &mut DbConnection,
    current: &ReportCategory,
    edit: &CategoryEdit,
) -> Result<ReportCategory, ApiError> {
    let row: CategoryRow = diesel::update(
        report_categories::table
            .filter(report_categories::id.eq(current.id))
            .filter(report_categories::version.eq(current.version)),
    )
    .set((
        edit,
        report_categories::updated_at.eq(now()),
        report_categories::version.eq(current.version + 1),
    ))
    .returning(report_categories::all_columns)
    .get_result(conn)
    .optional()?
    .ok_or(ApiError::PreconditionFailed)?;
    Ok(row.into())
}
