//! The Atom feed of current alerts (SPEC §12), the shape alert hubs ingest: one entry
//! per live alert, linking its CAP document. Anonymous callers get the public alerts;
//! with a token, the caller also gets the restricted alerts it may read.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use atom_syndication::{Content, Entry, Link, Text};
use diesel::prelude::*;

use super::document::CONTENT_TYPE;
use super::messages::{self, MsgType};
use crate::auth::MaybeCaller;
use crate::bulletins::feed::{feed, fixed};
use crate::bulletins::model::{BulletinRow, Priority};
use crate::bulletins::policy::BulletinAccess;
use crate::config::PublicBaseUrl;
use crate::db::schema::bulletins;
use crate::db::{Db, DbConnection};
use crate::domain::text::xml_safe;
use crate::error::ApiError;
use crate::openapi::{ServiceUnavailable, Unauthorized};

/// Alerts in the feed: hubs poll it; live alerts are few.
const FEED_ENTRIES: i64 = 100;

/// Current alerts as an Atom 1.0 feed, newest first: urgent bulletins that are
/// published and unexpired, each entry linking its CAP 1.2 document
/// (`application/cap+xml`). Anonymous: public alerts only (`scope` `Public`); with a
/// token, also the `Restricted` ones the caller may read.
#[utoipa::path(
    tag = "bulletins",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "An Atom 1.0 feed of alerts", content((crate::attachments::FileContent = "application/atom+xml"))),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/alerts.atom")]
pub async fn alerts_feed(
    caller: MaybeCaller,
    db: web::Data<Db>,
    public_base: web::Data<PublicBaseUrl>,
) -> Result<HttpResponse, ApiError> {
    let MaybeCaller(caller) = caller;
    let anonymous = caller.is_none();
    let alerts = db
        .read(move |conn| current_alerts(conn, caller.as_ref()))
        .await?;
    let base = &public_base.0;
    let entries: Vec<Entry> = alerts
        .into_iter()
        .map(|(row, sent)| entry(row, sent, base))
        .collect();
    // Only the anonymous answer is the same for everyone.
    let caching = if anonymous {
        "public, max-age=60"
    } else {
        "private, no-store"
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/atom+xml; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, caching))
        .body(xml_safe(
            feed(
                "Peringatan Dini Kota Metro",
                None,
                "/api/v1/alerts.atom",
                entries,
                base,
            )
            .to_string(),
        )))
}

/// The live alerts `caller` may read, each with its latest message's time.
fn current_alerts(
    conn: &mut DbConnection,
    caller: Option<&crate::auth::Caller>,
) -> Result<Vec<(BulletinRow, chrono::NaiveDateTime)>, ApiError> {
    let access = BulletinAccess::of(conn, caller)?;
    let rows: Vec<BulletinRow> = bulletins::table
        .filter(access.condition())
        .filter(bulletins::status.eq(crate::bulletins::model::StoredStatus::Published))
        .filter(bulletins::priority.eq(Priority::Urgent))
        .filter(
            bulletins::expires_at
                .is_null()
                .or(bulletins::expires_at.gt(crate::db::now())),
        )
        .order((bulletins::published_at.desc(), bulletins::id.desc()))
        .limit(FEED_ENTRIES)
        .select(BulletinRow::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    // Oldest first per bulletin: the last one inserted is each bulletin's latest.
    let latest: std::collections::HashMap<i64, messages::Message> = messages::of_each(conn, &ids)?
        .into_iter()
        .map(|message| (message.bulletin_id, message))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let sent = latest
                .get(&row.id)
                .filter(|message| message.msg_type != MsgType::Cancel)?
                .sent_at;
            Some((row, sent))
        })
        .collect())
}

fn entry(row: BulletinRow, sent: chrono::NaiveDateTime, base: &str) -> Entry {
    let document = format!("{base}/api/v1/bulletins/{}.cap", row.id);
    Entry {
        title: Text::plain(row.title),
        id: document.clone(),
        updated: fixed(sent),
        published: row.published_at.map(fixed),
        links: vec![Link {
            href: document,
            rel: "alternate".into(),
            mime_type: Some(CONTENT_TYPE.into()),
            ..Default::default()
        }],
        content: Some(Content {
            value: Some(row.body),
            content_type: Some("text".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}
