//! The Responses API over a WebSocket: `GET /v1/responses` with an upgrade (Codex with
//! `supports_websockets = true`, header `OpenAI-Beta: responses_websockets=2026-02-06`).
//!
//! - The handshake authenticates like `POST /v1/responses` (401/403 before any upgrade) and takes a
//!   place under `RESPONSES_WS_MAX_CONNECTIONS` (503 past it).
//! - Each text frame `{"type": "response.create", …a Responses request body…}` is answered by the same
//!   code as the HTTP route (`responses::respond`, hence `gateway::serve`: keys, quotas, costs,
//!   allow-lists, errors), always as a stream: every event of the SSE stream is one JSON text frame.
//!   A failure before the stream is an `error` event carrying the HTTP status and the Responses error
//!   body: `{"type": "error", "status": 429, "error": {"message", "type", "code"}}`.
//! - One response at a time per connection; a `response.create` during another is refused with an
//!   `error` event. `response.processed` acknowledgements are accepted and ignored.
//! - The connection remembers its latest responses, so `previous_response_id` can name one of them
//!   even with `store: false`; a warm-up (`generate: false`) is answered with an empty completed
//!   response, without calling Google or charging the key.
//! - A connection is closed after `RESPONSES_WS_IDLE_TIMEOUT` seconds without a request, and at the
//!   latest after 60 minutes (with an `error` event `websocket_connection_limit_reached` first, on
//!   which Codex opens a new connection).
//! - Each `response.create` is observed like an HTTP request (access line `WS /v1/responses`, request
//!   history, `gcli2api_requests_total`), and `/metrics` counts connections and frames
//!   (`gcli2api_responses_ws_connections`, `gcli2api_responses_ws_events_total`).
//!
//! A connection is an actor (`actix-web-actors`); its responses run as streams of that actor, on the
//! worker that accepted the connection (whose awc client they use).

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::body::MessageBody;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, LocalBoxStream, StreamExt};
use serde_json::{json, Value};

use super::observing::{new_request_id, observe_turn, TracedBody};
use super::responses::{respond, LocalResponses, Turn};
use crate::auth::caller_check::authorize_api;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorKind, ErrorStyle};
use crate::observe::socket_gate::SocketPass;
use crate::observe::trace::{note_caller, Trace};
use crate::state::{AppState, UpstreamClient};

/// The socket's frames and turns are answered here, not through the route scope's rendering
/// (`error_style`), so they name the scope's style themselves.
const STYLE: ErrorStyle = ErrorStyle::OpenAi;
const MIB: u64 = 1024 * 1024;
/// The longest a connection lives (OpenAI's limit, which Codex expects).
const MAX_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// How often the connection checks its timers and pings the client.
const TICK: Duration = Duration::from_secs(5);
const PING_EVERY: Duration = Duration::from_secs(30);
/// Route label of the turns in metrics, the history and the access line.
const ROUTE: &str = "/v1/responses";
/// Largest error body read to turn a failed turn into an `error` event.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// One event of a turn, as the text of one frame.
struct TurnFrame(String);

/// One Responses WebSocket connection.
pub struct ResponsesSocket {
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    /// The handshake request: its headers name the session (`x-session-id`) like an HTTP request's.
    req: HttpRequest,
    caller: ApiCaller,
    local: LocalResponses,
    /// A response is being answered.
    busy: bool,
    opened: Instant,
    /// The end of the last response (or the opening): the idle timeout counts from here.
    last_done: Instant,
    last_ping: Instant,
    idle_timeout: Duration,
    /// A fragmented text message being assembled.
    partial: Option<BytesMut>,
    max_message: usize,
    _pass: SocketPass,
}

impl ResponsesSocket {
    fn count(&self, event: &str) {
        self.state
            .metrics
            .responses_ws_events
            .with_label_values(&[event])
            .inc();
    }

    /// An `error` event in the Responses shape, with the HTTP status the same failure has over HTTP.
    fn send_error(&self, ctx: &mut ws::WebsocketContext<Self>, err: &ApiError) {
        self.count("error");
        ctx.text(error_event(err.status().as_u16(), err.render(STYLE)).to_string());
    }

    fn close(ctx: &mut ws::WebsocketContext<Self>, code: ws::CloseCode, why: &str) {
        ctx.close(Some(ws::CloseReason {
            code,
            description: Some(why.into()),
        }));
        ctx.stop();
    }

    fn tick(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let now = Instant::now();
        if !self.busy && now.duration_since(self.opened) >= MAX_LIFETIME {
            let err = ApiError::bad_request(
                "Responses websocket connection limit reached (60 minutes). Create a new websocket \
                 connection to continue.",
            );
            self.count("error");
            let mut event = error_event(400, err.render(STYLE));
            if let Some(error) = event.get_mut("error").and_then(Value::as_object_mut) {
                error.insert("code".into(), json!("websocket_connection_limit_reached"));
            }
            ctx.text(event.to_string());
            log::info!("responses websocket closed after 60 minutes");
            Self::close(
                ctx,
                ws::CloseCode::Normal,
                "connection limit reached (60 minutes)",
            );
            return;
        }
        if !self.busy && now.duration_since(self.last_done) >= self.idle_timeout {
            log::info!(
                "responses websocket closed after {} s without a request",
                self.idle_timeout.as_secs()
            );
            Self::close(ctx, ws::CloseCode::Normal, "idle timeout");
            return;
        }
        if now.duration_since(self.last_ping) >= PING_EVERY {
            self.last_ping = now;
            ctx.ping(b"");
        }
    }

    fn on_message(&mut self, text: &[u8], ctx: &mut ws::WebsocketContext<Self>) {
        self.count("frame");
        if let Err(err) = super::body::check_containers(text) {
            return self.send_error(ctx, &err);
        }
        let mut json: Value = match serde_json::from_slice(text) {
            Ok(value @ Value::Object(_)) => value,
            _ => {
                let err = ApiError::bad_request("a frame must be one JSON object");
                return self.send_error(ctx, &err);
            }
        };
        let kind = json
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match kind.as_str() {
            "response.create" => {}
            // Codex acknowledges each response it has read; nothing to do.
            "response.processed" => return,
            other => {
                let err = ApiError::bad_request(format!(
                    "unknown frame type \"{other}\" (expected response.create)"
                ));
                return self.send_error(ctx, &err);
            }
        }
        if self.busy {
            let err = ApiError::bad_request(
                "a response is already in progress on this connection; send the next \
                 response.create after its response.completed",
            );
            return self.send_error(ctx, &err);
        }
        if let Value::Object(body) = &mut json {
            body.remove("type");
            // Events stream whether or not the body asks for it.
            body.insert("stream".into(), Value::Bool(true));
        }
        let warm_up = json.get("generate").and_then(Value::as_bool) == Some(false);
        self.count(if warm_up { "warmup" } else { "response" });
        let turn = Turn {
            settings: self.state.settings.current(),
            caller: self.caller.clone(),
            json,
            local: Some(self.local.clone()),
        };
        self.busy = true;
        ctx.add_stream(turn_frames(
            self.req.clone(),
            self.state.clone(),
            self.client.clone(),
            turn,
        ));
    }
}

/// `{"type": "error", "status": …, "error": {…}}` from an OpenAI-style error body.
fn error_event(status: u16, body: Value) -> Value {
    let error = match body {
        Value::Object(mut map) => map.remove("error").unwrap_or(Value::Object(map)),
        other => json!({"message": other.to_string(), "type": "api_error", "code": null}),
    };
    json!({"type": "error", "status": status, "error": error})
}

/// Runs one turn as `respond` does for HTTP, inside a trace of its own, and gives its events as frames.
fn turn_frames(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    turn: Turn,
) -> LocalBoxStream<'static, TurnFrame> {
    let answered = async move {
        let trace = Trace::new(new_request_id(), state.clock.now(), "WS", ROUTE);
        let key = match &turn.caller {
            ApiCaller::Key(key) => Some(key.clone()),
            ApiCaller::Password => None,
        };
        let result = trace
            .clone()
            .scope(async {
                note_caller(key.as_deref());
                respond(&req, &state, &client, turn).await
            })
            .await;
        let response = result.unwrap_or_else(|e| e.response_in(STYLE));
        let status = response.status();
        let body = observe_turn(&state, trace, ROUTE, status.as_u16(), response.into_body());
        if status.is_success() {
            sse_frames(body)
        } else {
            failure_frame(status.as_u16(), body)
        }
    };
    stream::once(answered).flatten().boxed_local()
}

/// A failed turn's JSON error body as one `error` event.
fn failure_frame(status: u16, body: TracedBody) -> LocalBoxStream<'static, TurnFrame> {
    let read = async move {
        let bytes = actix_web::body::to_bytes_limited(body, ERROR_BODY_LIMIT)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            ApiError::new(ErrorKind::closest(status), "the request failed").render(STYLE)
        });
        TurnFrame(error_event(status, body).to_string())
    };
    stream::once(read).boxed_local()
}

/// The `data:` payloads of an SSE body, one frame each.
fn sse_frames(body: TracedBody) -> LocalBoxStream<'static, TurnFrame> {
    struct Reading {
        body: Option<Pin<Box<TracedBody>>>,
        buffer: BytesMut,
        ready: VecDeque<String>,
    }
    let start = Reading {
        body: Some(Box::pin(body)),
        buffer: BytesMut::new(),
        ready: VecDeque::new(),
    };
    stream::unfold(start, |mut st| async move {
        loop {
            if let Some(frame) = st.ready.pop_front() {
                return Some((TurnFrame(frame), st));
            }
            let body = st.body.as_mut()?;
            let next = std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await;
            match next {
                Some(Ok(chunk)) => {
                    st.buffer.extend_from_slice(&chunk);
                    st.ready.extend(take_events(&mut st.buffer));
                }
                Some(Err(e)) => {
                    log::warn!("responses websocket: stream ended with an error: {e}");
                    st.body = None;
                }
                None => {
                    st.buffer.extend_from_slice(b"\n\n");
                    st.ready.extend(take_events(&mut st.buffer));
                    st.body = None;
                }
            }
        }
    })
    .boxed_local()
}

/// Takes every complete SSE event off the front of `buffer`, as its joined `data:` lines.
fn take_events(buffer: &mut BytesMut) -> Vec<String> {
    let mut events = Vec::new();
    while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
        let block: Bytes = buffer.split_to(end + 2).freeze();
        let text = String::from_utf8_lossy(&block);
        let data: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|data| data.strip_prefix(' ').unwrap_or(data))
            .collect();
        if data.is_empty() {
            continue;
        }
        let data = data.join("\n");
        if data != "[DONE]" {
            events.push(data);
        }
    }
    events
}

impl Actor for ResponsesSocket {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.count("connection");
        log::info!("responses websocket opened");
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        log::info!(
            "responses websocket closed after {} s",
            self.opened.elapsed().as_secs()
        );
    }
}

impl StreamHandler<TurnFrame> for ResponsesSocket {
    fn handle(&mut self, frame: TurnFrame, ctx: &mut Self::Context) {
        ctx.text(frame.0);
    }

    fn finished(&mut self, _: &mut Self::Context) {
        self.busy = false;
        self.last_done = Instant::now();
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for ResponsesSocket {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Text(text)) => self.on_message(text.as_bytes(), ctx),
            Ok(ws::Message::Continuation(item)) => self.on_fragment(item, ctx),
            Ok(ws::Message::Binary(_)) => {
                let err = ApiError::bad_request("send response.create as a text frame");
                self.send_error(ctx, &err);
            }
            Ok(ws::Message::Ping(bytes)) => ctx.pong(&bytes),
            Ok(ws::Message::Pong(_)) | Ok(ws::Message::Nop) => {}
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Err(e) => {
                log::info!("responses websocket: protocol error: {e}");
                Self::close(ctx, ws::CloseCode::Protocol, "protocol error");
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl ResponsesSocket {
    /// Assembles a fragmented text message, bounded like a request body.
    fn on_fragment(&mut self, item: actix_http::ws::Item, ctx: &mut ws::WebsocketContext<Self>) {
        let (bytes, last) = match item {
            actix_http::ws::Item::FirstText(bytes) => {
                self.partial = Some(BytesMut::new());
                (bytes, false)
            }
            actix_http::ws::Item::FirstBinary(_) => {
                let err = ApiError::bad_request("send response.create as a text frame");
                return self.send_error(ctx, &err);
            }
            actix_http::ws::Item::Continue(bytes) => (bytes, false),
            actix_http::ws::Item::Last(bytes) => (bytes, true),
        };
        let Some(partial) = self.partial.as_mut() else {
            return;
        };
        if partial.len() + bytes.len() > self.max_message {
            self.partial = None;
            let err = ApiError::new(
                ErrorKind::PayloadTooLarge,
                "the message is larger than MAX_REQUEST_BODY_MB",
            );
            return self.send_error(ctx, &err);
        }
        partial.extend_from_slice(&bytes);
        if last {
            if let Some(message) = self.partial.take() {
                self.on_message(&message, ctx);
            }
        }
    }
}

/// `GET /v1/responses`: authenticates, takes a place under the connection cap and upgrades.
pub async fn connect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
) -> Result<HttpResponse, ApiError> {
    let caller = authorize_api(&req, &state, None).await?;
    if let Err(e) = ws::handshake(&req) {
        return Err(ApiError::bad_request(format!(
            "GET /v1/responses is the Responses WebSocket ({e}); use POST /v1/responses over HTTP"
        )));
    }
    let settings = state.settings.current();
    let max = usize::try_from(settings.responses_ws_max_connections).unwrap_or(usize::MAX);
    let Some(pass) = state
        .responses_sockets
        .enter(max, state.metrics.responses_ws_connections.clone())
    else {
        state
            .metrics
            .responses_ws_events
            .with_label_values(&["refused"])
            .inc();
        log::warn!(
            "responses websocket refused: {max} connections open (RESPONSES_WS_MAX_CONNECTIONS)"
        );
        return Err(ApiError::unavailable(
            "too many open Responses WebSocket connections; retry shortly or use POST /v1/responses",
        )
        .with_retry_after(5));
    };
    let max_message =
        usize::try_from(settings.max_request_body_mb.saturating_mul(MIB)).unwrap_or(usize::MAX);
    let now = Instant::now();
    let socket = ResponsesSocket {
        state: state.clone(),
        client,
        req: req.clone(),
        caller,
        local: LocalResponses::default(),
        busy: false,
        opened: now,
        last_done: now,
        last_ping: now,
        idle_timeout: Duration::from_secs(settings.responses_ws_idle_timeout),
        partial: None,
        max_message,
        _pass: pass,
    };
    ws::WsResponseBuilder::new(socket, &req, payload)
        .frame_size(max_message)
        .start()
        .map_err(|e| ApiError::bad_request(format!("WebSocket handshake failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_are_split_into_their_data() {
        let mut buffer = BytesMut::from(
            &b"event: response.created\ndata: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\ndata: {\"c\""[..],
        );
        assert_eq!(take_events(&mut buffer), vec!["{\"a\":1}", "{\"b\":2}"]);
        assert_eq!(&buffer[..], b"data: {\"c\"");
        buffer.extend_from_slice(b":3}\n\n");
        assert_eq!(take_events(&mut buffer), vec!["{\"c\":3}"]);
    }

    #[test]
    fn error_events_carry_status_and_the_error_body() {
        let body = ApiError::new(ErrorKind::InsufficientQuota, "spent").render(STYLE);
        let event = error_event(429, body);
        assert_eq!(event["type"], "error");
        assert_eq!(event["status"], 429);
        assert_eq!(event["error"]["code"], "insufficient_quota");
        assert_eq!(event["error"]["message"], "spent");
    }
}
