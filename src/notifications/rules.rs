//! Who is told what (SPEC §11), decided from the typed outbox events.
//!
//! The rules run where the webhook dispatcher fans events out, in the transaction that
//! marks them published: a request that publishes a bulletin to every KIM commits at
//! once and never waits for thousands of inbox rows, each event is turned into
//! notifications exactly once (one instance fans out at a time), and a crash before
//! the commit leaves the events to be fanned out again.
//!
//! A notification carries only what its recipient may read: a report is named by its
//! tracking code and status (its KIM's users see it whole, government every report), a
//! bulletin by its title (its recipients are its audience). The person who caused an
//! event is not told of it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{self, Notice, NotificationType, TargetType};
use crate::auth::Role;
use crate::bulletins::model::{BulletinStatus, Priority};
use crate::consultations::model::ConsultationRow;
use crate::db::DbConnection;
use crate::db::schema::outbox_events;
use crate::error::ApiError;
use crate::events::EventType;
use crate::mentoring::model::SessionRow;
use crate::reports::TimelineVisibility;
use crate::reports::model::{CommentedPayload, MovedPayload};
use crate::reports::tracking::TrackingCode;

/// An outbox event as the rules read it.
struct Occurrence {
    id: i64,
    event_type: String,
    aggregate_id: String,
    payload: String,
    created_at: NaiveDateTime,
}

/// Turns the outbox events `event_ids` into notifications for the accounts concerned.
pub fn notify(conn: &mut DbConnection, event_ids: &[i64]) -> Result<(), ApiError> {
    let occurrences: Vec<Occurrence> = outbox_events::table
        .filter(outbox_events::id.eq_any(event_ids))
        .order(outbox_events::id)
        .select((
            outbox_events::id,
            outbox_events::event_type,
            outbox_events::aggregate_id,
            outbox_events::payload,
            outbox_events::created_at,
        ))
        .load::<(i64, String, String, String, NaiveDateTime)>(conn)?
        .into_iter()
        .map(
            |(id, event_type, aggregate_id, payload, created_at)| Occurrence {
                id,
                event_type,
                aggregate_id,
                payload,
                created_at,
            },
        )
        .collect();
    for occurrence in &occurrences {
        // In a savepoint: an event the rules cannot read is logged and passed over, so
        // it never holds back the webhooks of the events behind it.
        let told = conn.transaction(|conn| {
            if let Some((notice, users)) = decide(conn, occurrence)? {
                tell(conn, Some(occurrence.id), &notice, &users)?;
            }
            if let Ok(report) = occurrence.aggregate_id.parse::<i64>() {
                crate::reports::subscriptions::mail::tell_followers(
                    conn,
                    &occurrence.event_type,
                    report,
                    &occurrence.payload,
                )?;
            }
            Ok::<_, ApiError>(())
        });
        if let Err(error) = told {
            tracing::warn!(%error, event_id = occurrence.id, "an event told nobody");
        }
    }
    Ok(())
}

/// Writes `notice` for those of `users` who take its type at all (their preferences),
/// as made from outbox event `event_id` (`None`: a reminder).
pub(super) fn tell(
    conn: &mut DbConnection,
    event_id: Option<i64>,
    notice: &Notice,
    users: &[i64],
) -> Result<(), ApiError> {
    let recipients = super::preferences::recipients(conn, notice.kind, users)?;
    let written = model::insert(conn, event_id, notice, &recipients)?;
    let push_users: std::collections::HashSet<i64> = recipients
        .iter()
        .filter(|recipient| recipient.push)
        .map(|recipient| recipient.user)
        .collect();
    super::push::delivery::enqueue(conn, &written, &push_users)
}

/// What `occurrence` tells, and to whom; `None` when it tells nobody.
fn decide(
    conn: &mut DbConnection,
    occurrence: &Occurrence,
) -> Result<Option<(Notice, Vec<i64>)>, ApiError> {
    let Ok(aggregate_id) = occurrence.aggregate_id.parse::<i64>() else {
        return Ok(None);
    };
    let decided = match occurrence.event_type.as_str() {
        t if t == EventType::ReportCreated.as_str() => report_submitted(conn, aggregate_id)?,
        t if t == EventType::ReportStatusChanged.as_str() => {
            report_moved(conn, aggregate_id, occurrence)?
        }
        t if t == EventType::ReportCommented.as_str() => {
            report_commented(conn, aggregate_id, occurrence)?
        }
        t if t == EventType::ReportOverdue.as_str() => report_overdue(conn, aggregate_id)?,
        t if t == EventType::BulletinPublished.as_str() => bulletin_published(conn, aggregate_id)?,
        t if t == EventType::SessionScheduled.as_str() => session_scheduled(conn, aggregate_id)?,
        t if t == EventType::ConsultationOpened.as_str() => {
            consultation_opened(conn, aggregate_id)?
        }
        _ => None,
    };
    Ok(decided.filter(|(_, recipients)| !recipients.is_empty()))
}

fn report_notice(
    kind: NotificationType,
    report: i64,
    code: &str,
    detail: Option<String>,
) -> Notice {
    Notice {
        kind,
        target_type: TargetType::Report,
        target_id: report,
        urgent: false,
        subject: code.to_owned(),
        detail,
    }
}

/// Every government account learns of a new report.
fn report_submitted(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<(Notice, Vec<i64>)>, ApiError> {
    let Some(report) = crate::reports::model::find(conn, id)? else {
        return Ok(None);
    };
    let gov = crate::users::model::accounts_with_roles(conn, &[Role::GovOfficer, Role::GovAdmin])?;
    let code = TrackingCode::from_stored(&report.tracking_code).shown();
    let notice = report_notice(NotificationType::ReportSubmitted, id, &code, None);
    Ok(Some((notice, gov)))
}

/// Every gov_admin learns of a report that passed a due date without the next step.
fn report_overdue(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<(Notice, Vec<i64>)>, ApiError> {
    let Some(report) = crate::reports::model::find(conn, id)? else {
        return Ok(None);
    };
    let admins = crate::users::model::accounts_with_roles(conn, &[Role::GovAdmin])?;
    let code = TrackingCode::from_stored(&report.tracking_code).shown();
    let status = Some(report.status.as_str().to_owned());
    let notice = report_notice(NotificationType::ReportOverdue, id, &code, status);
    Ok(Some((notice, admins)))
}

/// The users of the KIM that submitted report `id`, except `actor`.
fn submitting_kim(
    conn: &mut DbConnection,
    id: i64,
    actor: Option<i64>,
) -> Result<Option<(String, Vec<i64>)>, ApiError> {
    let Some(report) = crate::reports::model::find(conn, id)? else {
        return Ok(None);
    };
    let Some(kim) = report.kim_id else {
        return Ok(None);
    };
    let mut users = crate::users::model::kim_accounts(conn, &[kim])?;
    users.retain(|user| Some(*user) != actor);
    Ok(Some((
        TrackingCode::from_stored(&report.tracking_code).shown(),
        users,
    )))
}

fn report_moved(
    conn: &mut DbConnection,
    id: i64,
    occurrence: &Occurrence,
) -> Result<Option<(Notice, Vec<i64>)>, ApiError> {
    let Ok(moved) = serde_json::from_str::<MovedPayload>(&occurrence.payload) else {
        return Ok(None);
    };
    let mover = crate::reports::model::status_mover(conn, id, moved.to, occurrence.created_at)?;
    let Some((code, users)) = submitting_kim(conn, id, mover)? else {
        return Ok(None);
    };
    let notice = report_notice(
        NotificationType::ReportStatusChanged,
        id,
        &code,
        Some(moved.to.as_str().to_owned()),
    );
    Ok(Some((notice, users)))
}

/// Public comments only: an internal note is the government's own.
fn report_commented(
    conn: &mut DbConnection,
    id: i64,
    occurrence: &Occurrence,
) -> Result<Option<(Notice, Vec<i64>)>, ApiError> {
    let Ok(comment) = serde_json::from_str::<CommentedPayload>(&occurrence.payload) else {
        return Ok(None);
    };
    if comment.visibility != TimelineVisibility::Public {
        return Ok(None);
    }
    let author = crate::reports::model::entry_author(conn, id, comment.entry_id)?;
    let Some((code, users)) = submitting_kim(conn, id, author)? else {
        return Ok(None);
    };
    let notice = report_notice(NotificationType::ReportCommented, id, &code, None);
    Ok(Some((notice, users)))
}

/// The users of every active KIM the bulletin addresses; urgent ones marked.
fn bulletin_published(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<(Notice, Vec<i64>)>, ApiError> {
    let Some(bulletin) = crate::bulletins::model::find(conn, id)? else {
        return Ok(None);
    };
    // Archived or deleted before the fan-out: nothing to read any more.
    if bulletin.status != BulletinStatus::Published {
        return Ok(None);
    }
    let kims = bulletin.audience()?.active_kim_ids(conn)?;
    let mut users = crate::users::model::kim_accounts(conn, &kims)?;
    users.retain(|user| Some(*user) != bulletin.author_id);
    let notice = Notice {
        kind: NotificationType::BulletinPublished,
        target_type: TargetType::Bulletin,
        target_id: id,
        urgent: bulletin.priority == Priority::Urgent,
        subject: bulletin.title,
        detail: None,
    };
    Ok(Some((notice, users)))
}

/// The kim_admins of the active KIMs `audience` addresses.
pub(super) fn kim_admins_of(
    conn: &mut DbConnection,
    audience: &crate::audience::Audience,
) -> Result<Vec<i64>, ApiError> {
    let kims = audience.active_kim_ids(conn)?;
    crate::users::model::kim_accounts_with_role(conn, &kims, Role::KimAdmin)
}

/// A session notice: named by its title, which its audience reads.
pub(super) fn session_notice(kind: NotificationType, session: &SessionRow) -> Notice {
    Notice {
        kind,
        target_type: TargetType::MentoringSession,
        target_id: session.id,
        urgent: false,
        subject: session.title.clone(),
        detail: None,
    }
}

/// A consultation notice: named by its title, which its audience reads.
pub(super) fn consultation_notice(
    kind: NotificationType,
    consultation: &ConsultationRow,
) -> Notice {
    Notice {
        kind,
        target_type: TargetType::Consultation,
        target_id: consultation.id,
        urgent: false,
        subject: consultation.title.clone(),
        detail: None,
    }
}

/// The kim_admins of the KIMs a new session addresses, to nominate their members.
fn session_scheduled(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<(Notice, Vec<i64>)>, ApiError> {
    let Some(session) = crate::mentoring::model::find(conn, id)? else {
        return Ok(None);
    };
    let admins = kim_admins_of(conn, &session.audience()?)?;
    Ok(Some((
        session_notice(NotificationType::SessionScheduled, &session),
        admins,
    )))
}

/// The kim_admins of the KIMs an opened consultation addresses, to answer it.
fn consultation_opened(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<(Notice, Vec<i64>)>, ApiError> {
    let Some(consultation) = crate::consultations::model::find(conn, id)? else {
        return Ok(None);
    };
    let admins = kim_admins_of(conn, &consultation.audience()?)?;
    let notice = consultation_notice(NotificationType::ConsultationOpened, &consultation);
    Ok(Some((notice, admins)))
}
