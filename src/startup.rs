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
use crate::actors::credentials::catalogue::CatalogueView;
use crate::actors::credentials::CredentialSupervisor;
use crate::actors::log_broadcaster::LogBroadcaster;
use crate::actors::oauth_flows::OAuthFlows;
use crate::actors::quota::debits::Debits;
use crate::actors::quota::QuotaActor;
use crate::actors::request_history::{FlushTokens, RequestHistory};
use crate::actors::sessions::SessionGuard;
use crate::actors::storage::messages::Flush;
use crate::actors::storage::StorageActor;
use crate::clock::Clock;
use crate::config::{ConfigError, ConfigLayers, Settings, SharedSettings};
use crate::routes;
use crate::routes::guarded_body::BodyBudget;
use crate::state::{AppState, UpstreamClient};
use crate::store::open::{open_store, StoreUrl};
use crate::store::{Store, StoreError};
use crate::upstream::transport::{build_client, load_ca_file, TransportConfig, TransportError};

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
    fleet: Arc<crate::actors::credentials::FleetView>,
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
        let store: Arc<dyn Store> = open_store(&store_url(&boot)?, &boot.storage_prefix).await?;
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
        if settings.uses_default_password() {
            log::warn!(
                "the built-in default password is in use: set PASSWORD (or API_PASSWORD / PANEL_PASSWORD) before exposing this gateway"
            );
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
        let fleet = Arc::new(crate::actors::credentials::FleetView::default());
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
        let costs = store.load_model_costs().await?;
        let debits = Debits::new(store.clone(), options.clock.clone(), costs);
        let quota = QuotaActor::new(store.clone(), debits.clone()).start();
        let sessions = SessionGuard::new(options.clock.clone()).start();
        let oauth = OAuthFlows::new(options.clock.clone()).start();
        let config = ConfigActor::new(layers, shared.clone(), store.clone()).start();
        let responses = crate::actors::response_store::ResponseStore::new(
            shared.clone(),
            options.clock.clone(),
        )
        .start();
        let traces = Arc::new(crate::actors::request_history::TraceInbox::default());
        let history =
            RequestHistory::new(settings.request_history_size, store.clone(), traces.clone())
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
        let (audit, audit_entries) = crate::actors::audit_log::AuditLog::new(options.clock.clone());
        crate::actors::audit_log::spawn_writer(
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
            quota,
            debits,
            sessions,
            oauth,
            config,
            responses,
            env: Arc::new(options.env),
            panel_secret: Arc::from(panel_secret),
            metrics,
            history,
            traces,
            scout,
            audit,
        };

        let loaded = if settings.auto_load_env_creds {
            Some(crate::routes::env_creds::load_all(&state).await)
        } else if state
            .env
            .keys()
            .any(|k| crate::env_kind_credentials::is_kind_var(k))
        {
            Some(crate::routes::env_creds::load_other_kinds(&state).await)
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
        let addr = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?
            .port();
        let server = serve(listener, state.clone(), transport, settings.workers)?;
        log::info!("gcli2api listening on {}:{port}", settings.host);
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

    /// Serves until stopped, then writes what is pending to the store.
    pub async fn run(self) -> std::io::Result<()> {
        let storage = self.state.storage.clone();
        let history = self.state.history.clone();
        let store = self.state.store.clone();
        let result = self.server.await;
        let _ = storage.send(Flush).await;
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
    workers: usize,
) -> Result<Server, StartupError> {
    let budget = web::Data::new(BodyBudget::new(
        state
            .settings
            .current()
            .max_inflight_body_mb
            .saturating_mul(1024 * 1024),
    ));
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        // awc is !Send: each worker builds its own client. The config was validated at start.
        let client = build_client(&transport).unwrap_or_else(|e| {
            log::error!("worker client with default settings: {e}");
            awc::Client::default()
        });
        App::new()
            .wrap(routes::cors::cors())
            // Outermost: every answer, CORS preflights included, carries its request id.
            .wrap(actix_web::middleware::from_fn(
                crate::routes::observing::observe,
            ))
            .app_data(data.clone())
            .app_data(budget.clone())
            .app_data(web::Data::new(UpstreamClient(client)))
            .app_data(web::PayloadConfig::new(MAX_PANEL_BODY_BYTES))
            .configure(routes::configure)
            .default_service(web::to(routes::fallback::not_found))
    })
    // Stream events are small writes: with Nagle's algorithm each one waits for the client to
    // acknowledge the previous, which delayed ACKs stretch to ~40 ms.
    .tcp_nodelay(true)
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
