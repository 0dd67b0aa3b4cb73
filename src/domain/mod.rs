//! Domain values that are parsed once at the edge and trusted afterwards
//! ("parse, don't validate"): each `parse` returns the value or a field problem.

mod checks;
mod contact;
pub mod enums;
mod nik;
pub mod text;

pub use checks::Checks;
pub use contact::{EmailAddress, PhoneNumber};
pub use nik::{Gender, Nik};
