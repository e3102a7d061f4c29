//! What the catalogue knows of a model, applied to each request before it goes to Google: the output
//! tokens lowered to the model's limit, and a thinking level the model refused replaced by the one it
//! took. The thinking level is also learned here: a 400 that names it is retried once, on the same
//! credential, with the nearest level the model accepts, and the answer is remembered for the model.

use std::borrow::Cow;

use serde_json::{json, Value};

use crate::convert::gemini::output_limit::{clamp_output_tokens, max_output_tokens};
use crate::fleet::catalogue::thinking_levels::{self, ThinkingLevel};
use crate::state::AppState;
use crate::upstream::UpstreamError;

/// The `thinkingLevel` the request carries, if any.
fn thinking_level(request: &Value) -> Option<ThinkingLevel> {
    request
        .pointer("/generationConfig/thinkingConfig/thinkingLevel")
        .and_then(Value::as_str)
        .and_then(ThinkingLevel::parse)
}

fn set_thinking_level(request: &mut Value, level: ThinkingLevel) {
    if let Some(slot) = request.pointer_mut("/generationConfig/thinkingConfig/thinkingLevel") {
        *slot = json!(level.wire());
    }
}

/// The request as `base_model` takes it (borrowed when nothing needs changing, as usual).
pub fn shape<'a>(state: &AppState, base_model: &str, request: &'a Value) -> Cow<'a, Value> {
    let limit = state.catalogue.snapshot().output_limit(base_model);
    let over = limit.filter(|limit| max_output_tokens(request).is_some_and(|asked| asked > *limit));
    let substitute = thinking_level(request)
        .and_then(|level| state.catalogue.thinking_substitute(base_model, level));
    if over.is_none() && substitute.is_none() {
        return Cow::Borrowed(request);
    }
    let mut shaped = request.clone();
    if let Some(limit) = over {
        clamp_output_tokens(&mut shaped, limit);
    }
    if let Some(level) = substitute {
        set_thinking_level(&mut shaped, level);
    }
    Cow::Owned(shaped)
}

/// After a failed call: the request to send once more on the same credential, when Google refused its
/// thinking level (the level taken instead is remembered for `base_model`). `None` for every other
/// failure, which goes to the retry loop as it came.
pub fn thinking_retry(
    state: &AppState,
    base_model: &str,
    request: &Value,
    error: &UpstreamError,
) -> Option<Value> {
    if error.status() != Some(400) {
        return None;
    }
    let sent = thinking_level(request)?;
    let mut refusal = thinking_levels::refusal(error.body()?, sent)?;
    // The level refused is the one this request carried, whatever the message's wording.
    refusal.refused = sent;
    let accepted = thinking_levels::nearest(sent, &refusal.supported)?;
    state
        .catalogue
        .learn_thinking(base_model, &refusal, accepted);
    log::info!(
        "{base_model} refused thinking level {}; sending {} from now on",
        sent.wire(),
        accepted.wire()
    );
    let mut retry = request.clone();
    set_thinking_level(&mut retry, accepted);
    Some(retry)
}
