//! The messages of the `QuotaActor`: each a struct with named fields and a typed result.

use std::collections::BTreeMap;

use actix::prelude::*;
use tokio::sync::oneshot;

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
    /// A limit per time window is used up; `window` as written (`1m`, `day`).
    #[error(
        "this API key has used up its limit for the window {window}; try again in {retry_after} s"
    )]
    WindowExhausted { window: String, retry_after: u64 },
    #[error("this API key may not be used from this address")]
    AddressNotAllowed,
}

impl From<QuotaError> for crate::error::ApiError {
    /// The one mapping of quota refusals to answers (each route sets its own style).
    fn from(e: QuotaError) -> Self {
        use crate::error::{ApiError, ErrorKind};
        let kind = match &e {
            QuotaError::UnknownKey
            | QuotaError::Expired
            | QuotaError::ModelNotAllowed(_)
            | QuotaError::AddressNotAllowed => ErrorKind::Forbidden,
            QuotaError::Exhausted { .. } => ErrorKind::InsufficientQuota,
            QuotaError::TooManyConcurrent(_) => ErrorKind::RateLimited,
            QuotaError::WindowExhausted { retry_after, .. } => {
                return ApiError::new(ErrorKind::KeyWindowExhausted, e.to_string())
                    .with_retry_after(*retry_after)
            }
            QuotaError::Storage => return ApiError::internal("quota storage failed"),
        };
        ApiError::new(kind, e.to_string())
    }
}

/// The window charges of one admitted request, taken back if its debit fails or is refunded, and
/// where its tokens are added after the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargedWindows {
    pub key: String,
    pub cost: u64,
    pub charges: Vec<crate::store::WindowCharge>,
}

/// A debit that passed the key's rules and is on its way to the store.
#[derive(Debug)]
pub struct Admitted {
    /// The balance this instance last saw for the key covers this request and every other one of
    /// the key in flight here, so Google may be called while the debit is at the store (the client
    /// is still answered only once it is durable). Otherwise the debit is awaited first, so a key
    /// near its end never spends a Google call it cannot pay for.
    pub overlap: bool,
    /// The store's verdict.
    pub durable: oneshot::Receiver<Result<Debit, QuotaError>>,
}

/// A successful debit; refunded unless committed, and its concurrency slot released, when dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Debit {
    pub key: String,
    pub model: String,
    pub cost: u64,
    pub remaining: u64,
    /// It took one of its key's concurrency slots, to be released when the request ends.
    pub holds_slot: bool,
    /// Its key has limits per time window that count it.
    pub windows: Option<std::sync::Arc<ChargedWindows>>,
}

/// Store a new API key (the panel's "create key").
#[derive(Message)]
#[rtype(result = "Result<(), QuotaError>")]
pub struct CreateKey {
    pub record: ApiKeyRecord,
}

/// Replace the settings of an existing key (its use stays); answers whether it existed.
#[derive(Message)]
#[rtype(result = "Result<bool, QuotaError>")]
pub struct UpdateKey {
    pub record: ApiKeyRecord,
}

/// Delete an API key and forget its in-flight count; answers whether it existed.
#[derive(Message)]
#[rtype(result = "Result<bool, QuotaError>")]
pub struct DeleteKey {
    pub key: String,
}

/// The configured cost table (model → cost), read fresh from the store.
#[derive(Message)]
#[rtype(result = "Result<BTreeMap<String, u64>, QuotaError>")]
pub struct GetCosts;

/// Configure the cost of `model`.
#[derive(Message)]
#[rtype(result = "Result<(), QuotaError>")]
pub struct SetCost {
    pub model: String,
    pub cost: u64,
}

/// Remove the configured cost of `model`; answers whether one was configured.
#[derive(Message)]
#[rtype(result = "Result<bool, QuotaError>")]
pub struct DeleteCost {
    pub model: String,
}

/// The cost a request to `model` would have now.
#[derive(Message)]
#[rtype(result = "ModelCost")]
pub struct CostOf {
    pub model: String,
}

/// The answer to [`CostOf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, MessageResponse)]
pub struct ModelCost {
    pub cost: u64,
    /// No cost is configured for the model: the default applies.
    pub is_default: bool,
}
