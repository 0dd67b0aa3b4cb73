//! Stored notifications: one row per recipient, read and marked read by its owner only.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::notifications;
use crate::db::{DbConnection, now};
use crate::error::ApiError;
use crate::text_enum;

text_enum! {
    /// What happened, as the inbox names it.
    pub enum NotificationType {
        ReportSubmitted = "report_submitted",
        ReportStatusChanged = "report_status_changed",
        ReportCommented = "report_commented",
        ReportOverdue = "report_overdue",
        BulletinPublished = "bulletin_published",
        SessionScheduled = "session_scheduled",
        SessionStartingSoon = "session_starting_soon",
        ConsultationOpened = "consultation_opened",
        ConsultationClosingSoon = "consultation_closing_soon",
    }
}

text_enum! {
    /// What a notification is about.
    pub enum TargetType {
        Report = "report",
        Bulletin = "bulletin",
        MentoringSession = "mentoring_session",
        Consultation = "consultation",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: i64,
    pub user_id: i64,
    pub kind: NotificationType,
    pub target_type: TargetType,
    pub target_id: i64,
    pub urgent: bool,
    /// A report's tracking code or a bulletin's title: nothing its recipient may not read.
    pub subject: String,
    /// A report's new status.
    pub detail: Option<String>,
    /// The outbox event it was made from; `None` for a reminder.
    pub event_id: Option<i64>,
    pub read_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// `false`: kept for the stream only, as its recipient prefers.
    pub in_inbox: bool,
}

/// One thing to tell, before it is addressed to its recipients.
#[derive(Debug, Clone)]
pub struct Notice {
    pub kind: NotificationType,
    pub target_type: TargetType,
    pub target_id: i64,
    pub urgent: bool,
    pub subject: String,
    pub detail: Option<String>,
}

/// An account to tell, and whether the notification goes to its inbox (else only to
/// its stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    pub user: i64,
    pub in_inbox: bool,
}

/// Writes `notice` once for each of `recipients`, as made from outbox event `event_id`
/// (`None`: a reminder).
pub fn insert(
    conn: &mut DbConnection,
    event_id: Option<i64>,
    notice: &Notice,
    recipients: &[Recipient],
) -> Result<(), ApiError> {
    let stamp = now();
    let rows: Vec<_> = recipients
        .iter()
        .map(|recipient| {
            (
                notifications::user_id.eq(recipient.user),
                notifications::in_inbox.eq(recipient.in_inbox),
                notifications::kind.eq(notice.kind),
                notifications::target_type.eq(notice.target_type),
                notifications::target_id.eq(notice.target_id),
                notifications::urgent.eq(notice.urgent),
                notifications::subject.eq(&notice.subject),
                notifications::detail.eq(notice.detail.as_deref()),
                notifications::event_id.eq(event_id),
                notifications::created_at.eq(stamp),
                notifications::updated_at.eq(stamp),
            )
        })
        .collect();
    // Eleven values a row: 500 rows a statement stay under both databases' bound limits.
    // MultiConnection has no batch inserts, so it goes per backend.
    for chunk in rows.chunks(500) {
        let insert = diesel::insert_into(notifications::table).values(chunk);
        match conn {
            DbConnection::Postgres(pg) => insert.execute(pg)?,
            DbConnection::Sqlite(sqlite) => insert.execute(sqlite)?,
        };
    }
    Ok(())
}

/// `user`'s notifications, newest first, after id `before`.
pub fn list(
    conn: &mut DbConnection,
    user: i64,
    unread_only: bool,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<NotificationRow>, ApiError> {
    let mut query = notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::in_inbox.eq(true))
        .select(NotificationRow::as_select())
        .order(notifications::id.desc())
        .limit(limit)
        .into_boxed();
    if unread_only {
        query = query.filter(notifications::read_at.is_null());
    }
    if let Some(before) = before {
        query = query.filter(notifications::id.lt(before));
    }
    Ok(query.load(conn)?)
}

/// Marks `user`'s notification `id` read (once: a second read keeps the first time);
/// `None` when `user` has no such notification.
pub fn mark_read(
    conn: &mut DbConnection,
    user: i64,
    id: i64,
) -> Result<Option<NotificationRow>, ApiError> {
    let stamp = now();
    diesel::update(
        notifications::table
            .filter(notifications::id.eq(id))
            .filter(notifications::user_id.eq(user))
            .filter(notifications::read_at.is_null()),
    )
    .set((
        notifications::read_at.eq(stamp),
        notifications::updated_at.eq(stamp),
    ))
    .execute(conn)?;
    Ok(notifications::table
        .filter(notifications::id.eq(id))
        .filter(notifications::user_id.eq(user))
        .select(NotificationRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks every unread notification of `user` read; how many there were.
pub fn mark_all_read(conn: &mut DbConnection, user: i64) -> Result<usize, ApiError> {
    let stamp = now();
    Ok(diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user))
            .filter(notifications::in_inbox.eq(true))
            .filter(notifications::read_at.is_null()),
    )
    .set((
        notifications::read_at.eq(stamp),
        notifications::updated_at.eq(stamp),
    ))
    .execute(conn)?)
}

/// How many of `user`'s notifications are unread.
pub fn unread_count(conn: &mut DbConnection, user: i64) -> Result<i64, ApiError> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::in_inbox.eq(true))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)?)
}

/// The newest notification's id, `0` when there is none.
pub fn newest_id(conn: &mut DbConnection) -> Result<i64, ApiError> {
    Ok(notifications::table
        .select(diesel::dsl::max(notifications::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// The newest id among `user`'s notifications, `0` when there is none.
pub fn newest_id_of(conn: &mut DbConnection, user: i64) -> Result<i64, ApiError> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user))
        .select(diesel::dsl::max(notifications::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// `user`'s notifications after id `after`, oldest first.
pub fn since(
    conn: &mut DbConnection,
    user: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<NotificationRow>, ApiError> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::id.gt(after))
        .select(NotificationRow::as_select())
        .order(notifications::id.asc())
        .limit(limit)
        .load(conn)?)
}
