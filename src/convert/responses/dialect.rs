//! The Responses dialect: renders Google's stream as Responses events and, when the stream ends, hands
//! the finished response to the caller's hook (the route stores it unless the client asked for
//! `store: false`). A failed stream hands nothing over.

use serde_json::Value;

use crate::convert::dialect::{Dialect, SseFrame};
use crate::convert::responses::response::ResponsesStream;
use crate::error::{ApiError, ErrorStyle};

/// Called once with the final response object (the route keeps it in the response store).
pub type OnFinal = Box<dyn FnOnce(&Value)>;

pub struct ResponsesDialect {
    stream: ResponsesStream,
    /// `None` with `store: false`.
    on_final: Option<OnFinal>,
}

impl ResponsesDialect {
    pub fn new(stream: ResponsesStream, on_final: Option<OnFinal>) -> Self {
        Self { stream, on_final }
    }

    /// Hands the response over once it is final (and not failed).
    fn keep_when_final(&mut self) {
        if let Some(response) = self.stream.final_response() {
            if let Some(hook) = self.on_final.take() {
                hook(response);
            }
        }
    }
}

/// Every Responses event is sent with its type as the SSE event name.
fn named(events: Vec<Value>) -> Vec<SseFrame> {
    events.into_iter().map(frame).collect()
}

fn frame(event: Value) -> SseFrame {
    let name = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message")
        .to_owned();
    SseFrame::named(name, event)
}

impl Dialect for ResponsesDialect {
    fn style(&self) -> ErrorStyle {
        ErrorStyle::OpenAi
    }

    fn render_response(&mut self, response: Value) -> Value {
        self.stream.on_event(&response);
        self.stream.finish();
        self.keep_when_final();
        self.stream.final_response().cloned().unwrap_or(Value::Null)
    }

    fn event(&mut self, response: &Value) -> Vec<SseFrame> {
        named(self.stream.on_event(response))
    }

    fn finish(&mut self) -> Vec<SseFrame> {
        let events = self.stream.finish();
        self.keep_when_final();
        named(events)
    }

    /// `response.failed` (or `error` before anything was sent); a failed answer is not stored.
    fn error(&mut self, err: &ApiError) -> Vec<SseFrame> {
        self.on_final = None;
        named(
            self.stream
                .fail(&err.message, err.kind.spec().responses_code),
        )
    }

    fn heartbeat(&mut self) -> SseFrame {
        frame(self.stream.heartbeat())
    }

    fn done_marker(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::responses::response::ResponseHeader;
    use crate::convert::responses::tools::ToolMap;
    use serde_json::{json, Map};
    use std::cell::RefCell;
    use std::rc::Rc;

    fn dialect(kept: &Rc<RefCell<Vec<Value>>>) -> ResponsesDialect {
        let header = ResponseHeader::new("m", Map::new(), ToolMap::default(), true);
        let kept = kept.clone();
        ResponsesDialect::new(
            ResponsesStream::new(header),
            Some(Box::new(move |r: &Value| kept.borrow_mut().push(r.clone()))),
        )
    }

    fn text(t: &str) -> Value {
        json!({"candidates": [{"content": {"parts": [{"text": t}]}, "finishReason": "STOP"}]})
    }

    #[test]
    fn frames_are_named_and_the_final_response_is_kept_once() {
        let kept = Rc::new(RefCell::new(Vec::new()));
        let mut d = dialect(&kept);
        let frames = d.event(&text("hi"));
        assert_eq!(frames[0].event.as_deref(), Some("response.created"));
        assert!(frames
            .iter()
            .all(|f| f.event.as_deref() == f.data["type"].as_str()));
        let last = d.finish();
        assert_eq!(
            last.last().unwrap().event.as_deref(),
            Some("response.completed")
        );
        assert!(d.finish().is_empty());
        assert_eq!(kept.borrow().len(), 1);
        assert_eq!(kept.borrow()[0]["status"], "completed");
    }

    #[test]
    fn a_failed_stream_is_not_kept() {
        let kept = Rc::new(RefCell::new(Vec::new()));
        let mut d = dialect(&kept);
        d.event(&json!({"candidates": [{"content": {"parts": [{"text": "half"}]}}]}));
        let frames = d.error(&ApiError::new(
            crate::error::ErrorKind::GatewayTimeout,
            "slow",
        ));
        assert_eq!(
            frames.last().unwrap().event.as_deref(),
            Some("response.failed")
        );
        assert_eq!(
            frames.last().unwrap().data["response"]["error"]["code"],
            "server_error"
        );
        assert!(d.finish().is_empty());
        assert!(kept.borrow().is_empty());
    }

    #[test]
    fn whole_answers_render_and_are_kept() {
        let kept = Rc::new(RefCell::new(Vec::new()));
        let mut d = dialect(&kept);
        let out = d.render_response(text("done"));
        assert_eq!(out["object"], "response");
        assert_eq!(out["output"][0]["content"][0]["text"], "done");
        assert_eq!(kept.borrow().len(), 1);
    }
}
