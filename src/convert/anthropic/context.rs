//! Context Claude Code puts into the history that is neither a user's words nor the model's: `system`
//! messages in the middle of `messages`, and `compaction` blocks (beta `compact-2026-01-12`) whose
//! summary stands in for the turns it replaced.
//!
//! Gemini has no system role inside `contents`, so both become user-role text at their position,
//! framed so the model reads them as notes rather than as something the user said. System messages
//! before the first user or assistant message stay in the system instruction: they are the prompt.

use serde_json::{json, Map, Value};

use crate::convert::ConvertError;

/// A mid-conversation system message's text, framed as a system note.
pub fn system_note(part: Value) -> Value {
    match part.get("text").and_then(Value::as_str) {
        Some(text) => json!({"text": format!("<system>\n{text}\n</system>")}),
        None => part,
    }
}

/// A `compaction` block → the summary as a text part (none for an empty or `null` summary). The
/// client has already dropped the turns it summarises; whatever it still sends is kept as sent.
pub fn compaction_part(
    obj: &Map<String, Value>,
    field: &str,
) -> Result<Option<Value>, ConvertError> {
    match obj.get("content") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(summary)) if summary.trim().is_empty() => Ok(None),
        Some(Value::String(summary)) => Ok(Some(json!({
            "text": format!("<conversation_summary>\n{summary}\n</conversation_summary>")
        }))),
        Some(_) => Err(ConvertError::invalid(
            format!("{field}.content"),
            "must be a string",
        )),
    }
}

/// A user turn's parts with the system notes that came before it: function responses first (Gemini
/// pairs them with the calls of the turn before), then the notes, then the rest.
pub fn user_turn_with_notes(parts: Vec<Value>, notes: Vec<Value>) -> Vec<Value> {
    if notes.is_empty() {
        return parts;
    }
    let (responses, rest): (Vec<Value>, Vec<Value>) = parts
        .into_iter()
        .partition(|p| p.get("functionResponse").is_some());
    let mut turn = responses;
    turn.extend(notes);
    turn.extend(rest);
    turn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_follow_function_responses_and_precede_the_rest() {
        let parts = vec![
            json!({"text": "and now?"}),
            json!({"functionResponse": {"name": "f", "response": {}}}),
        ];
        let notes = vec![system_note(json!({"text": "# Env"}))];
        assert_eq!(
            user_turn_with_notes(parts, notes),
            vec![
                json!({"functionResponse": {"name": "f", "response": {}}}),
                json!({"text": "<system>\n# Env\n</system>"}),
                json!({"text": "and now?"}),
            ]
        );
    }

    #[test]
    fn compaction_summary_is_text_and_other_shapes_are_refused() {
        let block = |content: Value| json!({"type": "compaction", "content": content});
        let part = |b: Value| compaction_part(b.as_object().unwrap(), "m.content.0");
        assert_eq!(
            part(block(json!("we fixed the parser"))).unwrap(),
            Some(
                json!({"text": "<conversation_summary>\nwe fixed the parser\n</conversation_summary>"})
            )
        );
        assert_eq!(part(block(Value::Null)).unwrap(), None);
        assert_eq!(part(block(json!(" "))).unwrap(), None);
        assert_eq!(
            part(block(json!([1]))).unwrap_err().field(),
            "m.content.0.content"
        );
    }
}
