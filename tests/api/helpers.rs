//! The test harness: the real server on a random port against a fresh database.
//!
//! Every test runs on a new SQLite file, and again on a new PostgreSQL database when
//! `KIM_TEST_PG_URL` names a server (each test gets its own database, dropped after).

use diesel::{Connection, PgConnection, RunQueryDsl};
use kim_api::config::{ConfigArgs, LogFormat, Mode, Settings};
use kim_api::db::Db;
use kim_api::startup::Application;
use tempfile::TempDir;

pub const PG_URL_VAR: &str = "KIM_TEST_PG_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends this run tests: SQLite always, PostgreSQL when configured.
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if std::env::var(PG_URL_VAR).is_ok_and(|url| !url.is_empty()) {
        backends.push(Backend::Postgres);
    }
    backends
}

/// Runs `test` once per configured backend, each time against a new app.
pub async fn on_each_backend<F>(test: F)
where
    F: AsyncFn(TestApp),
{
    for backend in backends() {
        eprintln!("--- running on {backend:?}");
        test(spawn_app(backend).await).await;
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database: TestDatabase,
    pub db: Db,
    /// Keeps the app's data directory alive as long as the app.
    _data_dir: TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path} failed: {error}"))
    }
}

/// A fresh database: a file in a temporary directory, or a PostgreSQL database that is
/// dropped with this value.
pub enum TestDatabase {
    Sqlite { dir: TempDir },
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => TestDatabase::Sqlite {
                dir: TempDir::new().expect("temporary directory"),
            },
            Backend::Postgres => {
                let admin_url = std::env::var(PG_URL_VAR).expect("KIM_TEST_PG_URL");
                let name = format!("kim_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin_url)
                    .unwrap_or_else(|error| panic!("cannot reach {PG_URL_VAR}: {error}"));
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                TestDatabase::Postgres { admin_url, name }
            }
        }
    }

    pub fn url(&self) -> String {
        match self {
            TestDatabase::Sqlite { dir } => {
                dir.path().join("kim.db").to_string_lossy().into_owned()
            }
            TestDatabase::Postgres { admin_url, name } => with_database_name(admin_url, name),
        }
    }

    /// Makes the database disappear under a running app.
    pub fn destroy(&self) {
        match self {
            TestDatabase::Sqlite { dir } => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(dir.path().join(format!("kim.db{suffix}")));
                }
            }
            TestDatabase::Postgres { admin_url, name } => drop_pg_database(admin_url, name),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            drop_pg_database(admin_url, name);
        }
    }
}

fn drop_pg_database(admin_url: &str, name: &str) {
    if let Ok(mut conn) = PgConnection::establish(admin_url) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn);
    }
}

/// `postgres://user@host:port/db?x` with `db` replaced by `name`.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// Settings as a test wants them: ephemeral port, one worker, the given database.
pub fn test_config(data_dir: &std::path::Path, database_url: String) -> ConfigArgs {
    ConfigArgs {
        mode: Mode::Development,
        data_dir: data_dir.to_owned(),
        database_url: Some(database_url),
        bind_addr: "127.0.0.1:0".parse().expect("address"),
        jwt_secret: Some("test-secret-that-is-long-enough-for-hs256".into()),
        jwt_issuer: "kim-api".into(),
        jwt_audience: "kim-api".into(),
        jwt_signing_key_file: None,
        jwt_signing_algorithm: kim_api::config::AsymmetricAlgorithm::EdDsa,
        jwt_key_id: "kim-api-1".into(),
        access_token_ttl_secs: 900,
        refresh_token_ttl_days: 30,
        trust_forwarded_for: false,
        nik_encryption_key: Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
        storage_dir: None,
        log_format: LogFormat::Pretty,
        cors_origins: vec![],
        db_pool_size: 4,
        db_pool_timeout_ms: 5000,
        http_workers: Some(1),
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with the configuration adjusted first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut ConfigArgs)) -> TestApp {
    let database = TestDatabase::create(backend);
    let data_dir = TempDir::new().expect("temporary directory");
    let mut config = test_config(data_dir.path(), database.url());
    adjust(&mut config);
    let settings = Settings::from_args(config).expect("test settings are valid");
    let app = Application::build(&settings)
        .await
        .unwrap_or_else(|error| panic!("the app did not start on {backend:?}: {error}"));
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client"),
        database,
        db,
        _data_dir: data_dir,
    }
}

/// Reads a problem+json answer, checking its content type and status.
pub async fn problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    body
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database_name("postgres://postgres@127.0.0.1:5432/ci", "t1"),
        "postgres://postgres@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database_name("postgres://u@h/ci?sslmode=disable", "t1"),
        "postgres://u@h/t1?sslmode=disable"
    );
    assert_eq!(
        with_database_name("postgres://u@h", "t1"),
        "postgres://u@h/t1"
    );
}
