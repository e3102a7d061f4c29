//! The files backend's audit log: `audit.jsonl` in the store directory, one JSON entry a line, kept
//! apart from the journal so the audit never delays a debit's fsync nor a compaction. Appends are
//! fsynced; pruning rewrites the file through a temporary one and a rename. The file is bounded by
//! pruning ([`super::super::MAX_AUDIT_ENTRIES`] entries of at most a few KiB each), so reading it whole
//! for a page of the panel is affordable.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::audit::{select, AuditEntry, AuditQuery};
use crate::store::StoreError;

const FILE_NAME: &str = "audit.jsonl";

#[derive(Clone)]
pub struct AuditFile {
    path: PathBuf,
    /// One writer or reader of the file at a time in this process (the directory lock keeps
    /// other processes out).
    lock: Arc<Mutex<()>>,
}

impl AuditFile {
    pub fn new(dir: &std::path::Path) -> Self {
        Self {
            path: dir.join(FILE_NAME),
            lock: Arc::new(Mutex::new(())),
        }
    }

    pub async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut line = serde_json::to_string(entry)
            .map_err(|e| StoreError::Backend(format!("audit entry: {e}")))?;
        line.push('\n');
        let this = self.clone();
        run(move || {
            let _guard = this.lock.lock().unwrap_or_else(PoisonError::into_inner);
            // Owner-only, like every file the gateway writes: who did what is not for everyone.
            let mut file = crate::private_files::private_options()
                .create(true)
                .append(true)
                .open(&this.path)?;
            file.write_all(line.as_bytes())?;
            file.sync_data()?;
            Ok(())
        })
        .await
    }

    pub async fn list(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let this = self.clone();
        let query = query.clone();
        run(move || {
            let _guard = this.lock.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(select(this.read_all()?, &query))
        })
        .await
    }

    pub async fn prune(&self, before: i64, keep: usize) -> Result<u64, StoreError> {
        let this = self.clone();
        run(move || {
            let _guard = this.lock.lock().unwrap_or_else(PoisonError::into_inner);
            let all = this.read_all()?;
            let total = all.len();
            let mut kept: Vec<AuditEntry> = all.into_iter().filter(|e| e.time >= before).collect();
            kept.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
            let over = kept.len().saturating_sub(keep);
            kept.drain(..over);
            let removed = total - kept.len();
            if removed == 0 {
                return Ok(0);
            }
            let temporary = this.path.with_extension("jsonl.tmp");
            {
                let mut file = crate::private_files::private_options()
                    .create(true)
                    .write(true)
                    .truncate(true)
                    .open(&temporary)?;
                for entry in &kept {
                    let line = serde_json::to_string(entry)
                        .map_err(|e| StoreError::Backend(format!("audit entry: {e}")))?;
                    file.write_all(line.as_bytes())?;
                    file.write_all(b"\n")?;
                }
                file.sync_all()?;
            }
            std::fs::rename(&temporary, &this.path)?;
            Ok(removed as u64)
        })
        .await
    }

    /// Every entry on disk; a line that does not parse (a torn last line after a crash) is skipped.
    fn read_all(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut entries = Vec::new();
        for line in BufReader::new(file).lines() {
            let line = line?;
            if let Ok(entry) = serde_json::from_str::<AuditEntry>(&line) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }
}

async fn run<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Backend(format!("audit file task: {e}")))?
}
