//! Liveness and readiness probes for orchestrators and load balancers.

use std::time::Duration;

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::Db;
use crate::error::ApiError;
use crate::openapi::ServiceUnavailable;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok` when alive, `ready` when the database answers.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up and serving HTTP; it does not touch the database.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Alive", body = HealthStatus)),
)]
#[get("/health/live")]
pub async fn live() -> web::Json<HealthStatus> {
    web::Json(HealthStatus { status: "ok" })
}

/// The service can serve requests: the database and the attachment store answer
/// within 2 seconds each, and the instance is not stopping (after SIGTERM it is 503, so
/// that balancers send it nothing new).
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = HealthStatus),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/health/ready")]
pub async fn ready(
    db: web::Data<Db>,
    storage: web::Data<crate::attachments::Storage>,
    shutdown: web::Data<crate::shutdown::Shutdown>,
) -> Result<web::Json<HealthStatus>, ApiError> {
    if shutdown.has_begun() {
        return Err(ApiError::Unavailable("the instance is stopping".into()));
    }
    actix_web::rt::time::timeout(Duration::from_secs(2), db.ping())
        .await
        .map_err(|_| ApiError::Unavailable("the database did not answer in time".into()))??;
    actix_web::rt::time::timeout(Duration::from_secs(2), storage.check())
        .await
        .map_err(|_| {
            ApiError::Unavailable("the attachment store did not answer in time".into())
        })??;
    Ok(web::Json(HealthStatus { status: "ready" }))
}
