//! What was sent to a subscription and how each try went (SPEC §8), and redelivery.
//! gov_admin reads these to see why a receiver is not getting events.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::DeliverySettings;
use crate::audit::{Actor, RequestOrigin};
use crate::auth::{Authorized, GovAdminOnly};
use crate::db::schema::{webhook_attempts, webhook_deliveries};
use crate::db::{Db, DbConnection, now, utc};
use crate::error::ApiError;
use crate::extract::ListQuery;
use crate::openapi::{Forbidden, InvalidQuery, NotFound, ServiceUnavailable, Unauthorized};
use crate::pagination::{Page, PageParams};
use crate::unit_of_work::Target;

crate::text_enum! {
    /// `pending` until the receiver answers 2xx (`delivered`) or its retries run out
    /// (`failed`).
    pub enum DeliveryStatus {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub subscription_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub status: DeliveryStatus,
    pub attempt_count: i32,
    pub next_attempt_at: NaiveDateTime,
    pub retry_until: NaiveDateTime,
    pub lease_token: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_attempts)]
struct AttemptRow {
    delivery_id: i64,
    attempted_at: NaiveDateTime,
    response_status: Option<i32>,
    latency_ms: i64,
    error: Option<String>,
}

/// One try to deliver an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAttempt {
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status; `null` when no answer came.
    pub response_status: Option<i32>,
    pub latency_ms: i64,
    /// Why it failed; `null` on success.
    pub error: Option<String>,
}

/// One event sent (or to be sent) to a subscription, with its attempts in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    /// The `webhook-id` header: the same on every attempt, for the receiver to
    /// de-duplicate.
    #[schema(example = "evt_1042")]
    pub webhook_id: String,
    #[schema(example = "report.created")]
    pub event_type: String,
    #[schema(example = "report")]
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub status: DeliveryStatus,
    /// When the next attempt is due (`pending` only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Retries stop after this.
    pub retry_until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: Vec<DeliveryAttempt>,
}

/// The `webhook-id` of an outbox event.
pub fn webhook_id(event_id: i64) -> String {
    format!("evt_{event_id}")
}

fn present(row: DeliveryRow, attempts: Vec<DeliveryAttempt>) -> Result<Delivery, ApiError> {
    let status = row.status;
    Ok(Delivery {
        id: row.id,
        webhook_id: webhook_id(row.event_id),
        event_type: row.event_type,
        aggregate_type: row.aggregate_type,
        aggregate_id: row.aggregate_id,
        next_attempt_at: (status == DeliveryStatus::Pending).then(|| utc(row.next_attempt_at)),
        status,
        retry_until: utc(row.retry_until),
        created_at: utc(row.created_at),
        finished_at: row.finished_at.map(utc),
        attempts,
    })
}

/// The rows with their attempts, in two queries.
fn with_attempts(
    conn: &mut DbConnection,
    rows: Vec<DeliveryRow>,
) -> Result<Vec<Delivery>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut attempts: HashMap<i64, Vec<DeliveryAttempt>> = HashMap::new();
    for attempt in webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .order((webhook_attempts::delivery_id, webhook_attempts::id))
        .select(AttemptRow::as_select())
        .load(conn)?
    {
        attempts
            .entry(attempt.delivery_id)
            .or_default()
            .push(DeliveryAttempt {
                attempted_at: utc(attempt.attempted_at),
                response_status: attempt.response_status,
                latency_ms: attempt.latency_ms,
                error: attempt.error,
            });
    }
    rows.into_iter()
        .map(|row| {
            let tried = attempts.remove(&row.id).unwrap_or_default();
            present(row, tried)
        })
        .collect()
}

fn subscription_exists(conn: &mut DbConnection, id: i64) -> Result<(), ApiError> {
    super::model::find(conn, id)?
        .map(|_| ())
        .ok_or(ApiError::NotFound)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    status: Option<DeliveryStatus>,
}

/// A subscription's deliveries, newest first, each with every attempt. gov_admin only.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = i64, Path, description = "Subscription id"), DeliveryFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of deliveries", body = Page<Delivery>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    _admin: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    id: web::Path<i64>,
    query: ListQuery<DeliveryFilter>,
) -> Result<web::Json<Page<Delivery>>, ApiError> {
    let id = id.into_inner();
    let ListQuery { page, filter } = query;
    let before: Option<i64> = page.after()?;
    let listed = db
        .read(move |conn| {
            subscription_exists(conn, id)?;
            let mut select = webhook_deliveries::table
                .filter(webhook_deliveries::subscription_id.eq(id))
                .select(DeliveryRow::as_select())
                .order(webhook_deliveries::id.desc())
                .limit(page.fetch_limit())
                .into_boxed();
            if let Some(status) = filter.status {
                select = select.filter(webhook_deliveries::status.eq(status));
            }
            if let Some(before) = before {
                select = select.filter(webhook_deliveries::id.lt(before));
            }
            let rows = select.load(conn)?;
            let deliveries = with_attempts(conn, rows)?;
            Ok(Page::from_rows(deliveries, &page, |delivery| delivery.id))
        })
        .await?;
    Ok(web::Json(listed))
}

/// Sends a delivered or failed event again, with a fresh retry period; the receiver
/// gets the same `webhook-id`. gov_admin only.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("id" = i64, Path, description = "Subscription id"),
        ("delivery_id" = i64, Path, description = "Delivery id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued; the delivery as it now stands", body = Delivery),
        (status = 400, response = crate::openapi::InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`delivery_pending`: it is still being delivered", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
pub async fn redeliver(
    caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    settings: web::Data<DeliverySettings>,
    origin: RequestOrigin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery_id) = path.into_inner();
    let window = settings.retry_period()?;
    let delivery = db
        .unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
            let stamp = now();
            let of_subscription = webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(delivery_id))
                .filter(webhook_deliveries::subscription_id.eq(id));
            let requeued: Option<DeliveryRow> = diesel::update(
                of_subscription.filter(webhook_deliveries::status.ne(DeliveryStatus::Pending)),
            )
            .set((
                webhook_deliveries::status.eq(DeliveryStatus::Pending),
                webhook_deliveries::next_attempt_at.eq(stamp),
                webhook_deliveries::retry_until.eq(stamp + window),
                webhook_deliveries::finished_at.eq(None::<NaiveDateTime>),
                webhook_deliveries::lease_token.eq(None::<String>),
                webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
            ))
            .returning(webhook_deliveries::all_columns)
            .get_result(uow.conn)
            .optional()?;
            let Some(row) = requeued else {
                let exists: i64 = of_subscription.count().get_result(uow.conn)?;
                return Err(if exists == 0 {
                    ApiError::NotFound
                } else {
                    ApiError::conflict(
                        "delivery_pending",
                        "this delivery is still pending; it is retried on its own",
                        "pengiriman ini masih berjalan; akan dicoba ulang dengan sendirinya",
                    )
                });
            };
            uow.audit(
                "webhook.redelivered",
                Some(Target::new("webhook", id)),
                Some(format!("delivery={delivery_id}")),
            )?;
            let mut presented = with_attempts(uow.conn, vec![row])?;
            presented
                .pop()
                .ok_or_else(|| ApiError::internal("a requeued delivery vanished"))
        })
        .await?;
    db.wake_outbox();
    Ok(HttpResponse::Accepted().json(delivery))
}
