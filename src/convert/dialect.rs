//! A client dialect: how one client API (OpenAI chat, Gemini native, and next Anthropic Messages, OpenAI
//! Responses) renders Google's answers. The gateway's one entry point (`gateway::serve`) owns the quota
//! guard, the upstream calls and the stream-mode match; a dialect only shapes output, so a new client API
//! is a new `Dialect` implementation plus its route handler — the gateway is not touched.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::Value;

use crate::error::{ApiError, ErrorStyle};

/// One server-sent event: an optional `event:` name line and one JSON `data:` line.
#[derive(Debug, Clone, PartialEq)]
pub struct SseFrame {
    pub event: Option<Cow<'static, str>>,
    pub data: Value,
}

impl SseFrame {
    /// `data: {…}` only (OpenAI chat, Gemini).
    pub fn data(data: Value) -> Self {
        Self { event: None, data }
    }

    /// `event: <name>` then `data: {…}` (Anthropic `message_start`, Responses `response.created`, …).
    pub fn named(event: impl Into<Cow<'static, str>>, data: Value) -> Self {
        Self {
            event: Some(event.into()),
            data,
        }
    }

    fn write_to(&self, buf: &mut BytesMut) {
        if let Some(event) = &self.event {
            buf.put_slice(b"event: ");
            buf.put_slice(event.as_bytes());
            buf.put_slice(b"\n");
        }
        buf.put_slice(b"data: ");
        // Serialising a Value cannot fail; an empty frame would be harmless anyway.
        buf.put_slice(&serde_json::to_vec(&self.data).unwrap_or_default());
        buf.put_slice(b"\n\n");
    }
}

/// Serialises frames into one buffer, ending with `data: [DONE]` when `done` is set.
pub fn encode_frames(frames: &[SseFrame], done: bool) -> Bytes {
    let mut buf = BytesMut::new();
    for frame in frames {
        frame.write_to(&mut buf);
    }
    if done {
        buf.put_slice(b"data: [DONE]\n\n");
    }
    buf.freeze()
}

/// The status and headers of every SSE answer (frames follow as its body): no caching, and no
/// buffering by a proxy in front, so each frame reaches the client when it is written.
pub fn sse_response() -> actix_web::HttpResponseBuilder {
    let mut builder = actix_web::HttpResponse::Ok();
    builder
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"));
    builder
}

/// How one client API renders Google's (unwrapped Gemini) answers. One value serves one request, so an
/// implementation may keep per-stream state (ids, sequence numbers, whether a start event was sent).
pub trait Dialect: 'static {
    /// The error body shape of this API, for HTTP errors and in-stream error events.
    fn style(&self) -> ErrorStyle;

    /// A whole (non-stream) Gemini response as this API's JSON body.
    fn render_response(&mut self, response: Value) -> Value;

    /// The frames for one Gemini stream event (may be none).
    fn event(&mut self, response: &Value) -> Vec<SseFrame>;

    /// The closing frames after the last event (the final finish reason, usage, a stop event…).
    fn finish(&mut self) -> Vec<SseFrame>;

    /// A failure after the stream started, as frames. The default sends the error body of
    /// [`style`](Self::style) as one `data:` frame; `finish` is called after it by the gateway.
    fn error(&mut self, err: &ApiError) -> Vec<SseFrame> {
        vec![SseFrame::data(err.render(self.style()))]
    }

    /// A frame that keeps the connection alive while fake streaming waits for Google.
    fn heartbeat(&mut self) -> SseFrame;

    /// Whether the stream ends with `data: [DONE]` (OpenAI chat does; Gemini just ends).
    fn done_marker(&self) -> bool;

    /// In a relayed stream, send [`heartbeat`](Self::heartbeat) whenever Google has been silent this
    /// long (Anthropic clients expect `ping` events while the model thinks). `None`: never.
    fn idle_heartbeat(&self) -> Option<std::time::Duration> {
        None
    }

    /// True once the answer is complete before Google's stream ends (a client stop sequence
    /// matched): the gateway then sends [`finish`](Self::finish) and stops reading from Google.
    fn is_complete(&self) -> bool {
        false
    }

    /// A complete (non-streamed) answer rendered as the stream's frames, closing frames included
    /// (fake streaming's answer).
    fn whole_answer(&mut self, response: &Value) -> Vec<SseFrame> {
        let mut frames = self.event(response);
        frames.extend(self.finish());
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_with_and_without_event_names() {
        let bytes = encode_frames(
            &[
                SseFrame::data(json!({"a":1})),
                SseFrame::named("message_start", json!({"type":"message_start"})),
            ],
            true,
        );
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "data: {\"a\":1}\n\nevent: message_start\ndata: {\"type\":\"message_start\"}\n\ndata: [DONE]\n\n"
        );
        assert!(encode_frames(&[], false).is_empty());
    }
}
