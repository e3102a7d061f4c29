//! Google's SSE stream as a stream of unwrapped Gemini responses, with an idle timeout: a stream silent for
//! longer than `STREAM_IDLE_TIMEOUT` is treated as dead.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix::Recipient;
use futures_util::future::LocalBoxFuture;
use futures_util::Stream;
use serde_json::Value;
use tokio::time::{Instant, Sleep};

use crate::actors::scout::messages::CreditsSeen;
use crate::observe::trace;
use crate::store::CreditBalance;
use crate::upstream::code_assist::StreamResponse;
use crate::upstream::sse::SseParser;
use crate::upstream::UpstreamError;

pub struct UpstreamEvents {
    resp: StreamResponse,
    parser: SseParser,
    queue: VecDeque<Result<Value, UpstreamError>>,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    done: bool,
    /// Whether an event carried a finish reason; a stream ending without one was cut.
    finished: bool,
    /// The credits the last event said are left (`remainingCredits`), told to `credits_to` when the
    /// stream is dropped.
    credits: Option<Vec<CreditBalance>>,
    credits_to: Option<(Recipient<CreditsSeen>, Arc<str>)>,
    /// Resolves when the gateway's stop ends open streams: the stream then fails with
    /// [`UpstreamError::Stopping`], which the client gets as its dialect's error event.
    stop: Option<LocalBoxFuture<'static, ()>>,
    /// Since when the stream has been waiting for Google's next bytes, once it counts its waits
    /// (after its first event: the attempt that opened it counted the time until then).
    waiting_since: Option<Instant>,
    counts_waits: bool,
}

impl Drop for UpstreamEvents {
    fn drop(&mut self) {
        if let (Some(credits), Some((to, name))) = (self.credits.take(), self.credits_to.take()) {
            to.do_send(CreditsSeen { name, credits });
        }
    }
}

impl UpstreamEvents {
    pub fn new(resp: StreamResponse, idle: Duration) -> Self {
        Self {
            resp,
            parser: SseParser::new(),
            queue: VecDeque::new(),
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            done: false,
            finished: false,
            credits: None,
            credits_to: None,
            stop: None,
            waiting_since: None,
            counts_waits: false,
        }
    }

    /// From now on, time spent waiting for Google's next bytes goes to the request's trace (its
    /// overhead is the rest).
    pub fn count_waits(&mut self) {
        self.counts_waits = true;
        self.waiting_since = None;
    }

    fn waited(&mut self) {
        if let Some(since) = self.waiting_since.take() {
            trace::note_upstream_wait(since.elapsed());
        }
    }

    /// Ends the stream with [`UpstreamError::Stopping`] when `stop` resolves.
    pub fn stop_when(&mut self, stop: impl Future<Output = ()> + 'static) {
        self.stop = Some(Box::pin(stop));
    }

    /// Where the credits the stream reports go when it ends: the credential `name`'s scout.
    pub fn report_credits_to(&mut self, to: Recipient<CreditsSeen>, name: Arc<str>) {
        self.credits_to = Some((to, name));
    }

    fn enqueue_data(&mut self, data: &str) {
        let data = data.trim();
        if data.is_empty() || data == "[DONE]" {
            return;
        }
        let item = match serde_json::from_str::<Value>(data) {
            Ok(value) => {
                if let Some(credits) = crate::upstream::kind::remaining_credits(&value) {
                    self.credits = Some(credits);
                }
                let item = event_value(value);
                if let Ok(event) = &item {
                    trace::note_event(event);
                }
                if item.as_ref().is_ok_and(is_final) {
                    self.finished = true;
                }
                item
            }
            Err(e) => Err(UpstreamError::Protocol(format!("bad event JSON: {e}"))),
        };
        self.queue.push_back(item);
    }
}

/// Whether the event ends the answer: a finish reason, or a prompt blocked outright.
fn is_final(event: &Value) -> bool {
    let finish = event
        .get("candidates")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|c| c.get("finishReason").is_some()));
    finish || event.pointer("/promptFeedback/blockReason").is_some()
}

/// An event is either `{"response":{…}}` or, when Google fails mid-stream, `{"error":{…}}`.
fn event_value(value: Value) -> Result<Value, UpstreamError> {
    let mut value = UpstreamError::from_error_body(value)?;
    Ok(match value.get_mut("response") {
        Some(inner) => inner.take(),
        None => value,
    })
}

impl Stream for UpstreamEvents {
    type Item = Result<Value, UpstreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.queue.pop_front() {
                if item.is_err() {
                    this.done = true;
                }
                return Poll::Ready(Some(item));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let polled = Pin::new(&mut this.resp).poll_next(cx);
            if polled.is_ready() {
                this.waited();
            } else if this.counts_waits && this.waiting_since.is_none() {
                this.waiting_since = Some(Instant::now());
            }
            match polled {
                Poll::Ready(Some(Ok(bytes))) => {
                    let idle = this.idle;
                    this.deadline.as_mut().reset(Instant::now() + idle);
                    match this.parser.push(&bytes) {
                        Ok(events) => {
                            for event in events {
                                this.enqueue_data(&event.data);
                            }
                        }
                        Err(e) => {
                            this.queue
                                .push_back(Err(UpstreamError::Protocol(e.to_string())));
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.queue.push_back(Err(UpstreamError::from(e)));
                }
                Poll::Ready(None) => {
                    if let Some(event) = this.parser.finish() {
                        this.enqueue_data(&event.data);
                    }
                    this.done = true;
                    if !this.finished && !this.queue.iter().any(Result::is_err) {
                        this.queue.push_back(Err(UpstreamError::Cut));
                    }
                    if let Some(item) = this.queue.pop_front() {
                        return Poll::Ready(Some(item));
                    }
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    if this.deadline.as_mut().poll(cx).is_ready() {
                        this.waited();
                        this.done = true;
                        return Poll::Ready(Some(Err(UpstreamError::Timeout)));
                    }
                    if this
                        .stop
                        .as_mut()
                        .is_some_and(|s| s.as_mut().poll(cx).is_ready())
                    {
                        this.done = true;
                        return Poll::Ready(Some(Err(UpstreamError::Stopping)));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_is_unwrapped_and_errors_classified() {
        assert_eq!(
            event_value(json!({"response":{"candidates":[]},"traceId":"x"})).unwrap(),
            json!({"candidates":[]})
        );
        let err = event_value(json!({"error":{"code":429,"message":"slow down"}})).unwrap_err();
        assert_eq!(err.status(), Some(429));
    }
}
