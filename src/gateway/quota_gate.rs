//! Charging `sk-` keys: the debit happens after the request is validated and before Google is called;
//! the returned guard refunds it if the client ends up with nothing.

use crate::actors::quota::messages::{DebitQuota, QuotaError};
use crate::actors::quota::QuotaGuard;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorKind};
use crate::state::AppState;

pub fn quota_error(e: QuotaError) -> ApiError {
    let kind = match &e {
        QuotaError::UnknownKey | QuotaError::Expired | QuotaError::ModelNotAllowed(_) => {
            ErrorKind::Forbidden
        }
        QuotaError::Exhausted { .. } => ErrorKind::InsufficientQuota,
        QuotaError::TooManyConcurrent(_) => ErrorKind::RateLimited,
        QuotaError::Storage => return ApiError::internal("quota storage failed"),
    };
    ApiError::new(kind, e.to_string())
}

/// Debits the caller's key for `model` (the name as requested). The password pays nothing. Errors are
/// in the default style; the caller sets its own.
pub async fn charge(
    state: &AppState,
    caller: &ApiCaller,
    model: &str,
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
        .map_err(ApiError::mailbox("the quota service"))?
        .map_err(quota_error)?;
    crate::observe::trace::note_debit(debit.cost, debit.remaining);
    Ok(Some(QuotaGuard::new(state.quota.clone(), debit)))
}
