//! The entry of a `countTokens` call, the gateway's second beside `serve`:
//! routes convert the request to Gemini's count shape and call [`count_tokens`]; the credential
//! choice and retries (`dispatch`) happen here. Counting costs nothing, so no
//! key is debited; the route has already checked that the caller's key may use the model, before
//! converting anything (an Anthropic count may download images).

use serde_json::Value;

use super::calls;
use crate::error::ApiError;
use crate::state::{AppState, UpstreamClient};

/// Google's count for the Code Assist shaped `request` (`{"request": {"model", "contents"}}`) on
/// `base_model`.
pub async fn count_tokens(
    state: &AppState,
    client: &UpstreamClient,
    base_model: &str,
    request: &Value,
) -> Result<Value, ApiError> {
    calls::count_tokens(state, client, base_model, request)
        .await
        .map_err(ApiError::from)
}
