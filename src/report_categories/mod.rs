//! Report categories (SPEC §3): the stable codes citizen reports are filed under.

use actix_web::{get, web};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::MaybeCaller;
use crate::db::schema::report_categories;
use crate::db::{Db, utc};
use crate::error::ApiError;
use crate::extract::ListQuery;
use crate::openapi::{InvalidQuery, ServiceUnavailable, Unauthorized};
use crate::pagination::{Page, PageParams};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = report_categories)]
struct CategoryRow {
    id: i64,
    code: String,
    name: String,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportCategory {
    pub id: i64,
    /// Stable code that reports refer to.
    #[schema(example = "infrastruktur")]
    pub code: String,
    #[schema(example = "Infrastruktur (jalan, jembatan, drainase, penerangan)")]
    pub name: String,
    /// A retired category stays on old reports but takes no new ones.
    pub active: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub version: i64,
}

impl From<CategoryRow> for ReportCategory {
    fn from(row: CategoryRow) -> Self {
        ReportCategory {
            id: row.id,
            code: row.code,
            name: row.name,
            active: row.active,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CategoryFilter {
    /// `true` for categories that take new reports, `false` for retired ones.
    active: Option<bool>,
}

/// Lists report categories in code order.
///
/// Anonymous (a token, if sent, must be valid).
#[utoipa::path(
    tag = "reference data",
    security((), ("bearer" = [])),
    params(CategoryFilter, PageParams),
    responses(
        (status = 200, description = "One page of categories", body = Page<ReportCategory>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/report-categories")]
pub async fn list_categories(
    _anyone: MaybeCaller,
    db: web::Data<Db>,
    query: ListQuery<CategoryFilter>,
) -> Result<web::Json<Page<ReportCategory>>, ApiError> {
    let ListQuery { page, filter } = query;
    let after: Option<String> = page.after()?;
    let categories = db
        .read(move |conn| {
            let mut select = report_categories::table
                .select(CategoryRow::as_select())
                .order(report_categories::code)
                .limit(page.fetch_limit())
                .into_boxed();
            if let Some(active) = filter.active {
                select = select.filter(report_categories::active.eq(active));
            }
            if let Some(after) = after {
                select = select.filter(report_categories::code.gt(after));
            }
            let rows: Vec<ReportCategory> =
                select.load(conn)?.into_iter().map(Into::into).collect();
            Ok(Page::from_rows(rows, &page, |category| {
                category.code.clone()
            }))
        })
        .await?;
    Ok(web::Json(categories))
}
