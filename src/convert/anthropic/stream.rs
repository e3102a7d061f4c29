//! Gemini stream events → Anthropic Messages stream events, in Anthropic's order: `message_start`,
//! then per content block `content_block_start` → deltas → `content_block_stop`, then one
//! `message_delta` (stop reason, usage) and `message_stop`.
//!
//! Every value produced carries its event name in `type`, which is also the SSE `event:` line.
//! Gemini parts are turned into blocks as they arrive (nothing is batched): thoughts into
//! `thinking` blocks, text into `text` blocks, function calls into `tool_use` blocks whose input
//! arrives as one `input_json_delta`. Thought signatures are placed as `anthropic_signature`
//! describes, so the next request can return each one to its part. The non-streaming answer is
//! these same events folded into one message, so both always say the same.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::convert::anthropic::signature::{encode_part, encode_thought};
use crate::convert::anthropic::stop::StopScanner;
use crate::convert::gemini::finish::is_content_filter_reason;
use crate::convert::gemini::tool_call_id;

/// Text Gemini 3 sends on a replayed turn whose content was dropped; never shown to clients.
const PLACEHOLDER_SIGNATURE: &str = "skip_thought_signature_validator";

#[derive(Debug, Clone, Default)]
pub struct StreamOptions {
    /// Show thinking text (signatures are always kept).
    pub show_thinking: bool,
    /// Client stop sequences, matched here (see `anthropic_request`).
    pub stop_sequences: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Thinking,
    Text,
    ToolUse,
}

#[derive(Debug)]
pub struct AnthropicStreamConverter {
    id: String,
    model: String,
    show_thinking: bool,
    scanner: StopScanner,
    started: bool,
    open: Option<Open>,
    /// Signature for the open thinking block, sent just before it closes.
    pending_thought_signature: Option<String>,
    next_index: u64,
    saw_tool_use: bool,
    /// Gemini call ids already streamed: a repeated call must not be run twice by the client.
    streamed_call_ids: HashSet<String>,
    usage: Option<Value>,
    finish_reason: Option<String>,
    prompt_blocked: bool,
    finished: bool,
}

/// A new Anthropic message id.
pub fn new_message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

fn new_tool_use_id() -> String {
    let call = tool_call_id::new_call_id();
    format!("toolu_{}", call.trim_start_matches("call_"))
}

/// Anthropic `usage` from Gemini `usageMetadata`: cached prompt tokens are reported apart, thinking
/// counts as output.
pub fn anthropic_usage(meta: Option<&Value>) -> Value {
    let count = |key: &str| {
        meta.and_then(|m| m.get(key))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let cached = count("cachedContentTokenCount");
    json!({
        "input_tokens": count("promptTokenCount").saturating_sub(cached),
        "output_tokens": count("candidatesTokenCount").saturating_add(count("thoughtsTokenCount")),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    })
}

impl AnthropicStreamConverter {
    pub fn new(model: &str, opts: StreamOptions) -> Self {
        Self {
            id: new_message_id(),
            model: model.to_owned(),
            show_thinking: opts.show_thinking,
            scanner: StopScanner::new(opts.stop_sequences),
            started: false,
            open: None,
            pending_thought_signature: None,
            next_index: 0,
            saw_tool_use: false,
            streamed_call_ids: HashSet::new(),
            usage: None,
            finish_reason: None,
            prompt_blocked: false,
            finished: false,
        }
    }

    /// The `ping` event that keeps the connection alive while the model thinks.
    pub fn ping() -> Value {
        json!({"type": "ping"})
    }

    /// True once a stop sequence matched: nothing more will be sent but the closing events, so the
    /// caller may stop reading upstream.
    pub fn stopped(&self) -> bool {
        self.scanner.matched().is_some()
    }

    /// Whether any tool call has been sent.
    pub fn has_tool_use(&self) -> bool {
        self.saw_tool_use
    }

    /// The last Gemini `finishReason` seen.
    pub fn saw_finish_reason(&self) -> Option<&str> {
        self.finish_reason.as_deref()
    }

    /// Events for one unwrapped Gemini stream event (possibly none).
    pub fn on_event(&mut self, resp: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        if let Some(meta) = resp.get("usageMetadata").filter(|m| m.is_object()) {
            self.usage = Some(meta.clone());
        }
        if resp
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
            .is_some_and(|r| !r.is_empty())
        {
            self.prompt_blocked = true;
        }
        self.start(&mut out);
        // Anthropic messages have one answer: only the first candidate is used.
        let Some(candidate) = resp
            .get("candidates")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            return out;
        };
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_owned());
        }
        let parts = candidate
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for part in parts {
            if self.stopped() {
                break;
            }
            self.on_part(part, &mut out);
        }
        out
    }

    fn start(&mut self, out: &mut Vec<Value>) {
        if self.started {
            return;
        }
        self.started = true;
        let mut usage = anthropic_usage(self.usage.as_ref());
        if let Some(usage) = usage.as_object_mut() {
            usage.insert("output_tokens".into(), json!(0));
        }
        out.push(json!({"type": "message_start", "message": {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": usage,
        }}));
    }

    fn on_part(&mut self, part: &Value, out: &mut Vec<Value>) {
        let signature = part
            .get("thoughtSignature")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && *s != PLACEHOLDER_SIGNATURE);
        if let Some(call) = part.get("functionCall") {
            self.tool_use(call, signature, out);
            return;
        }
        let is_thought = part.get("thought").and_then(Value::as_bool) == Some(true);
        if let Some(text) = part.get("text").and_then(Value::as_str) {
            if is_thought {
                self.thought(text, signature, out);
            } else {
                self.text(text, out);
                if let Some(sig) = signature {
                    self.part_signature(sig, out);
                }
            }
            return;
        }
        if let Some(markdown) = markdown_of(part) {
            self.text(&markdown, out);
        }
    }

    fn open_block(&mut self, kind: Open, block: Value, out: &mut Vec<Value>) {
        self.close_block(out);
        out.push(json!({"type": "content_block_start", "index": self.next_index, "content_block": block}));
        self.open = Some(kind);
    }

    fn close_block(&mut self, out: &mut Vec<Value>) {
        let Some(kind) = self.open.take() else {
            return;
        };
        let index = self.next_index;
        if kind == Open::Text {
            let held = self.scanner.flush();
            if !held.is_empty() {
                out.push(delta(index, json!({"type": "text_delta", "text": held})));
            }
        }
        if let Some(sig) = self.pending_thought_signature.take() {
            out.push(delta(
                index,
                json!({"type": "signature_delta", "signature": encode_thought(&sig)}),
            ));
        }
        out.push(json!({"type": "content_block_stop", "index": index}));
        self.next_index += 1;
    }

    fn thought(&mut self, text: &str, signature: Option<&str>, out: &mut Vec<Value>) {
        // Hidden thinking without a signature would be an empty block that carries nothing.
        if !self.show_thinking && signature.is_none() && self.open != Some(Open::Thinking) {
            return;
        }
        // One signature per thinking block: a second one starts the next block.
        let needs_new = self.open != Some(Open::Thinking)
            || (signature.is_some() && self.pending_thought_signature.is_some());
        if needs_new {
            self.open_block(
                Open::Thinking,
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                out,
            );
        }
        if self.show_thinking && !text.is_empty() {
            out.push(delta(
                self.next_index,
                json!({"type": "thinking_delta", "thinking": text}),
            ));
        }
        if let Some(sig) = signature {
            self.pending_thought_signature = Some(sig.to_owned());
        }
    }

    fn text(&mut self, text: &str, out: &mut Vec<Value>) {
        if text.is_empty() {
            return;
        }
        // Opened even when the scanner holds everything back, so held text stays in this block.
        if self.open != Some(Open::Text) {
            self.open_block(Open::Text, json!({"type": "text", "text": ""}), out);
        }
        let released = self.scanner.push(text);
        if !released.is_empty() {
            out.push(delta(
                self.next_index,
                json!({"type": "text_delta", "text": released}),
            ));
        }
        if self.stopped() {
            self.close_block(out);
        }
    }

    /// A text part's signature: an empty thinking block right after the text it belongs to.
    fn part_signature(&mut self, signature: &str, out: &mut Vec<Value>) {
        if self.stopped() {
            return;
        }
        self.open_block(
            Open::Thinking,
            json!({"type": "thinking", "thinking": "", "signature": ""}),
            out,
        );
        out.push(delta(
            self.next_index,
            json!({"type": "signature_delta", "signature": encode_part(signature)}),
        ));
        self.close_block(out);
    }

    fn tool_use(&mut self, call: &Value, signature: Option<&str>, out: &mut Vec<Value>) {
        let upstream_id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty());
        if let Some(id) = upstream_id {
            if !self.streamed_call_ids.insert(id.to_owned()) {
                return;
            }
        }
        let plain_id = upstream_id.map_or_else(new_tool_use_id, str::to_owned);
        let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
        let input = match call.get("args") {
            Some(args @ Value::Object(_)) => args.to_string(),
            _ => "{}".to_owned(),
        };
        self.open_block(
            Open::ToolUse,
            json!({"type": "tool_use", "id": tool_call_id::encode(&plain_id, signature),
                   "name": name, "input": {}}),
            out,
        );
        out.push(delta(
            self.next_index,
            json!({"type": "input_json_delta", "partial_json": input}),
        ));
        self.close_block(out);
        self.saw_tool_use = true;
    }

    fn stop_reason(&self) -> &'static str {
        if self.stopped() {
            return "stop_sequence";
        }
        match self.finish_reason.as_deref() {
            Some("MAX_TOKENS") => "max_tokens",
            Some(reason) if is_content_filter_reason(reason) => "refusal",
            _ if self.prompt_blocked => "refusal",
            _ if self.saw_tool_use => "tool_use",
            _ => "end_turn",
        }
    }

    /// The closing events: open block closed, `message_delta`, `message_stop`. Later calls return
    /// nothing.
    pub fn finish(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        self.start(&mut out);
        self.close_block(&mut out);
        self.finished = true;
        out.push(json!({"type": "message_delta",
            "delta": {"stop_reason": self.stop_reason(), "stop_sequence": self.scanner.matched()},
            "usage": anthropic_usage(self.usage.as_ref())}));
        out.push(json!({"type": "message_stop"}));
        out
    }
}

fn delta(index: u64, delta: Value) -> Value {
    json!({"type": "content_block_delta", "index": index, "delta": delta})
}

/// Markdown for parts Anthropic text cannot carry otherwise (generated images, code, its output).
fn markdown_of(part: &Value) -> Option<String> {
    if let Some(data) = part.get("inlineData") {
        let mime = data
            .get("mimeType")
            .and_then(Value::as_str)
            .unwrap_or("image/png");
        let payload = data.get("data").and_then(Value::as_str).unwrap_or_default();
        return Some(format!("![image](data:{mime};base64,{payload})"));
    }
    if let Some(code) = part.get("executableCode") {
        let source = code.get("code").and_then(Value::as_str).unwrap_or_default();
        return Some(format!("\n```python\n{}\n```\n", source.trim_end()));
    }
    let output = part
        .get("codeExecutionResult")?
        .get("output")
        .and_then(Value::as_str)
        .filter(|o| !o.is_empty())?;
    Some(format!("\n```output\n{}\n```\n", output.trim_end()))
}
