//! Builds the HTTP application: middleware, routes with their documentation, docs page.
//! Used by `main` and by the tests, which pass their own [`Settings`].

use std::net::TcpListener;

use actix_cors::Cors;
use actix_web::dev::ResourceDef;
use actix_web::dev::Server;
use actix_web::http::{Method, header};
use actix_web::middleware::{Compress, Condition, DefaultHeaders, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::attachments::Storage;
use crate::audit::ClientAddressPolicy;
use crate::auth::TokenKeys;
use crate::config::PublicBaseUrl;
use crate::config::Settings;
use crate::crypto::PersonalDataCipher;
use crate::db::{Db, DbSetupError};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::routes::api_routes;
use crate::sessions::RefreshTokenLifetime;
use crate::shutdown::Shutdown;
use crate::{auth, extract, metrics, telemetry};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbSetupError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot set up metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error(transparent)]
    Keys(#[from] auth::tokens::KeyError),
    #[error("cannot start the database setup task: {0}")]
    Blocking(String),
    #[error("cannot set up webhook deliveries: {0}")]
    Webhooks(String),
    #[error("cannot set up Web Push: {0}")]
    Push(String),
    #[error("cannot set up mail (SMTP_URL, MAIL_FROM): {0}")]
    Mail(String),
    #[error("cannot use the attachment store {location}: {detail}")]
    Storage { location: String, detail: String },
    #[error("cannot listen for SIGTERM and SIGINT: {0}")]
    Signals(std::io::Error),
}

/// How old a part file or an object without a row must be before the sweep removes it:
/// another instance may still be finishing that upload.
pub const ABANDONED_UPLOAD: std::time::Duration = std::time::Duration::from_secs(3600);

pub struct Application {
    server: Server,
    port: u16,
    db: Db,
    stopper: Stopper,
}

/// Stops the instance the way SIGTERM does (see [`crate::shutdown`]).
#[derive(Clone)]
pub struct Stopper {
    server: actix_web::dev::ServerHandle,
    shutdown: Shutdown,
    db: Db,
    grace: std::time::Duration,
}

impl Stopper {
    /// Stops accepting, lets requests in flight and background work finish within the
    /// grace period, ends live streams, then gives back this process's leases. A
    /// second call while stopping does nothing.
    pub async fn stop(&self) {
        if !self.shutdown.begin() {
            return;
        }
        tracing::info!(
            grace_secs = self.grace.as_secs(),
            "stopping: no new connections; requests in flight and background work may finish"
        );
        let background = tokio::time::timeout(self.grace, self.shutdown.settled());
        let ((), background) = tokio::join!(self.server.stop(true), background);
        if background.is_err() {
            tracing::warn!("background work was still running at the end of the grace period");
        }
        let owner = self.shutdown.owner().clone();
        let released = self
            .db
            .write(move |conn| {
                let deliveries = crate::webhooks::dispatcher::release_leases(conn, &owner)?;
                let sources = crate::alert_sources::poll::release_leases(conn, &owner)?;
                Ok((deliveries, sources))
            })
            .await;
        match released {
            Ok((deliveries, sources)) => {
                tracing::info!(deliveries, sources, "stopped; leases given back");
            }
            Err(error) => tracing::warn!(%error, "stopped; leases left to run out"),
        }
        self.shutdown.finish();
    }

    /// Stops on SIGTERM or SIGINT (Ctrl-C).
    pub fn on_signals(self) -> Result<(), StartupError> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).map_err(StartupError::Signals)?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(StartupError::Signals)?;
        tokio::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM received"),
                _ = interrupt.recv() => tracing::info!("SIGINT received"),
            }
            self.stop().await;
        });
        Ok(())
    }
}

impl Application {
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let keys = TokenKeys::from_settings(settings)?;
        let database_url = settings.database_url.clone();
        let pool = settings.db_pool;
        let db = web::block(move || Db::connect(&database_url, pool))
            .await
            .map_err(|error| StartupError::Blocking(error.to_string()))??;
        let storage = open_storage(settings).await?;
        let shutdown = Shutdown::new();
        let storage_for_sweep = storage.clone();
        let listener =
            TcpListener::bind(settings.bind_addr).map_err(|source| StartupError::Bind {
                addr: settings.bind_addr,
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.bind_addr,
            source,
        })?;
        let public_base = PublicBaseUrl(public_base_of(settings, bound));
        // Parsed once: the push sender and the key endpoint share it.
        let vapid = match &settings.vapid {
            Some(vapid) => Some(std::sync::Arc::new(
                crate::notifications::push::vapid::Vapid::new(vapid)
                    .map_err(|error| StartupError::Push(error.to_string()))?,
            )),
            None => None,
        };
        let server = run(
            Served {
                listener,
                db: db.clone(),
                keys,
                storage,
                public_base,
                vapid: vapid.clone(),
                shutdown: shutdown.clone(),
            },
            settings,
        )?;
        let port = bound.port();
        sweep_abandoned_uploads(db.clone(), storage_for_sweep, shutdown.clone());
        let jobs = Jobs {
            db: &db,
            shutdown: &shutdown,
        };
        jobs.every(
            HOUR,
            "notifications past their retention removed",
            |db| async move { crate::notifications::retention::sweep(&db).await },
        );
        jobs.every(MINUTE, "reports escalated", |db| async move {
            crate::reports::escalation::escalate_overdue(&db).await
        });
        jobs.every(MINUTE, "reminders sent", |db| async move {
            crate::notifications::reminders::send_due(&db).await
        });
        if let Some(vapid) = vapid {
            start_push(&jobs, settings, vapid)?;
        }
        start_mail(&jobs, settings, &public_base_of(settings, bound))?;
        start_alert_poller(&jobs, settings)?;
        crate::webhooks::dispatcher::start(
            db.clone(),
            PersonalDataCipher::new(&settings.nik_encryption_key),
            settings.webhook_delivery,
            shutdown.clone(),
        )
        .map_err(|error| StartupError::Webhooks(error.to_string()))?;
        let stopper = Stopper {
            server: server.handle(),
            shutdown,
            db: db.clone(),
            grace: settings.shutdown_grace,
        };
        Ok(Application {
            server,
            port,
            db,
            stopper,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// What stops this instance gracefully (signals, tests).
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Serves until stopped; after a graceful stop, also until the leases are back.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.stopper.shutdown.finished().await;
        served
    }
}

/// Opens the attachment store. A store that does not answer yet is not fatal:
/// readiness says so until it does.
async fn open_storage(settings: &Settings) -> Result<Storage, StartupError> {
    let storage = Storage::open(&settings.storage_dir, settings.storage_url.as_deref()).map_err(
        |detail| StartupError::Storage {
            location: settings
                .storage_url
                .clone()
                .unwrap_or_else(|| settings.storage_dir.display().to_string()),
            detail,
        },
    )?;
    Ok(storage)
}

/// Removes, right after start-up and then every [`SWEEP_EVERY`], what uploads left
/// behind an hour ago or more (part files on this host, objects without rows in the
/// store). In the background: listing a large bucket must not hold back serving, and a
/// service that runs for months must not wait for a restart to get its space back.
fn sweep_abandoned_uploads(db: Db, storage: Storage, shutdown: Shutdown) {
    const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);
    tokio::spawn(async move {
        // The first tick is immediate: the sweep start-up used to run before serving.
        let mut ticks = tokio::time::interval(SWEEP_EVERY);
        loop {
            // A sweep cut short loses nothing: what it did not remove, the next removes.
            tokio::select! {
                _ = ticks.tick() => {}
                () = shutdown.begun() => return,
            }
            match storage.sweep(&db, ABANDONED_UPLOAD).await {
                Ok((parts, objects)) if parts + objects > 0 => {
                    tracing::info!(parts, objects, "removed what abandoned uploads left");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "the upload sweep did not run"),
            }
        }
    });
}

/// The base of absolute links: the configured one, else the address bound.
fn public_base_of(settings: &Settings, bound: std::net::SocketAddr) -> String {
    settings
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"))
}

/// `kim-api@` and the host clients reach the service at.
fn default_cap_sender(base: &str) -> String {
    let host = url::Url::parse(base)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".to_owned());
    format!("kim-api@{host}")
}

/// Sends mail to citizens when an SMTP relay is configured.
fn start_mail(jobs: &Jobs<'_>, settings: &Settings, base: &str) -> Result<(), StartupError> {
    use crate::reports::subscriptions::mail::{self, Mailer};
    let Some(mail_settings) = &settings.mail else {
        return Ok(());
    };
    let cipher = PersonalDataCipher::new(&settings.nik_encryption_key);
    let mailer = std::sync::Arc::new(
        Mailer::new(mail_settings, cipher, base.to_owned()).map_err(StartupError::Mail)?,
    );
    jobs.every(mail::POLL, "mails sent", move |db| {
        let mailer = mailer.clone();
        async move { mail::send_due(&db, mailer).await }
    });
    Ok(())
}

/// Sends push messages when Web Push is configured.
fn start_push(
    jobs: &Jobs<'_>,
    settings: &Settings,
    vapid: std::sync::Arc<crate::notifications::push::vapid::Vapid>,
) -> Result<(), StartupError> {
    use crate::notifications::push::delivery;
    let delivery_settings = settings.webhook_delivery;
    let pusher = std::sync::Arc::new(delivery::Pusher {
        sender: crate::outbound::sender::Sender::new(
            delivery_settings.timeout,
            delivery_settings.allow_private,
        )
        .map_err(|error| StartupError::Push(error.to_string()))?,
        vapid,
    });
    jobs.every(delivery::POLL, "push messages sent", move |db| {
        let pusher = pusher.clone();
        async move { delivery::send_due(&db, pusher).await }
    });
    Ok(())
}

/// Polls the registered CAP alert sources (SPEC §12).
fn start_alert_poller(jobs: &Jobs<'_>, settings: &Settings) -> Result<(), StartupError> {
    use crate::alert_sources::poll::{self, AlertPoller};
    let delivery_settings = settings.webhook_delivery;
    let poller = std::sync::Arc::new(AlertPoller {
        sender: crate::outbound::sender::Sender::new(
            delivery_settings.timeout,
            delivery_settings.allow_private,
        )
        .map_err(|error| StartupError::Webhooks(error.to_string()))?,
        shutdown: jobs.shutdown.clone(),
    });
    jobs.every(poll::POLL, "alert sources polled", move |db| {
        let poller = poller.clone();
        async move { poll::poll_due(&db, poller).await }
    });
    Ok(())
}

const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);
const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

/// Where background jobs run: the database, and the stop they end at.
struct Jobs<'a> {
    db: &'a Db,
    shutdown: &'a Shutdown,
}

impl Jobs<'_> {
    /// Runs `job` right away and then every `period`, in the background, until the
    /// instance stops (a stop waits for a run under way); logs how many things it `did`
    /// when that is any. Each job reads before it writes, so an idle service takes no
    /// write lock, and guards its writes, so instances may run it at once.
    fn every<F, Fut>(&self, period: std::time::Duration, did: &'static str, job: F)
    where
        F: Fn(Db) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<usize, crate::error::ApiError>> + Send,
    {
        let db = self.db.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = shutdown.begun() => return,
                }
                match shutdown.track(job(db.clone())).await {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(count, "{did}"),
                    Err(error) => tracing::warn!(%error, "a background job failed ({did})"),
                }
            }
        });
    }
}

/// What the HTTP server is built from, besides the settings.
struct Served {
    listener: TcpListener,
    db: Db,
    keys: TokenKeys,
    storage: Storage,
    public_base: PublicBaseUrl,
    vapid: Option<std::sync::Arc<crate::notifications::push::vapid::Vapid>>,
    shutdown: Shutdown,
}

fn run(served: Served, settings: &Settings) -> Result<Server, StartupError> {
    let Served {
        listener,
        db,
        keys,
        storage,
        public_base,
        vapid,
        shutdown,
    } = served;
    let notification_hub = web::Data::new(crate::notifications::stream::Hub::start(
        db.clone(),
        shutdown.clone(),
    ));
    let shutdown = web::Data::new(shutdown);
    let db = web::Data::new(db);
    let cap_identity = web::Data::new(crate::bulletins::cap::CapIdentity {
        sender: settings
            .cap_sender
            .clone()
            .unwrap_or_else(|| default_cap_sender(&public_base.0)),
        sender_name: settings.cap_sender_name.clone(),
    });
    let public_base = web::Data::new(public_base);
    let body_deadline = web::Data::new(crate::body_deadline::BodyDeadline(
        settings.body_read_timeout,
    ));
    let tracking_lookups = web::Data::new(crate::reports::TrackingLookups(
        crate::rate_limit::AddressLimit::per_minute("tracking", settings.track_rate_per_minute),
    ));
    let caller_limits = web::Data::new(crate::rate_limit::CallerLimits::new(settings.rate_limits));
    let storage = web::Data::new(storage);
    let keys = web::Data::new(keys);
    let refresh_lifetime = web::Data::new(RefreshTokenLifetime::from_settings(settings));
    let cipher = web::Data::new(PersonalDataCipher::new(&settings.nik_encryption_key));
    let address_policy = web::Data::new(ClientAddressPolicy {
        trusted_proxies: settings.trusted_proxies.clone(),
    });
    let metrics = web::Data::new(Metrics::new()?);
    let metrics_access = web::Data::new(metrics::MetricsAccess(settings.metrics_token.clone()));
    let backlog_probe = web::Data::new(metrics::BacklogProbe(crate::webhooks::dispatcher::backlog));
    let passwords = web::Data::new(auth::password::PasswordWork::for_this_machine());
    let sessions = web::Data::new(auth::SessionCheck::new(
        db.get_ref().clone(),
        settings.auth_recheck,
    ));
    let list_pages = web::Data::new(crate::page_cache::PageCache::new(settings.list_cache_bytes));
    let webhook_targets = web::Data::new(crate::outbound::target::TargetPolicy {
        allow_private: settings.webhook_delivery.allow_private,
    });
    let webhook_delivery = web::Data::new(settings.webhook_delivery);
    let push_service = web::Data::new(crate::notifications::push::PushService(vapid));
    let cors_origins = settings.cors_origins.clone();
    let document = crate::routes::openapi();
    let allowed_methods = web::Data::new(AllowedMethods::from_openapi(&document));
    // Serialised once and shared: a copy of the document per worker cost megabytes each.
    let document_json = web::Data::new(ApiDocument(web::Bytes::from(
        crate::routes::openapi_json_of(&document),
    )));
    drop(document);
    let mut server = HttpServer::new(move || {
        // The routes' documentation is collected again here and thrown away; an empty
        // base keeps that from building every schema once more per worker.
        let (app, _) = App::new()
            .into_utoipa_app()
            .openapi(utoipa::openapi::OpenApi::default())
            .app_data(db.clone())
            .app_data(notification_hub.clone())
            .app_data(metrics.clone())
            .app_data(metrics_access.clone())
            .app_data(backlog_probe.clone())
            .app_data(allowed_methods.clone())
            .app_data(keys.clone())
            .app_data(refresh_lifetime.clone())
            .app_data(address_policy.clone())
            .app_data(cipher.clone())
            .app_data(storage.clone())
            .app_data(passwords.clone())
            .app_data(sessions.clone())
            .app_data(list_pages.clone())
            .app_data(webhook_targets.clone())
            .app_data(webhook_delivery.clone())
            .app_data(push_service.clone())
            .app_data(public_base.clone())
            .app_data(cap_identity.clone())
            .app_data(body_deadline.clone())
            .app_data(tracking_lookups.clone())
            .app_data(caller_limits.clone())
            .app_data(shutdown.clone())
            .configure(api_routes)
            .split_for_parts();
        app.configure(extract::configure_builtin_extractors)
            .app_data(document_json.clone())
            .route(API_DOCUMENT_PATH, web::get().to(serve_api_document))
            .service(SwaggerUi::new("/docs/{_:.*}").config(Config::from(API_DOCUMENT_PATH)))
            .route("/docs", web::get().to(redirect_to_docs))
            .default_service(web::to(no_such_route))
            .wrap(from_fn(crate::rate_limit::admit))
            .wrap(from_fn(telemetry::request_context))
            .wrap(Condition::new(
                !cors_origins.is_empty(),
                cors(&cors_origins),
            ))
            .wrap(DefaultHeaders::new().add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")))
            .wrap(Compress::default())
    })
    .listen(listener)
    .map_err(|source| StartupError::Bind {
        addr: settings.bind_addr,
        source,
    })?;
    // Database work has threads of its own (`db::workers`); the blocking pool only
    // hashes passwords, which is CPU-bound. Tokio's default of 512 threads would let a
    // burst of sign-ins park hundreds of thread stacks.
    server = server.worker_max_blocking_threads(4);
    // Signals are the [`Stopper`]'s: it also ends streams and gives back leases.
    server = server
        .disable_signals()
        .shutdown_timeout(settings.shutdown_grace.as_secs());
    if let Some(workers) = settings.http_workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            telemetry::REQUEST_ID_HEADER,
            // Resumable uploads (tus 1.0).
            header::HeaderName::from_static("tus-resumable"),
            header::HeaderName::from_static("upload-length"),
            header::HeaderName::from_static("upload-offset"),
            header::HeaderName::from_static("upload-metadata"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            crate::rate_limit::RATE_LIMIT_POLICY,
            crate::rate_limit::RATE_LIMIT,
            telemetry::REQUEST_ID_HEADER,
            header::HeaderName::from_static("idempotent-replayed"),
            header::HeaderName::from_static("tus-resumable"),
            header::HeaderName::from_static("tus-version"),
            header::HeaderName::from_static("tus-extension"),
            header::HeaderName::from_static("tus-max-size"),
            header::HeaderName::from_static("upload-offset"),
            header::HeaderName::from_static("upload-length"),
            header::HeaderName::from_static("upload-expires"),
        ])
        .max_age(3600);
    for origin in origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}

const API_DOCUMENT_PATH: &str = "/api-docs/openapi.json";

struct ApiDocument(web::Bytes);

async fn serve_api_document(document: web::Data<ApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(header::ContentType::json())
        .body(document.0.clone())
}

async fn redirect_to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// The methods of every documented path, to answer a wrong method with 405 and `Allow`.
/// Taken from the OpenAPI document, which is built from the registered routes.
struct AllowedMethods(Vec<(ResourceDef, String)>);

impl AllowedMethods {
    fn from_openapi(document: &utoipa::openapi::OpenApi) -> Self {
        let table = document
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods: Vec<&str> = [
                    ("GET", &item.get),
                    ("POST", &item.post),
                    ("PUT", &item.put),
                    ("PATCH", &item.patch),
                    ("DELETE", &item.delete),
                    ("OPTIONS", &item.options),
                ]
                .into_iter()
                .filter(|(_, operation)| operation.is_some())
                .map(|(method, _)| method)
                .collect();
                (ResourceDef::new(path.as_str()), methods.join(", "))
            })
            .collect();
        AllowedMethods(table)
    }

    fn for_path(&self, path: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(pattern, _)| pattern.is_match(path))
            .map(|(_, allow)| allow.as_str())
    }
}

/// 405 when the path exists with other methods, 404 otherwise.
async fn no_such_route(
    req: HttpRequest,
    allowed: web::Data<AllowedMethods>,
) -> Result<HttpResponse, ApiError> {
    match allowed.for_path(req.path()) {
        Some(allow) => Err(ApiError::MethodNotAllowed {
            allow: allow.to_owned(),
        }),
        None => Err(ApiError::RouteNotFound),
    }
}
