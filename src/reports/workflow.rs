//! The report workflow (SPEC §7), as one table: which moves exist and who makes them.

use chrono::{Duration, NaiveDateTime};

use super::RESPONSE_WORKING_DAYS;
use super::model::ReportStatus::{self, *};
use super::model::{ReportRow, StatusChange};
use super::policy::ReportAccess;
use super::timeline::{self, Author, Entry, EntryType, Visibility};
use crate::db::now;
use crate::error::ApiError;
use crate::events::EventType;
use crate::holidays::calendar::Calendar;
use crate::unit_of_work::{Event, Target, UnitOfWork};

/// How long after its resolution the submitting KIM may reopen a report.
pub const REOPEN_DAYS: i64 = 30;

/// Who asks for a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mover {
    Government,
    /// A user of the KIM that submitted the report.
    SubmittingKim,
    /// A citizen following the report by e-mail, answering "not satisfied" to the
    /// feedback question (within its ten days).
    Citizen,
    Other,
}

/// Whether `mover` may move a report from `from` to `to` now (`at`), given when it was
/// resolved. Government moves forward; the submitting KIM only reopens. A caller with
/// no move at all is 403; a move that does not exist from here is 409.
pub fn check(
    mover: Mover,
    from: ReportStatus,
    to: ReportStatus,
    resolved_at: Option<NaiveDateTime>,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    let allowed = match mover {
        Mover::Government => matches!(
            (from, to),
            (Submitted, Verified)
                | (Verified, InProgress)
                | (InProgress, Resolved)
                | (Submitted | Verified, Rejected)
        ),
        Mover::SubmittingKim => {
            if to != InProgress {
                return Err(ApiError::Forbidden);
            }
            if from == Resolved
                && resolved_at.is_some_and(|resolved| at - resolved > Duration::days(REOPEN_DAYS))
            {
                return Err(ApiError::conflict(
                    "invalid_transition",
                    format!("A report is reopened within {REOPEN_DAYS} days of its resolution."),
                    format!(
                        "Laporan hanya dapat dibuka kembali dalam {REOPEN_DAYS} hari setelah selesai."
                    ),
                ));
            }
            from == Resolved
        }
        Mover::Citizen => from == Resolved && to == InProgress,
        Mover::Other => return Err(ApiError::Forbidden),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::conflict(
            "invalid_transition",
            format!(
                "A report cannot move from {} to {}.",
                from.as_str(),
                to.as_str()
            ),
            format!(
                "Laporan tidak dapat berpindah dari {} ke {}.",
                from.as_str(),
                to.as_str()
            ),
        ))
    }
}

/// A checked request to move a report: where to, the note for the timeline, and the
/// agency to assign.
#[derive(Debug, Clone)]
pub struct ReportMove {
    pub to: ReportStatus,
    pub note: Option<String>,
    pub agency: Option<String>,
}

impl ReportMove {
    /// Moves `current` (read by `access`'s caller) if the workflow allows it: the row,
    /// a timeline entry, an audit record and a `report.status_changed` event, in the
    /// unit of work's transaction.
    pub fn apply(
        &self,
        uow: &mut UnitOfWork<'_>,
        access: &ReportAccess,
        author: Author,
        current: &ReportRow,
    ) -> Result<ReportRow, ApiError> {
        let mover = if access.is_gov() {
            Mover::Government
        } else if access.kim().is_some() && access.kim() == current.kim_id {
            Mover::SubmittingKim
        } else {
            Mover::Other
        };
        self.apply_as(uow, mover, author, current)
    }

    /// Like [`ReportMove::apply`], for a mover decided by the caller.
    pub fn apply_as(
        &self,
        uow: &mut UnitOfWork<'_>,
        mover: Mover,
        author: Author,
        current: &ReportRow,
    ) -> Result<ReportRow, ApiError> {
        let from = current.status;
        let to = self.to;
        let at = now();
        check(mover, from, to, current.resolved_at, at)?;
        // Assigning an agency is the government's decision, shown publicly (Open311).
        if mover != Mover::Government && self.agency.is_some() {
            return Err(ApiError::field_not_allowed("assigned_agency"));
        }
        let change = StatusChange {
            to,
            assigned_agency: self
                .agency
                .clone()
                .or_else(|| current.assigned_agency.clone()),
            response_due_at: if to == Verified {
                Some(Calendar::load(uow.conn, at)?.due(at, RESPONSE_WORKING_DAYS))
            } else {
                current.response_due_at
            },
            verified_at: if to == Verified {
                Some(at)
            } else {
                current.verified_at
            },
            first_response_at: current
                .first_response_at
                .or((mover == Mover::Government).then_some(at)),
            // A reopened report is unresolved until it is resolved again.
            resolved_at: match (from, to) {
                (_, Resolved) => Some(at),
                (Resolved, _) => None,
                _ => current.resolved_at,
            },
            at,
        };
        let row = super::model::set_status(uow.conn, current, &change)?.ok_or_else(|| {
            ApiError::conflict(
                "invalid_transition",
                "The report was moved meanwhile; read it again.",
                "Laporan baru saja dipindahkan; baca ulang.",
            )
        })?;
        timeline::record(
            uow.conn,
            author,
            Entry {
                report_id: row.id,
                entry_type: EntryType::Status,
                visibility: Visibility::Public,
                from_status: Some(from),
                to_status: Some(to),
                body: self.note.as_deref(),
                assigned_agency: self.agency.as_deref(),
                at,
            },
        )?;
        let target = Target::new("report", row.id);
        uow.audit(
            "report.status_changed",
            Some(target.clone()),
            Some(format!("{}->{}", from.as_str(), to.as_str())),
        )?;
        uow.emit(Event::new(
            EventType::ReportStatusChanged,
            target,
            serde_json::json!({"id": row.id, "from": from.as_str(), "to": to.as_str(),
                "assigned_agency": &row.assigned_agency}),
        ))?;
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, day)
            .and_then(|date| date.and_hms_opt(12, 0, 0))
            .unwrap_or_default()
    }

    fn status_of(result: Result<(), ApiError>) -> u16 {
        match result {
            Ok(()) => 200,
            Err(error) => actix_web::ResponseError::status_code(&error).as_u16(),
        }
    }

    #[test]
    fn the_whole_table() {
        let all = [Submitted, Verified, InProgress, Resolved, Rejected];
        for from in all {
            for to in all {
                let gov = status_of(check(Mover::Government, from, to, None, at(10)));
                let kim = status_of(check(Mover::SubmittingKim, from, to, Some(at(1)), at(10)));
                let other = status_of(check(Mover::Other, from, to, None, at(10)));
                let gov_may = matches!(
                    (from, to),
                    (Submitted, Verified)
                        | (Verified, InProgress)
                        | (InProgress, Resolved)
                        | (Submitted, Rejected)
                        | (Verified, Rejected)
                );
                assert_eq!(
                    gov,
                    if gov_may { 200 } else { 409 },
                    "gov {from:?} → {to:?}"
                );
                let kim_want = match (from, to) {
                    (Resolved, InProgress) => 200,
                    (_, InProgress) => 409,
                    _ => 403,
                };
                assert_eq!(kim, kim_want, "kim {from:?} → {to:?}");
                assert_eq!(other, 403);
            }
        }
    }

    #[test]
    fn reopening_closes_after_thirty_days() {
        let resolved = Some(at(1));
        assert!(check(Mover::SubmittingKim, Resolved, InProgress, resolved, at(30)).is_ok());
        let late = at(1) + Duration::days(REOPEN_DAYS) + Duration::seconds(1);
        assert_eq!(
            status_of(check(
                Mover::SubmittingKim,
                Resolved,
                InProgress,
                resolved,
                late
            )),
            409
        );
    }
}
