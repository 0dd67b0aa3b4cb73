//! The `area`s of an alert: one per region its bulletin addresses, named, coded, and
//! drawn when the region's boundary is loaded.

use diesel::prelude::*;

use super::document::AlertArea;
use crate::audience::{Audience, AudienceScope};
use crate::db::DbConnection;
use crate::db::schema::{kims, region_boundaries, regions};
use crate::error::ApiError;
use crate::regions::RegionLevel;
use crate::regions::boundaries::shape_stored;

/// The areas `audience` covers: the named kecamatan or kelurahan, the kelurahan of the
/// named KIMs, or the whole kota (drawn as its kecamatan) for `public` and `all_kims`.
pub fn of(conn: &mut DbConnection, audience: &Audience) -> Result<Vec<AlertArea>, ApiError> {
    match audience.scope {
        AudienceScope::Kecamatan | AudienceScope::Kelurahan => regions_named(conn, &audience.codes),
        AudienceScope::Kims => {
            let mut codes: Vec<String> = kims::table
                .filter(kims::id.eq_any(&audience.kim_ids))
                .select(kims::kelurahan_code)
                .distinct()
                .load(conn)?;
            codes.sort();
            regions_named(conn, &codes)
        }
        AudienceScope::Public | AudienceScope::AllKims => whole_kota(conn),
    }
}

fn regions_named(conn: &mut DbConnection, codes: &[String]) -> Result<Vec<AlertArea>, ApiError> {
    let named: Vec<(String, String, Option<String>)> = regions::table
        .left_join(region_boundaries::table)
        .filter(regions::code.eq_any(codes))
        .order(regions::code)
        .select((
            regions::code,
            regions::name,
            region_boundaries::geometry.nullable(),
        ))
        .load(conn)?;
    named
        .into_iter()
        .map(|(code, name, geometry)| {
            Ok(AlertArea {
                description: name,
                polygons: geometry
                    .as_deref()
                    .map(polygons)
                    .transpose()?
                    .unwrap_or_default(),
                codes: vec![code],
            })
        })
        .collect()
}

fn whole_kota(conn: &mut DbConnection) -> Result<Vec<AlertArea>, ApiError> {
    let kotas: Vec<(String, String)> = regions::table
        .filter(regions::level.eq(RegionLevel::Kota))
        .order(regions::code)
        .select((regions::code, regions::name))
        .load(conn)?;
    let mut areas = Vec::with_capacity(kotas.len());
    for (code, name) in kotas {
        let drawn: Vec<String> = regions::table
            .inner_join(region_boundaries::table)
            .filter(regions::parent_code.eq(&code))
            .filter(regions::level.eq(RegionLevel::Kecamatan))
            .order(regions::code)
            .select(region_boundaries::geometry)
            .load(conn)?;
        let mut shapes = Vec::new();
        for geometry in &drawn {
            shapes.extend(polygons(geometry)?);
        }
        areas.push(AlertArea {
            description: name,
            codes: vec![code],
            polygons: shapes,
        });
    }
    Ok(areas)
}

/// A stored area as CAP polygons: each outer ring as `lat,lon` pairs (CAP has no holes).
fn polygons(geometry: &str) -> Result<Vec<String>, ApiError> {
    Ok(shape_stored(geometry)?
        .0
        .iter()
        .map(|polygon| {
            polygon
                .exterior()
                .coords()
                .map(|at| format!("{},{}", at.y, at.x))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect())
}
