//! Charging `sk-` keys: the debit happens after the request is validated and before Google is called;
//! the returned guard refunds it if the client ends up with nothing.

use crate::actors::quota::{DebitQuota, QuotaError, QuotaGuard};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorStyle};

use super::AppState;

pub fn quota_error(e: QuotaError, style: ErrorStyle) -> ApiError {
    let err = match &e {
        QuotaError::UnknownKey | QuotaError::Expired | QuotaError::ModelNotAllowed(_) => {
            ApiError::forbidden(e.to_string())
        }
        QuotaError::Exhausted { .. } => {
            ApiError::too_many(e.to_string()).with_openai_type("insufficient_quota")
        }
        QuotaError::TooManyConcurrent(_) => ApiError::too_many(e.to_string()),
        QuotaError::Storage => ApiError::internal("quota storage failed"),
    };
    err.with_style(style)
}

/// Debits the caller's key for `model` (the name as requested). The password pays nothing.
pub async fn charge(
    state: &AppState,
    caller: &ApiCaller,
    model: &str,
    style: ErrorStyle,
) -> Result<Option<QuotaGuard>, ApiError> {
    let ApiCaller::Key(key) = caller else {
        crate::observe::trace::note_caller(None);
        return Ok(None);
    };
    crate::observe::trace::note_caller(Some(key));
    let debit = state
        .quota
        .send(DebitQuota {
            key: key.clone(),
            model: model.to_string(),
        })
        .await
        .map_err(|_| ApiError::internal("quota service unavailable").with_style(style))?
        .map_err(|e| quota_error(e, style))?;
    crate::observe::trace::note_debit(debit.cost, debit.remaining);
    Ok(Some(QuotaGuard::new(state.quota.clone(), debit)))
}
