//! A store for the quota's unit tests: key records in memory, and a batch of debits answered only
//! when the test releases it, so the tests decide what is at the store and when it answers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use crate::store::{
    ApiKeyRecord, AuditEntry, AuditQuery, CredentialRecord, DebitOutcome, DebitRequest, Store,
    StoreError,
};

/// A batch at the fake store: its debits, and the release that lets the store answer it.
pub struct HeldBatch {
    pub keys: Vec<String>,
    release: oneshot::Sender<()>,
}

impl HeldBatch {
    pub fn release(self) {
        let _ = self.release.send(());
    }
}

pub struct FakeStore {
    keys: Mutex<HashMap<String, ApiKeyRecord>>,
    batches: mpsc::UnboundedSender<HeldBatch>,
}

impl FakeStore {
    /// The store, and where its batches arrive.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<HeldBatch>) {
        let (batches, arrived) = mpsc::unbounded_channel();
        let store = Self {
            keys: Mutex::new(HashMap::new()),
            batches,
        };
        (store, arrived)
    }

    /// Adds a key with `total` to spend and at most `max_concurrent` requests at once.
    pub fn add_key(&self, key: &str, total: u64, max_concurrent: Option<u32>) {
        let record = ApiKeyRecord {
            key_hash: key.into(),
            prefix: String::new(),
            total_quota: total,
            used_quota: 0,
            created_at: 0,
            description: None,
            model_stats: Default::default(),
            allowed_models: Vec::new(),
            max_concurrent,
            expires_at: None,
            policy: Default::default(),
        };
        self.keys.lock().unwrap().insert(key.into(), record);
    }

    /// What `key` has spent.
    pub fn used(&self, key: &str) -> u64 {
        self.keys.lock().unwrap()[key].used_quota
    }

    /// Spends `cost` of `key` behind the gateway's back (another instance).
    pub fn spend_elsewhere(&self, key: &str, cost: u64) {
        self.keys.lock().unwrap().get_mut(key).unwrap().used_quota += cost;
    }

    fn debit(&self, r: &DebitRequest) -> DebitOutcome {
        let mut keys = self.keys.lock().unwrap();
        let Some(record) = keys.get_mut(&r.api_key) else {
            return DebitOutcome::NotFound;
        };
        if record.remaining() < r.cost {
            return DebitOutcome::Exhausted {
                used_quota: record.used_quota,
                total_quota: record.total_quota,
            };
        }
        record.used_quota += r.cost;
        DebitOutcome::Debited {
            used_quota: record.used_quota,
            total_quota: record.total_quota,
        }
    }
}

fn unused<T>() -> Result<T, StoreError> {
    Err(StoreError::Unavailable(
        "not in the quota tests' store".into(),
    ))
}

#[async_trait]
impl Store for FakeStore {
    fn backend_name(&self) -> &'static str {
        "fake"
    }

    fn is_shared(&self) -> bool {
        false
    }

    async fn load_credentials(&self) -> Result<Vec<CredentialRecord>, StoreError> {
        Ok(Vec::new())
    }
    async fn get_credential(&self, _: &str) -> Result<Option<CredentialRecord>, StoreError> {
        Ok(None)
    }
    async fn put_credential(&self, _: &CredentialRecord) -> Result<(), StoreError> {
        unused()
    }
    async fn delete_credential(&self, _: &str) -> Result<bool, StoreError> {
        unused()
    }
    async fn credentials_generation(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
    async fn load_config(&self) -> Result<Map<String, Value>, StoreError> {
        Ok(Map::new())
    }
    async fn save_config(&self, _: &Map<String, Value>) -> Result<(), StoreError> {
        unused()
    }
    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        Ok(self.keys.lock().unwrap().values().cloned().collect())
    }
    async fn get_key(&self, key: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        Ok(self.keys.lock().unwrap().get(key).cloned())
    }
    async fn insert_key(&self, _: &ApiKeyRecord) -> Result<(), StoreError> {
        unused()
    }
    async fn delete_key(&self, _: &str) -> Result<bool, StoreError> {
        unused()
    }
    async fn update_key(&self, _: &ApiKeyRecord) -> Result<bool, StoreError> {
        unused()
    }
    async fn debit_key(
        &self,
        api_key: &str,
        model: &str,
        cost: u64,
        now: i64,
    ) -> Result<DebitOutcome, StoreError> {
        let requests = [DebitRequest {
            api_key: api_key.into(),
            model: model.into(),
            cost,
            now,
        }];
        let mut outcomes = self.debit_keys(&requests).await;
        outcomes.pop().unwrap_or_else(unused)
    }
    /// Waits for the test to release the batch, then applies it in order.
    async fn debit_keys(&self, requests: &[DebitRequest]) -> Vec<Result<DebitOutcome, StoreError>> {
        let (release, released) = oneshot::channel();
        let keys = requests.iter().map(|r| r.api_key.clone()).collect();
        if self.batches.send(HeldBatch { keys, release }).is_err() || released.await.is_err() {
            return StoreError::Unavailable("the test ended".into()).for_each(requests.len());
        }
        requests.iter().map(|r| Ok(self.debit(r))).collect()
    }
    async fn refund_key(&self, key: &str, _: &str, cost: u64) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().unwrap();
        if let Some(record) = keys.get_mut(key) {
            record.used_quota = record.used_quota.saturating_sub(cost);
        }
        Ok(())
    }
    async fn load_model_costs(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        Ok(BTreeMap::new())
    }
    async fn set_model_cost(&self, _: &str, _: u64) -> Result<(), StoreError> {
        unused()
    }
    async fn delete_model_cost(&self, _: &str) -> Result<bool, StoreError> {
        unused()
    }
    async fn try_lease(&self, _: &str, _: &str, _: u64) -> Result<bool, StoreError> {
        Ok(true)
    }
    async fn release_lease(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn put_insight(
        &self,
        _: &str,
        _: &crate::store::CredentialInsight,
    ) -> Result<(), StoreError> {
        unused()
    }
    async fn get_insight(
        &self,
        _: &str,
    ) -> Result<Option<crate::store::CredentialInsight>, StoreError> {
        Ok(None)
    }
    async fn delete_insight(&self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn append_audit(&self, _: &AuditEntry) -> Result<(), StoreError> {
        Ok(())
    }
    async fn list_audit(&self, _: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(Vec::new())
    }
    async fn prune_audit(&self, _: i64, _: usize) -> Result<u64, StoreError> {
        Ok(0)
    }
}
