//! Overdue escalation (SPEC §11): a report that passes a service-level due date without
//! the next step (verification by `verify_due_at`, a follow-up by `response_due_at`)
//! is escalated once per due date: a `report.overdue` event, which webhooks deliver and
//! which tells the gov_admins.
//!
//! Any instance may run the check at any time: the escalation's key (report, due date)
//! is claimed with an insert that does nothing on conflict, so the event is written by
//! whichever claims it, once. The candidates are read first, so an idle service takes
//! no write lock.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::listing::overdue_branches;
use crate::audit::{Actor, RequestOrigin};
use crate::db::schema::{report_escalations, reports};
use crate::db::{Db, DbConnection, now, utc};
use crate::error::ApiError;
use crate::events::EventType;
use crate::unit_of_work::{Event, Target};

/// Reports escalated per check; the rest wait for the next one.
const BATCH: i64 = 200;

/// Escalates the reports overdue now that were not escalated for their current due
/// date; how many this call escalated.
pub async fn escalate_overdue(db: &Db) -> Result<usize, ApiError> {
    let at = now();
    let due = db.read(move |conn| unescalated(conn, at)).await?;
    if due.is_empty() {
        return Ok(0);
    }
    db.unit_of_work(Actor::System, RequestOrigin::default(), move |uow| {
        let mut escalated = 0;
        for &(report_id, due_at) in &due {
            if !claim(uow.conn, report_id, due_at, at)? {
                continue;
            }
            let target = Target::new("report", report_id);
            let due_text = utc(due_at).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            uow.audit(
                "report.overdue",
                Some(target.clone()),
                Some(format!("due={due_text}")),
            )?;
            uow.emit(Event::new(
                EventType::ReportOverdue,
                target,
                serde_json::json!({"id": report_id, "due_at": due_text}),
            ))?;
            escalated += 1;
        }
        Ok(escalated)
    })
    .await
}

/// Overdue reports with the due date they passed, not yet escalated for it.
fn unescalated(
    conn: &mut DbConnection,
    at: NaiveDateTime,
) -> Result<Vec<(i64, NaiveDateTime)>, ApiError> {
    let [unverified, unanswered] = overdue_branches(at);
    let mut due: Vec<(i64, NaiveDateTime)> = reports::table
        .filter(unverified)
        .filter(diesel::dsl::not(diesel::dsl::exists(
            report_escalations::table
                .filter(report_escalations::report_id.eq(reports::id))
                .filter(report_escalations::due_at.eq(reports::verify_due_at)),
        )))
        .select((reports::id, reports::verify_due_at))
        .order(reports::id)
        .limit(BATCH)
        .load(conn)?;
    let answer_due = reports::response_due_at.assume_not_null();
    due.extend(
        reports::table
            .filter(unanswered)
            .filter(diesel::dsl::not(diesel::dsl::exists(
                report_escalations::table
                    .filter(report_escalations::report_id.eq(reports::id))
                    .filter(report_escalations::due_at.eq(answer_due)),
            )))
            .select((reports::id, answer_due))
            .order(reports::id)
            .limit(BATCH)
            .load::<(i64, NaiveDateTime)>(conn)?,
    );
    Ok(due)
}

/// Claims the escalation of `report_id` for `due_at`; false when it was claimed before.
fn claim(
    conn: &mut DbConnection,
    report_id: i64,
    due_at: NaiveDateTime,
    at: NaiveDateTime,
) -> Result<bool, ApiError> {
    let insert = diesel::insert_into(report_escalations::table).values((
        report_escalations::report_id.eq(report_id),
        report_escalations::due_at.eq(due_at),
        report_escalations::escalated_at.eq(at),
    ));
    // MultiConnection has no ON CONFLICT: it goes per backend.
    let inserted = crate::on_backend!(conn, |c| insert.on_conflict_do_nothing().execute(c))?;
    Ok(inserted == 1)
}
