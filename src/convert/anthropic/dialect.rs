//! The Anthropic Messages dialect: `message` bodies, named SSE events (`message_start` …
//! `message_stop`, `ping` heartbeats, `error`), Anthropic-shaped errors. Gemini function names are
//! mapped back to the names the client declared before anything is rendered.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::convert::anthropic::response::gemini_to_anthropic_message;
use crate::convert::anthropic::stream::{AnthropicStreamConverter, StreamOptions};
use crate::convert::dialect::{Dialect, SseFrame};
use crate::convert::gemini::tool_names::restore_tool_names;
use crate::error::{ApiError, ErrorStyle};

/// Longest silence of a live stream before a `ping` (Anthropic clients expect one within 15 s).
const MAX_PING_INTERVAL: Duration = Duration::from_secs(10);

pub struct AnthropicDialect {
    converter: AnthropicStreamConverter,
    /// Gemini function name → the name the client declared.
    tool_names: HashMap<String, String>,
    /// The model name as the client wrote it.
    client_model: String,
    opts: StreamOptions,
    /// After an `error` event the stream just ends, as Anthropic's does.
    failed: bool,
    ping_every: Duration,
}

impl AnthropicDialect {
    /// `heartbeat` is the configured heartbeat interval; live streams ping at least every 10 s.
    pub fn new(
        client_model: &str,
        opts: StreamOptions,
        tool_names: HashMap<String, String>,
        heartbeat: Duration,
    ) -> Self {
        Self {
            ping_every: heartbeat.min(MAX_PING_INTERVAL),
            converter: AnthropicStreamConverter::new(client_model, opts.clone()),
            tool_names,
            client_model: client_model.to_owned(),
            opts,
            failed: false,
        }
    }
}

/// Every event's name is its `type`.
fn named(values: Vec<Value>) -> Vec<SseFrame> {
    values
        .into_iter()
        .map(|value| {
            let name = value
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("message")
                .to_owned();
            SseFrame::named(name, value)
        })
        .collect()
}

impl Dialect for AnthropicDialect {
    fn style(&self) -> ErrorStyle {
        ErrorStyle::Anthropic
    }

    fn render_response(&mut self, mut response: Value) -> Value {
        restore_tool_names(&mut response, &self.tool_names);
        gemini_to_anthropic_message(&response, &self.client_model, self.opts.clone())
    }

    fn event(&mut self, response: &Value) -> Vec<SseFrame> {
        if self.tool_names.is_empty() {
            return named(self.converter.on_event(response));
        }
        let mut renamed = response.clone();
        restore_tool_names(&mut renamed, &self.tool_names);
        named(self.converter.on_event(&renamed))
    }

    fn finish(&mut self) -> Vec<SseFrame> {
        if self.failed {
            return Vec::new();
        }
        named(self.converter.finish())
    }

    fn error(&mut self, err: &ApiError) -> Vec<SseFrame> {
        self.failed = true;
        vec![SseFrame::named("error", err.render(ErrorStyle::Anthropic))]
    }

    fn heartbeat(&mut self) -> SseFrame {
        SseFrame::named("ping", AnthropicStreamConverter::ping())
    }

    fn done_marker(&self) -> bool {
        false
    }

    fn idle_heartbeat(&self) -> Option<Duration> {
        Some(self.ping_every)
    }

    fn is_complete(&self) -> bool {
        self.converter.stopped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::dialect::encode_frames;
    use serde_json::json;

    fn dialect(tool_names: HashMap<String, String>) -> AnthropicDialect {
        AnthropicDialect::new(
            "claude-opus-4-8",
            StreamOptions {
                show_thinking: true,
                stop_sequences: vec!["STOP".into()],
            },
            tool_names,
            Duration::from_secs(3),
        )
    }

    #[test]
    fn frames_are_named_after_their_type_and_tool_names_restored() {
        let mut d = dialect([("do_it".to_owned(), "do it".to_owned())].into());
        let mut frames = d.event(&json!({"candidates": [{"content": {"parts": [
            {"functionCall": {"id": "c1", "name": "do_it", "args": {}}}
        ]}}]}));
        frames.extend(d.finish());
        let text = String::from_utf8(encode_frames(&frames, d.done_marker()).to_vec()).unwrap();
        assert!(
            text.starts_with("event: message_start\ndata: {\"type\":\"message_start\""),
            "{text}"
        );
        assert!(text.contains("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"c1\",\"name\":\"do it\""), "{text}");
        assert!(
            text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
            "{text}"
        );
        assert_eq!(
            d.heartbeat(),
            SseFrame::named("ping", json!({"type": "ping"}))
        );
        assert_eq!(d.idle_heartbeat(), Some(Duration::from_secs(3)));
        let slow = AnthropicDialect::new(
            "m",
            StreamOptions::default(),
            HashMap::new(),
            Duration::from_secs(60),
        );
        assert_eq!(slow.idle_heartbeat(), Some(MAX_PING_INTERVAL));
    }

    #[test]
    fn an_error_event_ends_the_stream_and_a_stop_sequence_completes_it() {
        let mut d = dialect(HashMap::new());
        let frames = d.error(&ApiError::too_many("slow down"));
        assert_eq!(
            frames,
            vec![SseFrame::named(
                "error",
                json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})
            )]
        );
        assert!(d.finish().is_empty());

        let mut d = dialect(HashMap::new());
        assert!(!d.is_complete());
        d.event(&json!({"candidates": [{"content": {"parts": [{"text": "go STOP now"}]}}]}));
        assert!(d.is_complete());
        let body = d.render_response(
            json!({"candidates": [{"content": {"parts": [{"text": "a STOP b"}]}}]}),
        );
        assert_eq!(body["content"], json!([{"type": "text", "text": "a "}]));
        assert_eq!(body["stop_reason"], "stop_sequence");
    }
}
