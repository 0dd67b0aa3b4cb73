//! `kim-api backup`, `restore` and `verify-storage`: a backup taken while reports are
//! being submitted restores every report acknowledged before it began, with every
//! attachment; a damaged or foreign backup, or a place that is not empty, is refused
//! before anything is written.

use std::path::Path;
use std::sync::{Arc, Mutex};

use kim_api::config::Settings;
use kim_api::startup::Application;
use tempfile::TempDir;
use tokio::process::Command;

use crate::attachments::{PNG, decode, form, upload_to};
use crate::helpers::{Backend, TestApp, spawn_app, test_config, token};
use crate::reports::{id_of, report, submit, town};

fn kim_api(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kim-api"));
    command
        .env("KIM_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("STORAGE_URL")
        .env_remove("STORAGE_DIR")
        .env_remove("KIM_ENV")
        .kill_on_drop(true);
    command
}

/// Runs `kim-api` with `args`; answers whether it succeeded and what it printed.
async fn run(mut command: Command, args: &[&str]) -> (bool, String) {
    let output = command.args(args).output().await.expect("kim-api runs");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// A report with a photo; answers the report and the photo's download path.
async fn report_with_photo(app: &TestApp, member: &str) -> (i64, String) {
    let id = id_of(&submit(app, member, &report("normal")).await);
    let path = format!("/api/v1/reports/{id}/attachments");
    let photo = form("jalan.png", "image/png", &decode(PNG));
    let uploaded = upload_to(app, &path, member, photo, None).await;
    assert_eq!(uploaded.status().as_u16(), 201);
    let attachment: serde_json::Value = uploaded.json().await.expect("json");
    (id, format!("{path}/{}", attachment["id"]))
}

/// A member's token, and three reports of theirs with a photo each.
async fn seeded(app: &TestApp) -> (String, Vec<(i64, String)>) {
    let t = town(app).await;
    let member = token(&t.member_a).to_owned();
    let mut photos = Vec::new();
    for _ in 0..3 {
        photos.push(report_with_photo(app, &member).await);
    }
    (member, photos)
}

/// An app on a restored data directory.
async fn serve_restored(dir: &Path) -> (String, kim_api::db::Db) {
    let database = dir.join("kim.db").display().to_string();
    let settings = Settings::from_args(test_config(dir, database)).expect("settings");
    let app = Application::build(&settings)
        .await
        .expect("the restored app starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    tokio::spawn(app.run_until_stopped());
    (base, db)
}

/// Submits reports one after another until aborted, recording each acknowledged id;
/// answers once five are.
async fn keep_submitting(
    app: &TestApp,
    member: &str,
) -> (Arc<Mutex<Vec<i64>>>, tokio::task::JoinHandle<()>) {
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let (first_ones, mut enough) = tokio::sync::mpsc::channel::<()>(1);
    let writer = {
        let acknowledged = Arc::clone(&acknowledged);
        let client = app.client.clone();
        let url = app.url("/api/v1/reports");
        let member = member.to_owned();
        tokio::spawn(async move {
            loop {
                let answer = client
                    .post(&url)
                    .bearer_auth(&member)
                    .json(&report("normal"))
                    .send()
                    .await
                    .expect("submit");
                assert_eq!(answer.status().as_u16(), 201, "no write fails meanwhile");
                let body: serde_json::Value = answer.json().await.expect("json");
                let count = {
                    let mut acknowledged = acknowledged.lock().expect("lock");
                    acknowledged.push(id_of(&body));
                    acknowledged.len()
                };
                if count == 5 {
                    let _ = first_ones.try_send(());
                }
            }
        })
    };
    enough.recv().await.expect("the writer runs");
    (acknowledged, writer)
}

async fn report_ids(db: &kim_api::db::Db) -> Vec<i64> {
    db.read(|conn| {
        use diesel::prelude::*;
        use kim_api::db::schema::reports;
        Ok(reports::table.select(reports::id).load(conn)?)
    })
    .await
    .expect("read")
}

/// Every photo of `photos` downloads from `base` as it does from `app`.
async fn same_photos(app: &TestApp, base: &str, member: &str, photos: &[(i64, String)]) {
    for (_, download) in photos {
        let file = app
            .client
            .get(format!("{base}{download}"))
            .bearer_auth(member)
            .send()
            .await
            .expect("download");
        assert_eq!(file.status().as_u16(), 200, "{download}");
        let original = app.get_as(download, member).await;
        assert_eq!(
            file.bytes().await.expect("bytes"),
            original.bytes().await.expect("bytes")
        );
    }
}

#[tokio::test]
async fn a_backup_under_write_load_restores_every_acknowledged_report_and_file() {
    let app = spawn_app(Backend::Sqlite).await;
    let (member, photos) = seeded(&app).await;
    let (acknowledged, writer) = keep_submitting(&app, &member).await;
    let before_backup = acknowledged.lock().expect("lock").clone();
    let backup = TempDir::new().expect("dir");
    let target = backup.path().join("kim-backup");
    let mut command = kim_api(app.data_dir());
    command.env("DATABASE_URL", app.database.url());
    let (backed_up, printed) = run(command, &["backup", "--to", &target.to_string_lossy()]).await;
    assert!(backed_up, "{printed}");
    let during = acknowledged.lock().expect("lock").len() - before_backup.len();
    writer.abort();

    let restored = TempDir::new().expect("dir");
    let target = target.to_string_lossy().into_owned();
    let (done, printed) = run(kim_api(restored.path()), &["restore", "--from", &target]).await;
    assert!(done, "{printed}");
    let (base, db) = serve_restored(restored.path()).await;
    let kept = report_ids(&db).await;
    for id in &before_backup {
        assert!(
            kept.contains(id),
            "report {id} was acknowledged before the backup"
        );
    }
    eprintln!(
        "{} reports acknowledged before the backup, {during} while it ran; {} restored",
        before_backup.len(),
        kept.len()
    );
    same_photos(&app, &base, &member, &photos).await;
    let (consistent, printed) = run(kim_api(restored.path()), &["verify-storage"]).await;
    assert!(consistent, "{printed}");
    assert!(printed.contains("consistent"), "{printed}");

    let (again, printed) = run(kim_api(restored.path()), &["restore", "--from", &target]).await;
    assert!(!again, "a place that is not empty is refused");
    assert!(printed.contains("is not empty"), "{printed}");
    refuse_damaged(Path::new(&target)).await;
}

/// A changed schema version or a changed byte is refused, into an empty place.
async fn refuse_damaged(backup: &Path) {
    let manifest_path = backup.join("manifest.json");
    let original = std::fs::read_to_string(&manifest_path).expect("manifest");
    let manifest: serde_json::Value = serde_json::from_str(&original).expect("json");
    let version = manifest["schema_version"].as_str().expect("version");
    std::fs::write(
        &manifest_path,
        original.replace(version, "2020-01-01-000000"),
    )
    .expect("write");
    let empty = TempDir::new().expect("dir");
    let from = backup.to_string_lossy().into_owned();
    let (done, printed) = run(kim_api(empty.path()), &["restore", "--from", &from]).await;
    assert!(!done && printed.contains("schema version"), "{printed}");
    std::fs::write(&manifest_path, &original).expect("write");

    let photo = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .find_map(|file| {
            file["path"]
                .as_str()
                .filter(|p| p.starts_with("attachments/"))
        })
        .expect("an attachment in the backup");
    let mut bytes = std::fs::read(backup.join(photo)).expect("file");
    bytes[0] ^= 0xff;
    std::fs::write(backup.join(photo), bytes).expect("write");
    let (done, printed) = run(kim_api(empty.path()), &["restore", "--from", &from]).await;
    assert!(!done && printed.contains("checksum"), "{printed}");
    assert!(
        !empty.path().join("kim.db").exists(),
        "nothing is written before the checks pass"
    );
}

/// `verify-storage` passes a consistent store and names a recorded file the store lost.
#[tokio::test]
async fn verify_storage_names_a_file_the_store_lost() {
    let app = spawn_app(Backend::Sqlite).await;
    let t = town(&app).await;
    report_with_photo(&app, token(&t.member_a)).await;
    let mut command = kim_api(app.data_dir());
    command.env("DATABASE_URL", app.database.url());
    let (consistent, printed) = run(command, &["verify-storage"]).await;
    assert!(consistent, "{printed}");

    let keys = app.storage.keys().await.expect("keys");
    let lost = keys.first().expect("a stored file");
    std::fs::remove_file(app.data_dir().join("storage").join(lost)).expect("remove");
    let mut command = kim_api(app.data_dir());
    command.env("DATABASE_URL", app.database.url());
    let (consistent, printed) = run(command, &["verify-storage"]).await;
    assert!(!consistent);
    assert!(printed.contains(&format!("missing: {lost}")), "{printed}");
}

/// PostgreSQL and S3, as the README says: `pg_dump` while reports are submitted,
/// `pg_restore` into a new database, and `verify-storage` agrees with the store; the
/// `backup` command points at `pg_dump`.
#[tokio::test]
async fn on_postgres_a_dump_under_write_load_restores_and_the_store_agrees() {
    if !crate::helpers::backends().contains(&Backend::Postgres) {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let (member, photos) = seeded(&app).await;
    let (acknowledged, writer) = keep_submitting(&app, &member).await;
    let before_backup = acknowledged.lock().expect("lock").clone();
    let dump = TempDir::new().expect("dir");
    let dump_file = dump.path().join("kim.dump").to_string_lossy().into_owned();
    let dumped = Command::new("pg_dump")
        .args(["--format=custom", "--file", &dump_file, &app.database.url()])
        .status()
        .await
        .expect("pg_dump runs");
    assert!(dumped.success());
    writer.abort();

    let restored = crate::helpers::TestDatabase::create(Backend::Postgres);
    let loaded = Command::new("pg_restore")
        .args(["--no-owner", "--dbname", &restored.url(), &dump_file])
        .status()
        .await
        .expect("pg_restore runs");
    assert!(loaded.success());
    let dir = TempDir::new().expect("dir");
    let mut config = test_config(dir.path(), restored.url());
    // The store is not restored: it is the one the dumped database used.
    config.storage_url = app.storage_url.clone();
    config.storage_dir = Some(app.data_dir().join("storage"));
    let settings = Settings::from_args(config).expect("settings");
    let restored_app = Application::build(&settings).await.expect("starts");
    let base = format!("http://127.0.0.1:{}", restored_app.port());
    let db = restored_app.db().clone();
    tokio::spawn(restored_app.run_until_stopped());
    let kept = report_ids(&db).await;
    for id in &before_backup {
        assert!(
            kept.contains(id),
            "report {id} was acknowledged before the dump"
        );
    }
    same_photos(&app, &base, &member, &photos).await;

    let mut verify = kim_api(app.data_dir());
    verify.env("DATABASE_URL", restored.url());
    if let Some(url) = &app.storage_url {
        verify.env("STORAGE_URL", url);
    }
    let (consistent, printed) = run(verify, &["verify-storage"]).await;
    assert!(consistent, "{printed}");

    let mut backup = kim_api(app.data_dir());
    backup.env("DATABASE_URL", app.database.url());
    let target = dump.path().join("not-here").to_string_lossy().into_owned();
    let (done, printed) = run(backup, &["backup", "--to", &target]).await;
    assert!(!done && printed.contains("pg_dump"), "{printed}");
}
