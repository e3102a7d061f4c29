//! Why a key was refused: the one error of the quota, and its one mapping to an answer.

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
