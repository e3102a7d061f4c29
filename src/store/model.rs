//! The key records every backend stores (the credential records are `crate::credentials`' plain data).
//! Plain data: serde only, no behaviour beyond small helpers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An `sk-` key handed to a user, with its quota.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub api_key: String,
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
