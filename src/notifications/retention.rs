//! Notifications are kept 90 days (SPEC §11); `kim-api serve` removes older ones.

use diesel::prelude::*;

use crate::db::schema::notifications;
use crate::db::{Db, DbConnection, now};
use crate::error::ApiError;

/// How long the inbox keeps a notification (SPEC §11).
pub const KEPT_FOR: chrono::Duration = chrono::Duration::days(90);

/// Whether any notification is older than [`KEPT_FOR`]: looked for with a read, so an
/// idle service takes no write lock.
fn any_expired(conn: &mut DbConnection) -> Result<bool, ApiError> {
    let cutoff = now() - KEPT_FOR;
    Ok(diesel::select(diesel::dsl::exists(
        notifications::table.filter(notifications::created_at.lt(cutoff)),
    ))
    .get_result(conn)?)
}

fn delete_expired(conn: &mut DbConnection) -> Result<usize, ApiError> {
    let cutoff = now() - KEPT_FOR;
    Ok(
        diesel::delete(notifications::table.filter(notifications::created_at.lt(cutoff)))
            .execute(conn)?,
    )
}

/// Removes the notifications past [`KEPT_FOR`]; how many went. Safe to run on several
/// instances at once: a row goes once, whoever removes it.
pub async fn sweep(db: &Db) -> Result<usize, ApiError> {
    if !db.read(any_expired).await? {
        return Ok(0);
    }
    db.write(delete_expired).await
}
