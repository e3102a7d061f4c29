//! The one mapping from failures to what clients see. Every failure is an [`ErrorKind`]; one table
//! ([`ErrorKind::spec`]) gives its HTTP status, OpenAI `type`/`code`, Google `status` and Anthropic `type`,
//! and one renderer per [`ErrorStyle`] ([`ApiError::render`]) builds the body — for HTTP answers and for
//! error events inside a stream alike. Bodies carry client-safe text only; the cause chain goes to the log.
//!
//! An error does not know whom it answers: each client API scope of the route table names its style
//! once, and `routes::error_style` renders every error answered below it in that style.
//!
//! Shapes:
//! - OpenAI: `{"error":{"message","type","code"}}`
//! - Google: `{"error":{"code","message","status"}}` (Google's own error body is relayed as it came)
//! - Anthropic: `{"type":"error","error":{"type","message"}}`

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

/// Which error body shape a route speaks. Registered as app data by each client API scope
/// (`routes::configure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    OpenAi,
    Google,
    Anthropic,
}

impl ErrorStyle {
    /// Where no scope names a style: the panel, probes and unknown paths outside the client APIs.
    pub const UNSCOPED: Self = Self::Google;
}

/// What went wrong, in the client's terms. Each kind has exactly one row in [`ErrorKind::spec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request cannot be used as sent.
    BadRequest,
    /// 400: a remote-compaction blob this gateway did not seal, or one that was changed.
    InvalidEncryptedContent,
    /// 401: no or a wrong password / key.
    Unauthenticated,
    /// 403: the caller is known but may not do this (unknown/expired key, model not allowed).
    Forbidden,
    /// 404
    NotFound,
    /// 404: no credential of the pool serves the requested model.
    ModelNotFound,
    /// 404: no stored response has the id the client asked for (`GET /v1/responses/{id}`).
    ResponseNotFound,
    /// 404: the `previous_response_id` of a new response names no stored response.
    PreviousResponseNotFound,
    /// 405
    MethodNotAllowed,
    /// 408: the client took too long to send the request.
    RequestTimeout,
    /// 413
    PayloadTooLarge,
    /// 415: a body type the route does not take (a panel route sent a form or plain text).
    UnsupportedMediaType,
    /// 429: too many requests (logins, concurrent requests, Google's own rate limit).
    RateLimited,
    /// 429: every credential is cooling down for this model.
    ModelCooldown,
    /// 429: Google refused this request itself on several healthy credentials (its content, not the
    /// accounts' quota).
    ContentRejected,
    /// 429: the caller's key has spent its quota.
    InsufficientQuota,
    /// 429: the caller's key has used up a limit per time window.
    KeyWindowExhausted,
    /// 500
    Internal,
    /// 501
    NotImplemented,
    /// 502: Google could not be reached or answered something unreadable.
    BadGateway,
    /// 503: no credential can serve the request, or an actor is not answering.
    Unavailable,
    /// 504: Google did not answer in time.
    GatewayTimeout,
    /// Google's own error, relayed with the status Google gave.
    Upstream(u16),
}

/// OpenAI's `error.code`: a fixed string, or the HTTP status as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenAiCode {
    Text(&'static str),
    Status,
}

/// OpenAI's `error.param`: left out (most rows), or present as OpenAI's own API answers it — `null`,
/// or the name of the request field at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenAiParam {
    Omitted,
    Null,
    Field(&'static str),
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSpec {
    pub status: u16,
    pub openai_type: &'static str,
    pub openai_code: OpenAiCode,
    pub openai_param: OpenAiParam,
    pub google_status: &'static str,
    pub anthropic_type: &'static str,
    /// The `code` of a Responses API failure (`response.failed`, an `error` event): OpenAI's own,
    /// coarser vocabulary for what went wrong with a response.
    pub responses_code: &'static str,
}

impl KindSpec {
    const fn with_param(self, openai_param: OpenAiParam) -> Self {
        Self {
            openai_param,
            ..self
        }
    }
}

const fn row(
    status: u16,
    openai_type: &'static str,
    openai_code: OpenAiCode,
    google_status: &'static str,
    anthropic_type: &'static str,
    responses_code: &'static str,
) -> KindSpec {
    KindSpec {
        status,
        openai_type,
        openai_code,
        openai_param: OpenAiParam::Omitted,
        google_status,
        anthropic_type,
        responses_code,
    }
}

impl ErrorKind {
    /// The table.
    pub fn spec(self) -> KindSpec {
        use OpenAiCode::{Status as Num, Text};
        match self {
            Self::BadRequest => row(
                400,
                "invalid_request_error",
                Num,
                "INVALID_ARGUMENT",
                "invalid_request_error",
                "invalid_request_error",
            ),
            Self::InvalidEncryptedContent => row(
                400,
                "invalid_request_error",
                Text("invalid_encrypted_content"),
                "INVALID_ARGUMENT",
                "invalid_request_error",
                "invalid_request_error",
            ),
            Self::Unauthenticated => row(
                401,
                "authentication_error",
                Text("invalid_api_key"),
                "UNAUTHENTICATED",
                "authentication_error",
                "permission_denied",
            ),
            Self::Forbidden => row(
                403,
                "permission_error",
                Num,
                "PERMISSION_DENIED",
                "permission_error",
                "permission_denied",
            ),
            Self::NotFound => row(
                404,
                "not_found_error",
                Num,
                "NOT_FOUND",
                "not_found_error",
                "invalid_request_error",
            ),
            // OpenAI's own answer for a model it does not have.
            Self::ModelNotFound => row(
                404,
                "invalid_request_error",
                Text("model_not_found"),
                "NOT_FOUND",
                "not_found_error",
                "invalid_request_error",
            ),
            // OpenAI's own answers for a stored response it does not have.
            Self::ResponseNotFound => row(
                404,
                "invalid_request_error",
                Text("response_not_found"),
                "NOT_FOUND",
                "not_found_error",
                "invalid_request_error",
            )
            .with_param(OpenAiParam::Null),
            Self::PreviousResponseNotFound => row(
                404,
                "invalid_request_error",
                Text("previous_response_not_found"),
                "NOT_FOUND",
                "not_found_error",
                "invalid_request_error",
            )
            .with_param(OpenAiParam::Field("previous_response_id")),
            Self::MethodNotAllowed => row(
                405,
                "invalid_request_error",
                Num,
                "METHOD_NOT_ALLOWED",
                "invalid_request_error",
                "server_error",
            ),
            Self::RequestTimeout => row(
                408,
                "invalid_request_error",
                Num,
                "DEADLINE_EXCEEDED",
                "invalid_request_error",
                "server_error",
            ),
            Self::PayloadTooLarge => row(
                413,
                "invalid_request_error",
                Num,
                "PAYLOAD_TOO_LARGE",
                "request_too_large",
                "invalid_request_error",
            ),
            Self::UnsupportedMediaType => row(
                415,
                "invalid_request_error",
                Num,
                "INVALID_ARGUMENT",
                "invalid_request_error",
                "server_error",
            ),
            Self::RateLimited => row(
                429,
                "rate_limit_error",
                Text("rate_limit_exceeded"),
                "RESOURCE_EXHAUSTED",
                "rate_limit_error",
                "rate_limit_exceeded",
            ),
            Self::ModelCooldown => row(
                429,
                "rate_limit_error",
                Text("model_cooldown"),
                "RESOURCE_EXHAUSTED",
                "rate_limit_error",
                "rate_limit_exceeded",
            ),
            Self::ContentRejected => row(
                429,
                "rate_limit_error",
                Text("upstream_rejected_content"),
                "RESOURCE_EXHAUSTED",
                "rate_limit_error",
                "rate_limit_exceeded",
            ),
            Self::InsufficientQuota => row(
                429,
                "insufficient_quota",
                Text("insufficient_quota"),
                "RESOURCE_EXHAUSTED",
                "rate_limit_error",
                "rate_limit_exceeded",
            ),
            Self::Internal => row(
                500,
                "api_error",
                Num,
                "INTERNAL",
                "api_error",
                "server_error",
            ),
            Self::NotImplemented => row(
                501,
                "api_error",
                Num,
                "UNIMPLEMENTED",
                "api_error",
                "server_error",
            ),
            Self::BadGateway => row(
                502,
                "api_error",
                Num,
                "INTERNAL",
                "api_error",
                "server_error",
            ),
            Self::Unavailable => row(
                503,
                "api_error",
                Num,
                "UNAVAILABLE",
                "overloaded_error",
                "server_error",
            ),
            Self::GatewayTimeout => row(
                504,
                "api_error",
                Num,
                "DEADLINE_EXCEEDED",
                "api_error",
                "server_error",
            ),
            Self::KeyWindowExhausted => row(
                429,
                "rate_limit_error",
                Text("key_window_exhausted"),
                "RESOURCE_EXHAUSTED",
                "rate_limit_error",
                "rate_limit_exceeded",
            ),
            Self::Upstream(status) => {
                // Google's status picks the row of the kind it means; the status itself is kept.
                let like = Self::closest(status).spec();
                KindSpec { status, ..like }
            }
        }
    }

    /// The kind a bare HTTP status stands for (used for Google's statuses).
    pub fn closest(status: u16) -> Self {
        match status {
            401 => Self::Unauthenticated,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            408 => Self::RequestTimeout,
            413 => Self::PayloadTooLarge,
            415 => Self::UnsupportedMediaType,
            429 => Self::RateLimited,
            501 => Self::NotImplemented,
            502 => Self::BadGateway,
            503 => Self::Unavailable,
            504 => Self::GatewayTimeout,
            400..=499 => Self::BadRequest,
            _ => Self::Internal,
        }
    }

    pub fn status(self) -> StatusCode {
        StatusCode::from_u16(self.spec().status).unwrap_or(StatusCode::BAD_GATEWAY)
    }
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// `None`: the style of the scope that answers. Set only where an answer speaks another dialect
    /// than its route's scope (see [`with_style`](Self::with_style)).
    pub style: Option<ErrorStyle>,
    /// An upstream Google error body forwarded as it came (already in Google's shape).
    pub upstream_body: Option<Value>,
    /// Seconds after which a retry may succeed; sent as `Retry-After` on 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            style: None,
            upstream_body: None,
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn too_many(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::RateLimited, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// An actor did not answer (its mailbox is closed or full): the service is unavailable for now.
    pub fn actor_unavailable(what: &str) -> Self {
        Self::unavailable(format!("{what} is not answering"))
    }

    /// [`actor_unavailable`](Self::actor_unavailable) for `.map_err` on an actor `send`:
    /// `addr.send(msg).await.map_err(ApiError::mailbox("the quota service"))?`.
    pub fn mailbox<E>(what: &'static str) -> impl FnOnce(E) -> Self {
        move |_| Self::actor_unavailable(what)
    }

    /// An upstream HTTP error answered to the client with the upstream status.
    pub fn upstream(status: u16, body: Option<Value>, fallback: &str) -> Self {
        // Only an error status can be relayed; anything else means Google's answer made no sense.
        let status = if (400..600).contains(&status) {
            status
        } else {
            502
        };
        let message = body
            .as_ref()
            .and_then(|b| b.pointer("/error/message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| fallback.to_string());
        Self {
            kind: ErrorKind::Upstream(status),
            message,
            style: None,
            upstream_body: body.filter(|b| b.pointer("/error/code").is_some()),
            retry_after: None,
        }
    }

    /// Renders in `style` whatever scope answers: for an answer in another dialect than its route's
    /// scope (Anthropic clients at a shared path, a dialect served from a route of its own).
    pub fn with_style(mut self, style: ErrorStyle) -> Self {
        self.style = Some(style);
        self
    }

    /// The style this error is answered in below a scope speaking `scope`.
    pub fn style_under(&self, scope: ErrorStyle) -> ErrorStyle {
        self.style.unwrap_or(scope)
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The JSON body in the error's own style, Google's when it has none.
    pub fn body(&self) -> Value {
        self.render(self.style_under(ErrorStyle::UNSCOPED))
    }

    /// The JSON body in `style`: the one renderer for HTTP answers and in-stream error events.
    pub fn render(&self, style: ErrorStyle) -> Value {
        let spec = self.kind.spec();
        match style {
            ErrorStyle::OpenAi => {
                let mut error = json!({
                    "message": self.message,
                    "type": spec.openai_type,
                    "code": match spec.openai_code {
                        OpenAiCode::Text(code) => json!(code),
                        OpenAiCode::Status => json!(spec.status),
                    },
                });
                let param = match spec.openai_param {
                    OpenAiParam::Omitted => None,
                    OpenAiParam::Null => Some(Value::Null),
                    OpenAiParam::Field(name) => Some(json!(name)),
                };
                if let (Some(param), Some(map)) = (param, error.as_object_mut()) {
                    map.insert("param".into(), param);
                }
                json!({ "error": error })
            }
            ErrorStyle::Google => match &self.upstream_body {
                Some(body) => body.clone(),
                None => google_body(spec.status, &self.message, spec.google_status),
            },
            ErrorStyle::Anthropic => json!({
                "type": "error",
                "error": {"type": spec.anthropic_type, "message": self.message},
            }),
        }
    }

    /// The whole HTTP answer below a scope speaking `scope`: for answers made where no scope renders
    /// them (a Responses WebSocket turn).
    pub fn response_in(&self, scope: ErrorStyle) -> HttpResponse {
        let status = self.status();
        let mut builder = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        // Every 429 tells the client when to come back: one second when nothing better is known.
        let retry_after = match self.retry_after {
            None if status == StatusCode::TOO_MANY_REQUESTS => Some(1),
            other => other,
        };
        if let Some(secs) = retry_after {
            if matches!(status.as_u16(), 429 | 503) {
                builder.insert_header((header::RETRY_AFTER, secs.max(1).to_string()));
            }
        }
        builder.json(self.render(self.style_under(scope)))
    }
}

/// Google's error body; the only place it is built.
fn google_body(code: u16, message: &str, status: &str) -> Value {
    json!({"error": {"code": code, "message": message, "status": status}})
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status().as_u16(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    /// The answer outside any scope; `routes::error_style` re-renders the body for a client API scope.
    fn error_response(&self) -> HttpResponse {
        self.response_in(ErrorStyle::UNSCOPED)
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
        assert_eq!(e.status().as_u16(), 429);
        assert_eq!(e.body(), body);
        let o = e.with_style(ErrorStyle::OpenAi);
        assert_eq!(o.body()["error"]["message"], "quota");
        assert_eq!(o.body()["error"]["type"], "rate_limit_error");
    }

    #[test]
    fn forbidden_is_a_permission_error_in_every_style() {
        let e = ApiError::forbidden("key expired");
        assert_eq!(
            e.render(ErrorStyle::OpenAi)["error"]["type"],
            "permission_error"
        );
        assert_eq!(
            e.render(ErrorStyle::Anthropic)["error"]["type"],
            "permission_error"
        );
        assert_eq!(
            e.render(ErrorStyle::Google)["error"]["status"],
            "PERMISSION_DENIED"
        );
    }

    #[test]
    fn anthropic_shape_and_types() {
        assert_eq!(
            ApiError::bad_request("no messages").render(ErrorStyle::Anthropic),
            json!({"type":"error","error":{"type":"invalid_request_error","message":"no messages"}})
        );
        let types: Vec<(u16, &str)> = [
            ErrorKind::Unauthenticated,
            ErrorKind::NotFound,
            ErrorKind::PayloadTooLarge,
            ErrorKind::RateLimited,
            ErrorKind::Internal,
            ErrorKind::Unavailable,
        ]
        .iter()
        .map(|k| (k.spec().status, k.spec().anthropic_type))
        .collect();
        assert_eq!(
            types,
            vec![
                (401, "authentication_error"),
                (404, "not_found_error"),
                (413, "request_too_large"),
                (429, "rate_limit_error"),
                (500, "api_error"),
                (503, "overloaded_error"),
            ]
        );
    }

    #[test]
    fn an_unserved_model_is_a_404_in_every_style() {
        let e = ApiError::new(ErrorKind::ModelNotFound, "no such model");
        assert_eq!(e.status().as_u16(), 404);
        assert_eq!(
            e.render(ErrorStyle::OpenAi)["error"]["code"],
            "model_not_found"
        );
        assert_eq!(e.render(ErrorStyle::Google)["error"]["status"], "NOT_FOUND");
        assert_eq!(
            e.render(ErrorStyle::Anthropic)["error"]["type"],
            "not_found_error"
        );
    }

    #[test]
    fn quota_and_cooldown_kinds_name_themselves() {
        let q = ApiError::new(ErrorKind::InsufficientQuota, "spent").render(ErrorStyle::OpenAi);
        assert_eq!(
            q,
            json!({"error":{"message":"spent","type":"insufficient_quota","code":"insufficient_quota"}})
        );
        let c = ApiError::new(ErrorKind::ModelCooldown, "cooling");
        assert_eq!(c.status().as_u16(), 429);
        assert_eq!(
            c.render(ErrorStyle::OpenAi)["error"]["code"],
            "model_cooldown"
        );
        assert_eq!(
            c.render(ErrorStyle::Google)["error"]["status"],
            "RESOURCE_EXHAUSTED"
        );
    }

    #[test]
    fn retry_after_only_on_429_and_503() {
        let r = ApiError::unavailable("busy")
            .with_retry_after(7)
            .error_response();
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), "7");
        let r = ApiError::internal("x").with_retry_after(7).error_response();
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
        // A 429 always says when to come back.
        let r = ApiError::upstream(429, None, "slow down").error_response();
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), "1");
    }

    #[test]
    fn upstream_status_keeps_its_number_and_borrows_the_closest_row() {
        let e = ApiError::upstream(409, None, "conflict");
        assert_eq!(e.status().as_u16(), 409);
        assert_eq!(e.render(ErrorStyle::OpenAi)["error"]["code"], 409);
        assert_eq!(
            e.render(ErrorStyle::OpenAi)["error"]["type"],
            "invalid_request_error"
        );
        assert_eq!(ApiError::upstream(999, None, "x").status().as_u16(), 502);
    }

    #[test]
    fn responses_failure_codes_come_from_the_row() {
        let code = |kind: ErrorKind| kind.spec().responses_code;
        assert_eq!(code(ErrorKind::Forbidden), "permission_denied");
        assert_eq!(code(ErrorKind::Unauthenticated), "permission_denied");
        assert_eq!(code(ErrorKind::NotFound), "invalid_request_error");
        assert_eq!(code(ErrorKind::PayloadTooLarge), "invalid_request_error");
        assert_eq!(code(ErrorKind::Upstream(422)), "invalid_request_error");
        assert_eq!(code(ErrorKind::Upstream(429)), "rate_limit_exceeded");
        assert_eq!(code(ErrorKind::InsufficientQuota), "rate_limit_exceeded");
        assert_eq!(code(ErrorKind::GatewayTimeout), "server_error");
        assert_eq!(code(ErrorKind::Upstream(500)), "server_error");
    }

    #[test]
    fn a_missing_stored_response_answers_as_openai_does() {
        let e = ApiError::new(
            ErrorKind::ResponseNotFound,
            "Response with id 'r' not found.",
        );
        assert_eq!(e.status().as_u16(), 404);
        assert_eq!(
            e.render(ErrorStyle::OpenAi),
            json!({"error":{"message":"Response with id 'r' not found.","type":"invalid_request_error","param":null,"code":"response_not_found"}})
        );
        let previous = ApiError::new(ErrorKind::PreviousResponseNotFound, "gone");
        assert_eq!(
            previous.render(ErrorStyle::OpenAi)["error"]["param"],
            "previous_response_id"
        );
        assert_eq!(
            previous.render(ErrorStyle::OpenAi)["error"]["code"],
            "previous_response_not_found"
        );
        // Other rows keep OpenAI's short shape, without `param`.
        assert!(ApiError::not_found("x").render(ErrorStyle::OpenAi)["error"]
            .get("param")
            .is_none());
    }
}
