//! The inbox shows notifications 90 days (SPEC §11); `kim-api serve` removes them 30
//! days later, so that a sync token up to 30 days old still hears that they left.

use diesel::prelude::*;

use crate::db::schema::notifications;
use crate::db::{Db, DbConnection, now};
use crate::error::ApiError;

pub use super::model::KEPT_FOR;

/// How long a notification outlives [`KEPT_FOR`]; also the age of the oldest sync token
/// the inbox takes.
pub const SYNC_GRACE: chrono::Duration = chrono::Duration::days(30);

/// Whether any notification is past [`KEPT_FOR`] and [`SYNC_GRACE`]: looked for with a read, so an
/// idle service takes no write lock.
fn any_expired(conn: &mut DbConnection) -> Result<bool, ApiError> {
    let cutoff = now() - KEPT_FOR - SYNC_GRACE;
    Ok(diesel::select(diesel::dsl::exists(
        notifications::table.filter(notifications::created_at.lt(cutoff)),
    ))
    .get_result(conn)?)
}

fn delete_expired(conn: &mut DbConnection) -> Result<usize, ApiError> {
    let cutoff = now() - KEPT_FOR - SYNC_GRACE;
    Ok(
        diesel::delete(notifications::table.filter(notifications::created_at.lt(cutoff)))
            .execute(conn)?,
    )
}

/// Removes the notifications past [`KEPT_FOR`] and [`SYNC_GRACE`]; how many went. Safe to run on several
/// instances at once: a row goes once, whoever removes it.
pub async fn sweep(db: &Db) -> Result<usize, ApiError> {
    if !db.read(any_expired).await? {
        return Ok(0);
    }
    db.write(delete_expired).await
}
