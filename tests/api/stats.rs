//! Dashboard statistics against a hand-computed fixture, the same on both databases:
//! KIMs and members now; reports, resolutions, bulletins and acknowledgements over a
//! period of WIB days; medians in whole seconds; who may read them; bad periods.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use kim_api::db::DbConnection;
use kim_api::db::schema::{report_timeline, reports};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestUser, backends, on_each_backend, problem, spawn_app_with, token,
};
use crate::reports::{id_of, json_of, move_to, report, submit, town};

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("timestamp")
}

/// An instant given in UTC.
fn utc(text: &str) -> DateTime<Utc> {
    at(text).and_utc()
}

async fn add_member(app: &TestApp, admin: &str, kim: i64, serial: u32) {
    let added = app
        .post_as(
            &format!("/api/v1/kims/{kim}/members"),
            admin,
            &json!({"full_name": format!("Warga {serial}"), "nik": format!("187201170890{serial:04}"),
                    "gender": "male", "birth_date": "1990-08-17", "position": "anggota"}),
        )
        .await;
    assert_eq!(added.status().as_u16(), 201);
}

#[tokio::test]
async fn the_overview_counts_what_the_fixture_holds() {
    for backend in backends() {
        // A day's token lifetime lets the week below pass with few sign-ins.
        let app = spawn_app_with(backend, |config| config.access_token_ttl_secs = 86_400).await;
        // Monday 2 March 2026, 08:00 WIB (UTC+7).
        app.freeze_clock(utc("2026-03-02 01:00:00"));
        let t = town(&app).await;
        let admin = token(&t.admin);
        app.create_kim_at("KIM Usulan", "18.72.02.1001", "proposed")
            .await;
        let member_b_kim =
            json_of(app.get_as("/api/v1/me", token(&t.member_b)).await, 200).await["kim_id"]
                .as_i64()
                .expect("kim");
        add_member(&app, admin, t.kim_a, 1).await;
        add_member(&app, admin, t.kim_a, 2).await;
        add_member(&app, admin, member_b_kim, 3).await;

        let r1 = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        app.freeze_clock(utc("2026-03-02 03:00:00"));
        for step in [
            json!({"status": "verified", "note": "Dicek"}),
            json!({"status": "in_progress"}),
        ] {
            assert_eq!(
                move_to(&app, token(&t.officer), r1, step)
                    .await
                    .status()
                    .as_u16(),
                200
            );
        }
        // 20:00 UTC on 2 March is 3 March in Kota Metro.
        app.freeze_clock(utc("2026-03-02 20:00:00"));
        let mut health = report("normal");
        health["category_code"] = json!("kesehatan");
        let r2 = id_of(&submit(&app, token(&t.member_a), &health).await);
        app.freeze_clock(utc("2026-03-03 00:00:00"));
        let rejected = move_to(
            &app,
            token(&t.officer),
            r2,
            json!({"status": "rejected", "note": "Bukan wewenang"}),
        )
        .await;
        assert_eq!(rejected.status().as_u16(), 200);
        app.freeze_clock(utc("2026-03-03 02:00:00"));
        let mut at_b = report("normal");
        at_b["kelurahan_code"] = json!("18.72.01.1002");
        // Never verified: overdue once its three working days have passed.
        let member_b = app.signed_in_again(&t.member_b).await;
        id_of(&submit(&app, token(&member_b), &at_b).await);

        app.freeze_clock(utc("2026-03-04 03:00:00"));
        let (admin_now, officer_now) = (
            app.signed_in_again(&t.admin).await,
            app.signed_in_again(&t.officer).await,
        );
        let addressed_to_all = json_of(
            app.post_as(
                "/api/v1/bulletins",
                token(&admin_now),
                &json!({"title": "Posyandu", "body": "Isi", "category": "kesehatan", "audience": {"scope": "all_kims"}}),
            )
            .await,
            201,
        )
        .await;
        let bulletin = id_of(&addressed_to_all);
        let published = app
            .post_as(
                &format!("/api/v1/bulletins/{bulletin}/publish"),
                token(&admin_now),
                &json!({}),
            )
            .await;
        assert_eq!(published.status().as_u16(), 200);
        let draft = app
            .post_as(
                "/api/v1/bulletins",
                token(&admin_now),
                &json!({"title": "Draf", "body": "Isi", "category": "umum", "audience": {"scope": "all_kims"}}),
            )
            .await;
        assert_eq!(draft.status().as_u16(), 201);

        app.freeze_clock(utc("2026-03-05 01:00:00"));
        let resolved = move_to(
            &app,
            token(&officer_now),
            r1,
            json!({"status": "resolved", "note": "Selesai"}),
        )
        .await;
        assert_eq!(resolved.status().as_u16(), 200);
        app.freeze_clock(utc("2026-03-05 10:00:00"));
        let admin_then = app.signed_in_again(&t.admin).await;
        let (writer_id, writer_secret, _) = app
            .integration_client(&admin_then, &["reports:write"])
            .await;
        let writer = app.client_token(&writer_id, &writer_secret).await;
        let mut west = report("normal");
        west["kind"] = json!("aspiration");
        west["category_code"] = json!("lainnya");
        west["kelurahan_code"] = json!("18.72.02.1001");
        west["latitude"] = json!(null);
        west["longitude"] = json!(null);
        id_of(&submit(&app, &writer, &west).await);
        app.freeze_clock(utc("2026-03-06 05:00:00"));
        let member_a = app.signed_in_again(&t.member_a).await;
        let acked = app
            .post_as(
                &format!("/api/v1/bulletins/{bulletin}/acknowledgements"),
                token(&member_a),
                &json!({"reach": 10}),
            )
            .await;
        assert_eq!(acked.status().as_u16(), 201);
        // 00:00 WIB on 9 March: the day after the period.
        app.freeze_clock(utc("2026-03-08 17:00:00"));
        let member_a = app.signed_in_again(&t.member_a).await;
        id_of(&submit(&app, token(&member_a), &report("normal")).await);
        let (admin, officer) = (
            app.signed_in_again(&t.admin).await,
            app.signed_in_again(&t.officer).await,
        );
        let admin = token(&admin);

        let figures: Value = json_of(
            app.get_as(
                "/api/v1/stats/overview?from=2026-03-02&to=2026-03-08",
                token(&officer),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(figures["from"], "2026-03-02");
        assert_eq!(figures["to"], "2026-03-08");
        assert_eq!(
            figures["kims"],
            json!({
                "total": 4,
                "by_status": {"active": 3, "proposed": 1},
                "by_kecamatan": [
                    {"kecamatan_code": "18.72.01", "total": 2, "by_status": {"active": 2}},
                    {"kecamatan_code": "18.72.02", "total": 2, "by_status": {"active": 1, "proposed": 1}},
                ],
                "active_members": 3,
            })
        );
        assert_eq!(
            figures["reports"],
            json!({
                "submitted": 4,
                "by_status": {"rejected": 1, "resolved": 1, "submitted": 2},
                "by_kind": {"aspiration": 1, "complaint": 3},
                "by_category": [
                    {"code": "infrastruktur", "count": 2},
                    {"code": "kesehatan", "count": 1},
                    {"code": "lainnya", "count": 1},
                ],
                "by_kecamatan": [
                    {"code": "18.72.01", "count": 3},
                    {"code": "18.72.02", "count": 1},
                ],
                "overdue": 1,
                "median_first_response_seconds": 10800,
                "median_resolution_seconds": 259200,
                "resolved_in_period": 1,
            })
        );
        assert_eq!(
            figures["bulletins"],
            json!({"published": 1, "kims_addressed": 3, "acknowledgements": 1,
                   "acknowledgement_rate": 1.0 / 3.0, "reach": 10})
        );
        let daily = figures["daily"].as_array().expect("daily");
        assert_eq!(daily.len(), 7);
        let day = |date: &str| {
            daily
                .iter()
                .find(|entry| entry["date"] == date)
                .cloned()
                .expect("day")
        };
        assert_eq!(
            day("2026-03-02"),
            json!({"date": "2026-03-02", "reports_submitted": 1, "reports_resolved": 0, "bulletins_published": 0, "acknowledgements": 0})
        );
        assert_eq!(day("2026-03-03")["reports_submitted"], 2);
        assert_eq!(day("2026-03-04")["bulletins_published"], 1);
        assert_eq!(day("2026-03-05")["reports_submitted"], 1);
        assert_eq!(day("2026-03-05")["reports_resolved"], 1);
        assert_eq!(day("2026-03-06")["acknowledgements"], 1);
        assert_eq!(
            day("2026-03-08")["reports_submitted"],
            0,
            "00:00 WIB on the 9th is not the 8th"
        );

        let later: Value = json_of(
            app.get_as(
                "/api/v1/stats/overview?from=2026-03-09&to=2026-03-09",
                admin,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(later["reports"]["submitted"], 1);
        assert_eq!(
            later["reports"]["median_first_response_seconds"],
            Value::Null
        );
        assert_eq!(later["bulletins"]["acknowledgement_rate"], Value::Null);
        let default_period: Value =
            json_of(app.get_as("/api/v1/stats/overview", admin).await, 200).await;
        assert_eq!(default_period["daily"].as_array().map(Vec::len), Some(30));
    }
}

#[tokio::test]
async fn statistics_are_for_gov_and_stats_clients_and_periods_are_checked() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let (stats_id, stats_secret, _) = app.integration_client(&t.admin, &["stats:read"]).await;
        let stats_client = app.client_token(&stats_id, &stats_secret).await;
        for who in [token(&t.admin), token(&t.officer), stats_client.as_str()] {
            json_of(app.get_as("/api/v1/stats/overview", who).await, 200).await;
        }
        for who in [
            token(&t.board_a),
            token(&t.member_a),
            t.reader.as_str(),
            t.writer.as_str(),
        ] {
            problem(app.get_as("/api/v1/stats/overview", who).await, 403).await;
        }
        problem(app.get("/api/v1/stats/overview").await, 401).await;
        for (query, field) in [
            ("from=2026-03-09&to=2026-03-01", "to"),
            ("from=2025-01-01&to=2026-03-01", "from"),
            ("from=kemarin", "from"),
            ("to=2026-02-30", "to"),
            ("kim_id=1", "kim_id"),
        ] {
            let body = problem(
                app.get_as(&format!("/api/v1/stats/overview?{query}"), token(&t.admin))
                    .await,
                400,
            )
            .await;
            assert_eq!(body["errors"][0]["field"], field, "{query}");
        }
        json_of(
            app.get_as(
                "/api/v1/stats/overview?from=2025-03-02&to=2026-03-02",
                token(&t.admin),
            )
            .await,
            200,
        )
        .await;
    })
    .await;
}

/// The per-day counts and duration histograms the overview reads, recounted from
/// `reports` itself: WIB day of submission (or of resolution), each report once per
/// dimension, durations rounded to whole seconds, buckets of digits and two leading
/// digits.
fn recount(rows: &[StoredReport]) -> (DayCounts, DurationCounts) {
    let day = |at: NaiveDateTime| {
        (at + chrono::Duration::hours(7))
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut days = BTreeMap::new();
    let mut durations = BTreeMap::new();
    for row in rows {
        let created = day(row.created_at);
        for (dimension, code) in [
            ("status", &row.status),
            ("kind", &row.kind),
            ("category", &row.category_code),
            ("kecamatan", &row.kecamatan_code),
        ] {
            *days
                .entry((created.clone(), dimension.to_owned(), code.clone()))
                .or_insert(0) += 1;
        }
        if let Some(resolved) = row.resolved_at {
            *days
                .entry((day(resolved), "resolved".to_owned(), String::new()))
                .or_insert(0) += 1;
        }
        for (measure, seconds) in [
            ("first_response", row.first_response_seconds()),
            ("resolution", row.resolution_seconds()),
        ] {
            if let Some(seconds) = seconds {
                let digits = seconds.max(0).to_string();
                let bucket = digits.len() as i32 * 100
                    + digits[..digits.len().min(2)]
                        .parse::<i32>()
                        .expect("digits");
                *durations
                    .entry((measure.to_owned(), created.clone(), bucket))
                    .or_insert(0) += 1;
            }
        }
    }
    (days, durations)
}

#[derive(Queryable)]
struct StoredReport {
    created_at: NaiveDateTime,
    status: String,
    kind: String,
    category_code: String,
    kecamatan_code: String,
    first_response_at: Option<NaiveDateTime>,
    resolved_at: Option<NaiveDateTime>,
}

impl StoredReport {
    fn seconds(&self, to: Option<NaiveDateTime>) -> Option<i64> {
        to.map(|to| {
            ((to - self.created_at).num_microseconds().expect("micros") as f64 / 1e6).round() as i64
        })
    }
    fn first_response_seconds(&self) -> Option<i64> {
        self.seconds(self.first_response_at)
    }
    fn resolution_seconds(&self) -> Option<i64> {
        self.seconds(self.resolved_at)
    }
}

#[derive(QueryableByName)]
struct DayCountRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    day: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    dimension: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    code: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct DurationCountRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    measure: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    day: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    bucket: i32,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Reports per (day, dimension, code).
type DayCounts = BTreeMap<(String, String, String), i64>;
/// Reports per (measure, day, bucket).
type DurationCounts = BTreeMap<(String, String, i32), i64>;
/// What is stored: the reports, and the non-zero per-day counts and histograms.
type Stored = (Vec<StoredReport>, DayCounts, DurationCounts);

async fn stored(app: &TestApp) -> Stored {
    app.db
        .read(|conn| {
            let rows = reports::table
                .select((
                    reports::created_at,
                    reports::status,
                    reports::kind,
                    reports::category_code,
                    reports::kecamatan_code,
                    reports::first_response_at,
                    reports::resolved_at,
                ))
                .load::<StoredReport>(conn)?;
            let days = "SELECT CAST(day AS TEXT) AS day, dimension, code, CAST(SUM(n) AS BIGINT) AS n \
                FROM report_day_counts GROUP BY day, dimension, code HAVING SUM(n) <> 0";
            let durations = "SELECT measure, CAST(day AS TEXT) AS day, bucket, n FROM report_duration_counts WHERE n <> 0";
            let (days, durations): (Vec<DayCountRow>, Vec<DurationCountRow>) = match conn {
                DbConnection::Postgres(pg) => (diesel::sql_query(days).load(pg)?, diesel::sql_query(durations).load(pg)?),
                DbConnection::Sqlite(sqlite) => {
                    (diesel::sql_query(days).load(sqlite)?, diesel::sql_query(durations).load(sqlite)?)
                }
            };
            Ok((
                rows,
                days.into_iter().map(|row| ((row.day, row.dimension, row.code), row.n)).collect(),
                durations.into_iter().map(|row| ((row.measure, row.day, row.bucket), row.n)).collect(),
            ))
        })
        .await
        .expect("stored counts")
}

/// The median the overview should answer for reports submitted on `[first, last]`.
fn expected_median(
    rows: &[StoredReport],
    first: &str,
    last: &str,
    seconds: impl Fn(&StoredReport) -> Option<i64>,
) -> Value {
    let day = |at: NaiveDateTime| {
        (at + chrono::Duration::hours(7))
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut values: Vec<i64> = rows
        .iter()
        .filter(|row| (first..=last).contains(&day(row.created_at).as_str()))
        .filter_map(seconds)
        .collect();
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => Value::Null,
        _ if n % 2 == 1 => json!(values[n / 2]),
        _ => json!((values[n / 2 - 1] + values[n / 2]) / 2),
    }
}

/// What happens to one report of the March fixture, and when (UTC).
enum Step {
    Submit(usize),
    Answer(usize),
    Resolve(usize),
}

/// The March fixture in the order it happened: twelve reports submitted, answered and
/// resolved at instants chosen to spread durations over many buckets (0 s, one digit,
/// the edges of two and three digits, a day, eleven days) and days on both sides of
/// WIB midnight. The first ten are answered (the eleventh by a rejection), the first
/// six resolved.
fn march() -> Vec<(DateTime<Utc>, Step)> {
    let clocks: [(&str, Option<&str>, Option<&str>); 12] = [
        (
            "2026-03-01 01:00:00",
            Some("2026-03-01 01:00:00"),
            Some("2026-03-01 01:00:09"),
        ),
        (
            "2026-03-01 02:00:00",
            Some("2026-03-01 02:00:09"),
            Some("2026-03-01 02:01:40"),
        ),
        (
            "2026-03-01 18:00:00",
            Some("2026-03-01 18:00:10"),
            Some("2026-03-02 18:00:00"),
        ),
        (
            "2026-03-02 03:00:00",
            Some("2026-03-02 03:01:39"),
            Some("2026-03-13 03:00:00"),
        ),
        (
            "2026-03-02 04:00:00",
            Some("2026-03-02 04:01:40"),
            Some("2026-03-02 04:16:39"),
        ),
        (
            "2026-03-03 05:00:00",
            Some("2026-03-03 05:16:40"),
            Some("2026-03-04 05:00:00"),
        ),
        ("2026-03-03 06:00:00", Some("2026-03-03 06:00:01"), None),
        ("2026-03-04 07:00:00", Some("2026-03-05 06:59:59"), None),
        ("2026-03-04 08:00:00", Some("2026-03-04 09:00:00"), None),
        ("2026-03-05 09:00:00", Some("2026-03-05 09:00:05"), None),
        ("2026-03-05 10:00:00", Some("2026-03-05 10:01:00"), None),
        ("2026-03-05 11:00:00", None, None),
    ];
    let mut steps = Vec::new();
    for (n, (created, answered, resolved)) in clocks.into_iter().enumerate() {
        steps.push((utc(created), Step::Submit(n)));
        steps.extend(answered.map(|at| (utc(at), Step::Answer(n))));
        steps.extend(resolved.map(|at| (utc(at), Step::Resolve(n))));
    }
    // Stable: a report answered the second it arrives is submitted first.
    steps.sort_by_key(|(at, _)| *at);
    steps
}

/// A report of the fixture: every third one an aspiration about health.
fn fixture_report(n: usize) -> Value {
    let mut body = report("normal");
    if n % 3 == 1 {
        body["category_code"] = json!("kesehatan");
        body["kind"] = json!("aspiration");
    }
    body
}

/// The accounts the rest of the test acts as, signed in now.
struct Signed {
    member_a: TestUser,
    officer: TestUser,
}

/// A member and an officer whose sign-ins follow the clock (tokens last a day).
struct Desk<'a> {
    app: &'a TestApp,
    member: TestUser,
    officer: TestUser,
    signed_in_at: DateTime<Utc>,
}

impl Desk<'_> {
    async fn at(&mut self, now: DateTime<Utc>) {
        self.app.freeze_clock(now);
        if now - self.signed_in_at > chrono::Duration::hours(20) {
            self.member = self.app.signed_in_again(&self.member).await;
            self.officer = self.app.signed_in_again(&self.officer).await;
            self.signed_in_at = now;
        }
    }

    async fn moves(&self, id: i64, steps: &[Value]) {
        for step in steps {
            let moved = move_to(self.app, token(&self.officer), id, step.clone()).await;
            assert_eq!(moved.status().as_u16(), 200, "{step}");
        }
    }
}

#[tokio::test]
async fn the_per_day_counts_follow_every_change_and_medians_stay_exact() {
    for backend in backends() {
        let app = spawn_app_with(backend, |config| config.access_token_ttl_secs = 86_400).await;
        let start = utc("2026-03-01 01:00:00");
        app.freeze_clock(start);
        let t = town(&app).await;
        let mut desk = Desk {
            app: &app,
            member: app.signed_in_again(&t.member_a).await,
            officer: app.signed_in_again(&t.officer).await,
            signed_in_at: start,
        };
        let mut ids = vec![0; 12];
        for (at, step) in march() {
            desk.at(at).await;
            match step {
                Step::Submit(n) => {
                    ids[n] = id_of(&submit(&app, token(&desk.member), &fixture_report(n)).await)
                }
                Step::Answer(10) => {
                    desk.moves(
                        ids[10],
                        &[json!({"status": "rejected", "note": "Bukan wewenang"})],
                    )
                    .await
                }
                Step::Answer(n) => desk.moves(ids[n], &[json!({"status": "verified"})]).await,
                Step::Resolve(n) => {
                    desk.moves(
                        ids[n],
                        &[
                            json!({"status": "in_progress"}),
                            json!({"status": "resolved", "note": "Selesai"}),
                        ],
                    )
                    .await
                }
            }
        }
        // Two more today: one resolved, one deleted below.
        kim_api::clock::reset();
        let (member, officer) = (
            app.signed_in_again(&t.member_a).await,
            app.signed_in_again(&t.officer).await,
        );
        desk.member = member;
        desk.officer = officer;
        for n in 12..14 {
            ids.push(id_of(
                &submit(&app, token(&desk.member), &fixture_report(n)).await,
            ));
        }
        desk.moves(
            ids[12],
            &[
                json!({"status": "verified"}),
                json!({"status": "in_progress"}),
                json!({"status": "resolved", "note": "Selesai"}),
            ],
        )
        .await;
        let t = Signed {
            member_a: desk.member,
            officer: desk.officer,
        };
        // A report deleted by hand (with its timeline) leaves the counts too.
        let gone = ids[13];
        app.db
            .write(move |conn| {
                diesel::delete(report_timeline::table.filter(report_timeline::report_id.eq(gone)))
                    .execute(conn)?;
                diesel::delete(reports::table.find(gone)).execute(conn)?;
                Ok(())
            })
            .await
            .expect("delete a report");

        // Simultaneous submissions (PostgreSQL: through two instances) add up too.
        let other = crate::helpers::spawn_instance(&app, |_| {}).await;
        let body = report("normal");
        let racing = (0..10).map(|n| {
            let instance = if n % 2 == 0 { &app } else { &other };
            submit(instance, token(&t.member_a), &body)
        });
        futures_util::future::join_all(racing).await;

        let (rows, days, durations) = stored(&app).await;
        assert_eq!(rows.len(), 23);
        let (expected_days, expected_durations) = recount(&rows);
        assert_eq!(days, expected_days);
        assert_eq!(durations, expected_durations);
        assert!(
            durations
                .keys()
                .map(|(_, _, bucket)| bucket)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                >= 10
        );

        let today = (chrono::Utc::now().naive_utc() + chrono::Duration::hours(7))
            .format("%Y-%m-%d")
            .to_string();
        for (first, last) in [
            ("2026-03-01", "2026-03-31"),
            ("2026-03-01", "2026-03-01"),
            ("2026-03-02", "2026-03-02"),
            ("2026-03-01", "2026-03-03"),
            ("2026-03-02", "2026-03-05"),
            ("2026-03-04", "2026-03-05"),
            ("2026-03-06", "2026-03-31"),
            (today.as_str(), today.as_str()),
        ] {
            let figures = json_of(
                app.get_as(
                    &format!("/api/v1/stats/overview?from={first}&to={last}"),
                    token(&t.officer),
                )
                .await,
                200,
            )
            .await;
            let figures = &figures["reports"];
            assert_eq!(
                figures["median_first_response_seconds"],
                expected_median(&rows, first, last, StoredReport::first_response_seconds),
                "first response {first}..{last}"
            );
            assert_eq!(
                figures["median_resolution_seconds"],
                expected_median(&rows, first, last, StoredReport::resolution_seconds),
                "resolution {first}..{last}"
            );
        }
        let march = json_of(
            app.get_as(
                "/api/v1/stats/overview?from=2026-03-01&to=2026-03-31",
                token(&t.officer),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(march["reports"]["submitted"], 12);
        assert_eq!(march["reports"]["resolved_in_period"], 6);
        assert_eq!(
            march["reports"]["by_kind"],
            json!({"aspiration": 4, "complaint": 8})
        );
    }
}
