//! The CAP messages a bulletin was issued as, in order; each later one references the
//! earlier ones by `sender,identifier,sent`.

use chrono::{NaiveDateTime, Timelike};
use diesel::prelude::*;

use crate::bulletins::model::{BulletinRow, BulletinStatus, Priority};
use crate::db::schema::bulletin_alerts;
use crate::db::{DbConnection, now};
use crate::error::ApiError;

/// CAP `msgType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgType {
    Alert,
    Update,
    Cancel,
}

impl MsgType {
    /// CAP's own word, which is also what is stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            MsgType::Alert => "Alert",
            MsgType::Update => "Update",
            MsgType::Cancel => "Cancel",
        }
    }

    fn parse(text: &str) -> Option<MsgType> {
        [MsgType::Alert, MsgType::Update, MsgType::Cancel]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

#[derive(Debug, Clone)]
pub struct Message {
    pub bulletin_id: i64,
    pub seq: i32,
    pub msg_type: MsgType,
    pub sent_at: NaiveDateTime,
}

impl Message {
    /// The message's `identifier`: unique for the sender, stable for this message.
    pub fn identifier(&self) -> String {
        format!("kim-api.bulletin.{}.{}", self.bulletin_id, self.seq)
    }
}

/// The messages of `bulletin`, oldest first.
pub fn of(conn: &mut DbConnection, bulletin: i64) -> Result<Vec<Message>, ApiError> {
    of_each(conn, &[bulletin])
}

/// The messages of every bulletin in `ids`, by bulletin, each one's oldest first: one
/// query for a whole feed.
pub fn of_each(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<Message>, ApiError> {
    let rows: Vec<(i64, i32, String, NaiveDateTime)> = bulletin_alerts::table
        .filter(bulletin_alerts::bulletin_id.eq_any(ids))
        .order((bulletin_alerts::bulletin_id, bulletin_alerts::seq))
        .select((
            bulletin_alerts::bulletin_id,
            bulletin_alerts::seq,
            bulletin_alerts::msg_type,
            bulletin_alerts::sent_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(bulletin_id, seq, msg_type, sent_at)| {
            Ok(Message {
                bulletin_id,
                seq,
                msg_type: crate::db::stored(
                    MsgType::parse(&msg_type),
                    "bulletin_alerts.msg_type",
                    bulletin_id,
                )?,
                sent_at,
            })
        })
        .collect()
}

/// Which message, if any, the change from `before` to `after` issues: publishing an
/// urgent bulletin (or making a published one urgent) alerts; editing a published
/// urgent one updates; archiving it, or taking its urgency away, cancels. Called in
/// the changing transaction, with the bulletin locked.
pub fn record(
    conn: &mut DbConnection,
    before: &BulletinRow,
    after: &BulletinRow,
) -> Result<Option<MsgType>, ApiError> {
    let alerting = |row: &BulletinRow| {
        row.status == BulletinStatus::Published && row.priority == Priority::Urgent
    };
    let issued = of(conn, after.id)?;
    let live = issued
        .last()
        .is_some_and(|last| last.msg_type != MsgType::Cancel);
    let msg_type = match (live, alerting(after)) {
        (false, true) => Some(if issued.is_empty() {
            MsgType::Alert
        } else {
            // Urgent again after a Cancel: a new Update of the same alert.
            MsgType::Update
        }),
        (true, true) if alerting(before) => Some(MsgType::Update),
        (true, false) => Some(MsgType::Cancel),
        _ => None,
    };
    let Some(msg_type) = msg_type else {
        return Ok(None);
    };
    // CAP times have whole seconds; two messages in one second still differ by seq.
    let sent_at = now().with_nanosecond(0).unwrap_or_else(now);
    diesel::insert_into(bulletin_alerts::table)
        .values((
            bulletin_alerts::bulletin_id.eq(after.id),
            bulletin_alerts::seq.eq(issued.len() as i32 + 1),
            bulletin_alerts::msg_type.eq(msg_type.as_str()),
            bulletin_alerts::sent_at.eq(sent_at),
        ))
        .execute(conn)?;
    Ok(Some(msg_type))
}
