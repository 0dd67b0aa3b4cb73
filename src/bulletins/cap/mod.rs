//! Urgent bulletins as CAP 1.2 alerts (SPEC §12; OASIS Common Alerting Protocol 1.2),
//! the shape alert hubs and other Pemda systems read. A published `urgent` bulletin is
//! an `Alert`; each later edit while published an `Update`; archiving it (or taking its
//! urgency away) a `Cancel`. Each message is kept in [`messages`] so that later ones
//! reference it; [`document`] writes the XML.

mod areas;
pub mod document;
mod feed;
pub mod messages;

use actix_web::get;

pub use feed::alerts_feed;
use serde::{Deserialize, Serialize};

use super::model::Category;
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::text_enum;

text_enum! {
    /// CAP `category` (written in CAP's spelling: `cbrne` is `CBRNE`, `met` is `Met`).
    pub enum CapCategory {
        Geo = "geo",
        Met = "met",
        Safety = "safety",
        Security = "security",
        Rescue = "rescue",
        Fire = "fire",
        Health = "health",
        Env = "env",
        Transport = "transport",
        Infra = "infra",
        Cbrne = "cbrne",
        Other = "other",
    }
}

text_enum! {
    /// CAP `urgency`.
    pub enum Urgency {
        Immediate = "immediate",
        Expected = "expected",
        Future = "future",
        Past = "past",
        Unknown = "unknown",
    }
}

text_enum! {
    /// CAP `severity`.
    pub enum Severity {
        Extreme = "extreme",
        Severe = "severe",
        Moderate = "moderate",
        Minor = "minor",
        Unknown = "unknown",
    }
}

text_enum! {
    /// CAP `certainty`.
    pub enum Certainty {
        Observed = "observed",
        Likely = "likely",
        Possible = "possible",
        Unlikely = "unlikely",
        Unknown = "unknown",
    }
}

text_enum! {
    /// CAP `responseType` (`all_clear` is `AllClear`).
    pub enum ResponseType {
        Shelter = "shelter",
        Evacuate = "evacuate",
        Prepare = "prepare",
        Execute = "execute",
        Avoid = "avoid",
        Monitor = "monitor",
        Assess = "assess",
        AllClear = "all_clear",
        None = "none",
    }
}

/// A value in CAP's own spelling.
pub fn cap_word(snake: &str) -> String {
    match snake {
        "cbrne" => "CBRNE".to_owned(),
        "all_clear" => "AllClear".to_owned(),
        other => {
            let mut chars = other.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

/// The CAP fields an author may set on a bulletin; what is left out defaults from the
/// bulletin's category ([`CapFields::effective`]). Stored as JSON on the bulletin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CapFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap_category: Option<CapCategory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certainty: Option<Certainty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<ResponseType>,
}

/// The CAP fields of one alert, every one decided.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveCap {
    pub event: String,
    pub category: CapCategory,
    pub urgency: Urgency,
    pub severity: Severity,
    pub certainty: Certainty,
    pub instruction: Option<String>,
    pub response_type: Option<ResponseType>,
}

impl CapFields {
    /// The stored JSON as fields (`None` or unreadable: none set).
    pub fn from_stored(stored: Option<&str>) -> CapFields {
        stored
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default()
    }

    /// As stored: `None` when nothing is set.
    pub fn stored(&self) -> Option<String> {
        (*self != CapFields::default())
            .then(|| serde_json::to_string(self).ok())
            .flatten()
    }

    /// Checks the texts (event, instruction), noting problems in `checks`.
    pub fn check(mut self, checks: &mut Checks) -> CapFields {
        self.event = self
            .event
            .and_then(|event| checks.text("event", &event, limits::CAP_EVENT, Lines::Single));
        self.instruction = self.instruction.and_then(|instruction| {
            checks.text(
                "instruction",
                &instruction,
                limits::CAP_INSTRUCTION,
                Lines::Multi,
            )
        });
        self
    }

    /// Every field decided: the author's, else the category's default. A disaster
    /// warns now and severely; other urgent news is expected and moderate.
    pub fn effective(&self, category: Category) -> EffectiveCap {
        let (event, cap_category, urgency, severity, response) = match category {
            Category::Bencana => (
                "Bencana",
                CapCategory::Safety,
                Urgency::Immediate,
                Severity::Severe,
                Some(ResponseType::Prepare),
            ),
            Category::Kesehatan => (
                "Kesehatan",
                CapCategory::Health,
                Urgency::Expected,
                Severity::Moderate,
                None,
            ),
            Category::Keamanan => (
                "Keamanan",
                CapCategory::Security,
                Urgency::Immediate,
                Severity::Moderate,
                None,
            ),
            Category::Infrastruktur => (
                "Gangguan infrastruktur",
                CapCategory::Infra,
                Urgency::Expected,
                Severity::Moderate,
                None,
            ),
            _ => (
                "Informasi penting",
                CapCategory::Other,
                Urgency::Expected,
                Severity::Minor,
                None,
            ),
        };
        EffectiveCap {
            event: self.event.clone().unwrap_or_else(|| event.to_owned()),
            category: self.cap_category.unwrap_or(cap_category),
            urgency: self.urgency.unwrap_or(urgency),
            severity: self.severity.unwrap_or(severity),
            certainty: self.certainty.unwrap_or(Certainty::Likely),
            instruction: self.instruction.clone(),
            response_type: self.response_type.or(response),
        }
    }
}

/// Who the service's alerts come from.
#[derive(Debug, Clone)]
pub struct CapIdentity {
    pub sender: String,
    pub sender_name: String,
}

/// The bulletin `id` as a CAP 1.2 alert (`application/cap+xml`): its latest message,
/// which references the earlier ones. For whoever could ever see the bulletin, so a
/// `Cancel` reaches those who saw the `Alert`; 404 for a bulletin that never was urgent
/// and published.
#[utoipa::path(
    tag = "bulletins",
    params(("id" = i64, Path, description = "Bulletin id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The alert (CAP 1.2)", content((crate::attachments::FileContent = "application/cap+xml"))),
        (status = 400, response = crate::openapi::InvalidPath),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 503, response = crate::openapi::ServiceUnavailable),
    ),
)]
#[get("/bulletins/{id}.cap")]
pub async fn bulletin_alert(
    caller: crate::auth::MaybeCaller,
    db: actix_web::web::Data<crate::db::Db>,
    identity: actix_web::web::Data<CapIdentity>,
    public_base: actix_web::web::Data<crate::config::PublicBaseUrl>,
    id: actix_web::web::Path<i64>,
) -> Result<actix_web::HttpResponse, crate::error::ApiError> {
    let crate::auth::MaybeCaller(caller) = caller;
    let document = alert_document(
        &db,
        caller,
        id.into_inner(),
        identity.get_ref().clone(),
        public_base.0.clone(),
    )
    .await?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type(document::CONTENT_TYPE)
        .body(document))
}

/// The CAP document of bulletin `id` as `caller` may see it.
pub async fn alert_document(
    db: &crate::db::Db,
    caller: Option<crate::auth::Caller>,
    id: i64,
    identity: CapIdentity,
    base: String,
) -> Result<String, crate::error::ApiError> {
    use crate::error::ApiError;
    db.read(move |conn| {
        let access = super::policy::BulletinAccess::of(conn, caller.as_ref())?;
        let row = super::find_ever_visible(conn, &access, id)?;
        let issued = messages::of(conn, id)?;
        let audience = row.audience()?;
        let content = document::AlertContent {
            sender: &identity.sender,
            sender_name: &identity.sender_name,
            public: audience.scope == crate::audience::AudienceScope::Public,
            headline: &row.title,
            description: &row.body,
            cap: CapFields::from_stored(row.cap.as_deref()).effective(row.category),
            effective: row.published_at.map(whole_seconds),
            expires: row.expires_at.map(whole_seconds),
            web: format!("{base}/api/v1/bulletins/{id}"),
            areas: areas::of(conn, &audience)?,
        };
        document::write(&content, &issued)
            .ok_or(ApiError::NotFound)?
            .map_err(ApiError::internal)
    })
    .await
}

fn whole_seconds(moment: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    use chrono::Timelike;
    moment.with_nanosecond(0).unwrap_or(moment)
}
