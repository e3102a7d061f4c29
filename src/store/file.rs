//! Files backend (the default): human-readable TOML in `CREDENTIALS_DIR` plus a write-ahead journal.
//!
//! Layout of the directory:
//! - `creds.toml` — a table per credential name: the credential's fields and a `state` sub-table;
//! - `config.toml` — flat keys; `api_keys.toml` — a table per key; `model_costs.toml` — model = cost;
//! - `journal.jsonl` — mutations since the last compaction, one JSON object a line;
//! - `.lock` — held while a store has the directory open.
//!
//! Durability: a write is acknowledged only after its journal line is fsynced (one fsync per batch
//! of concurrent writes), so `kill -9` or a power cut loses nothing acknowledged. Compaction rewrites
//! the changed TOML files atomically and then empties the journal: past ~1 MiB or 1000 entries, on
//! [`FileStore::close`] and when the store is dropped.
//!
//! The one exception: credential insights (`put_insight`) live in memory only and are gone after a
//! restart. They are snapshots of what Google answered, cheap to fetch again, and the credential scout
//! refetches them at start anyway; a journal line per fetch, for 100,000 credentials each refetched
//! every `QUOTA_REFRESH_SECONDS` (300 by default), is hundreds of writes a second on the writer
//! thread that every acknowledgement waits behind, and more compactions: more than a restart's
//! refetch costs.
//!
//! Single instance: debits are read-modify-write inside the one writer thread, atomic within this
//! process only; the directory lock keeps a second process out. Leases live in memory, as do insights.
//!
//! On open, loose `*.json` credential files in the directory are imported and renamed to
//! `*.json.imported` once the import is on disk.

mod audit_file;
mod credential_text;
mod dir_lock;
mod disk;
mod state;
mod toml_format;
mod window_book;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use self::writer::{Command, Reply, Request};
use super::{
    ApiKeyRecord, AuditEntry, AuditQuery, CredentialInsight, CredentialRecord, DebitOutcome,
    DebitRequest, Store, StoreError, WindowCharge, WindowUse, WindowVerdict,
};

/// Requests waiting for the writer before callers are made to wait.
const QUEUE_CAPACITY: usize = 8192;

#[derive(Debug, Clone)]
pub struct FileStoreOptions {
    /// Compact once the journal holds this many bytes.
    pub compact_after_bytes: u64,
    /// Compact once the journal holds this many entries.
    pub compact_after_entries: usize,
    /// Compact when the store is dropped without [`FileStore::close`]. Turning it off leaves the
    /// journal as a crash would.
    pub compact_on_drop: bool,
    /// How long `open` waits for the directory lock: a store of the same directory dropped a moment
    /// ago may still be finishing its last compaction.
    pub lock_wait: Duration,
}

impl Default for FileStoreOptions {
    /// A compaction rewrites every changed TOML file whole (all keys, at a key's debit) on the
    /// writer thread, which every acknowledgement waits behind. At 1,000 entries that was ten
    /// rewrites of `api_keys.toml` a second under keyed load, a sixth of the writer's time per
    /// debit; 20,000 entries (about 2 MB of journal) still replays in tens of milliseconds at start.
    fn default() -> Self {
        Self {
            compact_after_bytes: 4 * 1024 * 1024,
            compact_after_entries: 20_000,
            compact_on_drop: true,
            lock_wait: Duration::from_secs(10),
        }
    }
}

struct Lease {
    holder: String,
    until: Instant,
}

pub struct FileStore {
    dir: PathBuf,
    requests: mpsc::Sender<Request>,
    generation: Arc<AtomicU64>,
    leases: Mutex<HashMap<String, Lease>>,
    /// Credential insights, in memory only (see the module doc).
    insights: Mutex<HashMap<String, CredentialInsight>>,
    /// `audit.jsonl`, written apart from the journal (see `audit_file.rs`).
    audit: audit_file::AuditFile,
    /// Counters of the keys' limits per time window, in memory (see `window_book.rs`).
    windows: Arc<window_book::WindowBooks>,
}

impl FileStore {
    pub async fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        Self::open_with(dir, FileStoreOptions::default()).await
    }

    pub async fn open_with(
        dir: impl Into<PathBuf>,
        options: FileStoreOptions,
    ) -> Result<Self, StoreError> {
        let dir = dir.into();
        let generation = Arc::new(AtomicU64::new(0));
        let (requests, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let ready = writer::spawn(dir.clone(), options, generation.clone(), receiver)?;
        ready.await.map_err(|_| closed())??;
        let windows = Arc::new(window_book::WindowBooks::load(&dir));
        Ok(Self {
            audit: audit_file::AuditFile::new(&dir),
            dir,
            requests,
            generation,
            leases: Mutex::new(HashMap::new()),
            insights: Mutex::new(HashMap::new()),
            windows,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Compacts the journal into the TOML files and releases the directory. Closing again does
    /// nothing; any other call afterwards fails with `Unavailable`.
    pub async fn close(&self) -> Result<(), StoreError> {
        if self.requests.is_closed() {
            return Ok(());
        }
        if let Some(bytes) = self.windows.snapshot_if_due(true) {
            let dir = self.dir.clone();
            let ok = tokio::task::spawn_blocking(move || window_book::write(&dir, &bytes))
                .await
                .unwrap_or(false);
            self.windows.saved(ok);
        }
        self.request(Command::Close).await.map(|_| ())
    }

    /// Saves the window counters in the background when they changed and the last save is old
    /// enough (`window_book::SAVE_INTERVAL`): a charge never waits for the disk.
    fn save_windows_soon(&self) {
        if let Some(bytes) = self.windows.snapshot_if_due(false) {
            let dir = self.dir.clone();
            let books = Arc::clone(&self.windows);
            tokio::task::spawn_blocking(move || {
                let ok = window_book::write(&dir, &bytes);
                books.saved(ok);
            });
        } else if self.windows.is_dirty()
            && !self
                .windows
                .save_scheduled
                .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            // Too soon after the last save: one later save takes these changes and any that follow.
            let dir = self.dir.clone();
            let books = Arc::clone(&self.windows);
            tokio::spawn(async move {
                tokio::time::sleep(window_book::SAVE_INTERVAL).await;
                books
                    .save_scheduled
                    .store(false, std::sync::atomic::Ordering::Release);
                if let Some(bytes) = books.snapshot_if_due(true) {
                    let written = Arc::clone(&books);
                    let ok = tokio::task::spawn_blocking(move || window_book::write(&dir, &bytes))
                        .await
                        .unwrap_or(false);
                    written.saved(ok);
                }
            });
        }
    }

    async fn request(&self, command: Command) -> Result<Reply, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request { command, reply })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    fn leases(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lease>> {
        // The map stays consistent even if a holder panicked mid-update: every update is one insert.
        self.leases.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn insights(&self) -> std::sync::MutexGuard<'_, HashMap<String, CredentialInsight>> {
        // Every update is one insert or remove, so a panicked holder cannot leave half a change.
        self.insights.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("files store is closed".into())
}

fn unexpected() -> StoreError {
    StoreError::Backend("files store writer answered with the wrong kind of reply".into())
}

#[async_trait]
impl Store for FileStore {
    fn backend_name(&self) -> &'static str {
        "files"
    }

    fn is_shared(&self) -> bool {
        // One process owns the directory (it holds the lock file).
        false
    }

    async fn load_credentials(&self) -> Result<Vec<CredentialRecord>, StoreError> {
        match self.request(Command::LoadCredentials).await? {
            Reply::Credentials(records) => Ok(records),
            _ => Err(unexpected()),
        }
    }

    async fn get_credential(&self, name: &str) -> Result<Option<CredentialRecord>, StoreError> {
        match self.request(Command::GetCredential(name.into())).await? {
            Reply::Credential(record) => Ok(record.map(|r| *r)),
            _ => Err(unexpected()),
        }
    }

    async fn put_credential(&self, record: &CredentialRecord) -> Result<(), StoreError> {
        self.request(Command::PutCredential(Box::new(record.clone())))
            .await
            .map(|_| ())
    }

    async fn delete_credential(&self, name: &str) -> Result<bool, StoreError> {
        match self.request(Command::DeleteCredential(name.into())).await? {
            Reply::Existed(existed) => Ok(existed),
            _ => Err(unexpected()),
        }
    }

    async fn credentials_generation(&self) -> Result<u64, StoreError> {
        Ok(self.generation.load(Ordering::SeqCst))
    }

    async fn load_config(&self) -> Result<Map<String, Value>, StoreError> {
        match self.request(Command::LoadConfig).await? {
            Reply::Config(config) => Ok(config),
            _ => Err(unexpected()),
        }
    }

    async fn save_config(&self, changes: &Map<String, Value>) -> Result<(), StoreError> {
        self.request(Command::SaveConfig(changes.clone()))
            .await
            .map(|_| ())
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        match self.request(Command::ListKeys).await? {
            Reply::Keys(keys) => Ok(keys),
            _ => Err(unexpected()),
        }
    }

    async fn get_key(&self, api_key: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        match self.request(Command::GetKey(api_key.into())).await? {
            Reply::Key(key) => Ok(key.map(|k| *k)),
            _ => Err(unexpected()),
        }
    }

    async fn insert_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        self.request(Command::InsertKey(record.clone()))
            .await
            .map(|_| ())
    }

    async fn update_key(&self, record: &ApiKeyRecord) -> Result<bool, StoreError> {
        match self.request(Command::UpdateKey(record.clone())).await? {
            Reply::Existed(existed) => Ok(existed),
            _ => Err(unexpected()),
        }
    }

    async fn charge_windows(
        &self,
        api_key: &str,
        charges: &[WindowCharge],
        cost: u64,
    ) -> Result<WindowVerdict, StoreError> {
        let verdict = self.windows.charge(api_key, charges, cost);
        self.save_windows_soon();
        Ok(verdict)
    }

    async fn uncharge_windows(
        &self,
        api_key: &str,
        charges: &[WindowCharge],
        cost: u64,
    ) -> Result<(), StoreError> {
        self.windows.uncharge(api_key, charges, cost);
        self.save_windows_soon();
        Ok(())
    }

    async fn add_window_tokens(
        &self,
        api_key: &str,
        charges: &[WindowCharge],
        tokens: u64,
    ) -> Result<(), StoreError> {
        self.windows.add_tokens(api_key, charges, tokens);
        self.save_windows_soon();
        Ok(())
    }

    async fn window_usage(
        &self,
        api_key: &str,
        charges: &[WindowCharge],
    ) -> Result<Vec<WindowUse>, StoreError> {
        Ok(self.windows.usage(api_key, charges))
    }

    async fn delete_key(&self, api_key: &str) -> Result<bool, StoreError> {
        self.windows.forget(api_key);
        self.save_windows_soon();
        match self.request(Command::DeleteKey(api_key.into())).await? {
            Reply::Existed(existed) => Ok(existed),
            _ => Err(unexpected()),
        }
    }

    async fn debit_key(
        &self,
        api_key: &str,
        model: &str,
        cost: u64,
        now: i64,
    ) -> Result<DebitOutcome, StoreError> {
        let command = Command::Debit {
            api_key: api_key.into(),
            model: model.into(),
            cost,
            now,
        };
        match self.request(command).await? {
            Reply::Debit(outcome) => Ok(outcome),
            _ => Err(unexpected()),
        }
    }

    async fn debit_keys(&self, requests: &[DebitRequest]) -> Vec<Result<DebitOutcome, StoreError>> {
        if requests.is_empty() {
            return Vec::new();
        }
        match self.request(Command::DebitBatch(requests.to_vec())).await {
            Ok(Reply::Debits(outcomes)) if outcomes.len() == requests.len() => outcomes,
            Ok(_) => unexpected().for_each(requests.len()),
            Err(e) => e.for_each(requests.len()),
        }
    }

    async fn refund_key(&self, api_key: &str, model: &str, cost: u64) -> Result<(), StoreError> {
        let command = Command::Refund {
            api_key: api_key.into(),
            model: model.into(),
            cost,
        };
        self.request(command).await.map(|_| ())
    }

    async fn load_model_costs(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        match self.request(Command::LoadCosts).await? {
            Reply::Costs(costs) => Ok(costs),
            _ => Err(unexpected()),
        }
    }

    async fn set_model_cost(&self, model: &str, cost: u64) -> Result<(), StoreError> {
        let command = Command::SetCost {
            model: model.into(),
            cost,
        };
        self.request(command).await.map(|_| ())
    }

    async fn delete_model_cost(&self, model: &str) -> Result<bool, StoreError> {
        match self.request(Command::DeleteCost(model.into())).await? {
            Reply::Existed(existed) => Ok(existed),
            _ => Err(unexpected()),
        }
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl_ms: u64) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut leases = self.leases();
        let free = leases
            .get(name)
            .is_none_or(|lease| lease.holder == holder || lease.until <= now);
        if free {
            let until = now
                .checked_add(Duration::from_millis(ttl_ms))
                .unwrap_or(now);
            leases.insert(
                name.to_string(),
                Lease {
                    holder: holder.to_string(),
                    until,
                },
            );
        }
        Ok(free)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let mut leases = self.leases();
        if leases.get(name).is_some_and(|lease| lease.holder == holder) {
            leases.remove(name);
        }
        Ok(())
    }

    async fn put_insight(&self, name: &str, insight: &CredentialInsight) -> Result<(), StoreError> {
        self.insights().insert(name.to_string(), insight.clone());
        Ok(())
    }

    async fn get_insight(&self, name: &str) -> Result<Option<CredentialInsight>, StoreError> {
        Ok(self.insights().get(name).cloned())
    }

    async fn delete_insight(&self, name: &str) -> Result<(), StoreError> {
        self.insights().remove(name);
        Ok(())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.audit.append(entry).await
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit.list(query).await
    }

    async fn prune_audit(&self, before: i64, keep: usize) -> Result<u64, StoreError> {
        self.audit.prune(before, keep).await
    }

    async fn close(&self) -> Result<(), StoreError> {
        FileStore::close(self).await
    }
}
