//! The key records every backend stores (the credential records are `crate::credentials`' plain data).
//! Plain data: serde only, no behaviour beyond small helpers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An `sk-` key handed to a user, with its quota.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// SHA-256 of the key in hex (`crate::key_id::hash_key`); the key itself is never stored.
    /// Stores written before keys were hashed named this field `api_key` and held the key: such a
    /// record is converted at start (`store::key_hashing`).
    #[serde(alias = "api_key")]
    pub key_hash: String,
    /// The start of the key, for display (`sk-ab12…`).
    #[serde(default)]
    pub prefix: String,
    pub total_quota: u64,
    pub used_quota: u64,
    /// Unix seconds.
    pub created_at: i64,
    pub description: Option<String>,
    /// Model → quota consumed by it.
    #[serde(default)]
    pub model_stats: BTreeMap<String, u64>,
    /// Empty means every model.
    #[serde(default)]
    pub allowed_models: Vec<String>,
    pub max_concurrent: Option<u32>,
    /// Unix seconds after which the key is refused.
    pub expires_at: Option<i64>,
}

impl ApiKeyRecord {
    pub fn remaining(&self) -> u64 {
        self.total_quota.saturating_sub(self.used_quota)
    }
}

/// One debit of a batch ([`crate::store::Store::debit_keys`]): the arguments of `debit_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebitRequest {
    /// The key's hash, the name its record is stored under.
    pub api_key: String,
    pub model: String,
    pub cost: u64,
    /// Unix seconds; the key must expire after it.
    pub now: i64,
}

/// Result of an atomic debit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebitOutcome {
    /// The cost was taken; the balance after it.
    Debited {
        used_quota: u64,
        total_quota: u64,
    },
    /// Remaining quota is smaller than the cost; nothing taken.
    Exhausted {
        used_quota: u64,
        total_quota: u64,
    },
    /// The key is past its expiry; nothing taken.
    Expired,
    NotFound,
}
