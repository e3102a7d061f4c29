//! Refusals that come before any scripted reply, on every API (Code Assist, Gemini API, Vertex):
//!
//! - by content (`refuse_pattern`): a generate / stream / countTokens call whose body, as the client
//!   sent it, contains the pattern answers Google's plain 429, as if that prompt alone were over quota;
//! - by thinking level (`refuse_thinking_level`): a generate / stream call for a model asking for a
//!   `generationConfig.thinkingConfig.thinkingLevel` the model does not offer answers 400, with the
//!   message Google gives, naming the levels the model does offer.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::Value;

use super::dispatch::{google_error, Call};
use super::state::FakeState;

/// The thinking levels Gemini knows, in the order Google lists them.
const THINKING_LEVELS: [&str; 4] = ["MINIMAL", "LOW", "MEDIUM", "HIGH"];

/// The plain 429 when the call's body contains the refused pattern.
pub(crate) fn by_content(state: &FakeState, call: &Call) -> Option<HttpResponse> {
    let pattern = state.refuse_pattern.as_deref()?.as_bytes();
    let body = call.raw_body.as_ref();
    let found = !pattern.is_empty() && body.windows(pattern.len()).any(|w| w == pattern);
    found.then(|| {
        google_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
        )
    })
}

/// The 400 for a thinking level `model` refuses; `envelope` is a Code Assist envelope (bare calls
/// are enveloped before they get here).
pub(crate) fn by_thinking_level(
    state: &FakeState,
    model: &str,
    envelope: &Value,
) -> Option<HttpResponse> {
    let asked = envelope
        .pointer("/request/generationConfig/thinkingConfig/thinkingLevel")
        .and_then(Value::as_str)?
        .to_ascii_uppercase();
    let refused = state.thinking_refusals.get(bare_model(model))?;
    if !refused.contains(&asked) {
        return None;
    }
    let supported: Vec<&str> = THINKING_LEVELS
        .into_iter()
        .filter(|level| !refused.contains(*level))
        .collect();
    Some(google_error(
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        &format!(
            "Thinking level {asked} is not supported for this model. Supported thinking levels are: {}.",
            supported.join(", ")
        ),
    ))
}

/// A model id without the `models/` prefix some clients put on it.
pub(crate) fn bare_model(model: &str) -> &str {
    model.strip_prefix("models/").unwrap_or(model)
}
