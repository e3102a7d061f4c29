//! Reading JSON request bodies ourselves, so malformed input gets our 400 in the route's style instead of
//! a framework default.

use serde_json::Value;

use crate::error::{ApiError, ErrorStyle};

pub fn parse_json(body: &[u8], style: ErrorStyle) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(
            ApiError::bad_request("request body is empty; expected a JSON object")
                .with_style(style),
        );
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("request body is not valid JSON: {e}")).with_style(style)
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request("request body must be a JSON object").with_style(style));
    }
    Ok(value)
}
