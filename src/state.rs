//! What every handler can reach: addresses of the actors and the current settings. Each worker has its
//! own copy ([`AppState::for_worker`]), alike but for its own `QuotaActor`; everything else in it is
//! shared by all workers (`Send + Sync`). The per-worker HTTP client is separate ([`UpstreamClient`])
//! because awc is `!Send`.

use std::sync::Arc;

use actix::{Actor, Addr};

use crate::actors::config_actor::ConfigActor;
use crate::actors::credentials::{CredentialActor, CredentialSupervisor};
use crate::actors::log_broadcaster::LogBroadcaster;
use crate::actors::oauth_flows::OAuthFlows;
use crate::actors::quota::{KeyAdminActor, QuotaActor};
use crate::actors::request_history::RequestHistory;
use crate::actors::response_store::ResponseStore;
use crate::actors::scout::CredentialScout;
use crate::actors::sessions::SessionGuard;
use crate::actors::storage::StorageActor;
use crate::clock::Clock;
use crate::config::SharedSettings;
use crate::fleet::catalogue::CatalogueView;
use crate::fleet::FleetView;
use crate::observe::metrics::Metrics;
use crate::observe::trace_inbox::TraceInbox;
use crate::quota::debits::Debits;
use crate::shutdown::Shutdown;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub settings: SharedSettings,
    pub supervisor: Addr<CredentialSupervisor>,
    /// The credential fleet as the supervisor publishes it: workers choose credentials from it without
    /// a message.
    pub fleet: Arc<FleetView<Addr<CredentialActor>>>,
    /// The models the pool serves, rebuilt once per change from the credentials' model lists; every
    /// model list and the request shaping read it.
    pub catalogue: Arc<CatalogueView>,
    pub storage: Addr<StorageActor>,
    pub logs: Addr<LogBroadcaster>,
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    /// Key records and the cost table's writes.
    pub key_admin: Addr<KeyAdminActor>,
    /// This worker's quota actor, on this worker's thread: its keyed requests queue their debits
    /// there (the copy built at start-up has one on the main arbiter).
    pub quota: Addr<QuotaActor>,
    /// Debits of `sk-` keys, admitted on the request's own thread.
    pub debits: Debits,
    pub sessions: Addr<SessionGuard>,
    pub oauth: Addr<OAuthFlows>,
    pub config: Addr<ConfigActor>,
    /// Recent `/v1/responses` answers for `previous_response_id`.
    pub responses: Addr<ResponseStore>,
    /// The process environment as it was at start (credential variables are read from it).
    pub env: Arc<std::collections::HashMap<String, String>>,
    /// HS256 key of panel session tokens.
    pub panel_secret: Arc<[u8]>,
    /// Seals remote-compaction summaries (key shared through the store).
    pub compaction_seal: Arc<crate::compaction_seal::CompactionSeal>,
    /// Open Responses WebSocket connections of this instance, against `RESPONSES_WS_MAX_CONNECTIONS`.
    pub responses_sockets: Arc<crate::observe::socket_gate::SocketGate>,
    /// Prometheus counters, updated when each request ends.
    pub metrics: Arc<Metrics>,
    /// Recent decision traces and the daily token counts.
    pub history: Addr<RequestHistory>,
    /// Where finished requests leave their traces for `history`.
    pub traces: Arc<TraceInbox>,
    /// Fetches each credential's quota, credits and models.
    pub scout: Addr<CredentialScout>,
    /// Whether a graceful stop has begun (readiness, `Connection: close`, streams' end).
    pub shutdown: Arc<Shutdown>,
    /// Where admin routes leave their audit entries (written to the store by its own task).
    pub audit: crate::observe::audit_log::AuditLog,
}

impl AppState {
    /// The copy of a request worker, with its own `QuotaActor` started on the calling thread's
    /// arbiter: call it in the `HttpServer::new` factory, which runs on the worker's thread.
    pub fn for_worker(&self) -> Self {
        Self {
            quota: QuotaActor::new(self.debits.clone()).start(),
            ..self.clone()
        }
    }
}

/// One awc client per worker thread, built in the `HttpServer::new` factory.
#[derive(Clone)]
pub struct UpstreamClient(pub awc::Client);
