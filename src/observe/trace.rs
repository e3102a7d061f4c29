//! The decision trace of one client request: which credentials were tried and how each answered, the
//! waits between them, upstream latency and time to first event, tokens, and the quota debit / refund.
//!
//! The trace lives in a task-local for the life of the request (set by the observing middleware around
//! the handler and around every poll of the response body), so the gateway notes what happens with one
//! call at the point where it happens, without a trace parameter threaded through every function. Outside
//! a request (tests calling the gateway directly, background jobs) the notes are no-ops.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use crate::convert::gemini::model_name_check::MAX_MODEL_NAME_BYTES;

tokio::task_local! {
    static CURRENT: Trace;
}

/// Tokens Google reported, by type.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub thinking: u64,
    pub cached: u64,
}

impl Tokens {
    /// From a Gemini `usageMetadata` object.
    pub fn from_usage(usage: &Value) -> Self {
        let n = |field: &str| usage.get(field).and_then(Value::as_u64).unwrap_or(0);
        Self {
            input: n("promptTokenCount"),
            output: n("candidatesTokenCount"),
            thinking: n("thoughtsTokenCount"),
            cached: n("cachedContentTokenCount"),
        }
    }

    pub fn add(&mut self, other: Tokens) {
        self.input += other.input;
        self.output += other.output;
        self.thinking += other.thinking;
        self.cached += other.cached;
    }

    pub fn is_zero(&self) -> bool {
        *self == Tokens::default()
    }

    /// (type label, count) pairs, in the order the metric documents them.
    pub fn by_type(&self) -> [(&'static str, u64); 4] {
        [
            ("input", self.input),
            ("output", self.output),
            ("thinking", self.thinking),
            ("cached", self.cached),
        ]
    }
}

/// One call to Google with one credential.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub credential: String,
    /// Milliseconds from the start of the request to the start of this call.
    pub start_ms: u64,
    /// Milliseconds until the call answered (its first event when streaming) or failed.
    pub latency_ms: u64,
    /// HTTP status from Google; absent for network errors and timeouts.
    pub status: Option<u16>,
    /// The classified kind of the outcome (`ok`, a 429 kind, `server_error`, `timeout`, …).
    pub kind: String,
    /// Google's error `status` and reason, when it gave them.
    pub reason: Option<String>,
    /// What the gateway did next: `answered`, `retried` or `gave_up`.
    pub decision: String,
    /// Milliseconds waited before the next credential was tried.
    pub wait_ms: u64,
    /// Seconds this credential was set to cool down for the model, when known.
    pub cooldown_secs: Option<u64>,
}

/// The quota side of a request made with an `sk-` key.
#[derive(Debug, Clone, Serialize, Default)]
pub struct QuotaNote {
    pub cost: u64,
    pub remaining_after_debit: u64,
    pub refunded: bool,
}

/// Everything known about one request; what the history keeps and the log line shows.
#[derive(Debug, Clone, Serialize, Default)]
pub struct TraceRecord {
    pub id: String,
    /// Unix seconds at the start.
    pub at: i64,
    pub method: String,
    pub path: String,
    /// The matched route pattern.
    pub route: String,
    pub model: Option<String>,
    /// The `sk-` key's id (`k-` and 16 hex digits of its hash, never the key), or `password`.
    pub key: Option<String>,
    /// Kept for readers of older records; new records name a key by its id only.
    pub key_masked: Option<String>,
    pub status: u16,
    pub duration_ms: u64,
    /// Milliseconds from the start to the first answer event from Google.
    pub ttft_ms: Option<u64>,
    /// Milliseconds spent waiting for Google: every call until it answered (its first event when
    /// streaming), the waits between retries, and a stream's waits for its next event.
    pub upstream_ms: f64,
    /// The gateway's own cost: the request's time minus `upstream_ms` (microsecond precision).
    pub overhead_ms: f64,
    pub attempts: Vec<Attempt>,
    pub tokens: Tokens,
    pub quota: Option<QuotaNote>,
    /// Why no credential could answer, when none could.
    pub error: Option<String>,
}

struct TraceState {
    record: TraceRecord,
    /// Usage of the upstream call in progress (Gemini streams repeat a growing total; the last wins).
    current_tokens: Tokens,
    /// Microseconds spent waiting for Google so far (see [`TraceRecord::upstream_ms`]).
    upstream_us: u64,
    /// Told the request's total tokens when it finishes (a key's token limits count them).
    token_sink: Option<TokenSink>,
}

/// Receives a finished request's tokens: prompt, output and thinking (Google's `totalTokenCount`).
pub type TokenSink = Box<dyn FnOnce(u64) + Send>;

/// A shared handle on the trace of the request in progress.
#[derive(Clone)]
pub struct Trace {
    state: Arc<Mutex<TraceState>>,
    started: Instant,
}

impl Trace {
    pub fn new(id: String, at: i64, method: &str, path: &str) -> Self {
        Self {
            state: Arc::new(Mutex::new(TraceState {
                record: TraceRecord {
                    id,
                    at,
                    method: method.to_string(),
                    path: bounded(path, MAX_PATH_BYTES),
                    ..TraceRecord::default()
                },
                current_tokens: Tokens::default(),
                upstream_us: 0,
                token_sink: None,
            })),
            started: Instant::now(),
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs `fut` with this trace as the current one.
    pub fn scope<F: Future>(self, fut: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self, fut)
    }

    /// Runs `f` with this trace as the current one.
    pub fn sync_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self.clone(), f)
    }

    fn update(&self, f: impl FnOnce(&mut TraceState, u64)) {
        let elapsed = self.elapsed_ms();
        // A poisoned lock only means another note panicked mid-way; the trace is best effort.
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard, elapsed);
    }

    pub fn set_response(&self, route: &str, status: u16) {
        self.update(|s, _| {
            s.record.route = route.to_string();
            s.record.status = status;
        });
    }

    /// The final record: duration now, usage of the last call added, overhead worked out.
    pub fn finish(&self) -> TraceRecord {
        let mut out = TraceRecord::default();
        let mut sink = None;
        let elapsed_us = micros(self.started.elapsed());
        self.update(|s, elapsed| {
            sink = s.token_sink.take();
            let current = std::mem::take(&mut s.current_tokens);
            s.record.tokens.add(current);
            s.record.duration_ms = elapsed;
            let upstream_us = s.upstream_us.min(elapsed_us);
            s.record.upstream_ms = upstream_us as f64 / 1000.0;
            s.record.overhead_ms = (elapsed_us - upstream_us) as f64 / 1000.0;
            // Finished once: nothing notes into the trace afterwards, so the record can be moved out.
            out = std::mem::take(&mut s.record);
        });
        if let Some(sink) = sink {
            let t = &out.tokens;
            sink(t.input.saturating_add(t.output).saturating_add(t.thinking));
        }
        out
    }
}

/// Longest request path kept in a trace: the history holds many, and a path can carry a model name.
const MAX_PATH_BYTES: usize = 256;

/// `text`, cut to at most `max` bytes (on a character boundary): what the history keeps of a
/// client-chosen string, whatever the edge let through.
fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_string()
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn with_current(f: impl FnOnce(&mut TraceState, u64)) {
    let _ = CURRENT.try_with(|t| t.update(f));
}

/// The request's model (the base model sent to Google).
pub fn note_model(model: &str) {
    with_current(|s, _| {
        if s.record.model.is_none() {
            s.record.model = Some(bounded(model, MAX_MODEL_NAME_BYTES));
        }
    });
}

/// Who pays: the password or an `sk-` key, given by its hash and named by its id.
pub fn note_caller(key_hash: Option<&str>) {
    with_current(|s, _| match key_hash {
        Some(hash) => {
            s.record.key = Some(crate::key_id::id_of_hash(hash));
            s.record.key_masked = None;
        }
        None => s.record.key = Some("password".into()),
    });
}

/// Who is told the request's tokens when it finishes.
pub fn note_token_sink(sink: TokenSink) {
    with_current(|s, _| s.token_sink = Some(sink));
}

pub fn note_debit(cost: u64, remaining: u64) {
    with_current(|s, _| {
        s.record.quota = Some(QuotaNote {
            cost,
            remaining_after_debit: remaining,
            refunded: false,
        })
    });
}

pub fn note_refund() {
    with_current(|s, _| {
        if let Some(q) = s.record.quota.as_mut() {
            q.refunded = true;
        }
    });
}

/// An upstream call that ended (answered or failed) after starting at `started`.
pub fn note_attempt(started: Instant, mut attempt: Attempt) {
    let waited = started.elapsed();
    with_current(|s, elapsed| {
        s.upstream_us = s.upstream_us.saturating_add(micros(waited));
        let latency = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
        attempt.latency_ms = latency;
        attempt.start_ms = elapsed.saturating_sub(latency);
        if attempt.decision == "answered" {
            // A new answering call (anti-truncation continues with fresh streams): bank the last one.
            let previous = std::mem::take(&mut s.current_tokens);
            s.record.tokens.add(previous);
            if s.record.ttft_ms.is_none() {
                s.record.ttft_ms = Some(elapsed);
            }
        }
        s.record.attempts.push(attempt);
    });
}

/// The wait before the next credential, added to the last attempt.
pub fn note_wait(ms: u64) {
    with_current(|s, _| {
        s.upstream_us = s.upstream_us.saturating_add(ms.saturating_mul(1000));
        if let Some(last) = s.record.attempts.last_mut() {
            last.wait_ms += ms;
        }
    });
}

/// A cooldown applied to the last attempt's credential.
pub fn note_cooldown(secs: u64) {
    with_current(|s, _| {
        if let Some(last) = s.record.attempts.last_mut() {
            last.cooldown_secs = Some(secs);
        }
    });
}

/// Time a stream waited for Google's next bytes (after its first event, which its attempt counts).
pub fn note_upstream_wait(waited: std::time::Duration) {
    with_current(|s, _| s.upstream_us = s.upstream_us.saturating_add(micros(waited)));
}

/// A Gemini response or stream event; its `usageMetadata`, when present, is the call's usage so far.
pub fn note_event(event: &Value) {
    if let Some(usage) = event.get("usageMetadata") {
        let tokens = Tokens::from_usage(usage);
        with_current(|s, _| s.current_tokens = tokens);
    }
}

pub fn note_error(message: &str) {
    with_current(|s, _| s.record.error = Some(message.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn notes_land_in_the_current_trace_only() {
        note_model("ignored-outside-a-request");
        let trace = Trace::new("r1".into(), 0, "POST", "/v1/chat/completions");
        let t = trace.clone();
        t.scope(async {
            note_model("gemini-2.5-pro");
            note_caller(Some(&crate::key_id::hash_key("sk-0123456789abcdef")));
            let started = Instant::now();
            note_attempt(
                started,
                Attempt {
                    credential: "a.json".into(),
                    start_ms: 0,
                    latency_ms: 0,
                    status: Some(429),
                    kind: "rate_limit".into(),
                    reason: None,
                    decision: "retried".into(),
                    wait_ms: 0,
                    cooldown_secs: None,
                },
            );
            note_wait(5);
            note_event(&serde_json::json!({"usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4}}));
            note_event(&serde_json::json!({"usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 9}}));
        })
        .await;
        let record = trace.finish();
        assert_eq!(record.model.as_deref(), Some("gemini-2.5-pro"));
        assert_eq!(
            record.key.as_deref(),
            Some(crate::key_id::id_of_key("sk-0123456789abcdef").as_str())
        );
        assert!(record.key_masked.is_none());
        assert_eq!(record.attempts.len(), 1);
        assert_eq!(record.attempts[0].wait_ms, 5);
        assert_eq!(record.tokens.output, 9);
        assert_eq!(record.tokens.input, 3);
        // The retry wait counts as waiting for Google (capped at the request's own time), never as
        // the gateway's own cost.
        assert!(record.upstream_ms > 0.0, "{record:?}");
        assert!(
            record.overhead_ms + record.upstream_ms <= record.duration_ms as f64 + 1.0,
            "{record:?}"
        );
    }
}
