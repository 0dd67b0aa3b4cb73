//! Points on the map (WGS 84) inside Kota Metro: where a report happens, where a KIM
//! meets.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Checks;
use crate::error::FieldIssue;

/// A generous box around Kota Metro (WGS 84): points elsewhere are refused.
pub const METRO_LATITUDE: (f64, f64) = (-5.25, -4.95);
pub const METRO_LONGITUDE: (f64, f64) = (105.15, 105.45);

/// A point on the map, WGS 84.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    #[schema(minimum = -90, maximum = 90, example = -5.1131)]
    pub latitude: f64,
    #[schema(minimum = -180, maximum = 180, example = 105.3067)]
    pub longitude: f64,
}

impl Location {
    /// Both coordinates or neither, inside Kota Metro; problems are reported on
    /// `fields` (the latitude's and the longitude's names as the client sent them).
    pub fn check(
        checks: &mut Checks,
        latitude: Option<f64>,
        longitude: Option<f64>,
        fields: (&str, &str),
    ) -> Option<Location> {
        let (latitude_field, longitude_field) = fields;
        match (latitude, longitude) {
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                let missing = if latitude.is_none() {
                    latitude_field
                } else {
                    longitude_field
                };
                checks.push(FieldIssue::new(
                    missing,
                    "required",
                    "latitude and longitude come together",
                    "latitude dan longitude harus diisi bersama",
                ));
                None
            }
            (Some(latitude), Some(longitude)) => {
                let mut ok = true;
                if !(-90.0..=90.0).contains(&latitude) {
                    checks.push(FieldIssue::new(
                        latitude_field,
                        "out_of_range",
                        "must be between -90 and 90",
                        "harus antara -90 dan 90",
                    ));
                    ok = false;
                }
                if !(-180.0..=180.0).contains(&longitude) {
                    checks.push(FieldIssue::new(
                        longitude_field,
                        "out_of_range",
                        "must be between -180 and 180",
                        "harus antara -180 dan 180",
                    ));
                    ok = false;
                }
                let in_metro = (METRO_LATITUDE.0..=METRO_LATITUDE.1).contains(&latitude)
                    && (METRO_LONGITUDE.0..=METRO_LONGITUDE.1).contains(&longitude);
                if ok && !in_metro {
                    checks.push(FieldIssue::new(
                        latitude_field,
                        "outside_metro",
                        "the point lies outside Kota Metro",
                        "titik berada di luar Kota Metro",
                    ));
                    ok = false;
                }
                ok.then_some(Location {
                    latitude,
                    longitude,
                })
            }
        }
    }
}
