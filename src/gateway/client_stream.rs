//! Turns Google's event stream into the client's SSE body, event by event as they arrive; nothing is
//! buffered beyond the event being converted. When the client goes away actix drops this stream, which
//! drops the upstream response and closes that connection.

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use super::upstream_events::UpstreamEvents;
use crate::actors::quota::QuotaGuard;
use crate::convert::openai_response::{openai_error_chunk, OpenAiStreamConverter};
use crate::convert::openai_tools::restore_tool_names;
use crate::streaming::fake_stream::{
    gemini_heartbeat_chunk, gemini_response_as_chunks, openai_heartbeat_chunk,
};
use crate::upstream::UpstreamError;

/// How one client dialect renders the stream.
pub trait SseDialect {
    fn event(&mut self, response: &Value) -> Vec<Value>;
    fn finish(&mut self) -> Vec<Value>;
    fn error(&mut self, err: &UpstreamError) -> Vec<Value>;
    /// OpenAI streams end with `data: [DONE]`; Gemini streams just end.
    fn done_marker(&self) -> bool;
    /// An empty chunk that keeps the connection alive while fake streaming waits for Google.
    fn heartbeat(&self) -> Value;
    /// A complete (non-streamed) answer rendered as the stream's chunks, final chunk included.
    fn whole_answer(&mut self, response: &Value) -> Vec<Value> {
        let mut values = self.event(response);
        values.extend(self.finish());
        values
    }
}

pub struct OpenAiDialect {
    pub converter: OpenAiStreamConverter,
    /// Gemini function name → the name the client declared.
    pub tool_names: HashMap<String, String>,
}

impl SseDialect for OpenAiDialect {
    fn event(&mut self, response: &Value) -> Vec<Value> {
        if self.tool_names.is_empty() {
            return self.converter.on_event(response);
        }
        let mut renamed = response.clone();
        restore_tool_names(&mut renamed, &self.tool_names);
        self.converter.on_event(&renamed)
    }

    fn finish(&mut self) -> Vec<Value> {
        self.converter.finish()
    }

    fn error(&mut self, err: &UpstreamError) -> Vec<Value> {
        vec![openai_error_chunk(&err.message(), err.client_status())]
    }

    fn done_marker(&self) -> bool {
        true
    }

    fn heartbeat(&self) -> Value {
        openai_heartbeat_chunk(
            self.converter.id(),
            self.converter.created(),
            self.converter.model(),
        )
    }
}

pub struct GeminiDialect;

impl SseDialect for GeminiDialect {
    fn event(&mut self, response: &Value) -> Vec<Value> {
        vec![response.clone()]
    }

    fn whole_answer(&mut self, response: &Value) -> Vec<Value> {
        gemini_response_as_chunks(response)
    }

    fn finish(&mut self) -> Vec<Value> {
        Vec::new()
    }

    fn error(&mut self, err: &UpstreamError) -> Vec<Value> {
        let body = err.body().cloned().unwrap_or_else(|| {
            serde_json::json!({"error": {
                "code": err.client_status(),
                "message": err.message(),
                "status": crate::error::google_status(
                    actix_web::http::StatusCode::from_u16(err.client_status())
                        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY)
                ),
            }})
        });
        vec![body]
    }

    fn done_marker(&self) -> bool {
        false
    }

    fn heartbeat(&self) -> Value {
        gemini_heartbeat_chunk()
    }
}

/// Serialises values as SSE `data:` frames into one buffer.
pub fn frames(values: &[Value], done: bool) -> Bytes {
    let mut buf = BytesMut::new();
    for value in values {
        buf.put_slice(b"data: ");
        // Serialising a Value cannot fail; an empty frame would be harmless anyway.
        buf.put_slice(&serde_json::to_vec(value).unwrap_or_default());
        buf.put_slice(b"\n\n");
    }
    if done {
        buf.put_slice(b"data: [DONE]\n\n");
    }
    buf.freeze()
}

struct RelayState<D> {
    first: Option<Value>,
    events: UpstreamEvents,
    dialect: D,
    finished: bool,
    /// Lives as long as the stream: releases the key's in-flight slot when the stream ends.
    _quota: Option<QuotaGuard>,
}

/// The client body for a real stream whose first event was already read (to surface early errors as an
/// HTTP status rather than inside a 200).
pub fn relay<D: SseDialect + 'static>(
    first: Value,
    events: UpstreamEvents,
    dialect: D,
    quota: Option<QuotaGuard>,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    let state = RelayState {
        first: Some(first),
        events,
        dialect,
        finished: false,
        _quota: quota.map(|mut q| {
            q.commit();
            q
        }),
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if st.finished {
            return None;
        }
        let (values, done) = if let Some(first) = st.first.take() {
            (st.dialect.event(&first), false)
        } else {
            match st.events.next().await {
                Some(Ok(event)) => (st.dialect.event(&event), false),
                Some(Err(err)) => {
                    log::warn!("stream ended by upstream error: {err}");
                    let mut values = st.dialect.error(&err);
                    values.extend(st.dialect.finish());
                    (values, true)
                }
                None => (st.dialect.finish(), true),
            }
        };
        st.finished = done;
        let bytes = frames(&values, done && st.dialect.done_marker());
        Some((Ok(bytes), st))
    })
    .filter(|item| {
        let keep = !matches!(item, Ok(b) if b.is_empty());
        async move { keep }
    })
}
