//! Kemendagri region codes (SPEC §3): provinsi → kota → kecamatan → kelurahan, and
//! the areas of kecamatan and kelurahan when their boundaries are loaded (SPEC §12).

pub mod boundaries;

use actix_web::{HttpResponse, get, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::MaybeCaller;
use crate::db::schema::regions;
use crate::db::{Db, DbConnection};
use crate::error::{ApiError, FieldIssue};
use crate::extract::ListQuery;
use crate::openapi::{InvalidPath, InvalidQuery, NotFound, ServiceUnavailable, Unauthorized};
use crate::pagination::{Page, PageParams};

/// GeoJSON's media type (RFC 7946).
pub const GEOJSON: &str = "application/geo+json";

crate::text_enum! {
    pub enum RegionLevel {
        Provinsi = "provinsi",
        Kota = "kota",
        Kecamatan = "kecamatan",
        Kelurahan = "kelurahan",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize, ToSchema)]
#[diesel(table_name = regions)]
pub struct Region {
    /// Kemendagri code, e.g. `18.72.01.1001`.
    #[schema(example = "18.72.01")]
    pub code: String,
    /// `provinsi`, `kota`, `kecamatan` or `kelurahan`.
    pub level: RegionLevel,
    /// The enclosing region; `null` for a province.
    #[schema(example = "18.72")]
    pub parent_code: Option<String>,
    #[schema(example = "Metro Pusat")]
    pub name: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RegionFilter {
    /// Only regions of this level.
    level: Option<RegionLevel>,
    /// Only the direct children of this region code; it must exist.
    #[param(example = "18.72")]
    parent: Option<String>,
}

/// Lists regions in code order.
///
/// Anonymous (a token, if sent, must be valid). `parent=18.72` lists the kecamatan of Kota Metro;
/// `level=kelurahan&parent=18.72.01` the kelurahan of Metro Pusat.
#[utoipa::path(
    tag = "reference data",
    security((), ("bearer" = [])),
    params(RegionFilter, PageParams),
    responses(
        (status = 200, description = "One page of regions", body = Page<Region>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/regions")]
pub async fn list_regions(
    _anyone: MaybeCaller,
    db: web::Data<Db>,
    query: ListQuery<RegionFilter>,
) -> Result<web::Json<Page<Region>>, ApiError> {
    let ListQuery { page, filter } = query;
    let after: Option<String> = page.after()?;
    let regions = db
        .read(move |conn| {
            if let Some(parent) = &filter.parent
                && !region_exists(conn, parent)?
            {
                return Err(ApiError::InvalidQuery(vec![FieldIssue::new(
                    "parent",
                    "unknown_region",
                    "no region has this code",
                    "tidak ada wilayah dengan kode ini",
                )]));
            }
            let mut select = regions::table
                .select(Region::as_select())
                .order(regions::code)
                .limit(page.fetch_limit())
                .into_boxed();
            if let Some(level) = filter.level {
                select = select.filter(regions::level.eq(level));
            }
            if let Some(parent) = filter.parent {
                select = select.filter(regions::parent_code.eq(parent));
            }
            if let Some(after) = after {
                select = select.filter(regions::code.gt(after));
            }
            let rows = select.load(conn)?;
            Ok(Page::from_rows(rows, &page, |region| region.code.clone()))
        })
        .await?;
    Ok(web::Json(regions))
}

/// Whether `code` names a known region.
pub fn region_exists(conn: &mut DbConnection, code: &str) -> Result<bool, ApiError> {
    let found = regions::table
        .find(code)
        .select(regions::code)
        .first::<String>(conn)
        .optional()?;
    Ok(found.is_some())
}

// The document's picture of the boundary Feature.

#[derive(ToSchema)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
enum BoundaryFeatureType {
    Feature,
}

#[derive(ToSchema)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
enum AreaGeometryType {
    Polygon,
    MultiPolygon,
}

/// A GeoJSON Polygon or MultiPolygon, WGS 84 (`[longitude, latitude]` positions).
#[derive(ToSchema)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
struct AreaGeometry {
    #[schema(rename = "type")]
    kind: AreaGeometryType,
    /// Rings of positions (Polygon), or polygons of them (MultiPolygon).
    #[schema(value_type = Vec<Object>)]
    coordinates: Vec<serde_json::Value>,
}

/// A region's area as a GeoJSON Feature; `id` is its code.
#[derive(ToSchema)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
struct BoundaryFeature {
    #[schema(rename = "type")]
    kind: BoundaryFeatureType,
    #[schema(example = "18.72.01.1001")]
    id: String,
    geometry: AreaGeometry,
    properties: Region,
}

/// The area of a kecamatan or kelurahan as a GeoJSON Feature (`application/geo+json`),
/// once its boundary is imported (`kim-api regions import-boundaries`).
///
/// Anonymous (a token, if sent, must be valid). 404 for an unknown code or a region
/// whose boundary is not loaded.
#[utoipa::path(
    tag = "reference data",
    security((), ("bearer" = [])),
    params(("code" = String, Path, description = "Kemendagri code", example = "18.72.01.1001",
        max_length = 13, pattern = r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$")),
    responses(
        (status = 200, description = "The area", body = BoundaryFeature, content_type = "application/geo+json"),
        (status = 400, response = InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/regions/{code}/boundary")]
pub async fn region_boundary(
    _anyone: MaybeCaller,
    db: web::Data<Db>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let (region, geometry) = db
        .read(move |conn| {
            let region = regions::table
                .find(&code)
                .select(Region::as_select())
                .first(conn)
                .optional()?
                .ok_or(ApiError::NotFound)?;
            let geometry = boundaries::geometry_of(conn, &code)?.ok_or(ApiError::NotFound)?;
            Ok((region, geometry))
        })
        .await?;
    let geometry: serde_json::Value =
        serde_json::from_str(&geometry).map_err(ApiError::internal)?;
    let feature = serde_json::json!({
        "type": "Feature",
        "id": region.code,
        "geometry": geometry,
        "properties": region,
    });
    Ok(HttpResponse::Ok()
        .content_type(GEOJSON)
        .body(feature.to_string()))
}
