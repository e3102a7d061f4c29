//! Gemini `generateContent` responses → OpenAI chat completions, whole or streamed.
//!
//! Input is always the unwrapped Gemini response (see [`unwrap_envelope`]). Both the one-shot and the
//! streaming conversion read parts through the same interpretation, so a fake stream (the whole
//! response fed to [`OpenAiStreamConverter`] at once) says exactly what the non-streaming answer says.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Map, Value};

use crate::convert::gemini::finish::is_content_filter_reason;
use crate::convert::gemini::tool_call_id;

/// Text Gemini 3 requests carry on a replayed turn whose real content was dropped; never shown to clients.
const PLACEHOLDER_SIGNATURE: &str = "skip_thought_signature_validator";

/// How much of Gemini's answer the client asked to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResponseOptions {
    pub return_thoughts: bool,
}

/// Returns the Gemini response inside a Code Assist envelope (`{"response": ...}`), or the value itself.
pub fn unwrap_envelope(v: Value) -> Value {
    match v {
        Value::Object(mut map) => match map.remove("response") {
            Some(inner) => inner,
            None => Value::Object(map),
        },
        other => other,
    }
}

/// Maps a Gemini finish reason to OpenAI's vocabulary; a normal end with tool calls is `tool_calls`.
fn openai_finish_reason(gemini: Option<&str>, has_tool_calls: bool) -> &'static str {
    match gemini {
        Some("MAX_TOKENS") => "length",
        Some(reason) if is_content_filter_reason(reason) => "content_filter",
        _ if has_tool_calls => "tool_calls",
        _ => "stop",
    }
}

/// One Gemini part, as the OpenAI side sees it.
enum PartView<'a> {
    Text(&'a str),
    Thought(&'a str),
    /// Markdown standing for content OpenAI messages cannot carry (images, code, execution output).
    Block(String),
    Call(ToolCall),
    Ignored,
}

struct ToolCall {
    /// Gemini's own call id, when it sent one; used to recognise a repeated call.
    upstream_id: Option<String>,
    /// The id handed to the client, with the thought signature embedded.
    client_id: String,
    name: String,
    arguments: String,
}

impl ToolCall {
    fn to_openai(&self) -> Map<String, Value> {
        let mut call = Map::new();
        call.insert("id".into(), json!(self.client_id));
        call.insert("type".into(), json!("function"));
        call.insert(
            "function".into(),
            json!({"name": self.name, "arguments": self.arguments}),
        );
        call
    }
}

fn view_part(part: &Value) -> PartView<'_> {
    let signature = part.get("thoughtSignature").and_then(Value::as_str);
    if let Some(call) = part.get("functionCall") {
        let upstream_id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_owned);
        let plain_id = upstream_id
            .clone()
            .unwrap_or_else(tool_call_id::new_call_id);
        let arguments = match call.get("args") {
            Some(args) if !args.is_null() => args.to_string(),
            _ => "{}".to_owned(),
        };
        return PartView::Call(ToolCall {
            upstream_id,
            client_id: tool_call_id::encode(&plain_id, signature),
            name: call
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            arguments,
        });
    }
    if let Some(text) = part.get("text").and_then(Value::as_str) {
        if part.get("thought").and_then(Value::as_bool) == Some(true) {
            return PartView::Thought(text);
        }
        let trimmed = text.trim();
        if signature == Some(PLACEHOLDER_SIGNATURE) && (trimmed == "..." || trimmed == "…") {
            return PartView::Ignored;
        }
        return PartView::Text(text);
    }
    if let Some(data) = part.get("inlineData") {
        let mime = data
            .get("mimeType")
            .and_then(Value::as_str)
            .unwrap_or("image/png");
        let payload = data.get("data").and_then(Value::as_str).unwrap_or_default();
        return PartView::Block(format!("![image](data:{mime};base64,{payload})"));
    }
    if let Some(code) = part.get("executableCode") {
        let language = match code.get("language").and_then(Value::as_str) {
            Some(lang) if !lang.is_empty() && lang != "LANGUAGE_UNSPECIFIED" => lang.to_lowercase(),
            _ => "python".to_owned(),
        };
        let source = code.get("code").and_then(Value::as_str).unwrap_or_default();
        return PartView::Block(fenced(&language, source));
    }
    if let Some(result) = part.get("codeExecutionResult") {
        let output = result
            .get("output")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if output.is_empty() {
            return PartView::Ignored;
        }
        let label = match result.get("outcome").and_then(Value::as_str) {
            None | Some("OUTCOME_OK") => "output",
            Some(_) => "error",
        };
        return PartView::Block(fenced(label, output));
    }
    PartView::Ignored
}

fn fenced(label: &str, body: &str) -> String {
    format!("```{label}\n{}\n```", body.trim_end_matches('\n'))
}

/// Keeps markdown blocks separated from surrounding text by a blank line, however the parts arrive.
#[derive(Debug, Default)]
struct ContentJoiner {
    written: bool,
    after_block: bool,
}

impl ContentJoiner {
    fn text(&mut self, text: &str) -> String {
        if text.is_empty() {
            return String::new();
        }
        let piece = if self.after_block {
            format!("\n\n{text}")
        } else {
            text.to_owned()
        };
        self.written = true;
        self.after_block = false;
        piece
    }

    fn block(&mut self, block: &str) -> String {
        let piece = if self.written {
            format!("\n\n{block}")
        } else {
            block.to_owned()
        };
        self.written = true;
        self.after_block = true;
        piece
    }
}

fn parts_of(candidate: &Value) -> &[Value] {
    candidate
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn candidates_of(resp: &Value) -> &[Value] {
    resp.get("candidates")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn candidate_index(candidate: &Value, position: usize) -> u64 {
    candidate
        .get("index")
        .and_then(Value::as_u64)
        .unwrap_or(position as u64)
}

fn prompt_blocked(resp: &Value) -> bool {
    resp.pointer("/promptFeedback/blockReason")
        .and_then(Value::as_str)
        .is_some_and(|reason| !reason.is_empty())
}

/// OpenAI `usage` from Gemini `usageMetadata`; thinking tokens are billed as completion tokens.
fn openai_usage(meta: &Value) -> Value {
    let count = |key: &str| meta.get(key).and_then(Value::as_u64).unwrap_or(0);
    let prompt = count("promptTokenCount");
    let thoughts = count("thoughtsTokenCount");
    let completion = count("candidatesTokenCount").saturating_add(thoughts);
    let cached = count("cachedContentTokenCount");
    let total = meta
        .get("totalTokenCount")
        .and_then(Value::as_u64)
        .unwrap_or(prompt.saturating_add(completion));
    // Like OpenAI, the cached count is always present (0 when nothing was cached), so clients can
    // read it without checking; Gemini's prompt count already includes the cached tokens.
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    })
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

fn new_completion_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::new_v4().simple())
}

/// Converts a complete Gemini response into an OpenAI `chat.completion` object.
pub fn gemini_to_openai_completion(resp: &Value, model: &str, opts: &ResponseOptions) -> Value {
    let candidates = candidates_of(resp);
    let choices: Vec<Value> = if candidates.is_empty() {
        let finish = if prompt_blocked(resp) {
            "content_filter"
        } else {
            "stop"
        };
        vec![json!({
            "index": 0,
            "message": {"role": "assistant", "content": ""},
            "finish_reason": finish,
        })]
    } else {
        candidates
            .iter()
            .enumerate()
            .map(|(position, candidate)| completion_choice(candidate, position, opts))
            .collect()
    };
    let mut completion = json!({
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": now_unix(),
        "model": model,
        "choices": choices,
    });
    if let (Some(meta), Some(obj)) = (resp.get("usageMetadata"), completion.as_object_mut()) {
        obj.insert("usage".into(), openai_usage(meta));
    }
    completion
}

fn completion_choice(candidate: &Value, position: usize, opts: &ResponseOptions) -> Value {
    let mut joiner = ContentJoiner::default();
    let mut content = String::new();
    let mut thoughts: Vec<&str> = Vec::new();
    let mut tool_calls: Vec<Value> = Vec::new();
    for part in parts_of(candidate) {
        match view_part(part) {
            PartView::Text(text) => content.push_str(&joiner.text(text)),
            PartView::Block(block) => content.push_str(&joiner.block(&block)),
            PartView::Thought(text) if !text.is_empty() => thoughts.push(text),
            PartView::Call(call) => tool_calls.push(Value::Object(call.to_openai())),
            PartView::Thought(_) | PartView::Ignored => {}
        }
    }
    let finish = openai_finish_reason(
        candidate.get("finishReason").and_then(Value::as_str),
        !tool_calls.is_empty(),
    );
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    let content = if content.is_empty() && !tool_calls.is_empty() {
        Value::Null
    } else {
        Value::String(content)
    };
    message.insert("content".into(), content);
    if opts.return_thoughts && !thoughts.is_empty() {
        message.insert("reasoning_content".into(), json!(thoughts.join("\n\n")));
    }
    if !tool_calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    json!({
        "index": candidate_index(candidate, position),
        "message": message,
        "finish_reason": finish,
    })
}

/// An OpenAI-shaped error event for a failure with HTTP status `code`, from the one error table
/// (the same body an HTTP answer with that status carries).
pub fn openai_error_chunk(message: &str, code: u16) -> Value {
    crate::error::ApiError::upstream(code, None, message).render(crate::error::ErrorStyle::OpenAi)
}

#[derive(Debug, Default)]
struct ChoiceProgress {
    role_sent: bool,
    joiner: ContentJoiner,
    tool_calls_sent: u64,
    gemini_finish_reason: Option<String>,
}

/// Turns the events of one Gemini stream into OpenAI `chat.completion.chunk`s.
///
/// `finish_reason` stays null on every chunk from [`on_event`](Self::on_event); the single final
/// chunk comes from [`finish`](Self::finish). That lets one converter span several upstream
/// attempts (anti-truncation) while the client still sees one coherent completion.
#[derive(Debug)]
pub struct OpenAiStreamConverter {
    id: String,
    created: i64,
    model: String,
    opts: ResponseOptions,
    include_usage: bool,
    choices: BTreeMap<u64, ChoiceProgress>,
    /// Gemini call ids already streamed: a repeated call must not be run twice by the client.
    streamed_call_ids: HashSet<String>,
    usage_metadata: Option<Value>,
    last_gemini_finish_reason: Option<String>,
    prompt_blocked: bool,
    finished: bool,
}

impl OpenAiStreamConverter {
    pub fn new(model: &str, opts: ResponseOptions, include_usage: bool) -> Self {
        Self {
            id: new_completion_id(),
            created: now_unix(),
            model: model.to_owned(),
            opts,
            include_usage,
            choices: BTreeMap::new(),
            streamed_call_ids: HashSet::new(),
            usage_metadata: None,
            last_gemini_finish_reason: None,
            prompt_blocked: false,
            finished: false,
        }
    }

    /// The completion id shared by every chunk (heartbeats should reuse it).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn created(&self) -> i64 {
        self.created
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Chunks to send for one unwrapped Gemini stream event (possibly none).
    pub fn on_event(&mut self, resp: &Value) -> Vec<Value> {
        if self.finished {
            return Vec::new();
        }
        if let Some(meta) = resp.get("usageMetadata").filter(|meta| meta.is_object()) {
            self.usage_metadata = Some(meta.clone());
        }
        if prompt_blocked(resp) {
            self.prompt_blocked = true;
        }
        let mut choices = Vec::new();
        for (position, candidate) in candidates_of(resp).iter().enumerate() {
            if let Some(choice) = self.candidate_delta(candidate, position) {
                choices.push(choice);
            }
        }
        if choices.is_empty() {
            return Vec::new();
        }
        vec![self.chunk(choices)]
    }

    fn candidate_delta(&mut self, candidate: &Value, position: usize) -> Option<Value> {
        let index = candidate_index(candidate, position);
        let return_thoughts = self.opts.return_thoughts;
        let progress = self.choices.entry(index).or_default();
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            progress.gemini_finish_reason = Some(reason.to_owned());
            self.last_gemini_finish_reason = Some(reason.to_owned());
        }
        let mut content = String::new();
        let mut reasoning = String::new();
        let mut tool_calls = Vec::new();
        for part in parts_of(candidate) {
            match view_part(part) {
                PartView::Text(text) => content.push_str(&progress.joiner.text(text)),
                PartView::Block(block) => content.push_str(&progress.joiner.block(&block)),
                PartView::Thought(text) if return_thoughts => reasoning.push_str(text),
                PartView::Call(call) => {
                    if let Some(upstream_id) = &call.upstream_id {
                        if !self.streamed_call_ids.insert(upstream_id.clone()) {
                            continue;
                        }
                    }
                    let mut delta = Map::new();
                    delta.insert("index".into(), json!(progress.tool_calls_sent));
                    delta.extend(call.to_openai());
                    progress.tool_calls_sent += 1;
                    tool_calls.push(Value::Object(delta));
                }
                PartView::Thought(_) | PartView::Ignored => {}
            }
        }
        if content.is_empty() && reasoning.is_empty() && tool_calls.is_empty() {
            return None;
        }
        let mut delta = Map::new();
        if !progress.role_sent {
            progress.role_sent = true;
            delta.insert("role".into(), json!("assistant"));
        }
        if !content.is_empty() {
            delta.insert("content".into(), json!(content));
        }
        if !reasoning.is_empty() {
            delta.insert("reasoning_content".into(), json!(reasoning));
        }
        if !tool_calls.is_empty() {
            delta.insert("tool_calls".into(), Value::Array(tool_calls));
        }
        Some(json!({"index": index, "delta": delta, "finish_reason": null}))
    }

    /// The closing chunk with the one `finish_reason`, then the usage chunk when the client asked for
    /// it. Later calls return nothing.
    pub fn finish(&mut self) -> Vec<Value> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        if self.choices.is_empty() {
            self.choices.insert(0, ChoiceProgress::default());
        }
        let prompt_blocked = self.prompt_blocked;
        let choices: Vec<Value> = self
            .choices
            .iter_mut()
            .map(|(index, progress)| {
                let mut delta = Map::new();
                if !progress.role_sent {
                    progress.role_sent = true;
                    delta.insert("role".into(), json!("assistant"));
                }
                let finish = if prompt_blocked {
                    "content_filter"
                } else {
                    openai_finish_reason(
                        progress.gemini_finish_reason.as_deref(),
                        progress.tool_calls_sent > 0,
                    )
                };
                json!({"index": index, "delta": delta, "finish_reason": finish})
            })
            .collect();
        let mut chunks = vec![self.chunk(choices)];
        if self.include_usage {
            if let Some(meta) = &self.usage_metadata {
                let mut usage_chunk = self.chunk(Vec::new());
                if let Some(obj) = usage_chunk.as_object_mut() {
                    obj.insert("usage".into(), openai_usage(meta));
                }
                chunks.push(usage_chunk);
            }
        }
        chunks
    }

    fn chunk(&self, choices: Vec<Value>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        })
    }

    /// Whether any tool call has been streamed so far.
    pub fn has_tool_calls(&self) -> bool {
        self.choices
            .values()
            .any(|progress| progress.tool_calls_sent > 0)
    }

    /// The last Gemini `finishReason` seen (e.g. `"STOP"`), as sent upstream; `None` means the
    /// upstream stream has not (yet) said why it ended.
    pub fn saw_finish_reason(&self) -> Option<&str> {
        self.last_gemini_finish_reason.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(return_thoughts: bool) -> ResponseOptions {
        ResponseOptions { return_thoughts }
    }

    /// Checks the per-response fields, then removes them so the rest compares exactly.
    fn without_id_and_created(mut v: Value) -> Value {
        let obj = v.as_object_mut().unwrap();
        let id = obj.remove("id").unwrap();
        assert!(id.as_str().unwrap().starts_with("chatcmpl-"), "{id}");
        assert_eq!(id.as_str().unwrap().len(), "chatcmpl-".len() + 32);
        assert!(obj.remove("created").unwrap().as_i64().unwrap() > 1_700_000_000);
        v
    }

    fn completion(resp: Value, return_thoughts: bool) -> Value {
        without_id_and_created(gemini_to_openai_completion(
            &resp,
            "gemini-2.5-pro",
            &opts(return_thoughts),
        ))
    }

    fn stream_all(conv: &mut OpenAiStreamConverter, events: &[Value]) -> Vec<Value> {
        let mut out: Vec<Value> = events.iter().flat_map(|e| conv.on_event(e)).collect();
        out.extend(conv.finish());
        out.into_iter().map(without_id_and_created).collect()
    }

    fn chunk(choices: Value) -> Value {
        json!({"object": "chat.completion.chunk", "model": "m", "choices": choices})
    }

    fn text_event(text: &str) -> Value {
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}]})
    }

    #[test]
    fn unwrap_envelope_takes_inner_response_or_keeps_value() {
        let inner = json!({"candidates": []});
        assert_eq!(
            unwrap_envelope(json!({"response": inner.clone(), "traceId": "t"})),
            inner
        );
        assert_eq!(unwrap_envelope(inner.clone()), inner);
    }

    #[test]
    fn plain_text_completion_with_usage() {
        let resp = json!({
            "candidates": [{
                "content": {"role": "model", "parts": [{"text": "Hello"}, {"text": " world"}]},
                "finishReason": "STOP", "index": 0
            }],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                              "thoughtsTokenCount": 7, "totalTokenCount": 22, "cachedContentTokenCount": 4}
        });
        assert_eq!(
            completion(resp, false),
            json!({
                "object": "chat.completion",
                "model": "gemini-2.5-pro",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello world"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 12, "total_tokens": 22,
                          "completion_tokens_details": {"reasoning_tokens": 7},
                          "prompt_tokens_details": {"cached_tokens": 4}}
            })
        );
    }

    #[test]
    fn total_tokens_defaults_to_sum() {
        let usage = openai_usage(&json!({"promptTokenCount": 3, "candidatesTokenCount": 2}));
        assert_eq!(
            usage,
            json!({"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
                   "completion_tokens_details": {"reasoning_tokens": 0},
                          "prompt_tokens_details": {"cached_tokens": 0}})
        );
    }

    #[test]
    fn thoughts_become_reasoning_content_only_when_asked() {
        let resp = json!({"candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "**Plan**", "thought": true},
                {"text": "**Check**", "thought": true},
                {"text": "Answer"}
            ]},
            "finishReason": "STOP"
        }]});
        assert_eq!(
            completion(resp.clone(), true)["choices"],
            json!([{"index": 0, "message": {"role": "assistant", "content": "Answer",
                    "reasoning_content": "**Plan**\n\n**Check**"}, "finish_reason": "stop"}])
        );
        assert_eq!(
            completion(resp, false)["choices"],
            json!([{"index": 0, "message": {"role": "assistant", "content": "Answer"},
                    "finish_reason": "stop"}])
        );
    }

    #[test]
    fn function_calls_become_tool_calls_with_null_content_and_signature() {
        let resp = json!({"candidates": [{
            "content": {"role": "model", "parts": [
                {"functionCall": {"id": "fc_1", "name": "get_weather", "args": {"city": "Paris"}},
                 "thoughtSignature": "c2ln"},
                {"functionCall": {"id": "fc_2", "name": "get_time", "args": {}}}
            ]},
            "finishReason": "STOP"
        }]});
        assert_eq!(
            completion(resp, false)["choices"],
            json!([{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "fc_1__sig__c2ln", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "fc_2", "type": "function",
                 "function": {"name": "get_time", "arguments": "{}"}}
            ]}, "finish_reason": "tool_calls"}])
        );
    }

    #[test]
    fn function_call_without_id_gets_a_fresh_id_carrying_the_signature() {
        let resp = json!({"candidates": [{"content": {"parts": [
            {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "U0lH"}
        ]}}]});
        let out = completion(resp, false);
        let id = out["choices"][0]["message"]["tool_calls"][0]["id"]
            .as_str()
            .unwrap();
        let (plain, sig) = tool_call_id::decode(id);
        assert!(plain.starts_with("call_") && plain.len() == 29, "{plain}");
        assert_eq!(sig.as_deref(), Some("U0lH"));
    }

    #[test]
    fn finish_reasons_map_to_openai() {
        let with_reason = |reason: &str| json!({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]});
        let finish = |resp: Value| completion(resp, false)["choices"][0]["finish_reason"].clone();
        assert_eq!(finish(with_reason("MAX_TOKENS")), json!("length"));
        for reason in [
            "SAFETY",
            "RECITATION",
            "BLOCKLIST",
            "PROHIBITED_CONTENT",
            "SPII",
        ] {
            assert_eq!(
                finish(with_reason(reason)),
                json!("content_filter"),
                "{reason}"
            );
        }
        assert_eq!(finish(with_reason("OTHER")), json!("stop"));
        assert_eq!(
            finish(json!({"candidates": [{"content": {"parts": [{"text": "x"}]}}]})),
            json!("stop")
        );
    }

    #[test]
    fn blocked_prompt_gives_empty_filtered_choice() {
        let resp = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                          "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}});
        assert_eq!(
            completion(resp, false),
            json!({
                "object": "chat.completion", "model": "gemini-2.5-pro",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": ""},
                             "finish_reason": "content_filter"}],
                "usage": {"prompt_tokens": 8, "completion_tokens": 0, "total_tokens": 8,
                          "completion_tokens_details": {"reasoning_tokens": 0},
                          "prompt_tokens_details": {"cached_tokens": 0}}
            })
        );
    }

    #[test]
    fn images_and_code_execution_become_markdown_in_order() {
        let resp = json!({"candidates": [{"content": {"parts": [
            {"text": "Here:"},
            {"inlineData": {"mimeType": "image/jpeg", "data": "QUJD"}},
            {"executableCode": {"language": "PYTHON", "code": "print(1)\n"}},
            {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1\n"}},
            {"codeExecutionResult": {"outcome": "OUTCOME_FAILED", "output": "Traceback"}},
            {"text": "Done."}
        ]}, "finishReason": "STOP"}]});
        assert_eq!(
            completion(resp, false)["choices"][0]["message"]["content"],
            json!("Here:\n\n![image](data:image/jpeg;base64,QUJD)\n\n```python\nprint(1)\n```\n\n```output\n1\n```\n\n```error\nTraceback\n```\n\nDone.")
        );
    }

    #[test]
    fn placeholder_text_is_hidden_but_real_ellipsis_kept() {
        let resp = json!({"candidates": [{"content": {"parts": [
            {"text": "...", "thoughtSignature": "skip_thought_signature_validator"},
            {"text": "..."}
        ]}}]});
        assert_eq!(
            completion(resp, false)["choices"][0]["message"]["content"],
            json!("...")
        );
    }

    #[test]
    fn every_candidate_becomes_a_choice() {
        let resp = json!({"candidates": [
            {"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP", "index": 0},
            {"content": {"parts": [{"text": "b"}]}, "finishReason": "MAX_TOKENS", "index": 1}
        ]});
        assert_eq!(
            completion(resp, false)["choices"],
            json!([
                {"index": 0, "message": {"role": "assistant", "content": "a"}, "finish_reason": "stop"},
                {"index": 1, "message": {"role": "assistant", "content": "b"}, "finish_reason": "length"}
            ])
        );
    }

    #[test]
    fn text_stream_has_role_first_and_exactly_one_finish_reason() {
        let mut conv = OpenAiStreamConverter::new("m", opts(false), false);
        let mut last = text_event("!");
        last["candidates"][0]["finishReason"] = json!("STOP");
        let out = stream_all(&mut conv, &[text_event("Hel"), text_event("lo"), last]);
        assert_eq!(
            out,
            vec![
                chunk(
                    json!([{"index": 0, "delta": {"role": "assistant", "content": "Hel"}, "finish_reason": null}])
                ),
                chunk(json!([{"index": 0, "delta": {"content": "lo"}, "finish_reason": null}])),
                chunk(json!([{"index": 0, "delta": {"content": "!"}, "finish_reason": null}])),
                chunk(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}])),
            ]
        );
        assert_eq!(conv.saw_finish_reason(), Some("STOP"));
        assert!(conv.finish().is_empty());
    }

    #[test]
    fn stream_keeps_one_id_and_created() {
        let mut conv = OpenAiStreamConverter::new("m", opts(false), false);
        let mut out = conv.on_event(&text_event("a"));
        out.extend(conv.finish());
        assert_eq!(out.len(), 2);
        for c in &out {
            assert_eq!(c["id"], json!(conv.id()));
            assert_eq!(c["created"], json!(conv.created()));
        }
    }

    #[test]
    fn thoughts_stream_only_when_asked() {
        let event = json!({"candidates": [{"content": {"parts": [
            {"text": "thinking", "thought": true}
        ]}}]});
        let mut on = OpenAiStreamConverter::new("m", opts(true), false);
        assert_eq!(
            stream_all(&mut on, &[event.clone(), text_event("answer")]),
            vec![
                chunk(
                    json!([{"index": 0, "delta": {"role": "assistant", "reasoning_content": "thinking"}, "finish_reason": null}])
                ),
                chunk(json!([{"index": 0, "delta": {"content": "answer"}, "finish_reason": null}])),
                chunk(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}])),
            ]
        );
        let mut off = OpenAiStreamConverter::new("m", opts(false), false);
        assert_eq!(
            stream_all(&mut off, &[event, text_event("answer")]),
            vec![
                chunk(
                    json!([{"index": 0, "delta": {"role": "assistant", "content": "answer"}, "finish_reason": null}])
                ),
                chunk(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}])),
            ]
        );
    }

    fn call_part(id: &str, name: &str) -> Value {
        json!({"functionCall": {"id": id, "name": name, "args": {"q": id}}})
    }

    fn tool_delta(index: u64, id: &str, name: &str) -> Value {
        json!({"index": index, "id": id, "type": "function",
               "function": {"name": name, "arguments": format!("{{\"q\":\"{id}\"}}")}})
    }

    #[test]
    fn two_tool_calls_in_one_event() {
        let event = json!({"candidates": [{"content": {"parts": [
            {"text": "Let me check."}, call_part("a", "f"), call_part("b", "g")
        ]}, "finishReason": "STOP"}]});
        let mut conv = OpenAiStreamConverter::new("m", opts(false), false);
        assert_eq!(
            stream_all(&mut conv, &[event]),
            vec![
                chunk(
                    json!([{"index": 0, "delta": {"role": "assistant", "content": "Let me check.",
                    "tool_calls": [tool_delta(0, "a", "f"), tool_delta(1, "b", "g")]}, "finish_reason": null}])
                ),
                chunk(json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}])),
            ]
        );
        assert!(conv.has_tool_calls());
    }

    #[test]
    fn tool_calls_in_separate_events_get_running_indexes_and_are_not_repeated() {
        let ev = |part: Value| json!({"candidates": [{"content": {"parts": [part]}}]});
        let mut last = ev(call_part("b", "g"));
        last["candidates"][0]["finishReason"] = json!("STOP");
        let mut conv = OpenAiStreamConverter::new("m", opts(false), false);
        let out = stream_all(
            &mut conv,
            &[ev(call_part("a", "f")), ev(call_part("a", "f")), last],
        );
        assert_eq!(
            out,
            vec![
                chunk(
                    json!([{"index": 0, "delta": {"role": "assistant", "tool_calls": [tool_delta(0, "a", "f")]}, "finish_reason": null}])
                ),
                chunk(
                    json!([{"index": 0, "delta": {"tool_calls": [tool_delta(1, "b", "g")]}, "finish_reason": null}])
                ),
                chunk(json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}])),
            ]
        );
    }

    #[test]
    fn streamed_tool_call_carries_signature_that_decodes_back() {
        let event = json!({"candidates": [{"content": {"parts": [
            {"functionCall": {"id": "fc", "name": "f", "args": {}}, "thoughtSignature": "AAEC/w=="}
        ]}}]});
        let mut conv = OpenAiStreamConverter::new("m", opts(false), false);
        let out = conv.on_event(&event);
        let id = out[0]["choices"][0]["delta"]["tool_calls"][0]["id"]
            .as_str()
            .unwrap();
        assert_eq!(
            tool_call_id::decode(id),
            ("fc".to_owned(), Some("AAEC/w==".to_owned()))
        );
    }

    #[test]
    fn usage_goes_to_a_separate_last_chunk_when_requested() {
        let mut last = text_event("b");
        last["candidates"][0]["finishReason"] = json!("STOP");
        last["usageMetadata"] =
            json!({"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6});
        let mut first = text_event("a");
        first["usageMetadata"] = json!({"promptTokenCount": 4, "totalTokenCount": 4});
        let mut conv = OpenAiStreamConverter::new("m", opts(false), true);
        let out = stream_all(&mut conv, &[first.clone(), last.clone()]);
        assert_eq!(
            out,
            vec![
                chunk(
                    json!([{"index": 0, "delta": {"role": "assistant", "content": "a"}, "finish_reason": null}])
                ),
                chunk(json!([{"index": 0, "delta": {"content": "b"}, "finish_reason": null}])),
                chunk(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}])),
                json!({"object": "chat.completion.chunk", "model": "m", "choices": [],
                       "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6,
                                 "completion_tokens_details": {"reasoning_tokens": 0},
                          "prompt_tokens_details": {"cached_tokens": 0}}}),
            ]
        );
        let mut without = OpenAiStreamConverter::new("m", opts(false), false);
        assert_eq!(stream_all(&mut without, &[first, last]).len(), 3);
    }

    #[test]
    fn stream_max_tokens_and_safety_map_on_final_chunk() {
        for (reason, expected) in [("MAX_TOKENS", "length"), ("SAFETY", "content_filter")] {
            let mut event = text_event("partial");
            event["candidates"][0]["finishReason"] = json!(reason);
            let mut conv = OpenAiStreamConverter::new("m", opts(false), false);
            let out = stream_all(&mut conv, &[event]);
            assert_eq!(out.len(), 2);
            assert_eq!(out[0]["choices"][0]["finish_reason"], Value::Null);
            assert_eq!(
                out[1],
                chunk(json!([{"index": 0, "delta": {}, "finish_reason": expected}]))
            );
        }
    }

    #[test]
    fn empty_events_produce_no_chunks() {
        let mut conv = OpenAiStreamConverter::new("m", opts(false), false);
        assert!(conv
            .on_event(&json!({"usageMetadata": {"promptTokenCount": 1}}))
            .is_empty());
        assert!(conv.on_event(&text_event("")).is_empty());
        assert!(conv
            .on_event(
                &json!({"candidates": [{"content": {"parts": [{"text": "t", "thought": true}]}}]})
            )
            .is_empty());
        assert!(conv
            .on_event(&json!({"candidates": [{"finishReason": "STOP", "index": 0}]}))
            .is_empty());
        assert_eq!(
            stream_all(&mut conv, &[]),
            vec![chunk(
                json!([{"index": 0, "delta": {"role": "assistant"}, "finish_reason": "stop"}])
            )]
        );
    }

    #[test]
    fn stream_blocked_prompt_finishes_with_content_filter() {
        let mut conv = OpenAiStreamConverter::new("m", opts(false), false);
        assert_eq!(
            stream_all(
                &mut conv,
                &[json!({"promptFeedback": {"blockReason": "SAFETY"}})]
            ),
            vec![chunk(
                json!([{"index": 0, "delta": {"role": "assistant"}, "finish_reason": "content_filter"}])
            )]
        );
    }

    #[test]
    fn stream_images_and_code_keep_blank_lines_between_events() {
        let ev = |part: Value| json!({"candidates": [{"content": {"parts": [part]}}]});
        let mut conv = OpenAiStreamConverter::new("m", opts(false), false);
        let out = stream_all(
            &mut conv,
            &[
                text_event("Look"),
                ev(json!({"inlineData": {"mimeType": "image/png", "data": "iVBO"}})),
                ev(json!({"executableCode": {"language": "PYTHON", "code": "x = 1"}})),
                ev(json!({"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "ok"}})),
                text_event("end"),
            ],
        );
        let contents: Vec<&str> = out
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(
            contents,
            vec![
                "Look",
                "\n\n![image](data:image/png;base64,iVBO)",
                "\n\n```python\nx = 1\n```",
                "\n\n```output\nok\n```",
                "\n\nend",
            ]
        );
    }

    #[test]
    fn whole_response_as_one_event_makes_a_fake_stream() {
        let resp = json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "why", "thought": true}, {"text": "Answer"},
                {"functionCall": {"id": "c1", "name": "f", "args": {"q": "c1"}}}
            ]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}
        });
        let mut conv = OpenAiStreamConverter::new("m", opts(true), true);
        assert_eq!(
            stream_all(&mut conv, &[resp]),
            vec![
                chunk(
                    json!([{"index": 0, "delta": {"role": "assistant", "content": "Answer",
                    "reasoning_content": "why", "tool_calls": [tool_delta(0, "c1", "f")]}, "finish_reason": null}])
                ),
                chunk(json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}])),
                json!({"object": "chat.completion.chunk", "model": "m", "choices": [],
                       "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2,
                                 "completion_tokens_details": {"reasoning_tokens": 0},
                          "prompt_tokens_details": {"cached_tokens": 0}}}),
            ]
        );
    }

    #[test]
    fn error_chunk_shape() {
        assert_eq!(
            openai_error_chunk("quota exhausted", 429),
            json!({"error": {"message": "quota exhausted", "type": "rate_limit_error", "code": "rate_limit_exceeded"}})
        );
        assert_eq!(
            openai_error_chunk("boom", 502)["error"]["type"],
            json!("api_error")
        );
    }
}
