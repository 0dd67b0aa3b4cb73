//! A CAP 1.2 `alert` document, its elements in the order the OASIS schema fixes.

use chrono::{FixedOffset, NaiveDateTime, TimeZone};
use serde::Serialize;

use super::messages::{Message, MsgType};
use super::{EffectiveCap, cap_word};
use crate::domain::text::xml_safe;

pub const CONTENT_TYPE: &str = "application/cap+xml";
const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// Western Indonesian Time, Kota Metro's: CAP times carry an explicit offset.
const WIB_SECONDS: i32 = 7 * 3600;

/// A stored (UTC) moment in CAP's form: whole seconds and `+07:00`.
pub fn cap_time(moment: NaiveDateTime) -> String {
    match FixedOffset::east_opt(WIB_SECONDS) {
        Some(wib) => wib
            .from_utc_datetime(&moment)
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        // CAP's own spelling of UTC.
        None => moment.format("%Y-%m-%dT%H:%M:%S-00:00").to_string(),
    }
}

/// One region the alert is for.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertArea {
    /// The region's name (or names).
    pub description: String,
    /// Kemendagri codes.
    pub codes: Vec<String>,
    /// CAP polygons: `lat,lon` pairs, the first repeated last.
    pub polygons: Vec<String>,
}

/// What an alert says, besides its messages.
pub struct AlertContent<'a> {
    pub sender: &'a str,
    pub sender_name: &'a str,
    pub public: bool,
    pub headline: &'a str,
    pub description: &'a str,
    pub cap: EffectiveCap,
    pub effective: Option<NaiveDateTime>,
    pub expires: Option<NaiveDateTime>,
    pub web: String,
    pub areas: Vec<AlertArea>,
}

#[derive(Serialize)]
struct Alert<'a> {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    identifier: String,
    sender: &'a str,
    sent: String,
    status: &'static str,
    #[serde(rename = "msgType")]
    msg_type: &'static str,
    scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    restriction: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    references: Option<String>,
    info: Info<'a>,
}

#[derive(Serialize)]
struct Info<'a> {
    language: &'static str,
    category: String,
    event: &'a str,
    #[serde(rename = "responseType", skip_serializing_if = "Option::is_none")]
    response_type: Option<String>,
    urgency: String,
    severity: String,
    certainty: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    effective: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    #[serde(rename = "senderName")]
    sender_name: &'a str,
    headline: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instruction: Option<&'a str>,
    web: &'a str,
    area: Vec<Area<'a>>,
}

#[derive(Serialize)]
struct Area<'a> {
    #[serde(rename = "areaDesc")]
    area_desc: &'a str,
    polygon: &'a [String],
    geocode: Vec<Geocode<'a>>,
}

#[derive(Serialize)]
struct Geocode<'a> {
    #[serde(rename = "valueName")]
    value_name: &'static str,
    value: &'a str,
}

/// The CAP document of `messages`' last one (the bulletin's current state), which
/// references all earlier ones. `None` when the bulletin was never an alert.
pub fn write(content: &AlertContent<'_>, messages: &[Message]) -> Option<Result<String, String>> {
    let (current, earlier) = messages.split_last()?;
    let references = (!earlier.is_empty()).then(|| {
        earlier
            .iter()
            .map(|message| {
                format!(
                    "{},{},{}",
                    content.sender,
                    message.identifier(),
                    cap_time(message.sent_at)
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    });
    let cap = &content.cap;
    let alert = Alert {
        xmlns: NAMESPACE,
        identifier: current.identifier(),
        sender: content.sender,
        sent: cap_time(current.sent_at),
        status: "Actual",
        msg_type: current.msg_type.as_str(),
        scope: if content.public {
            "Public"
        } else {
            "Restricted"
        },
        restriction: (!content.public)
            .then_some("Untuk pengguna KIM yang dituju buletin ini; jangan disebarkan ulang."),
        references,
        info: Info {
            language: "id-ID",
            category: cap_word(cap.category.as_str()),
            event: &cap.event,
            response_type: cap
                .response_type
                .filter(|_| current.msg_type != MsgType::Cancel)
                .map(|response| cap_word(response.as_str())),
            urgency: cap_word(cap.urgency.as_str()),
            severity: cap_word(cap.severity.as_str()),
            certainty: cap_word(cap.certainty.as_str()),
            effective: content.effective.map(cap_time),
            expires: content.expires.map(cap_time),
            sender_name: content.sender_name,
            headline: content.headline,
            description: content.description,
            instruction: cap.instruction.as_deref(),
            web: &content.web,
            area: content
                .areas
                .iter()
                .map(|area| Area {
                    area_desc: &area.description,
                    polygon: &area.polygons,
                    geocode: area
                        .codes
                        .iter()
                        .map(|code| Geocode {
                            value_name: "KEMENDAGRI",
                            value: code,
                        })
                        .collect(),
                })
                .collect(),
        },
    };
    Some(
        quick_xml::se::to_string_with_root("alert", &alert)
            .map(|body| xml_safe(format!(r#"<?xml version="1.0" encoding="UTF-8"?>{body}"#)))
            .map_err(|error| error.to_string()),
    )
}
