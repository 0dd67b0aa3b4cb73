//! Stored notifications: one row per recipient, read and marked read by its owner only.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::db::schema::notifications;
use crate::db::{Backend, DbConnection, now};
use crate::error::ApiError;
use crate::sync::{Counter, SyncPoint, next_change};
use crate::text_enum;

/// How long the inbox shows a notification (SPEC §11).
pub const KEPT_FOR: chrono::Duration = chrono::Duration::days(90);

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

/// An account to tell, whether the notification goes to its inbox (else only to its
/// stream or its browsers), and whether it is pushed to its browsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    pub user: i64,
    pub in_inbox: bool,
    pub push: bool,
}

/// Writes `notice` once for each of `recipients`, as made from outbox event `event_id`
/// (`None`: a reminder); answers each new row's id with its account.
pub fn insert(
    conn: &mut DbConnection,
    event_id: Option<i64>,
    notice: &Notice,
    recipients: &[Recipient],
) -> Result<Vec<(i64, i64)>, ApiError> {
    let stamp = now();
    let change = next_change(conn, Counter::Notifications)?;
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
                notifications::change_seq.eq(change),
            )
        })
        .collect();
    // Twelve values a row: 500 rows a statement stay under both databases' bound limits.
    // MultiConnection has no batch inserts, so it goes per backend.
    let mut written = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(500) {
        let insert = diesel::insert_into(notifications::table)
            .values(chunk)
            .returning((notifications::id, notifications::user_id));
        written.extend(crate::on_backend!(conn, |c| insert.get_results::<(i64, i64)>(c))?);
    }
    Ok(written)
}

type Condition = Box<dyn BoxableExpression<notifications::table, Backend, SqlType = Bool>>;

/// One inbox listing: its owner, filter and page, and where it stands.
pub struct InboxQuery {
    pub user: i64,
    pub unread_only: bool,
    /// Rows older than this id (the page's cursor).
    pub before: Option<i64>,
    pub limit: i64,
    /// `updated_since`: only what changed after this point.
    pub since: Option<SyncPoint>,
    /// The point every page of the listing answers for.
    pub upto: SyncPoint,
}

/// The notifications of one listing, newest first, each with whether it is in the
/// owner's view (a sync also answers those that left it: read, with `unread=true`, or
/// past [`KEPT_FOR`]).
pub fn list(
    conn: &mut DbConnection,
    query: &InboxQuery,
) -> Result<Vec<(NotificationRow, bool)>, ApiError> {
    let shown_from = query.upto.at() - KEPT_FOR;
    let mut view: Condition = Box::new(notifications::created_at.ge(shown_from));
    if query.unread_only {
        view = Box::new(view.and(notifications::read_at.is_null()));
    }
    let (in_view, taken): (Condition, Condition) = match &query.since {
        None => (Box::new(true.into_sql::<Bool>()), view),
        Some(from) => (
            view,
            Box::new(
                from.changed_since("notifications")
                    .and(notifications::change_seq.le(query.upto.seq))
                    .or(notifications::created_at
                        .ge(from.at() - KEPT_FOR)
                        .and(notifications::created_at.lt(shown_from))),
            ),
        ),
    };
    let mut select = notifications::table
        .filter(notifications::user_id.eq(query.user))
        .filter(notifications::in_inbox.eq(true))
        .filter(taken)
        .select((NotificationRow::as_select(), in_view))
        .order(notifications::id.desc())
        .limit(query.limit)
        .into_boxed();
    if let Some(before) = query.before {
        select = select.filter(notifications::id.lt(before));
    }
    Ok(select.load(conn)?)
}

/// Marks `user`'s notification `id` read (once: a second read keeps the first time);
/// `None` when `user` has no such notification.
pub fn mark_read(
    conn: &mut DbConnection,
    user: i64,
    id: i64,
) -> Result<Option<NotificationRow>, ApiError> {
    let stamp = now();
    let unread = notifications::table
        .filter(notifications::id.eq(id))
        .filter(notifications::user_id.eq(user))
        .filter(notifications::read_at.is_null());
    // A change number only when there is a change: a repeated read is no sync news.
    if diesel::select(diesel::dsl::exists(unread)).get_result(conn)? {
        diesel::update(unread)
            .set((
                notifications::read_at.eq(stamp),
                notifications::updated_at.eq(stamp),
                notifications::change_seq.eq(next_change(conn, Counter::Notifications)?),
            ))
            .execute(conn)?;
    }
    Ok(notifications::table
        .filter(notifications::id.eq(id))
        .filter(notifications::user_id.eq(user))
        .select(NotificationRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks every unread notification the inbox shows `user` read; how many there were.
pub fn mark_all_read(conn: &mut DbConnection, user: i64) -> Result<usize, ApiError> {
    let stamp = now();
    let unread = notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::in_inbox.eq(true))
        .filter(notifications::created_at.ge(stamp - KEPT_FOR))
        .filter(notifications::read_at.is_null());
    if !diesel::select(diesel::dsl::exists(unread)).get_result(conn)? {
        return Ok(0);
    }
    Ok(diesel::update(unread)
        .set((
            notifications::read_at.eq(stamp),
            notifications::updated_at.eq(stamp),
            notifications::change_seq.eq(next_change(conn, Counter::Notifications)?),
        ))
        .execute(conn)?)
}

/// How many of the notifications the inbox shows `user` are unread.
pub fn unread_count(conn: &mut DbConnection, user: i64) -> Result<i64, ApiError> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::in_inbox.eq(true))
        .filter(notifications::created_at.ge(now() - KEPT_FOR))
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

/// Everyone's notifications after id `after`, oldest first: what the stream hub hands
/// to its streams.
pub fn all_since(
    conn: &mut DbConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<NotificationRow>, ApiError> {
    Ok(notifications::table
        .filter(notifications::id.gt(after))
        .select(NotificationRow::as_select())
        .order(notifications::id.asc())
        .limit(limit)
        .load(conn)?)
}
