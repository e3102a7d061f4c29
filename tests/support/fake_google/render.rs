//! Turns a scripted answer into Code Assist response JSON (whole, or as stream events).

use serde_json::{json, Map, Value};

use super::reply::{Answer, FunctionCall};

/// Word count of every text part under `request.contents` (or top-level `contents`); the fake's
/// stand-in for a tokenizer, shared by `countTokens` and `usageMetadata`.
pub(crate) fn count_prompt_words(body: &Value) -> u64 {
    let contents = body
        .pointer("/request/contents")
        .or_else(|| body.get("contents"));
    let Some(Value::Array(contents)) = contents else {
        return 0;
    };
    contents
        .iter()
        .filter_map(|content| content.get("parts").and_then(Value::as_array))
        .flatten()
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .map(count_words)
        .sum()
}

fn count_words(text: &str) -> u64 {
    u64::try_from(text.split_whitespace().count()).unwrap_or(u64::MAX)
}

/// Per-call facts stamped into every response object.
pub(crate) struct ResponseMeta<'a> {
    pub(crate) model: &'a str,
    pub(crate) response_id: &'a str,
    pub(crate) prompt_tokens: u64,
    /// Words served from the modelled implicit cache (`cachedContentTokenCount` when above 0).
    pub(crate) cached_tokens: u64,
}

impl Answer {
    fn usage_metadata(&self, prompt_tokens: u64, cached_tokens: u64) -> Value {
        if let Some(usage) = &self.usage {
            return usage.clone();
        }
        let candidates = count_words(&self.chunks.concat());
        let thoughts = self.thought.as_deref().map_or(0, count_words);
        let mut usage = json!({
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": candidates,
            "totalTokenCount": prompt_tokens + candidates + thoughts,
        });
        if thoughts > 0 {
            usage["thoughtsTokenCount"] = json!(thoughts);
        }
        if cached_tokens > 0 {
            usage["cachedContentTokenCount"] = json!(cached_tokens);
        }
        usage
    }

    /// The whole answer as one response object (non-stream call).
    pub(crate) fn whole_response(&self, meta: &ResponseMeta<'_>) -> Value {
        let mut parts = Vec::new();
        if let Some(thought) = &self.thought {
            parts.push(thought_part(thought));
        }
        let text = self.chunks.concat();
        if !text.is_empty() {
            parts.push(json!({"text": text}));
        }
        parts.extend(self.function_calls.iter().map(function_call_part));
        let mut response = response_object(parts, meta);
        self.finish(&mut response, meta);
        response
    }

    /// The answer as stream events: thought, then one event per text piece, then the function
    /// calls; the last event carries `finishReason` and `usageMetadata`.
    pub(crate) fn stream_responses(&self, meta: &ResponseMeta<'_>) -> Vec<Value> {
        let mut events = Vec::new();
        if let Some(thought) = &self.thought {
            events.push(response_object(vec![thought_part(thought)], meta));
        }
        for chunk in self.chunks.iter().filter(|c| !c.is_empty()) {
            events.push(response_object(vec![json!({"text": chunk})], meta));
        }
        if !self.function_calls.is_empty() {
            let parts = self.function_calls.iter().map(function_call_part).collect();
            events.push(response_object(parts, meta));
        }
        if events.is_empty() {
            events.push(response_object(vec![json!({"text": ""})], meta));
        }
        if let Some(last) = events.last_mut() {
            self.finish(last, meta);
        }
        events
    }

    fn finish(&self, response: &mut Value, meta: &ResponseMeta<'_>) {
        if let Some(candidate) = response.pointer_mut("/candidates/0") {
            candidate["finishReason"] = json!(self.finish_reason);
        }
        response["usageMetadata"] = self.usage_metadata(meta.prompt_tokens, meta.cached_tokens);
    }
}

fn thought_part(thought: &str) -> Value {
    json!({"text": thought, "thought": true})
}

fn function_call_part(call: &FunctionCall) -> Value {
    let mut part = Map::new();
    part.insert(
        "functionCall".to_owned(),
        json!({"name": call.name, "args": call.args}),
    );
    if let Some(signature) = &call.signature {
        part.insert("thoughtSignature".to_owned(), json!(signature));
    }
    Value::Object(part)
}

fn response_object(parts: Vec<Value>, meta: &ResponseMeta<'_>) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": parts}}],
        "modelVersion": meta.model,
        "createTime": "2026-01-01T00:00:00.000000Z",
        "responseId": meta.response_id,
    })
}

/// The Code Assist envelope around one response object.
pub(crate) fn envelope(response: Value, trace_id: &str) -> Value {
    json!({"response": response, "traceId": trace_id})
}
