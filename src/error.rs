//! One mapping from failures to HTTP. OpenAI routes answer `{"error":{"message","type","code"}}`, Gemini
//! and panel routes answer Google's `{"error":{"code","message","status"}}`. Bodies carry client-safe text
//! only; the cause chain goes to the log.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

/// Which error body shape a route speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    OpenAi,
    Google,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub style: ErrorStyle,
    /// An upstream Google error body forwarded as it came (already in Google's shape).
    pub upstream_body: Option<Value>,
    pub retry_after: Option<u64>,
    /// OpenAI's `error.type` when the status alone does not say it (e.g. `insufficient_quota`).
    pub openai_type: Option<&'static str>,
    /// OpenAI's `error.code` when it differs from the type (e.g. `model_cooldown`).
    pub openai_code: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            style: ErrorStyle::Google,
            upstream_body: None,
            retry_after: None,
            openai_type: None,
            openai_code: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn too_many(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// An upstream HTTP error answered to the client with the upstream status.
    pub fn upstream(status: u16, body: Option<Value>, fallback: &str) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        let message = body
            .as_ref()
            .and_then(|b| b.pointer("/error/message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| fallback.to_string());
        Self {
            status,
            message,
            style: ErrorStyle::Google,
            upstream_body: body.filter(|b| b.pointer("/error/code").is_some()),
            retry_after: None,
            openai_type: None,
            openai_code: None,
        }
    }

    pub fn with_style(mut self, style: ErrorStyle) -> Self {
        self.style = style;
        self
    }

    pub fn with_openai_type(mut self, kind: &'static str) -> Self {
        self.openai_type = Some(kind);
        self
    }

    pub fn with_openai_code(mut self, code: &'static str) -> Self {
        self.openai_code = Some(code);
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The JSON body in the requested style.
    pub fn body(&self) -> Value {
        match self.style {
            ErrorStyle::OpenAi => json!({"error": {
                "message": self.message,
                "type": self.openai_type.unwrap_or_else(|| openai_type(self.status)),
                "code": self
                    .openai_code
                    .or(self.openai_type)
                    .map_or_else(|| openai_code(self.status), |c| json!(c)),
            }}),
            ErrorStyle::Google => match &self.upstream_body {
                Some(body) => body.clone(),
                None => json!({"error": {
                    "code": self.status.as_u16(),
                    "message": self.message,
                    "status": google_status(self.status),
                }}),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        // Every 429 tells the client when to come back; one second when nothing better is known.
        let retry_after = match self.retry_after {
            None if self.status == StatusCode::TOO_MANY_REQUESTS => Some(1),
            other => other,
        };
        if let Some(secs) = retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.max(1).to_string()));
        }
        builder.json(self.body())
    }
}

fn openai_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 | 403 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

fn openai_code(status: StatusCode) -> Value {
    match status.as_u16() {
        401 => json!("invalid_api_key"),
        429 => json!("rate_limit_exceeded"),
        code => json!(code),
    }
}

/// Google's canonical status names, as Google's own error bodies use them.
pub fn google_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        409 => "ALREADY_EXISTS",
        413 => "PAYLOAD_TOO_LARGE",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        code if (400..500).contains(&code) => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_and_google_shapes() {
        let e = ApiError::unauthorized("missing key").with_style(ErrorStyle::OpenAi);
        assert_eq!(
            e.body(),
            json!({"error":{"message":"missing key","type":"authentication_error","code":"invalid_api_key"}})
        );
        let g = ApiError::bad_request("bad").with_style(ErrorStyle::Google);
        assert_eq!(
            g.body(),
            json!({"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}})
        );
    }

    #[test]
    fn upstream_body_is_forwarded_in_google_style() {
        let body = json!({"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}});
        let e = ApiError::upstream(429, Some(body.clone()), "x");
        assert_eq!(e.status.as_u16(), 429);
        assert_eq!(e.body(), body);
        let o = e.with_style(ErrorStyle::OpenAi);
        assert_eq!(o.body()["error"]["message"], "quota");
        assert_eq!(o.body()["error"]["type"], "rate_limit_error");
    }
}
