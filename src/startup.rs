//! Start-up in order: settings → store (a configured backend that cannot be reached is an error, never a
//! silent fall-back) → stored config → actors → HTTP server on an already bound listener (port 0 in
//! tests, so the port is known before serving).

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};

use crate::actors::config_actor::ConfigActor;
use crate::actors::credentials::{CredentialActor, CredentialSupervisor};
use crate::actors::log_broadcaster::LogBroadcaster;
use crate::actors::oauth_flows::OAuthFlows;
use crate::actors::quota::{KeyAdminActor, QuotaActor};
use crate::actors::request_history::{FlushTokens, RequestHistory};
use crate::actors::sessions::SessionGuard;
use crate::actors::storage::messages::{Flush, Settle};
use crate::actors::storage::StorageActor;
use crate::clock::Clock;
use crate::config::{ConfigError, ConfigLayers, Settings, SharedSettings};
use crate::fleet::catalogue::CatalogueView;
use crate::quota::debits::Debits;
use crate::routes;
use crate::routes::guarded_body::BodyBudget;
use crate::shutdown::signals::{on_signals, SignalError, StopPlan, Stopped};
use crate::state::{AppState, UpstreamClient};
use crate::store::open::{open_store_with_tls, StoreUrl};
use crate::store::tls::redis_tls::RedisTls;
use crate::store::{Store, StoreError};
use crate::upstream::transport::{build_client, load_ca_file, TransportConfig, TransportError};

/// Longest wait for refunds and debit batches in flight once the server stopped (a store that does
/// not answer).
const REFUND_DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// Live-log WebSocket sessions allowed at once.
const MAX_LOG_SESSIONS: usize = 5;
/// Largest body the panel and OAuth routes buffer (their JSON is small). Client API routes read their
/// bodies themselves, after authentication (`routes::guarded_body`).
const MAX_PANEL_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("outbound transport: {0}")]
    Transport(#[from] TransportError),
    #[error("metrics: {0}")]
    Metrics(#[from] crate::observe::metrics::MetricsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Why serving ended other than by a stop.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Signals(#[from] SignalError),
    #[error("server failed: {0}")]
    Server(#[from] std::io::Error),
}

/// Knobs tests turn; production uses the defaults.
#[derive(Clone)]
pub struct StartOptions {
    pub clock: Clock,
    /// Wait between polls of an onboarding operation.
    pub onboarding_poll: Duration,
    /// The process environment (credential variables are read from it).
    pub env: HashMap<String, String>,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self {
            clock: Clock::default(),
            onboarding_poll: Duration::from_secs(2),
            env: HashMap::new(),
        }
    }
}

/// What the scout calls after insights changed: the catalogue is built again from them.
fn catalogue_rebuild(
    catalogue: Arc<CatalogueView>,
    fleet: Arc<crate::fleet::FleetView<Addr<CredentialActor>>>,
    settings: SharedSettings,
    clock: Clock,
) -> crate::actors::scout::OnChange {
    std::rc::Rc::new(move || {
        catalogue.rebuild(&fleet.snapshot(), &settings.current(), clock.now());
    })
}

pub struct Application {
    port: u16,
    server: Server,
    pub state: AppState,
}

/// The store the settings name, by the one selection `migrate` uses too ([`StoreUrl::select`]), so
/// `REDIS_URI=redis://host/3` serves from database 3 rather than 0.
pub fn store_url(settings: &Settings) -> Result<StoreUrl, StoreError> {
    StoreUrl::select(
        settings.redis_uri.as_deref(),
        settings.redis_database,
        settings.postgres_dsn.as_deref(),
        settings.mongodb_uri.as_deref(),
        &settings.mongodb_database,
        &settings.credentials_dir,
    )
}

/// The certificate settings of a `rediss://` store.
pub fn redis_tls(settings: &Settings) -> RedisTls {
    RedisTls {
        ca_cert: settings.redis_ca_cert.clone(),
        client_cert: settings.redis_client_cert.clone(),
        client_key: settings.redis_client_key.clone(),
    }
}

pub fn transport_config(settings: &Settings) -> Result<TransportConfig, StartupError> {
    let extra_ca_pem = match &settings.upstream_ca_file {
        Some(path) => Some(load_ca_file(path)?),
        None => None,
    };
    Ok(TransportConfig {
        connect_timeout: Duration::from_secs(settings.upstream_connect_timeout),
        request_timeout: Duration::from_secs(settings.upstream_timeout),
        proxy: settings.proxy.clone(),
        extra_ca_pem,
    })
}

impl Application {
    /// Builds everything and binds; call [`Application::run`] to serve. Must run inside an actix system.
    pub async fn build(
        mut layers: ConfigLayers,
        options: StartOptions,
    ) -> Result<Application, StartupError> {
        let boot = layers.resolve()?;
        let store: Arc<dyn Store> =
            open_store_with_tls(&store_url(&boot)?, &boot.storage_prefix, &redis_tls(&boot))
                .await?;
        let rejected = layers.set_stored(&store.load_config().await?);
        let settings = layers.resolve()?;
        let bad_proxies =
            crate::auth::client_address::invalid_trusted_proxies(&settings.trusted_proxies);
        if !bad_proxies.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "TRUSTED_PROXIES: not an address or CIDR: {}",
                bad_proxies.join(", ")
            ))
            .into());
        }
        for msg in rejected {
            log::warn!("ignoring stored config value: {msg}");
        }
        crate::logging::secrets().set(vec![
            settings.api_password().to_string(),
            settings.panel_password().to_string(),
            settings.metrics_token.clone().unwrap_or_default(),
        ]);
        let host_set = [&layers.env, &layers.file, &layers.stored]
            .iter()
            .any(|layer| layer.contains_key("host"));
        let listen = crate::config::listen::listen_host(&settings, host_set);
        if let Some(notice) = &listen.notice {
            log::warn!("{notice}");
        }
        let transport = transport_config(&settings)?;
        // Fail at start on a bad proxy or CA file, not on the first request.
        let actor_client = build_client(&transport)?;

        let logs = LogBroadcaster::launch(
            settings.log_file.clone(),
            settings.log_file_max_mb.saturating_mul(1024 * 1024),
            MAX_LOG_SESSIONS,
        );
        let records = store.load_credentials().await?;
        log::info!(
            "storage: {} backend, {} credential(s)",
            store.backend_name(),
            records.len()
        );
        let shared = SharedSettings::new(settings.clone());
        let storage = StorageActor::new(store.clone()).start();
        let fleet = Arc::new(crate::fleet::FleetView::default());
        let supervisor = CredentialSupervisor::new(
            records,
            fleet.clone(),
            actor_client,
            shared.clone(),
            options.clock.clone(),
            storage.clone(),
            options.onboarding_poll,
            store.clone(),
        )
        .start();
        let panel_secret = crate::auth::panel::load_or_create_secret(store.as_ref()).await?;
        let compaction_seal =
            crate::compaction_seal::CompactionSeal::load_or_create(store.as_ref()).await?;
        // Before the first key is looked up: stores written before keys were hashed are converted.
        let holder = uuid::Uuid::new_v4().to_string();
        crate::store::key_hashing::hash_plain_keys(store.as_ref(), &holder).await?;
        let costs = store.load_model_costs().await?;
        let debits = Debits::new(store.clone(), options.clock.clone(), costs);
        debits.set_timezone(crate::quota::windows::time_zone(&settings.keys_timezone));
        let key_admin = KeyAdminActor::new(store.clone(), debits.clone()).start();
        // The start-up copy's debit queue; each worker starts its own (`AppState::for_worker`).
        let quota = QuotaActor::new(debits.clone()).start();
        let sessions = SessionGuard::new(options.clock.clone())
            .sharing_through(store.clone())
            .start();
        let oauth = OAuthFlows::new(options.clock.clone()).start();
        let config = ConfigActor::new(layers, shared.clone(), store.clone()).start();
        let responses = crate::actors::response_store::ResponseStore::new(
            shared.clone(),
            options.clock.clone(),
        )
        .start();
        let traces = Arc::new(crate::observe::trace_inbox::TraceInbox::default());
        let history =
            RequestHistory::new(settings.request_history_size, store.clone(), traces.clone())
                .with_max_bytes(
                    usize::try_from(settings.request_history_max_mb.saturating_mul(1024 * 1024))
                        .unwrap_or(usize::MAX),
                )
                .start();
        let metrics = Arc::new(crate::observe::metrics::Metrics::new()?);
        let catalogue = Arc::new(CatalogueView::default());
        let scout = crate::actors::scout::CredentialScout::new(
            fleet.clone(),
            shared.clone(),
            options.clock.clone(),
            store.clone(),
            build_client(&transport)?,
        )
        .on_change(catalogue_rebuild(
            catalogue.clone(),
            fleet.clone(),
            shared.clone(),
            options.clock.clone(),
        ))
        .start();
        let (audit, audit_entries) =
            crate::observe::audit_log::AuditLog::new(options.clock.clone());
        crate::observe::audit_log::spawn_writer(
            audit_entries,
            store.clone(),
            shared.clone(),
            options.clock.clone(),
        );
        let state = AppState {
            settings: shared,
            supervisor,
            fleet,
            catalogue,
            storage,
            logs,
            store,
            clock: options.clock,
            key_admin,
            quota,
            debits,
            sessions,
            oauth,
            config,
            responses,
            env: Arc::new(options.env),
            panel_secret: Arc::from(panel_secret),
            compaction_seal: Arc::new(compaction_seal),
            responses_sockets: Arc::default(),
            metrics,
            history,
            traces,
            scout,
            shutdown: Arc::new(crate::shutdown::Shutdown::default()),
            audit,
        };

        let loaded = if settings.auto_load_env_creds {
            Some(crate::enrolment::environment::load_all(&state).await)
        } else if state
            .env
            .keys()
            .any(|k| crate::credentials::env_keys::is_kind_var(k))
        {
            Some(crate::enrolment::environment::load_other_kinds(&state).await)
        } else {
            None
        };
        if let Some(loaded) = loaded {
            let message = loaded.get("message").and_then(serde_json::Value::as_str);
            log::info!("{}", message.unwrap_or_default());
        }
        // The first catalogue; the scout rebuilds it after each fetch, and a list that finds the
        // membership or the settings changed rebuilds it first.
        state.catalogue.rebuild(
            &state.fleet.snapshot(),
            &state.settings.current(),
            state.clock.now(),
        );
        let addr = match listen.host.parse::<std::net::Ipv6Addr>() {
            Ok(_) => format!("[{}]:{}", listen.host, settings.port),
            Err(_) => format!("{}:{}", listen.host, settings.port),
        };
        let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?
            .port();
        let server = serve(listener, state.clone(), transport, &settings)?;
        log::info!("gcli2api listening on {}:{port}", listen.host);
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT and stops gracefully (see `shutdown`), then writes what is
    /// pending. Answers how the stop went.
    pub async fn run_until_signalled(self) -> Result<Stopped, RunError> {
        let settings = self.state.settings.current();
        let plan = StopPlan {
            ready_delay: Duration::from_secs(settings.shutdown_ready_delay),
            timeout: Duration::from_secs(settings.shutdown_timeout),
        };
        let shutdown = self.state.shutdown.clone();
        let stop = on_signals(self.server.handle(), shutdown.clone(), plan)?;
        // Detached: it ends the server, and is dropped with the runtime if the server ends first.
        actix_rt::spawn(stop);
        self.run().await?;
        Ok(if shutdown.was_forced() {
            Stopped::Forced
        } else {
            Stopped::Graceful
        })
    }

    /// Serves until stopped, then drains the refunds and debit batches in flight and writes what is
    /// pending to the store.
    pub async fn run(self) -> std::io::Result<()> {
        let storage = self.state.storage.clone();
        let history = self.state.history.clone();
        let store = self.state.store.clone();
        let debits = self.state.debits.clone();
        let result = self.server.await;
        let left = debits.detached().drain(REFUND_DRAIN_LIMIT).await;
        if left > 0 {
            log::error!("{left} quota refund(s) or debit batch(es) did not finish before the stop");
        }
        let _ = storage.send(Flush).await;
        // The flush's writes are under way; this answers once they ended.
        let _ = storage.send(Settle).await;
        if let Ok(Err(e)) = history.send(FlushTokens).await {
            log::error!("saving token usage: {e}");
        }
        if let Err(e) = store.close().await {
            log::error!("closing the store: {e}");
        }
        result
    }
}

fn serve(
    listener: TcpListener,
    state: AppState,
    transport: TransportConfig,
    settings: &Settings,
) -> Result<Server, StartupError> {
    let workers = settings.workers;
    // Streams still open at `SHUTDOWN_TIMEOUT` are ended with an error event; actix drops what is
    // left a little later, once those events are written.
    let drop_after = Duration::from_secs(settings.shutdown_timeout)
        .saturating_add(crate::shutdown::signals::STREAM_END_GRACE);
    let budget = web::Data::new(BodyBudget::with_caller_share(
        settings.max_inflight_body_mb.saturating_mul(1024 * 1024),
        settings
            .max_inflight_body_per_caller_mb
            .saturating_mul(1024 * 1024),
    ));
    let guesses = web::Data::new(crate::auth::key_guesses::KeyGuesses::default());
    let mut server = HttpServer::new(move || {
        // This worker's copy of the state, with its own quota actor on this thread.
        let data = web::Data::new(state.for_worker());
        // awc is !Send: each worker builds its own client. The config was validated at start.
        let client = build_client(&transport).unwrap_or_else(|e| {
            log::error!("worker client with default settings: {e}");
            awc::Client::default()
        });
        App::new()
            // Innermost: errors take their scope's style before any other middleware sees them.
            .wrap(routes::error_style::ScopeStyle)
            .wrap(actix_web::middleware::from_fn(
                routes::origin_check::origin_check,
            ))
            .wrap(actix_web::middleware::from_fn(
                routes::body_deadline::body_deadline,
            ))
            .wrap(routes::cors::cors())
            // Outermost: every answer, CORS preflights included, carries its request id.
            .wrap(actix_web::middleware::from_fn(
                crate::routes::observing::observe,
            ))
            .app_data(data)
            .app_data(budget.clone())
            .app_data(guesses.clone())
            .app_data(web::Data::new(UpstreamClient(client)))
            .app_data(web::PayloadConfig::new(MAX_PANEL_BODY_BYTES))
            .configure(routes::configure)
            .default_service(web::to(routes::fallback::not_found))
    })
    // Stream events are small writes: with Nagle's algorithm each one waits for the client to
    // acknowledge the previous, which delayed ACKs stretch to ~40 ms.
    .tcp_nodelay(true)
    // The stop is ours (`shutdown::signals`): actix's would close the listener at the first signal.
    .disable_signals()
    .shutdown_timeout(drop_after.as_secs())
    .listen(listener)
    .map_err(|source| StartupError::Bind {
        addr: "listener".into(),
        source,
    })?;
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}
