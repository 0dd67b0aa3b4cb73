//! Domain values that are parsed once at the edge and trusted afterwards
//! ("parse, don't validate"): each `parse` returns the value or a field problem.

mod checks;
mod contact;
pub mod enums;
mod nik;
pub mod place;
pub mod text;

pub use checks::Checks;
pub use contact::{EmailAddress, PhoneNumber};
pub use nik::{Gender, Nik};

/// A moment a database of either kind stores: years 1 to 9999.
pub fn storable_moment(
    field: &str,
    moment: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::NaiveDateTime, crate::error::FieldIssue> {
    if (1..=9999).contains(&chrono::Datelike::year(&moment)) {
        Ok(moment.naive_utc())
    } else {
        Err(crate::error::FieldIssue::new(
            field,
            "out_of_range",
            "must be between the years 1 and 9999",
            "harus antara tahun 1 dan 9999",
        ))
    }
}
