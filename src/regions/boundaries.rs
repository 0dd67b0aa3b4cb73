//! Kelurahan and kecamatan areas (SPEC §12). `kim-api regions import-boundaries`
//! loads them from GeoJSON; with them a point names its kelurahan, and a KIM's place
//! is checked against its own. Without them everything works as before.
//!
//! Each area is stored as its GeoJSON geometry with its bounding box: a lookup reads
//! only the few areas whose box holds the point, and tests those exactly.

use std::path::Path;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use geo::{BoundingRect, Intersects, Validation};
use geojson::{GeoJson, GeometryValue};

use super::RegionLevel;
use crate::db::schema::{region_boundaries, regions};
use crate::db::{Db, DbConnection, now};
use crate::error::ApiError;

/// Largest boundary file accepted: Kota Metro's 27 areas at survey detail are a few
/// MiB; anything far beyond is not a boundary file.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A point, WGS 84.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub latitude: f64,
    pub longitude: f64,
}

/// One area as imported: its region code and (multi)polygon.
#[derive(Debug, Clone)]
pub struct Area {
    pub code: String,
    pub shape: geo::MultiPolygon<f64>,
}

/// Where a point lies, as far as loaded boundaries tell.
#[derive(Debug, Clone, PartialEq)]
pub enum Placed {
    /// In this kelurahan, of this kecamatan.
    Kelurahan { code: String, kecamatan: String },
    /// Boundaries are loaded and the point is in none of the kelurahan.
    Outside,
    /// No kelurahan boundaries are loaded: nothing can be said.
    Unknown,
}

/// Reads a GeoJSON FeatureCollection of areas: each feature a Polygon or MultiPolygon
/// in WGS 84 with its Kemendagri code in `properties.code` (or `kode`,
/// `kode_wilayah`). Every problem is named, by feature, all at once.
pub fn parse(text: &str) -> Result<Vec<Area>, Vec<String>> {
    let document: GeoJson = text
        .parse()
        .map_err(|error| vec![format!("not GeoJSON: {error}")])?;
    let GeoJson::FeatureCollection(collection) = document else {
        return Err(vec!["expected a FeatureCollection".to_owned()]);
    };
    if let Some(crs) = collection
        .foreign_members
        .as_ref()
        .and_then(|members| members.get("crs"))
    {
        let named = crs.to_string();
        if !(named.contains("CRS84") || named.contains("4326")) {
            return Err(vec![format!(
                "coordinates must be WGS 84 longitude/latitude (RFC 7946); the file names {named}"
            )]);
        }
    }
    let mut areas = Vec::new();
    let mut problems = Vec::new();
    for (index, feature) in collection.features.iter().enumerate() {
        let code = ["code", "kode", "kode_wilayah"].iter().find_map(|key| {
            feature
                .property(key)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
        });
        let label = match code {
            Some(code) => format!("feature {index} ({code})"),
            None => format!("feature {index}"),
        };
        let Some(code) = code.filter(|code| !code.is_empty()) else {
            problems.push(format!("{label}: no `code` property"));
            continue;
        };
        match feature
            .geometry
            .as_ref()
            .map(|geometry| shape_of(&geometry.value))
        {
            Some(Ok(shape)) => areas.push(Area {
                code: code.to_owned(),
                shape,
            }),
            Some(Err(problem)) => problems.push(format!("{label}: {problem}")),
            None => problems.push(format!("{label}: no geometry")),
        }
    }
    if areas.is_empty() && problems.is_empty() {
        problems.push("the collection holds no feature".to_owned());
    }
    if problems.is_empty() {
        Ok(areas)
    } else {
        Err(problems)
    }
}

/// A Polygon or MultiPolygon whose rings are closed, long enough, inside WGS 84's
/// ranges, and valid (no self-intersection, holes inside their shell).
fn shape_of(value: &GeometryValue) -> Result<geo::MultiPolygon<f64>, String> {
    let polygons = match value {
        GeometryValue::Polygon { coordinates } => vec![coordinates],
        GeometryValue::MultiPolygon { coordinates } => coordinates.iter().collect(),
        other => return Err(format!("a {} is no area", other.type_name())),
    };
    for (p, rings) in polygons.iter().enumerate() {
        if rings.is_empty() {
            return Err(format!("polygon {p} has no ring"));
        }
        for (r, ring) in rings.iter().enumerate() {
            if ring.len() < 4 || ring.first() != ring.last() {
                return Err(format!(
                    "polygon {p} ring {r} is not closed (at least 4 positions, the last equal to the first)"
                ));
            }
            let outside_wgs84 = ring.iter().any(|position| match position.as_slice() {
                [longitude, latitude, ..] => {
                    !(-180.0..=180.0).contains(longitude) || !(-90.0..=90.0).contains(latitude)
                }
                _ => true,
            });
            if outside_wgs84 {
                return Err(format!(
                    "polygon {p} ring {r} has a position outside WGS 84 longitude/latitude"
                ));
            }
        }
    }
    let shape: geo::MultiPolygon<f64> = match geo::Geometry::<f64>::try_from(value) {
        Ok(geo::Geometry::Polygon(polygon)) => polygon.into(),
        Ok(geo::Geometry::MultiPolygon(shape)) => shape,
        Ok(_) => return Err("not an area".to_owned()),
        Err(error) => return Err(error.to_string()),
    };
    if let Err(invalid) = shape.check_validation() {
        return Err(format!("invalid area: {invalid}"));
    }
    Ok(shape)
}

/// Why an import was refused: every problem found. Nothing was stored.
#[derive(Debug)]
pub struct ImportRefused(pub Vec<String>);

/// Reads the GeoJSON file at `path` and stores its areas in one transaction: all of
/// them, or (on any problem) none.
pub async fn import(db: &Db, path: &Path) -> Result<usize, ImportRefused> {
    let areas = read_file(path)?;
    db.write(move |conn| store(conn, &areas))
        .await
        .map_err(|error| ImportRefused(vec![format!("database: {error}")]))?
}

fn read_file(path: &Path) -> Result<Vec<Area>, ImportRefused> {
    let refuse = |problem: String| ImportRefused(vec![problem]);
    let size = std::fs::metadata(path)
        .map_err(|error| refuse(format!("cannot read {}: {error}", path.display())))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(refuse(format!(
            "{} is {size} bytes; a boundary file may have at most {MAX_FILE_BYTES}",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| refuse(format!("cannot read {}: {error}", path.display())))?;
    parse(&text).map_err(ImportRefused)
}

#[derive(Debug, Insertable)]
#[diesel(table_name = region_boundaries)]
struct NewBoundary<'a> {
    code: &'a str,
    geometry: String,
    min_latitude: f64,
    max_latitude: f64,
    min_longitude: f64,
    max_longitude: f64,
    imported_at: NaiveDateTime,
}

/// Stores `areas`, replacing earlier boundaries of the same codes, in the caller's
/// transaction. Every code must name a known kecamatan or kelurahan; a code twice in
/// the file is refused (which one would be meant?). Everything is checked before the
/// first write, so a refusal leaves the stored boundaries as they were.
fn store(
    conn: &mut DbConnection,
    areas: &[Area],
) -> Result<Result<usize, ImportRefused>, ApiError> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let at = now();
    let mut rows = Vec::with_capacity(areas.len());
    let codes: Vec<&str> = areas.iter().map(|area| area.code.as_str()).collect();
    let levels: std::collections::HashMap<String, RegionLevel> = regions::table
        .filter(regions::code.eq_any(&codes))
        .select((regions::code, regions::level))
        .load::<(String, RegionLevel)>(conn)?
        .into_iter()
        .collect();
    for area in areas {
        if !seen.insert(area.code.as_str()) {
            problems.push(format!("{}: given twice", area.code));
            continue;
        }
        match levels.get(&area.code).copied() {
            Some(RegionLevel::Kecamatan | RegionLevel::Kelurahan) => {}
            Some(level) => problems.push(format!(
                "{}: a {} has no boundary here (kecamatan and kelurahan only)",
                area.code,
                level.as_str()
            )),
            None => problems.push(format!("{}: no region has this code", area.code)),
        }
        let Some(bounds) = area.shape.bounding_rect() else {
            problems.push(format!("{}: the area is empty", area.code));
            continue;
        };
        rows.push(NewBoundary {
            code: &area.code,
            geometry: serde_json::to_string(&GeometryValue::from(&area.shape))
                .map_err(ApiError::internal)?,
            min_latitude: bounds.min().y,
            max_latitude: bounds.max().y,
            min_longitude: bounds.min().x,
            max_longitude: bounds.max().x,
            imported_at: at,
        });
    }
    if !problems.is_empty() {
        return Ok(Err(ImportRefused(problems)));
    }
    for row in &rows {
        diesel::delete(region_boundaries::table.find(row.code)).execute(conn)?;
        diesel::insert_into(region_boundaries::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(Ok(rows.len()))
}

/// The stored boundary of `code` as a GeoJSON geometry, when there is one.
pub fn geometry_of(conn: &mut DbConnection, code: &str) -> Result<Option<String>, ApiError> {
    Ok(region_boundaries::table
        .find(code)
        .select(region_boundaries::geometry)
        .first(conn)
        .optional()?)
}

/// Where `point` lies among the kelurahan. On a shared edge the lower code wins, so
/// the answer does not depend on the order rows come back in.
pub fn kelurahan_at(conn: &mut DbConnection, point: Point) -> Result<Placed, ApiError> {
    let kelurahan = || regions::level.eq(RegionLevel::Kelurahan);
    let candidates: Vec<(String, Option<String>, String)> = region_boundaries::table
        .inner_join(regions::table)
        .filter(kelurahan())
        .filter(region_boundaries::min_latitude.le(point.latitude))
        .filter(region_boundaries::max_latitude.ge(point.latitude))
        .filter(region_boundaries::min_longitude.le(point.longitude))
        .filter(region_boundaries::max_longitude.ge(point.longitude))
        .order(regions::code)
        .select((
            regions::code,
            regions::parent_code,
            region_boundaries::geometry,
        ))
        .load(conn)?;
    let at = geo::Point::new(point.longitude, point.latitude);
    for (code, kecamatan, geometry) in candidates {
        if shape_stored(&geometry)?.intersects(&at) {
            let kecamatan = kecamatan
                .ok_or_else(|| ApiError::internal(format!("kelurahan {code} has no kecamatan")))?;
            return Ok(Placed::Kelurahan { code, kecamatan });
        }
    }
    Ok(if kelurahan_loaded(conn)? {
        Placed::Outside
    } else {
        Placed::Unknown
    })
}

/// Whether any kelurahan boundary is loaded: then points name their kelurahan.
pub fn kelurahan_loaded(conn: &mut DbConnection) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        region_boundaries::table
            .inner_join(regions::table)
            .filter(regions::level.eq(RegionLevel::Kelurahan)),
    ))
    .get_result(conn)?)
}

/// Whether `point` lies in the stored area of `code`; `None` when it has none.
pub fn contains(
    conn: &mut DbConnection,
    code: &str,
    point: Point,
) -> Result<Option<bool>, ApiError> {
    let Some(geometry) = geometry_of(conn, code)? else {
        return Ok(None);
    };
    let at = geo::Point::new(point.longitude, point.latitude);
    Ok(Some(shape_stored(&geometry)?.intersects(&at)))
}

/// An area as stored by [`store`].
pub fn shape_stored(geometry: &str) -> Result<geo::MultiPolygon<f64>, ApiError> {
    let value: GeometryValue = serde_json::from_str(geometry).map_err(ApiError::internal)?;
    match geo::Geometry::<f64>::try_from(&value).map_err(ApiError::internal)? {
        geo::Geometry::Polygon(polygon) => Ok(polygon.into()),
        geo::Geometry::MultiPolygon(shape) => Ok(shape),
        _ => Err(ApiError::internal("a stored boundary is not an area")),
    }
}
