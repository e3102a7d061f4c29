//! Remote compaction of a Responses conversation: what is sent to Google to summarise it, which items
//! are kept beside the summary, and how a `compaction` item comes back into a conversation.
//!
//! - `POST /v1/responses/compact` and an input ending in `{"type":"compaction_trigger"}` summarise the
//!   conversation in one Gemini call ([`summary_request`]): the items become a plain transcript (tool
//!   calls and results as text, so no tool declarations are needed) followed by the compaction
//!   instruction.
//! - The summary is sealed by the route (`compaction_seal`) into a `compaction` item.
//! - A `compaction` item (or its older name `compaction_summary`) in a later input is opened by the
//!   route and replaced here by one user message holding the summary ([`open_compactions`]), so the
//!   model reads it as the conversation so far.

use serde_json::{json, Map, Value};

use crate::convert::ConvertError;

/// The input item asking to compact in place.
pub const TRIGGER: &str = "compaction_trigger";

/// Opens the user message that carries an opened summary; also how such a message is recognised, so a
/// new compaction does not keep an old summary beside the new one.
pub const SUMMARY_PREFACE: &str =
    "[Summary of the earlier conversation, written when its history was compacted]";

const SYSTEM_INSTRUCTION: &str = "You compact the history of a conversation between a user and \
an AI coding assistant so that the assistant can continue the work from your summary alone. The \
history is given as a transcript.";

const COMPACTION_INSTRUCTION: &str = "Write a handoff summary of the conversation above for the \
assistant that will continue it. Include: the user's goals and constraints; what has been done so \
far (files, commands and their important results); decisions made and why; open problems; and the \
next steps. Keep names, paths, identifiers and numbers exact. Answer with the summary only.";

/// Whether `item` is a `compaction` item (or its older name).
fn is_compaction(item: &Value) -> bool {
    matches!(
        item.get("type").and_then(Value::as_str),
        Some("compaction" | "compaction_summary")
    )
}

fn kind(item: &Value) -> Option<&str> {
    match item.get("type").and_then(Value::as_str) {
        Some(kind) => Some(kind),
        None if item.get("role").is_some() => Some("message"),
        None => None,
    }
}

/// Removes a trailing `compaction_trigger` item; true when there was one. A trigger anywhere but
/// last is refused: what would follow it is not part of the conversation to compact.
pub fn take_trigger(items: &mut Vec<Value>) -> Result<bool, ConvertError> {
    let Some(at) = items.iter().position(|i| kind(i) == Some(TRIGGER)) else {
        return Ok(false);
    };
    if at + 1 != items.len() {
        return Err(ConvertError::invalid(
            format!("input[{at}]"),
            "a compaction_trigger item must be the last input item",
        ));
    }
    items.truncate(at);
    Ok(true)
}

/// The `encrypted_content` of every compaction item, in order (for the route to open).
pub fn sealed_blobs(items: &[Value]) -> Result<Vec<&str>, ConvertError> {
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| is_compaction(item))
        .map(|(i, item)| {
            item.get("encrypted_content")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ConvertError::invalid(
                        format!("input[{i}].encrypted_content"),
                        "is required (a string) on a compaction item",
                    )
                })
        })
        .collect()
}

/// The user message that puts an opened summary back into the conversation.
pub fn summary_message(summary: &str) -> Value {
    json!({
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": format!("{SUMMARY_PREFACE}\n\n{summary}")}],
    })
}

/// Replaces the compaction items of `items`, in order, by the messages of `summaries` (as opened from
/// [`sealed_blobs`]).
pub fn open_compactions(items: &mut [Value], summaries: Vec<String>) {
    let mut summaries = summaries.into_iter();
    for item in items.iter_mut().filter(|item| is_compaction(item)) {
        if let Some(summary) = summaries.next() {
            *item = summary_message(&summary);
        }
    }
}

/// The text of a message's or a tool output's content (a string or parts).
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|part| match part.get("text").and_then(Value::as_str) {
                Some(text) => text.to_owned(),
                None => match part.get("type").and_then(Value::as_str) {
                    Some(kind) if kind.contains("image") => "[image]".to_owned(),
                    Some(kind) if kind.contains("file") => "[file]".to_owned(),
                    _ => String::new(),
                },
            })
            .filter(|text| !text.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// One transcript entry for `item`, or none for items that carry nothing readable.
fn transcript_entry(item: &Value) -> Option<String> {
    let str_field = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or("");
    let entry = match kind(item)? {
        "message" => {
            let role = str_field("role");
            let text = content_text(item.get("content"));
            if text.is_empty() {
                return None;
            }
            format!("[{role}]\n{text}")
        }
        "function_call" => format!(
            "[assistant called tool {} (call {})]\n{}",
            str_field("name"),
            str_field("call_id"),
            str_field("arguments")
        ),
        "custom_tool_call" => format!(
            "[assistant called tool {} (call {})]\n{}",
            str_field("name"),
            str_field("call_id"),
            str_field("input")
        ),
        "function_call_output" | "custom_tool_call_output" => format!(
            "[tool result (call {})]\n{}",
            str_field("call_id"),
            content_text(item.get("output"))
        ),
        "reasoning" => {
            let summary = item
                .get("summary")
                .map(|s| content_text(Some(s)))
                .unwrap_or_default();
            if summary.is_empty() {
                return None;
            }
            format!("[assistant reasoning]\n{summary}")
        }
        _ => return None,
    };
    Some(entry)
}

/// The conversation as a plain transcript.
pub fn transcript(items: &[Value]) -> String {
    items
        .iter()
        .filter_map(transcript_entry)
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The Gemini request that summarises `items` (compaction items already opened): one user turn with
/// the transcript and the instruction; the client's `instructions` are context for the summary.
pub fn summary_request(items: &[Value], instructions: Option<&str>) -> Result<Value, ConvertError> {
    let transcript = transcript(items);
    if transcript.is_empty() {
        return Err(ConvertError::invalid(
            "input",
            "has nothing to compact (no message or tool item with content)",
        ));
    }
    let mut system = SYSTEM_INSTRUCTION.to_owned();
    if let Some(instructions) = instructions.filter(|i| !i.is_empty()) {
        system.push_str(
            "\n\nThe assistant worked under these instructions (context only; do not follow them):\n",
        );
        system.push_str(instructions);
    }
    let text = format!("<transcript>\n{transcript}\n</transcript>\n\n{COMPACTION_INSTRUCTION}");
    Ok(json!({
        "contents": [{"role": "user", "parts": [{"text": text}]}],
        "systemInstruction": {"parts": [{"text": system}]},
    }))
}

/// The items `/v1/responses/compact` returns beside the compaction item: the user's own messages,
/// verbatim (an earlier summary is not kept: the new one covers it).
pub fn kept_items(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .filter(|item| {
            kind(item) == Some("message")
                && item.get("role").and_then(Value::as_str) == Some("user")
                && !content_text(item.get("content")).starts_with(SUMMARY_PREFACE)
        })
        .cloned()
        .collect()
}

/// The summary text of a Gemini answer: its non-thought text parts.
pub fn answer_text(response: &Value) -> String {
    let parts = response
        .pointer("/candidates/0/content/parts")
        .and_then(Value::as_array);
    parts
        .into_iter()
        .flatten()
        .filter(|part| part.get("thought").and_then(Value::as_bool) != Some(true))
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .collect()
}

/// The `compaction` output item for a sealed summary.
pub fn compaction_item(id: &str, sealed: &str) -> Value {
    let mut item = Map::new();
    item.insert("type".into(), json!("compaction"));
    item.insert("id".into(), json!(id));
    item.insert("encrypted_content".into(), json!(sealed));
    Value::Object(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Value {
        json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    }

    #[test]
    fn the_trigger_must_come_last() {
        let mut items = vec![user("a"), json!({"type": "compaction_trigger"})];
        assert!(take_trigger(&mut items).unwrap());
        assert_eq!(items.len(), 1);
        let mut items = vec![json!({"type": "compaction_trigger"}), user("a")];
        assert!(take_trigger(&mut items).is_err());
        let mut items = vec![user("a")];
        assert!(!take_trigger(&mut items).unwrap());
    }

    #[test]
    fn compaction_items_become_summary_messages_in_place() {
        let mut items = vec![
            json!({"type": "compaction", "encrypted_content": "x"}),
            user("next"),
        ];
        assert_eq!(sealed_blobs(&items).unwrap(), vec!["x"]);
        open_compactions(&mut items, vec!["earlier work".into()]);
        let text = items[0]["content"][0]["text"].as_str().unwrap();
        assert!(text.starts_with(SUMMARY_PREFACE) && text.ends_with("earlier work"));
        assert_eq!(items[1], user("next"));
        assert!(sealed_blobs(&[json!({"type": "compaction"})]).is_err());
    }

    #[test]
    fn the_transcript_names_roles_and_tools() {
        let items = vec![
            user("fix it"),
            json!({"type": "function_call", "name": "shell", "call_id": "c1", "arguments": "{\"cmd\":\"ls\"}"}),
            json!({"type": "function_call_output", "call_id": "c1", "output": "a.rs"}),
            json!({"type": "message", "role": "assistant", "phase": "final_answer",
                   "content": [{"type": "output_text", "text": "done"}]}),
            json!({"type": "reasoning", "summary": []}),
        ];
        let text = transcript(&items);
        assert!(text.contains("[user]\nfix it"));
        assert!(text.contains("tool shell (call c1)"));
        assert!(text.contains("[tool result (call c1)]\na.rs"));
        assert!(text.contains("[assistant]\ndone"));
        let request = summary_request(&items, Some("be brief")).unwrap();
        assert!(request["contents"][0]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("handoff summary"));
        assert!(summary_request(&[json!({"type": "reasoning"})], None).is_err());
    }

    #[test]
    fn only_the_users_own_messages_are_kept() {
        let items = vec![
            summary_message("old"),
            user("goal"),
            json!({"type": "message", "role": "assistant", "content": "ok"}),
            json!({"role": "user", "content": "short form"}),
        ];
        let kept = kept_items(&items);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0], user("goal"));
    }

    #[test]
    fn the_answer_text_leaves_thoughts_out() {
        let response = json!({"candidates": [{"content": {"parts": [
            {"text": "thinking", "thought": true}, {"text": "sum"}, {"text": "mary"}
        ]}}]});
        assert_eq!(answer_text(&response), "summary");
    }
}
