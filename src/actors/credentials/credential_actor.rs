//! `CredentialActor`: one per Google account. Owns the OAuth JSON, the access token and its expiry, the
//! project id, health (enabled, reasons, recent errors), per-model cooldowns and usage counters.
//!
//! Ordering: token refreshes are single-flight — a refresh in progress collects waiters and answers them
//! all. Refreshes run in the background ahead of expiry (5 minutes), so requests normally never wait; a
//! transient failure is retried with a short backoff while other credentials serve. Every change a
//! choice depends on is published to the credential's [`LiveCredential`] (read by request workers) and
//! persisted through the `StorageActor`. Successes are tallied by the workers in the `LiveCredential`
//! and folded into the usage counters here on [`FoldSuccesses`], at most about once per [`FOLD_DELAY`].
//!
//! Restart: the supervisor starts the actor again from the stored record; nothing lives only here.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use super::cooldown::{self, RestPolicy};
use super::kind_auth::Grant;
use super::merge::merge;
use super::messages::*;
use super::token_view::{CompactJson, TokenView};
use crate::actors::storage::messages::{
    AddUsage, ResetUsageCounters, SaveCredential, SaveCredentialNow,
};
use crate::actors::storage::StorageActor;
use crate::clock::Clock;
use crate::config::SharedSettings;
use crate::credentials::json::store_token;
use crate::credentials::{CredentialRecord, ErrorRecord, MAX_ERROR_HISTORY};
use crate::fleet::{usage, usage_sheet, CredentialError, CredentialStatus, LiveCredential};
use crate::store::Store;
use crate::upstream::classify::Verdict;
use crate::upstream::oauth::{self, OAuthError};
use crate::upstream::onboarding;

/// Refresh this long before expiry.
const REFRESH_AHEAD_SECS: i64 = 300;
/// Tokens this close to expiry are not handed out.
const MIN_TOKEN_LIFE_SECS: i64 = 30;
const MAX_BACKOFF_SECS: u64 = 30;
const MAX_ERROR_MESSAGE: usize = 500;
/// The refresh lease outlives a slow token call but not a crashed holder for long.
const LEASE_TTL_MS: u64 = 15_000;
const LEASE_POLL_MS: u64 = 250;
const LEASE_WAIT_ROUNDS: u32 = 60;
/// How long successes are tallied before they are folded into the usage counters: one message per
/// busy credential per this interval instead of one per request; the counters lag by at most this
/// (reads through [`GetRecord`] fold first, so the panel never lags).
pub const FOLD_DELAY: Duration = Duration::from_secs(1);

enum Refreshed {
    Here(
        Result<oauth::TokenResponse, OAuthError>,
        Arc<dyn Store>,
        Arc<str>,
        String,
    ),
    ByPeer(Box<CredentialRecord>),
}

/// What every credential actor needs from the rest of the gateway. One value is shared by all of
/// them (`Rc`: they run on the supervisor's arbiter): cloning addresses allocates, which adds up over
/// thousands of credentials.
#[derive(Clone)]
pub struct CredentialEnv {
    pub client: awc::Client,
    pub settings: SharedSettings,
    pub clock: Clock,
    pub storage: Addr<StorageActor>,
    pub onboarding_poll: Duration,
    /// The store itself, for the cluster-wide refresh lease and reading tokens other instances refreshed.
    pub store: Arc<dyn Store>,
    /// Identifies this process as a lease holder.
    pub instance_id: Arc<str>,
}

type Waiter = oneshot::Sender<Result<ReadyToken, CredentialError>>;

pub struct CredentialActor {
    name: Arc<str>,
    /// The stored record with its credential JSON taken out (an empty map): that lives in
    /// `credential`, and what is read of it often in `view`.
    record: CredentialRecord,
    credential: CompactJson,
    view: TokenView,
    env: Rc<CredentialEnv>,
    refreshing: bool,
    waiters: Vec<Waiter>,
    failures_in_row: u32,
    last_refresh_error: Option<String>,
    refresh_timer: Option<SpawnHandle>,
    /// The status this actor publishes and the successes workers tally for it.
    live: Arc<LiveCredential>,
}

impl CredentialActor {
    /// `name` is `record.name`, shared with the supervisor's registry rather than allocated twice;
    /// `live` is where the status is published (the slot's, which outlives a dormant spell).
    pub fn new(
        name: Arc<str>,
        mut record: CredentialRecord,
        env: Rc<CredentialEnv>,
        live: Arc<LiveCredential>,
    ) -> Self {
        let map = std::mem::take(&mut record.credential);
        let actor = Self {
            name,
            view: TokenView::of(record.kind, &map),
            credential: CompactJson::of(&map),
            record,
            env,
            refreshing: false,
            waiters: Vec::new(),
            failures_in_row: 0,
            last_refresh_error: None,
            refresh_timer: None,
            live,
        };
        // Published before the actor starts, so the credential can be chosen as soon as it is added.
        actor.publish();
        actor
    }

    /// Publishes into `live` the status `record` gives, without keeping an actor (a dormant
    /// credential); answers [`Self::idle_until`] for it.
    pub fn publish_dormant(
        name: Arc<str>,
        record: CredentialRecord,
        env: Rc<CredentialEnv>,
        live: Arc<LiveCredential>,
    ) -> Option<i64> {
        Self::new(name, record, env, live).idle_until()
    }

    /// Until when (unix seconds) the actor would have nothing to do once started: `Some(i64::MAX)`
    /// for a credential that is never refreshed (disabled, unusable, a key), the moment its token is
    /// due for refresh for one that is ready; `None` when starting would refresh or discover at once.
    /// The supervisor leaves a credential with `Some` dormant until then or until it is used.
    pub fn idle_until(&self) -> Option<i64> {
        if self.record.state.disabled || self.view.broken.is_some() || self.view.api_key {
            return Some(i64::MAX);
        }
        (self.token_fresh(REFRESH_AHEAD_SECS) && self.view.project.is_some())
            .then(|| self.view.expiry - REFRESH_AHEAD_SECS)
    }

    /// Why the credential JSON cannot be used, if it cannot.
    pub fn unusable_reason(&self) -> Option<&str> {
        self.view.broken.as_deref()
    }

    fn now(&self) -> i64 {
        self.env.clock.now()
    }

    /// The credential JSON.
    fn credential(&self) -> Map<String, Value> {
        self.credential.map()
    }

    /// Replaces the credential JSON and re-reads what the actor keeps of it.
    fn set_credential(&mut self, map: &Map<String, Value>) {
        self.view = TokenView::of(self.record.kind, map);
        self.credential = CompactJson::of(map);
    }

    /// The whole record, credential JSON included: what is stored and what the panel reads.
    fn full_record(&self) -> CredentialRecord {
        let mut record = self.record.clone();
        record.credential = self.credential();
        record
    }

    /// Takes `record` as the actor's own, its credential JSON into `credential`.
    fn set_record(&mut self, mut record: CredentialRecord) {
        let map = std::mem::take(&mut record.credential);
        self.record = record;
        self.set_credential(&map);
    }

    fn token(&self) -> Option<&str> {
        self.view.token.as_deref()
    }

    fn project(&self) -> Option<&str> {
        self.view.project.as_deref()
    }

    fn location(&self) -> Option<Arc<str>> {
        self.view
            .location(&self.env.settings.current().vertex_location)
    }

    fn token_fresh(&self, min_life: i64) -> bool {
        self.token().is_some() && self.view.expiry > self.now() + min_life
    }

    fn status(&self) -> CredentialStatus {
        CredentialStatus {
            kind: self.record.kind,
            location: self.location(),
            enabled: !self.record.state.disabled,
            access_token: self.view.token.clone(),
            token_valid_until: self.view.expiry - MIN_TOKEN_LIFE_SECS,
            project: self.view.project.clone(),
            cooldowns: self
                .record
                .state
                .model_cooldowns
                .iter()
                .filter(|(_, until)| **until > 0)
                .map(|(m, u)| (m.clone(), *u))
                .collect(),
            preview: self.record.state.preview,
            broken: self.view.broken.is_some(),
            error_codes: self.record.state.errors.iter().map(|e| e.code).collect(),
            rests: cooldown::models_with_rests(&self.record.state),
        }
    }

    fn publish(&self) {
        self.live.publish(self.status());
    }

    /// Adds the successes tallied by the workers to the usage counters (written lazily, like every
    /// success count).
    fn fold_successes(&mut self) {
        let tally = self.live.take_successes();
        if tally.is_empty() {
            return;
        }
        let now = self.now();
        for (model, n) in tally {
            usage::count_successes(&mut self.record.state.usage, &model, n, now);
            self.count_shared(usage_sheet::successes(&self.name, &model, n, now));
        }
        self.record.state.last_success = Some(now);
        self.persist(false);
    }

    /// Usage counters for a shared store (the storage actor drops them for one that is not).
    fn count_shared(&self, deltas: std::collections::BTreeMap<String, u64>) {
        self.env.storage.do_send(AddUsage { deltas });
    }

    fn persist(&mut self, urgent: bool) {
        self.record.state.revision += 1;
        self.env.storage.do_send(SaveCredential {
            record: self.full_record(),
            urgent,
        });
    }

    fn changed(&mut self, urgent: bool) {
        self.persist(urgent);
        self.publish();
    }

    fn disable(&mut self, reason: String) {
        if !self.record.state.disabled {
            log::warn!("credential {} disabled: {reason}", self.name);
        }
        self.record.state.disabled = true;
        self.record.state.disabled_reason = Some(reason);
        self.record.state.disabled_changed_at = self.now_ms();
    }

    fn now_ms(&self) -> i64 {
        self.env.clock.now_millis()
    }

    fn push_error(&mut self, code: u16, message: String) {
        let mut message = message;
        if message.len() > MAX_ERROR_MESSAGE {
            let mut cut = MAX_ERROR_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let errors = &mut self.record.state.errors;
        errors.push(ErrorRecord {
            code,
            message,
            at: self.env.clock.now(),
        });
        let excess = errors.len().saturating_sub(MAX_ERROR_HISTORY);
        errors.drain(..excess);
    }

    /// Schedules the next background refresh: ahead of expiry, or soon after a failure.
    fn schedule_refresh(&mut self, ctx: &mut Context<Self>, after: Duration) {
        if let Some(handle) = self.refresh_timer.take() {
            ctx.cancel_future(handle);
        }
        self.refresh_timer = Some(ctx.run_later(after, |act, ctx| {
            act.refresh_timer = None;
            act.start_refresh(ctx);
        }));
    }

    fn schedule_ahead_of_expiry(&mut self, ctx: &mut Context<Self>) {
        let secs = (self.view.expiry - REFRESH_AHEAD_SECS - self.now()).max(0);
        self.schedule_refresh(ctx, Duration::from_secs(secs as u64));
    }

    fn answer_waiters(&mut self, result: Result<ReadyToken, CredentialError>) {
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(result.clone());
        }
    }

    fn ready_pair(&self) -> Option<ReadyToken> {
        if !self.token_fresh(MIN_TOKEN_LIFE_SECS) {
            return None;
        }
        Some(ReadyToken {
            kind: self.record.kind,
            access_token: self.view.token.clone()?,
            project: self.view.project.clone()?,
            location: self.location(),
        })
    }

    /// Refreshes the token if it is due (or missing), then discovers the project if missing.
    fn start_refresh(&mut self, ctx: &mut Context<Self>) {
        if self.refreshing || self.record.state.disabled {
            return;
        }
        if self.view.broken.is_some() || self.view.api_key {
            // Broken: nothing to refresh with. A key: ready as long as Google accepts it.
            return;
        }
        if self.token_fresh(REFRESH_AHEAD_SECS) {
            if self.view.project.is_none() {
                self.start_discovery(ctx);
            } else {
                self.schedule_ahead_of_expiry(ctx);
            }
            return;
        }
        let map = self.credential();
        let grant = self
            .record
            .kind
            .rules()
            .fields(&map)
            .ok()
            .and_then(|fields| Grant::of(self.record.kind, &fields, &map));
        let Some(grant) = grant else {
            return;
        };
        self.refreshing = true;
        let client = self.env.client.clone();
        let base = self.env.settings.current().oauth_proxy_url.clone();
        let store = self.env.store.clone();
        let clock = self.env.clock.clone();
        let holder = self.env.instance_id.clone();
        let lease = format!("refresh:{}", self.name);
        let name = self.name.clone();
        let kind = self.record.kind;
        let fut = async move {
            // One refresh per credential across every instance sharing the store: the others wait
            // for the lease holder and reuse the token it saved.
            for _ in 0..LEASE_WAIT_ROUNDS {
                match store.try_lease(&lease, &holder, LEASE_TTL_MS).await {
                    Ok(true) | Err(_) => break,
                    Ok(false) => {
                        tokio::time::sleep(Duration::from_millis(LEASE_POLL_MS)).await;
                        if let Ok(Some(record)) = store.get_credential(&name).await {
                            if let Ok(f) = kind.rules().fields(&record.credential) {
                                let fresh = f.expiry.is_some_and(|e| {
                                    e.timestamp() > clock.now() + REFRESH_AHEAD_SECS
                                });
                                if fresh && f.access_token.is_some() {
                                    return Refreshed::ByPeer(Box::new(record));
                                }
                            }
                        }
                    }
                }
            }
            let result = grant.run(&client, &base, clock.now()).await;
            Refreshed::Here(result, store, holder, lease)
        };
        ctx.spawn(fut.into_actor(self).map(|outcome, act, ctx| match outcome {
            Refreshed::Here(result, store, holder, lease) => {
                let refreshed = result.is_ok();
                act.on_refreshed(result, ctx);
                // Release only once the new token is in the store, so a waiting peer finds it
                // instead of taking the lease and refreshing again.
                let record = refreshed.then(|| act.full_record());
                let storage = act.env.storage.clone();
                actix::spawn(async move {
                    if let Some(record) = record {
                        let name = record.name.clone();
                        match storage.send(SaveCredentialNow { record }).await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => log::warn!("saving refreshed token of {name}: {e}"),
                            Err(_) => log::warn!("saving refreshed token of {name}: storage gone"),
                        }
                    }
                    let _ = store.release_lease(&lease, &holder).await;
                });
            }
            Refreshed::ByPeer(record) => {
                act.refreshing = false;
                log::info!(
                    "credential {}: using the token another instance refreshed",
                    act.name
                );
                act.set_credential(&record.credential);
                act.publish();
                if let Some(pair) = act.ready_pair() {
                    act.answer_waiters(Ok(pair));
                }
                act.schedule_ahead_of_expiry(ctx);
            }
        }));
    }

    fn on_refreshed(
        &mut self,
        result: Result<oauth::TokenResponse, OAuthError>,
        ctx: &mut Context<Self>,
    ) {
        self.refreshing = false;
        match result {
            Ok(token) => {
                let expiry = self.env.clock.now_datetime()
                    + chrono::Duration::seconds(token.expires_in.max(60));
                let mut map = self.credential();
                store_token(
                    &mut map,
                    &token.access_token,
                    expiry,
                    token.refresh_token.as_deref(),
                );
                self.set_credential(&map);
                self.view.expiry = expiry.timestamp();
                self.failures_in_row = 0;
                self.last_refresh_error = None;
                log::info!("credential {}: access token refreshed", self.name);
                self.changed(true);
                if self.project().is_none() {
                    self.start_discovery(ctx);
                } else {
                    let pair = self.ready_pair();
                    if let Some(pair) = pair {
                        self.answer_waiters(Ok(pair));
                    }
                    self.schedule_ahead_of_expiry(ctx);
                }
            }
            Err(OAuthError::Permanent { status, reason }) => {
                self.push_error(status, format!("token refresh refused: {reason}"));
                self.disable(reason.clone());
                self.changed(true);
                self.answer_waiters(Err(CredentialError::NotReady(
                    self.name.to_string(),
                    reason,
                )));
            }
            Err(OAuthError::Transient(message)) => {
                self.failures_in_row += 1;
                let backoff = (1u64 << self.failures_in_row.min(5)).min(MAX_BACKOFF_SECS);
                log::warn!(
                    "credential {}: token refresh failed ({message}); retrying in {backoff} s",
                    self.name
                );
                self.last_refresh_error = Some(message.clone());
                self.answer_waiters(Err(CredentialError::NotReady(
                    self.name.to_string(),
                    message,
                )));
                self.schedule_refresh(ctx, Duration::from_secs(backoff));
            }
        }
    }

    fn start_discovery(&mut self, ctx: &mut Context<Self>) {
        // Only Code Assist logins discover a project; the other kinds name theirs (or need none).
        if self.refreshing || !self.record.kind.rules().is_account_login() {
            return;
        }
        let Some(token) = self.token().map(str::to_string) else {
            return;
        };
        self.refreshing = true;
        let client = self.env.client.clone();
        let endpoint = self.env.settings.current().code_assist_endpoint.clone();
        let poll = self.env.onboarding_poll;
        let fut =
            async move { onboarding::discover_project(&client, &endpoint, &token, poll).await };
        ctx.spawn(fut.into_actor(self).map(|result, act, ctx| {
            act.refreshing = false;
            match result {
                Ok(project) => {
                    log::info!("credential {}: using project {project}", act.name);
                    let mut map = act.credential();
                    map.insert("project_id".into(), Value::String(project));
                    act.set_credential(&map);
                    act.save_discovered_project(ctx);
                }
                Err(e) => {
                    let message = format!("project discovery failed: {e}");
                    log::warn!("credential {}: {message}", act.name);
                    act.last_refresh_error = Some(message.clone());
                    act.answer_waiters(Err(CredentialError::NotReady(
                        act.name.to_string(),
                        message,
                    )));
                    act.failures_in_row += 1;
                    let backoff = (1u64 << act.failures_in_row.min(5)).min(MAX_BACKOFF_SECS);
                    act.schedule_refresh(ctx, Duration::from_secs(backoff));
                }
            }
        }));
    }

    /// Writes the record with its newly discovered project and waits until the store has it before
    /// publishing the project and answering the waiting requests: whoever is served with the project
    /// then finds it persisted, which a queued `SaveCredential` would not promise. `ctx.wait` holds
    /// this actor's mailbox meanwhile, so no `EnsureReady` is answered from memory first; it is one
    /// write in the credential's life.
    fn save_discovered_project(&mut self, ctx: &mut Context<Self>) {
        self.record.state.revision += 1;
        let record = self.full_record();
        let storage = self.env.storage.clone();
        let save = async move {
            let name = record.name.clone();
            match storage.send(SaveCredentialNow { record }).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => log::warn!("saving discovered project of {name}: {e}"),
                Err(_) => log::warn!("saving discovered project of {name}: storage gone"),
            }
        };
        ctx.wait(save.into_actor(self).map(|(), act, ctx| {
            act.publish();
            let pair = act.ready_pair();
            if let Some(pair) = pair {
                act.answer_waiters(Ok(pair));
            }
            act.schedule_ahead_of_expiry(ctx);
        }));
    }

    /// Books a failure by its verdict (see [`cooldown::book`]) next to the error history. Answers until
    /// when the credential rests for the model.
    fn on_failure(
        &mut self,
        base_model: &str,
        status: u16,
        verdict: &Verdict,
        now: i64,
    ) -> Option<i64> {
        let settings = self.env.settings.current();
        self.push_error(status, verdict.message.clone());
        usage::count_failure(&mut self.record.state.usage, now);
        self.count_shared(usage_sheet::failure(&self.name));
        let policy = RestPolicy {
            backoff_base_secs: settings.rate_limit_backoff_seconds,
            max_secs: settings.cooldown_max_seconds,
        };
        let at_ms = self.now_ms();
        let booked = cooldown::book(
            &mut self.record.state,
            base_model,
            status,
            verdict,
            (now, at_ms),
            policy,
        );
        if let Some(until) = booked.rests_until {
            log::info!(
                "credential {} rests for {base_model} for {} s ({}: {})",
                self.name,
                until - now,
                verdict.kind,
                verdict.message
            );
        }
        if let Some(reason) = booked.disable {
            self.disable(reason);
        }
        if status == 401 && !self.view.api_key {
            // Google no longer accepts this token: make the next use refresh it.
            self.view.expiry = 0;
        }
        booked.rests_until
    }
}

impl Actor for CredentialActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // A busy gateway queues many reports; give the mailbox room before senders see it as full.
        ctx.set_mailbox_capacity(1024);
        if let Some(reason) = &self.view.broken {
            log::warn!("credential {} is unusable: {reason}", self.name);
        }
        // No publish: `new` published this status before the actor started, and publishing it again
        // for every credential at start-up is 100,000 status builds ahead of the first request.
        self.start_refresh(ctx);
    }
}

impl Handler<EnsureReady> for CredentialActor {
    type Result = ResponseFuture<Result<ReadyToken, CredentialError>>;

    fn handle(&mut self, _: EnsureReady, ctx: &mut Self::Context) -> Self::Result {
        if let Some(reason) = &self.view.broken {
            let err = CredentialError::NotReady(self.name.to_string(), reason.to_string());
            return Box::pin(async move { Err(err) });
        }
        if self.record.state.disabled {
            let err = CredentialError::NotReady(self.name.to_string(), "disabled".into());
            return Box::pin(async move { Err(err) });
        }
        if let Some(pair) = self.ready_pair() {
            return Box::pin(async move { Ok(pair) });
        }
        let (tx, rx) = oneshot::channel();
        self.waiters.push(tx);
        if !self.refreshing {
            if let Some(handle) = self.refresh_timer.take() {
                ctx.cancel_future(handle);
            }
            if self.token_fresh(MIN_TOKEN_LIFE_SECS) {
                self.start_discovery(ctx);
            } else {
                self.start_refresh(ctx);
            }
        }
        let name = self.name.to_string();
        Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Err(CredentialError::NotReady(name, "stopped".into())))
        })
    }
}

impl Handler<ReportOutcome> for CredentialActor {
    type Result = Option<i64>;

    fn handle(&mut self, msg: ReportOutcome, ctx: &mut Self::Context) -> Option<i64> {
        let now = self.now();
        match msg.outcome {
            Outcome::Success => {
                usage::count_success(&mut self.record.state.usage, &msg.base_model, now);
                self.count_shared(usage_sheet::successes(&self.name, &msg.base_model, 1, now));
                self.record.state.last_success = Some(now);
                let at = self.now_ms();
                let ended = cooldown::end(&mut self.record.state, &msg.base_model, at);
                // Success counters are many and cheap to lose a second of: write them lazily.
                self.persist(ended);
                if ended {
                    self.publish();
                }
                None
            }
            Outcome::Failure { status, verdict } => {
                let until = self.on_failure(&msg.base_model, status, &verdict, now);
                self.changed(true);
                if status == 401 {
                    self.start_refresh(ctx);
                }
                until
            }
            Outcome::Transport(message) => {
                log::debug!("credential {}: transport error: {message}", self.name);
                None
            }
        }
    }
}

impl Handler<FoldSuccesses> for CredentialActor {
    type Result = ();

    fn handle(&mut self, _: FoldSuccesses, ctx: &mut Self::Context) {
        ctx.run_later(FOLD_DELAY, |act, _| act.fold_successes());
    }
}

impl Handler<GetRecord> for CredentialActor {
    type Result = MessageResult<GetRecord>;

    fn handle(&mut self, _: GetRecord, _: &mut Self::Context) -> Self::Result {
        self.fold_successes();
        let mut record = self.full_record();
        usage::roll(&mut record.state.usage, self.now());
        MessageResult(record)
    }
}

impl Handler<SetEnabled> for CredentialActor {
    type Result = ();

    fn handle(&mut self, msg: SetEnabled, ctx: &mut Self::Context) {
        if msg.enabled {
            self.record.state.disabled = false;
            self.record.state.disabled_reason = None;
            self.record.state.disabled_changed_at = self.now_ms();
            self.failures_in_row = 0;
            self.changed(true);
            self.start_refresh(ctx);
        } else {
            self.disable(msg.reason.unwrap_or_else(|| "disabled by hand".into()));
            self.changed(true);
        }
    }
}

impl Handler<ClearCooldown> for CredentialActor {
    type Result = ();

    fn handle(&mut self, msg: ClearCooldown, _: &mut Self::Context) {
        let at = self.now_ms();
        match msg.model {
            Some(model) => {
                if !cooldown::clear_model(&mut self.record.state, &model, at) {
                    return;
                }
                log::info!("credential {}: cooldown of one model cleared", self.name);
            }
            None => {
                cooldown::clear_all(&mut self.record.state, at);
                log::info!("credential {}: cooldowns cleared", self.name);
            }
        }
        self.changed(true);
    }
}

impl Handler<QuotaRestored> for CredentialActor {
    type Result = ();

    fn handle(&mut self, msg: QuotaRestored, _: &mut Self::Context) {
        let now = self.now();
        let mut healed = false;
        for model in &msg.models {
            healed |= cooldown::heal(&mut self.record.state, model, now, msg.fetched_at_ms);
        }
        if healed {
            log::info!(
                "credential {}: quota is back, daily rests end through a probe",
                self.name
            );
            self.changed(true);
        }
    }
}

impl Handler<UpdateLimits> for CredentialActor {
    type Result = ();

    fn handle(&mut self, msg: UpdateLimits, _: &mut Self::Context) {
        if let Some(total) = msg.total {
            self.record.state.usage.daily_limit_total = total;
        }
        if let Some(pro) = msg.pro {
            self.record.state.usage.daily_limit_pro = pro;
        }
        self.persist(true);
    }
}

impl Handler<ResetUsage> for CredentialActor {
    type Result = ();

    fn handle(&mut self, _: ResetUsage, _: &mut Self::Context) {
        // Successes before the reset are part of what it zeroes.
        self.fold_successes();
        let usage = &mut self.record.state.usage;
        usage.total_calls = 0;
        usage.pro_calls = 0;
        usage.calls_per_model.clear();
        self.env.storage.do_send(ResetUsageCounters {
            name: self.name.to_string(),
        });
        self.persist(true);
    }
}

impl Handler<FetchEmail> for CredentialActor {
    type Result = ResponseActFuture<Self, Result<String, FetchEmailError>>;

    fn handle(&mut self, _: FetchEmail, _: &mut Self::Context) -> Self::Result {
        // Only OAuth logins have an account to ask about; a key has no email and a service account
        // names its own.
        if !self.record.kind.rules().is_account_login() {
            let email = self
                .credential()
                .get("client_email")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| FetchEmailError::Google("an API key has no account email".into()));
            return Box::pin(actix::fut::ready(email));
        }
        let client = self.env.client.clone();
        let base = self.env.settings.current().googleapis_proxy_url.clone();
        let token = self.token().map(str::to_string);
        let fut = async move {
            let token = token.ok_or(FetchEmailError::NoToken)?;
            oauth::fetch_email(&client, &base, &token)
                .await
                .map_err(|e| FetchEmailError::Google(e.to_string()))
        };
        Box::pin(fut.into_actor(self).map(|result, act, _| {
            if let Ok(email) = &result {
                act.record.state.user_email = Some(email.clone());
                act.persist(true);
            }
            result
        }))
    }
}

impl Handler<ReplaceCredential> for CredentialActor {
    type Result = ();

    fn handle(&mut self, msg: ReplaceCredential, ctx: &mut Self::Context) {
        self.set_credential(&msg.credential);
        self.changed(true);
        self.start_refresh(ctx);
    }
}

impl Handler<ExternalUpdate> for CredentialActor {
    type Result = ();

    fn handle(&mut self, msg: ExternalUpdate, ctx: &mut Self::Context) {
        let mine = self.full_record();
        let merged = merge(&mine, &msg.record);
        // Whether the store lacks something we know (e.g. another instance overwrote our ban).
        let we_know_more = merge(&msg.record, &mine) != msg.record;
        if merged == mine {
            if we_know_more {
                self.persist(true);
            }
            return;
        }
        let was_disabled = self.record.state.disabled;
        self.set_record(merged);
        self.publish();
        // Write back only what the store lacks, so instances converge instead of echoing each other.
        if we_know_more {
            self.persist(true);
        }
        if was_disabled && !self.record.state.disabled {
            self.start_refresh(ctx);
        }
    }
}

impl Handler<StopCredential> for CredentialActor {
    type Result = ();

    fn handle(&mut self, _: StopCredential, ctx: &mut Self::Context) {
        self.fold_successes();
        self.answer_waiters(Err(CredentialError::NotReady(
            self.name.to_string(),
            "removed".into(),
        )));
        ctx.stop();
    }
}
