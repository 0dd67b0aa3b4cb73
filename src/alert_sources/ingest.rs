//! One incoming alert taken in, in one transaction: recorded by its sender and
//! identifier (so a repeated poll, on any instance, makes nothing twice), then an
//! `Alert` makes an urgent bulletin for the KIMs it concerns, an `Update` edits the
//! bulletin of the alert it references, a `Cancel` archives it.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use geo::{Point, Rect, coord};

use super::cap::{IncomingAlert, MessageType};
use super::matching::{Kota, Matched, NamedRegion, PlacedKim, audience_of};
use super::model::{AlertMode, ItemOutcome, PollItem, SourceRow, severity_rank};
use crate::audience::Audience;
use crate::bulletins::cap::CapCategory;
use crate::bulletins::model::{
    self as bulletins_model, BulletinEdit, BulletinRow, BulletinStatus, Category, NewBulletin,
    Origin, Priority, StoredStatus,
};
use crate::db::schema::{bulletins, incoming_alerts, kims, region_boundaries, regions};
use crate::db::{DbConnection, now};
use crate::domain::place::{METRO_LATITUDE, METRO_LONGITUDE};
use crate::domain::text::limits;
use crate::error::ApiError;
use crate::kims::model::KimStatus;
use crate::regions::RegionLevel;
use crate::unit_of_work::UnitOfWork;

/// The kota as matching needs it, read once per poll.
pub struct KotaSnapshot {
    extent: Rect<f64>,
    kims: Vec<PlacedKim>,
    regions: Vec<NamedRegion>,
}

impl KotaSnapshot {
    pub fn load(conn: &mut DbConnection) -> Result<KotaSnapshot, ApiError> {
        let placed: Vec<(i64, Option<f64>, Option<f64>)> = kims::table
            .filter(kims::status.eq(KimStatus::Active))
            .filter(kims::latitude.is_not_null())
            .select((kims::id, kims::latitude, kims::longitude))
            .load(conn)?;
        let kims = placed
            .into_iter()
            .filter_map(|(id, latitude, longitude)| {
                Some(PlacedKim {
                    id,
                    point: Point::new(longitude?, latitude?),
                })
            })
            .collect();
        let regions = regions::table
            .filter(regions::level.ne(RegionLevel::Provinsi))
            .select((
                regions::code,
                regions::level,
                regions::parent_code,
                regions::name,
            ))
            .load::<(String, RegionLevel, Option<String>, String)>(conn)?
            .into_iter()
            .map(|(code, level, parent_code, name)| NamedRegion {
                code,
                level,
                parent_code,
                name,
            })
            .collect();
        Ok(KotaSnapshot {
            extent: extent(conn)?,
            kims,
            regions,
        })
    }

    fn kota(&self) -> Kota<'_> {
        Kota {
            extent: self.extent,
            kims: &self.kims,
            regions: &self.regions,
        }
    }
}

/// The loaded boundaries' extent, else the box places are checked in.
fn extent(conn: &mut DbConnection) -> Result<Rect<f64>, ApiError> {
    use diesel::dsl::{max, min};
    let (south, north, west, east): (Option<f64>, Option<f64>, Option<f64>, Option<f64>) =
        region_boundaries::table
            .select((
                min(region_boundaries::min_latitude),
                max(region_boundaries::max_latitude),
                min(region_boundaries::min_longitude),
                max(region_boundaries::max_longitude),
            ))
            .first(conn)?;
    Ok(match (south, north, west, east) {
        (Some(south), Some(north), Some(west), Some(east)) => {
            Rect::new(coord! { x: west, y: south }, coord! { x: east, y: north })
        }
        _ => Rect::new(
            coord! { x: METRO_LONGITUDE.0, y: METRO_LATITUDE.0 },
            coord! { x: METRO_LONGITUDE.1, y: METRO_LATITUDE.1 },
        ),
    })
}

fn item(alert: &IncomingAlert, outcome: ItemOutcome, bulletin_id: Option<i64>) -> PollItem {
    PollItem {
        identifier: Some(alert.identifier.clone()),
        url: None,
        outcome,
        bulletin_id,
        reason: None,
    }
}

fn skipped(alert: &IncomingAlert, reason: impl Into<String>) -> PollItem {
    PollItem {
        reason: Some(reason.into()),
        ..item(alert, ItemOutcome::Skipped, None)
    }
}

/// `text` cut to `max` characters.
pub(super) fn clipped(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn naive_utc(moment: chrono::DateTime<chrono::FixedOffset>) -> NaiveDateTime {
    moment.with_timezone(&Utc).naive_utc()
}

/// Takes `alert` in for `source`.
pub fn take_in(
    uow: &mut UnitOfWork<'_>,
    source: &SourceRow,
    kota: &KotaSnapshot,
    alert: &IncomingAlert,
) -> Result<PollItem, ApiError> {
    let insert = diesel::insert_into(incoming_alerts::table).values((
        incoming_alerts::sender.eq(&alert.sender),
        incoming_alerts::identifier.eq(&alert.identifier),
        incoming_alerts::source_id.eq(source.id),
        incoming_alerts::received_at.eq(now()),
    ));
    // MultiConnection has no ON CONFLICT: it goes per backend.
    let recorded = crate::on_backend!(uow.conn, |c| insert.on_conflict_do_nothing().execute(c))?;
    if recorded == 0 {
        return Ok(skipped(alert, "already taken in"));
    }
    if !alert.actual {
        return Ok(skipped(
            alert,
            "not an Actual alert (a test, an exercise or a draft)",
        ));
    }
    let earlier = referenced_bulletin(uow, alert)?;
    let taken = match (alert.message_type, earlier) {
        (MessageType::Other, _) => skipped(alert, "an Ack or Error message changes nothing"),
        (MessageType::Cancel, None) => skipped(alert, "cancels no alert taken in"),
        (MessageType::Cancel, Some(row)) => cancel(uow, alert, row)?,
        (MessageType::Update, Some(row)) => update(uow, kota, alert, row)?,
        (MessageType::Alert | MessageType::Update, _) => create(uow, source, kota, alert)?,
    };
    diesel::update(
        incoming_alerts::table
            .filter(incoming_alerts::sender.eq(&alert.sender))
            .filter(incoming_alerts::identifier.eq(&alert.identifier)),
    )
    .set(incoming_alerts::bulletin_id.eq(taken.bulletin_id))
    .execute(uow.conn)?;
    Ok(taken)
}

/// The bulletin of the latest message `alert` references, locked.
fn referenced_bulletin(
    uow: &mut UnitOfWork<'_>,
    alert: &IncomingAlert,
) -> Result<Option<BulletinRow>, ApiError> {
    let mut found = None;
    for reference in &alert.references {
        let bulletin: Option<Option<i64>> = incoming_alerts::table
            .filter(incoming_alerts::sender.eq(&reference.sender))
            .filter(incoming_alerts::identifier.eq(&reference.identifier))
            .select(incoming_alerts::bulletin_id)
            .first(uow.conn)
            .optional()?;
        if let Some(Some(id)) = bulletin {
            found = Some(id);
        }
    }
    let Some(id) = found else {
        return Ok(None);
    };
    uow.lock_bulletin(id)?;
    Ok(bulletins_model::find(uow.conn, id)?.filter(|row| row.status.shown().is_some()))
}

fn matched_audience(
    conn: &mut DbConnection,
    kota: &KotaSnapshot,
    alert: &IncomingAlert,
) -> Result<Result<(Audience, i32), String>, ApiError> {
    let audience = match audience_of(alert, &kota.kota()) {
        Matched::Audience(audience) => audience,
        Matched::Nobody(reason) => return Ok(Err(reason.to_owned())),
    };
    let reached = audience.count_active_kims(conn)?;
    if reached == 0 {
        return Ok(Err("the areas it names have no active KIM".to_owned()));
    }
    Ok(Ok((audience, reached)))
}

fn body_of(alert: &IncomingAlert) -> String {
    let mut body = alert.description.clone();
    if let Some(instruction) = &alert.instruction {
        body.push_str("\n\n");
        body.push_str(instruction);
    }
    if body.trim().is_empty() {
        body = alert.headline.clone();
    }
    clipped(&body, limits::BULLETIN_BODY)
}

fn cap_of(alert: &IncomingAlert) -> Option<String> {
    let mut cap = alert.cap.clone();
    cap.event = cap.event.map(|event| clipped(&event, limits::CAP_EVENT));
    cap.instruction = cap
        .instruction
        .map(|instruction| clipped(&instruction, limits::CAP_INSTRUCTION));
    cap.stored()
}

/// The bulletin category of an alert: `bencana` unless its CAP category says health,
/// security or infrastructure.
fn category_of(alert: &IncomingAlert) -> Category {
    match alert.cap.cap_category {
        Some(CapCategory::Health) => Category::Kesehatan,
        Some(CapCategory::Security) => Category::Keamanan,
        Some(CapCategory::Infra | CapCategory::Transport) => Category::Infrastruktur,
        _ => Category::Bencana,
    }
}

fn create(
    uow: &mut UnitOfWork<'_>,
    source: &SourceRow,
    kota: &KotaSnapshot,
    alert: &IncomingAlert,
) -> Result<PollItem, ApiError> {
    if severity_rank(alert.severity) < severity_rank(source.min_severity) {
        return Ok(skipped(
            alert,
            format!(
                "severity {} is below the source's minimum {}",
                alert.severity.as_str(),
                source.min_severity.as_str()
            ),
        ));
    }
    let audience = match matched_audience(uow.conn, kota, alert)? {
        Ok((audience, _)) => audience,
        Err(reason) => return Ok(skipped(alert, reason)),
    };
    let expires_at = alert.expires.map(naive_utc);
    if expires_at.is_some_and(|at| at <= now()) {
        return Ok(skipped(alert, "expired"));
    }
    let new = NewBulletin {
        origin: Origin::Government,
        origin_kim_id: None,
        title: clipped(&alert.headline, limits::BULLETIN_TITLE),
        body: body_of(alert),
        category: category_of(alert),
        priority: Priority::Urgent,
        audience,
        expires_at,
        author_id: None,
        cap: cap_of(alert),
        alert_source_id: Some(source.id),
        cap_identifier: Some(alert.identifier.clone()),
    };
    let row = bulletins_model::insert(uow.conn, &new)?;
    uow.audit(
        "bulletin.created",
        Some(crate::unit_of_work::Target::new("bulletin", row.id)),
        Some(format!("alert_source={}", source.id)),
    )?;
    if source.mode == AlertMode::Publish {
        crate::bulletins::lifecycle::change_status(uow, &row, BulletinStatus::Published)?;
    }
    Ok(item(alert, ItemOutcome::Created, Some(row.id)))
}

fn update(
    uow: &mut UnitOfWork<'_>,
    kota: &KotaSnapshot,
    alert: &IncomingAlert,
    current: BulletinRow,
) -> Result<PollItem, ApiError> {
    if current.status == BulletinStatus::Archived {
        return Ok(PollItem {
            reason: Some("its bulletin is archived".to_owned()),
            ..item(alert, ItemOutcome::Skipped, Some(current.id))
        });
    }
    let audience = match matched_audience(uow.conn, kota, alert)? {
        Ok((audience, _)) => Some(audience),
        // An update drawn away from every KIM keeps the bulletin's audience.
        Err(_) => None,
    };
    let edit = BulletinEdit {
        title: Some(clipped(&alert.headline, limits::BULLETIN_TITLE)),
        body: Some(body_of(alert)),
        audience,
        expires_at: Some(alert.expires.map(naive_utc)),
        cap: Some(cap_of(alert)),
        ..BulletinEdit::default()
    };
    let row = bulletins_model::update(uow.conn, &current, &edit)?;
    crate::bulletins::cap::messages::record(uow.conn, &current, &row)?;
    uow.audit(
        "bulletin.updated",
        Some(crate::unit_of_work::Target::new("bulletin", row.id)),
        Some(format!("cap_update={}", alert.identifier)),
    )?;
    Ok(item(alert, ItemOutcome::Updated, Some(row.id)))
}

/// A published bulletin is archived; a draft nobody published is withdrawn (deleted).
fn cancel(
    uow: &mut UnitOfWork<'_>,
    alert: &IncomingAlert,
    current: BulletinRow,
) -> Result<PollItem, ApiError> {
    let id = current.id;
    match current.status.shown() {
        Some(BulletinStatus::Published) => {
            crate::bulletins::lifecycle::change_status(uow, &current, BulletinStatus::Archived)?;
        }
        Some(BulletinStatus::Draft) => {
            bulletins_model::delete(uow.conn, &current)?;
            uow.audit(
                "bulletin.deleted",
                Some(crate::unit_of_work::Target::new("bulletin", id)),
                Some(format!("cap_cancel={}", alert.identifier)),
            )?;
        }
        _ => {
            return Ok(PollItem {
                reason: Some("its bulletin is already archived".to_owned()),
                ..item(alert, ItemOutcome::Skipped, Some(id))
            });
        }
    }
    Ok(item(alert, ItemOutcome::Archived, Some(id)))
}

/// Archives the published bulletins of incoming alerts that have expired, each under
/// its lock (another instance may sweep at the same time). Returns how many.
pub fn archive_expired(uow: &mut UnitOfWork<'_>) -> Result<usize, ApiError> {
    let due: Vec<i64> = bulletins::table
        .filter(bulletins::alert_source_id.is_not_null())
        .filter(bulletins::status.eq(StoredStatus::Published))
        .filter(bulletins::expires_at.le(now()))
        .select(bulletins::id)
        .limit(100)
        .load(uow.conn)?;
    let mut archived = 0;
    for id in due {
        uow.lock_bulletin(id)?;
        let Some(row) = bulletins_model::find(uow.conn, id)? else {
            continue;
        };
        if row.status == BulletinStatus::Published {
            crate::bulletins::lifecycle::change_status(uow, &row, BulletinStatus::Archived)?;
            archived += 1;
        }
    }
    Ok(archived)
}
