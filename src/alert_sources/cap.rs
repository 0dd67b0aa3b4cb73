//! A CAP 1.2 alert from another sender (BMKG's nowcasts, another Pemda), as far as the
//! service uses it: who sent it and when, what kind of message it is and what it
//! references, and the one `info` block to act on with its areas.
//!
//! Reading is tolerant where real feeds differ (any UTC offset, a missing optional
//! element, several `info` blocks in several languages) and strict where a mistake
//! would mislead: a missing identifier, sender or message type, or an area shape that
//! does not parse, makes the alert unreadable, with the reason.

use chrono::{DateTime, FixedOffset};
use geo::{Coord, LineString, Point, Polygon};

use super::xml::Element;
use crate::bulletins::cap::{CapCategory, CapFields, Certainty, ResponseType, Severity, Urgency};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Alert,
    Update,
    Cancel,
    /// `Ack` and `Error` answer other messages; they never change a bulletin.
    Other,
}

/// The earlier message a later one names (`sender,identifier,sent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub sender: String,
    pub identifier: String,
}

/// A circle: centre and radius in kilometres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    pub centre: Point<f64>,
    pub radius_km: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Area {
    pub description: String,
    pub polygons: Vec<Polygon<f64>>,
    pub circles: Vec<Circle>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncomingAlert {
    pub identifier: String,
    pub sender: String,
    pub sent: DateTime<FixedOffset>,
    /// Only `Actual` alerts become bulletins; exercises, tests and drafts are skipped.
    pub actual: bool,
    pub message_type: MessageType,
    pub references: Vec<Reference>,
    pub event: String,
    pub severity: Severity,
    /// The CAP fields the bulletin made from it carries on (CAP out).
    pub cap: CapFields,
    pub headline: String,
    pub description: String,
    pub instruction: Option<String>,
    pub expires: Option<DateTime<FixedOffset>>,
    pub areas: Vec<Area>,
}

impl IncomingAlert {
    /// The alert's shapes and descriptions, for matching.
    pub fn has_shapes(&self) -> bool {
        self.areas
            .iter()
            .any(|area| !area.polygons.is_empty() || !area.circles.is_empty())
    }
}

fn required<'a>(element: &'a Element, name: &str) -> Result<&'a str, String> {
    element
        .text_of(name)
        .ok_or_else(|| format!("the alert has no <{name}>"))
}

fn moment(text: &str, name: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| format!("<{name}> is not a date-time with an offset: {text:?}"))
}

/// A CAP value (`Met`, `CBRNE`, `AllClear`) as the service spells it (`met`, `cbrne`,
/// `all_clear`), then parsed; an unknown word is `None`.
fn from_cap_word<T>(word: Option<&str>, parse: fn(&str) -> Option<T>) -> Option<T> {
    let word = word?;
    let snake = if word == "CBRNE" {
        word.to_ascii_lowercase()
    } else {
        let mut snake = String::new();
        for (index, character) in word.chars().enumerate() {
            if character.is_uppercase() && index > 0 {
                snake.push('_');
            }
            snake.extend(character.to_lowercase());
        }
        snake
    };
    parse(&snake)
}

/// The `info` to act on: the first in Indonesian, else the first.
fn chosen_info(root: &Element) -> Option<&Element> {
    root.children_named("info")
        .find(|info| {
            info.text_of("language")
                .is_some_and(|language| language.to_ascii_lowercase().starts_with("id"))
        })
        .or_else(|| root.child("info"))
}

fn coordinate(pair: &str) -> Option<Coord<f64>> {
    let (latitude, longitude) = pair.split_once(',')?;
    let (y, x): (f64, f64) = (
        latitude.trim().parse().ok()?,
        longitude.trim().parse().ok()?,
    );
    ((-90.0..=90.0).contains(&y) && (-180.0..=180.0).contains(&x)).then_some(Coord { x, y })
}

/// CAP §3.3.2: at least four `lat,lon` pairs, the first and last the same.
fn polygon(text: &str) -> Option<Polygon<f64>> {
    let points: Option<Vec<Coord<f64>>> = text.split_whitespace().map(coordinate).collect();
    let points = points?;
    (points.len() >= 4 && points.first() == points.last())
        .then(|| Polygon::new(LineString::new(points), vec![]))
}

fn circle(text: &str) -> Option<Circle> {
    let (centre, radius) = text.trim().split_once(char::is_whitespace)?;
    let radius_km: f64 = radius.trim().parse().ok()?;
    (radius_km.is_finite() && radius_km >= 0.0).then_some(Circle {
        centre: Point::from(coordinate(centre)?),
        radius_km,
    })
}

fn area(element: &Element) -> Result<Area, String> {
    let polygons = element
        .children_named("polygon")
        .enumerate()
        .map(|(index, shape)| {
            polygon(&shape.text)
                .ok_or_else(|| format!("polygon {} of an area does not parse", index + 1))
        })
        .collect::<Result<_, _>>()?;
    let circles = element
        .children_named("circle")
        .map(|shape| circle(&shape.text).ok_or_else(|| "a circle does not parse".to_owned()))
        .collect::<Result<_, _>>()?;
    Ok(Area {
        description: element.text_of("areaDesc").unwrap_or_default().to_owned(),
        polygons,
        circles,
    })
}

fn references(text: Option<&str>) -> Vec<Reference> {
    text.unwrap_or_default()
        .split_whitespace()
        .filter_map(|triple| {
            let mut parts = triple.split(',');
            let (sender, identifier) = (parts.next()?, parts.next()?);
            Some(Reference {
                sender: sender.to_owned(),
                identifier: identifier.to_owned(),
            })
        })
        .collect()
}

/// Reads `root` (an `<alert>`) or says why it cannot be used.
pub fn read(root: &Element) -> Result<IncomingAlert, String> {
    if root.name != "alert" {
        return Err(format!("expected a CAP <alert>, found <{}>", root.name));
    }
    let message_type = match required(root, "msgType")? {
        "Alert" => MessageType::Alert,
        "Update" => MessageType::Update,
        "Cancel" => MessageType::Cancel,
        _ => MessageType::Other,
    };
    let info = chosen_info(root);
    let info_text = |name: &str| info.and_then(|info| info.text_of(name));
    let areas = info
        .map(|info| info.children_named("area").map(area).collect())
        .transpose()?
        .unwrap_or_default();
    Ok(IncomingAlert {
        identifier: required(root, "identifier")?.to_owned(),
        sender: required(root, "sender")?.to_owned(),
        sent: moment(required(root, "sent")?, "sent")?,
        actual: root.text_of("status") == Some("Actual"),
        message_type,
        references: references(root.text_of("references")),
        event: info_text("event").unwrap_or("Peringatan dini").to_owned(),
        severity: from_cap_word(info_text("severity"), Severity::parse)
            .unwrap_or(Severity::Unknown),
        cap: CapFields {
            event: info_text("event").map(str::to_owned),
            cap_category: from_cap_word(info_text("category"), CapCategory::parse),
            urgency: from_cap_word(info_text("urgency"), Urgency::parse),
            severity: from_cap_word(info_text("severity"), Severity::parse),
            certainty: from_cap_word(info_text("certainty"), Certainty::parse),
            instruction: info_text("instruction").map(str::to_owned),
            response_type: from_cap_word(info_text("responseType"), ResponseType::parse),
        },
        headline: info_text("headline")
            .or(info_text("event"))
            .unwrap_or("Peringatan dini")
            .to_owned(),
        description: info_text("description").unwrap_or_default().to_owned(),
        instruction: info_text("instruction").map(str::to_owned),
        expires: info_text("expires")
            .map(|text| moment(text, "expires"))
            .transpose()?,
        areas,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_words_become_the_service_values() {
        assert_eq!(
            from_cap_word(Some("Met"), CapCategory::parse),
            Some(CapCategory::Met)
        );
        assert_eq!(
            from_cap_word(Some("CBRNE"), CapCategory::parse),
            Some(CapCategory::Cbrne)
        );
        assert_eq!(
            from_cap_word(Some("AllClear"), ResponseType::parse),
            Some(ResponseType::AllClear)
        );
        assert_eq!(from_cap_word(Some("Whatever"), Severity::parse), None);
    }

    #[test]
    fn circles_polygons_and_references_parse() {
        assert_eq!(
            circle("-5.11,105.3 2.5").map(|c| c.radius_km),
            Some(2.5),
            "a circle"
        );
        assert!(circle("-5.11,105.3").is_none());
        assert!(polygon("1,1 1,2 2,2 1,1").is_some());
        assert!(polygon("1,1 1,2 2,2").is_none(), "too few points");
        assert!(polygon("1,1 1,2 2,2 2,1").is_none(), "not closed");
        assert!(polygon("1,1 1,2 x,2 1,1").is_none());
        assert_eq!(
            references(Some("a@b,ID-1,2026-01-01T00:00:00+07:00 a@b,ID-2,x")),
            vec![
                Reference {
                    sender: "a@b".into(),
                    identifier: "ID-1".into()
                },
                Reference {
                    sender: "a@b".into(),
                    identifier: "ID-2".into()
                }
            ]
        );
    }
}
