//! The writer thread of the files backend: it alone owns the state and the files.
//!
//! Requests are taken in batches (everything queued while the previous batch was being synced).
//! Each batch's mutations are appended to the journal and fsynced once; only then does any request
//! of the batch get its answer, so nobody ever observes a write that a crash could take back.
//! A dedicated OS thread rather than a runtime task: fsync blocks, and a thread also finishes its
//! shutdown compaction when the store is dropped outside any runtime.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use super::credential_text::CredentialText;
use super::dir_lock::DirLock;
use super::disk;
use super::state::{FileState, JournalEntry, Section};
use super::FileStoreOptions;
use crate::credentials::CredentialRecord;
use crate::store::{ApiKeyRecord, DebitOutcome, DebitRequest, StoreError};

/// Most requests folded into one fsync.
const MAX_BATCH: usize = 4096;

pub(super) enum Command {
    LoadCredentials,
    GetCredential(String),
    /// Boxed, like the reply below: a credential record dwarfs every other payload.
    PutCredential(Box<CredentialRecord>),
    DeleteCredential(String),
    LoadConfig,
    SaveConfig(Map<String, Value>),
    ListKeys,
    GetKey(String),
    InsertKey(ApiKeyRecord),
    /// New settings of an existing key; its counters stay.
    UpdateKey(ApiKeyRecord),
    DeleteKey(String),
    Debit {
        api_key: String,
        model: String,
        cost: u64,
        now: i64,
    },
    /// Several debits answered together, journaled in the same fsync.
    DebitBatch(Vec<DebitRequest>),
    Refund {
        api_key: String,
        model: String,
        cost: u64,
    },
    LoadCosts,
    SetCost {
        model: String,
        cost: u64,
    },
    DeleteCost(String),
    /// Compact, release the directory and stop.
    Close,
}

pub(super) enum Reply {
    Done,
    Existed(bool),
    Credentials(Vec<CredentialRecord>),
    Credential(Option<Box<CredentialRecord>>),
    Config(Map<String, Value>),
    Keys(Vec<ApiKeyRecord>),
    Key(Option<Box<ApiKeyRecord>>),
    Debit(DebitOutcome),
    Debits(Vec<Result<DebitOutcome, StoreError>>),
    Costs(std::collections::BTreeMap<String, u64>),
}

pub(super) type ReplySender = oneshot::Sender<Result<Reply, StoreError>>;

pub(super) struct Request {
    pub command: Command,
    pub reply: ReplySender,
}

/// Journal lines of one batch, written with one fsync.
#[derive(Default)]
struct Staged {
    lines: Vec<u8>,
    entries: usize,
    credential_writes: u64,
}

struct Writer {
    dir: PathBuf,
    options: FileStoreOptions,
    state: FileState,
    journal: File,
    journal_entries: usize,
    journal_bytes: u64,
    /// Sections changed since the last compaction, indexed by [`Section::index`].
    dirty: [bool; 4],
    generation: Arc<AtomicU64>,
    /// Set when a journal write failed: the in-memory state may now be ahead of the disk, so the
    /// store refuses everything until it is reopened.
    failed: Option<String>,
    /// After a failed compaction, the journal length at which to try again (not after every batch).
    retry_compaction_at: usize,
    /// The credential records parsed at open, kept for the first `LoadCredentials` (the gateway's
    /// start-up) so it need not parse every credential again; dropped by any credential write.
    preloaded: Option<Vec<CredentialRecord>>,
    _lock: DirLock,
}

/// Starts the writer; the receiver yields once the directory is loaded (or failed to load).
pub(super) fn spawn(
    dir: PathBuf,
    options: FileStoreOptions,
    generation: Arc<AtomicU64>,
    requests: mpsc::Receiver<Request>,
) -> Result<oneshot::Receiver<Result<(), StoreError>>, StoreError> {
    let (ready_tx, ready_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("gcli2api-file-store".into())
        .spawn(move || match Writer::open(dir, options, generation) {
            Ok(writer) => {
                let _ = ready_tx.send(Ok(()));
                writer.run(requests);
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        })?;
    Ok(ready_rx)
}

impl Writer {
    fn open(
        dir: PathBuf,
        options: FileStoreOptions,
        generation: Arc<AtomicU64>,
    ) -> Result<Self, StoreError> {
        if !dir.exists() {
            crate::private_files::private_dir(&dir)?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                disk::sync_dir(parent)?;
            }
        }
        // An existing directory keeps its contents but loses group and world access.
        crate::private_files::private_dir(&dir)?;
        let lock = DirLock::acquire(&dir, options.lock_wait)?;
        disk::remove_stale_temp_files(&dir)?;
        let (mut state, records) = disk::load_state(&dir)?;
        let mut replay = disk::replay_journal(&dir, &mut state)?;
        // Keys written before they were stored hashed: converted now and compacted below, so no
        // file of the store keeps them.
        let hashed = state.hash_plain_keys();
        if hashed > 0 {
            log::info!("files store: {hashed} API keys converted to hashed records");
            if let Some(flag) = replay.touched.get_mut(Section::Keys.index()) {
                *flag = true;
            }
        }
        if replay.applied > 0 {
            log::info!("files store: replayed {} journal entries", replay.applied);
        }
        let imported = disk::import_loose_json(&dir, &mut state)?;
        let journal = disk::open_journal(&dir)?;
        // A journal created just now must keep its name through a power cut, or its fsynced
        // entries are unreachable.
        disk::sync_dir(&dir)?;
        let mut dirty = replay.touched;
        if !imported.is_empty() {
            if let Some(flag) = dirty.get_mut(Section::Credentials.index()) {
                *flag = true;
            }
        }
        // The records as parsed are the answer to the first load unless the journal or an import
        // changed a credential since.
        let unchanged = !dirty
            .get(Section::Credentials.index())
            .copied()
            .unwrap_or(true);
        let mut writer = Self {
            dir,
            options,
            preloaded: unchanged.then_some(records),
            state,
            journal,
            journal_entries: replay.applied,
            journal_bytes: 0,
            dirty,
            generation,
            failed: None,
            retry_compaction_at: 0,
            _lock: lock,
        };
        // Folding the journal in now also drops a torn tail, which later appends must not follow.
        if replay.non_empty || !imported.is_empty() || hashed > 0 {
            writer.compact()?;
        }
        disk::mark_imported(&writer.dir, &imported)?;
        Ok(writer)
    }

    fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        while let Some(first) = requests.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            let closers = self.process(batch);
            if !closers.is_empty() {
                let result = match &self.failed {
                    Some(reason) => Err(failed_error(reason)),
                    None => self.compact(),
                };
                // Release the lock and refuse new requests before answering, so a reopen right
                // after `close` finds the directory free and a second `close` sees it closed.
                drop(self);
                requests.close();
                for closer in closers {
                    let _ = closer.send(
                        result
                            .as_ref()
                            .map(|()| Reply::Done)
                            .map_err(StoreError::duplicate),
                    );
                }
                return;
            }
        }
        // Every handle is gone (the store was dropped without `close`).
        if self.options.compact_on_drop && self.failed.is_none() {
            if let Err(e) = self.compact() {
                log::error!(
                    "files store: final compaction failed, the journal keeps the data: {e}"
                );
            }
        }
    }

    /// Runs one batch and answers it; returns the `Close` requests found in it.
    fn process(&mut self, batch: Vec<Request>) -> Vec<ReplySender> {
        let mut replies: Vec<(ReplySender, Result<Reply, StoreError>)> =
            Vec::with_capacity(batch.len());
        let mut closers = Vec::new();
        let mut staged = Staged::default();
        for request in batch {
            if let Command::Close = request.command {
                closers.push(request.reply);
                continue;
            }
            if let Some(reason) = &self.failed {
                replies.push((request.reply, Err(failed_error(reason))));
                continue;
            }
            if matches!(request.command, Command::LoadCredentials) {
                if let Some(records) = self.preloaded.take() {
                    replies.push((request.reply, Ok(Reply::Credentials(records))));
                    continue;
                }
            }
            if let Command::DebitBatch(debits) = request.command {
                let outcomes = self.debit_batch(&debits, &mut staged);
                replies.push((request.reply, Ok(Reply::Debits(outcomes))));
                continue;
            }
            let (mut result, entry) = self.execute(request.command);
            if let Some(entry) = entry {
                if let Err(e) = self.stage(&entry, &mut staged) {
                    result = Err(e);
                }
            }
            replies.push((request.reply, result));
        }
        if !staged.lines.is_empty() {
            match self.append(&staged.lines) {
                Ok(()) => {
                    self.journal_entries += staged.entries;
                    self.journal_bytes += staged.lines.len() as u64;
                    self.generation
                        .fetch_add(staged.credential_writes, Ordering::SeqCst);
                }
                Err(e) => {
                    log::error!(
                        "files store: journal write failed, refusing further requests: {e}"
                    );
                    let reason = e.to_string();
                    for (_, result) in &mut replies {
                        match result {
                            // Every debit of a batch failed with it, not the batch's delivery.
                            Ok(Reply::Debits(outcomes)) => {
                                for outcome in outcomes {
                                    *outcome = Err(failed_error(&reason));
                                }
                            }
                            _ => *result = Err(failed_error(&reason)),
                        }
                    }
                    self.failed = Some(reason);
                }
            }
        }
        for (reply, result) in replies {
            let _ = reply.send(result);
        }
        let due = self.journal_entries >= self.options.compact_after_entries
            || self.journal_bytes >= self.options.compact_after_bytes;
        if self.failed.is_none() && due && self.journal_entries >= self.retry_compaction_at {
            match self.compact() {
                Ok(()) => self.retry_compaction_at = 0,
                Err(e) => {
                    log::error!("files store: compaction failed, the journal keeps the data: {e}");
                    self.retry_compaction_at = self
                        .journal_entries
                        .saturating_add(self.options.compact_after_entries);
                }
            }
        }
        closers
    }

    /// Serialises `entry` into the batch's journal bytes and applies it to the in-memory state, so the
    /// next command of the batch sees it.
    fn stage(&mut self, entry: &JournalEntry, staged: &mut Staged) -> Result<(), StoreError> {
        let line = serde_json::to_vec(entry)
            .map_err(|e| StoreError::Backend(format!("journal entry: {e}")))?;
        staged.lines.extend_from_slice(&line);
        staged.lines.push(b'\n');
        self.state.apply(entry);
        if let Some(flag) = self.dirty.get_mut(entry.section().index()) {
            *flag = true;
        }
        staged.entries += 1;
        if entry.touches_credentials() {
            staged.credential_writes += 1;
            // The start-up records are no longer what the store holds.
            self.preloaded = None;
        }
        Ok(())
    }

    /// Each debit in order against the state the previous ones left.
    fn debit_batch(
        &mut self,
        debits: &[DebitRequest],
        staged: &mut Staged,
    ) -> Vec<Result<DebitOutcome, StoreError>> {
        debits
            .iter()
            .map(|d| {
                let (outcome, entry) = self.state.debit(&d.api_key, &d.model, d.cost, d.now);
                match entry {
                    Some(entry) => self.stage(&entry, staged).map(|()| outcome),
                    None => Ok(outcome),
                }
            })
            .collect()
    }

    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.journal.write_all(bytes)?;
        self.journal.sync_data()
    }

    /// Rewrites the changed TOML files atomically, then empties the journal.
    fn compact(&mut self) -> Result<(), StoreError> {
        let mut renamed = false;
        for section in Section::ALL {
            if self.dirty.get(section.index()).copied().unwrap_or(true) {
                let text = disk::render_section(&self.state, section)?;
                disk::write_atomically(&self.dir, section.file_name(), text.as_bytes())?;
                renamed = true;
            }
        }
        if renamed {
            // The renames must be durable before the journal that could rebuild them is gone.
            disk::sync_dir(&self.dir)?;
        }
        self.journal.set_len(0)?;
        self.journal.sync_all()?;
        self.dirty = [false; 4];
        self.journal_entries = 0;
        self.journal_bytes = 0;
        Ok(())
    }

    fn execute(&self, command: Command) -> (Result<Reply, StoreError>, Option<JournalEntry>) {
        let state = &self.state;
        let read = |reply: Reply| (Ok(reply), None);
        let write = |entry: Result<JournalEntry, StoreError>, reply: Reply| match entry {
            Ok(entry) => (Ok(reply), Some(entry)),
            Err(e) => (Err(e), None),
        };
        match command {
            Command::LoadCredentials => match state
                .credentials
                .values()
                .map(CredentialText::record)
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(records) => read(Reply::Credentials(records)),
                Err(e) => (Err(e), None),
            },
            Command::GetCredential(name) => {
                match state.credentials.get(&name).map(CredentialText::record) {
                    None => read(Reply::Credential(None)),
                    Some(Ok(record)) => read(Reply::Credential(Some(Box::new(record)))),
                    Some(Err(e)) => (Err(e), None),
                }
            }
            Command::PutCredential(record) => write(state.put_credential(&record), Reply::Done),
            Command::DeleteCredential(name) => {
                if state.credentials.contains_key(&name) {
                    (
                        Ok(Reply::Existed(true)),
                        Some(JournalEntry::DeleteCredential { name }),
                    )
                } else {
                    read(Reply::Existed(false))
                }
            }
            Command::LoadConfig => read(Reply::Config(state.config.clone())),
            Command::SaveConfig(changes) => {
                if changes.is_empty() {
                    read(Reply::Done)
                } else {
                    write(state.save_config(&changes), Reply::Done)
                }
            }
            Command::ListKeys => {
                let mut keys: Vec<ApiKeyRecord> = state.keys.values().cloned().collect();
                keys.sort_by(|a, b| (a.created_at, &a.key_hash).cmp(&(b.created_at, &b.key_hash)));
                read(Reply::Keys(keys))
            }
            Command::GetKey(api_key) => {
                read(Reply::Key(state.keys.get(&api_key).cloned().map(Box::new)))
            }
            Command::InsertKey(record) => write(state.insert_key(&record), Reply::Done),
            Command::UpdateKey(record) => match state.keys.get(&record.key_hash) {
                Some(old) => {
                    let merged = ApiKeyRecord {
                        used_quota: old.used_quota,
                        model_stats: old.model_stats.clone(),
                        created_at: old.created_at,
                        ..record
                    };
                    (
                        Ok(Reply::Existed(true)),
                        Some(JournalEntry::PutKey {
                            record: Box::new(merged),
                        }),
                    )
                }
                None => read(Reply::Existed(false)),
            },
            Command::DeleteKey(api_key) => {
                if state.keys.contains_key(&api_key) {
                    (
                        Ok(Reply::Existed(true)),
                        Some(JournalEntry::DeleteKey { api_key }),
                    )
                } else {
                    read(Reply::Existed(false))
                }
            }
            Command::Debit {
                api_key,
                model,
                cost,
                now,
            } => {
                let (outcome, entry) = state.debit(&api_key, &model, cost, now);
                (Ok(Reply::Debit(outcome)), entry)
            }
            Command::Refund {
                api_key,
                model,
                cost,
            } => (Ok(Reply::Done), state.refund(&api_key, &model, cost)),
            // Handled by `process`, which journals each debit before the next one runs.
            Command::DebitBatch(_) => (Err(unexpected_batch()), None),
            Command::LoadCosts => read(Reply::Costs(state.costs.clone())),
            Command::SetCost { model, cost } => {
                write(state.set_model_cost(&model, cost), Reply::Done)
            }
            Command::DeleteCost(model) => {
                if state.costs.contains_key(&model) {
                    (
                        Ok(Reply::Existed(true)),
                        Some(JournalEntry::DeleteModelCost { model }),
                    )
                } else {
                    read(Reply::Existed(false))
                }
            }
            Command::Close => read(Reply::Done),
        }
    }
}

fn failed_error(reason: &str) -> StoreError {
    StoreError::Unavailable(format!(
        "files store stopped after a failed journal write ({reason}); reopen it"
    ))
}

fn unexpected_batch() -> StoreError {
    StoreError::Backend("files store: a debit batch reached the single-command path".into())
}
