//! The two languages the API answers in: Bahasa Indonesia on request, English otherwise.

use actix_web::HttpRequest;
use actix_web::http::header::{AcceptLanguage, Header, LanguageTag, Preference};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Id,
}

impl Lang {
    /// Picks the caller's most preferred language that we speak; English when none is.
    pub fn from_request(req: &HttpRequest) -> Self {
        Self::stated(req).unwrap_or(Lang::En)
    }

    /// The caller's most preferred language that we speak, if the caller names one.
    pub fn stated(req: &HttpRequest) -> Option<Self> {
        let accept = AcceptLanguage::parse(req).ok()?;
        for preference in accept.ranked() {
            match preference {
                Preference::Specific(tag) if is_indonesian(&tag) => return Some(Lang::Id),
                Preference::Specific(tag) if tag.primary_language().eq_ignore_ascii_case("en") => {
                    return Some(Lang::En);
                }
                Preference::Any => return Some(Lang::En),
                Preference::Specific(_) => {}
            }
        }
        None
    }

    /// How an account's language is stored.
    pub fn code(self) -> &'static str {
        self.pick("en", "id")
    }

    /// A stored language; Indonesian, the default, for anything else.
    pub fn from_code(code: &str) -> Self {
        if code == "en" { Lang::En } else { Lang::Id }
    }

    /// Chooses between an English and an Indonesian text.
    pub fn pick<T>(self, en: T, id: T) -> T {
        match self {
            Lang::En => en,
            Lang::Id => id,
        }
    }
}

fn is_indonesian(tag: &LanguageTag) -> bool {
    // "in" is the withdrawn ISO 639 code that old Android versions still send.
    let primary = tag.primary_language();
    primary.eq_ignore_ascii_case("id") || primary.eq_ignore_ascii_case("in")
}
