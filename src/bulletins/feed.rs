//! The public Atom 1.0 feed of bulletins (SPEC §6), for the city website and feed
//! readers: the published, unexpired public bulletins, newest first, as plain text.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use atom_syndication::{Category as AtomCategory, Content, Entry, Feed, Link, Person, Text};
use chrono::{DateTime, FixedOffset};
use diesel::prelude::*;

use super::model::BulletinRow;
use super::policy::BulletinAccess;
use crate::attachments::FileContent;
use crate::config::PublicBaseUrl;
use crate::db::schema::{bulletins, kims};
use crate::db::{Db, DbConnection, utc};
use crate::domain::text::xml_safe;
use crate::error::ApiError;
use crate::openapi::ServiceUnavailable;

/// Entries in the feed; readers poll it, they do not page it.
const FEED_ENTRIES: i64 = 50;
const GOVERNMENT: &str = "Pemerintah Kota Metro";

pub(super) fn fixed(moment: chrono::NaiveDateTime) -> DateTime<FixedOffset> {
    utc(moment).fixed_offset()
}

/// Published public bulletins as an Atom 1.0 feed, newest first (at most 50).
/// Anonymous; bodies are plain text, never rendered as HTML.
#[utoipa::path(
    tag = "bulletins",
    responses(
        (status = 200, description = "An Atom 1.0 feed", content((FileContent = "application/atom+xml"))),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/bulletins/feed.atom")]
pub async fn atom_feed(
    db: web::Data<Db>,
    public_base: web::Data<PublicBaseUrl>,
) -> Result<HttpResponse, ApiError> {
    let (rows, kim_names) = db.read(latest_public).await?;
    // Links from configuration only: `Host` and `X-Forwarded-*` are the client's to
    // forge, and this answer is cached publicly.
    let base = &public_base.0;
    let entries: Vec<Entry> = rows
        .into_iter()
        .map(|row| entry(row, &kim_names, base))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/atom+xml; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(xml_safe(
            feed(
                "Buletin Informasi Kota Metro",
                Some(
                    "Informasi publik dari Pemerintah Kota Metro dan Kelompok Informasi Masyarakat",
                ),
                "/api/v1/bulletins/feed.atom",
                entries,
                base,
            )
            .to_string(),
        )))
}

/// The newest public bulletins, and the names of the KIMs that wrote any of them.
fn latest_public(
    conn: &mut DbConnection,
) -> Result<(Vec<BulletinRow>, HashMap<i64, String>), ApiError> {
    let access = BulletinAccess::of(conn, None)?;
    let rows: Vec<BulletinRow> = bulletins::table
        .filter(access.condition())
        .order((bulletins::published_at.desc(), bulletins::id.desc()))
        .limit(FEED_ENTRIES)
        .select(BulletinRow::as_select())
        .load(conn)?;
    let kim_ids: Vec<i64> = rows.iter().filter_map(|row| row.origin_kim_id).collect();
    let names: HashMap<i64, String> = if kim_ids.is_empty() {
        HashMap::new()
    } else {
        kims::table
            .filter(kims::id.eq_any(&kim_ids))
            .select((kims::id, kims::name))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect()
    };
    Ok((rows, names))
}

fn entry(row: BulletinRow, kim_names: &HashMap<i64, String>, base: &str) -> Entry {
    let author = row
        .origin_kim_id
        .and_then(|id| kim_names.get(&id).cloned())
        .unwrap_or_else(|| GOVERNMENT.to_owned());
    Entry {
        title: Text::plain(row.title),
        id: format!("{base}/api/v1/bulletins/{}", row.id),
        updated: fixed(row.updated_at),
        published: row.published_at.map(fixed),
        authors: vec![Person {
            name: author,
            ..Default::default()
        }],
        categories: vec![AtomCategory {
            term: row.category.as_str().to_owned(),
            ..Default::default()
        }],
        links: vec![Link {
            href: format!("{base}/api/v1/bulletins/{}", row.id),
            rel: "alternate".into(),
            mime_type: Some("application/json".into()),
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

/// A feed of `entries` published at `path`, updated with its latest entry.
pub(super) fn feed(
    title: &str,
    subtitle: Option<&str>,
    path: &str,
    entries: Vec<Entry>,
    base: &str,
) -> Feed {
    let updated = entries
        .iter()
        .map(|entry| entry.updated)
        .max()
        .unwrap_or_else(|| fixed(chrono::DateTime::UNIX_EPOCH.naive_utc()));
    Feed {
        title: Text::plain(title),
        subtitle: subtitle.map(Text::plain),
        id: format!("{base}{path}"),
        updated,
        authors: vec![Person {
            name: GOVERNMENT.into(),
            ..Default::default()
        }],
        links: vec![Link {
            href: format!("{base}{path}"),
            rel: "self".into(),
            mime_type: Some("application/atom+xml".into()),
            ..Default::default()
        }],
        lang: Some("id".into()),
        entries,
        ..Default::default()
    }
}
