//! Demo reports with their timelines, spread over the past year and in every state a
//! year of real reports would be in, written in batches. The rows obey the workflow:
//! due dates come from the working-day calendar, every move has its timeline entry in
//! order, first response and resolution are stamped, and each report takes its own
//! change number.

use std::collections::HashSet;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;
use rand::rngs::SmallRng;

use super::DemoKim;
use super::words::{
    CITIZEN_REPLIES, INTERNAL_NOTES, PUBLIC_ANSWERS, REJECTIONS, REPORT_TEXTS, STREETS, agency_for,
    kecamatan_centre,
};
use crate::crypto::PersonalDataCipher;
use crate::db::schema::{report_timeline, reports};
use crate::db::{DbConnection, now, write_transaction};
use crate::error::ApiError;
use crate::holidays::calendar::Calendar;
use crate::reports::model::{ReportStatus, search_key};
use crate::reports::tracking::TrackingCode;
use crate::reports::{RESPONSE_WORKING_DAYS, VERIFY_WORKING_DAYS};
use crate::sync::{self, Counter};

/// Reports per transaction; well under both databases' bound-parameter limits.
const BATCH: usize = 1_000;
/// The span the reports are spread over, oldest first.
const SPAN_DAYS: i64 = 365;

pub struct Written {
    pub reports: u64,
    pub timeline_entries: u64,
}

/// A timeline entry to write.
struct Entry {
    report_id: i64,
    entry_type: &'static str,
    visibility: &'static str,
    from_status: Option<&'static str>,
    to_status: Option<&'static str>,
    body: Option<String>,
    assigned_agency: Option<&'static str>,
    author_id: i64,
    author_side: &'static str,
    at: NaiveDateTime,
}

/// A report to write, with the values it ends up with.
struct Report {
    id: i64,
    tracking_code: String,
    kind: &'static str,
    category: &'static str,
    title: String,
    description: String,
    kim: DemoKim,
    submitted_by: i64,
    address: Option<String>,
    location: Option<(f64, f64)>,
    reporter_name: Option<String>,
    reporter_contact: Option<String>,
    privacy: &'static str,
    status: ReportStatus,
    assigned_agency: Option<&'static str>,
    verify_due_at: NaiveDateTime,
    response_due_at: Option<NaiveDateTime>,
    verified_at: Option<NaiveDateTime>,
    first_response_at: Option<NaiveDateTime>,
    resolved_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
    change_seq: i64,
}

/// Everything one generation step needs.
struct Context<'a> {
    kims: &'a [DemoKim],
    gov: [i64; 2],
    calendar: Calendar,
    cipher: &'a PersonalDataCipher,
    at: NaiveDateTime,
    taken_codes: HashSet<String>,
}

pub fn write(
    conn: &mut DbConnection,
    cipher: &PersonalDataCipher,
    rng: &mut SmallRng,
    count: u32,
    kims: &[DemoKim],
    gov: [i64; 2],
) -> Result<Written, ApiError> {
    if count == 0 {
        return Ok(Written {
            reports: 0,
            timeline_entries: 0,
        });
    }
    if kims.is_empty() {
        return Err(ApiError::internal("demo reports need at least one KIM"));
    }
    let at = now();
    let first = at - Duration::days(SPAN_DAYS);
    let mut context = Context {
        kims,
        gov,
        calendar: Calendar::load(conn, first)?,
        cipher,
        at,
        taken_codes: HashSet::with_capacity(count as usize),
    };
    let base_seq = sync::last_change(conn, Counter::Reports)?;
    let step = Duration::seconds(SPAN_DAYS * 86_400) / i32::try_from(count).unwrap_or(i32::MAX);
    let mut entries_written = 0u64;
    let mut next = 0u32;
    while next < count {
        let end = count.min(next + BATCH as u32);
        let mut batch = Vec::with_capacity((end - next) as usize);
        let mut entries = Vec::new();
        for index in next..end {
            let created = first
                + step * i32::try_from(index).unwrap_or(i32::MAX)
                + Duration::seconds(rng.gen_range(0..step.num_seconds().max(1)));
            let (report, mut timeline) =
                one_report(&mut context, rng, i64::from(index) + 1, created, base_seq)?;
            batch.push(report);
            entries.append(&mut timeline);
        }
        entries_written += entries.len() as u64;
        write_transaction(conn, |conn| insert_batch(conn, &batch, &entries))?;
        next = end;
    }
    write_transaction(conn, |conn| {
        sync::advance_to(conn, Counter::Reports, base_seq + i64::from(count))?;
        // Ids were given explicitly; PostgreSQL's identity must continue after them.
        if let DbConnection::Postgres(pg) = conn {
            diesel::sql_query(
                "SELECT setval(pg_get_serial_sequence('reports', 'id'), (SELECT MAX(id) FROM reports))",
            )
            .execute(pg)?;
        }
        Ok::<_, ApiError>(())
    })?;
    Ok(Written {
        reports: u64::from(count),
        timeline_entries: entries_written,
    })
}

/// A moment `hours` (a random part of the range) after `from`, never later than now.
fn later(
    rng: &mut SmallRng,
    from: NaiveDateTime,
    hours: (i64, i64),
    at: NaiveDateTime,
) -> NaiveDateTime {
    let moment = from + Duration::minutes(rng.gen_range(hours.0 * 60..hours.1 * 60));
    moment.min(at - Duration::minutes(1)).max(from)
}

fn pick<T: Copy>(rng: &mut SmallRng, from: &[T]) -> T {
    from[rng.gen_range(0..from.len())]
}

fn one_report(
    context: &mut Context<'_>,
    rng: &mut SmallRng,
    id: i64,
    created: NaiveDateTime,
    base_seq: i64,
) -> Result<(Report, Vec<Entry>), ApiError> {
    use ReportStatus::*;
    let at = context.at;
    let kim = context.kims[rng.gen_range(0..context.kims.len())].clone();
    let text = &REPORT_TEXTS[rng.gen_range(0..REPORT_TEXTS.len())];
    let street = pick(rng, STREETS);
    let rt = format!("{:03}", rng.gen_range(1..=20));
    let fill = |template: &str| template.replace("{street}", street).replace("{rt}", &rt);
    let privacy = match rng.gen_range(0..100) {
        0..80 => "normal",
        80..95 => "anonymous",
        _ => "confidential",
    };
    let location = rng.gen_bool(0.8).then(|| {
        let (latitude, longitude) = kecamatan_centre(&kim.kecamatan);
        // To the metre, as a phone's GPS gives it.
        let round = |degrees: f64| (degrees * 100_000.0).round() / 100_000.0;
        (
            round(latitude + rng.gen_range(-0.012..0.012)),
            round(longitude + rng.gen_range(-0.012..0.012)),
        )
    });
    let reporter_name = rng.gen_bool(0.7).then(|| super::person(rng).0);
    let reporter_contact = rng
        .gen_bool(0.6)
        .then(|| format!("+6285{:09}", rng.gen_range(0..1_000_000_000u32)))
        .map(|phone| context.cipher.encrypt(&phone))
        .transpose()
        .map_err(ApiError::internal)?;
    let submitted_by = if rng.gen_bool(0.7) {
        kim.member_id
    } else {
        kim.admin_id
    };
    let age_days = (at - created).num_hours() as f64 / 24.0;
    let roll = rng.gen_range(0..100);
    let status = if age_days < 1.0 {
        Submitted
    } else if age_days < 4.0 {
        match roll {
            0..50 => Submitted,
            50..80 => Verified,
            _ => InProgress,
        }
    } else {
        match roll {
            0..55 => Resolved,
            55..67 => InProgress,
            67..75 => Verified,
            75..83 => Submitted,
            _ => Rejected,
        }
    };
    let officer = context.gov[rng.gen_range(0..2)];
    let agency = agency_for(text.category);
    let mut entries = Vec::with_capacity(6);
    let mut entry = |entry_type: &'static str,
                     visibility: &'static str,
                     moves: Option<(Option<ReportStatus>, ReportStatus)>,
                     body: Option<String>,
                     agency: Option<&'static str>,
                     author_id: i64,
                     author_side: &'static str,
                     at: NaiveDateTime| {
        entries.push(Entry {
            report_id: id,
            entry_type,
            visibility,
            from_status: moves.and_then(|(from, _)| from.map(ReportStatus::as_str)),
            to_status: moves.map(|(_, to)| to.as_str()),
            body,
            assigned_agency: agency,
            author_id,
            author_side,
            at,
        });
    };
    entry(
        "status",
        "public",
        Some((None, Submitted)),
        None,
        None,
        submitted_by,
        "kim",
        created,
    );
    let mut report = Report {
        id,
        tracking_code: String::new(),
        kind: text.kind,
        category: text.category,
        title: fill(text.title),
        description: fill(text.description),
        submitted_by,
        address: Some(format!("{street}, RT {rt}")),
        location,
        reporter_name,
        reporter_contact,
        privacy,
        status,
        assigned_agency: None,
        verify_due_at: context.calendar.due(created, VERIFY_WORKING_DAYS),
        response_due_at: None,
        verified_at: None,
        first_response_at: None,
        resolved_at: None,
        created_at: created,
        updated_at: created,
        version: 1,
        change_seq: base_seq + id,
        kim,
    };
    let mut moment = created;
    if rng.gen_bool(0.3) {
        moment = later(rng, moment, (1, 24), at);
        entry(
            "comment",
            "internal",
            None,
            Some(pick(rng, INTERNAL_NOTES).to_owned()),
            None,
            officer,
            "government",
            moment,
        );
    }
    if status == Rejected {
        moment = later(rng, moment, (2, 72), at);
        entry(
            "status",
            "public",
            Some((Some(Submitted), Rejected)),
            Some(pick(rng, REJECTIONS).to_owned()),
            None,
            officer,
            "government",
            moment,
        );
        report.first_response_at = Some(moment);
        report.updated_at = moment;
        report.version = 2;
    } else if status != Submitted {
        moment = later(rng, moment, (2, 72), at);
        entry(
            "status",
            "public",
            Some((Some(Submitted), Verified)),
            None,
            Some(agency),
            officer,
            "government",
            moment,
        );
        report.verified_at = Some(moment);
        report.first_response_at = Some(moment);
        report.response_due_at = Some(context.calendar.due(moment, RESPONSE_WORKING_DAYS));
        report.assigned_agency = Some(agency);
        report.updated_at = moment;
        report.version = 2;
        if rng.gen_bool(0.5) {
            moment = later(rng, moment, (1, 48), at);
            entry(
                "comment",
                "public",
                None,
                Some(pick(rng, PUBLIC_ANSWERS).to_owned()),
                None,
                officer,
                "government",
                moment,
            );
        }
        if matches!(status, InProgress | Resolved) {
            moment = later(rng, moment, (4, 120), at);
            entry(
                "status",
                "public",
                Some((Some(Verified), InProgress)),
                None,
                None,
                officer,
                "government",
                moment,
            );
            report.updated_at = moment;
            report.version = 3;
            if rng.gen_bool(0.3) {
                moment = later(rng, moment, (1, 72), at);
                let body = Some(pick(rng, CITIZEN_REPLIES).to_owned());
                entry(
                    "comment",
                    "public",
                    None,
                    body,
                    None,
                    report.kim.admin_id,
                    "kim",
                    moment,
                );
            }
        }
        if status == Resolved {
            moment = later(rng, moment, (4, 240), at);
            let body = Some("Selesai ditangani.".to_owned());
            entry(
                "status",
                "public",
                Some((Some(InProgress), Resolved)),
                body,
                None,
                officer,
                "government",
                moment,
            );
            report.resolved_at = Some(moment);
            report.updated_at = moment;
            report.version = 4;
        }
    }
    report.tracking_code = fresh_code(&mut context.taken_codes)?;
    Ok((report, entries))
}

/// A tracking code no demo report holds yet (the database starts empty of reports).
fn fresh_code(taken: &mut HashSet<String>) -> Result<String, ApiError> {
    loop {
        let code = TrackingCode::generate()?.stored().to_owned();
        if taken.insert(code.clone()) {
            return Ok(code);
        }
    }
}

fn insert_batch(
    conn: &mut DbConnection,
    batch: &[Report],
    entries: &[Entry],
) -> Result<(), ApiError> {
    let rows: Vec<_> = batch
        .iter()
        .map(|report| {
            (
                reports::id.eq(report.id),
                reports::tracking_code.eq(&report.tracking_code),
                reports::kind.eq(report.kind),
                reports::category_code.eq(report.category),
                reports::title.eq(&report.title),
                reports::description.eq(&report.description),
                reports::search_key.eq(search_key(&report.title, &report.description)),
                reports::kelurahan_code.eq(&report.kim.kelurahan),
                reports::kecamatan_code.eq(&report.kim.kecamatan),
                reports::address.eq(&report.address),
                reports::latitude.eq(report.location.map(|(latitude, _)| latitude)),
                reports::longitude.eq(report.location.map(|(_, longitude)| longitude)),
                reports::reporter_name.eq(&report.reporter_name),
                reports::reporter_contact.eq(&report.reporter_contact),
                reports::privacy.eq(report.privacy),
                reports::kim_id.eq(Some(report.kim.id)),
                reports::submitted_by.eq(Some(report.submitted_by)),
                reports::channel.eq(crate::reports::model::Channel::Kim),
                reports::status.eq(report.status),
                reports::assigned_agency.eq(report.assigned_agency),
                reports::verify_due_at.eq(report.verify_due_at),
                reports::response_due_at.eq(report.response_due_at),
                reports::verified_at.eq(report.verified_at),
                reports::first_response_at.eq(report.first_response_at),
                reports::resolved_at.eq(report.resolved_at),
                reports::created_at.eq(report.created_at),
                reports::updated_at.eq(report.updated_at),
                reports::version.eq(report.version),
                reports::change_seq.eq(report.change_seq),
            )
        })
        .collect();
    // diesel writes multi-row INSERTs for each backend, not through the multi-backend
    // connection.
    match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(reports::table)
            .values(&rows)
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(reports::table)
            .values(&rows)
            .execute(sqlite)?,
    };
    let timeline: Vec<_> = entries
        .iter()
        .map(|entry| {
            (
                report_timeline::report_id.eq(entry.report_id),
                report_timeline::entry_type.eq(entry.entry_type),
                report_timeline::visibility.eq(entry.visibility),
                report_timeline::from_status.eq(entry.from_status),
                report_timeline::to_status.eq(entry.to_status),
                report_timeline::body.eq(&entry.body),
                report_timeline::assigned_agency.eq(entry.assigned_agency),
                report_timeline::author_id.eq(Some(entry.author_id)),
                report_timeline::author_side.eq(entry.author_side),
                report_timeline::created_at.eq(entry.at),
            )
        })
        .collect();
    // A report has at most seven entries; 2 000 rows of ten columns stay under
    // SQLite's 32 766 bound parameters.
    for chunk in timeline.chunks(2_000) {
        let chunk = chunk.to_vec();
        match conn {
            DbConnection::Postgres(pg) => diesel::insert_into(report_timeline::table)
                .values(&chunk)
                .execute(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::insert_into(report_timeline::table)
                .values(&chunk)
                .execute(sqlite)?,
        };
    }
    Ok(())
}
