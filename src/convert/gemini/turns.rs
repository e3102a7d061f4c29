//! Gemini `contents` turns as every dialect's history builds them: same-role turns merged (Gemini wants
//! them alternating) and the placeholder thought signature for replayed calls whose own was lost.

use serde_json::{json, Value};

/// Documented placeholder that tells Gemini 3 to accept a function call whose thought signature was
/// lost (e.g. history written by another model or a client that drops ids).
pub const SKIP_SIGNATURE_SENTINEL: &str = "skip_thought_signature_validator";

/// Append parts as a turn, merging into the previous turn when it has the same role.
pub fn push_turn(contents: &mut Vec<Value>, role: &str, parts: Vec<Value>) {
    if parts.is_empty() {
        return;
    }
    if let Some(last) = contents.last_mut() {
        if last.get("role").and_then(Value::as_str) == Some(role) {
            if let Some(Value::Array(existing)) = last.get_mut("parts") {
                existing.extend(parts);
                return;
            }
        }
    }
    contents.push(json!({"role": role, "parts": parts}));
}
