//! The OpenAI chat dialect: `chat.completion` bodies, `chat.completion.chunk` streams ending in
//! `data: [DONE]`, OpenAI-shaped errors. Gemini function names are mapped back to the names the client
//! declared before anything is rendered.

use std::collections::HashMap;

use serde_json::Value;

use crate::convert::dialect::{Dialect, SseFrame};
use crate::convert::gemini::tool_names::restore_tool_names;
use crate::convert::openai_chat::heartbeat::openai_heartbeat_chunk;
use crate::convert::openai_chat::response::{
    gemini_to_openai_completion, OpenAiStreamConverter, ResponseOptions,
};
use crate::error::ErrorStyle;

pub struct OpenAiDialect {
    converter: OpenAiStreamConverter,
    /// Gemini function name → the name the client declared.
    tool_names: HashMap<String, String>,
    /// The model name as the client wrote it.
    display_model: String,
    opts: ResponseOptions,
}

impl OpenAiDialect {
    pub fn new(
        display_model: &str,
        opts: ResponseOptions,
        include_usage: bool,
        tool_names: HashMap<String, String>,
    ) -> Self {
        Self {
            converter: OpenAiStreamConverter::new(display_model, opts, include_usage),
            tool_names,
            display_model: display_model.to_string(),
            opts,
        }
    }
}

fn data(values: Vec<Value>) -> Vec<SseFrame> {
    values.into_iter().map(SseFrame::data).collect()
}

impl Dialect for OpenAiDialect {
    fn style(&self) -> ErrorStyle {
        ErrorStyle::OpenAi
    }

    fn render_response(&mut self, mut response: Value) -> Value {
        restore_tool_names(&mut response, &self.tool_names);
        gemini_to_openai_completion(&response, &self.display_model, &self.opts)
    }

    fn event(&mut self, response: &Value) -> Vec<SseFrame> {
        if self.tool_names.is_empty() {
            return data(self.converter.on_event(response));
        }
        let mut renamed = response.clone();
        restore_tool_names(&mut renamed, &self.tool_names);
        data(self.converter.on_event(&renamed))
    }

    fn finish(&mut self) -> Vec<SseFrame> {
        data(self.converter.finish())
    }

    fn heartbeat(&mut self) -> SseFrame {
        SseFrame::data(openai_heartbeat_chunk(
            self.converter.id(),
            self.converter.created(),
            self.converter.model(),
        ))
    }

    fn done_marker(&self) -> bool {
        true
    }
}
