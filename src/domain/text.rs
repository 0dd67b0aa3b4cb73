//! One text policy for every free-text field: Unicode normalised (NFC), trimmed,
//! without NUL or other control characters (line breaks and tabs only where a field is
//! multi-line), without the invisible direction overrides that make text read other
//! than it is stored (U+202A–U+202E, U+2066–U+2069), without Unicode noncharacters
//! (U+FDD0–U+FDEF, U+xFFFE/U+xFFFF in every plane) so that whatever is stored can be
//! written into XML 1.0 (Open311, Atom), not blank, and bounded in characters.
//!
//! Blank means empty once whitespace and Default_Ignorable_Code_Point characters (zero
//! width spaces, soft hyphens, the byte-order mark, …) are removed, plus the Braille and
//! Hangul blanks that render as nothing: a rejection note of U+200B is no note.
//!
//! The bounds live in [`limits`]: one constant per field, used by validation here, by
//! the OpenAPI document (`openapi::text_limits`) and checked against the database
//! columns by the tests.

use std::borrow::Cow;

use icu_properties::CodePointSetData;
use icu_properties::props::{DefaultIgnorableCodePoint, NoncharacterCodePoint};

use crate::error::FieldIssue;

/// Character limits of the stored text fields. Each is also the size of its column.
pub mod limits {
    pub const USERNAME: usize = 64;
    pub const DISPLAY_NAME: usize = 200;
    pub const CLIENT_NAME: usize = 200;
    pub const KIM_NAME: usize = 200;
    pub const KIM_ADDRESS: usize = 500;
    pub const KIM_DESCRIPTION: usize = 4000;
    pub const FOCUS_TAG: usize = 50;
    pub const FOCUS_TAGS: usize = 20;
    pub const SK_NUMBER: usize = 100;
    pub const STATUS_REASON: usize = 500;
    pub const MEMBER_NAME: usize = 200;
    pub const PROFESSION: usize = 100;
    pub const EMAIL: usize = 254;
    pub const REGION_CODE: usize = 32;
    pub const BULLETIN_TITLE: usize = 200;
    pub const BULLETIN_BODY: usize = 50_000;
    /// CAP `event` of an urgent bulletin: a kind of hazard, a few words.
    pub const CAP_EVENT: usize = 100;
    /// CAP `instruction` of an urgent bulletin.
    pub const CAP_INSTRUCTION: usize = 2000;
    /// Regions or KIMs one bulletin addresses.
    pub const AUDIENCE_ENTRIES: usize = 100;
    pub const ACKNOWLEDGEMENT_NOTE: usize = 500;
    /// Search text in list filters.
    pub const SEARCH: usize = 100;
    pub const HOLIDAY_NAME: usize = 200;
    pub const REPORT_TITLE: usize = 200;
    /// Open311's limit for a service request's description.
    pub const REPORT_DESCRIPTION: usize = 4000;
    pub const REPORT_ADDRESS: usize = 500;
    pub const REPORTER_NAME: usize = 200;
    /// The government agency (OPD) a report is assigned to.
    pub const AGENCY: usize = 200;
    /// A comment or a status change's note on a report's timeline.
    pub const TIMELINE_BODY: usize = 4000;
    /// A report category's stable code (`infrastruktur`), also an Open311 service code.
    pub const CATEGORY_CODE: usize = 64;
    pub const CATEGORY_NAME: usize = 200;
    pub const CATEGORY_DESCRIPTION: usize = 1000;
    pub const WEBHOOK_DESCRIPTION: usize = 500;
    pub const SESSION_TITLE: usize = 200;
    pub const SESSION_LOCATION: usize = 200;
    pub const ACTIVITY_TITLE: usize = 200;
    pub const ACTIVITY_DESCRIPTION: usize = 4000;
    pub const ACTIVITY_LOCATION: usize = 200;
    pub const CONSULTATION_TITLE: usize = 200;
    pub const CONSULTATION_SUMMARY: usize = 4000;
    pub const GOVERNMENT_RESPONSE: usize = 20_000;
    pub const QUESTION_TEXT: usize = 500;
    pub const QUESTION_OPTION: usize = 200;
    pub const ANSWER_TEXT: usize = 4000;
    /// Why a webhook delivery attempt failed, as recorded (not user input: cut to fit).
    pub const WEBHOOK_ATTEMPT_ERROR: usize = 500;
}

/// Whether a field may hold line breaks and tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    Single,
    Multi,
}

/// `raw` cleaned by the policy; `Err` names the field and the broken rule. Empty
/// (after trimming) is refused: optional fields treat empty as absent before this.
pub fn clean(field: &str, raw: &str, max: usize, lines: Lines) -> Result<String, FieldIssue> {
    if let Some(bad) = raw.chars().find(|c| !allowed(*c, lines)) {
        return Err(FieldIssue::new(
            field,
            "invalid_character",
            format!("must not contain the character U+{:04X}", u32::from(bad)),
            format!("tidak boleh memuat karakter U+{:04X}", u32::from(bad)),
        ));
    }
    let normalised: Cow<'_, str> =
        icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(raw);
    let text = normalised.trim();
    let chars = text.chars().count();
    if is_blank(text) || chars > max {
        return Err(FieldIssue::new(
            field,
            "invalid_length",
            format!("must be 1–{max} characters"),
            format!("harus 1–{max} karakter"),
        ));
    }
    Ok(text.to_owned())
}

/// [`clean`] for an optional field: `None`, or only blank characters, is absent.
pub fn clean_optional(
    field: &str,
    raw: Option<&str>,
    max: usize,
    lines: Lines,
) -> Result<Option<String>, FieldIssue> {
    match raw {
        Some(text) if !is_blank(text) => clean(field, text, max, lines).map(Some),
        _ => Ok(None),
    }
}

/// Whether `text` shows nothing: only whitespace and characters that render as nothing.
pub fn is_blank(text: &str) -> bool {
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    text.chars().all(|c| {
        c.is_whitespace()
            || ignorable.contains(c)
            // Not Default_Ignorable, yet drawn as empty cells (used to fake "filled in").
            || matches!(c, '\u{2800}' | '\u{3164}' | '\u{FFA0}' | '\u{115F}' | '\u{1160}')
    })
}

/// Whether `c` may appear in any text the service takes (also query parameters and
/// identifiers): no C0/C1 controls but tab and line breaks, no direction overrides, no
/// noncharacters.
pub fn is_acceptable_anywhere(c: char) -> bool {
    allowed(c, Lines::Multi)
}

fn allowed(c: char, lines: Lines) -> bool {
    let line_break_or_tab = matches!(c, '\n' | '\r' | '\t');
    if line_break_or_tab {
        return lines == Lines::Multi;
    }
    !c.is_control()
        && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        && !CodePointSetData::new::<NoncharacterCodePoint>().contains(c)
}

/// Whether XML 1.0 allows `c` in a document (its `Char` production). Rust's `char`
/// excludes surrogates already.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `document` with every character XML 1.0 forbids replaced by U+FFFD. The writers'
/// last step: text stored before the policy refused such characters (or put into the
/// database by hand) must not make a feed unreadable for everyone. Markup never holds
/// such characters, so only text changes.
pub fn xml_safe(document: String) -> String {
    if document.chars().all(is_xml_char) {
        return document;
    }
    document
        .chars()
        .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_normalised_trimmed_and_bounded() {
        // "é" as e + combining acute becomes one character.
        assert_eq!(
            clean("name", "  Kafe\u{301} Warga ", 10, Lines::Single).ok(),
            Some("Kafé Warga".to_owned())
        );
        assert!(clean("name", "   ", 10, Lines::Single).is_err());
        assert!(clean("name", &"a".repeat(11), 10, Lines::Single).is_err());
        assert!(clean("name", &"é".repeat(10), 10, Lines::Single).is_ok());
    }

    #[test]
    fn control_characters_and_direction_overrides_are_refused() {
        for bad in [
            "a\u{0}b",
            "a\u{1b}[31mb",
            "a\u{202E}b",
            "a\u{2066}b",
            "a\u{85}b",
            "a\u{FFFE}b",
            "a\u{FFFF}b",
            "a\u{FDD0}b",
            "a\u{FDEF}b",
            "a\u{1FFFE}b",
            "a\u{10FFFF}b",
            "a\u{B}b",
        ] {
            let issue = clean("name", bad, 50, Lines::Multi).err();
            assert_eq!(
                issue.map(|i| i.code.to_string()),
                Some("invalid_character".into())
            );
        }
        assert!(clean("name", "baris satu\nbaris dua", 50, Lines::Single).is_err());
        assert!(clean("description", "baris satu\nbaris dua\tx", 50, Lines::Multi).is_ok());
    }

    #[test]
    fn invisible_characters_alone_are_blank() {
        for blank in [
            "\u{200B}",
            "\u{FEFF}",
            "\u{AD}",
            "\u{2800}",
            " \u{200C}\u{200D} \u{2060}",
            "\u{3164}",
        ] {
            let issue = clean("note", blank, 50, Lines::Multi).err();
            assert_eq!(
                issue.map(|i| i.code.to_string()),
                Some("invalid_length".into()),
                "{blank:?}"
            );
            assert_eq!(
                clean_optional("note", Some(blank), 50, Lines::Multi),
                Ok(None)
            );
        }
        assert!(clean("note", "\u{200B}ok", 50, Lines::Multi).is_ok());
    }

    #[test]
    fn xml_writers_replace_what_xml_forbids() {
        assert_eq!(
            xml_safe("<a>x\u{FFFE}y\u{1}</a>".into()),
            "<a>x\u{FFFD}y\u{FFFD}</a>"
        );
        assert_eq!(xml_safe("<a>é\u{1F600}</a>".into()), "<a>é\u{1F600}</a>");
    }

    #[test]
    fn optional_text_treats_blank_as_absent() {
        assert_eq!(clean_optional("a", Some("  "), 5, Lines::Single), Ok(None));
        assert_eq!(clean_optional("a", None, 5, Lines::Single), Ok(None));
        assert_eq!(
            clean_optional("a", Some(" x "), 5, Lines::Single),
            Ok(Some("x".into()))
        );
    }
}
