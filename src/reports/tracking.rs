//! Tracking codes: what a citizen writes down to follow a report, e.g. `MTR-7KQ3-X9PA`.
//!
//! Eight characters from an alphabet without look-alikes (no 0/O, 1/I/L), drawn from
//! the operating system's CSPRNG, not derived from the id: 31⁸ ≈ 8.5 × 10¹¹ codes, so
//! guessing one that exists stays hopeless at any realistic number of reports. Stored
//! without dashes in upper case; lookups ignore case, dashes and spaces.

use crate::error::ApiError;

const PREFIX: &str = "MTR";
const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const RANDOM_CHARS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrackingCode(String);

impl TrackingCode {
    /// A fresh random code.
    pub fn generate() -> Result<TrackingCode, ApiError> {
        let mut code = String::with_capacity(PREFIX.len() + RANDOM_CHARS);
        code.push_str(PREFIX);
        while code.len() < PREFIX.len() + RANDOM_CHARS {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(|error| ApiError::internal(error.to_string()))?;
            // Rejection sampling: 248 = 8 × 31, so every character is equally likely.
            for byte in bytes.into_iter().filter(|byte| *byte < 248) {
                if code.len() == PREFIX.len() + RANDOM_CHARS {
                    break;
                }
                code.push(char::from(ALPHABET[usize::from(byte % 31)]));
            }
        }
        Ok(TrackingCode(code))
    }

    /// A code as a person typed it: any case, with or without dashes and spaces.
    /// `None` when it cannot be a tracking code at all.
    pub fn parse(typed: &str) -> Option<TrackingCode> {
        let compact: String = typed
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let random = compact.strip_prefix(PREFIX)?;
        (random.len() == RANDOM_CHARS && random.bytes().all(|b| ALPHABET.contains(&b)))
            .then_some(TrackingCode(compact))
    }

    pub fn from_stored(stored: &str) -> TrackingCode {
        TrackingCode(stored.to_owned())
    }

    pub fn stored(&self) -> &str {
        &self.0
    }

    /// `MTR-XXXX-XXXX`.
    pub fn shown(&self) -> String {
        match (self.0.get(..3), self.0.get(3..7), self.0.get(7..)) {
            (Some(prefix), Some(first), Some(second)) => format!("{prefix}-{first}-{second}"),
            _ => self.0.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_and_unambiguous() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let code = TrackingCode::generate().unwrap_or_else(|_| unreachable!());
            let shown = code.shown();
            assert_eq!(shown.len(), 13, "{shown}");
            assert!(shown.starts_with("MTR-"));
            assert!(!shown[4..].chars().any(|c| "01OIL".contains(c)), "{shown}");
            assert_eq!(TrackingCode::parse(&shown), Some(code.clone()));
            seen.insert(code);
        }
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn lookups_forgive_case_and_dashes() {
        let code = TrackingCode::parse("MTR-7KQ3-X9PA");
        assert_eq!(code.as_ref().map(TrackingCode::stored), Some("MTR7KQ3X9PA"));
        assert_eq!(TrackingCode::parse("mtr7kq3x9pa"), code);
        assert_eq!(TrackingCode::parse(" mtr-7kq3 x9pa "), code);
        assert_eq!(
            TrackingCode::parse("MTR-7KQ3-X9P0"),
            None,
            "0 is not in the alphabet"
        );
        assert_eq!(TrackingCode::parse("MTR-7KQ3-X9PAB"), None);
        assert_eq!(TrackingCode::parse("ABC-7KQ3-X9PA"), None);
    }
}
