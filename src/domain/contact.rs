//! Indonesian phone numbers and e-mail addresses.

use crate::error::FieldIssue;

/// An Indonesian phone number in international form, `+62…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts `+62 812-3456-7890`, `62812…`, `0812…` and landlines such as
    /// `(0725) 41234`; separators are ignored. Mobile numbers (national part starting
    /// with 8) have 9–12 digits after the country code, landlines 7–11.
    pub fn parse(field: &str, text: &str) -> Result<PhoneNumber, FieldIssue> {
        let invalid = || {
            FieldIssue::new(
                field,
                "invalid_phone",
                "must be an Indonesian phone number, e.g. +6281234567890 or 0725-41234",
                "harus nomor telepon Indonesia, mis. +6281234567890 atau 0725-41234",
            )
        };
        let trimmed = text.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        if !rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
        {
            return Err(invalid());
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        let national = if let Some(national) = digits.strip_prefix("62") {
            national
        } else if !plus && let Some(national) = digits.strip_prefix('0') {
            national
        } else {
            return Err(invalid());
        };
        let valid = match national.chars().next() {
            Some('8') => (9..=12).contains(&national.len()),
            Some('2'..='7' | '9') => (7..=11).contains(&national.len()),
            _ => false,
        };
        if valid {
            Ok(PhoneNumber(format!("+62{national}")))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An e-mail address: a plausible `local@domain.tld`, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(field: &str, text: &str) -> Result<EmailAddress, FieldIssue> {
        let text = text.trim();
        let valid = text.len() <= super::text::limits::EMAIL
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
            && text.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            });
        if valid {
            Ok(EmailAddress(text.to_owned()))
        } else {
            Err(FieldIssue::new(
                field,
                "invalid_email",
                "must be an e-mail address such as kim@example.go.id",
                "harus alamat surel seperti kim@example.go.id",
            ))
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_normalised_to_plus_62() {
        let ok = |text: &str| {
            PhoneNumber::parse("phone", text)
                .map(PhoneNumber::into_string)
                .ok()
        };
        assert_eq!(ok("0812-3456-7890").as_deref(), Some("+6281234567890"));
        assert_eq!(ok("+62 812 3456 7890").as_deref(), Some("+6281234567890"));
        assert_eq!(ok("6281234567890").as_deref(), Some("+6281234567890"));
        assert_eq!(ok("(0725) 41234").as_deref(), Some("+6272541234"));
        assert_eq!(ok("08123"), None, "too short");
        assert_eq!(ok("+1 415 555 0100"), None, "not Indonesian");
        assert_eq!(ok("0812-3456-789x"), None);
        assert_eq!(ok("+0812345678"), None);
        assert_eq!(ok("0812345678901234"), None, "too long");
    }

    #[test]
    fn email_addresses_need_a_domain() {
        assert!(EmailAddress::parse("e", "kim.mulyojati@metrokota.go.id").is_ok());
        assert!(EmailAddress::parse("e", "no-at-sign").is_err());
        assert!(EmailAddress::parse("e", "a@localhost").is_err());
        assert!(EmailAddress::parse("e", "a b@example.id").is_err());
    }
}
