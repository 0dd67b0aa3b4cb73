use std::process::Stdio;
use std::time::Duration;

use kim_api::config::{Mode, Settings};
use secrecy::ExposeSecret;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::helpers::test_config;

const CONFIG_VARS: [&str; 11] = [
    "KIM_ENV",
    "KIM_DATA_DIR",
    "DATABASE_URL",
    "BIND_ADDR",
    "JWT_SECRET",
    "NIK_ENCRYPTION_KEY",
    "STORAGE_DIR",
    "LOG_FORMAT",
    "CORS_ORIGINS",
    "DB_POOL_SIZE",
    "HTTP_WORKERS",
];

fn kim_api(dir: &TempDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kim-api"));
    for var in CONFIG_VARS {
        command.env_remove(var);
    }
    command
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[test]
fn development_mode_generates_secrets_once_and_keeps_them() {
    let dir = TempDir::new().expect("dir");
    let mut args = test_config(dir.path(), dir.path().join("kim.db").display().to_string());
    args.jwt_secret = None;
    args.nik_encryption_key = None;

    let first = Settings::from_args(args.clone()).expect("development starts without secrets");
    assert!(first.uses_generated_secrets);
    assert!(dir.path().join("dev-secrets.env").exists());
    let second = Settings::from_args(args).expect("restart");
    assert_eq!(
        first.jwt_secret.expose_secret(),
        second.jwt_secret.expose_secret()
    );
    assert_eq!(
        first.nik_encryption_key.expose_secret(),
        second.nik_encryption_key.expose_secret()
    );
}

#[test]
fn production_mode_refuses_missing_or_weak_secrets() {
    let dir = TempDir::new().expect("dir");
    let mut args = test_config(dir.path(), "postgres://db.internal/kim".into());
    args.mode = Mode::Production;
    args.public_base_url = Some("https://kim.metrokota.go.id".into());
    assert!(
        Settings::from_args(args.clone()).is_ok(),
        "real secrets are accepted"
    );

    let mut no_jwt = args.clone();
    no_jwt.jwt_secret = None;
    let error = Settings::from_args(no_jwt).expect_err("no JWT secret");
    assert!(error.to_string().contains("JWT_SECRET"), "{error}");

    let mut no_key = args.clone();
    no_key.nik_encryption_key = None;
    assert!(Settings::from_args(no_key).is_err());

    let mut weak = args.clone();
    weak.jwt_secret = Some("short".into());
    assert!(Settings::from_args(weak).is_err());

    let mut bad_key = args.clone();
    bad_key.nik_encryption_key = Some("c2hvcnQ=".into());
    assert!(Settings::from_args(bad_key).is_err());

    let mut no_public_url = args.clone();
    no_public_url.public_base_url = None;
    let error = Settings::from_args(no_public_url).expect_err("no public base URL");
    assert!(error.to_string().contains("PUBLIC_BASE_URL"), "{error}");

    let mut no_database = args;
    no_database.database_url = None;
    assert!(Settings::from_args(no_database).is_err());
    assert!(
        !dir.path().join("dev-secrets.env").exists(),
        "production never writes dev secrets"
    );
}

#[tokio::test]
async fn the_binary_refuses_production_without_secrets() {
    let dir = TempDir::new().expect("dir");
    let output = kim_api(&dir)
        .env("KIM_ENV", "production")
        .env("DATABASE_URL", dir.path().join("kim.db"))
        .output()
        .await
        .expect("run kim-api");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("KIM_ENV=production needs JWT_SECRET"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("kim.db").exists(),
        "nothing is created before refusing"
    );
}

#[tokio::test]
async fn the_binary_starts_in_development_mode_with_no_configuration() {
    let dir = TempDir::new().expect("dir");
    let mut child = kim_api(&dir)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .spawn()
        .expect("start kim-api");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut warned = false;
    let port = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            let message = entry["message"].as_str().unwrap_or_default();
            warned |= message.starts_with("DEVELOPMENT MODE");
            if message == "kim-api listening" {
                return entry["port"].as_u64();
            }
        }
        None
    })
    .await
    .expect("kim-api announced its port in time")
    .expect("kim-api announced its port");
    assert!(warned, "development mode is announced");

    let ready = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/health/ready"))
        .header("x-request-id", "startup-probe-1")
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status().as_u16(), 200);

    // The request is logged as one JSON line with its span's fields.
    let logged = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if entry["message"] == "request finished" {
                return Some(entry);
            }
        }
        None
    })
    .await
    .expect("the request was logged in time")
    .expect("the request was logged");
    let span = &logged["span"];
    assert_eq!(span["request_id"], "startup-probe-1", "{logged}");
    assert_eq!(span["route"], "/health/ready");
    assert_eq!(span["status"], 200);
    assert_eq!(span["method"], "GET");
    assert!(span["latency_ms"].as_f64().is_some(), "{logged}");
    assert!(dir.path().join("data/kim.db").exists());
    assert!(dir.path().join("data/dev-secrets.env").exists());
    child.kill().await.expect("stop kim-api");
}

#[tokio::test]
async fn create_admin_makes_the_first_gov_admin_from_stdin() {
    use tokio::io::AsyncWriteExt;
    let dir = TempDir::new().expect("dir");
    let run = |password: &'static str, username: &'static str| {
        let mut command = kim_api(&dir);
        command
            .args(["create-admin", "--username", username, "--password-stdin"])
            .stdin(Stdio::piped());
        let mut child = command.spawn().expect("start kim-api");
        let mut stdin = child.stdin.take().expect("stdin");
        async move {
            stdin
                .write_all(password.as_bytes())
                .await
                .expect("write password");
            drop(stdin);
            child.wait_with_output().await.expect("kim-api ends")
        }
    };
    let weak = run("password1234\n", "kepala.dinas").await;
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("too easy to guess"));

    let created = run("kopi-tubruk-di-metro-2026\n", "kepala.dinas").await;
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(
        stdout.contains("created gov_admin kepala.dinas"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("kopi-tubruk")
            && !String::from_utf8_lossy(&created.stderr).contains("kopi-tubruk")
    );

    let again = run("kopi-tubruk-di-metro-2026\n", "Kepala.Dinas").await;
    assert!(
        !again.status.success(),
        "usernames are unique regardless of case"
    );

    let missing_flag = kim_api(&dir)
        .args(["create-admin", "--username", "x"])
        .output()
        .await
        .expect("run");
    assert!(
        !missing_flag.status.success(),
        "--password-stdin is required"
    );
}
