//! The test harness: the real server on a random port against a fresh database.
//!
//! Every test runs on a new SQLite file, and again on a new PostgreSQL database when
//! `KIM_TEST_PG_URL` names a server (each test gets its own database, dropped after).

mod town;

pub use town::{Town, town};

use diesel::{Connection, PgConnection, RunQueryDsl};
use kim_api::config::{ConfigArgs, LogFormat, Mode, Settings};
use kim_api::db::Db;
use kim_api::startup::Application;
use tempfile::TempDir;

pub const PG_URL_VAR: &str = "KIM_TEST_PG_URL";
/// An S3 bucket (endpoint and credentials in the `AWS_*` variables): when set, the
/// PostgreSQL runs keep their files there, each app under a prefix of its own, while
/// the SQLite runs keep them on the filesystem; both stores are tested in one run.
pub const S3_BUCKET_VAR: &str = "KIM_TEST_S3_BUCKET";

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

/// Like [`on_each_backend`], with each app's configuration adjusted first.
pub async fn on_each_backend_with<F>(adjust: impl Fn(&mut ConfigArgs), mut test: F)
where
    F: AsyncFnMut(TestApp),
{
    for backend in backends() {
        eprintln!("--- running on {backend:?}");
        test(spawn_app_with(backend, &adjust).await).await;
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database: TestDatabase,
    pub db: Db,
    /// The app's attachment store, opened as the app opened it, to look inside.
    pub storage: kim_api::attachments::Storage,
    /// `STORAGE_URL` of the app: `None` for the filesystem under its data directory.
    pub storage_url: Option<String>,
    /// Keeps the app's data directory alive as long as the app.
    _data_dir: TempDir,
}

impl TestApp {
    /// Moves the service's clock forward by `by`, for this app and every instance in
    /// this test: what happens after a while is tested without waiting for it.
    pub fn advance_clock(&self, by: chrono::Duration) {
        kim_api::clock::advance(by);
    }

    /// Puts the service's clock at `at`.
    pub fn set_clock(&self, at: chrono::DateTime<chrono::Utc>) {
        kim_api::clock::set(at);
    }

    /// Stops the service's clock at `at`, for durations exact to the second.
    pub fn freeze_clock(&self, at: chrono::DateTime<chrono::Utc>) {
        kim_api::clock::freeze(at);
    }

    /// `user` signed in anew: after the clock moved past its access token's lifetime.
    pub async fn signed_in_again(&self, user: &TestUser) -> TestUser {
        let password = if user.username == ADMIN_USERNAME {
            ADMIN_PASSWORD
        } else {
            USER_PASSWORD
        };
        TestUser {
            id: user.id,
            username: user.username.clone(),
            session: self.session(&user.username, password).await,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// The app's `KIM_DATA_DIR`.
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
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
    Sqlite {
        dir: TempDir,
    },
    /// Another instance's database, owned (and dropped) by that instance.
    Shared,
    Postgres {
        admin_url: String,
        name: String,
    },
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
            TestDatabase::Shared => String::new(),
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
            TestDatabase::Shared => {}
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
        public_base_url: None,
        jwt_secret: Some("test-secret-that-is-long-enough-for-hs256".into()),
        jwt_issuer: "kim-api".into(),
        jwt_audience: "kim-api".into(),
        jwt_signing_key_file: None,
        jwt_signing_algorithm: kim_api::config::AsymmetricAlgorithm::EdDsa,
        jwt_key_id: "kim-api-1".into(),
        access_token_ttl_secs: 900,
        refresh_token_ttl_days: 30,
        trusted_proxies: vec![],
        auth_recheck_secs: 5,
        list_cache_mb: 32,
        metrics_token: None,
        nik_encryption_key: Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
        storage_dir: None,
        storage_url: None,
        log_format: LogFormat::Pretty,
        cors_origins: vec![],
        db_pool_size: 4,
        db_pool_timeout_ms: 5000,
        http_workers: Some(1),
        cap_sender: Some("kim@metrokota.example.id".into()),
        cap_sender_name: "Pemerintah Kota Metro".into(),
        track_rate_per_minute: 30,
        // Tests make hundreds of requests from one address; the rate-limit tests lower these.
        rate_limit_anonymous_per_minute: 1_000_000,
        rate_limit_account_per_minute: 1_000_000,
        rate_limit_client_per_minute: 1_000_000,
        body_read_timeout_secs: 30,
        shutdown_grace_secs: 5,
        webhook_allow_private_targets: true,
        webhook_timeout_ms: 2_000,
        webhook_retry_delay_ms: 50,
        webhook_retry_window_secs: 60,
        // Fixed, so that instances on one database sign pushes with one key.
        vapid_private_key: Some("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA".into()),
        vapid_subject: Some("mailto:ops@kim.example.id".into()),
        smtp_url: None,
        mail_from: "KIM Kota Metro <kim@metrokota.example.id>".into(),
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with the configuration adjusted first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut ConfigArgs)) -> TestApp {
    // Each app starts on the system's time, whatever an earlier one in this process did.
    kim_api::clock::reset();
    let database = TestDatabase::create(backend);
    let data_dir = TempDir::new().expect("temporary directory");
    let mut config = test_config(data_dir.path(), database.url());
    config.storage_url = test_storage_url(backend);
    adjust(&mut config);
    let settings = Settings::from_args(config).expect("test settings are valid");
    let app = Application::build(&settings)
        .await
        .unwrap_or_else(|error| panic!("the app did not start on {backend:?}: {error}"));
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    let storage =
        kim_api::attachments::Storage::open(&settings.storage_dir, settings.storage_url.as_deref())
            .expect("the app's store opens");
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client"),
        database,
        db,
        storage,
        storage_url: settings.storage_url.clone(),
        _data_dir: data_dir,
    }
}

/// Where a new app keeps its files: a fresh prefix of the test bucket for PostgreSQL
/// runs when one is configured, else the filesystem.
pub fn test_storage_url(backend: Backend) -> Option<String> {
    let bucket = std::env::var(S3_BUCKET_VAR)
        .ok()
        .filter(|b| !b.is_empty())?;
    (backend == Backend::Postgres).then(|| format!("s3://{bucket}/t-{}", uuid::Uuid::new_v4()))
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

pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "kopi-tubruk-di-metro-2026";
pub const USER_PASSWORD: &str = "gula-aren-dan-kelapa-muda";

/// What a sign-in gives back.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: Option<String>,
}

/// An account made for a test, with its session.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub username: String,
    pub session: Session,
}

/// The bearer token of `user`'s session.
pub fn token(user: &TestUser) -> &str {
    &user.session.access_token
}

impl TestApp {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self.client.request(method.clone(), self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{method} {path} failed: {error}"))
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.send(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    pub async fn post_as(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.send(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch_as(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.send(reqwest::Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// `POST /api/v1/auth/token` with a form body, as OAuth clients send it.
    pub async fn token_request(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/token"))
            .form(form)
            .send()
            .await
            .expect("token request")
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.token_request(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .await
    }

    pub async fn session(&self, username: &str, password: &str) -> Session {
        let response = self.login(username, password).await;
        assert_eq!(response.status().as_u16(), 200, "sign-in of {username}");
        session_of(response).await
    }

    /// A `proposed` KIM in Metro Pusat, straight into the database, for tests about
    /// something else (the KIM tests go through the API).
    pub async fn create_kim(&self, name: &str) -> i64 {
        self.create_kim_at(name, "18.72.01.1001", "proposed").await
    }

    /// A KIM in kelurahan `kelurahan_code` with `status`, straight into the database.
    pub async fn create_kim_at(&self, name: &str, kelurahan_code: &str, status: &str) -> i64 {
        use diesel::prelude::*;
        use kim_api::db::schema::kims;
        let name = name.to_owned();
        let kelurahan = kelurahan_code.to_owned();
        let kecamatan = kelurahan_code[..8].to_owned();
        let status = status.to_owned();
        self.db
            .write(move |conn| {
                let code = kim_api::kims::model::next_registration_code(conn, &kelurahan)?;
                Ok(diesel::insert_into(kims::table)
                    .values((
                        kims::registration_code.eq(code),
                        kims::name_key.eq(name.to_lowercase()),
                        kims::name.eq(name),
                        kims::kelurahan_code.eq(kelurahan),
                        kims::kecamatan_code.eq(kecamatan),
                        kims::area_type.eq("urban"),
                        kims::status.eq(status),
                    ))
                    .returning(kims::id)
                    .get_result::<i64>(conn)?)
            })
            .await
            .expect("insert KIM")
    }

    /// The first gov_admin, created as `kim-api create-admin` does (from a process of
    /// its own, with its own connection: the server's are kept by its database
    /// threads), signed in.
    pub async fn bootstrap_admin(&self) -> TestUser {
        let url = self.database.url();
        let user = tokio::task::spawn_blocking(move || {
            let settings = kim_api::db::PoolSettings {
                max_size: 1,
                connection_timeout: std::time::Duration::from_secs(5),
            };
            let db = kim_api::db::Db::connect(&url, settings).expect("the command's database");
            kim_api::sessions::create_admin(
                &db,
                ADMIN_USERNAME,
                secrecy::SecretString::from(ADMIN_PASSWORD.to_owned()),
            )
        })
        .await
        .expect("task")
        .expect("create admin");
        TestUser {
            id: user.id,
            username: user.username,
            session: self.session(ADMIN_USERNAME, ADMIN_PASSWORD).await,
        }
    }

    /// A new account with `role` (and KIM), created by `admin`, signed in.
    pub async fn user(&self, admin: &TestUser, role: &str, kim_id: Option<i64>) -> TestUser {
        let username = format!("{role}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let mut body =
            serde_json::json!({"username": username, "password": USER_PASSWORD, "role": role});
        if let Some(kim_id) = kim_id {
            body["kim_id"] = kim_id.into();
        }
        let response = self
            .post_as("/api/v1/users", &admin.session.access_token, &body)
            .await;
        assert_eq!(response.status().as_u16(), 201, "create {role}");
        let created: serde_json::Value = response.json().await.expect("json");
        TestUser {
            id: created["id"].as_i64().expect("id"),
            session: self.session(&username, USER_PASSWORD).await,
            username,
        }
    }

    /// An integration client with `scopes`; returns (client_id, client_secret, record id).
    pub async fn integration_client(
        &self,
        admin: &TestUser,
        scopes: &[&str],
    ) -> (String, String, i64) {
        let body = serde_json::json!({"name": "Test connector", "scopes": scopes});
        let response = self
            .post_as(
                "/api/v1/integration-clients",
                &admin.session.access_token,
                &body,
            )
            .await;
        assert_eq!(response.status().as_u16(), 201);
        let created: serde_json::Value = response.json().await.expect("json");
        (
            created["client_id"].as_str().expect("client_id").to_owned(),
            created["client_secret"]
                .as_str()
                .expect("secret")
                .to_owned(),
            created["id"].as_i64().expect("id"),
        )
    }

    pub async fn client_token(&self, client_id: &str, secret: &str) -> String {
        let response = self
            .token_request(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
            ])
            .await;
        assert_eq!(response.status().as_u16(), 200);
        session_of(response).await.access_token
    }
}

pub async fn session_of(response: reqwest::Response) -> Session {
    let body: serde_json::Value = response.json().await.expect("token JSON");
    Session {
        access_token: body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        refresh_token: body["refresh_token"].as_str().map(str::to_owned),
    }
}

/// A second instance of the service on `app`'s database, as a second process on
/// another host would be: a data directory of its own, the same object store if `app`
/// uses one.
pub async fn spawn_instance(app: &TestApp, adjust: impl FnOnce(&mut ConfigArgs)) -> TestApp {
    let data_dir = TempDir::new().expect("temporary directory");
    let mut config = test_config(data_dir.path(), app.database.url());
    config.storage_url = app.storage_url.clone();
    adjust(&mut config);
    let settings = Settings::from_args(config).expect("settings");
    let instance = Application::build(&settings)
        .await
        .expect("second instance starts");
    let address = format!("http://127.0.0.1:{}", instance.port());
    let db = instance.db().clone();
    let storage =
        kim_api::attachments::Storage::open(&settings.storage_dir, settings.storage_url.as_deref())
            .expect("the instance's store opens");
    tokio::spawn(instance.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        database: TestDatabase::Shared,
        db,
        storage,
        storage_url: settings.storage_url.clone(),
        _data_dir: data_dir,
    }
}

impl TestApp {
    /// Returns once the webhook dispatcher has fanned out every outbox event, so that
    /// it writes nothing more until the next change (polled: nothing to await), for at
    /// most 10 s.
    pub async fn outbox_settled(&self) {
        for _ in 0..1000 {
            let backlog = self
                .db
                .read(kim_api::webhooks::dispatcher::backlog)
                .await
                .expect("backlog");
            if backlog.unpublished_events == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the outbox was not fanned out within 10 s");
    }
}

/// The tests' own address, as a trusted proxy: their `X-Forwarded-For` is believed.
pub fn loopback() -> ipnet::IpNet {
    "127.0.0.1/32".parse().expect("CIDR")
}

/// PostgreSQL checks a waiting session for a deadlock once, `deadlock_timeout` after it
/// starts waiting. For a test to know which side loses, the app's sessions check after
/// 3 s (time for the test's holder to close the cycle however loaded the machine, and
/// within the pool's 5 s `lock_timeout`) and the holder from [`deadlock_holder`] never
/// checks first.
pub async fn spawn_app_for_deadlocks() -> TestApp {
    spawn_app_with(Backend::Postgres, |config| {
        config.database_url = config.database_url.take().map(|url| {
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}options=-c%20deadlock_timeout%3D3s")
        });
    })
    .await
}

/// A session that, once in a deadlock with a request, leaves the check to the request.
pub fn deadlock_holder(url: &str) -> diesel::PgConnection {
    use diesel::connection::SimpleConnection;
    let mut holder = <diesel::PgConnection as diesel::Connection>::establish(url).expect("connect");
    holder
        .batch_execute("SET deadlock_timeout = '10min'")
        .expect("deadlock_timeout");
    holder
}

/// Returns once a session of the database waits on a lock (polled: there is nothing
/// to await), for at most 10 s.
pub async fn wait_for_lock_waiter(url: &str) {
    use diesel::sql_types::BigInt;
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = BigInt)]
        waiting: i64,
    }
    let mut conn = <diesel::PgConnection as diesel::Connection>::establish(url).expect("connect");
    for _ in 0..1000 {
        let row: Waiting = diesel::sql_query(
            "SELECT count(*) AS waiting FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .get_result(&mut conn)
        .expect("pg_stat_activity");
        if row.waiting > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no session waits on a lock");
}
