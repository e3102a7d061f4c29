//! Gemini `generateContent` responses → OpenAI Responses API `response` objects and stream events.
//!
//! One state machine, [`ResponsesStream`], reads Gemini parts and emits the Responses events in the order
//! the API defines (`response.created`, `response.in_progress`, then per output item `…output_item.added`,
//! its deltas, `…output_item.done`, and finally `response.completed`), each with a `sequence_number`.
//! The non-streaming answer is the same machine fed the whole response, so both say exactly the same.
//!
//! Output items: thoughts become a `reasoning` item with summary text; a Gemini thought signature rides in
//! the `encrypted_content` of a `reasoning` item placed right before the item whose part carried it (see
//! `responses_signature`); text becomes a `message`; a function call becomes a `function_call` (or a
//! `custom_tool_call` for freeform tools, with namespaced names split back).

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use crate::convert::gemini::finish::is_content_filter_reason;
use crate::convert::gemini::tool_call_id::new_call_id;
use crate::convert::gemini::turns::SKIP_SIGNATURE_SENTINEL;
use crate::convert::responses::signature as responses_signature;
use crate::convert::responses::tools::ToolKind;

use crate::convert::responses::header::{custom_input, new_id, set};
pub use crate::convert::responses::header::{usage, ResponseHeader};

#[derive(Debug)]
enum OpenItem {
    Reasoning {
        id: String,
        index: usize,
        text: String,
        summary_started: bool,
        signature: Option<String>,
    },
    Message {
        id: String,
        index: usize,
        text: String,
    },
}

/// Turns Gemini events into Responses events; see the module documentation.
#[derive(Debug)]
pub struct ResponsesStream {
    header: ResponseHeader,
    sequence: u64,
    started: bool,
    output: Vec<Value>,
    open: Option<OpenItem>,
    usage_metadata: Option<Value>,
    finish_reason: Option<String>,
    prompt_blocked: bool,
    /// Gemini call ids already emitted: a repeated call must not be run twice.
    seen_call_ids: HashSet<String>,
    /// The final response object, once `finish` or `fail` produced it.
    last: Option<Value>,
}

impl ResponsesStream {
    pub fn new(header: ResponseHeader) -> Self {
        Self {
            header,
            sequence: 0,
            started: false,
            output: Vec::new(),
            open: None,
            usage_metadata: None,
            finish_reason: None,
            prompt_blocked: false,
            seen_call_ids: HashSet::new(),
            last: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.header.id
    }

    /// The finished response object (after [`finish`](Self::finish) or [`fail`](Self::fail)).
    pub fn final_response(&self) -> Option<&Value> {
        self.last.as_ref()
    }

    /// Whether any event has been produced yet.
    pub fn started(&self) -> bool {
        self.started
    }

    fn emit(&mut self, kind: &str, mut fields: Value) -> Value {
        if let Value::Object(map) = &mut fields {
            map.insert("type".into(), json!(kind));
            map.insert("sequence_number".into(), json!(self.sequence));
        }
        self.sequence += 1;
        fields
    }

    fn start(&mut self, out: &mut Vec<Value>) {
        if self.started {
            return;
        }
        self.started = true;
        let response = self.response_object("in_progress", None);
        out.push(self.emit("response.created", json!({"response": response})));
        let response = self.response_object("in_progress", None);
        out.push(self.emit("response.in_progress", json!({"response": response})));
    }

    /// One event that keeps a waiting stream alive: `response.created` first, then
    /// `response.in_progress` (fake streaming sends these while Google works on the answer).
    pub fn heartbeat(&mut self) -> Value {
        let response = self.response_object("in_progress", None);
        if self.started {
            return self.emit("response.in_progress", json!({"response": response}));
        }
        self.started = true;
        self.emit("response.created", json!({"response": response}))
    }

    /// Events for one unwrapped Gemini stream event (possibly none).
    pub fn on_event(&mut self, resp: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        if self.last.is_some() {
            return out;
        }
        self.start(&mut out);
        if let Some(meta) = resp.get("usageMetadata").filter(|m| m.is_object()) {
            self.usage_metadata = Some(meta.clone());
        }
        if resp
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
            .is_some_and(|r| !r.is_empty())
        {
            self.prompt_blocked = true;
        }
        // The Responses API has one output list; Gemini's first candidate fills it.
        let Some(candidate) = resp.pointer("/candidates/0") else {
            return out;
        };
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_owned());
        }
        let parts = candidate
            .pointer("/content/parts")
            .and_then(Value::as_array);
        for part in parts.into_iter().flatten() {
            self.on_part(part, &mut out);
        }
        out
    }

    fn on_part(&mut self, part: &Value, out: &mut Vec<Value>) {
        let signature = part
            .get("thoughtSignature")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && *s != SKIP_SIGNATURE_SENTINEL)
            .map(str::to_owned);
        if let Some(call) = part.get("functionCall") {
            self.signature_before_item(signature, out);
            self.function_call(call, out);
            return;
        }
        let Some(text) = part.get("text").and_then(Value::as_str) else {
            if let Some(data) = part.get("inlineData") {
                let mime = data
                    .get("mimeType")
                    .and_then(Value::as_str)
                    .unwrap_or("image/png");
                let payload = data.get("data").and_then(Value::as_str).unwrap_or_default();
                self.signature_before_item(signature, out);
                self.message_text(&format!("![image](data:{mime};base64,{payload})"), out);
            }
            return;
        };
        if part.get("thought").and_then(Value::as_bool) == Some(true) {
            self.thought(text, signature, out);
            return;
        }
        let trimmed = text.trim();
        if part.get("thoughtSignature").and_then(Value::as_str) == Some(SKIP_SIGNATURE_SENTINEL)
            && (trimmed == "..." || trimmed == "…")
        {
            return;
        }
        self.signature_before_item(signature, out);
        if !text.is_empty() {
            self.message_text(text, out);
        }
    }

    fn thought(&mut self, text: &str, signature: Option<String>, out: &mut Vec<Value>) {
        if !matches!(self.open, Some(OpenItem::Reasoning { .. })) {
            self.close_open(out);
            self.open_reasoning(out);
        }
        let show = self.header.return_thoughts && !text.is_empty();
        let mut summary_added = None;
        let mut delta = None;
        if let Some(OpenItem::Reasoning {
            id,
            index,
            text: so_far,
            summary_started,
            signature: held,
        }) = &mut self.open
        {
            if signature.is_some() {
                *held = signature;
            }
            if show {
                if !*summary_started {
                    *summary_started = true;
                    summary_added = Some(
                        json!({"item_id": id, "output_index": index, "summary_index": 0,
                        "part": {"type": "summary_text", "text": ""}}),
                    );
                }
                so_far.push_str(text);
                delta = Some(
                    json!({"item_id": id, "output_index": index, "summary_index": 0, "delta": text}),
                );
            }
        }
        if let Some(fields) = summary_added {
            out.push(self.emit("response.reasoning_summary_part.added", fields));
        }
        if let Some(fields) = delta {
            out.push(self.emit("response.reasoning_summary_text.delta", fields));
        }
    }

    fn open_reasoning(&mut self, out: &mut Vec<Value>) {
        let id = new_id("rs");
        let index = self.output.len();
        out.push(self.emit(
            "response.output_item.added",
            json!({"output_index": index, "item": {"id": id, "type": "reasoning", "summary": []}}),
        ));
        self.open = Some(OpenItem::Reasoning {
            id,
            index,
            text: String::new(),
            summary_started: false,
            signature: None,
        });
    }

    /// A signature on a text or call part: it closes the open reasoning item (which then carries it), or
    /// gets a reasoning item of its own before the item the part starts. A signature arriving in the
    /// middle of a message is not needed for replay and is dropped.
    fn signature_before_item(&mut self, signature: Option<String>, out: &mut Vec<Value>) {
        match (&mut self.open, signature) {
            (
                Some(OpenItem::Reasoning {
                    signature: held, ..
                }),
                signature,
            ) => {
                if signature.is_some() {
                    *held = signature;
                }
                self.close_open(out);
            }
            (Some(OpenItem::Message { .. }), None) | (None, None) => {}
            (Some(OpenItem::Message { .. }), Some(_)) => {}
            (None, Some(signature)) => {
                self.open_reasoning(out);
                if let Some(OpenItem::Reasoning {
                    signature: held, ..
                }) = &mut self.open
                {
                    *held = Some(signature);
                }
                self.close_open(out);
            }
        }
    }

    fn message_text(&mut self, text: &str, out: &mut Vec<Value>) {
        if !matches!(self.open, Some(OpenItem::Message { .. })) {
            self.close_open(out);
            let id = new_id("msg");
            let index = self.output.len();
            out.push(self.emit(
                "response.output_item.added",
                json!({"output_index": index, "item": {"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
            ));
            out.push(self.emit(
                "response.content_part.added",
                json!({"item_id": id, "output_index": index, "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
            ));
            self.open = Some(OpenItem::Message {
                id,
                index,
                text: String::new(),
            });
        }
        let mut fields = None;
        if let Some(OpenItem::Message {
            id,
            index,
            text: so_far,
        }) = &mut self.open
        {
            so_far.push_str(text);
            fields = Some(
                json!({"item_id": id, "output_index": index, "content_index": 0, "delta": text, "logprobs": []}),
            );
        }
        if let Some(fields) = fields {
            out.push(self.emit("response.output_text.delta", fields));
        }
    }

    fn close_open(&mut self, out: &mut Vec<Value>) {
        let Some(open) = self.open.take() else {
            return;
        };
        let (index, item) = match open {
            OpenItem::Reasoning {
                id,
                index,
                text,
                summary_started,
                signature,
            } => {
                let mut summary = Vec::new();
                if summary_started {
                    let part = json!({"type": "summary_text", "text": text});
                    out.push(self.emit("response.reasoning_summary_text.done",
                        json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text})));
                    out.push(self.emit("response.reasoning_summary_part.done",
                        json!({"item_id": id, "output_index": index, "summary_index": 0, "part": part})));
                    summary.push(part);
                }
                let encrypted = signature.as_deref().map(responses_signature::encode);
                (
                    index,
                    json!({"id": id, "type": "reasoning", "summary": summary, "encrypted_content": encrypted}),
                )
            }
            OpenItem::Message { id, index, text } => {
                let part =
                    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []});
                out.push(self.emit(
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []}),
                ));
                out.push(self.emit(
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": part}),
                ));
                (
                    index,
                    json!({"id": id, "type": "message", "status": "completed", "role": "assistant", "content": [part]}),
                )
            }
        };
        out.push(self.emit(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
        ));
        self.output.push(item);
    }

    fn function_call(&mut self, call: &Value, out: &mut Vec<Value>) {
        let upstream_id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty());
        if let Some(id) = upstream_id {
            if !self.seen_call_ids.insert(id.to_owned()) {
                return;
            }
        }
        // Gemini has no switch for parallel calls: with `parallel_tool_calls: false` the client gets the
        // first call only.
        let parallel = self.header.echo.get("parallel_tool_calls") != Some(&Value::Bool(false));
        let has_call = self.output.iter().any(|item| {
            matches!(
                item.get("type").and_then(Value::as_str),
                Some("function_call" | "custom_tool_call")
            )
        });
        if !parallel && has_call {
            return;
        }
        self.close_open(out);
        let call_id = upstream_id.map_or_else(new_call_id, str::to_owned);
        let gemini_name = call.get("name").and_then(Value::as_str).unwrap_or_default();
        let tool = self.header.tools.client_tool(gemini_name);
        let args = call.get("args").filter(|a| !a.is_null());
        let index = self.output.len();
        let item = match tool.kind {
            ToolKind::Function => {
                let arguments = args.map_or_else(|| "{}".to_owned(), Value::to_string);
                let id = new_id("fc");
                let mut item = json!({"id": id, "type": "function_call", "status": "in_progress",
                    "call_id": call_id, "name": tool.name, "arguments": ""});
                if let (Some(ns), Value::Object(map)) = (&tool.namespace, &mut item) {
                    map.insert("namespace".into(), json!(ns));
                }
                out.push(self.emit(
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                ));
                out.push(self.emit(
                    "response.function_call_arguments.delta",
                    json!({"item_id": id, "output_index": index, "delta": arguments}),
                ));
                out.push(self.emit("response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": index, "name": tool.name, "arguments": arguments})));
                set(&mut item, "status", json!("completed"));
                set(&mut item, "arguments", json!(arguments));
                item
            }
            ToolKind::Custom => {
                let input = custom_input(args);
                let id = new_id("ctc");
                let mut item = json!({"id": id, "type": "custom_tool_call", "status": "in_progress",
                    "call_id": call_id, "name": tool.name, "input": ""});
                out.push(self.emit(
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                ));
                out.push(self.emit(
                    "response.custom_tool_call_input.delta",
                    json!({"item_id": id, "output_index": index, "delta": input}),
                ));
                out.push(self.emit(
                    "response.custom_tool_call_input.done",
                    json!({"item_id": id, "output_index": index, "input": input}),
                ));
                set(&mut item, "status", json!("completed"));
                set(&mut item, "input", json!(input));
                item
            }
        };
        out.push(self.emit(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
        ));
        self.output.push(item);
    }

    /// The closing events: open items end, then `response.completed` (or `response.incomplete` when the
    /// answer was cut by the token limit or a filter). Later calls return nothing.
    pub fn finish(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        if self.last.is_some() {
            return out;
        }
        self.start(&mut out);
        self.close_open(&mut out);
        let incomplete = match self.finish_reason.as_deref() {
            _ if self.prompt_blocked => Some("content_filter"),
            Some("MAX_TOKENS") => Some("max_output_tokens"),
            Some(reason) if is_content_filter_reason(reason) => Some("content_filter"),
            _ => None,
        };
        let (kind, response) = match incomplete {
            Some(reason) => {
                let mut response = self.response_object("incomplete", None);
                set(
                    &mut response,
                    "incomplete_details",
                    json!({"reason": reason}),
                );
                ("response.incomplete", response)
            }
            None => (
                "response.completed",
                self.response_object("completed", None),
            ),
        };
        self.last = Some(response.clone());
        out.push(self.emit(kind, json!({"response": response})));
        out
    }

    /// A failure: an `error` event when nothing was sent yet, else open items end and `response.failed`.
    pub fn fail(&mut self, message: &str, code: &str) -> Vec<Value> {
        let mut out = Vec::new();
        if self.last.is_some() {
            return out;
        }
        if !self.started {
            self.started = true;
            self.last = Some(self.response_object("failed", Some((message, code))));
            out.push(self.emit(
                "error",
                json!({"code": code, "message": message, "param": null}),
            ));
            return out;
        }
        self.close_open(&mut out);
        let response = self.response_object("failed", Some((message, code)));
        self.last = Some(response.clone());
        out.push(self.emit("response.failed", json!({"response": response})));
        out
    }

    fn response_object(&self, status: &str, error: Option<(&str, &str)>) -> Value {
        let mut response = Map::new();
        response.insert("id".into(), json!(self.header.id));
        response.insert("object".into(), json!("response"));
        response.insert("created_at".into(), json!(self.header.created_at));
        response.insert("status".into(), json!(status));
        response.insert(
            "error".into(),
            error.map_or(
                Value::Null,
                |(message, code)| json!({"code": code, "message": message}),
            ),
        );
        response.insert("incomplete_details".into(), Value::Null);
        response.insert("model".into(), json!(self.header.model));
        response.insert("output".into(), Value::Array(self.output.clone()));
        for (key, value) in &self.header.echo {
            response.insert(key.clone(), value.clone());
        }
        let usage = match (&self.usage_metadata, status) {
            (_, "in_progress") => Value::Null,
            (Some(meta), _) => usage(meta),
            (None, _) => usage(&json!({})),
        };
        response.insert("usage".into(), usage);
        Value::Object(response)
    }
}

/// A whole (non-streamed) Gemini response as one `response` object.
pub fn gemini_to_response(resp: &Value, header: ResponseHeader) -> Value {
    let mut stream = ResponsesStream::new(header);
    stream.on_event(resp);
    stream.finish();
    stream.last.unwrap_or(Value::Null)
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
