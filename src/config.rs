//! Typed settings, read once from the environment (and an optional `.env`) in `main`
//! and handed to [`crate::startup`]; tests build their own.
//!
//! Secrets are wrapped in `secrecy` types so they never reach a log through `Debug`.

use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::crypto::NIK_KEY_BYTES;
use crate::db::PoolSettings;

pub const MIN_JWT_SECRET_BYTES: usize = 32;
const DEV_SECRETS_FILE: &str = "dev-secrets.env";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AsymmetricAlgorithm {
    #[value(name = "eddsa", alias = "EdDSA")]
    EdDsa,
    #[value(name = "rs256", alias = "RS256")]
    Rs256,
}

/// How access tokens are signed.
#[derive(Debug)]
pub enum SigningConfig {
    Hmac,
    Asymmetric {
        algorithm: AsymmetricAlgorithm,
        private_key_pem: SecretBox<Vec<u8>>,
        key_id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// What the environment (or the command line) says, before defaults and checks.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// `development` (generated secrets, loud warning) or `production` (real secrets required).
    #[arg(long, env = "KIM_ENV", value_enum, default_value = "development")]
    pub mode: Mode,
    /// Where generated development secrets and the default SQLite database live.
    #[arg(long, env = "KIM_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; an SQLite file path (or `sqlite://path`) otherwise.
    /// Default: `<KIM_DATA_DIR>/kim.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind_addr: SocketAddr,
    /// The address clients reach the service at (`https://kim.metrokota.go.id`), for
    /// absolute links (the Atom feed). Required in production; in development the
    /// bound address. Never taken from request headers, which anyone can forge.
    #[arg(long, env = "PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    /// HMAC key for access tokens, at least 32 bytes.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Issuer (`iss`) of access tokens.
    #[arg(long, env = "JWT_ISSUER", default_value = "kim-api")]
    pub jwt_issuer: String,
    /// Audience (`aud`) of access tokens.
    #[arg(long, env = "JWT_AUDIENCE", default_value = "kim-api")]
    pub jwt_audience: String,
    /// Sign tokens with this private key (PKCS#8 PEM) instead of `JWT_SECRET`;
    /// its public key is published at `/.well-known/jwks.json`.
    #[arg(long, env = "JWT_SIGNING_KEY_FILE")]
    pub jwt_signing_key_file: Option<PathBuf>,
    /// Algorithm of `JWT_SIGNING_KEY_FILE`.
    #[arg(
        long,
        env = "JWT_SIGNING_ALGORITHM",
        value_enum,
        default_value = "eddsa"
    )]
    pub jwt_signing_algorithm: AsymmetricAlgorithm,
    /// `kid` of `JWT_SIGNING_KEY_FILE` in token headers and the JWKS.
    #[arg(long, env = "JWT_KEY_ID", default_value = "kim-api-1")]
    pub jwt_key_id: String,
    /// Access-token lifetime in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(30..=86_400))]
    pub access_token_ttl_secs: u64,
    /// Refresh-token lifetime in days (each rotation starts a new one).
    #[arg(long, env = "REFRESH_TOKEN_TTL_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=365))]
    pub refresh_token_ttl_days: u64,
    /// Reverse proxies (addresses or CIDR blocks, comma-separated) whose
    /// `X-Forwarded-For` is believed: the client address, for sign-in throttling and the
    /// audit log, is the rightmost hop that is not one of them. None by default.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// When set, `/metrics` answers only requests that send it as a bearer token.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Seconds a token's holder and session are trusted before the database is asked
    /// again whether it was disabled, changed or signed out (other instances' changes).
    #[arg(long, env = "AUTH_RECHECK_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=300))]
    pub auth_recheck_secs: u64,
    /// Megabytes of answered list pages each instance keeps while their rows are
    /// unchanged (see `page_cache.rs`); 0 turns the cache off.
    #[arg(long, env = "LIST_CACHE_MB", default_value_t = 32, value_parser = clap::value_parser!(u64).range(0..=4096))]
    pub list_cache_mb: u64,
    /// 32 random bytes in base64, used to encrypt personal data at rest.
    #[arg(long, env = "NIK_ENCRYPTION_KEY", hide_env_values = true)]
    pub nik_encryption_key: Option<String>,
    /// Where uploaded files are kept. Default: `<KIM_DATA_DIR>/storage`.
    #[arg(long, env = "STORAGE_DIR")]
    pub storage_dir: Option<PathBuf>,
    /// Keep files in an S3-compatible store instead: `s3://bucket` or
    /// `s3://bucket/prefix`; endpoint, region and credentials from `AWS_ENDPOINT_URL`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (`AWS_ALLOW_HTTP=true`
    /// for a plain-HTTP endpoint). `STORAGE_DIR` then only holds uploads arriving.
    #[arg(long, env = "STORAGE_URL")]
    pub storage_url: Option<String>,
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
    /// Browser origins allowed by CORS, comma-separated; none by default.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',', default_value = "")]
    pub cors_origins: Vec<String>,
    /// Database connections per pool (PostgreSQL: the pool; SQLite: readers beside one writer).
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=512))]
    pub db_pool_size: u32,
    /// How long a request waits for a free database connection before a 503.
    #[arg(long, env = "DB_POOL_TIMEOUT_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub db_pool_timeout_ms: u64,
    /// HTTP worker threads; default: one per core.
    #[arg(long, env = "HTTP_WORKERS")]
    pub http_workers: Option<usize>,
    /// CAP `sender` of the alerts urgent bulletins are published as: an address of the
    /// Pemda (no spaces, commas, `<` or `&`). Default: `kim-api@` and the host of
    /// PUBLIC_BASE_URL (of the bound address in development).
    #[arg(long, env = "CAP_SENDER")]
    pub cap_sender: Option<String>,
    /// CAP `senderName` of those alerts.
    #[arg(long, env = "CAP_SENDER_NAME", default_value = "Pemerintah Kota Metro")]
    pub cap_sender_name: String,
    /// How long reading one request body may take before the answer is 408 and the
    /// connection closes (a client that announces a body and trickles it holds a worker).
    #[arg(long, env = "BODY_READ_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_read_timeout_secs: u64,
    /// On SIGTERM, how long requests in flight and background work may take to finish
    /// before the process gives back its leases and exits. Keep it below the time the
    /// supervisor waits before SIGKILL (30 s for Kubernetes and systemd by default).
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 25, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub shutdown_grace_secs: u64,
    /// Tracking-code lookups (`/reports/track/{code}`) one client address may make per
    /// minute, on each instance.
    #[arg(long, env = "TRACK_RATE_PER_MINUTE", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub track_rate_per_minute: u32,
    /// Requests one anonymous client address may make per minute, on each instance (all
    /// at once if it likes). Keep it generous: mobile carriers put many citizens behind
    /// one address.
    #[arg(long, env = "RATE_LIMIT_ANONYMOUS_PER_MINUTE", default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..=RATE_LIMIT_MAX))]
    pub rate_limit_anonymous_per_minute: u32,
    /// Requests one signed-in account may make per minute, on each instance.
    #[arg(long, env = "RATE_LIMIT_ACCOUNT_PER_MINUTE", default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..=RATE_LIMIT_MAX))]
    pub rate_limit_account_per_minute: u32,
    /// Requests one integration client may make per minute, on each instance.
    #[arg(long, env = "RATE_LIMIT_CLIENT_PER_MINUTE", default_value_t = 1200, value_parser = clap::value_parser!(u32).range(1..=RATE_LIMIT_MAX))]
    pub rate_limit_client_per_minute: u32,
    /// Lets webhooks target loopback, link-local and private addresses (and plain
    /// `http`): for development and tests only.
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE_TARGETS", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private_targets: bool,
    /// How long one webhook delivery may take, connecting and answering included.
    #[arg(long, env = "WEBHOOK_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=120_000))]
    pub webhook_timeout_ms: u64,
    /// The wait after a failed delivery's first attempt; it doubles with each failure
    /// (at most an hour, with jitter).
    #[arg(long, env = "WEBHOOK_RETRY_DELAY_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub webhook_retry_delay_ms: u64,
    /// How long a failing delivery is retried before it fails and its subscription is
    /// marked `failing`.
    #[arg(long, env = "WEBHOOK_RETRY_WINDOW_SECS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub webhook_retry_window_secs: u64,
    /// The VAPID private key of Web Push (RFC 8292): the P-256 private scalar, 32 bytes
    /// in unpadded base64url (what `web-push generate-vapid-keys` prints). Without it,
    /// development generates one in the data directory and production sends no push.
    #[arg(long, env = "VAPID_PRIVATE_KEY", hide_env_values = true)]
    pub vapid_private_key: Option<String>,
    /// Who push services may contact about this sender: a `mailto:` or `https:` URI.
    #[arg(long, env = "VAPID_SUBJECT")]
    pub vapid_subject: Option<String>,
    /// Where mail to citizens goes: `smtps://user:pass@host:465`, or
    /// `smtp://host:587?tls=required`; plain `smtp://` only to a relay on loopback in
    /// production. Without it, mail waits in the outbox until one is configured.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of mail to citizens, e.g. `KIM Kota Metro <kim@metrokota.go.id>`.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "KIM Kota Metro <kim-api@localhost>"
    )]
    pub mail_from: String,
}

/// The largest `RATE_LIMIT_*_PER_MINUTE`: high enough to mean "no limit" for benchmarks.
pub const RATE_LIMIT_MAX: i64 = 10_000_000;

/// Requests per minute each class of caller may make, on each instance.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub anonymous_per_minute: std::num::NonZeroU32,
    pub account_per_minute: std::num::NonZeroU32,
    pub client_per_minute: std::num::NonZeroU32,
}

fn per_minute(requests: u32) -> std::num::NonZeroU32 {
    std::num::NonZeroU32::new(requests).unwrap_or(std::num::NonZeroU32::MIN)
}

/// Checked settings the service runs with.
#[derive(Debug)]
pub struct Settings {
    pub mode: Mode,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub bind_addr: SocketAddr,
    /// Configured base of absolute links, without a trailing slash.
    pub public_base_url: Option<String>,
    pub jwt_secret: SecretString,
    pub nik_encryption_key: SecretBox<[u8; NIK_KEY_BYTES]>,
    pub signing: SigningConfig,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub auth_recheck: Duration,
    pub list_cache_bytes: usize,
    pub metrics_token: Option<SecretString>,
    pub storage_dir: PathBuf,
    pub storage_url: Option<String>,
    pub log_format: LogFormat,
    pub cors_origins: Vec<String>,
    pub db_pool: PoolSettings,
    pub http_workers: Option<usize>,
    pub cap_sender: Option<String>,
    pub cap_sender_name: String,
    pub track_rate_per_minute: std::num::NonZeroU32,
    pub rate_limits: RateLimits,
    pub body_read_timeout: Duration,
    pub shutdown_grace: Duration,
    pub webhook_delivery: DeliverySettings,
    /// Web Push, when a VAPID key is configured (or generated in development).
    pub vapid: Option<VapidSettings>,
    /// Mail to citizens, when an SMTP relay is configured.
    pub mail: Option<MailSettings>,
    /// True when the secrets were generated for development rather than configured.
    pub uses_generated_secrets: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("KIM_ENV=production needs {0}; refusing to start with a generated development secret")]
    MissingProductionSecret(&'static str),
    #[error("JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes long")]
    WeakJwtSecret,
    #[error("NIK_ENCRYPTION_KEY must be {NIK_KEY_BYTES} random bytes encoded in base64")]
    BadNikKey,
    #[error("KIM_ENV=production needs DATABASE_URL to be set explicitly")]
    MissingProductionDatabase,
    #[error(
        "KIM_ENV=production needs PUBLIC_BASE_URL (https://host[:port][/path]), the address clients reach the service at"
    )]
    MissingPublicBaseUrl,
    #[error(
        "PUBLIC_BASE_URL {0:?} must be an absolute http(s) URL without query, fragment or credentials"
    )]
    BadPublicBaseUrl(String),
    #[error("CAP_SENDER {0:?} must not be empty nor hold spaces, commas, `<` or `&` (CAP 1.2)")]
    BadCapSender(String),
    #[error("CORS origin {0:?} is not a valid origin (scheme://host[:port])")]
    BadCorsOrigin(String),
    #[error("cannot use the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read JWT_SIGNING_KEY_FILE {path}: {source}")]
    SigningKey {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the development secrets file {0} is damaged; delete it to generate new secrets")]
    DamagedDevSecrets(PathBuf),
    #[error("VAPID_PRIVATE_KEY must be a P-256 private key: 32 bytes in unpadded base64url")]
    BadVapidKey,
    #[error("VAPID_SUBJECT must be a mailto: or https: URI")]
    BadVapidSubject,
    #[error(
        "SMTP_URL must be smtps://…, or smtp://…?tls=required; plain smtp:// only to a relay on loopback in production"
    )]
    BadSmtpUrl,
    #[error("MAIL_FROM must be a mailbox such as `KIM Kota Metro <kim@metrokota.go.id>`")]
    BadMailFrom,
}

impl Settings {
    pub fn from_args(args: ConfigArgs) -> Result<Self, ConfigError> {
        let production = args.mode == Mode::Production;
        if production {
            if args.jwt_secret.is_none() && args.jwt_signing_key_file.is_none() {
                return Err(ConfigError::MissingProductionSecret("JWT_SECRET"));
            }
            if args.nik_encryption_key.is_none() {
                return Err(ConfigError::MissingProductionSecret("NIK_ENCRYPTION_KEY"));
            }
            if args.database_url.is_none() {
                return Err(ConfigError::MissingProductionDatabase);
            }
            if args.public_base_url.is_none() {
                return Err(ConfigError::MissingPublicBaseUrl);
            }
        }
        let vapid = vapid_settings(&args)?;
        let mail = mail_settings(&args)?;
        let cors_origins = parse_cors_origins(args.cors_origins)?;
        let public_base_url = args
            .public_base_url
            .as_deref()
            .map(parse_public_base_url)
            .transpose()?;

        let signing = match &args.jwt_signing_key_file {
            None => SigningConfig::Hmac,
            Some(path) => SigningConfig::Asymmetric {
                algorithm: args.jwt_signing_algorithm,
                private_key_pem: SecretBox::new(Box::new(fs::read(path).map_err(|source| {
                    ConfigError::SigningKey {
                        path: path.clone(),
                        source,
                    }
                })?)),
                key_id: args.jwt_key_id.clone(),
            },
        };
        let needs_jwt_secret = matches!(signing, SigningConfig::Hmac);
        let uses_generated_secrets =
            (needs_jwt_secret && args.jwt_secret.is_none()) || args.nik_encryption_key.is_none();
        let dev_secrets = if uses_generated_secrets {
            DevSecrets::load_or_create(&args.data_dir)?
        } else {
            DevSecrets::default()
        };
        let jwt_secret = args.jwt_secret.unwrap_or(dev_secrets.jwt_secret);
        if needs_jwt_secret && jwt_secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError::WeakJwtSecret);
        }
        let nik_key_text = args
            .nik_encryption_key
            .unwrap_or(dev_secrets.nik_encryption_key);
        let nik_encryption_key = decode_nik_key(&nik_key_text)?;

        let database_url = args
            .database_url
            .unwrap_or_else(|| args.data_dir.join("kim.db").to_string_lossy().into_owned());
        let storage_dir = args
            .storage_dir
            .unwrap_or_else(|| args.data_dir.join("storage"));

        Ok(Settings {
            mode: args.mode,
            data_dir: args.data_dir,
            database_url,
            bind_addr: args.bind_addr,
            public_base_url,
            jwt_secret: SecretString::from(jwt_secret),
            nik_encryption_key: SecretBox::new(Box::new(nik_encryption_key)),
            signing,
            jwt_issuer: args.jwt_issuer,
            jwt_audience: args.jwt_audience,
            access_token_ttl: Duration::from_secs(args.access_token_ttl_secs),
            refresh_token_ttl: Duration::from_secs(args.refresh_token_ttl_days * 86_400),
            trusted_proxies: args.trusted_proxies,
            auth_recheck: Duration::from_secs(args.auth_recheck_secs),
            list_cache_bytes: usize::try_from(args.list_cache_mb << 20).unwrap_or(usize::MAX),
            metrics_token: args.metrics_token.map(SecretString::from),
            storage_dir,
            storage_url: args.storage_url,
            log_format: args.log_format,
            cors_origins,
            db_pool: PoolSettings {
                max_size: args.db_pool_size,
                connection_timeout: Duration::from_millis(args.db_pool_timeout_ms),
            },
            http_workers: args.http_workers,
            cap_sender: args.cap_sender.map(check_cap_sender).transpose()?,
            cap_sender_name: args.cap_sender_name,
            body_read_timeout: Duration::from_secs(args.body_read_timeout_secs),
            shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
            track_rate_per_minute: per_minute(args.track_rate_per_minute),
            rate_limits: RateLimits {
                anonymous_per_minute: per_minute(args.rate_limit_anonymous_per_minute),
                account_per_minute: per_minute(args.rate_limit_account_per_minute),
                client_per_minute: per_minute(args.rate_limit_client_per_minute),
            },
            webhook_delivery: DeliverySettings {
                timeout: Duration::from_millis(args.webhook_timeout_ms),
                first_retry: Duration::from_millis(args.webhook_retry_delay_ms),
                retry_window: Duration::from_secs(args.webhook_retry_window_secs),
                allow_private: args.webhook_allow_private_targets,
            },
            vapid,
            mail,
            uses_generated_secrets,
        })
    }

    pub fn jwt_secret_bytes(&self) -> &[u8] {
        self.jwt_secret.expose_secret().as_bytes()
    }
}

/// `10.0.0.0/8` or a single address (`10.0.0.7`, `::1`).
fn parse_proxy(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))
}

fn decode_nik_key(text: &str) -> Result<[u8; NIK_KEY_BYTES], ConfigError> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|_| ConfigError::BadNikKey)?;
    bytes.try_into().map_err(|_| ConfigError::BadNikKey)
}

/// CAP 1.2 §3.2.1: a sender has no spaces, commas or restricted characters.
fn check_cap_sender(text: String) -> Result<String, ConfigError> {
    let usable = !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '<' | '&'));
    if usable {
        Ok(text)
    } else {
        Err(ConfigError::BadCapSender(text))
    }
}

fn parse_public_base_url(text: &str) -> Result<String, ConfigError> {
    let bad = || ConfigError::BadPublicBaseUrl(text.to_owned());
    let url = url::Url::parse(text.trim()).map_err(|_| bad())?;
    let acceptable = matches!(url.scheme(), "https" | "http")
        && url.host().is_some()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !acceptable {
        return Err(bad());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn parse_cors_origins(origins: Vec<String>) -> Result<Vec<String>, ConfigError> {
    origins
        .into_iter()
        .map(|origin| origin.trim().trim_end_matches('/').to_owned())
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let valid = origin == "*"
                || ((origin.starts_with("https://") || origin.starts_with("http://"))
                    && !origin[origin.find("://").map_or(0, |i| i + 3)..].contains('/'));
            if valid {
                Ok(origin)
            } else {
                Err(ConfigError::BadCorsOrigin(origin))
            }
        })
        .collect()
}

/// Secrets generated on the first development start and kept in the data directory,
/// so a restart keeps tokens valid and encrypted data readable.
#[derive(Default)]
struct DevSecrets {
    jwt_secret: String,
    nik_encryption_key: String,
}

impl DevSecrets {
    fn load_or_create(data_dir: &Path) -> Result<Self, ConfigError> {
        let path = data_dir.join(DEV_SECRETS_FILE);
        let io_error = |source| ConfigError::DataDir {
            path: data_dir.to_owned(),
            source,
        };
        match fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).ok_or(ConfigError::DamagedDevSecrets(path)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(data_dir).map_err(io_error)?;
                let secrets = DevSecrets {
                    jwt_secret: BASE64.encode(random_bytes::<48>()),
                    nik_encryption_key: BASE64.encode(random_bytes::<NIK_KEY_BYTES>()),
                };
                write_private_file(&path, &secrets.serialize()).map_err(io_error)?;
                Ok(secrets)
            }
            Err(error) => Err(io_error(error)),
        }
    }

    fn serialize(&self) -> String {
        format!(
            "# Generated by kim-api in development mode. Never use these in production.\n\
             JWT_SECRET={}\nNIK_ENCRYPTION_KEY={}\n",
            self.jwt_secret, self.nik_encryption_key
        )
    }

    fn parse(text: &str) -> Option<Self> {
        let value = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
                .map(str::to_owned)
        };
        Some(DevSecrets {
            jwt_secret: value("JWT_SECRET")?,
            nik_encryption_key: value("NIK_ENCRYPTION_KEY")?,
        })
    }
}

/// The SMTP relay and sender of mail to citizens.
#[derive(Debug)]
pub struct MailSettings {
    pub smtp_url: SecretString,
    pub from: String,
}

fn mail_settings(args: &ConfigArgs) -> Result<Option<MailSettings>, ConfigError> {
    let Some(text) = &args.smtp_url else {
        return Ok(None);
    };
    let url = url::Url::parse(text.trim()).map_err(|_| ConfigError::BadSmtpUrl)?;
    let protected = url.scheme() == "smtps"
        || url
            .query_pairs()
            .any(|(name, value)| name == "tls" && value == "required");
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    let allowed = match url.scheme() {
        "smtps" => true,
        "smtp" => protected || loopback || args.mode == Mode::Development,
        _ => false,
    };
    if !allowed || url.host().is_none() {
        return Err(ConfigError::BadSmtpUrl);
    }
    if args.mail_from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(ConfigError::BadMailFrom);
    }
    Ok(Some(MailSettings {
        smtp_url: SecretString::from(text.trim().to_owned()),
        from: args.mail_from.clone(),
    }))
}

/// The Web Push sender's key and contact (RFC 8292).
#[derive(Debug)]
pub struct VapidSettings {
    pub private_key: SecretBox<[u8; VAPID_KEY_BYTES]>,
    pub subject: String,
}

const VAPID_KEY_BYTES: usize = 32;
const DEV_VAPID_FILE: &str = "dev-vapid.key";

fn vapid_settings(args: &ConfigArgs) -> Result<Option<VapidSettings>, ConfigError> {
    let key_text = match (&args.vapid_private_key, args.mode) {
        (Some(text), _) => text.trim().to_owned(),
        (None, Mode::Production) => return Ok(None),
        (None, Mode::Development) => dev_vapid_key(&args.data_dir)?,
    };
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key_text.trim_end_matches('='))
        .map_err(|_| ConfigError::BadVapidKey)?;
    let private_key: [u8; VAPID_KEY_BYTES] =
        decoded.try_into().map_err(|_| ConfigError::BadVapidKey)?;
    if p256::SecretKey::from_slice(&private_key).is_err() {
        return Err(ConfigError::BadVapidKey);
    }
    let subject = match &args.vapid_subject {
        Some(subject) => subject.trim().to_owned(),
        None => args
            .public_base_url
            .clone()
            .filter(|base| base.starts_with("https://"))
            .unwrap_or_else(|| "mailto:kim-api@localhost".to_owned()),
    };
    if !(subject.starts_with("mailto:") && subject.contains('@') || subject.starts_with("https://"))
    {
        return Err(ConfigError::BadVapidSubject);
    }
    Ok(Some(VapidSettings {
        private_key: SecretBox::new(Box::new(private_key)),
        subject,
    }))
}

/// A VAPID key made on the first development start and kept beside the other
/// development secrets: browsers subscribe to one key, so a restart must keep it.
fn dev_vapid_key(data_dir: &Path) -> Result<String, ConfigError> {
    let path = data_dir.join(DEV_VAPID_FILE);
    let io_error = |source| ConfigError::DataDir {
        path: data_dir.to_owned(),
        source,
    };
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text.trim().to_owned()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(data_dir).map_err(io_error)?;
            // A random 32-byte string is a valid scalar but for a chance of 2^-128.
            let key = loop {
                let candidate = random_bytes::<VAPID_KEY_BYTES>();
                if p256::SecretKey::from_slice(&candidate).is_ok() {
                    break candidate;
                }
            };
            let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
            write_private_file(&path, &text).map_err(io_error)?;
            Ok(text)
        }
        Err(error) => Err(io_error(error)),
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The operating system's generator failing is not something a service can recover from.
    getrandom::fill(&mut bytes).unwrap_or_else(|error| panic!("no OS randomness: {error}"));
    bytes
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_must_be_bare_origins() {
        assert!(parse_cors_origins(vec!["https://dashboard.example".into()]).is_ok());
        assert!(parse_cors_origins(vec!["https://a.example/path".into()]).is_err());
        assert!(parse_cors_origins(vec!["ftp://a.example".into()]).is_err());
        assert_eq!(parse_cors_origins(vec![String::new()]).ok(), Some(vec![]));
    }

    #[test]
    fn the_public_base_url_is_an_absolute_http_url() {
        assert_eq!(
            parse_public_base_url("https://kim.metrokota.go.id/").ok(),
            Some("https://kim.metrokota.go.id".into())
        );
        assert_eq!(
            parse_public_base_url("https://pemda.example/kim").ok(),
            Some("https://pemda.example/kim".into())
        );
        for bad in [
            "kim.metrokota.go.id",
            "ftp://a.example",
            "https://a.example/?x=1",
            "https://u:p@a.example",
        ] {
            assert!(parse_public_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nik_key_must_be_32_bytes() {
        assert!(decode_nik_key(&BASE64.encode([7u8; 32])).is_ok());
        assert!(decode_nik_key(&BASE64.encode([7u8; 16])).is_err());
        assert!(decode_nik_key("not base64!").is_err());
    }
}

/// How deliveries are sent and retried (`WEBHOOK_*` settings).
#[derive(Debug, Clone, Copy)]
pub struct DeliverySettings {
    pub timeout: std::time::Duration,
    pub first_retry: std::time::Duration,
    pub retry_window: std::time::Duration,
    pub allow_private: bool,
}

impl DeliverySettings {
    /// How long an instance holds a delivery it sends: longer than any attempt takes,
    /// so only an instance that died loses it to another.
    pub fn lease(&self) -> std::time::Duration {
        self.timeout * 2 + std::time::Duration::from_secs(2)
    }

    /// How long after it is first due a delivery is retried.
    pub fn retry_period(&self) -> Result<chrono::Duration, crate::error::ApiError> {
        chrono::Duration::from_std(self.retry_window).map_err(crate::error::ApiError::internal)
    }
}

/// Where clients reach the service: `PUBLIC_BASE_URL`, or in development the bound
/// address. Absolute links are built from it, never from request headers.
#[derive(Debug, Clone)]
pub struct PublicBaseUrl(pub String);
