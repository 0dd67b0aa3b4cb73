//! Domain values that are parsed once at the edge and trusted afterwards
//! ("parse, don't validate"): each `parse` returns the value or a field problem.

mod contact;

pub use contact::{EmailAddress, PhoneNumber};
