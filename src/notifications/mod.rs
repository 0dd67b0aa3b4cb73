//! Each account's inbox (SPEC §11): what happened to the reports, bulletins and
//! sessions that concern it, newest first, to be marked read. [`rules`] decides who is
//! told what; the rows are written when the outbox is fanned out.

pub mod model;
pub mod preferences;
pub mod push;
pub mod reminders;
pub mod retention;
pub mod rules;
pub mod stream;
mod text;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use model::{NotificationRow, NotificationType, TargetType};

use crate::auth::{Caller, Credential};
use crate::db::{Db, DbConnection, utc};
use crate::error::{ApiError, AuthFailure, FieldIssue};
use crate::extract::ListQuery;
use crate::i18n::Lang;
use crate::openapi::{
    BadRequest, Forbidden, InvalidPath, InvalidQuery, NotFound, ServiceUnavailable, Unauthorized,
};
use crate::pagination::{PageParams, cursor_after};
use crate::sync::{Counter, Removed, SyncItem, SyncPage, SyncPoint};

/// What a notification is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationTarget {
    #[serde(rename = "type")]
    pub target_type: TargetType,
    pub id: i64,
}

/// Something that happened which concerns the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: NotificationType,
    /// In the language the request names (`Accept-Language`), else the one the
    /// account's last sign-in named, else Indonesian.
    pub title: String,
    pub body: String,
    pub target: NotificationTarget,
    /// An urgent bulletin.
    pub urgent: bool,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Notification {
    pub(crate) fn shown(row: NotificationRow, lang: Lang) -> Self {
        let (title, body) = text::render(&row, lang);
        Notification {
            id: row.id,
            kind: row.kind,
            title,
            body,
            target: NotificationTarget {
                target_type: row.target_type,
                id: row.target_id,
            },
            urgent: row.urgent,
            read_at: row.read_at.map(utc),
            created_at: utc(row.created_at),
        }
    }
}

/// The language of a notification's words: the one the request names, else the one
/// the account signed in with last (Indonesian until it names one).
fn language(conn: &mut DbConnection, stated: Option<Lang>, user: i64) -> Result<Lang, ApiError> {
    match stated {
        Some(lang) => Ok(lang),
        None => crate::users::model::language_of(conn, user),
    }
}

/// Only people have an inbox; an integration client has none (403).
fn account(caller: &Caller) -> Result<i64, ApiError> {
    caller.user_id().ok_or(ApiError::Forbidden)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationFilter {
    /// `true`: only those not yet read.
    unread: Option<bool>,
    /// A `sync_token` from an earlier listing (at most 30 days old): only what changed
    /// since, with notifications that left the view (read, with `unread=true`; older
    /// than 90 days) as `{"id", "removed": true}`.
    updated_since: Option<String>,
}

/// Where an inbox page starts: after this id, for the listing made at this point.
type InboxCursor = (i64, SyncPoint);

/// The point `token` names, if the inbox still keeps what it needs to answer it.
fn sync_from(token: &str, view: u64) -> Result<SyncPoint, ApiError> {
    let point = SyncPoint::from_token(token, view)?;
    if point.at() < crate::db::now() - retention::SYNC_GRACE {
        return Err(ApiError::invalid_query(
            "updated_since",
            "sync_token_expired",
            "older than 30 days: sync again from the start, without updated_since",
            "lebih dari 30 hari: sinkronkan ulang dari awal tanpa updated_since",
        ));
    }
    Ok(point)
}

/// One page of the inbox, as stored, and where the listing stands.
fn inbox_page(
    conn: &mut DbConnection,
    user: i64,
    filter: &NotificationFilter,
    page: &PageParams,
) -> Result<(Vec<(NotificationRow, bool)>, SyncPoint), ApiError> {
    let unread_only = filter.unread.unwrap_or(false);
    let view = crate::sync::view_key(&format!("inbox:{user}:{unread_only}"));
    let since = filter
        .updated_since
        .as_deref()
        .map(|token| sync_from(token, view))
        .transpose()?;
    let cursor: Option<InboxCursor> = page.after()?;
    let upto = match &cursor {
        Some((_, upto)) => upto.clone(),
        None => SyncPoint::now(conn, Counter::Notifications, view)?,
    };
    let query = model::InboxQuery {
        user,
        unread_only,
        before: cursor.map(|(id, _)| id),
        limit: page.fetch_limit(),
        since,
        upto,
    };
    Ok((model::list(conn, &query)?, query.upto))
}

/// The caller's notifications of the last 90 days, newest first. Accounts only.
///
/// Every page carries a `sync_token`; passing it back as `updated_since` (within 30
/// days) answers only the notifications that arrived or were read since, and those
/// that left the view as `{"id", "removed": true}`.
#[utoipa::path(
    tag = "notifications",
    params(NotificationFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of notifications (or of what changed since `updated_since`)", body = SyncPage<Notification>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/notifications")]
pub async fn list_notifications(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    query: ListQuery<NotificationFilter>,
) -> Result<web::Json<SyncPage<Notification>>, ApiError> {
    let user = account(&caller)?;
    let ListQuery { page, filter } = query;
    let stated = Lang::stated(&req);
    let listing = page.clone();
    let (mut rows, upto, lang) = db
        .read(move |conn| {
            let (rows, upto) = inbox_page(conn, user, &filter, &listing)?;
            Ok((rows, upto, language(conn, stated, user)?))
        })
        .await?;
    let more = page.cut(&mut rows);
    let next_cursor = rows
        .last()
        .filter(|_| more)
        .and_then(|(row, _)| cursor_after(&(row.id, &upto)));
    let data = rows
        .into_iter()
        .map(|(row, in_view)| match in_view {
            true => SyncItem::Current(Notification::shown(row, lang)),
            false => SyncItem::Removed(Removed {
                id: row.id,
                removed: true,
            }),
        })
        .collect();
    Ok(web::Json(SyncPage {
        data,
        next_cursor,
        sync_token: upto.token(),
    }))
}

/// Marks one of the caller's notifications read; reading it again changes nothing.
#[utoipa::path(
    tag = "notifications",
    params(("id" = i64, Path, description = "Notification id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The notification, read", body = Notification),
        (status = 400, response = InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/notifications/{id}/read")]
pub async fn read_notification(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<web::Json<Notification>, ApiError> {
    let user = account(&caller)?;
    let id = id.into_inner();
    let stated = Lang::stated(&req);
    let (row, lang) = db
        .write(move |conn| {
            let row = model::mark_read(conn, user, id)?;
            Ok((row, language(conn, stated, user)?))
        })
        .await?;
    let row = row.ok_or(ApiError::NotFound)?;
    Ok(web::Json(Notification::shown(row, lang)))
}

/// How many notifications a call marked read.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    pub marked: usize,
}

/// Marks every unread notification of the caller read.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many were unread", body = MarkedRead),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/notifications/read-all")]
pub async fn read_all_notifications(
    caller: Caller,
    db: web::Data<Db>,
) -> Result<web::Json<MarkedRead>, ApiError> {
    let user = account(&caller)?;
    let marked = db
        .write(move |conn| model::mark_all_read(conn, user))
        .await?;
    Ok(web::Json(MarkedRead { marked }))
}

/// The `Last-Event-ID` a reconnecting client sends: the last notification it received.
fn last_event_id(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = req.headers().get("Last-Event-ID") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<i64>().ok())
        .filter(|id| *id >= 0)
        .map(Some)
        .ok_or_else(|| {
            ApiError::InvalidHeader(vec![FieldIssue::new(
                "Last-Event-ID",
                "invalid_header",
                "must be the id of an event this stream sent",
                "harus id peristiwa yang dikirim aliran ini",
            )])
        })
}

/// The caller's new notifications as they come, as Server-Sent Events (`event:
/// notification`, `id:` the notification's id, `data:` the notification). Send
/// `Last-Event-ID` to resume after a dropped connection; without it the stream starts
/// from now. A comment line comes every 20 s when nothing else does. The stream ends
/// when the token expires or the account is disabled, changed or signed out. Accounts
/// only.
#[utoipa::path(
    tag = "notifications",
    params(("Last-Event-ID" = Option<i64>, Header, description = "The last notification id received")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stream", content_type = "text/event-stream", body = String),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/notifications/stream")]
pub async fn notification_stream(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    hub: web::Data<stream::Hub>,
) -> Result<HttpResponse, ApiError> {
    let user = account(&caller)?;
    let credential = Credential::of(&req)?.ok_or(ApiError::Unauthorized(AuthFailure::Missing))?;
    let resume_after = last_event_id(&req)?;
    let db = db.get_ref().clone();
    let stated = Lang::stated(&req);
    let connection =
        stream::Connection::open(db, &hub, credential, user, stated, resume_after).await?;
    let events = futures_util::stream::unfold(connection, |mut connection| async move {
        let item = connection.next().await?;
        Some((item, connection))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Sent as written: compression would hold events back in its buffer.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(events))
}
