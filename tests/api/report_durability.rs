//! An answered submission survives the service being killed: the real binary is killed
//! with SIGKILL right after its `201`, started again on the same database, and the
//! client's retry with the same `Idempotency-Key` answers that same report.

use std::process::Stdio;
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{TestDatabase, backends};
use crate::reports::report;

pub fn kim_api(dir: &TempDir, database: &TestDatabase) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kim-api"));
    command
        .env("KIM_DATA_DIR", dir.path())
        .env("DATABASE_URL", database.url())
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .env("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
        .env("WEBHOOK_TIMEOUT_MS", "2000")
        .env_remove("KIM_ENV")
        .env_remove("JWT_SECRET")
        .env_remove("NIK_ENCRYPTION_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Starts `kim-api serve` and answers it with its base URL.
pub async fn serve(dir: &TempDir, database: &TestDatabase) -> (Child, String) {
    let mut child = kim_api(dir, database).spawn().expect("start kim-api");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if entry["message"] == "kim-api listening" {
                return entry["port"].as_u64();
            }
        }
        None
    })
    .await
    .expect("kim-api announced its port in time")
    .expect("kim-api announced its port");
    (child, format!("http://127.0.0.1:{port}"))
}

/// Seeds one KIM with its demo accounts; answers their shared password.
pub async fn seed_one_kim(dir: &TempDir, database: &TestDatabase) -> String {
    let seeded = kim_api(dir, database)
        .args([
            "seed-demo",
            "--kims",
            "1",
            "--reports",
            "0",
            "--bulletins",
            "0",
        ])
        .output()
        .await
        .expect("seed-demo");
    let stdout = String::from_utf8_lossy(&seeded.stdout).into_owned();
    stdout
        .split("password ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .expect("the password is printed")
        .to_owned()
}

/// Signs `username` in at `base`; answers the access token.
pub async fn sign_in(base: &str, username: &str, password: &str) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("token");
    answer["access_token"].as_str().expect("token").to_owned()
}

async fn submit(base: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/reports"))
        .bearer_auth(token)
        .header("Idempotency-Key", "sebelum-mati-1")
        .json(&report("normal"))
        .send()
        .await
        .expect("send")
}

#[tokio::test]
async fn an_answered_submission_survives_a_killed_server_and_its_retry_answers_it() {
    for backend in backends() {
        let database = TestDatabase::create(backend);
        let dir = TempDir::new().expect("dir");
        let password = seed_one_kim(&dir, &database).await;
        let (mut first, base) = serve(&dir, &database).await;
        let token = sign_in(&base, "anggota.kim1", &password).await;
        let answered = submit(&base, &token).await;
        assert_eq!(answered.status().as_u16(), 201, "{backend:?}");
        let created: serde_json::Value = answered.json().await.expect("json");
        first.start_kill().expect("SIGKILL");
        first.wait().await.expect("killed");

        let (_second, base) = serve(&dir, &database).await;
        let retried = submit(&base, &token).await;
        assert_eq!(retried.status().as_u16(), 201, "{backend:?}");
        assert_eq!(retried.headers()["idempotent-replayed"], "true");
        let again: serde_json::Value = retried.json().await.expect("json");
        assert_eq!(again["id"], created["id"]);
        assert_eq!(again["tracking_code"], created["tracking_code"]);
        let listed: serde_json::Value = reqwest::Client::new()
            .get(format!("{base}/api/v1/reports"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        assert_eq!(
            listed["data"].as_array().map(Vec::len),
            Some(1),
            "{backend:?}"
        );
    }
}
