//! `StorageActor` owns the write path of credential records to the `Store`: every credential put and
//! delete goes through it (see `store/mod.rs` for the whole list of writers).
//!
//! Ordering: writes run one batch at a time (`ctx.wait`), so a delete queued after a save is never
//! overtaken by it. Success counters arrive on every request; they are coalesced per credential and
//! written at most every `FLUSH_INTERVAL` (30 s), while health changes (`urgent`) are written at once. A
//! graceful stop flushes what is pending.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures_util::future::join_all;

pub mod messages;
pub mod usage_counters;

use self::messages::{DeleteCredential, Flush, SaveCredential, SaveCredentialNow, Settle};
use crate::credentials::CredentialRecord;
use crate::store::{Store, StoreError};

/// How long success counters may wait in memory before they are written. Every request counts one,
/// and each credential's counters are a whole record to write: with 10,000 credentials in rotation,
/// writing them every half second cost a tenth of the gateway's throughput, for figures that only the
/// panel reads (from the actors, always current). A kill -9 loses at most this much counting; a
/// graceful stop and any health change (`urgent`) write everything pending at once.
const FLUSH_INTERVAL: Duration = Duration::from_secs(30);

pub struct StorageActor {
    store: Arc<dyn Store>,
    pending: HashMap<String, CredentialRecord>,
    /// Usage counters not yet added to a shared store (`usage_counters`).
    usage: std::collections::BTreeMap<String, u64>,
}

impl StorageActor {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            pending: HashMap::new(),
            usage: std::collections::BTreeMap::new(),
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        self.flush_usage(ctx);
        if self.pending.is_empty() {
            return;
        }
        let batch: Vec<CredentialRecord> = self.pending.drain().map(|(_, r)| r).collect();
        let store = self.store.clone();
        // Concurrent puts let a journaling store commit the whole batch with one fsync.
        let fut = async move {
            let results = join_all(batch.iter().map(|r| store.put_credential(r))).await;
            for (record, result) in batch.iter().zip(results) {
                if let Err(e) = result {
                    log::error!("could not save credential {}: {e}", record.name);
                }
            }
        };
        ctx.wait(fut.into_actor(self));
    }
}

impl Actor for StorageActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(16_384);
        ctx.run_interval(FLUSH_INTERVAL, |act, ctx| act.flush(ctx));
        ctx.run_interval(usage_counters::USAGE_FLUSH_INTERVAL, |act, ctx| {
            act.flush_usage(ctx)
        });
    }

    fn stopping(&mut self, ctx: &mut Self::Context) -> Running {
        self.flush(ctx);
        Running::Stop
    }
}

impl Handler<SaveCredential> for StorageActor {
    type Result = ();

    fn handle(&mut self, msg: SaveCredential, ctx: &mut Self::Context) {
        self.pending.insert(msg.record.name.clone(), msg.record);
        if msg.urgent {
            self.flush(ctx);
        }
    }
}

impl Handler<DeleteCredential> for StorageActor {
    type Result = ResponseActFuture<Self, Result<bool, StoreError>>;

    fn handle(&mut self, msg: DeleteCredential, _: &mut Self::Context) -> Self::Result {
        self.pending.remove(&msg.name);
        let store = self.store.clone();
        Box::pin(
            async move { delete_with_insight(store.as_ref(), &msg.name).await }.into_actor(self),
        )
    }
}

/// Deletes the credential `name`, then what the scout learnt about it. The insight goes only once the
/// credential is gone (a failed delete leaves both), and a failure to forget it is logged, never the
/// delete's answer: the credential is deleted, and a stray snapshot is only a few bytes nobody reads.
async fn delete_with_insight(store: &dyn Store, name: &str) -> Result<bool, StoreError> {
    let existed = store.delete_credential(name).await?;
    if let Err(e) = store.delete_insight(name).await {
        log::warn!("credential {name} deleted, but not its insight (quota, credits, models): {e}");
    }
    Ok(existed)
}

impl Handler<SaveCredentialNow> for StorageActor {
    type Result = AtomicResponse<Self, Result<(), StoreError>>;

    fn handle(&mut self, msg: SaveCredentialNow, _: &mut Self::Context) -> Self::Result {
        // This record is newer than anything pending under its name.
        self.pending.remove(&msg.record.name);
        let store = self.store.clone();
        AtomicResponse::new(Box::pin(
            async move { store.put_credential(&msg.record).await }.into_actor(self),
        ))
    }
}

impl Handler<Settle> for StorageActor {
    type Result = ();

    fn handle(&mut self, _: Settle, _: &mut Self::Context) {}
}

impl Handler<Flush> for StorageActor {
    type Result = ();

    fn handle(&mut self, _: Flush, ctx: &mut Self::Context) {
        self.flush(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CredentialInsight, FileStore, QuotaBucket};

    #[actix_rt::test]
    async fn deleting_a_credential_forgets_its_insight() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(FileStore::open(dir.path()).await.unwrap());
        let record = CredentialRecord {
            name: "a.json".into(),
            kind: Default::default(),
            credential: serde_json::Map::new(),
            state: Default::default(),
        };
        store.put_credential(&record).await.unwrap();
        let insight = CredentialInsight {
            quota: vec![QuotaBucket {
                model: "gemini-2.5-pro".into(),
                remaining_fraction: Some(0.5),
                ..QuotaBucket::default()
            }],
            ..CredentialInsight::default()
        };
        store.put_insight("a.json", &insight).await.unwrap();
        store.put_insight("b.json", &insight).await.unwrap();

        let storage = StorageActor::new(store.clone()).start();
        let deleted = storage
            .send(DeleteCredential {
                name: "a.json".into(),
            })
            .await;
        assert!(matches!(deleted, Ok(Ok(true))), "{deleted:?}");
        assert_eq!(store.get_credential("a.json").await.unwrap(), None);
        assert_eq!(store.get_insight("a.json").await.unwrap(), None);
        // Another credential's snapshot stays.
        assert_eq!(store.get_insight("b.json").await.unwrap(), Some(insight));
        // A credential that was not there: the answer says so, and nothing fails.
        let again = storage
            .send(DeleteCredential {
                name: "a.json".into(),
            })
            .await;
        assert!(matches!(again, Ok(Ok(false))), "{again:?}");
        store.close().await.unwrap();
    }
}
