//! Scripts for what the fake answers: Code Assist replies, token replies and the onboarding state.

use std::time::Duration;

use serde_json::{json, Value};

/// One scripted answer to a `generateContent` / `streamGenerateContent` call.
///
/// Built with the constructors and chained modifiers; modifiers that make no sense for the kind of
/// reply (e.g. `with_thought` on an error) are ignored so scripts stay short.
#[derive(Clone, Debug)]
pub struct Reply {
    pub(crate) body: ReplyBody,
    pub(crate) delay: Duration,
    pub(crate) interval: Duration,
    pub(crate) cut_after: Option<usize>,
    pub(crate) stamp_send_time: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum ReplyBody {
    Answer(Answer),
    Error { status: u16, body: Value },
    Raw(Vec<RawEvent>),
}

#[derive(Clone, Debug)]
pub(crate) struct Answer {
    /// Text pieces; each becomes one stream event. Empty pieces are skipped.
    pub(crate) chunks: Vec<String>,
    pub(crate) thought: Option<String>,
    pub(crate) function_calls: Vec<FunctionCall>,
    pub(crate) finish_reason: String,
    pub(crate) usage: Option<Value>,
}

#[derive(Clone, Debug)]
pub(crate) struct FunctionCall {
    pub(crate) name: String,
    pub(crate) args: Value,
    pub(crate) signature: Option<String>,
}

/// One raw stream event: an unwrapped response (sent as `data: {"response": ..}` + blank line) or a
/// string written to the wire exactly as given (the caller supplies `data:` prefixes and line ends).
#[derive(Clone, Debug)]
pub enum RawEvent {
    Response(Value),
    Verbatim(String),
}

impl From<Value> for RawEvent {
    fn from(value: Value) -> Self {
        RawEvent::Response(value)
    }
}

impl From<&str> for RawEvent {
    fn from(text: &str) -> Self {
        RawEvent::Verbatim(text.to_owned())
    }
}

impl From<String> for RawEvent {
    fn from(text: String) -> Self {
        RawEvent::Verbatim(text)
    }
}

impl Reply {
    fn from_body(body: ReplyBody) -> Self {
        Reply {
            body,
            delay: Duration::ZERO,
            interval: Duration::ZERO,
            cut_after: None,
            stamp_send_time: false,
        }
    }

    /// A normal answer; streamed as a single text event unless `.chunks(n)` is applied.
    pub fn text(text: impl Into<String>) -> Self {
        Self::stream_chunks(vec![text.into()])
    }

    /// A normal answer whose stream carries exactly these text pieces, one per event.
    pub fn stream_chunks<S: Into<String>>(chunks: impl IntoIterator<Item = S>) -> Self {
        Self::from_body(ReplyBody::Answer(Answer {
            chunks: chunks.into_iter().map(Into::into).collect(),
            thought: None,
            function_calls: Vec::new(),
            finish_reason: "STOP".to_owned(),
            usage: None,
        }))
    }

    /// An answer made only of one function call.
    pub fn function_call(name: &str, args: Value, signature: Option<&str>) -> Self {
        Self::stream_chunks(Vec::<String>::new()).with_function_call(name, args, signature)
    }

    /// What the fake answers when nothing is scripted: `Hello from <model>` in three stream events.
    pub fn default_for_model(model: &str) -> Self {
        Self::text(format!("Hello from {model}")).chunks(3)
    }

    /// An HTTP error with the given JSON body, returned before any stream starts.
    pub fn error(status: u16, body: Value) -> Self {
        Self::from_body(ReplyBody::Error { status, body })
    }

    /// An error with Google's usual `{"error":{"code","message","status"}}` body.
    pub fn google_error(status: u16, google_status: &str, message: &str) -> Self {
        Self::error(status, google_error_body(status, google_status, message))
    }

    /// 429 whose `ErrorInfo` detail carries `quotaResetTimeStamp` (RFC 3339), as Code Assist sends
    /// when a model's quota is spent.
    pub fn quota_exhausted_until(reset_rfc3339: &str) -> Self {
        Self::error(
            429,
            json!({"error": {
                "code": 429,
                "message": "You have exhausted your capacity on this model. Your quota will reset later.",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                     "reason": "QUOTA_EXHAUSTED",
                     "domain": "cloudcode-pa.googleapis.com",
                     "metadata": {"uiMessage": "true", "quotaResetTimeStamp": reset_rfc3339}}
                ]
            }}),
        )
    }

    /// 429 carrying only a `RetryInfo.retryDelay` such as `"47.5s"`.
    pub fn retry_delay(delay: &str) -> Self {
        Self::error(
            429,
            json!({"error": {
                "code": 429,
                "message": "Quota exceeded for this model.",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}
                ]
            }}),
        )
    }

    /// Google's plain 429: no reason, no hint (the gateway backs off for a few seconds).
    pub fn resource_exhausted() -> Self {
        Self::google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
        )
    }

    pub fn forbidden() -> Self {
        Self::google_error(
            403,
            "PERMISSION_DENIED",
            "The caller does not have permission",
        )
    }

    pub fn internal_error() -> Self {
        Self::google_error(500, "INTERNAL", "Internal error encountered.")
    }

    pub fn unavailable() -> Self {
        Self::google_error(
            503,
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.",
        )
    }

    /// Stream events given verbatim, to exercise SSE parsers. A non-stream call answers with the
    /// first event: a response value wrapped in the envelope, or a string sent as the whole body.
    pub fn raw_events<E: Into<RawEvent>>(events: impl IntoIterator<Item = E>) -> Self {
        Self::from_body(ReplyBody::Raw(events.into_iter().map(Into::into).collect()))
    }

    /// Re-splits the answer text into `n` stream events of nearly equal length.
    pub fn chunks(mut self, n: usize) -> Self {
        if let ReplyBody::Answer(answer) = &mut self.body {
            let text: String = answer.chunks.concat();
            answer.chunks = split_text(&text, n);
        }
        self
    }

    pub fn with_thought(mut self, thought: impl Into<String>) -> Self {
        if let ReplyBody::Answer(answer) = &mut self.body {
            answer.thought = Some(thought.into());
        }
        self
    }

    pub fn with_function_call(mut self, name: &str, args: Value, signature: Option<&str>) -> Self {
        if let ReplyBody::Answer(answer) = &mut self.body {
            answer.function_calls.push(FunctionCall {
                name: name.to_owned(),
                args,
                signature: signature.map(str::to_owned),
            });
        }
        self
    }

    pub fn finish_reason(mut self, reason: &str) -> Self {
        if let ReplyBody::Answer(answer) = &mut self.body {
            reason.clone_into(&mut answer.finish_reason);
        }
        self
    }

    /// Replaces the computed `usageMetadata` of the answer.
    pub fn usage(mut self, usage: Value) -> Self {
        if let ReplyBody::Answer(answer) = &mut self.body {
            answer.usage = Some(usage);
        }
        self
    }

    /// Pause before the response head is sent.
    pub fn delay_ms(mut self, ms: u64) -> Self {
        self.delay = Duration::from_millis(ms);
        self
    }

    /// Pause between stream events.
    pub fn interval_ms(mut self, ms: u64) -> Self {
        self.interval = Duration::from_millis(ms);
        self
    }

    /// In streams, every [`SEND_TIME_MARK`] in an event is replaced, as the event is handed to the
    /// connection, by the wall-clock time in nanoseconds since the Unix epoch (same width), so a
    /// client can tell how long each event took to reach it.
    pub fn stamp_send_time(mut self) -> Self {
        self.stamp_send_time = true;
        self
    }

    /// Close the connection abruptly after `k` stream events (for a non-stream call: after half
    /// of the body), with no clean end of the chunked body.
    pub fn cut_after(mut self, k: usize) -> Self {
        self.cut_after = Some(k);
        self
    }
}

/// Placeholder replaced by the send time in stamped streams: 20 characters, the width of any
/// `u64` nanosecond count written zero-padded.
pub const SEND_TIME_MARK: &str = "@@@@@@@@@@@@@@@@@@@@";

/// Google's common error body.
pub(crate) fn google_error_body(status: u16, google_status: &str, message: &str) -> Value {
    json!({"error": {"code": status, "message": message, "status": google_status}})
}

/// Splits on char boundaries into at most `n` pieces; never yields empty pieces for non-empty text.
fn split_text(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if n <= 1 || chars.len() <= 1 {
        return vec![text.to_owned()];
    }
    let size = chars.len().div_ceil(n);
    chars
        .chunks(size)
        .map(|piece| piece.iter().collect())
        .collect()
}

/// Scripted answer of the OAuth token endpoint for one refresh token (persistent until replaced).
#[derive(Clone, Debug)]
pub enum TokenReply {
    /// Issue `at-<refresh>-<n>` valid for 3600 s (what happens when nothing is scripted).
    Ok,
    /// Issue a token with this `expires_in`.
    ExpiresIn(u64),
    /// 400 `invalid_grant` "Token has been expired or revoked."
    InvalidGrant,
    /// This status with a Google OAuth error body.
    Status(u16),
    /// Wait, then issue a token normally.
    Delay(u64),
    /// Any status and body.
    Json(u16, Value),
}

/// Scripted `loadCodeAssist` state of the (single) account the fake plays.
#[derive(Clone, Debug)]
pub enum LoadCodeAssist {
    /// `currentTier` present; `cloudaicompanionProject` is this project.
    AlreadyOnboarded { project: String },
    /// No `currentTier`; `onboardUser` starts an operation that reports done (with this project)
    /// after `polls_until_done` further polls (an operation GET or a repeated `onboardUser`).
    NeedsOnboarding {
        project: String,
        polls_until_done: usize,
    },
    /// Any status and body for `loadCodeAssist`.
    Json(u16, Value),
}

impl Default for LoadCodeAssist {
    fn default() -> Self {
        LoadCodeAssist::AlreadyOnboarded {
            project: "fake-project".to_owned(),
        }
    }
}
