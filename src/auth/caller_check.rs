//! Full validation of an API caller before anything costs us: the password, or an `sk-` key that exists,
//! has not expired and (for a model route) lists the model. Used by every client route, including the
//! ones that debit nothing (model lists, `countTokens`), so a made-up `sk-` string never reaches Google.

use actix_web::HttpRequest;

use super::{authenticate_api, ApiCaller};
use crate::actors::quota::messages::QuotaError;
use crate::error::{ApiError, ErrorStyle};
use crate::state::AppState;

/// Checks `caller` against the key table; the password always passes.
pub async fn verify_caller(
    state: &AppState,
    caller: &ApiCaller,
    model: Option<&str>,
    style: ErrorStyle,
) -> Result<(), ApiError> {
    let ApiCaller::Key(key) = caller else {
        return Ok(());
    };
    // Cached rules answer on this thread; only a key not cached is read from the store.
    state.debits.check(key, model).await.map_err(|e| {
        let err = match e {
            QuotaError::Storage => ApiError::internal("quota storage failed"),
            other => ApiError::forbidden(other.to_string()),
        };
        err.with_style(style)
    })
}

/// [`authenticate_api`] followed by [`verify_caller`].
pub async fn authorize_api(
    req: &HttpRequest,
    state: &AppState,
    model: Option<&str>,
    style: ErrorStyle,
) -> Result<ApiCaller, ApiError> {
    let caller = authenticate_api(req, &state.settings.current(), style)?;
    verify_caller(state, &caller, model, style).await?;
    Ok(caller)
}
