//! A session's life: `planned → held` (once it has started) or `planned → cancelled`.

use super::model::{self, SessionRow, SessionStatus};
use crate::error::{ApiError, FieldIssue};
use crate::unit_of_work::{Target, UnitOfWork};

/// A session is planned when created; a request moves it to `held` or `cancelled`.
pub fn settable(to: SessionStatus) -> Result<(), ApiError> {
    if to != SessionStatus::Planned {
        return Ok(());
    }
    Err(ApiError::Validation(vec![FieldIssue::new(
        "status",
        "not_settable",
        "choose held or cancelled",
        "pilih held atau cancelled",
    )]))
}

/// Moves `current`, read under its lock, to `to`, with its audit record.
pub fn change_status(
    uow: &mut UnitOfWork<'_>,
    current: &SessionRow,
    to: SessionStatus,
) -> Result<SessionRow, ApiError> {
    let from = current.status;
    if from != SessionStatus::Planned {
        return Err(ApiError::conflict(
            "invalid_transition",
            format!("A {from} session cannot become {to}."),
            format!("Sesi berstatus {from} tidak dapat menjadi {to}."),
        ));
    }
    if to == SessionStatus::Held && !current.started() {
        return Err(ApiError::conflict(
            "session_not_started",
            "A session is held once it has started.",
            "Sesi baru dapat ditandai terlaksana setelah dimulai.",
        ));
    }
    let row = model::set_status(uow.conn, current, to)?.ok_or(ApiError::PreconditionFailed)?;
    let action = match to {
        SessionStatus::Held => "session.held",
        _ => "session.cancelled",
    };
    uow.audit(
        action,
        Some(Target::new("mentoring_session", current.id)),
        None,
    )?;
    Ok(row)
}
