//! Who an incoming alert is for (SPEC §12): the KIMs whose location lies in one of its
//! polygons or circles; when none does, the kecamatan and kelurahan of Kota Metro its
//! area descriptions or its description name ("… khususnya di METRO PUSAT, METRO
//! UTARA"), compared without case or accents.
//!
//! Names are only read when the alert's shapes (if it has any) reach Kota Metro: other
//! regencies have places called like ours (many a Purwosari or Banjarsari in Lampung),
//! and an alert drawn over them is not ours.

use geo::{BoundingRect, Contains, Distance, Haversine, Intersects, Point, Polygon, Rect};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::cap::{Circle, IncomingAlert};
use crate::audience::{Audience, AudienceScope};
use crate::regions::RegionLevel;

/// An active KIM with a location.
#[derive(Debug, Clone, Copy)]
pub struct PlacedKim {
    pub id: i64,
    pub point: Point<f64>,
}

/// A region of the kota, as names are matched against it.
#[derive(Debug, Clone)]
pub struct NamedRegion {
    pub code: String,
    pub level: RegionLevel,
    pub parent_code: Option<String>,
    pub name: String,
}

/// What the service knows of the kota when matching.
pub struct Kota<'a> {
    /// Where the kota lies (its boundaries' extent, or the box places are checked in).
    pub extent: Rect<f64>,
    pub kims: &'a [PlacedKim],
    pub regions: &'a [NamedRegion],
}

#[derive(Debug, Clone, PartialEq)]
pub enum Matched {
    Audience(Audience),
    /// Why nobody here is concerned; written to the poll log.
    Nobody(&'static str),
}

struct Shapes<'a> {
    polygons: Vec<(Rect<f64>, &'a Polygon<f64>)>,
    circles: Vec<&'a Circle>,
}

impl<'a> Shapes<'a> {
    fn of(alert: &'a IncomingAlert) -> Shapes<'a> {
        let areas = alert.areas.iter();
        Shapes {
            polygons: areas
                .clone()
                .flat_map(|area| &area.polygons)
                .filter_map(|polygon| Some((polygon.bounding_rect()?, polygon)))
                .collect(),
            circles: areas.flat_map(|area| &area.circles).collect(),
        }
    }

    fn cover(&self, point: Point<f64>) -> bool {
        self.polygons
            .iter()
            .any(|(extent, polygon)| extent.intersects(&point) && polygon.intersects(&point))
            || self
                .circles
                .iter()
                .any(|circle| Haversine.distance(circle.centre, point) <= circle.radius_km * 1000.0)
    }

    /// Whether a shape reaches `extent`; a circle by its centre's distance to it.
    fn reach(&self, extent: &Rect<f64>) -> bool {
        self.polygons
            .iter()
            .any(|(bounds, polygon)| bounds.intersects(extent) && polygon.intersects(extent))
            || self.circles.iter().any(|circle| {
                let nearest = Point::new(
                    circle.centre.x().clamp(extent.min().x, extent.max().x),
                    circle.centre.y().clamp(extent.min().y, extent.max().y),
                );
                extent.contains(&circle.centre)
                    || Haversine.distance(circle.centre, nearest) <= circle.radius_km * 1000.0
            })
    }
}

/// Lower case, accents dropped, anything but letters and digits a single space, with a
/// space at both ends so that names match whole words only.
pub fn folded(text: &str) -> String {
    let mut out = String::from(" ");
    for character in text.nfd().filter(|c| !is_combining_mark(*c)) {
        if character.is_alphanumeric() {
            out.extend(character.to_lowercase());
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// The regions `text` names. BMKG lists places ("… khususnya di METRO PUSAT, METRO
/// UTARA, PEKALONGAN."), so a name counts where it ends an item of such a list: after
/// whatever introduces it ("khususnya di", "Kecamatan") and before a separator. That
/// keeps "Metro Kibang" (Lampung Timur) from naming our kelurahan Metro, at the price
/// of missing a name in the middle of a sentence. Per item, the longest name wins:
/// "Kota Metro" is the kota, not the kelurahan Metro.
fn regions_named<'a>(text: &str, regions: &'a [NamedRegion]) -> Vec<&'a NamedRegion> {
    let mut names: Vec<(String, &NamedRegion)> = regions
        .iter()
        .map(|region| (folded(&region.name), region))
        .filter(|(name, _)| name.trim().len() > 1)
        .collect();
    names.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    let mut named: Vec<&NamedRegion> = Vec::new();
    let items = text
        .split([',', ';', '.', ':', '(', ')', '\n'])
        .map(folded)
        .flat_map(|segment| {
            segment
                .split(" dan ")
                .flat_map(|part| part.split(" serta "))
                .map(|item| format!(" {} ", item.trim()))
                .collect::<Vec<_>>()
        });
    for item in items {
        let found = names.iter().find(|(name, _)| item.ends_with(name.as_str()));
        if let Some((_, region)) = found
            && !named.iter().any(|seen| seen.code == region.code)
        {
            named.push(region);
        }
    }
    named
}

fn audience_named(named: &[&NamedRegion], regions: &[NamedRegion]) -> Option<Audience> {
    let codes_at = |level: RegionLevel| -> Vec<String> {
        named
            .iter()
            .filter(|region| region.level == level)
            .map(|region| region.code.clone())
            .collect()
    };
    if named.iter().any(|region| region.level == RegionLevel::Kota) {
        return Some(Audience {
            scope: AudienceScope::AllKims,
            codes: vec![],
            kim_ids: vec![],
        });
    }
    let (kecamatan, mut kelurahan) = (
        codes_at(RegionLevel::Kecamatan),
        codes_at(RegionLevel::Kelurahan),
    );
    let scope = match (kecamatan.is_empty(), kelurahan.is_empty()) {
        (true, true) => return None,
        (false, true) => {
            return Some(Audience {
                scope: AudienceScope::Kecamatan,
                codes: kecamatan,
                kim_ids: vec![],
            });
        }
        _ => AudienceScope::Kelurahan,
    };
    // Both levels named: a kecamatan stands for all of its kelurahan.
    kelurahan.extend(
        regions
            .iter()
            .filter(|region| {
                region
                    .parent_code
                    .as_ref()
                    .is_some_and(|parent| kecamatan.contains(parent))
            })
            .map(|region| region.code.clone()),
    );
    kelurahan.sort();
    kelurahan.dedup();
    Some(Audience {
        scope,
        codes: kelurahan,
        kim_ids: vec![],
    })
}

/// The audience of `alert` in `kota`, or why there is none.
pub fn audience_of(alert: &IncomingAlert, kota: &Kota<'_>) -> Matched {
    let shapes = Shapes::of(alert);
    if alert.has_shapes() {
        let mut kim_ids: Vec<i64> = kota
            .kims
            .iter()
            .filter(|kim| shapes.cover(kim.point))
            .map(|kim| kim.id)
            .collect();
        if !kim_ids.is_empty() {
            kim_ids.sort_unstable();
            return Matched::Audience(Audience {
                scope: AudienceScope::Kims,
                codes: vec![],
                kim_ids,
            });
        }
        if !shapes.reach(&kota.extent) {
            return Matched::Nobody("the alert's areas lie outside Kota Metro");
        }
    }
    let mut text: Vec<&str> = alert
        .areas
        .iter()
        .map(|area| area.description.as_str())
        .collect();
    text.push(&alert.description);
    let named = regions_named(&text.join("\n"), kota.regions);
    match audience_named(&named, kota.regions) {
        Some(audience) => Matched::Audience(audience),
        None => Matched::Nobody(
            "no KIM location lies in the alert's areas and it names no kecamatan or kelurahan of Kota Metro",
        ),
    }
}
