//! `kim-api seed-demo`, run as the binary against the test database: the data it makes
//! is data the API serves and the workflow's rules hold for it.

use std::collections::HashSet;
use std::process::Command;

use diesel::prelude::*;
use kim_api::db::schema::{kims, report_timeline, reports};

use crate::helpers::{TestApp, on_each_backend};
use crate::reports::{json_of, report};

const NIK_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub fn seed_demo(app: &TestApp, data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kim-api"))
        .arg("seed-demo")
        .args(args)
        .env("DATABASE_URL", app.database.url())
        .env("KIM_DATA_DIR", data_dir)
        .env("NIK_ENCRYPTION_KEY", NIK_KEY)
        .env("JWT_SECRET", "test-secret-that-is-long-enough-for-hs256")
        .env("LOG_FORMAT", "json")
        .output()
        .expect("kim-api runs")
}

/// Runs `seed-demo` with `args`, which must succeed, and answers what it printed and
/// the demo accounts' password.
pub fn seeded(app: &TestApp, data_dir: &std::path::Path, args: &[&str]) -> (String, String) {
    let seeded = seed_demo(app, data_dir, args);
    let stdout = String::from_utf8_lossy(&seeded.stdout).into_owned();
    assert!(
        seeded.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let password = stdout
        .split("password ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .expect("the password is printed")
        .to_owned();
    (stdout, password)
}

#[tokio::test]
async fn seed_demo_fills_an_empty_database_with_data_the_api_serves() {
    on_each_backend(async |app| {
        let data_dir = tempfile::TempDir::new().expect("temporary directory");
        let (stdout, password) = seeded(
            &app,
            data_dir.path(),
            &["--kims", "6", "--reports", "300", "--bulletins", "8"],
        );
        assert!(stdout.contains("seeded 6 KIMs"), "{stdout}");

        let admin = app.session("demo.admin", &password).await.access_token;
        for status in [
            "submitted",
            "verified",
            "in_progress",
            "resolved",
            "rejected",
        ] {
            let page = json_of(
                app.get_as(&format!("/api/v1/reports?status={status}&limit=1"), &admin)
                    .await,
                200,
            )
            .await;
            assert_eq!(
                page["data"].as_array().map(Vec::len),
                Some(1),
                "a {status} report"
            );
        }
        let overdue = json_of(
            app.get_as("/api/v1/reports?overdue=true&limit=1", &admin)
                .await,
            200,
        )
        .await;
        assert_eq!(overdue["data"][0]["overdue"], true);
        let kims = json_of(
            app.get_as("/api/v1/kims?status=active&limit=100", &admin)
                .await,
            200,
        )
        .await;
        assert_eq!(kims["data"].as_array().map(Vec::len), Some(6));
        let bulletins = json_of(
            app.get_as("/api/v1/bulletins?status=published&limit=100", &admin)
                .await,
            200,
        )
        .await;
        assert!(
            bulletins["data"]
                .as_array()
                .is_some_and(|data| !data.is_empty())
        );

        // Each report's last status entry is its status; codes are unique.
        let (rows, entries) = app
            .db
            .read(|conn| {
                let rows: Vec<(i64, String, String)> = reports::table
                    .select((reports::id, reports::status, reports::tracking_code))
                    .load(conn)?;
                let entries: Vec<(i64, Option<String>)> = report_timeline::table
                    .filter(report_timeline::entry_type.eq("status"))
                    .order(report_timeline::id)
                    .select((report_timeline::report_id, report_timeline::to_status))
                    .load(conn)?;
                Ok((rows, entries))
            })
            .await
            .expect("rows");
        assert_eq!(rows.len(), 300);
        let last: std::collections::HashMap<i64, Option<String>> = entries.into_iter().collect();
        for (id, status, _) in &rows {
            assert_eq!(
                last.get(id).cloned().flatten().as_deref(),
                Some(status.as_str()),
                "report {id}"
            );
        }
        let codes: HashSet<&String> = rows.iter().map(|(_, _, code)| code).collect();
        assert_eq!(codes.len(), 300);

        // A KIM's demo member sees its KIM's reports and submits the next one.
        let kim_id: i64 = app
            .db
            .read(|conn| Ok(kims::table.select(kims::id).order(kims::id).first(conn)?))
            .await
            .expect("kim");
        let member = app
            .session(&format!("anggota.kim{kim_id}"), &password)
            .await
            .access_token;
        let own = json_of(app.get_as("/api/v1/reports?limit=100", &member).await, 200).await;
        let own = own["data"].as_array().cloned().unwrap_or_default();
        assert!(!own.is_empty() && own.iter().all(|r| r["kim_id"] == kim_id));
        let next = json_of(
            app.post_as("/api/v1/reports", &member, &report("normal"))
                .await,
            201,
        )
        .await;
        assert_eq!(next["id"], 301, "ids continue after the demo's");
        let code = own[0]["tracking_code"].as_str().expect("code");
        let tracked = app
            .send(
                reqwest::Method::GET,
                &format!("/api/v1/reports/track/{code}"),
                None,
                None,
            )
            .await;
        assert_eq!(tracked.status().as_u16(), 200);

        // Only into an empty database.
        let again = seed_demo(&app, data_dir.path(), &["--kims", "1", "--reports", "1"]);
        // The status and stderr in full: once in ~35 loaded runs this process ended by
        // a signal (not reproduced in 300 runs alone); say which if it happens again.
        assert_eq!(
            again.status.code(),
            Some(2),
            "{:?}: {}",
            again.status,
            String::from_utf8_lossy(&again.stderr)
        );
        assert!(String::from_utf8_lossy(&again.stderr).contains("empty database"));
        let still: i64 = app
            .db
            .read(|conn| Ok(kims::table.count().get_result(conn)?))
            .await
            .expect("count");
        assert_eq!(still, 6);

        // Never in production mode, whatever the database holds.
        let production = Command::new(env!("CARGO_BIN_EXE_kim-api"))
            .arg("seed-demo")
            .env("KIM_ENV", "production")
            .env("DATABASE_URL", app.database.url())
            .env("KIM_DATA_DIR", data_dir.path())
            .env("NIK_ENCRYPTION_KEY", NIK_KEY)
            .env(
                "JWT_SECRET",
                "a-production-secret-that-is-long-enough-for-hs256-0123456789",
            )
            .env("PUBLIC_BASE_URL", "https://kim.metrokota.go.id")
            .output()
            .expect("kim-api runs");
        assert_eq!(production.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&production.stderr).contains("production mode"));
    })
    .await;
}
