//! What a Responses `response` object carries besides Google's answer: its id, creation time, model
//! name, the echoed request settings and tool names (`ResponseHeader`), and the `usage` block.

use serde_json::{json, Map, Value};

use crate::convert::responses::tools::ToolMap;

/// What the response object reports besides Google's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseHeader {
    pub id: String,
    pub created_at: i64,
    /// The model name shown to the client.
    pub model: String,
    /// Request settings echoed on the response (`instructions`, `tools`, …).
    pub echo: Map<String, Value>,
    /// Gemini function name → the client's tool.
    pub tools: ToolMap,
    /// Whether thought text is shown (as reasoning summary).
    pub return_thoughts: bool,
}

impl ResponseHeader {
    pub fn new(
        model: &str,
        echo: Map<String, Value>,
        tools: ToolMap,
        return_thoughts: bool,
    ) -> Self {
        Self {
            id: new_id("resp"),
            created_at: chrono::Utc::now().timestamp(),
            model: model.to_owned(),
            echo,
            tools,
            return_thoughts,
        }
    }
}

/// Sets a key of a JSON object (other values are left alone; every caller passes an object).
pub(super) fn set(target: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = target {
        map.insert(key.to_owned(), value);
    }
}

pub(super) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A custom tool's text: the `input` argument, else the only string argument, else the arguments as JSON.
pub(super) fn custom_input(args: Option<&Value>) -> String {
    let Some(Value::Object(map)) = args else {
        return String::new();
    };
    if let Some(Value::String(input)) = map.get("input") {
        return input.clone();
    }
    let mut strings = map.values().filter_map(Value::as_str);
    match (strings.next(), strings.next(), map.len()) {
        (Some(only), None, 1) => only.to_owned(),
        _ => Value::Object(map.clone()).to_string(),
    }
}

/// Responses `usage` from Gemini `usageMetadata`. The detail objects are always present (Codex fails
/// without them); thinking tokens count as output tokens.
pub fn usage(meta: &Value) -> Value {
    let count = |key: &str| meta.get(key).and_then(Value::as_u64).unwrap_or(0);
    let input = count("promptTokenCount");
    let thoughts = count("thoughtsTokenCount");
    let output = count("candidatesTokenCount").saturating_add(thoughts);
    let total = meta
        .get("totalTokenCount")
        .and_then(Value::as_u64)
        .unwrap_or(input.saturating_add(output));
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": count("cachedContentTokenCount")},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": thoughts},
        "total_tokens": total,
    })
}
