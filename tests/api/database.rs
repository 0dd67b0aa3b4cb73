use std::sync::mpsc;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use kim_api::db::schema::report_categories;
use kim_api::db::{Db, DbConnection, PoolSettings};
use kim_api::error::ApiError;

use crate::helpers::{Backend, backends, problem, spawn_app_with};

fn insert_category(conn: &mut DbConnection, code: &str) -> Result<(), ApiError> {
    diesel::insert_into(report_categories::table)
        .values((
            report_categories::code.eq(code),
            report_categories::name.eq(format!("Kategori {code}")),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Pragma {
    #[diesel(sql_type = Text)]
    value: String,
}

fn pragma(conn: &mut DbConnection, name: &str) -> String {
    let column = if name == "busy_timeout" {
        "timeout"
    } else {
        name
    };
    diesel::sql_query(format!(
        "SELECT CAST({column} AS TEXT) AS value FROM pragma_{name}"
    ))
    .get_result::<Pragma>(conn)
    .map(|row| row.value)
    .unwrap_or_else(|error| panic!("pragma {name}: {error}"))
}

#[tokio::test]
async fn sqlite_connections_are_durable_and_strict() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let settings = app
        .db
        .read(|conn| {
            Ok([
                "journal_mode",
                "synchronous",
                "foreign_keys",
                "busy_timeout",
                "query_only",
            ]
            .map(|name| pragma(conn, name)))
        })
        .await
        .expect("pragmas");
    assert_eq!(
        settings,
        ["wal", "2", "1", "5000", "1"],
        "readers: WAL, FULL, FKs, read-only"
    );

    let refused = app
        .db
        .read(|conn| insert_category(conn, "via_reader"))
        .await;
    assert!(refused.is_err(), "a reader connection cannot write");
}

#[tokio::test]
async fn unique_violations_become_409_conflicts() {
    for backend in backends() {
        let app = spawn_app_with(backend, |_| {}).await;
        let result = app
            .db
            .write(|conn| insert_category(conn, "infrastruktur"))
            .await;
        assert!(
            matches!(result, Err(ApiError::Conflict { .. })),
            "{backend:?}: {result:?}"
        );
        let problem = result
            .err()
            .map(|e| e.to_problem(kim_api::i18n::Lang::En, None));
        assert_eq!(
            problem.map(|p| (p.status, p.code)),
            Some((409, "conflict".into()))
        );
    }
}

#[tokio::test]
async fn a_failed_write_rolls_back_everything() {
    for backend in backends() {
        let app = spawn_app_with(backend, |_| {}).await;
        let result = app
            .db
            .write(|conn| {
                insert_category(conn, "first_of_two")?;
                insert_category(conn, "infrastruktur")
            })
            .await;
        assert!(result.is_err());
        let kept = app
            .db
            .read(|conn| {
                Ok(report_categories::table
                    .filter(report_categories::code.eq("first_of_two"))
                    .count()
                    .get_result::<i64>(conn)?)
            })
            .await
            .expect("count");
        assert_eq!(kept, 0, "{backend:?}");
    }
}

#[tokio::test]
async fn concurrent_writers_from_two_instances_all_succeed() {
    for backend in backends() {
        let app = spawn_app_with(backend, |_| {}).await;
        // A second instance on the same database, as a second process would be.
        let url = app.database.url();
        let other = tokio::task::spawn_blocking(move || {
            Db::connect(
                &url,
                PoolSettings {
                    max_size: 4,
                    connection_timeout: Duration::from_secs(10),
                },
            )
        })
        .await
        .expect("task")
        .expect("second instance");

        let mut writes = Vec::new();
        for i in 0..40 {
            let db = if i % 2 == 0 {
                app.db.clone()
            } else {
                other.clone()
            };
            writes.push(tokio::spawn(async move {
                db.write(move |conn| {
                    // Read first, then write: the lock upgrade that fails with
                    // "database is locked" under a deferred transaction.
                    let before: i64 = report_categories::table.count().get_result(conn)?;
                    insert_category(conn, &format!("concurrent_{i}_{before}"))
                })
                .await
            }));
        }
        for write in writes {
            let result = write.await.expect("task");
            assert!(result.is_ok(), "{backend:?}: {result:?}");
        }
        let total: i64 = app
            .db
            .read(|conn| {
                Ok(diesel::sql_query(
                    "SELECT COUNT(*) AS n FROM report_categories WHERE code LIKE 'concurrent_%'",
                )
                .get_result::<Count>(conn)?
                .n)
            })
            .await
            .expect("count");
        assert_eq!(total, 40, "{backend:?}");
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test]
async fn an_exhausted_pool_answers_503() {
    for backend in backends() {
        let app = spawn_app_with(backend, |config| {
            config.db_pool_size = 1;
            config.db_pool_timeout_ms = 200;
        })
        .await;
        let (acquired_tx, acquired_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let db = app.db.clone();
        let holder = tokio::spawn(async move {
            db.read(move |_conn| {
                let _ = acquired_tx.send(());
                let _ = release_rx.recv();
                Ok(())
            })
            .await
        });
        acquired_rx
            .await
            .expect("the only reader connection is taken");

        let body = problem(app.get("/api/v1/regions").await, 503).await;
        assert_eq!(body["code"], "service_unavailable", "{backend:?}");

        release_tx.send(()).expect("release");
        holder.await.expect("task").expect("holder");
        assert_eq!(app.get("/api/v1/regions").await.status().as_u16(), 200);
    }
}

#[tokio::test]
async fn a_lost_postgres_database_answers_503() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let app = spawn_app_with(Backend::Postgres, |config| config.db_pool_timeout_ms = 300).await;
    assert_eq!(app.get("/api/v1/regions").await.status().as_u16(), 200);
    app.database.destroy();
    let body = problem(app.get("/api/v1/regions").await, 503).await;
    assert_eq!(body["code"], "service_unavailable");
    assert!(
        !body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("database"),
        "no internal text leaks: {body}"
    );
}

/// A row held by a forgotten transaction does not hold a request for ever: PostgreSQL's
/// lock_timeout ends the wait and the caller is told to retry.
#[tokio::test]
async fn a_lock_held_elsewhere_times_out_as_503() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};
    if !crate::helpers::backends().contains(&crate::helpers::Backend::Postgres) {
        return;
    }
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Postgres).await;
    let admin = app.bootstrap_admin().await;
    let kim = app.create_kim("KIM Terkunci").await;
    let mut holder = PgConnection::establish(&app.database.url()).expect("connect");
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM kims WHERE id = {kim} FOR UPDATE;"
        ))
        .expect("hold the row");
    let response = app
        .post_as(
            &format!("/api/v1/kims/{kim}/status"),
            &admin.session.access_token,
            &serde_json::json!({"status": "dissolved", "reason": "Uji kunci"}),
        )
        .await;
    assert_eq!(response.headers()["retry-after"], "5");
    crate::helpers::problem(response, 503).await;
    holder.batch_execute("ROLLBACK").expect("release");
}

/// The queue in front of the database threads is bounded: with the writer stuck (a lock
/// held elsewhere), writes beyond the queue are answered `503` with `Retry-After` at
/// once instead of piling up, and the queued ones complete once the lock is released.
#[tokio::test]
async fn writes_beyond_the_database_queue_are_shed_with_503() {
    use diesel::connection::SimpleConnection;
    use futures_util::StreamExt;
    use futures_util::stream::FuturesUnordered;
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    let admin = app.bootstrap_admin().await;
    let member = app.user(&admin, "gov_officer", None).await;
    // The dispatcher's fan-out of `user.created` must not take a place in the queue.
    app.outbox_settled().await;
    let mut holder = diesel::SqliteConnection::establish(&app.database.url()).expect("connect");
    holder
        .batch_execute("PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE;")
        .expect("hold the write lock");
    // One writer thread: one group of 1 to 32 writes (those waiting together) runs,
    // waiting on the lock, and 64 wait in the queue; the rest is shed.
    let sent = 64 + 32 + 15;
    let mut answers: FuturesUnordered<_> = (0..sent)
        .map(|n| {
            let request = app
                .client
                .patch(app.url(&format!("/api/v1/users/{}", member.id)))
                .bearer_auth(&admin.session.access_token)
                .json(&serde_json::json!({"display_name": format!("Petugas {n}")}));
            async move { request.send().await.expect("send") }
        })
        .collect();
    let mut shed = 0;
    while shed < 15 {
        let response = answers.next().await.expect("an answer");
        assert!(response.headers().get("retry-after").is_some());
        crate::helpers::problem(response, 503).await;
        shed += 1;
    }
    holder.batch_execute("COMMIT;").expect("release");
    let mut completed = 0;
    while let Some(response) = answers.next().await {
        match response.status().as_u16() {
            200 => completed += 1,
            status => {
                assert_eq!(status, 503);
                assert!(response.headers().get("retry-after").is_some());
                shed += 1;
            }
        }
    }
    assert_eq!(completed + shed, sent);
    assert!((65..=96).contains(&completed), "{completed} completed");
}
