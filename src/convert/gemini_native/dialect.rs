//! The Gemini-native dialect: Google's own response bodies, forwarded as they are; streams are plain
//! `data:` frames without an end marker; errors in Google's shape.

use serde_json::Value;

use crate::convert::dialect::{Dialect, SseFrame};
use crate::convert::gemini::fake_stream::{gemini_heartbeat_chunk, gemini_response_as_chunks};
use crate::error::ErrorStyle;

pub struct GeminiDialect;

impl Dialect for GeminiDialect {
    fn style(&self) -> ErrorStyle {
        ErrorStyle::Google
    }

    fn render_response(&mut self, response: Value) -> Value {
        response
    }

    fn event(&mut self, response: &Value) -> Vec<SseFrame> {
        vec![SseFrame::data(response.clone())]
    }

    fn finish(&mut self) -> Vec<SseFrame> {
        Vec::new()
    }

    fn heartbeat(&mut self) -> SseFrame {
        SseFrame::data(gemini_heartbeat_chunk())
    }

    fn done_marker(&self) -> bool {
        false
    }

    fn whole_answer(&mut self, response: &Value) -> Vec<SseFrame> {
        gemini_response_as_chunks(response)
            .into_iter()
            .map(SseFrame::data)
            .collect()
    }
}
