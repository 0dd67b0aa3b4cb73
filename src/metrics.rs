//! Prometheus metrics: requests by route and status, latency, database pool state.
//!
//! Each running app owns its registry (no process-wide global), so tests can run many
//! apps in one process.

use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, get, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::db::Db;
use crate::error::{ApiError, AuthFailure};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGaugeVec,
    pool_idle: IntGaugeVec,
    outbox_unpublished: IntGauge,
    deliveries_pending: IntGauge,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("kim".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route pattern and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            ),
            &["route"],
        )?;
        let pool_connections = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Open database connections per pool"),
            &["pool"],
        )?;
        let pool_idle = IntGaugeVec::new(
            Opts::new(
                "db_pool_idle_connections",
                "Idle database connections per pool",
            ),
            &["pool"],
        )?;
        let outbox_unpublished = IntGauge::new(
            "outbox_unpublished_events",
            "Outbox events not yet handed to webhook deliveries",
        )?;
        let deliveries_pending = IntGauge::new(
            "webhook_deliveries_pending",
            "Webhook deliveries not yet delivered or failed",
        )?;
        registry.register(Box::new(outbox_unpublished.clone()))?;
        registry.register(Box::new(deliveries_pending.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            outbox_unpublished,
            deliveries_pending,
        })
    }

    /// Every label has a bounded set of values, whatever clients send: methods outside
    /// the standard ones count as `other`, routes are patterns (or `unmatched`), statuses
    /// are three digits.
    pub fn observe_request(
        &self,
        method: &Method,
        route: &str,
        status: StatusCode,
        latency: Duration,
    ) {
        let method = match *method {
            Method::GET => "GET",
            Method::HEAD => "HEAD",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
            Method::OPTIONS => "OPTIONS",
            _ => "other",
        };
        self.requests
            .with_label_values(&[method, route, status.as_str()])
            .inc();
        self.latency
            .with_label_values(&[route])
            .observe(latency.as_secs_f64());
    }

    /// `backlog`: the outbox backlog when the database answered; the gauges keep their
    /// last values otherwise, and the pool gauges still tell what is wrong.
    fn render(&self, db: &Db, backlog: Option<Backlog>) -> Result<String, ApiError> {
        if let Some(backlog) = backlog {
            self.outbox_unpublished.set(backlog.unpublished_events);
            self.deliveries_pending.set(backlog.pending_deliveries);
        }
        for (pool, connections, idle) in db.pool_states() {
            self.pool_connections
                .with_label_values(&[pool])
                .set(i64::from(connections));
            self.pool_idle
                .with_label_values(&[pool])
                .set(i64::from(idle));
        }
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .map_err(ApiError::internal)?;
        String::from_utf8(buffer).map_err(ApiError::internal)
    }
}

/// Who may read `/metrics`: anyone who reaches it, or only scrapers that send
/// `Authorization: Bearer <METRICS_TOKEN>` when one is configured.
pub struct MetricsAccess(pub Option<secrecy::SecretString>);

impl MetricsAccess {
    fn check(&self, req: &HttpRequest) -> Result<(), ApiError> {
        use secrecy::ExposeSecret;
        use subtle::ConstantTimeEq;
        let Some(expected) = &self.0 else {
            return Ok(());
        };
        let presented = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized(AuthFailure::Missing))?;
        let matches: bool = presented
            .as_bytes()
            .ct_eq(expected.expose_secret().as_bytes())
            .into();
        if matches {
            Ok(())
        } else {
            Err(ApiError::Unauthorized(AuthFailure::InvalidToken))
        }
    }
}

/// What waits to be delivered, for the backlog gauges.
#[derive(Debug, Clone, Copy)]
pub struct Backlog {
    pub unpublished_events: i64,
    pub pending_deliveries: i64,
}

/// Reads the [`Backlog`]. The webhooks module provides it and start-up registers it, so
/// the metrics need not know the tables of what they count.
#[derive(Clone, Copy)]
pub struct BacklogProbe(pub fn(&mut crate::db::DbConnection) -> Result<Backlog, ApiError>);

/// Prometheus text exposition.
///
/// Anonymous unless `METRICS_TOKEN` is set; then the scraper sends it as a bearer token.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Metrics in the Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, response = crate::openapi::Unauthorized),
    ),
)]
#[get("/metrics")]
pub async fn metrics(
    req: HttpRequest,
    metrics: web::Data<Metrics>,
    access: web::Data<MetricsAccess>,
    db: web::Data<Db>,
    probe: web::Data<BacklogProbe>,
) -> Result<HttpResponse, ApiError> {
    access.check(&req)?;
    let backlog = match db.read(probe.0).await {
        Ok(backlog) => Some(backlog),
        Err(error) => {
            tracing::warn!(%error, "the outbox backlog could not be read for /metrics");
            None
        }
    };
    let body = metrics.render(&db, backlog)?;
    Ok(HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(body))
}
