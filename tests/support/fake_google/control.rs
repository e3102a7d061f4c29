//! HTTP control API under `/__fake/`, so tests written in other languages can script the fake and read
//! what it received. Mounted only when `FakeGoogleOptions::control` is set (the example server's
//! `--control`), never in benchmark mode.
//!
//! - `POST /__fake/enqueue` `{"project": "p1", "reply": REPLY}` queues a reply; answers `{"pending": n}`.
//! - `POST /__fake/default` `{"project": "p1" | null, "reply": REPLY}` sets a per-project or global default.
//! - `GET /__fake/requests[?path=<substring>]` lists recorded requests, oldest first (none when
//!   recording is off).
//! - `POST /__fake/reset` forgets queues, per-project defaults, recorded requests and every script
//!   below but the tool scripts (quota, credits, model lists, refusals), and restores the global
//!   default the server started with.
//! - `POST /__fake/tool-scripts` `{"scripts": [{"function": "f", "args": {…}}]}` replaces the tool scripts
//!   (see `tool_script.rs`); `[]` turns them off. `reset` leaves them alone.
//! - `POST /__fake/quota` `{"project": "p1", "buckets": [BUCKET]}` sets the project's
//!   `retrieveUserQuota` buckets (served verbatim); `{"project": "p1", "fail_status": 500 | null}`
//!   makes it fail with that status, or answer again. BUCKET is Google's:
//!   `{"modelId", "tokenType", "remainingAmount": "120", "remainingFraction": 0.4, "resetTime": RFC 3339}`.
//! - `POST /__fake/credits` `{"project": "p1", "amount": 5}` sets its Google One AI credits (see
//!   `credits.rs`).
//! - `POST /__fake/refuse-pattern` `{"pattern": "text" | null}`: generate / stream / countTokens calls
//!   whose body contains the text answer a plain 429 (see `refusals.rs`).
//! - `POST /__fake/models` `{"api_key": "k", "models": [MODEL]}` sets the key's Gemini API model list;
//!   `{"vertex": true, "models": [PUBLISHER_MODEL]}` the Vertex one (see `model_lists.rs`).
//! - `POST /__fake/thinking-refusals` `{"model": "m", "level": "MINIMAL"}` makes generate / stream
//!   calls for the model refuse that thinking level with 400; answers `{"refused": [levels]}`.
//!
//! REPLY is one JSON object; every key is optional and they combine like the `Reply` builder:
//! ```json
//! {"text": "whole answer", "chunks": ["or", "these", "pieces"], "split": 3,
//!  "thought": "…", "function_calls": [{"name": "f", "args": {}, "signature": "c2ln"}],
//!  "finish_reason": "STOP", "usage": {…},
//!  "error": {"status": 429, "body": {…}} | {"status": 429, "google_status": "RESOURCE_EXHAUSTED", "message": "…"},
//!  "raw_events": [{…response object…}, "data: verbatim text\n\n"],
//!  "delay_ms": 0, "interval_ms": 0, "cut_after": 2}
//! ```
//! `error` wins over `raw_events`, which win over an answer. An answer with neither text, chunks nor
//! function calls is an empty text answer.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::control_scripts;
use super::reply::{google_error_body, RawEvent, Reply};
use super::state::{RecordedRequest, Shared};

/// What `reset` restores.
struct ControlState {
    initial_default: Option<Reply>,
}

/// Registers the `/__fake/` routes; `initial_default` is the global default the server starts with.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, initial_default: Option<Reply>) {
    cfg.app_data(web::Data::new(ControlState { initial_default }))
        .service(
            web::scope("/__fake")
                .route("/enqueue", web::post().to(enqueue))
                .route("/default", web::post().to(set_default))
                .route("/requests", web::get().to(requests))
                .route("/reset", web::post().to(reset))
                .route(
                    "/tool-scripts",
                    web::post().to(super::tool_script::set_tool_scripts),
                )
                .route("/quota", web::post().to(control_scripts::set_quota))
                .route("/credits", web::post().to(control_scripts::set_credits))
                .route(
                    "/refuse-pattern",
                    web::post().to(control_scripts::set_refuse_pattern),
                )
                .route("/models", web::post().to(control_scripts::set_models))
                .route(
                    "/thinking-refusals",
                    web::post().to(control_scripts::add_thinking_refusal),
                ),
        );
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplySpec {
    text: Option<String>,
    chunks: Option<Vec<String>>,
    split: Option<usize>,
    thought: Option<String>,
    #[serde(default)]
    function_calls: Vec<FunctionCallSpec>,
    finish_reason: Option<String>,
    usage: Option<Value>,
    error: Option<ErrorSpec>,
    raw_events: Option<Vec<Value>>,
    delay_ms: Option<u64>,
    interval_ms: Option<u64>,
    cut_after: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionCallSpec {
    name: String,
    #[serde(default)]
    args: Value,
    signature: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorSpec {
    status: u16,
    body: Option<Value>,
    google_status: Option<String>,
    message: Option<String>,
}

impl ErrorSpec {
    fn body(&self) -> Value {
        match &self.body {
            Some(body) => body.clone(),
            None => google_error_body(
                self.status,
                self.google_status.as_deref().unwrap_or("UNKNOWN"),
                self.message.as_deref().unwrap_or("Scripted error."),
            ),
        }
    }
}

impl ReplySpec {
    pub(crate) fn into_reply(self) -> Reply {
        let reply = if let Some(error) = &self.error {
            Reply::error(error.status, error.body())
        } else if let Some(events) = self.raw_events.clone() {
            Reply::raw_events(events.into_iter().map(raw_event))
        } else {
            self.answer()
        };
        let mut reply = reply
            .delay_ms(self.delay_ms.unwrap_or(0))
            .interval_ms(self.interval_ms.unwrap_or(0));
        if let Some(k) = self.cut_after {
            reply = reply.cut_after(k);
        }
        reply
    }

    fn answer(&self) -> Reply {
        let mut pieces: Vec<String> = self.text.iter().cloned().collect();
        pieces.extend(self.chunks.iter().flatten().cloned());
        let mut reply = Reply::stream_chunks(pieces);
        if let Some(n) = self.split {
            reply = reply.chunks(n);
        }
        if let Some(thought) = &self.thought {
            reply = reply.with_thought(thought.clone());
        }
        for call in &self.function_calls {
            let args = if call.args.is_null() {
                json!({})
            } else {
                call.args.clone()
            };
            reply = reply.with_function_call(&call.name, args, call.signature.as_deref());
        }
        if let Some(reason) = &self.finish_reason {
            reply = reply.finish_reason(reason);
        }
        if let Some(usage) = &self.usage {
            reply = reply.usage(usage.clone());
        }
        reply
    }
}

fn raw_event(value: Value) -> RawEvent {
    match value {
        Value::String(text) => RawEvent::Verbatim(text),
        other => RawEvent::Response(other),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnqueueBody {
    project: String,
    reply: ReplySpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultBody {
    project: Option<String>,
    reply: ReplySpec,
}

#[derive(Debug, Deserialize)]
struct RequestsQuery {
    path: Option<String>,
}

/// Parses a JSON body, answering 400 with the reason instead of actix's plain-text error.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, HttpResponse> {
    serde_json::from_slice(body).map_err(|error| {
        HttpResponse::BadRequest().json(json!({"error": format!("invalid control body: {error}")}))
    })
}

async fn enqueue(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let request: EnqueueBody = match parse(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    let reply = request.reply.into_reply();
    let mut state = shared.lock();
    let queue = state.queues.entry(request.project).or_default();
    queue.push_back(reply);
    HttpResponse::Ok().json(json!({"pending": queue.len()}))
}

async fn set_default(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let request: DefaultBody = match parse(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    let reply = request.reply.into_reply();
    let mut state = shared.lock();
    match request.project {
        Some(project) => {
            state.project_defaults.insert(project, reply);
        }
        None => state.global_default = Some(reply),
    }
    HttpResponse::Ok().json(json!({"ok": true}))
}

async fn requests(query: web::Query<RequestsQuery>, shared: web::Data<Shared>) -> HttpResponse {
    let filter = query.path.as_deref().unwrap_or("");
    let listed: Vec<Value> = shared
        .lock()
        .requests
        .iter()
        .filter(|recorded| recorded.path.contains(filter))
        .map(recorded_json)
        .collect();
    HttpResponse::Ok().json(listed)
}

async fn reset(shared: web::Data<Shared>, control: web::Data<ControlState>) -> HttpResponse {
    let mut state = shared.lock();
    state.queues.clear();
    state.project_defaults.clear();
    state.requests.clear();
    state.forget_insight_scripts();
    state.global_default = control.initial_default.clone();
    HttpResponse::Ok().json(json!({"ok": true}))
}

fn recorded_json(recorded: &RecordedRequest) -> Value {
    let headers: Map<String, Value> = recorded
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    json!({
        "method": recorded.method,
        "path": recorded.path,
        "query": recorded.query,
        "headers": headers,
        "body": recorded.body,
        "access_token": recorded.access_token,
        "project": recorded.project,
        "model": recorded.model,
    })
}

#[cfg(test)]
mod tests {
    use super::super::reply::ReplyBody;
    use super::*;

    fn spec(value: Value) -> ReplySpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn text_with_split_becomes_chunked_answer() {
        let reply = spec(json!({"text": "abcdef", "split": 3, "interval_ms": 5})).into_reply();
        match reply.body {
            ReplyBody::Answer(answer) => assert_eq!(answer.chunks, ["ab", "cd", "ef"]),
            other => panic!("unexpected body {other:?}"),
        }
        assert_eq!(reply.interval.as_millis(), 5);
    }

    #[test]
    fn error_without_body_gets_google_shape() {
        let reply = spec(json!({"error": {"status": 429, "google_status": "RESOURCE_EXHAUSTED"}}))
            .into_reply();
        match reply.body {
            ReplyBody::Error { status, body } => {
                assert_eq!(status, 429);
                assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
            }
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn raw_strings_are_verbatim_and_objects_are_responses() {
        let reply = spec(json!({"raw_events": ["data: x\n\n", {"candidates": []}]})).into_reply();
        match reply.body {
            ReplyBody::Raw(events) => {
                assert!(matches!(&events[0], RawEvent::Verbatim(t) if t == "data: x\n\n"));
                assert!(matches!(&events[1], RawEvent::Response(_)));
            }
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(serde_json::from_value::<ReplySpec>(json!({"txt": "typo"})).is_err());
    }
}
