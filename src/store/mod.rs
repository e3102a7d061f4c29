//! Persistence. One trait, one file per backend; no actix types here so every backend can be tested alone.
//!
//! Backend choice (first set wins): `REDIS_URI` > `POSTGRES_DSN` > `MONGODB_URI` > files in `CREDENTIALS_DIR`.
//! Every write a method acknowledges is durable when the call returns, with one exception: the files
//! backend keeps credential insights (`put_insight`) in memory only, see `file.rs`.
//!
//! # Who writes what
//!
//! Each kind of record has one owner; nothing else writes it.
//!
//! | Records | Writer | How |
//! |---|---|---|
//! | credentials (`put_credential`, `delete_credential`) | `StorageActor` | `SaveCredential` (coalesced), `SaveCredentialNow` (a refreshed token, awaited before the refresh lease is released), `DeleteCredential` |
//! | API keys (`insert_key`, `delete_key`) | `QuotaActor` | `CreateKey`, `DeleteKey` |
//! | key balances (`debit_keys`, `refund_key`) | `Debits` (on the request workers) | `admit` (group-committed batches), `refund` |
//! | model costs | `QuotaActor` | `SetCost`, `DeleteCost` |
//! | panel-saved config (`save_config`) | `ConfigActor` | `SaveConfig` |
//! | credential insights (`put_insight`) | the credential scout (`actors/scout`) | directly, see below |
//! | credential insights (`delete_insight`) | `StorageActor` | `DeleteCredential`, after the credential |
//! | failed panel logins, logged-out sessions | `SessionGuard` | `LoginFailed`, `LoginSucceeded`, `Revoke` |
//! | counters, sheet `usage` (`add_counters`, `remove_counters`) | `StorageActor` | `AddUsage` (coalesced), `ResetUsageCounters` |
//! | counters, sheet `tokens` | `RequestHistory` | its periodic save, `FlushTokens` |
//! | audit entries (`append_audit`, `prune_audit`) | the audit writer (`crate::audit`) | its own task, off the request path |
//!
//! Direct writes, and why they are not behind an actor:
//! - refresh leases (`try_lease`, `release_lease`) are taken by each `CredentialActor` itself: a lease is
//!   a cross-process lock, atomic in the backend, and must be held by the one refreshing;
//! - credential insights (`put_insight`) are written by the credential scout itself, like leases: each
//!   is a whole snapshot of what Google answered, replaced by the next fetch, so there is nothing to
//!   coalesce or order against other writes, and routing every fetch through an actor would only
//!   queue them;
//! - the panel's JWT secret (`auth::panel::load_or_create_secret`) is created in `save_config` once at
//!   start-up, before any actor runs;
//! - `migrate` (the `migrate` command) copies a whole store while no gateway runs on it;
//! - `close` at shutdown, after the actors stopped.
//!
//! Reads are free for everyone (routes list keys and credentials straight from the store).

pub mod audit;
pub mod file;
pub mod insight;
pub mod key_hashing;
pub mod migrate;
pub mod model;
#[cfg(feature = "mongodb")]
pub mod mongo;
pub mod open;
pub mod postgres;
pub mod redis;
pub mod tls;
pub mod windows;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{Map, Value};

pub use audit::{AuditAction, AuditEntry, AuditQuery, MAX_AUDIT_ENTRIES};
pub use file::{FileStore, FileStoreOptions};
pub use insight::{CredentialInsight, CreditBalance, ModelInfo, QuotaBucket};
pub use migrate::{migrate, MigrationReport};
// The store persists credentials but does not define them: their types are `crate::credentials`'.
pub use crate::credentials::{
    CooldownRecord, CredentialKind, CredentialRecord, CredentialState, ErrorRecord, UsageCounters,
    MAX_ERROR_HISTORY,
};
pub use model::{ApiKeyRecord, DebitOutcome, DebitRequest, KeyLimit, KeyPolicy};
pub use open::{
    open_store, open_store_with_tls, StoreUrl, DEFAULT_MONGODB_DATABASE, DEFAULT_PREFIX,
};
pub use windows::{WindowCharge, WindowUse, WindowVerdict};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage backend unreachable: {0}")]
    Unavailable(String),
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("storage backend error: {0}")]
    Backend(String),
    #[error("record already exists: {0}")]
    Conflict(String),
}

impl StoreError {
    /// A copy for each of several callers that share one failed call (`io::Error` is not `Clone`).
    pub fn duplicate(&self) -> StoreError {
        match self {
            StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
            StoreError::Io(io) => StoreError::Io(std::io::Error::new(io.kind(), io.to_string())),
            StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
            StoreError::Backend(m) => StoreError::Backend(m.clone()),
            StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        }
    }

    /// The same failure for every request of a batch that failed as a whole.
    pub fn for_each<T>(self, count: usize) -> Vec<Result<T, StoreError>> {
        let mut all: Vec<Result<T, StoreError>> =
            (1..count).map(|_| Err(self.duplicate())).collect();
        if count > 0 {
            all.push(Err(self));
        }
        all
    }
}

/// Failed panel logins of one address within the limiter's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailures {
    pub count: usize,
    /// Unix seconds of the oldest one (the window frees a try when it leaves).
    pub oldest: i64,
}

/// Everything the gateway keeps. Implementations must be safe to share between several gateway
/// processes when the backend is shared (Redis, Postgres, MongoDB): debits and leases are atomic in the
/// backend itself, never read-modify-write in the process.
#[async_trait]
pub trait Store: Send + Sync {
    /// `files`, `redis`, `postgres` or `mongodb`.
    fn backend_name(&self) -> &'static str;

    /// Whether other gateway instances may write this store at the same time (then each instance
    /// polls `credentials_generation` to pick up their changes). The files backend belongs to one
    /// process.
    fn is_shared(&self) -> bool;

    // ---- credentials ----
    /// Sorted by name.
    async fn load_credentials(&self) -> Result<Vec<CredentialRecord>, StoreError>;
    async fn get_credential(&self, name: &str) -> Result<Option<CredentialRecord>, StoreError>;
    /// Insert or replace the whole record (credential JSON and state).
    async fn put_credential(&self, record: &CredentialRecord) -> Result<(), StoreError>;
    /// Returns whether it existed.
    async fn delete_credential(&self, name: &str) -> Result<bool, StoreError>;
    /// A number that changes whenever any credential is put or deleted, so other instances can poll it
    /// cheaply and reload only when it moved.
    async fn credentials_generation(&self) -> Result<u64, StoreError>;

    // ---- config saved from the panel (flat keys) ----
    async fn load_config(&self) -> Result<Map<String, Value>, StoreError>;
    /// Merge `changes` into the stored config; a `null` value removes the key.
    async fn save_config(&self, changes: &Map<String, Value>) -> Result<(), StoreError>;

    // ---- API keys ----
    // Every `api_key` argument below is the key's SHA-256 in hex (`crate::key_id::hash_key`), the
    // name its record is stored under; the key itself never reaches the store.
    /// Oldest first (by `created_at`, then by hash).
    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    async fn get_key(&self, api_key: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// Fails with `Conflict` when the key exists.
    async fn insert_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError>;
    async fn delete_key(&self, api_key: &str) -> Result<bool, StoreError>;
    /// Replaces the settings of an existing key (description, total quota, allowed models,
    /// concurrency, expiry, policy) and keeps its counters; answers whether it existed.
    async fn update_key(&self, record: &ApiKeyRecord) -> Result<bool, StoreError>;
    /// Atomically: if the key exists, is not expired at `now` and has `remaining ≥ cost`, add `cost` to
    /// `used_quota` and to `model_stats[model]`.
    async fn debit_key(
        &self,
        api_key: &str,
        model: &str,
        cost: u64,
        now: i64,
    ) -> Result<DebitOutcome, StoreError>;
    /// Several debits in one round trip (group commit): each exactly as [`Store::debit_key`], applied
    /// in the order given, so several debits of one key see each other. One result per request, in
    /// order. Backends answer the whole batch with one script, statement or journal fsync; this
    /// default (used by MongoDB) debits one after another. Batches may be at the store at once (one
    /// per request worker) and be applied in either order: each is still exact, only which debit of
    /// a key at its very end is refused can differ.
    async fn debit_keys(&self, requests: &[DebitRequest]) -> Vec<Result<DebitOutcome, StoreError>> {
        let mut outcomes = Vec::with_capacity(requests.len());
        for r in requests {
            outcomes.push(self.debit_key(&r.api_key, &r.model, r.cost, r.now).await);
        }
        outcomes
    }
    /// Atomically give back a debit (never below zero, for the total or the model).
    async fn refund_key(&self, api_key: &str, model: &str, cost: u64) -> Result<(), StoreError>;

    // ---- limits per time window (see `windows`) ----
    /// Atomically, across every instance sharing the store: when each of `charges` has room for one
    /// more request costing `cost`, count it in each; otherwise count nothing and name the first
    /// limit without room. This default (MongoDB) enforces nothing.
    async fn charge_windows(
        &self,
        _api_key: &str,
        _charges: &[WindowCharge],
        _cost: u64,
    ) -> Result<WindowVerdict, StoreError> {
        Ok(WindowVerdict::Charged)
    }
    /// Takes back a charge (the lifetime debit refused it, or the client got nothing).
    async fn uncharge_windows(
        &self,
        _api_key: &str,
        _charges: &[WindowCharge],
        _cost: u64,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    /// Adds `tokens` to the bucket of each of `charges` (after the answer).
    async fn add_window_tokens(
        &self,
        _api_key: &str,
        _charges: &[WindowCharge],
        _tokens: u64,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    /// What each of `charges`' slots counted from its `from` to its `bucket`.
    async fn window_usage(
        &self,
        _api_key: &str,
        charges: &[WindowCharge],
    ) -> Result<Vec<WindowUse>, StoreError> {
        Ok(vec![WindowUse::default(); charges.len()])
    }

    // ---- model costs (model name → cost) ----
    async fn load_model_costs(&self) -> Result<BTreeMap<String, u64>, StoreError>;
    async fn set_model_cost(&self, model: &str, cost: u64) -> Result<(), StoreError>;
    async fn delete_model_cost(&self, model: &str) -> Result<bool, StoreError>;

    // ---- short leases (one token refresh per credential across instances) ----
    /// Take the lease `name` for `holder` for `ttl_ms` if it is free, expired, or already held by `holder`.
    async fn try_lease(&self, name: &str, holder: &str, ttl_ms: u64) -> Result<bool, StoreError>;
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    // ---- credential insights (quota, credits, models; one snapshot per credential) ----
    /// What Google last told about the credential `name` (written by the credential scout). Replaces
    /// the previous snapshot whole. Shared backends share it, so an instance need not refetch what
    /// another fetched recently; the files backend keeps it in memory only (see `file.rs`).
    async fn put_insight(&self, name: &str, insight: &CredentialInsight) -> Result<(), StoreError>;
    /// The last snapshot put for `name`; `None` when there is none.
    async fn get_insight(&self, name: &str) -> Result<Option<CredentialInsight>, StoreError>;
    /// Forgets it (the credential was deleted); Ok when there was none.
    async fn delete_insight(&self, name: &str) -> Result<(), StoreError>;

    // ---- counters every instance adds to (usage per credential, tokens per day) ----
    /// Adds each amount of `deltas` (counter name → amount) to the counter of that name in `sheet`,
    /// atomically per counter, so instances sharing the store add up and none overwrites another.
    /// This default (files, MongoDB) reads, adds and writes one config entry: exact for the files
    /// backend, which one process owns, and as good as last-writer-wins elsewhere.
    async fn add_counters(
        &self,
        sheet: &str,
        deltas: &BTreeMap<String, u64>,
    ) -> Result<(), StoreError> {
        let key = format!("_counters:{sheet}");
        let config = self.load_config().await?;
        let mut counters: BTreeMap<String, u64> = config
            .get(&key)
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        for (name, n) in deltas {
            let slot = counters.entry(name.clone()).or_default();
            *slot = slot.saturating_add(*n);
        }
        let value = serde_json::to_value(&counters)
            .map_err(|e| StoreError::Backend(format!("serialise counters: {e}")))?;
        let mut change = Map::new();
        change.insert(key, value);
        self.save_config(&change).await
    }
    /// Every counter of `sheet`.
    async fn load_counters(&self, sheet: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        let config = self.load_config().await?;
        Ok(config
            .get(&format!("_counters:{sheet}"))
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }
    /// Forgets the counters `names` of `sheet` (old days, a reset).
    async fn remove_counters(&self, sheet: &str, names: &[String]) -> Result<(), StoreError> {
        if names.is_empty() {
            return Ok(());
        }
        let key = format!("_counters:{sheet}");
        let mut counters = self.load_counters(sheet).await?;
        for name in names {
            counters.remove(name);
        }
        let value = serde_json::to_value(&counters)
            .map_err(|e| StoreError::Backend(format!("serialise counters: {e}")))?;
        let mut change = Map::new();
        change.insert(key, value);
        self.save_config(&change).await
    }

    // ---- panel sessions across instances (shared backends; the defaults share nothing) ----
    /// Counts a failed panel login from `address` at `now` (Unix seconds) and answers the failures of
    /// the last `window_secs`. `None`: this backend does not share them, each instance counts alone.
    async fn add_login_failure(
        &self,
        _address: &str,
        _now: i64,
        _window_secs: i64,
    ) -> Result<Option<LoginFailures>, StoreError> {
        Ok(None)
    }
    /// The failed panel logins from `address` in the last `window_secs`; `None` as above.
    async fn login_failures(
        &self,
        _address: &str,
        _now: i64,
        _window_secs: i64,
    ) -> Result<Option<LoginFailures>, StoreError> {
        Ok(None)
    }
    /// Forgets the failed logins of `address` (it logged in).
    async fn clear_login_failures(&self, _address: &str) -> Result<(), StoreError> {
        Ok(())
    }
    /// Remembers that the panel session `jti` was logged out, until `until` (its own expiry).
    async fn revoke_session(&self, _jti: &str, _until: i64) -> Result<(), StoreError> {
        Ok(())
    }
    /// Whether the panel session `jti` was logged out on any instance.
    async fn is_session_revoked(&self, _jti: &str, _now: i64) -> Result<bool, StoreError> {
        Ok(false)
    }

    // ---- audit log (admin actions; written by `crate::audit`'s writer task) ----
    /// Adds one entry (already cut to its bounds).
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Newest first, as `query` asks (see [`AuditQuery`]).
    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
    /// Removes entries older than `before` (unix ms) and all but the newest `keep` entries; answers
    /// how many went.
    async fn prune_audit(&self, before: i64, keep: usize) -> Result<u64, StoreError>;

    /// Graceful shutdown: the files backend compacts its journal into the TOML files; network backends
    /// have nothing to do. Every acknowledged write is already durable, so skipping this loses nothing.
    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
