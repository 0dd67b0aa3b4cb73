//! A bulletin's life: `draft → published → archived` (only drafts are deleted), and the
//! move with its reach count, audit record and event.

use super::model::{self, BulletinRow, BulletinStatus};
use crate::error::{ApiError, FieldIssue};
use crate::events::EventType;
use crate::unit_of_work::{Event, Target, UnitOfWork};

fn may_move(from: BulletinStatus, to: BulletinStatus) -> Result<(), ApiError> {
    use BulletinStatus::*;
    if matches!((from, to), (Draft, Published) | (Published, Archived)) {
        return Ok(());
    }
    Err(ApiError::conflict(
        "invalid_transition",
        format!("A {from} bulletin cannot become {to}."),
        format!("Buletin berstatus {from} tidak dapat menjadi {to}."),
    ))
}

/// Moves `current`, read under its lock, to `to`. Publishing counts the active KIMs
/// the audience addresses (for the reach rate) and refuses an expired bulletin.
pub fn change_status(
    uow: &mut UnitOfWork<'_>,
    current: &BulletinRow,
    to: BulletinStatus,
) -> Result<BulletinRow, ApiError> {
    let from = current.status.shown().ok_or(ApiError::NotFound)?;
    may_move(from, to)?;
    let kims_addressed = if to == BulletinStatus::Published {
        if current.expires_at.is_some_and(|at| at <= crate::db::now()) {
            return Err(ApiError::Validation(vec![FieldIssue::new(
                "expires_at",
                "in_past",
                "the bulletin has expired; move expires_at before publishing",
                "buletin sudah kedaluwarsa; ubah expires_at sebelum menerbitkan",
            )]));
        }
        Some(current.audience()?.count_active_kims(uow.conn)?)
    } else {
        None
    };
    let row = model::set_status(uow.conn, current, to, kims_addressed)?;
    super::cap::messages::record(uow.conn, current, &row)?;
    let event = match to {
        BulletinStatus::Published => EventType::BulletinPublished,
        _ => EventType::BulletinArchived,
    };
    let target = Target::new("bulletin", current.id);
    uow.audit(event.as_str(), Some(target.clone()), None)?;
    uow.emit(Event::new(
        event,
        target,
        serde_json::json!({
            "id": current.id,
            "origin": &row.origin,
            "origin_kim_id": row.origin_kim_id,
            "audience_scope": &row.audience_scope,
            "version": row.version,
        }),
    ))?;
    Ok(row)
}
