use serde_json::Value;

/// A failed call to Google, classified for the retry loop.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// Google answered with a non-2xx status.
    #[error("upstream answered HTTP {status}")]
    Status { status: u16, body: Option<Value> },
    #[error("upstream timed out")]
    Timeout,
    #[error("upstream connection failed: {0}")]
    Network(String),
    /// The stream ended without a finish reason: the connection was cut mid-answer.
    #[error("upstream stream ended before the answer was complete")]
    Cut,
    /// The gateway is stopping and ended the stream (its `SHUTDOWN_TIMEOUT` ran out).
    #[error("the gateway is shutting down")]
    Stopping,
    /// A 2xx answer we could not read (bad JSON, broken SSE).
    #[error("upstream answer could not be read: {0}")]
    Protocol(String),
}

impl UpstreamError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn body(&self) -> Option<&Value> {
        match self {
            Self::Status { body, .. } => body.as_ref(),
            _ => None,
        }
    }

    /// Google's error message, if it sent one.
    pub fn message(&self) -> String {
        self.body()
            .and_then(|b| b.pointer("/error/message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| self.to_string())
    }
}

impl UpstreamError {
    /// Google sometimes answers 2xx (or mid-stream) with `{"error":{"code":…}}`: that is a failure
    /// with the status it carries.
    pub fn from_error_body(body: Value) -> Result<Value, UpstreamError> {
        let Some(err) = body.get("error") else {
            return Ok(body);
        };
        let status = err
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(500);
        Err(UpstreamError::Status {
            status,
            body: Some(body),
        })
    }
}

impl From<awc::error::SendRequestError> for UpstreamError {
    fn from(e: awc::error::SendRequestError) -> Self {
        match e {
            awc::error::SendRequestError::Timeout => Self::Timeout,
            other => Self::Network(other.to_string()),
        }
    }
}

impl From<awc::error::PayloadError> for UpstreamError {
    fn from(e: awc::error::PayloadError) -> Self {
        Self::Network(e.to_string())
    }
}
