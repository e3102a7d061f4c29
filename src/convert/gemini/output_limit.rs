//! `generationConfig.maxOutputTokens` against a model's output limit: Google answers 400 to a request
//! asking for more than the model can write, while clients (Claude Code asks for 128000) often ask for
//! more than any model gives. Asking for the limit instead answers the same.

use serde_json::{json, Value};

/// Both spellings the native route accepts.
const KEYS: [&str; 2] = ["maxOutputTokens", "max_output_tokens"];

/// The output tokens the request asks for, if it says.
pub fn max_output_tokens(request: &Value) -> Option<u64> {
    let generation = request.get("generationConfig")?;
    KEYS.iter()
        .find_map(|key| generation.get(*key).and_then(Value::as_u64))
}

/// Lowers the request's output tokens to `limit`; answers whether it changed anything.
pub fn clamp_output_tokens(request: &mut Value, limit: u64) -> bool {
    let Some(generation) = request
        .get_mut("generationConfig")
        .and_then(Value::as_object_mut)
    else {
        return false;
    };
    let mut changed = false;
    for key in KEYS {
        if let Some(value) = generation.get_mut(key) {
            if value.as_u64().is_some_and(|asked| asked > limit) {
                *value = json!(limit);
                changed = true;
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_larger_ask_is_lowered() {
        let mut request = json!({"generationConfig": {"maxOutputTokens": 128000}});
        assert_eq!(max_output_tokens(&request), Some(128000));
        assert!(clamp_output_tokens(&mut request, 65536));
        assert_eq!(request["generationConfig"]["maxOutputTokens"], 65536);
        assert!(!clamp_output_tokens(&mut request, 100_000));
        let mut snake = json!({"generationConfig": {"max_output_tokens": 10}});
        assert!(clamp_output_tokens(&mut snake, 5));
        assert_eq!(snake["generationConfig"]["max_output_tokens"], 5);
        let mut none = json!({"contents": []});
        assert!(!clamp_output_tokens(&mut none, 5));
        assert_eq!(max_output_tokens(&none), None);
    }
}
