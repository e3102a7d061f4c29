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
    /// Limits per time window and source addresses; empty for keys made before them.
    #[serde(default, skip_serializing_if = "KeyPolicy::is_empty")]
    pub policy: KeyPolicy,
}

/// A key's limits per time window and the addresses it may be used from, as the panel wrote them
/// (`rpm`, `tpm` and the per-model maps are answered back as written, not folded into `limits`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyPolicy {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<KeyLimit>,
    /// Requests per minute of the whole key: a `1m` limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// Tokens per minute of the whole key: a `1m` limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// Model → requests per minute to that model.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub model_rpm: BTreeMap<String, u64>,
    /// Model → tokens per minute of that model.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub model_tpm: BTreeMap<String, u64>,
    /// CIDRs the key may be used from; empty means anywhere.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_ips: Vec<String>,
}

impl KeyPolicy {
    pub fn is_empty(&self) -> bool {
        *self == KeyPolicy::default()
    }
}

/// One limit of a key over a time window: at least one of the amounts is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLimit {
    /// `1m`, `1h`, `1d`, `7d`, `30d` (rolling) or `day`, `month` (calendar).
    pub window: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<u64>,
    /// Counts only requests to this model (the name as requested, after any prefix is stripped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
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
