//! Webhook subscriptions (SPEC §8, gov_admin): another Pemda system names a URL and the
//! events it wants; the service signs each delivery per Standard Webhooks with the
//! subscription's secret, shown once when made and when rotated. A rotated secret keeps
//! signing beside the new one for [`ROTATION_OVERLAP`], so receivers can switch
//! without losing deliveries.

pub mod deliveries;
pub mod dispatcher;
mod lifecycle;
pub mod model;
pub mod signing;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::Duration;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Actor, RequestOrigin};
use crate::auth::{Authorized, GovAdminOnly, Subject};
use crate::concurrency::{IfMatch, ok_with_etag};
use crate::crypto::PersonalDataCipher;
use crate::db::schema::webhook_subscriptions;
use crate::db::{Db, now};
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::ApiError;
use crate::extract::{ApiJson, ListQuery};
use crate::idempotency::{CreatedResponse, Creating};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidQuery, NotFound, PreconditionFailed,
    ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::outbound::target::TargetPolicy;
use crate::pagination::{Page, PageParams};
use crate::unit_of_work::Target;
use model::{SubscriptionRow, SubscriptionStatus, Webhook, WebhookEvent};

/// How long the secret before a rotation still signs deliveries.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

pub use crate::config::DeliverySettings;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookRequest {
    /// `https` URL on a public address.
    #[schema(example = "https://sipd.metrokota.go.id/hooks/kim")]
    url: String,
    events: Vec<WebhookEvent>,
    description: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChanges {
    url: Option<String>,
    events: Option<Vec<WebhookEvent>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    /// `active` (also to resume a `failing` subscription) or `disabled`.
    status: Option<SubscriptionStatus>,
    /// `true` issues a new secret (answered once); the old one keeps signing for 24
    /// hours beside it.
    #[serde(default)]
    rotate_secret: bool,
}

impl WebhookChanges {
    /// The changes asked for, each checked (the URL by `targets`), or every field issue;
    /// the secret is the caller's to add.
    fn check(self, targets: &TargetPolicy) -> Result<model::SubscriptionEdit, ApiError> {
        let mut checks = Checks::new();
        let url = self
            .url
            .as_deref()
            .and_then(|url| checks.take(targets.check(url)));
        let events = self
            .events
            .as_deref()
            .and_then(|events| checks.take(model::checked_events(events)));
        let description = checks.changed_text(
            "description",
            self.description.as_ref().map(Option::as_deref),
            limits::WEBHOOK_DESCRIPTION,
            Lines::Single,
        );
        if let Some(status) = self.status {
            checks.take(lifecycle::settable(status));
        }
        checks.finish()?;
        Ok(model::SubscriptionEdit {
            url: url.map(String::from),
            events,
            description,
            status: self.status,
            secret: None,
        })
    }
}

/// A subscription with its secret: answered only when it is made or rotated.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_…`: give it to the receiver's Standard Webhooks library; shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WebhookFilter {
    status: Option<SubscriptionStatus>,
}

fn description_of(checks: &mut Checks, description: Option<&str>) -> Option<String> {
    checks.optional_text(
        "description",
        description,
        limits::WEBHOOK_DESCRIPTION,
        Lines::Single,
    )
}

fn with_secret(webhook: Webhook, secret: Option<String>) -> WebhookWithSecret {
    WebhookWithSecret { webhook, secret }
}

/// Subscribes a URL to events. gov_admin only; honours `Idempotency-Key`. The answer
/// carries the signing `secret`, shown this once.
#[utoipa::path(
    tag = "webhooks",
    params(IdempotencyKeyParam),
    request_body = NewWebhookRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The subscription and its secret", body = WebhookWithSecret, headers(("Location" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/webhooks")]
pub async fn create_webhook(
    caller: Authorized<GovAdminOnly>,
    cipher: web::Data<PersonalDataCipher>,
    targets: web::Data<TargetPolicy>,
    body: ApiJson<NewWebhookRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let ApiJson(request) = body;
    let mut checks = Checks::new();
    let url = checks.take(targets.check(&request.url));
    let events = checks.take(model::checked_events(&request.events));
    let description = description_of(&mut checks, request.description.as_deref());
    let (url, events) = checks.finish_with((url, events))?;
    let created_by = match caller.caller.subject {
        Subject::User(id) => Some(id),
        _ => None,
    };
    let sealer = cipher.clone();
    creating
        .create_once(
            &caller,
            move |uow| {
                let secret = model::new_secret()?;
                let sealed = sealer.encrypt(&secret).map_err(ApiError::internal)?;
                let stamp = now();
                let row: SubscriptionRow = diesel::insert_into(webhook_subscriptions::table)
                    .values((
                        webhook_subscriptions::url.eq(url.as_str()),
                        webhook_subscriptions::description.eq(&description),
                        webhook_subscriptions::events.eq(model::stored_events(&events)),
                        webhook_subscriptions::secret.eq(sealed),
                        webhook_subscriptions::status.eq(SubscriptionStatus::Active),
                        webhook_subscriptions::created_by.eq(created_by),
                        webhook_subscriptions::created_at.eq(stamp),
                        webhook_subscriptions::updated_at.eq(stamp),
                    ))
                    .returning(webhook_subscriptions::all_columns)
                    .get_result(uow.conn)?;
                uow.audit(
                    "webhook.created",
                    Some(Target::new("webhook", row.id)),
                    None,
                )?;
                let webhook = Webhook::try_from(row)?;
                let (id, version) = (webhook.id, webhook.version);
                CreatedResponse::created(
                    &with_secret(webhook, Some(secret)),
                    format!("/api/v1/webhooks/{id}"),
                    version,
                )
            },
            crate::idempotency::nothing_owed,
        )
        .await
}

/// Lists subscriptions by id. gov_admin only.
#[utoipa::path(
    tag = "webhooks",
    params(WebhookFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of subscriptions", body = Page<Webhook>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    _admin: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    query: ListQuery<WebhookFilter>,
) -> Result<web::Json<Page<Webhook>>, ApiError> {
    let ListQuery { page, filter } = query;
    let after: Option<i64> = page.after()?;
    let listed = db
        .read(move |conn| {
            let mut select = webhook_subscriptions::table
                .select(SubscriptionRow::as_select())
                .order(webhook_subscriptions::id)
                .limit(page.fetch_limit())
                .into_boxed();
            if let Some(status) = filter.status {
                select = select.filter(webhook_subscriptions::status.eq(status));
            }
            if let Some(after) = after {
                select = select.filter(webhook_subscriptions::id.gt(after));
            }
            let rows = select
                .load(conn)?
                .into_iter()
                .map(Webhook::try_from)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(rows, &page, |webhook| webhook.id))
        })
        .await?;
    Ok(web::Json(listed))
}

/// One subscription, without its secret. gov_admin only.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = i64, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The subscription", body = Webhook, headers(("ETag" = String))),
        (status = 400, response = crate::openapi::InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    _admin: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db
        .read(move |conn| model::find(conn, id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let webhook = Webhook::try_from(row)?;
    Ok(ok_with_etag(webhook.version, &webhook))
}

/// Changes a subscription's target, events, description or status, or rotates its
/// secret. gov_admin only; honours `If-Match`. After a rotation the answer carries the
/// new `secret`.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("id" = i64, Path, description = "Subscription id"),
        crate::openapi::IfMatchParam,
    ),
    request_body = WebhookChanges,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The subscription; `secret` only after a rotation", body = WebhookWithSecret, headers(("ETag" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[patch("/webhooks/{id}")]
#[expect(
    clippy::too_many_arguments,
    reason = "actix extractors, one per concern"
)]
pub async fn update_webhook(
    caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    targets: web::Data<TargetPolicy>,
    origin: RequestOrigin,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: ApiJson<WebhookChanges>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ApiJson(changes) = body;
    let rotate = changes.rotate_secret;
    let mut edit = changes.check(&targets)?;
    let secret = rotate.then(model::new_secret).transpose()?;
    edit.secret = secret
        .as_deref()
        .map(|secret| cipher.encrypt(secret).map_err(ApiError::internal))
        .transpose()?;
    let row = db
        .unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
            model::apply(uow, id, &if_match, &edit)
        })
        .await?;
    let webhook = Webhook::try_from(row)?;
    Ok(ok_with_etag(webhook.version, &with_secret(webhook, secret)))
}

/// Ends a subscription: nothing more is delivered to it. gov_admin only.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = i64, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = crate::openapi::InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    caller: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    origin: RequestOrigin,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    db.unit_of_work(Actor::from(&caller.caller), origin, move |uow| {
        let removed = diesel::delete(webhook_subscriptions::table.find(id)).execute(uow.conn)?;
        if removed == 0 {
            return Err(ApiError::NotFound);
        }
        uow.audit("webhook.deleted", Some(Target::new("webhook", id)), None)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
