//! Webhook subscriptions as stored: the target, the events it takes, and its signing
//! secrets (encrypted at rest; the service needs them back to sign).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::concurrency::IfMatch;
use crate::db::schema::webhook_subscriptions;
use crate::db::{DbConnection, now, utc};
use crate::error::{ApiError, FieldIssue};
use crate::unit_of_work::{Target, UnitOfWork};

pub use crate::events::WebhookEvent;

/// A set of events, stored as their names joined by `,` in a fixed order.
pub fn stored_events(events: &BTreeSet<WebhookEvent>) -> String {
    events
        .iter()
        .map(|event| event.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn events_of(stored: &str, id: i64) -> Result<Vec<WebhookEvent>, ApiError> {
    stored
        .split(',')
        .map(|name| {
            WebhookEvent::parse(name).ok_or_else(|| {
                ApiError::internal(format!("webhook {id} stores an unknown event `{name}`"))
            })
        })
        .collect()
}

/// The events of a request: at least one, each known.
pub fn checked_events(events: &[WebhookEvent]) -> Result<BTreeSet<WebhookEvent>, FieldIssue> {
    if events.is_empty() {
        return Err(FieldIssue::new(
            "events",
            "required",
            "subscribe to at least one event",
            "berlangganan minimal satu peristiwa",
        ));
    }
    Ok(events.iter().copied().collect())
}

crate::text_enum! {
    /// `active` subscriptions receive deliveries; `failing` ones ran out of retries
    /// (they resume when re-enabled); `disabled` ones were turned off by gov_admin.
    pub enum SubscriptionStatus {
        Active = "active",
        Failing = "failing",
        Disabled = "disabled",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_subscriptions)]
pub struct SubscriptionRow {
    pub id: i64,
    pub url: String,
    pub description: Option<String>,
    pub events: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<NaiveDateTime>,
    pub status: SubscriptionStatus,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// A webhook subscription as gov_admin reads it; never with its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    pub id: i64,
    #[schema(example = "https://sipd.metrokota.go.id/hooks/kim")]
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<WebhookEvent>,
    pub status: SubscriptionStatus,
    /// Until then deliveries are also signed with the secret before the last rotation.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TryFrom<SubscriptionRow> for Webhook {
    type Error = ApiError;

    fn try_from(row: SubscriptionRow) -> Result<Self, ApiError> {
        Ok(Webhook {
            events: events_of(&row.events, row.id)?,
            status: row.status,
            previous_secret_expires_at: row.previous_secret_expires_at.map(utc),
            id: row.id,
            url: row.url,
            description: row.description,
            created_by: row.created_by,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<SubscriptionRow>, ApiError> {
    Ok(webhook_subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?)
}

/// A new signing secret as Standard Webhooks writes it: `whsec_` and 24 random bytes
/// in base64.
pub fn new_secret() -> Result<String, ApiError> {
    use base64::Engine;
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|error| ApiError::internal(error.to_string()))?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// Checked changes to a subscription; `None` leaves a field as it is.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = webhook_subscriptions)]
pub struct SubscriptionEdit {
    pub url: Option<String>,
    /// Written in their stored form by [`apply`].
    #[diesel(skip_update)]
    pub events: Option<BTreeSet<WebhookEvent>>,
    /// `Some(None)` clears it.
    pub description: Option<Option<String>>,
    pub status: Option<SubscriptionStatus>,
    /// A new secret, sealed: the current one keeps signing beside it for
    /// [`super::ROTATION_OVERLAP`].
    pub secret: Option<String>,
}

/// Applies `edit` to subscription `id` at the version `if_match` names, audited with the
/// fields that changed; an edit that changes nothing writes nothing.
pub fn apply(
    uow: &mut UnitOfWork<'_>,
    id: i64,
    if_match: &IfMatch,
    edit: &SubscriptionEdit,
) -> Result<SubscriptionRow, ApiError> {
    let current = find(uow.conn, id)?.ok_or(ApiError::NotFound)?;
    if_match.check(current.version)?;
    let events = edit.events.as_ref().map(stored_events);
    let changed: Vec<&str> = [
        (
            "url",
            edit.url.as_ref().is_some_and(|url| *url != current.url),
        ),
        (
            "events",
            events
                .as_ref()
                .is_some_and(|events| *events != current.events),
        ),
        (
            "description",
            edit.description
                .as_ref()
                .is_some_and(|description| *description != current.description),
        ),
        (
            "status",
            edit.status.is_some_and(|status| status != current.status),
        ),
        ("secret", edit.secret.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect();
    if changed.is_empty() {
        return Ok(current);
    }
    let stamp = now();
    // The replaced secret keeps verifying beside the new one for a while.
    let rotation = edit.secret.as_ref().map(|_| {
        (
            webhook_subscriptions::previous_secret.eq(&current.secret),
            webhook_subscriptions::previous_secret_expires_at.eq(stamp + super::ROTATION_OVERLAP),
        )
    });
    let row: SubscriptionRow = diesel::update(
        webhook_subscriptions::table
            .filter(webhook_subscriptions::id.eq(id))
            .filter(webhook_subscriptions::version.eq(current.version)),
    )
    .set((
        edit,
        events.map(|events| webhook_subscriptions::events.eq(events)),
        rotation,
        webhook_subscriptions::updated_at.eq(stamp),
        webhook_subscriptions::version.eq(current.version + 1),
    ))
    .returning(webhook_subscriptions::all_columns)
    .get_result(uow.conn)
    .optional()?
    .ok_or(ApiError::PreconditionFailed)?;
    uow.audit(
        "webhook.updated",
        Some(Target::new("webhook", id)),
        Some(format!("changed={}", changed.join(","))),
    )?;
    Ok(row)
}
