//! The NIK (Nomor Induk Kependudukan): 16 digits = province (2) + kabupaten/kota (2) +
//! kecamatan (2) + birth date `DDMMYY` (women add 40 to the day) + serial (4).
//!
//! The region prefix is where the NIK was first issued, not where the person lives, so
//! it is only checked for plausibility, never against Kota Metro.

use chrono::{Datelike, NaiveDate};

use crate::error::FieldIssue;

/// Province codes in use (Kemendagri), including the Papua provinces formed in 2022.
const PROVINCES: [u8; 38] = [
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65,
    71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
}

/// A structurally valid NIK. It never appears in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Nik(String);

impl std::fmt::Debug for Nik {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Nik({})", self.masked())
    }
}

fn digits(text: &str, range: std::ops::Range<usize>) -> u32 {
    text[range].parse().unwrap_or(0)
}

impl Nik {
    pub fn parse(field: &str, text: &str) -> Result<Nik, FieldIssue> {
        let issue = |code: &'static str, en: &str, id: &str| FieldIssue::new(field, code, en, id);
        let text = text.trim();
        if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(issue(
                "invalid_nik_format",
                "must be exactly 16 digits",
                "harus tepat 16 digit",
            ));
        }
        let province = digits(text, 0..2) as u8;
        if !PROVINCES.contains(&province) || digits(text, 2..4) == 0 || digits(text, 4..6) == 0 {
            return Err(issue(
                "invalid_nik_region",
                "digits 1–6 are not a region code",
                "digit 1–6 bukan kode wilayah",
            ));
        }
        let nik = Nik(text.to_owned());
        let (day, month, _) = nik.birth_digits();
        // Any century will do here: the year is checked against `birth_date` later, and a
        // leap day needs a leap year, which 2000 is.
        if NaiveDate::from_ymd_opt(2000, month, day).is_none() {
            return Err(issue(
                "invalid_nik_birth_date",
                "digits 7–12 are not a possible birth date (DDMMYY, women +40 on the day)",
                "digit 7–12 bukan tanggal lahir yang mungkin (DDMMYY, perempuan +40 pada tanggal)",
            ));
        }
        if digits(text, 12..16) == 0 {
            return Err(issue(
                "invalid_nik_serial",
                "the serial (digits 13–16) cannot be 0000",
                "nomor urut (digit 13–16) tidak boleh 0000",
            ));
        }
        Ok(nik)
    }

    /// (day, month, two-digit year) with the women's +40 removed.
    fn birth_digits(&self) -> (u32, u32, u32) {
        let day = digits(&self.0, 6..8);
        let day = if day > 40 { day - 40 } else { day };
        (day, digits(&self.0, 8..10), digits(&self.0, 10..12))
    }

    pub fn encoded_gender(&self) -> Gender {
        if digits(&self.0, 6..8) > 40 {
            Gender::Female
        } else {
            Gender::Male
        }
    }

    /// Checks the NIK against the person's stated birth date and gender.
    pub fn check_person(
        &self,
        field: &str,
        birth_date: NaiveDate,
        gender: Gender,
    ) -> Result<(), FieldIssue> {
        let (day, month, year) = self.birth_digits();
        let same_date = day == birth_date.day()
            && month == birth_date.month()
            && year == birth_date.year().rem_euclid(100) as u32;
        if !same_date {
            return Err(FieldIssue::new(
                field,
                "nik_birth_date_mismatch",
                "digits 7–12 do not match birth_date",
                "digit 7–12 tidak sesuai dengan birth_date",
            ));
        }
        if self.encoded_gender() != gender {
            return Err(FieldIssue::new(
                field,
                "nik_gender_mismatch",
                "the day in digits 7–8 does not match gender (women add 40)",
                "tanggal pada digit 7–8 tidak sesuai dengan gender (perempuan +40)",
            ));
        }
        Ok(())
    }

    /// `1872**********01`: region and last two digits only.
    pub fn masked(&self) -> String {
        format!("{}**********{}", &self.0[..4], &self.0[14..])
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn the_nik_table() {
        let code = |text: &str| {
            Nik::parse("nik", text)
                .err()
                .map(|issue| issue.code.to_string())
        };
        assert_eq!(
            code("1872011708900001"),
            None,
            "a man born 17-08-1990 in Metro"
        );
        assert_eq!(
            code("3174055708900002"),
            None,
            "a woman (+40), issued in Jakarta: fine"
        );
        assert_eq!(
            code("187201170890001").as_deref(),
            Some("invalid_nik_format"),
            "15 digits"
        );
        assert_eq!(
            code("18720117089000012").as_deref(),
            Some("invalid_nik_format"),
            "17 digits"
        );
        assert_eq!(
            code("18720117O8900001").as_deref(),
            Some("invalid_nik_format"),
            "a letter O"
        );
        assert_eq!(
            code("0072011708900001").as_deref(),
            Some("invalid_nik_region")
        );
        assert_eq!(
            code("1800011708900001").as_deref(),
            Some("invalid_nik_region")
        );
        assert_eq!(
            code("1872013102900001").as_deref(),
            Some("invalid_nik_birth_date"),
            "31 February"
        );
        assert_eq!(
            code("1872013513900001").as_deref(),
            Some("invalid_nik_birth_date"),
            "month 13"
        );
        assert_eq!(
            code("1872017208900001").as_deref(),
            Some("invalid_nik_birth_date"),
            "day 72 (32 + 40)"
        );
        assert_eq!(code("1872012902000001"), None, "29 February 2000");
        assert_eq!(
            code("1872011708900000").as_deref(),
            Some("invalid_nik_serial")
        );
    }

    #[test]
    fn the_nik_must_match_the_person() {
        let man = Nik::parse("nik", "1872011708900001").unwrap_or_else(|_| unreachable!());
        assert!(
            man.check_person("nik", date(1990, 8, 17), Gender::Male)
                .is_ok()
        );
        assert!(
            man.check_person("nik", date(1990, 8, 18), Gender::Male)
                .is_err()
        );
        assert!(
            man.check_person("nik", date(1991, 8, 17), Gender::Male)
                .is_err()
        );
        assert_eq!(
            man.check_person("nik", date(1990, 8, 17), Gender::Female)
                .err()
                .map(|i| i.code.to_string())
                .as_deref(),
            Some("nik_gender_mismatch")
        );
        let woman = Nik::parse("nik", "1872015708900002").unwrap_or_else(|_| unreachable!());
        assert!(
            woman
                .check_person("nik", date(1990, 8, 17), Gender::Female)
                .is_ok()
        );
        assert_eq!(woman.masked(), "1872**********02");
        assert!(
            !format!("{woman:?}").contains("5708"),
            "Debug never shows the NIK"
        );
    }
}
