//! Gemini responses → Anthropic Messages answers: the whole message (the stream's events folded,
//! so it says exactly what a stream would) and Anthropic's error envelope.

use serde_json::{json, Map, Value};

use crate::convert::anthropic::stream::{AnthropicStreamConverter, StreamOptions};

/// The whole `message` object for a complete (unwrapped) Gemini response.
pub fn gemini_to_anthropic_message(resp: &Value, model: &str, opts: StreamOptions) -> Value {
    let mut converter = AnthropicStreamConverter::new(model, opts);
    let mut events = converter.on_event(resp);
    events.extend(converter.finish());
    fold_events(&events)
}

/// Accumulates stream events into the message they describe, as Anthropic's SDKs do.
pub fn fold_events(events: &[Value]) -> Value {
    let mut message = Map::new();
    let mut blocks: Vec<Value> = Vec::new();
    let mut partial_json: Vec<String> = Vec::new();
    for event in events {
        match event.get("type").and_then(Value::as_str) {
            Some("message_start") => {
                if let Some(Value::Object(start)) = event.get("message") {
                    message = start.clone();
                }
            }
            Some("content_block_start") => {
                blocks.push(event.get("content_block").cloned().unwrap_or(Value::Null));
                partial_json.push(String::new());
            }
            Some("content_block_delta") => {
                let (Some(block), Some(json_text), Some(delta)) = (
                    blocks.last_mut(),
                    partial_json.last_mut(),
                    event.get("delta"),
                ) else {
                    continue;
                };
                apply_delta(block, json_text, delta);
            }
            Some("content_block_stop") => {
                let (Some(block), Some(json_text)) = (blocks.last_mut(), partial_json.last())
                else {
                    continue;
                };
                if block.get("type").and_then(Value::as_str) == Some("tool_use") {
                    let input = serde_json::from_str::<Value>(json_text)
                        .ok()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| json!({}));
                    set(block, "input", input);
                }
            }
            Some("message_delta") => {
                if let Some(Value::Object(delta)) = event.get("delta") {
                    for (key, value) in delta {
                        message.insert(key.clone(), value.clone());
                    }
                }
                if let Some(usage) = event.get("usage") {
                    message.insert("usage".into(), usage.clone());
                }
            }
            _ => {}
        }
    }
    message.insert("content".into(), Value::Array(blocks));
    Value::Object(message)
}

fn set(block: &mut Value, key: &str, value: Value) {
    if let Some(block) = block.as_object_mut() {
        block.insert(key.to_owned(), value);
    }
}

fn apply_delta(block: &mut Value, partial_json: &mut String, delta: &Value) {
    let append = |block: &mut Value, key: &str, piece: Option<&str>| {
        let joined = format!(
            "{}{}",
            block.get(key).and_then(Value::as_str).unwrap_or_default(),
            piece.unwrap_or_default()
        );
        set(block, key, Value::String(joined));
    };
    match delta.get("type").and_then(Value::as_str) {
        Some("text_delta") => append(block, "text", delta.get("text").and_then(Value::as_str)),
        Some("thinking_delta") => append(
            block,
            "thinking",
            delta.get("thinking").and_then(Value::as_str),
        ),
        Some("signature_delta") => {
            let signature = delta.get("signature").cloned().unwrap_or(Value::Null);
            set(block, "signature", signature);
        }
        Some("input_json_delta") => partial_json.push_str(
            delta
                .get("partial_json")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
        _ => {}
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
