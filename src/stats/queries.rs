//! The aggregate queries behind [`super::overview`]. Each reads an indexed range
//! (`created_at`, `resolved_at`, `published_at` of the period) and groups in the
//! database; only day keys and durations are written per dialect, and durations are
//! rounded to whole seconds so both databases answer the same numbers.

use std::collections::BTreeMap;

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text, Timestamp};
use diesel::sqlite::Sqlite;

use super::{
    BulletinFigures, CodeCount, DailyFigures, KecamatanKims, KimFigures, Period, ReportFigures,
    StatsOverview,
};
use crate::db::schema::reports;
use crate::db::{DbConnection, now};
use crate::error::ApiError;

/// What differs between PostgreSQL and SQLite in these queries.
struct Dialect {
    /// Placeholders of the period's start and end.
    start: &'static str,
    end: &'static str,
    /// The WIB day (`YYYY-MM-DD`) of a UTC timestamp column.
    day: fn(&str) -> String,
    /// Seconds between two timestamp columns.
    seconds: fn(&str, &str) -> String,
}

const POSTGRES: Dialect = Dialect {
    start: "$1",
    end: "$2",
    day: |column| format!("to_char({column} + interval '7 hours', 'YYYY-MM-DD')"),
    seconds: |from, to| format!("EXTRACT(EPOCH FROM ({to} - {from}))::float8"),
};

const SQLITE: Dialect = Dialect {
    start: "?1",
    end: "?2",
    day: |column| format!("strftime('%Y-%m-%d', {column}, '+7 hours')"),
    seconds: |from, to| format!("(julianday({to}) - julianday({from})) * 86400.0"),
};

/// Runs the SQL `write` makes for the connection's dialect, with the period bound.
fn load<T>(
    conn: &mut DbConnection,
    period: &Period,
    write: impl Fn(&Dialect) -> String,
) -> Result<Vec<T>, ApiError>
where
    T: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
{
    let bound = |sql: String| {
        diesel::sql_query(sql)
            .bind::<Timestamp, _>(period.start)
            .bind::<Timestamp, _>(period.end)
    };
    Ok(match conn {
        DbConnection::Postgres(pg) => bound(write(&POSTGRES)).load(pg)?,
        DbConnection::Sqlite(sqlite) => bound(write(&SQLITE)).load(sqlite)?,
    })
}

#[derive(QueryableByName)]
struct KimGroup {
    #[diesel(sql_type = Text)]
    kecamatan_code: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    members: i64,
}

#[derive(QueryableByName)]
struct ReportGroup {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    category_code: String,
    #[diesel(sql_type = Text)]
    kecamatan_code: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    answered: i64,
    #[diesel(sql_type = BigInt)]
    resolved: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct CountAndSum {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct Seconds {
    #[diesel(sql_type = Double)]
    seconds: f64,
}

#[derive(QueryableByName)]
struct DayCount {
    #[diesel(sql_type = Text)]
    day: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub fn overview(conn: &mut DbConnection, period: &Period) -> Result<StatsOverview, ApiError> {
    Ok(StatsOverview {
        from: period.first_day,
        to: period.last_day,
        kims: kims(conn)?,
        reports: reports(conn, period)?,
        bulletins: bulletins(conn, period)?,
        daily: daily(conn, period)?,
    })
}

fn kims(conn: &mut DbConnection) -> Result<KimFigures, ApiError> {
    let groups = diesel::sql_query(
        "SELECT kecamatan_code, status, COUNT(*) AS n, \
         COALESCE(SUM(CASE WHEN status = 'active' THEN active_member_count ELSE 0 END), 0) \
         AS members FROM kims GROUP BY kecamatan_code, status",
    );
    let groups: Vec<KimGroup> = match conn {
        DbConnection::Postgres(pg) => groups.load(pg)?,
        DbConnection::Sqlite(sqlite) => groups.load(sqlite)?,
    };
    let mut by_status = BTreeMap::new();
    let mut by_kecamatan: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let mut active_members = 0;
    for group in groups {
        *by_status.entry(group.status.clone()).or_insert(0) += group.n;
        *by_kecamatan
            .entry(group.kecamatan_code)
            .or_default()
            .entry(group.status)
            .or_insert(0) += group.n;
        active_members += group.members;
    }
    Ok(KimFigures {
        total: by_status.values().sum(),
        by_status,
        by_kecamatan: by_kecamatan
            .into_iter()
            .map(|(kecamatan_code, by_status)| KecamatanKims {
                kecamatan_code,
                total: by_status.values().sum(),
                by_status,
            })
            .collect(),
        active_members,
    })
}

/// Counts per code, most first (ties by code).
fn ranked(counts: BTreeMap<String, i64>) -> Vec<CodeCount> {
    let mut ranked: Vec<CodeCount> = counts
        .into_iter()
        .map(|(code, count)| CodeCount { code, count })
        .collect();
    ranked.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    ranked
}

fn reports(conn: &mut DbConnection, period: &Period) -> Result<ReportFigures, ApiError> {
    let groups: Vec<ReportGroup> = load(conn, period, |d| {
        format!(
            "SELECT status, kind, category_code, kecamatan_code, COUNT(*) AS n, \
             COUNT(first_response_at) AS answered, COUNT(resolved_at) AS resolved \
             FROM reports WHERE created_at >= {} AND created_at < {} \
             GROUP BY status, kind, category_code, kecamatan_code",
            d.start, d.end
        )
    })?;
    let mut by_status = BTreeMap::new();
    let mut by_kind = BTreeMap::new();
    let mut by_category = BTreeMap::new();
    let mut by_kecamatan = BTreeMap::new();
    for group in &groups {
        for (counts, key) in [
            (&mut by_status, &group.status),
            (&mut by_kind, &group.kind),
            (&mut by_category, &group.category_code),
            (&mut by_kecamatan, &group.kecamatan_code),
        ] {
            *counts.entry(key.clone()).or_insert(0) += group.n;
        }
    }
    let overdue = reports::table
        .into_boxed()
        .filter(crate::reports::listing::overdue_condition(now()))
        .filter(reports::created_at.ge(period.start))
        .filter(reports::created_at.lt(period.end))
        .count()
        .get_result(conn)?;
    let resolved: Vec<Count> = load(conn, period, |d| {
        format!(
            "SELECT COUNT(*) AS n FROM reports WHERE resolved_at >= {} AND resolved_at < {}",
            d.start, d.end
        )
    })?;
    Ok(ReportFigures {
        submitted: groups.iter().map(|group| group.n).sum(),
        by_status,
        by_kind,
        by_category: ranked(by_category),
        by_kecamatan: ranked(by_kecamatan),
        overdue,
        median_first_response_seconds: median_seconds(
            conn,
            period,
            "first_response_at",
            groups.iter().map(|group| group.answered).sum(),
        )?,
        median_resolution_seconds: median_seconds(
            conn,
            period,
            "resolved_at",
            groups.iter().map(|group| group.resolved).sum(),
        )?,
        resolved_in_period: resolved.first().map_or(0, |count| count.n),
    })
}

/// The median of `column - created_at` over the `n` reports of the period that have
/// `column`, in whole seconds: the middle one, or the mean of the middle two.
fn median_seconds(
    conn: &mut DbConnection,
    period: &Period,
    column: &'static str,
    n: i64,
) -> Result<Option<i64>, ApiError> {
    if n == 0 {
        return Ok(None);
    }
    let (offset, take) = if n % 2 == 1 {
        (n / 2, 1)
    } else {
        (n / 2 - 1, 2)
    };
    let middle: Vec<Seconds> = load(conn, period, |d| {
        format!(
            "SELECT {seconds} AS seconds FROM reports \
             WHERE created_at >= {start} AND created_at < {end} AND {column} IS NOT NULL \
             ORDER BY seconds LIMIT {take} OFFSET {offset}",
            seconds = (d.seconds)("created_at", column),
            start = d.start,
            end = d.end
        )
    })?;
    let rounded: Vec<i64> = middle
        .iter()
        .map(|value| value.seconds.round() as i64)
        .collect();
    if rounded.is_empty() {
        return Ok(None);
    }
    Ok(Some(rounded.iter().sum::<i64>() / rounded.len() as i64))
}

const PUBLISHED: &str = "status IN ('published', 'archived')";

fn bulletins(conn: &mut DbConnection, period: &Period) -> Result<BulletinFigures, ApiError> {
    let published: Vec<CountAndSum> = load(conn, period, |d| {
        format!(
            "SELECT COUNT(*) AS n, COALESCE(SUM(kims_addressed), 0) AS total FROM bulletins \
             WHERE published_at >= {} AND published_at < {} AND {PUBLISHED}",
            d.start, d.end
        )
    })?;
    let acknowledged: Vec<CountAndSum> = load(conn, period, |d| {
        format!(
            "SELECT COUNT(*) AS n, COALESCE(SUM(a.reach), 0) AS total \
             FROM bulletin_acknowledgements a JOIN bulletins b ON b.id = a.bulletin_id \
             WHERE b.published_at >= {} AND b.published_at < {} AND b.{PUBLISHED}",
            d.start, d.end
        )
    })?;
    let (published, addressed) = published.first().map_or((0, 0), |row| (row.n, row.total));
    let (acknowledgements, reach) = acknowledged
        .first()
        .map_or((0, 0), |row| (row.n, row.total));
    Ok(BulletinFigures {
        published,
        kims_addressed: addressed,
        acknowledgements,
        acknowledgement_rate: (addressed > 0).then(|| acknowledgements as f64 / addressed as f64),
        reach,
    })
}

fn daily(conn: &mut DbConnection, period: &Period) -> Result<Vec<DailyFigures>, ApiError> {
    let per_day = |conn: &mut DbConnection, table: &str, column: &str, extra: &str| {
        load::<DayCount>(conn, period, |d| {
            format!(
                "SELECT {day} AS day, COUNT(*) AS n FROM {table} \
                 WHERE {column} >= {start} AND {column} < {end}{extra} GROUP BY day",
                day = (d.day)(column),
                start = d.start,
                end = d.end
            )
        })
        .map(|rows| {
            rows.into_iter()
                .map(|row| (row.day, row.n))
                .collect::<BTreeMap<_, _>>()
        })
    };
    let submitted = per_day(conn, "reports", "created_at", "")?;
    let resolved = per_day(conn, "reports", "resolved_at", "")?;
    let published = per_day(
        conn,
        "bulletins",
        "published_at",
        &format!(" AND {PUBLISHED}"),
    )?;
    let acknowledged = per_day(conn, "bulletin_acknowledgements", "created_at", "")?;
    let count = |counts: &BTreeMap<String, i64>, key: &str| counts.get(key).copied().unwrap_or(0);
    Ok(period
        .first_day
        .iter_days()
        .take_while(|day| *day <= period.last_day)
        .map(|date| {
            let key = date.format("%Y-%m-%d").to_string();
            DailyFigures {
                date,
                reports_submitted: count(&submitted, &key),
                reports_resolved: count(&resolved, &key),
                bulletins_published: count(&published, &key),
                acknowledgements: count(&acknowledged, &key),
            }
        })
        .collect())
}
