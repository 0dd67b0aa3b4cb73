//! A consultation's life: a draft is opened (its audience counted then), an open one
//! closes when `closes_at` passes or early when gov closes it, and a closed one is
//! concluded with the government's response. Only gov moves it; every move is audited,
//! opening and concluding are also events.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::model::{ConsultationRow, ConsultationStatus};
use super::{ConsultationStatusRequest, find_for_change, period_issue};
use crate::concurrency::IfMatch;
use crate::db::now;
use crate::db::schema::consultations;
use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::{ApiError, FieldIssue};
use crate::events::EventType;
use crate::unit_of_work::{Event, Target, UnitOfWork};

/// A checked move: where to, and the government's response when concluding.
#[derive(Debug, Clone)]
pub struct StatusChange {
    to: ConsultationStatus,
    government_response: Option<String>,
}

impl ConsultationStatusRequest {
    /// The move asked for, or every field issue: the response is required to conclude
    /// and given only then; a consultation never goes back to draft.
    pub fn check(self) -> Result<StatusChange, ApiError> {
        let to = self.status;
        let mut checks = Checks::new();
        let government_response = match (to, self.government_response) {
            (ConsultationStatus::Concluded, Some(text)) => checks.text(
                "government_response",
                &text,
                limits::GOVERNMENT_RESPONSE,
                Lines::Multi,
            ),
            (ConsultationStatus::Concluded, None) => {
                checks.push(FieldIssue::new(
                    "government_response",
                    "required",
                    "concluding publishes the government's response",
                    "penutupan menerbitkan tanggapan pemerintah",
                ));
                None
            }
            (_, Some(_)) => {
                checks.push(FieldIssue::new(
                    "government_response",
                    "not_allowed",
                    "only given when concluding",
                    "hanya diisi saat menyimpulkan",
                ));
                None
            }
            (_, None) => None,
        };
        if to == ConsultationStatus::Draft {
            checks.push(FieldIssue::new(
                "status",
                "not_settable",
                "choose open, closed or concluded",
                "pilih open, closed atau concluded",
            ));
        }
        checks.finish()?;
        Ok(StatusChange {
            to,
            government_response,
        })
    }
}

/// The moves there are.
/// A response is taken from `opens_at` while the consultation is open.
pub fn ensure_takes_responses(row: &ConsultationRow, at: NaiveDateTime) -> Result<(), ApiError> {
    match row.effective_status() {
        ConsultationStatus::Open if row.opens_at > at => Err(ApiError::conflict(
            "consultation_not_open",
            "The consultation takes responses from its opens_at.",
            "Konsultasi menerima tanggapan mulai opens_at.",
        )),
        ConsultationStatus::Open => Ok(()),
        _ => Err(ApiError::conflict(
            "consultation_closed",
            "The consultation no longer takes responses.",
            "Konsultasi tidak lagi menerima tanggapan.",
        )),
    }
}

fn may_move(from: ConsultationStatus, to: ConsultationStatus) -> Result<(), ApiError> {
    let allowed = matches!(
        (from, to),
        (ConsultationStatus::Draft, ConsultationStatus::Open)
            | (ConsultationStatus::Open, ConsultationStatus::Closed)
            | (ConsultationStatus::Closed, ConsultationStatus::Concluded)
    );
    if allowed {
        return Ok(());
    }
    Err(ApiError::conflict(
        "invalid_transition",
        format!(
            "A {} consultation cannot become {}.",
            from.as_str(),
            to.as_str()
        ),
        format!(
            "Konsultasi berstatus {} tidak dapat menjadi {}.",
            from.as_str(),
            to.as_str()
        ),
    ))
}

/// Moves consultation `id` (locked, at the version `if_match` names) as `change` says,
/// with its audit record and event.
pub fn change_status(
    uow: &mut UnitOfWork<'_>,
    id: i64,
    if_match: &IfMatch,
    change: &StatusChange,
) -> Result<ConsultationRow, ApiError> {
    let current = find_for_change(uow, id)?;
    if_match.check(current.version)?;
    let to = change.to;
    may_move(current.effective_status(), to)?;
    let kims_addressed = match to {
        ConsultationStatus::Open => {
            if current.closes_at <= now() {
                return Err(ApiError::Validation(vec![period_issue(
                    "closes_at",
                    "has passed; move it before opening",
                    "sudah lewat; ubah sebelum membuka",
                )]));
            }
            Some(current.audience()?.count_active_kims(uow.conn)?)
        }
        _ => current.kims_addressed,
    };
    let row: ConsultationRow = diesel::update(consultations::table.find(id))
        .set((
            consultations::status.eq(to),
            consultations::government_response.eq(&change.government_response),
            consultations::kims_addressed.eq(kims_addressed),
            consultations::updated_at.eq(now()),
            consultations::version.eq(current.version + 1),
        ))
        .returning(consultations::all_columns)
        .get_result(uow.conn)?;
    record(uow, &row, to)?;
    Ok(row)
}

/// The audit record of a move, and the event of an opening or a conclusion.
fn record(
    uow: &mut UnitOfWork<'_>,
    row: &ConsultationRow,
    to: ConsultationStatus,
) -> Result<(), ApiError> {
    let target = Target::new("consultation", row.id);
    let (action, event) = match to {
        ConsultationStatus::Open => ("consultation.opened", Some(EventType::ConsultationOpened)),
        ConsultationStatus::Closed => ("consultation.closed", None),
        _ => (
            "consultation.concluded",
            Some(EventType::ConsultationConcluded),
        ),
    };
    uow.audit(action, Some(target.clone()), None)?;
    if let Some(event) = event {
        uow.emit(Event::new(
            event,
            target,
            json!({"consultation_id": row.id, "status": to.as_str(),
                   "audience_scope": row.audience_scope,
                   "closes_at": crate::db::utc(row.closes_at)}),
        ))?;
    }
    Ok(())
}
