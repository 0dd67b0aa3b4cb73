//! A subscription's life: gov_admin moves it between `active` and `disabled`; a
//! delivery that runs out of retries moves an `active` one to `failing`, and
//! re-enabling it (`active`) resumes its deliveries.

use diesel::prelude::*;

use super::model::SubscriptionStatus;
use crate::db::now;
use crate::db::schema::webhook_subscriptions;
use crate::error::{ApiError, FieldIssue};
use crate::unit_of_work::{Target, UnitOfWork};

/// Whether a request may set `status`: `failing` is set by deliveries only.
pub fn settable(status: SubscriptionStatus) -> Result<SubscriptionStatus, FieldIssue> {
    if status == SubscriptionStatus::Failing {
        return Err(FieldIssue::new(
            "status",
            "not_settable",
            "`failing` is set by deliveries; choose `active` or `disabled`",
            "`failing` ditetapkan oleh pengiriman; pilih `active` atau `disabled`",
        ));
    }
    Ok(status)
}

/// Moves an `active` subscription to `failing`, in one conditional statement so that
/// a gov_admin's change made meanwhile wins; audited once, by the move that made it.
pub fn mark_failing(uow: &mut UnitOfWork<'_>, subscription_id: i64) -> Result<(), ApiError> {
    let marked = diesel::update(
        webhook_subscriptions::table
            .filter(webhook_subscriptions::id.eq(subscription_id))
            .filter(webhook_subscriptions::status.eq(SubscriptionStatus::Active)),
    )
    .set((
        webhook_subscriptions::status.eq(SubscriptionStatus::Failing),
        webhook_subscriptions::updated_at.eq(now()),
        webhook_subscriptions::version.eq(webhook_subscriptions::version + 1),
    ))
    .execute(uow.conn)?;
    if marked == 1 {
        tracing::warn!(
            subscription_id,
            "a webhook delivery ran out of retries; the subscription is failing"
        );
        uow.audit(
            "webhook.failing",
            Some(Target::new("webhook", subscription_id)),
            None,
        )?;
    }
    Ok(())
}
