//! Collecting every field problem of a request before answering, so a client learns
//! all of them at once (`422` with one `errors` entry per field).

use chrono::NaiveDate;

use super::text::{self, Lines};
use crate::error::{ApiError, FieldIssue};

#[derive(Debug, Default)]
pub struct Checks(Vec<FieldIssue>);

impl Checks {
    pub fn new() -> Self {
        Checks::default()
    }

    /// The value, or `None` with its problem noted.
    pub fn take<T>(&mut self, result: Result<T, FieldIssue>) -> Option<T> {
        result.map_err(|issue| self.0.push(issue)).ok()
    }

    pub fn push(&mut self, issue: FieldIssue) {
        self.0.push(issue);
    }

    /// A required text field, cleaned by the text policy.
    pub fn text(&mut self, field: &str, raw: &str, max: usize, lines: Lines) -> Option<String> {
        self.take(text::clean(field, raw, max, lines))
    }

    /// An optional text field: absent or blank is `None`.
    pub fn optional_text(
        &mut self,
        field: &str,
        raw: Option<&str>,
        max: usize,
        lines: Lines,
    ) -> Option<String> {
        self.take(text::clean_optional(field, raw, max, lines))
            .flatten()
    }

    /// A text field of a change: absent stays absent (`None`), `null` or blank clears
    /// it (`Some(None)`).
    pub fn changed_text(
        &mut self,
        field: &str,
        raw: Option<Option<&str>>,
        max: usize,
        lines: Lines,
    ) -> Option<Option<String>> {
        let raw = raw?;
        match self.take(text::clean_optional(field, raw, max, lines)) {
            Some(cleaned) => Some(cleaned),
            // Refused: recorded, and the value is never used.
            None => Some(None),
        }
    }

    /// `in_the_future` when `date` is after today (UTC).
    pub fn not_future(&mut self, field: &str, date: Option<NaiveDate>) {
        if let Some(issue) = FieldIssue::check_not_future(field, date) {
            self.0.push(issue);
        }
    }

    /// `invalid_date` unless `date` is between 1900-01-01 and today (UTC): birth and
    /// joining dates.
    pub fn past_date(&mut self, field: &str, date: NaiveDate) {
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
        if date > crate::clock::now().date_naive() || date < earliest {
            self.0.push(FieldIssue::new(
                field,
                "invalid_date",
                "must be between 1900-01-01 and today",
                "harus antara 1900-01-01 dan hari ini",
            ));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many problems are noted so far.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `422 validation_failed` listing every problem, if there is any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }

    /// Like [`Checks::finish`], then the checked values themselves. Every check that
    /// answers `None` notes why, so with no problem noted every value is present; the
    /// one place that would notice otherwise is here.
    pub fn finish_with<V: CheckedValues>(self, values: V) -> Result<V::Present, ApiError> {
        self.finish()?;
        values
            .present()
            .ok_or_else(|| ApiError::internal("a field check answered nothing without a reason"))
    }
}

/// A tuple of checked values (`Option`s), all of them present once the checks pass.
pub trait CheckedValues {
    type Present;
    fn present(self) -> Option<Self::Present>;
}

macro_rules! checked_values {
    ($($value:ident),+) => {
        impl<$($value),+> CheckedValues for ($(Option<$value>,)+) {
            type Present = ($($value,)+);
            #[allow(non_snake_case)]
            fn present(self) -> Option<Self::Present> {
                let ($($value,)+) = self;
                Some(($($value?,)+))
            }
        }
    };
}

checked_values!(A);
checked_values!(A, B);
checked_values!(A, B, C);
checked_values!(A, B, C, D);
checked_values!(A, B, C, D, E);
checked_values!(A, B, C, D, E, F);
