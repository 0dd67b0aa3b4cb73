//! Web Push (SPEC §11; RFC 8030, 8291, 8292): browsers and installed web apps subscribe
//! with the service's VAPID key, and each notification their account takes by push is
//! sent to them encrypted, by [`delivery`], from any instance.

pub mod delivery;
pub mod subscriptions;
pub mod vapid;

use actix_web::{HttpResponse, delete, get, http::StatusCode, post, web};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use subscriptions::{Kept, NewSubscription, SubscriptionRow};
use vapid::Vapid;

use super::account;
use crate::auth::Caller;
use crate::db::{Db, utc};
use crate::error::{ApiError, FieldIssue};
use crate::extract::ApiJson;
use crate::idempotency::{CreatedResponse, Creating, nothing_owed};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidPath, NotFound, ServiceUnavailable,
    Unauthorized, Unprocessable,
};
use crate::outbound::target::TargetPolicy;

/// The service's Web Push identity, when push is configured.
pub struct PushService(pub Option<std::sync::Arc<Vapid>>);

impl PushService {
    fn vapid(&self) -> Result<&Vapid, ApiError> {
        self.0.as_deref().ok_or_else(|| ApiError::Rule {
            status: StatusCode::NOT_FOUND,
            code: "push_disabled",
            detail_en: "this service sends no Web Push (no VAPID key is configured)".into(),
            detail_id: "layanan ini tidak mengirim Web Push (kunci VAPID belum diatur)".into(),
            issues: vec![],
        })
    }
}

/// The key browsers subscribe with (`applicationServerKey`).
#[derive(Debug, Serialize, ToSchema)]
pub struct VapidPublicKey {
    /// The uncompressed P-256 public key, unpadded base64url.
    #[schema(
        example = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
    )]
    pub public_key: String,
}

/// The key to subscribe with. Public: a web app asks for it before its user signs in.
#[utoipa::path(
    tag = "notifications",
    responses(
        (status = 200, description = "The VAPID public key", body = VapidPublicKey),
        (status = 404, description = "`push_disabled`: no VAPID key is configured",
            body = crate::error::Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/push/vapid-public-key")]
pub async fn vapid_public_key(
    push: web::Data<PushService>,
) -> Result<web::Json<VapidPublicKey>, ApiError> {
    Ok(web::Json(VapidPublicKey {
        public_key: push.vapid()?.public_key().to_owned(),
    }))
}

/// A browser's keys, as `PushSubscription.toJSON()` gives them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushSubscriptionKeys {
    /// The browser's P-256 public key, base64url.
    pub p256dh: String,
    /// The browser's 16-byte authentication secret, base64url.
    pub auth: String,
}

/// A browser's push subscription, as `PushSubscription.toJSON()` gives it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushSubscriptionRequest {
    /// The push service's URL for this browser; https, on a public address.
    #[schema(example = "https://fcm.googleapis.com/fcm/send/c1KrmpTuRm0")]
    pub endpoint: String,
    /// When the push service stops taking messages for it, if it says (ignored: a
    /// subscription answered 404 or 410 is removed).
    #[serde(default, rename = "expirationTime")]
    pub expiration_time: Option<f64>,
    pub keys: PushSubscriptionKeys,
}

/// A browser taking the caller's notifications by push.
#[derive(Debug, Serialize, ToSchema)]
pub struct PushSubscription {
    pub id: i64,
    pub endpoint: String,
    pub created_at: DateTime<Utc>,
}

impl From<SubscriptionRow> for PushSubscription {
    fn from(row: SubscriptionRow) -> Self {
        PushSubscription {
            id: row.id,
            endpoint: row.endpoint,
            created_at: utc(row.created_at),
        }
    }
}

fn decoded_key(field: &str, text: &str, bytes: usize) -> Result<Vec<u8>, FieldIssue> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
        .filter(|decoded| decoded.len() == bytes)
        .ok_or_else(|| {
            FieldIssue::new(
                field,
                "invalid_key",
                format!("must be {bytes} bytes in base64url"),
                format!("harus {bytes} byte dalam base64url"),
            )
        })
}

impl PushSubscriptionRequest {
    fn check(self, targets: &TargetPolicy) -> Result<NewSubscription, ApiError> {
        let mut issues = Vec::new();
        let endpoint = targets.check(&self.endpoint).map_err(|mut issue| {
            issue.field = "endpoint".into();
            issue
        });
        let p256dh = decoded_key("keys.p256dh", &self.keys.p256dh, 65).and_then(|point| {
            p256::PublicKey::from_sec1_bytes(&point).map_err(|_| {
                FieldIssue::new(
                    "keys.p256dh",
                    "invalid_key",
                    "is not a point on P-256",
                    "bukan titik pada P-256",
                )
            })
        });
        let auth = decoded_key("keys.auth", &self.keys.auth, 16);
        for issue in [
            endpoint.as_ref().err(),
            p256dh.as_ref().err(),
            auth.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        {
            issues.push(issue.clone());
        }
        match endpoint {
            Ok(endpoint) if issues.is_empty() => Ok(NewSubscription {
                endpoint: endpoint.to_string(),
                p256dh: self.keys.p256dh.trim_end_matches('=').to_owned(),
                auth: self.keys.auth.trim_end_matches('=').to_owned(),
            }),
            _ => Err(ApiError::Validation(issues)),
        }
    }
}

/// Subscribes a browser to the caller's notifications (those whose preference has
/// `push` on). Subscribing the same endpoint again renews its keys (200); an endpoint
/// another account held moves to the caller. Honours `Idempotency-Key`: a retry with
/// the key replays the first answer. Accounts only.
#[utoipa::path(
    tag = "notifications",
    params(IdempotencyKeyParam),
    request_body = PushSubscriptionRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Subscribed", body = PushSubscription, headers(("Location" = String))),
        (status = 200, description = "Already subscribed; keys renewed", body = PushSubscription),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "`push_disabled`: no VAPID key is configured",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The endpoint was subscribed at the same moment by another request",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/push/subscriptions")]
pub async fn subscribe_push(
    caller: Caller,
    push: web::Data<PushService>,
    targets: web::Data<TargetPolicy>,
    body: ApiJson<PushSubscriptionRequest>,
    creating: Creating,
) -> Result<HttpResponse, ApiError> {
    let user = account(&caller)?;
    push.vapid()?;
    let ApiJson(request) = body;
    let new = std::sync::Arc::new(request.check(&targets)?);
    creating
        .create_once(
            &caller,
            move |uow| {
                uow.lock_user(user)?;
                let (row, added) = match subscriptions::keep(uow.conn, user, &new)? {
                    Kept::Added(row) => (row, true),
                    Kept::Renewed(row) => (row, false),
                };
                let location = added.then(|| format!("/api/v1/push/subscriptions/{}", row.id));
                Ok(CreatedResponse {
                    status: if added { 201 } else { 200 },
                    body: serde_json::to_value(PushSubscription::from(row))
                        .map_err(ApiError::internal)?,
                    location,
                    etag: None,
                })
            },
            nothing_owed,
        )
        .await
}

/// The browsers taking the caller's notifications by push. Accounts only.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's subscriptions, oldest first", body = Vec<PushSubscription>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/push/subscriptions")]
pub async fn list_push_subscriptions(
    caller: Caller,
    db: web::Data<Db>,
) -> Result<web::Json<Vec<PushSubscription>>, ApiError> {
    let user = account(&caller)?;
    let rows = db
        .read(move |conn| subscriptions::of_user(conn, user))
        .await?;
    Ok(web::Json(rows.into_iter().map(Into::into).collect()))
}

/// Unsubscribes one of the caller's browsers; what was still to be sent to it is
/// dropped. Accounts only.
#[utoipa::path(
    tag = "notifications",
    params(("id" = i64, Path, description = "The subscription")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Unsubscribed"),
        (status = 400, response = InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[delete("/push/subscriptions/{id}")]
pub async fn unsubscribe_push(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let user = account(&caller)?;
    let id = id.into_inner();
    if db
        .write(move |conn| subscriptions::remove(conn, user, id))
        .await?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound)
    }
}
