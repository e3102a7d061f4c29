//! Everything the fake remembers: scripts, issued tokens, onboarding operations and the request log.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::reply::{LoadCodeAssist, Reply, TokenReply};

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Header names lower-cased (order not preserved).
    pub headers: Vec<(String, String)>,
    /// Parsed JSON body; form bodies as an object of strings; `Null` otherwise.
    pub body: Value,
    /// The bearer token of the `Authorization` header.
    pub access_token: Option<String>,
    /// Envelope `project` (Code Assist), `cloudaicompanionProject` (loadCodeAssist / onboardUser)
    /// or the project in a Service Usage path.
    pub project: Option<String>,
    /// Envelope `model` of Code Assist calls, or the model in a Generative Language / Vertex path.
    pub model: Option<String>,
    /// The `x-goog-api-key` header (or `key` query parameter) of API-key calls.
    pub api_key: Option<String>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

const TEN_YEARS_SECS: u64 = 10 * 365 * 24 * 3600;

/// An access token handed out by the token endpoint.
pub(crate) struct IssuedToken {
    pub(crate) refresh_token: String,
    pub(crate) expires_at: Instant,
}

/// An `onboardUser` long-running operation.
pub(crate) struct Operation {
    pub(crate) project: String,
    pub(crate) polls_left: usize,
}

/// The OAuth clients the fake's token endpoint accepts: the Gemini CLI's public client (the gateway's
/// own OAuth flow), the client of the test credentials, and the benchmark's.
pub(crate) const KNOWN_CLIENTS: &[(&str, &str)] = &[
    (
        gcli2api::upstream::oauth::GEMINI_CLI_CLIENT_ID,
        gcli2api::upstream::oauth::GEMINI_CLI_CLIENT_SECRET,
    ),
    ("test-client.apps.googleusercontent.com", "test-secret"),
    ("bench.apps.googleusercontent.com", "bench-secret"),
];

#[derive(Default)]
pub(crate) struct FakeState {
    /// Refuse bearer tokens the fake never issued (Google's behaviour; on unless the benchmark
    /// server is told otherwise).
    pub(crate) strict_tokens: bool,
    /// OAuth clients registered beyond [`KNOWN_CLIENTS`].
    pub(crate) extra_clients: Vec<(String, String)>,
    pub(crate) queues: HashMap<String, VecDeque<Reply>>,
    pub(crate) project_defaults: HashMap<String, Reply>,
    pub(crate) global_default: Option<Reply>,
    pub(crate) token_replies: HashMap<String, TokenReply>,
    pub(crate) refresh_counts: HashMap<String, usize>,
    pub(crate) issued_counts: HashMap<String, usize>,
    pub(crate) access_tokens: HashMap<String, IssuedToken>,
    pub(crate) emails: HashMap<String, String>,
    pub(crate) projects: Vec<(String, String)>,
    pub(crate) load_code_assist: LoadCodeAssist,
    pub(crate) auth_codes: HashMap<String, String>,
    pub(crate) operations: HashMap<String, Operation>,
    pub(crate) operation_seq: usize,
    pub(crate) enabled_services: HashSet<(String, String)>,
    pub(crate) requests: Vec<RecordedRequest>,
    /// Present when the implicit context cache is modelled.
    pub(crate) implicit_cache: Option<super::implicit_cache::ImplicitCache>,
    pub(crate) tool_scripts: Vec<super::tool_script::ToolScript>,
    /// Keys accepted by the Generative Language and Vertex express paths.
    pub(crate) api_keys: HashSet<String>,
    /// Service account email → DER of its RSA public key.
    pub(crate) service_accounts: HashMap<String, Vec<u8>>,
    pub(crate) jwt_grants: HashMap<String, usize>,
    pub(crate) service_account_token_secs: u64,
    /// Project → `retrieveUserQuota` buckets, served verbatim.
    pub(crate) quota_buckets: HashMap<String, Vec<Value>>,
    /// Project → the status its `retrieveUserQuota` fails with.
    pub(crate) quota_failures: HashMap<String, u16>,
    /// Project → Google One AI credits left (see `credits.rs`).
    pub(crate) credits: HashMap<String, i64>,
    /// Model calls whose body contains this text are refused with a plain 429.
    pub(crate) refuse_pattern: Option<String>,
    /// API key → its Gemini API model list, served verbatim page by page.
    pub(crate) api_key_models: HashMap<String, Vec<Value>>,
    /// The Vertex publisher model list (one for every caller).
    pub(crate) vertex_models: Vec<Value>,
    /// Model → thinking levels (upper case) it refuses.
    pub(crate) thinking_refusals: HashMap<String, BTreeSet<String>>,
}

impl FakeState {
    /// Next scripted reply for a project: its queue, then its default, then the global default.
    pub(crate) fn next_reply(&mut self, project: &str) -> Option<Reply> {
        if let Some(reply) = self.queues.get_mut(project).and_then(VecDeque::pop_front) {
            return Some(reply);
        }
        self.project_defaults
            .get(project)
            .or(self.global_default.as_ref())
            .cloned()
    }

    /// Forgets what the credential scout reads (quota, credits, model lists) and the refusals, so a
    /// control `reset` leaves the next test a Google that knows nothing of the last one.
    pub(crate) fn forget_insight_scripts(&mut self) {
        self.quota_buckets.clear();
        self.quota_failures.clear();
        self.credits.clear();
        self.refuse_pattern = None;
        self.api_key_models.clear();
        self.vertex_models.clear();
        self.thinking_refusals.clear();
    }

    /// Issues a fresh access token for a refresh token and remembers whose it is.
    pub(crate) fn issue_access_token(&mut self, refresh_token: &str, expires_in: u64) -> String {
        let count = self
            .issued_counts
            .entry(refresh_token.to_owned())
            .or_default();
        *count += 1;
        let token = format!("at-{refresh_token}-{count}");
        let issued = IssuedToken {
            refresh_token: refresh_token.to_owned(),
            // Clamped so an absurd scripted lifetime cannot overflow `Instant`.
            expires_at: Instant::now() + Duration::from_secs(expires_in.min(TEN_YEARS_SECS)),
        };
        self.access_tokens.insert(token.clone(), issued);
        token
    }

    /// The refresh token behind an access token. Like Google, the fake knows only tokens it issued;
    /// with `strict_tokens` off (the benchmark server's `--accept-unissued-tokens`) tokens shaped
    /// `at-<rt>-<n>` are accepted too.
    pub(crate) fn refresh_token_of(&self, access_token: &str) -> Option<String> {
        if let Some(issued) = self.access_tokens.get(access_token) {
            return Some(issued.refresh_token.clone());
        }
        if self.strict_tokens {
            return None;
        }
        let rest = access_token.strip_prefix("at-")?;
        let (refresh, _) = rest.rsplit_once('-')?;
        Some(refresh.to_owned())
    }

    /// Whether Google would accept `access_token` as a bearer token now.
    pub(crate) fn accepts_access_token(&self, access_token: &str) -> bool {
        match self.access_tokens.get(access_token) {
            Some(issued) => issued.expires_at > Instant::now(),
            None => !self.strict_tokens && access_token.starts_with("at-"),
        }
    }

    /// Whether `client_id` / `client_secret` name an OAuth client the fake knows.
    pub(crate) fn knows_client(
        &self,
        client_id: Option<&str>,
        client_secret: Option<&str>,
    ) -> bool {
        let (Some(id), Some(secret)) = (client_id, client_secret) else {
            return false;
        };
        KNOWN_CLIENTS.iter().any(|(i, s)| *i == id && *s == secret)
            || self
                .extra_clients
                .iter()
                .any(|(i, s)| i == id && s == secret)
    }
}

/// State shared by the fake's handle and its server workers.
#[derive(Default)]
pub(crate) struct Shared {
    state: Mutex<FakeState>,
    pub(crate) open_streams: AtomicUsize,
    pub(crate) cancelled_streams: AtomicUsize,
    pub(crate) record: bool,
}

impl Shared {
    pub(crate) fn new(record: bool) -> Self {
        Shared {
            record,
            ..Shared::default()
        }
    }

    /// A panicking test thread must not wedge the fake for the others, so poison is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        if self.record {
            self.lock().requests.push(request);
        }
    }

    pub(crate) fn stream_opened(&self) {
        self.open_streams.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn stream_closed(&self, completed: bool) {
        self.open_streams.fetch_sub(1, Ordering::SeqCst);
        if !completed {
            self.cancelled_streams.fetch_add(1, Ordering::SeqCst);
        }
    }
}
