//! The writer task: appends queued entries to the store one at a time, off the request path, and
//! prunes what is past `AUDIT_RETENTION_DAYS` (or beyond `MAX_AUDIT_ENTRIES`) at start and once an
//! hour of the gateway's clock, checked after each entry and every few minutes.
//!
//! A failed append is logged and the entry lost: the audit must never stall the admin routes, and
//! the store being down is in the log already.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::config::SharedSettings;
use crate::store::{AuditEntry, Store, MAX_AUDIT_ENTRIES};

/// Seconds of the gateway's clock between two prunings.
const PRUNE_EVERY_SECS: i64 = 3600;
/// How often the writer looks at the clock while no entry arrives.
const IDLE_CHECK: Duration = Duration::from_secs(300);

/// Starts the writer on the current arbiter; it ends when every [`super::AuditLog`] is dropped.
pub fn spawn_writer(
    mut entries: mpsc::Receiver<AuditEntry>,
    store: Arc<dyn Store>,
    settings: SharedSettings,
    clock: Clock,
) {
    actix_rt::spawn(async move {
        let mut last_prune: Option<i64> = None;
        loop {
            let next = tokio::time::timeout(IDLE_CHECK, entries.recv()).await;
            match next {
                Ok(Some(entry)) => {
                    if let Err(e) = store.append_audit(&entry).await {
                        log::error!("audit entry ({}) not stored: {e}", entry.action);
                    }
                }
                Ok(None) => return,
                Err(_) => {}
            }
            let now = clock.now();
            if last_prune.is_none_or(|at| now - at >= PRUNE_EVERY_SECS) {
                last_prune = Some(now);
                let days = i64::try_from(settings.current().audit_retention_days).unwrap_or(0);
                let before = clock
                    .now_millis()
                    .saturating_sub(days.saturating_mul(86_400_000));
                match store.prune_audit(before, MAX_AUDIT_ENTRIES).await {
                    Ok(0) => {}
                    Ok(n) => log::info!("audit log: {n} old entries pruned"),
                    Err(e) => log::warn!("audit log pruning failed: {e}"),
                }
            }
        }
    });
}
