//! How a compaction answer is rendered: Google's summary, sealed, as a `compaction` item.
//!
//! Two shapes, one dialect:
//! - [`CompactionShape::Endpoint`] (`POST /v1/responses/compact`): `{"id", "object":
//!   "response.compaction", "output": [kept items…, compaction item], "usage"}`;
//! - [`CompactionShape::Response`] (`compaction_trigger` on `/v1/responses` or its WebSocket): a
//!   normal `response` object whose output is exactly the compaction item (Codex requires exactly
//!   one), streamed as `response.created`, `response.in_progress`, `response.output_item.added` /
//!   `.done` and `response.completed` when the client streams.
//!
//! The summary is whole only at the end, so a stream sends its start events with the first event from
//! Google and everything else when Google's stream ends. The text itself never leaves the gateway in
//! clear: the route's sealer turns it into `encrypted_content`.

use serde_json::{json, Map, Value};

use crate::convert::dialect::{Dialect, SseFrame};
use crate::convert::responses::compaction::{answer_text, compaction_item};
use crate::convert::responses::dialect::OnFinal;
use crate::convert::responses::header::{new_id, usage, ResponseHeader};
use crate::error::{ApiError, ErrorStyle};

/// Seals a summary into `encrypted_content` (the route holds the key).
pub type Sealer = Box<dyn Fn(&str) -> Option<String>>;

pub enum CompactionShape {
    /// `/v1/responses/compact`: these items are returned before the compaction item.
    Endpoint { kept: Vec<Value> },
    /// `compaction_trigger`: a `response` object described by this header.
    Response { header: ResponseHeader },
}

pub struct CompactionDialect {
    shape: CompactionShape,
    seal: Sealer,
    /// Called with the final response object (the route keeps it for `previous_response_id`).
    on_final: Option<OnFinal>,
    text: String,
    usage_metadata: Option<Value>,
    sequence: u64,
    started: bool,
    done: bool,
}

impl CompactionDialect {
    pub fn new(shape: CompactionShape, seal: Sealer, on_final: Option<OnFinal>) -> Self {
        Self {
            shape,
            seal,
            on_final,
            text: String::new(),
            usage_metadata: None,
            sequence: 0,
            started: false,
            done: false,
        }
    }

    fn absorb(&mut self, response: &Value) {
        self.text.push_str(&answer_text(response));
        if let Some(meta) = response.get("usageMetadata") {
            self.usage_metadata = Some(meta.clone());
        }
    }

    fn usage(&self) -> Value {
        usage(self.usage_metadata.as_ref().unwrap_or(&json!({})))
    }

    fn item(&self) -> Value {
        let sealed = (self.seal)(&self.text).unwrap_or_default();
        compaction_item(&new_id("cmp"), &sealed)
    }

    fn response_object(&self, header: &ResponseHeader, status: &str, output: Vec<Value>) -> Value {
        let mut response = Map::new();
        response.insert("id".into(), json!(header.id));
        response.insert("object".into(), json!("response"));
        response.insert("created_at".into(), json!(header.created_at));
        response.insert("status".into(), json!(status));
        response.insert("error".into(), Value::Null);
        response.insert("incomplete_details".into(), Value::Null);
        response.insert("model".into(), json!(header.model));
        response.insert("output".into(), Value::Array(output));
        for (key, value) in &header.echo {
            response.insert(key.clone(), value.clone());
        }
        let usage = if status == "in_progress" {
            Value::Null
        } else {
            self.usage()
        };
        response.insert("usage".into(), usage);
        Value::Object(response)
    }

    fn emit(&mut self, kind: &'static str, mut fields: Value) -> SseFrame {
        if let Value::Object(map) = &mut fields {
            map.insert("type".into(), json!(kind));
            map.insert("sequence_number".into(), json!(self.sequence));
        }
        self.sequence += 1;
        SseFrame::named(kind, fields)
    }

    fn start(&mut self, frames: &mut Vec<SseFrame>) {
        if self.started {
            return;
        }
        self.started = true;
        let CompactionShape::Response { header } = &self.shape else {
            return;
        };
        let response = self.response_object(header, "in_progress", Vec::new());
        frames.push(self.emit("response.created", json!({"response": response.clone()})));
        frames.push(self.emit("response.in_progress", json!({"response": response})));
    }

    /// The whole answer once Google is done, handing it to `on_final`.
    fn final_body(&mut self) -> Value {
        self.done = true;
        let item = self.item();
        let body = match &self.shape {
            CompactionShape::Endpoint { kept } => {
                let mut output = kept.clone();
                output.push(item);
                json!({
                    "id": new_id("resp"),
                    "object": "response.compaction",
                    "created_at": chrono::Utc::now().timestamp(),
                    "output": output,
                    "usage": self.usage(),
                })
            }
            CompactionShape::Response { header } => {
                self.response_object(header, "completed", vec![item])
            }
        };
        if let Some(hook) = self.on_final.take() {
            hook(&body);
        }
        body
    }
}

impl Dialect for CompactionDialect {
    fn style(&self) -> ErrorStyle {
        ErrorStyle::OpenAi
    }

    fn render_response(&mut self, response: Value) -> Value {
        self.absorb(&response);
        self.final_body()
    }

    fn event(&mut self, response: &Value) -> Vec<SseFrame> {
        let mut frames = Vec::new();
        self.start(&mut frames);
        self.absorb(response);
        frames
    }

    fn finish(&mut self) -> Vec<SseFrame> {
        let mut frames = Vec::new();
        if self.done {
            return frames;
        }
        self.start(&mut frames);
        let body = self.final_body();
        let item = body.pointer("/output/0").cloned().unwrap_or(Value::Null);
        frames.push(self.emit(
            "response.output_item.added",
            json!({"output_index": 0, "item": item.clone()}),
        ));
        frames.push(self.emit(
            "response.output_item.done",
            json!({"output_index": 0, "item": item}),
        ));
        frames.push(self.emit("response.completed", json!({"response": body})));
        frames
    }

    fn error(&mut self, err: &ApiError) -> Vec<SseFrame> {
        self.on_final = None;
        self.done = true;
        let code = err.kind.spec().responses_code;
        match (&self.shape, self.started) {
            (CompactionShape::Response { header }, true) => {
                let mut response = self.response_object(header, "failed", Vec::new());
                if let Value::Object(map) = &mut response {
                    map.insert(
                        "error".into(),
                        json!({"code": code, "message": err.message}),
                    );
                }
                vec![self.emit("response.failed", json!({"response": response}))]
            }
            _ => vec![self.emit(
                "error",
                json!({"code": code, "message": err.message, "param": null}),
            )],
        }
    }

    fn heartbeat(&mut self) -> SseFrame {
        if !self.started {
            let mut frames = Vec::new();
            self.start(&mut frames);
            if let Some(first) = frames.into_iter().next() {
                return first;
            }
        }
        match &self.shape {
            CompactionShape::Response { header } => {
                let response = self.response_object(header, "in_progress", Vec::new());
                self.emit("response.in_progress", json!({"response": response}))
            }
            CompactionShape::Endpoint { .. } => {
                self.emit("response.in_progress", json!({"response": Value::Null}))
            }
        }
    }

    fn done_marker(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::responses::tools::ToolMap;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn sealer() -> Sealer {
        Box::new(|text: &str| Some(format!("sealed({})", text.len())))
    }

    fn answer(text: &str) -> Value {
        json!({"candidates": [{"content": {"parts": [{"text": text}]}, "finishReason": "STOP"}],
               "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 3}})
    }

    #[test]
    fn the_endpoint_returns_kept_items_then_one_sealed_item() {
        let kept = vec![json!({"type": "message", "role": "user", "content": "goal"})];
        let mut d = CompactionDialect::new(CompactionShape::Endpoint { kept }, sealer(), None);
        let body = d.render_response(answer("the summary"));
        assert_eq!(body["object"], "response.compaction");
        let output = body["output"].as_array().unwrap();
        assert_eq!(output.len(), 2);
        assert_eq!(output[1]["type"], "compaction");
        assert_eq!(output[1]["encrypted_content"], "sealed(11)");
        assert!(!body.to_string().contains("the summary"));
        assert_eq!(body["usage"]["input_tokens"], 10);
    }

    #[test]
    fn a_triggered_stream_ends_with_exactly_one_compaction_item() {
        let header = ResponseHeader::new("gemini-2.5-pro", Map::new(), ToolMap::default(), true);
        let kept = Rc::new(RefCell::new(None));
        let hook_kept = kept.clone();
        let mut d = CompactionDialect::new(
            CompactionShape::Response { header },
            sealer(),
            Some(Box::new(move |r: &Value| {
                *hook_kept.borrow_mut() = Some(r.clone())
            })),
        );
        let mut frames = d.event(&answer("part one "));
        frames.extend(d.event(&answer("part two")));
        frames.extend(d.finish());
        let kinds: Vec<_> = frames.iter().map(|f| f.data["type"].clone()).collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.output_item.done",
                "response.completed"
            ]
        );
        let done = &frames[4].data["response"];
        assert_eq!(done["output"].as_array().unwrap().len(), 1);
        assert_eq!(done["output"][0]["encrypted_content"], "sealed(17)");
        assert_eq!(kept.borrow().as_ref().unwrap()["id"], done["id"]);
        assert!(d.finish().is_empty());
    }

    #[test]
    fn failures_are_error_events_and_nothing_is_kept() {
        let header = ResponseHeader::new("m", Map::new(), ToolMap::default(), true);
        let mut d = CompactionDialect::new(CompactionShape::Response { header }, sealer(), None);
        let frames = d.error(&ApiError::new(
            crate::error::ErrorKind::GatewayTimeout,
            "slow",
        ));
        assert_eq!(frames[0].data["type"], "error");
        assert!(d.finish().is_empty());
    }
}
