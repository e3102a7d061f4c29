use actix::prelude::*;

use crate::store::ApiKeyRecord;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuotaError {
    #[error("invalid API key")]
    UnknownKey,
    #[error("this API key has expired")]
    Expired,
    #[error("API key quota used up: {used} of {total} spent, this request costs {cost}")]
    Exhausted { used: u64, total: u64, cost: u64 },
    #[error("this API key may not use model {0}")]
    ModelNotAllowed(String),
    #[error("this API key already has {0} requests in flight, its limit")]
    TooManyConcurrent(u32),
    #[error("quota storage failed")]
    Storage,
}

/// Take the cost of one request to `model` from `key`, atomically.
#[derive(Message)]
#[rtype(result = "Result<Debit, QuotaError>")]
pub struct DebitQuota {
    pub key: String,
    pub model: String,
}

/// A successful debit; refunded unless committed, and its concurrency slot released, when dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Debit {
    pub key: String,
    pub model: String,
    pub cost: u64,
    pub remaining: u64,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Refund(pub Debit);

#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseSlot(pub String);

/// Drop cached key records (after an admin change).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ForgetKey(pub String);

#[derive(Message)]
#[rtype(result = "Result<std::collections::BTreeMap<String, u64>, QuotaError>")]
pub struct GetCosts;

#[derive(Message)]
#[rtype(result = "Result<(), QuotaError>")]
pub struct SetCost {
    pub model: String,
    pub cost: u64,
}

#[derive(Message)]
#[rtype(result = "Result<bool, QuotaError>")]
pub struct DeleteCost(pub String);

/// The cost a request to `model` would have now.
#[derive(Message)]
#[rtype(result = "(u64, bool)")]
pub struct CostOf(pub String);

pub fn public_view(record: &ApiKeyRecord) -> serde_json::Value {
    serde_json::json!({
        "api_key": record.api_key,
        "total_quota": record.total_quota,
        "used_quota": record.used_quota,
        "remaining_quota": record.remaining(),
        "created_at": record.created_at,
        "description": record.description,
        "model_stats": record.model_stats,
        "allowed_models": record.allowed_models,
        "max_concurrent": record.max_concurrent,
        "expires_at": record.expires_at,
    })
}
