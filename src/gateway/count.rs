//! The entry of a `countTokens` call, the gateway's second beside `serve`:
//! routes convert the request to Gemini's count shape and call [`count_tokens`]; the credential
//! choice and retries (`dispatch`) and the error's style happen here. Counting costs nothing, so no
//! key is debited; the route has already checked that the caller's key may use the model, before
//! converting anything (an Anthropic count may download images).

use serde_json::Value;

use super::calls;
use crate::error::{ApiError, ErrorStyle};
use crate::state::{AppState, UpstreamClient};

/// Google's count for the Code Assist shaped `request` (`{"request": {"model", "contents"}}`) on
/// `base_model`; every error rendered in `style`.
pub async fn count_tokens(
    state: &AppState,
    client: &UpstreamClient,
    base_model: &str,
    request: &Value,
    style: ErrorStyle,
) -> Result<Value, ApiError> {
    calls::count_tokens(state, client, base_model, request)
        .await
        .map_err(|e| ApiError::from(e).with_style(style))
}
