//! Kemendagri region codes (SPEC §3): provinsi → kota → kecamatan → kelurahan.

use actix_web::{get, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::MaybeCaller;
use crate::db::schema::regions;
use crate::db::{Db, DbConnection};
use crate::error::{ApiError, FieldIssue};
use crate::extract::ListQuery;
use crate::openapi::{InvalidQuery, ServiceUnavailable, Unauthorized};
use crate::pagination::{Page, PageParams};

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
