//! The audit log: every admin action (panel logins, API keys, credentials, configuration, quota
//! refreshes) leaves an entry with who, from where, what and what changed, secrets masked.
//!
//! Handlers call `Admin::audit` (the `admin` extractor of the `auth` module) or
//! [`AuditLog::login`] once; the entry is handed to a writer task over a bounded queue and the
//! handler never waits for the store. When the queue is full (the store is
//! down or slow) the entry is dropped with a warning rather than slowing the admin route. The writer
//! also prunes entries older than `AUDIT_RETENTION_DAYS`, and beyond `MAX_AUDIT_ENTRIES`, at start
//! and then once an hour of the gateway's clock.

mod redact;
mod writer;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use rand::RngCore;
use serde_json::Value;
use tokio::sync::mpsc;

pub use redact::redact_changes;
pub use writer::spawn_writer;

use crate::clock::Clock;
use crate::store::{AuditAction, AuditEntry};

/// Entries waiting for the writer; beyond this they are dropped (see the module doc).
const QUEUE_CAPACITY: usize = 4096;

/// Where handlers leave entries. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<AuditEntry>,
    clock: Clock,
    /// The last time handed out (unix ms): entries of one instance get distinct, increasing times,
    /// so `before` pages through them without skipping any.
    last: Arc<AtomicI64>,
}

impl AuditLog {
    /// The handle and the receiving end for [`spawn_writer`].
    pub fn new(clock: Clock) -> (Self, mpsc::Receiver<AuditEntry>) {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let log = Self {
            queue,
            clock,
            last: Arc::new(AtomicI64::new(0)),
        };
        (log, receiver)
    }

    fn next_time(&self) -> i64 {
        let now = self.clock.now_millis();
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let time = now.max(last.saturating_add(1));
            match self
                .last
                .compare_exchange(last, time, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return time,
                Err(seen) => last = seen,
            }
        }
    }

    /// Queues one entry; never waits.
    pub fn push(
        &self,
        actor: &str,
        address: &str,
        action: AuditAction,
        target: &str,
        changes: Value,
    ) {
        let secrets = crate::logging::secrets();
        let entry = AuditEntry {
            id: new_id(),
            time: self.next_time(),
            actor: actor.to_string(),
            address: address.to_string(),
            action,
            target: secrets.redact(target),
            changes: redact_changes(changes),
        }
        .bounded();
        if let Err(e) = self.queue.try_send(entry) {
            log::warn!("audit entry dropped ({action}): {e}");
        }
    }
}

fn new_id() -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl AuditLog {
    /// Records a panel login from `address`, successful or not (no session exists yet).
    pub fn login(&self, address: &str, succeeded: bool) {
        let (actor, action) = if succeeded {
            ("password", AuditAction::Login)
        } else {
            ("anonymous", AuditAction::LoginFailed)
        };
        self.push(actor, address, action, "panel", Value::Null);
    }
}
