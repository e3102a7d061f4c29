//! In-process, scriptable fake of the Google endpoints gcli2api calls: OAuth token, userinfo,
//! Code Assist `v1internal`, the Gemini API and Vertex (`bare_apis.rs`), Resource Manager and Service
//! Usage, all on one loopback base URL.
//!
//! Code Assist replies are scripted per envelope `project` (FIFO queue, then per-project default,
//! then global default, then `Hello from <model>` in three events); bare API replies per API key or
//! Vertex project; every request is recorded. What a credential learns of itself is scripted too:
//! `retrieveUserQuota` buckets per project (`quota.rs`), Google One AI credits per project, reported
//! by `loadCodeAssist` and spent by calls that enable them (`credits.rs`), and the Gemini API model
//! list per key and the Vertex one (`model_lists.rs`). Refusals by body content or by thinking level
//! come before any scripted reply (`refusals.rs`).
//! As strict as Google: API calls need an unexpired access token the fake issued, and the token
//! endpoint answers only known OAuth clients (`state::KNOWN_CLIENTS`, or `register_client`).
//! Shared by the integration tests and `examples/fake_google_server.rs`.

// Each consumer (a test binary, the benchmark server) uses a different part of this API.
#![allow(dead_code, unused_imports)]

#[path = "fake_google/accounts.rs"]
mod accounts;
#[path = "fake_google/bare_apis.rs"]
mod bare_apis;
#[path = "fake_google/code_assist.rs"]
mod code_assist;
#[path = "fake_google/control.rs"]
mod control;
#[path = "fake_google/control_scripts.rs"]
mod control_scripts;
#[path = "fake_google/credits.rs"]
mod credits;
#[path = "fake_google/dispatch.rs"]
mod dispatch;
#[path = "fake_google/implicit_cache.rs"]
mod implicit_cache;
#[path = "fake_google/jwt_grant.rs"]
mod jwt_grant;
#[path = "fake_google/model_lists.rs"]
mod model_lists;
#[path = "fake_google/onboarding.rs"]
mod onboarding;
#[path = "fake_google/quota.rs"]
mod quota;
#[path = "fake_google/refusals.rs"]
mod refusals;
#[path = "fake_google/render.rs"]
mod render;
#[path = "fake_google/reply.rs"]
mod reply;
#[path = "fake_google/sse_body.rs"]
mod sse_body;
#[path = "fake_google/state.rs"]
mod state;
#[path = "fake_google/tool_script.rs"]
mod tool_script;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use serde_json::Value;

pub use bare_apis::api_key_invalid;
pub use credits::CREDIT_TYPE;
pub use jwt_grant::public_der;
pub use quota::quota_bucket;
pub use reply::{LoadCodeAssist, RawEvent, Reply, TokenReply, SEND_TIME_MARK};
pub use state::RecordedRequest;
pub use tool_script::{parse_tool_script, ToolScript, SCRIPT_SIGNATURE};

use state::Shared;

/// Large prompts must reach the fake intact; actix's default limit is 256 KiB.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// How to run the fake; `Default` is what tests want (loopback, any port, one worker, recording).
#[derive(Clone, Debug)]
pub struct FakeGoogleOptions {
    pub bind: SocketAddr,
    pub workers: usize,
    pub record: bool,
    /// Global default reply installed before the first request.
    pub default_reply: Option<Reply>,
    /// Serve the HTTP control API under `/__fake/` (see `fake_google/control.rs`).
    pub control: bool,
    /// Refuse bearer tokens the fake never issued, as Google does. Only the benchmark server turns
    /// this off, because its credential files carry tokens the script made up.
    pub strict_tokens: bool,
}

impl Default for FakeGoogleOptions {
    fn default() -> Self {
        FakeGoogleOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: 1,
            record: true,
            default_reply: None,
            control: false,
            strict_tokens: true,
        }
    }
}

/// A running fake; stops when `stop()` is awaited or the value is dropped.
pub struct FakeGoogle {
    shared: Arc<Shared>,
    handle: ServerHandle,
    addr: SocketAddr,
}

impl FakeGoogle {
    /// Binds 127.0.0.1 on a free port and serves from the current runtime until stopped.
    pub async fn start() -> FakeGoogle {
        match Self::start_with(FakeGoogleOptions::default()).await {
            Ok(fake) => fake,
            Err(error) => panic!("fake Google could not bind a loopback port: {error}"),
        }
    }

    pub async fn start_with(options: FakeGoogleOptions) -> io::Result<FakeGoogle> {
        let shared = Arc::new(Shared::new(options.record));
        shared.lock().global_default = options.default_reply.clone();
        shared.lock().strict_tokens = options.strict_tokens;
        let data = web::Data::from(Arc::clone(&shared));
        let control = options.control.then_some(options.default_reply);
        let server = HttpServer::new(move || {
            let control = control.clone();
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .configure(move |cfg| {
                    if let Some(initial_default) = control {
                        control::configure(cfg, initial_default);
                    }
                })
                .default_service(web::to(dispatch::dispatch))
        })
        .workers(options.workers.max(1))
        // A burst of hundreds of upstream calls on a busy machine can leave this one worker behind
        // for seconds: actix's 5 s defaults would then answer 408 or drop pooled connections the
        // gateway is about to reuse, which Google does not do.
        .client_request_timeout(std::time::Duration::from_secs(60))
        .keep_alive(std::time::Duration::from_secs(75))
        .backlog(4096)
        // Google's front ends send each stream event at once; Nagle's algorithm would hold small
        // events back until the previous one is acknowledged.
        .tcp_nodelay(true)
        .disable_signals()
        .shutdown_timeout(0)
        .bind(options.bind)?;
        let addr =
            server.addrs().first().copied().ok_or_else(|| {
                io::Error::new(io::ErrorKind::AddrNotAvailable, "no bound address")
            })?;
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(FakeGoogle {
            shared,
            handle,
            addr,
        })
    }

    /// Base URL for every overridable Google endpoint (`CODE_ASSIST_ENDPOINT`, `OAUTH_PROXY_URL`, …).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    // ---- Code Assist scripting -------------------------------------------------------------

    /// Queues a reply for the next generate / stream call whose envelope names `project`.
    pub fn enqueue(&self, project: &str, reply: Reply) {
        self.shared
            .lock()
            .queues
            .entry(project.to_owned())
            .or_default()
            .push_back(reply);
    }

    /// Replies used when a project's queue is empty; `None` sets the global default.
    pub fn set_default_reply(&self, project: Option<&str>, reply: Reply) {
        let mut state = self.shared.lock();
        match project {
            Some(project) => {
                state.project_defaults.insert(project.to_owned(), reply);
            }
            None => state.global_default = Some(reply),
        }
    }

    /// Answers calls that declare `script.function` with a call of it, then with its output (see
    /// `fake_google/tool_script.rs`).
    pub fn add_tool_script(&self, script: ToolScript) {
        self.shared.lock().tool_scripts.push(script);
    }

    /// Scripted replies still waiting in a project's queue.
    pub fn pending_replies(&self, project: &str) -> usize {
        self.shared
            .lock()
            .queues
            .get(project)
            .map_or(0, |q| q.len())
    }

    /// Models Gemini's implicit context cache: a request repeating the prompt prefix of an earlier
    /// request of the same project reports the repeated words as `cachedContentTokenCount` (see
    /// `fake_google/implicit_cache.rs`).
    pub fn enable_implicit_cache(&self) {
        self.shared.lock().implicit_cache = Some(implicit_cache::ImplicitCache::default());
    }

    // ---- accounts scripting ----------------------------------------------------------------

    pub fn set_token_reply(&self, refresh_token: &str, reply: TokenReply) {
        self.shared
            .lock()
            .token_replies
            .insert(refresh_token.to_owned(), reply);
    }

    /// Email userinfo reports for the account of this refresh token (default `<refresh>@example.com`).
    /// An access token for `refresh_token`, issued now (valid for an hour) as if the account had
    /// signed in earlier: for credential files that start with a usable token.
    pub fn issue_access_token(&self, refresh_token: &str) -> String {
        self.shared.lock().issue_access_token(refresh_token, 3600)
    }

    /// Accept one more OAuth client at the token endpoint (besides the built-in ones).
    pub fn register_client(&self, client_id: &str, client_secret: &str) {
        self.shared
            .lock()
            .extra_clients
            .push((client_id.to_owned(), client_secret.to_owned()));
    }

    pub fn set_email(&self, refresh_token: &str, email: &str) {
        self.shared
            .lock()
            .emails
            .insert(refresh_token.to_owned(), email.to_owned());
    }

    /// ACTIVE projects listed by Resource Manager, as `(projectId, displayName)`.
    pub fn set_projects(&self, projects: Vec<(String, String)>) {
        self.shared.lock().projects = projects;
    }

    /// Replaces the onboarding script and forgets running operations.
    pub fn set_load_code_assist(&self, reply: LoadCodeAssist) {
        let mut state = self.shared.lock();
        state.load_code_assist = reply;
        state.operations.clear();
    }

    /// Makes an authorization code exchangeable for tokens of this refresh token.
    pub fn set_auth_code(&self, code: &str, refresh_token: &str) {
        self.shared
            .lock()
            .auth_codes
            .insert(code.to_owned(), refresh_token.to_owned());
    }

    pub fn set_service_enabled(&self, project: &str, service: &str) {
        self.shared
            .lock()
            .enabled_services
            .insert((project.to_owned(), service.to_owned()));
    }

    // ---- API keys and service accounts (Generative Language, Vertex) ----------------------

    /// Accepts `key` on the Generative Language and Vertex express paths; replies to its calls are
    /// scripted with `enqueue(key, …)`.
    pub fn add_api_key(&self, key: &str) {
        self.shared.lock().api_keys.insert(key.to_owned());
    }

    /// Accepts JWT-bearer assertions of `client_email` signed by the key whose public half is
    /// `public_pem` (`RSA PUBLIC KEY`).
    pub fn register_service_account(&self, client_email: &str, public_pem: &str) {
        self.shared
            .lock()
            .service_accounts
            .insert(client_email.to_owned(), jwt_grant::public_der(public_pem));
    }

    /// Lifetime (seconds) of the tokens service accounts get; 3600 unless set.
    pub fn set_service_account_token_secs(&self, secs: u64) {
        self.shared.lock().service_account_token_secs = secs;
    }

    /// JWT-bearer grants received for `client_email`, refused ones included.
    pub fn jwt_grants(&self, client_email: &str) -> usize {
        self.shared
            .lock()
            .jwt_grants
            .get(client_email)
            .copied()
            .unwrap_or(0)
    }

    // ---- what the credential scout reads: quota, credits, model lists ----------------------

    /// `retrieveUserQuota` buckets of `project`, served verbatim (build them with [`quota_bucket`]).
    pub fn set_quota_buckets(&self, project: &str, buckets: Vec<Value>) {
        self.shared
            .lock()
            .quota_buckets
            .insert(project.to_owned(), buckets);
    }

    /// Makes `retrieveUserQuota` for `project` fail with this status (Google's error body); `None`
    /// lets it answer again.
    pub fn set_quota_failure(&self, project: &str, status: Option<u16>) {
        let mut state = self.shared.lock();
        match status {
            Some(status) => state.quota_failures.insert(project.to_owned(), status),
            None => state.quota_failures.remove(project),
        };
    }

    /// Google One AI credits of `project` (see `fake_google/credits.rs`).
    pub fn set_credits(&self, project: &str, amount: i64) {
        self.shared
            .lock()
            .credits
            .insert(project.to_owned(), amount);
    }

    /// Credits `project` has left; `None` when it never had any scripted.
    pub fn credits(&self, project: &str) -> Option<i64> {
        self.shared.lock().credits.get(project).copied()
    }

    /// The Gemini API model list of `key` (objects as Google writes them: `name: "models/<id>"`,
    /// `displayName`, token limits, `supportedGenerationMethods`, `thinking`). The key must also be
    /// accepted (`add_api_key`); an unknown key answers 400 `API_KEY_INVALID`.
    pub fn set_api_key_models(&self, key: &str, models: Vec<Value>) {
        self.shared
            .lock()
            .api_key_models
            .insert(key.to_owned(), models);
    }

    /// The Vertex publisher model list every caller sees (`name: "publishers/google/models/<id>"`,
    /// `versionId`, `launchStage`).
    pub fn set_vertex_models(&self, models: Vec<Value>) {
        self.shared.lock().vertex_models = models;
    }

    // ---- refusals (before any scripted reply; see `fake_google/refusals.rs`) ----------------

    /// Refuses with a plain 429 every generate / stream / countTokens call, on any API, whose body
    /// contains `pattern`; `None` (or an empty pattern) stops refusing.
    pub fn refuse_pattern(&self, pattern: Option<&str>) {
        self.shared.lock().refuse_pattern = pattern.filter(|p| !p.is_empty()).map(str::to_owned);
    }

    /// Refuses with 400 `INVALID_ARGUMENT` generate / stream calls for `model` asking for thinking
    /// `level` (case-insensitive); several levels may be refused per model.
    pub fn refuse_thinking_level(&self, model: &str, level: &str) {
        self.shared
            .lock()
            .thinking_refusals
            .entry(refusals::bare_model(model).to_owned())
            .or_default()
            .insert(level.to_ascii_uppercase());
    }

    // ---- observation -----------------------------------------------------------------------

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    pub fn requests_to(&self, path_contains: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|request| request.path.contains(path_contains))
            .cloned()
            .collect()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Refresh-token grants received for this refresh token, failed ones included.
    pub fn token_refreshes(&self, refresh_token: &str) -> usize {
        self.shared
            .lock()
            .refresh_counts
            .get(refresh_token)
            .copied()
            .unwrap_or(0)
    }

    pub fn service_enabled(&self, project: &str, service: &str) -> bool {
        self.shared
            .lock()
            .enabled_services
            .contains(&(project.to_owned(), service.to_owned()))
    }

    /// Streams whose body is currently being written.
    pub fn open_streams(&self) -> usize {
        self.shared.open_streams.load(Ordering::SeqCst)
    }

    /// Streams dropped before their scripted end because the client went away.
    pub fn cancelled_streams(&self) -> usize {
        self.shared.cancelled_streams.load(Ordering::SeqCst)
    }
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        // The stop command is sent synchronously; awaiting its completion is optional.
        drop(self.handle.stop(false));
    }
}
