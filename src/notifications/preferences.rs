//! Which ways each account takes each type of notification (SPEC §11): its inbox, its
//! live stream, Web Push; all on by default. A type turned off everywhere is not
//! written at all; one kept for the stream but not the inbox is written and left out
//! of the inbox lists and the unread count.

use std::collections::{HashMap, HashSet};

use actix_web::{HttpResponse, get, put, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::account;
use super::model::{NotificationType, Recipient};
use crate::auth::Caller;
use crate::db::schema::notification_preferences;
use crate::db::{Db, DbConnection};
use crate::error::{ApiError, FieldIssue};
use crate::extract::ApiJson;
use crate::openapi::{Forbidden, InvalidBody, ServiceUnavailable, Unauthorized, Unprocessable};

/// The ways one type of notification reaches the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channels {
    pub inbox: bool,
    pub stream: bool,
    pub push: bool,
}

impl Channels {
    const ALL_ON: Channels = Channels {
        inbox: true,
        stream: true,
        push: true,
    };

    fn any(self) -> bool {
        self.inbox || self.stream || self.push
    }
}

/// One type's preference: which ways it reaches the account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preference {
    #[serde(rename = "type")]
    pub kind: NotificationType,
    pub inbox: bool,
    pub stream: bool,
    pub push: bool,
}

impl Preference {
    fn of(kind: NotificationType, channels: Channels) -> Self {
        Preference {
            kind,
            inbox: channels.inbox,
            stream: channels.stream,
            push: channels.push,
        }
    }

    fn channels(&self) -> Channels {
        Channels {
            inbox: self.inbox,
            stream: self.stream,
            push: self.push,
        }
    }
}

/// Every type, with how it reaches the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preferences {
    pub preferences: Vec<Preference>,
}

/// Types to change; the types not named keep their preference.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferenceChanges {
    #[schema(max_items = 20)]
    pub preferences: Vec<Preference>,
}

/// The preferences `user` set, by type (the others are all on).
fn stored(
    conn: &mut DbConnection,
    users: &[i64],
    kind: Option<NotificationType>,
) -> Result<HashMap<(i64, NotificationType), Channels>, ApiError> {
    let mut query = notification_preferences::table
        .filter(notification_preferences::user_id.eq_any(users))
        .select((
            notification_preferences::user_id,
            notification_preferences::kind,
            notification_preferences::inbox,
            notification_preferences::stream,
            notification_preferences::push,
        ))
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(notification_preferences::kind.eq(kind));
    }
    Ok(query
        .load::<(i64, NotificationType, bool, bool, bool)>(conn)?
        .into_iter()
        .map(|(user, kind, inbox, stream, push)| {
            (
                (user, kind),
                Channels {
                    inbox,
                    stream,
                    push,
                },
            )
        })
        .collect())
}

/// `users` as recipients of a notification of `kind`: those who take it no way are
/// left out, and those who take it on the stream only keep it out of their inbox.
pub fn recipients(
    conn: &mut DbConnection,
    kind: NotificationType,
    users: &[i64],
) -> Result<Vec<Recipient>, ApiError> {
    let set = stored(conn, users, Some(kind))?;
    Ok(users
        .iter()
        .filter_map(|&user| {
            let channels = set.get(&(user, kind)).copied().unwrap_or(Channels::ALL_ON);
            channels.any().then_some(Recipient {
                user,
                in_inbox: channels.inbox,
                push: channels.push,
            })
        })
        .collect())
}

/// The types `user` does not take on the stream.
pub fn off_stream(
    conn: &mut DbConnection,
    user: i64,
) -> Result<HashSet<NotificationType>, ApiError> {
    Ok(stored(conn, &[user], None)?
        .into_iter()
        .filter(|(_, channels)| !channels.stream)
        .map(|((_, kind), _)| kind)
        .collect())
}

fn all_of(conn: &mut DbConnection, user: i64) -> Result<Preferences, ApiError> {
    let set = stored(conn, &[user], None)?;
    Ok(Preferences {
        preferences: NotificationType::ALL
            .iter()
            .map(|&kind| {
                let channels = set.get(&(user, kind)).copied().unwrap_or(Channels::ALL_ON);
                Preference::of(kind, channels)
            })
            .collect(),
    })
}

/// How each type of notification reaches the caller. Accounts only.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every type with its channels", body = Preferences),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/notifications/preferences")]
pub async fn get_preferences(
    caller: Caller,
    db: web::Data<Db>,
) -> Result<web::Json<Preferences>, ApiError> {
    let user = account(&caller)?;
    Ok(web::Json(db.read(move |conn| all_of(conn, user)).await?))
}

impl PreferenceChanges {
    /// Each type named once.
    fn check(self) -> Result<HashMap<NotificationType, Channels>, ApiError> {
        let mut changes = HashMap::new();
        for (index, preference) in self.preferences.into_iter().enumerate() {
            if changes
                .insert(preference.kind, preference.channels())
                .is_some()
            {
                return Err(ApiError::Validation(vec![FieldIssue::new(
                    format!("preferences[{index}].type"),
                    "duplicate",
                    "names a type already named",
                    "menyebut jenis yang sudah disebut",
                )]));
            }
        }
        Ok(changes)
    }
}

/// Changes how the types named reach the caller; answers every type. Accounts only.
#[utoipa::path(
    tag = "notifications",
    request_body = PreferenceChanges,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every type with its channels", body = Preferences),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[put("/notifications/preferences")]
pub async fn put_preferences(
    caller: Caller,
    db: web::Data<Db>,
    body: ApiJson<PreferenceChanges>,
) -> Result<HttpResponse, ApiError> {
    let user = account(&caller)?;
    let ApiJson(changes) = body;
    let changes = changes.check()?;
    let preferences = db
        .write(move |conn| {
            for (&kind, &channels) in &changes {
                keep(conn, user, kind, channels)?;
            }
            all_of(conn, user)
        })
        .await?;
    Ok(HttpResponse::Ok().json(preferences))
}

/// Stores `channels` for `user` and `kind` in one statement, so that simultaneous
/// changes never collide on the key.
fn keep(
    conn: &mut DbConnection,
    user: i64,
    kind: NotificationType,
    channels: Channels,
) -> Result<(), ApiError> {
    if channels == Channels::ALL_ON {
        // The default needs no row.
        let kept = notification_preferences::table
            .filter(notification_preferences::user_id.eq(user))
            .filter(notification_preferences::kind.eq(kind));
        diesel::delete(kept).execute(conn)?;
        return Ok(());
    }
    let insert = diesel::insert_into(notification_preferences::table).values((
        notification_preferences::user_id.eq(user),
        notification_preferences::kind.eq(kind),
        notification_preferences::inbox.eq(channels.inbox),
        notification_preferences::stream.eq(channels.stream),
        notification_preferences::push.eq(channels.push),
    ));
    let change = (
        notification_preferences::inbox.eq(channels.inbox),
        notification_preferences::stream.eq(channels.stream),
        notification_preferences::push.eq(channels.push),
    );
    let key = (
        notification_preferences::user_id,
        notification_preferences::kind,
    );
    // MultiConnection has no ON CONFLICT: it goes per backend.
    crate::on_backend!(conn, |c| insert
        .on_conflict(key)
        .do_update()
        .set(change)
        .execute(c))?;
    Ok(())
}
