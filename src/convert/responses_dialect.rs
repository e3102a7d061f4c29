//! The Responses dialect: renders Google's stream as Responses events and, when the stream ends, hands
//! the finished response to the caller's hook (the route stores it unless the client asked for
//! `store: false`). A failed stream hands nothing over.

use serde_json::Value;

use super::responses_response::ResponsesStream;

/// Called once with the final response object (the route keeps it in the response store).
pub type OnFinal = Box<dyn FnOnce(&Value)>;

pub struct ResponsesDialect {
    pub stream: ResponsesStream,
    /// `None` with `store: false`.
    pub on_final: Option<OnFinal>,
}

impl ResponsesDialect {
    /// Saves the response once it is final.
    fn keep_when_final(&mut self) {
        if let Some(response) = self.stream.final_response() {
            if let Some(hook) = self.on_final.take() {
                hook(response);
            }
        }
    }

    pub fn event(&mut self, response: &Value) -> Vec<Value> {
        self.stream.on_event(response)
    }

    pub fn finish(&mut self) -> Vec<Value> {
        let events = self.stream.finish();
        self.keep_when_final();
        events
    }

    /// A failure after the stream began; `code` is OpenAI's error code for it.
    pub fn fail(&mut self, message: &str, code: &str) -> Vec<Value> {
        self.on_final = None;
        self.stream.fail(message, code)
    }

    pub fn heartbeat(&mut self) -> Value {
        self.stream.heartbeat()
    }
}

/// OpenAI's error code for an HTTP status seen from Google (used in `response.failed`).
pub fn failure_code(status: u16) -> &'static str {
    match status {
        429 => "rate_limit_exceeded",
        400 | 404 | 413 | 422 => "invalid_request_error",
        401 | 403 => "permission_denied",
        _ => "server_error",
    }
}
