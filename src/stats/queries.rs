//! The aggregate queries behind [`super::overview`]. Report figures come from the
//! per-day counts that triggers keep beside `reports` (migration
//! `statistics_rollups`), so a period costs a few rows per day rather than a row per
//! report; bulletins and acknowledgements, a few thousand a year, are read through
//! indexed ranges. Only placeholders and day keys are written per dialect.

use std::collections::BTreeMap;

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer, Text, Timestamp};
use diesel::sqlite::Sqlite;

use super::{
    BulletinFigures, CodeCount, DailyFigures, FeedbackFigures, KecamatanKims, KimFigures, Period,
    ReportFigures, StatsOverview,
};
use crate::bulletins::model::BulletinStatus;
use crate::db::schema::reports;
use crate::db::{DbConnection, now};
use crate::error::ApiError;
use crate::kims::model::KimStatus;

/// What differs between PostgreSQL and SQLite in these queries.
struct Dialect {
    /// Placeholders of the two bounds (instants `[start, end)` or days `[first, last]`).
    first: &'static str,
    second: &'static str,
    /// The WIB day (`YYYY-MM-DD`) of a UTC timestamp column.
    day: fn(&str) -> String,
    /// A per-day count's `day` as `YYYY-MM-DD` text.
    day_key: &'static str,
}

const POSTGRES: Dialect = Dialect {
    first: "$1",
    second: "$2",
    day: |column| format!("to_char({column} + interval '7 hours', 'YYYY-MM-DD')"),
    day_key: "to_char(day, 'YYYY-MM-DD')",
};

const SQLITE: Dialect = Dialect {
    first: "?1",
    second: "?2",
    day: |column| format!("strftime('%Y-%m-%d', {column}, '+7 hours')"),
    day_key: "day",
};

/// What a query's two placeholders bind.
#[derive(Clone, Copy)]
enum Bounds {
    /// The period's UTC instants `[start, end)`, for timestamp columns.
    Instants,
    /// Its first and last WIB days, both included, for the per-day counts.
    Days,
}

/// Runs the SQL `write` makes for the connection's dialect, with the period bound.
fn load<T>(
    conn: &mut DbConnection,
    period: &Period,
    bounds: Bounds,
    write: impl Fn(&Dialect) -> String,
) -> Result<Vec<T>, ApiError>
where
    T: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
{
    macro_rules! run {
        ($conn:expr, $dialect:expr) => {{
            let query = diesel::sql_query(write(&$dialect));
            match bounds {
                Bounds::Instants => query
                    .bind::<Timestamp, _>(period.start)
                    .bind::<Timestamp, _>(period.end)
                    .load($conn)?,
                Bounds::Days => query
                    .bind::<Date, _>(period.first_day)
                    .bind::<Date, _>(period.last_day)
                    .load($conn)?,
            }
        }};
    }
    Ok(match conn {
        DbConnection::Postgres(pg) => run!(pg, POSTGRES),
        DbConnection::Sqlite(sqlite) => run!(sqlite, SQLITE),
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

/// A count of the per-day counts, summed over the period.
#[derive(QueryableByName)]
struct DimensionCount {
    #[diesel(sql_type = Text)]
    dimension: String,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct BucketCount {
    #[diesel(sql_type = Integer)]
    bucket: i32,
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
    #[diesel(sql_type = BigInt)]
    seconds: i64,
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
        feedback: feedback(conn, period)?,
        daily: daily(conn, period)?,
    })
}

fn kims(conn: &mut DbConnection) -> Result<KimFigures, ApiError> {
    let groups = diesel::sql_query(
        "SELECT kecamatan_code, status, COUNT(*) AS n, \
         COALESCE(SUM(CASE WHEN status = $1 THEN active_member_count ELSE 0 END), 0) \
         AS members FROM kims GROUP BY kecamatan_code, status",
    )
    .bind::<Text, _>(KimStatus::Active);
    let groups: Vec<KimGroup> = match conn {
        DbConnection::Postgres(pg) => groups.load(pg)?,
        // SQLite reads `$1` as the first bound value too.
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
    let counts: Vec<DimensionCount> = load(conn, period, Bounds::Days, |d| {
        format!(
            "SELECT dimension, code, CAST(SUM(n) AS BIGINT) AS n FROM report_day_counts \
             WHERE day >= {} AND day <= {} GROUP BY dimension, code",
            d.first, d.second
        )
    })?;
    let mut by_status = BTreeMap::new();
    let mut by_kind = BTreeMap::new();
    let mut by_category = BTreeMap::new();
    let mut by_kecamatan = BTreeMap::new();
    let mut resolved_in_period = 0;
    // A code whose reports all moved on (a status left) keeps a row summing to zero.
    for count in counts.into_iter().filter(|count| count.n != 0) {
        let counts = match count.dimension.as_str() {
            "status" => &mut by_status,
            "kind" => &mut by_kind,
            "category" => &mut by_category,
            "kecamatan" => &mut by_kecamatan,
            _ => {
                resolved_in_period += count.n;
                continue;
            }
        };
        counts.insert(count.code, count.n);
    }
    let mut overdue = 0;
    for branch in crate::reports::listing::overdue_branches(now()) {
        overdue += reports::table
            .into_boxed()
            .filter(branch)
            .filter(reports::created_at.ge(period.start))
            .filter(reports::created_at.lt(period.end))
            .count()
            .get_result::<i64>(conn)?;
    }
    Ok(ReportFigures {
        submitted: by_status.values().sum(),
        by_status,
        by_kind,
        by_category: ranked(by_category),
        by_kecamatan: ranked(by_kecamatan),
        overdue,
        median_first_response_seconds: median_seconds(conn, period, Duration::FirstResponse)?,
        median_resolution_seconds: median_seconds(conn, period, Duration::Resolution)?,
        resolved_in_period,
    })
}

/// A duration of reports whose median the overview shows.
#[derive(Clone, Copy)]
enum Duration {
    FirstResponse,
    Resolution,
}

impl Duration {
    /// Its name in `report_duration_counts`.
    fn measure(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::Resolution => "resolution",
        }
    }

    /// Its generated column on `reports`.
    fn column(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response_seconds",
            Self::Resolution => "resolution_seconds",
        }
    }
}

/// The seconds a duration bucket holds, `[low, high)`: a bucket is the number of
/// digits times 100 plus the two leading digits (one digit below 10), and every
/// negative duration is in the bucket of 0 (migration `statistics_rollups`).
fn bucket_bounds(bucket: i32) -> (Option<i64>, i64) {
    let (digits, leading) = (bucket / 100, i64::from(bucket % 100));
    if digits <= 1 {
        return ((leading > 0).then_some(leading), leading + 1);
    }
    let scale = 10_i64.saturating_pow(digits.saturating_sub(2).unsigned_abs());
    (
        Some(leading.saturating_mul(scale)),
        (leading + 1).saturating_mul(scale),
    )
}

/// The median of `duration` over the reports of the period that have it, in whole
/// seconds: the middle one, or the mean of the middle two. The per-day histogram says
/// which bucket holds each middle rank; the exact value is then read from that bucket
/// alone, through the index on the duration.
fn median_seconds(
    conn: &mut DbConnection,
    period: &Period,
    duration: Duration,
) -> Result<Option<i64>, ApiError> {
    let buckets: Vec<BucketCount> = load(conn, period, Bounds::Days, |d| {
        format!(
            "SELECT bucket, CAST(SUM(n) AS BIGINT) AS n FROM report_duration_counts \
             WHERE measure = '{measure}' AND day >= {first} AND day <= {last} \
             GROUP BY bucket ORDER BY bucket",
            measure = duration.measure(),
            first = d.first,
            last = d.second
        )
    })?;
    let total: i64 = buckets.iter().map(|bucket| bucket.n).sum();
    if total == 0 {
        return Ok(None);
    }
    let middle_ranks = if total % 2 == 1 {
        vec![total / 2]
    } else {
        vec![total / 2 - 1, total / 2]
    };
    let mut middle = Vec::with_capacity(middle_ranks.len());
    for rank in middle_ranks {
        let mut before = 0;
        let Some(bucket) = buckets.iter().find(|bucket| {
            before += bucket.n;
            before > rank
        }) else {
            return Ok(None);
        };
        let (low, high) = bucket_bounds(bucket.bucket);
        let offset = rank - (before - bucket.n);
        let column = duration.column();
        let found: Vec<Seconds> = load(conn, period, Bounds::Instants, |d| {
            let low = low.map_or(String::new(), |low| format!("{column} >= {low} AND "));
            format!(
                "SELECT {column} AS seconds FROM reports \
                 WHERE {low}{column} < {high} AND created_at >= {start} AND created_at < {end} \
                 ORDER BY {column} LIMIT 1 OFFSET {offset}",
                start = d.first,
                end = d.second
            )
        })?;
        middle.extend(found.into_iter().map(|found| found.seconds));
    }
    if middle.is_empty() {
        return Ok(None);
    }
    Ok(Some(middle.iter().sum::<i64>() / middle.len() as i64))
}

/// The condition on a bulletin that has been published (whether archived since). The
/// values are the enum's own texts, written in because they are constants.
fn published_condition() -> String {
    format!(
        "status IN ('{}', '{}')",
        BulletinStatus::Published,
        BulletinStatus::Archived
    )
}

fn bulletins(conn: &mut DbConnection, period: &Period) -> Result<BulletinFigures, ApiError> {
    let published: Vec<CountAndSum> = load(conn, period, Bounds::Instants, |d| {
        format!(
            "SELECT COUNT(*) AS n, COALESCE(SUM(kims_addressed), 0) AS total FROM bulletins \
             WHERE published_at >= {} AND published_at < {} AND {}",
            d.first,
            d.second,
            published_condition()
        )
    })?;
    let acknowledged: Vec<CountAndSum> = load(conn, period, Bounds::Instants, |d| {
        format!(
            "SELECT COUNT(*) AS n, COALESCE(SUM(a.reach), 0) AS total \
             FROM bulletin_acknowledgements a JOIN bulletins b ON b.id = a.bulletin_id \
             WHERE b.published_at >= {} AND b.published_at < {} AND b.{}",
            d.first,
            d.second,
            published_condition()
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

fn feedback(conn: &mut DbConnection, period: &Period) -> Result<FeedbackFigures, ApiError> {
    let (answers, satisfied) =
        crate::reports::feedback::satisfaction(conn, period.start, period.end)?;
    Ok(FeedbackFigures {
        answers,
        satisfied,
        satisfaction_rate: (answers > 0).then(|| satisfied as f64 / answers as f64),
    })
}

fn daily(conn: &mut DbConnection, period: &Period) -> Result<Vec<DailyFigures>, ApiError> {
    let per_day = |conn: &mut DbConnection, table: &str, column: &str, extra: &str| {
        load::<DayCount>(conn, period, Bounds::Instants, |d| {
            format!(
                "SELECT {day} AS day, COUNT(*) AS n FROM {table} \
                 WHERE {column} >= {start} AND {column} < {end}{extra} GROUP BY day",
                day = (d.day)(column),
                start = d.first,
                end = d.second
            )
        })
        .map(days)
    };
    let report_days = |conn: &mut DbConnection, dimension: &str| {
        load::<DayCount>(conn, period, Bounds::Days, |d| {
            format!(
                "SELECT {day} AS day, CAST(SUM(n) AS BIGINT) AS n FROM report_day_counts \
                 WHERE dimension = '{dimension}' AND day >= {first} AND day <= {last} \
                 GROUP BY day",
                day = d.day_key,
                first = d.first,
                last = d.second
            )
        })
        .map(days)
    };
    let submitted = report_days(conn, "status")?;
    let resolved = report_days(conn, "resolved")?;
    let published = per_day(
        conn,
        "bulletins",
        "published_at",
        &format!(" AND {}", published_condition()),
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

fn days(rows: Vec<DayCount>) -> BTreeMap<String, i64> {
    rows.into_iter().map(|row| (row.day, row.n)).collect()
}
