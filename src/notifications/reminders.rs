//! Reminders (SPEC §11): a KIM's kim_admins are reminded a day before a mentoring
//! session addressed to the KIM starts and a day before a consultation addressed to
//! it closes. `kim-api serve` looks every minute; each subject is reminded
//! once per moment (a moved session is reminded again for its new start), claimed in
//! `notification_reminders` so that instances looking at once remind it once. What is
//! due is read first, so an idle service takes no write lock.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Notice, NotificationType};
use super::rules::{consultation_notice, kim_admins_of, session_notice, tell};
use crate::audience::Audience;
use crate::db::schema::notification_reminders;
use crate::db::{Db, DbConnection, now};
use crate::error::ApiError;

/// How long before the moment the reminder goes.
pub const AHEAD: chrono::Duration = chrono::Duration::days(1);

/// A reminder due: what it is about, the moment it announces, and its words.
struct Due {
    subject_type: &'static str,
    subject_id: i64,
    moment: NaiveDateTime,
    notice: Notice,
    audience: Audience,
}

/// Sends the reminders due now that were not sent; how many subjects were reminded.
pub async fn send_due(db: &Db) -> Result<usize, ApiError> {
    let at = now();
    let due = db.read(move |conn| unsent(conn, at)).await?;
    if due.is_empty() {
        return Ok(0);
    }
    db.write(move |conn| {
        let mut sent = 0;
        for reminder in &due {
            if !claim(conn, reminder, at)? {
                continue;
            }
            let admins = kim_admins_of(conn, &reminder.audience)?;
            tell(conn, None, &reminder.notice, &admins)?;
            sent += 1;
        }
        Ok(sent)
    })
    .await
}

/// Sessions starting and consultations closing within [`AHEAD`], not yet reminded.
fn unsent(conn: &mut DbConnection, at: NaiveDateTime) -> Result<Vec<Due>, ApiError> {
    let horizon = at + AHEAD;
    let mut due = Vec::new();
    for session in crate::mentoring::model::starting_between(conn, at, horizon)? {
        due.push(Due {
            subject_type: "mentoring_session",
            subject_id: session.id,
            moment: session.starts_at,
            notice: session_notice(NotificationType::SessionStartingSoon, &session),
            audience: session.audience()?,
        });
    }
    for consultation in crate::consultations::model::closing_between(conn, at, horizon)? {
        due.push(Due {
            subject_type: "consultation",
            subject_id: consultation.id,
            moment: consultation.closes_at,
            notice: consultation_notice(NotificationType::ConsultationClosingSoon, &consultation),
            audience: consultation.audience()?,
        });
    }
    // Every moment reminded lies in the same window: one read finds those sent.
    let sent: std::collections::HashSet<(String, i64, NaiveDateTime)> =
        notification_reminders::table
            .filter(notification_reminders::due_at.between(at, horizon))
            .select((
                notification_reminders::subject_type,
                notification_reminders::subject_id,
                notification_reminders::due_at,
            ))
            .load(conn)?
            .into_iter()
            .collect();
    Ok(due
        .into_iter()
        .filter(|reminder| {
            !sent.contains(&(
                reminder.subject_type.to_owned(),
                reminder.subject_id,
                reminder.moment,
            ))
        })
        .collect())
}

/// Claims `reminder`; false when it was sent before.
fn claim(conn: &mut DbConnection, reminder: &Due, at: NaiveDateTime) -> Result<bool, ApiError> {
    let insert = diesel::insert_into(notification_reminders::table).values((
        notification_reminders::subject_type.eq(reminder.subject_type),
        notification_reminders::subject_id.eq(reminder.subject_id),
        notification_reminders::due_at.eq(reminder.moment),
        notification_reminders::sent_at.eq(at),
    ));
    // MultiConnection has no ON CONFLICT: it goes per backend.
    let inserted = crate::on_backend!(conn, |c| insert.on_conflict_do_nothing().execute(c))?;
    Ok(inserted == 1)
}
