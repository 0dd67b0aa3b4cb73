//! Reports on a map for dashboards (SPEC §7): the list, with its filters and access
//! rules, as a GeoJSON (RFC 7946) FeatureCollection of points. Only reports with a
//! location appear, with properties no one's privacy depends on: no title, description,
//! address, reporter or tracking code.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use geojson::{Feature, FeatureCollection, Geometry, JsonObject, feature::Id};
use serde::Serialize;
use utoipa::ToSchema;

use super::listing::{ReportFilter, Rows, Scope, load_rows, next_cursor};
use super::model::{Channel, Kind, Privacy, ReportRow, ReportStatus};
use crate::auth::Caller;
use crate::db::{Db, utc};
use crate::error::{ApiError, FieldIssue};
use crate::extract::ListQuery;
use crate::openapi::{Forbidden, InvalidQuery, ServiceUnavailable, Unauthorized};
use crate::pagination::PageParams;

pub use crate::regions::GEOJSON;

/// What a map point tells about its report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MapProperties {
    pub id: i64,
    pub kind: Kind,
    #[schema(example = "infrastruktur")]
    pub category_code: String,
    pub status: ReportStatus,
    pub privacy: Privacy,
    #[schema(example = "18.72.01.1001")]
    pub kelurahan_code: String,
    #[schema(example = "18.72.01")]
    pub kecamatan_code: String,
    pub kim_id: Option<i64>,
    pub channel: Channel,
    pub assigned_agency: Option<String>,
    pub overdue: bool,
    pub created_at: DateTime<Utc>,
    pub verify_due_at: DateTime<Utc>,
    pub response_due_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl MapProperties {
    fn of(row: &ReportRow, at: chrono::NaiveDateTime) -> Result<MapProperties, ApiError> {
        Ok(MapProperties {
            id: row.id,
            kind: row.kind,
            category_code: row.category_code.clone(),
            status: row.status,
            privacy: row.privacy,
            kelurahan_code: row.kelurahan_code.clone(),
            kecamatan_code: row.kecamatan_code.clone(),
            kim_id: row.kim_id,
            channel: row.channel,
            assigned_agency: row.assigned_agency.clone(),
            overdue: row.overdue(at),
            created_at: utc(row.created_at),
            verify_due_at: utc(row.verify_due_at),
            response_due_at: row.response_due_at.map(utc),
            resolved_at: row.resolved_at.map(utc),
        })
    }
}

// The document's picture of what the geojson crate writes.

#[derive(ToSchema)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
enum FeatureCollectionType {
    FeatureCollection,
}

#[derive(ToSchema)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
enum FeatureType {
    Feature,
}

#[derive(ToSchema)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
enum PointType {
    Point,
}

/// A GeoJSON Point.
#[derive(ToSchema)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
struct PointGeometry {
    #[schema(rename = "type")]
    kind: PointType,
    /// `[longitude, latitude]`, WGS 84.
    #[schema(min_items = 2, max_items = 2, example = json!([105.3067, -5.1131]))]
    coordinates: Vec<f64>,
}

/// A report as a GeoJSON Feature; `id` is the report's id.
#[derive(ToSchema)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
struct ReportFeature {
    #[schema(rename = "type")]
    kind: FeatureType,
    id: i64,
    geometry: PointGeometry,
    properties: MapProperties,
}

/// A GeoJSON FeatureCollection of one page of located reports.
#[derive(ToSchema)]
#[expect(dead_code, reason = "read only by the OpenAPI derive")]
pub struct ReportMap {
    #[schema(rename = "type")]
    kind: FeatureCollectionType,
    features: Vec<ReportFeature>,
    /// The next page, as in JSON lists (a foreign member).
    next_cursor: Option<String>,
}

fn feature(row: &ReportRow, at: chrono::NaiveDateTime) -> Result<Option<Feature>, ApiError> {
    let (Some(latitude), Some(longitude)) = (row.latitude, row.longitude) else {
        return Ok(None);
    };
    let properties = match serde_json::to_value(MapProperties::of(row, at)?) {
        Ok(serde_json::Value::Object(properties)) => properties,
        _ => return Err(ApiError::internal("map properties are not an object")),
    };
    Ok(Some(Feature {
        bbox: None,
        geometry: Some(Geometry::new_point([longitude, latitude])),
        id: Some(Id::Number(row.id.into())),
        properties: Some(properties),
        foreign_members: None,
    }))
}

pub async fn answer(
    caller: Caller,
    db: web::Data<Db>,
    query: ListQuery<ReportFilter>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filter } = query;
    let collection = db
        .read(move |conn| {
            if filter.syncs() {
                return Err(ApiError::InvalidQuery(vec![FieldIssue::new(
                    "updated_since",
                    "json_lists_only",
                    "maps are not synced: list the map again",
                    "peta tidak disinkronkan: ambil ulang petanya",
                )]));
            }
            let Rows {
                mut rows, upto, at, ..
            } = load_rows(conn, &caller, &filter, &page, Scope::Located)?;
            let next = next_cursor(&mut rows, &page, &upto);
            let mut features = Vec::with_capacity(rows.len());
            for (row, _) in &rows {
                features.extend(feature(row, at)?);
            }
            let mut members = JsonObject::new();
            members.insert("next_cursor".to_owned(), next.into());
            Ok(FeatureCollection {
                bbox: None,
                features,
                foreign_members: Some(members),
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(GEOJSON)
        .body(collection.to_string()))
}

/// The list of reports as a GeoJSON FeatureCollection of points for dashboard maps:
/// the same filters, paging and access rules as `GET /api/v1/reports`, only reports
/// with a location, and no personal data. `updated_since` is for JSON lists only.
#[utoipa::path(
    tag = "reports",
    params(ReportFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of located reports", content((ReportMap = "application/geo+json"))),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/reports.geojson")]
pub async fn reports_map(
    caller: Caller,
    db: web::Data<Db>,
    query: ListQuery<ReportFilter>,
) -> Result<HttpResponse, ApiError> {
    answer(caller, db, query).await
}
