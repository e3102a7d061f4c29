//! Code Assist `v1internal` generate / stream and countTokens; the Gemini API and Vertex answer
//! through the same generator (`generate_as`). Onboarding is in `onboarding.rs`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use bytes::Bytes;
use serde_json::{json, Value};

use super::dispatch::{google_error, status_code, Call};
use super::render::{count_prompt_words, envelope, ResponseMeta};
use super::reply::{RawEvent, Reply, ReplyBody};
use super::sse_body::PacedBody;
use super::state::Shared;
use super::{credits, refusals};

const TRACE_HEADER: &str = "x-cloudaicompanion-trace-id";

pub(crate) async fn generate(shared: &Arc<Shared>, call: &Call, stream: bool) -> HttpResponse {
    generate_as(shared, call, stream, false).await
}

/// Answers an enveloped `call`; `bare` leaves the `{"response": …}` envelope off the answer, as the
/// Generative Language and Vertex APIs do.
pub(crate) async fn generate_as(
    shared: &Arc<Shared>,
    call: &Call,
    stream: bool,
    bare: bool,
) -> HttpResponse {
    let Some(model) = call.body_str("model").filter(|model| !model.is_empty()) else {
        return invalid_argument("Invalid JSON payload: missing field \"model\".");
    };
    if call.body.get("request").is_none() {
        return invalid_argument("Invalid JSON payload: missing field \"request\".");
    }
    let project = call.body_str("project").unwrap_or_default();
    let (reply, credit_fields) = {
        let mut state = shared.lock();
        if let Some(refusal) = refusals::by_content(&state, call)
            .or_else(|| refusals::by_thinking_level(&state, model, &call.body))
        {
            return refusal;
        }
        let reply = super::tool_script::scripted_reply(&state.tool_scripts, &call.body)
            .or_else(|| state.next_reply(project))
            .unwrap_or_else(|| Reply::default_for_model(model));
        // Credits belong to Code Assist accounts; the bare APIs bill otherwise.
        if bare {
            (reply, None)
        } else {
            credits::settle(&mut state, &call.body, project, model, reply)
        }
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }

    let trace_id = new_id(16);
    let response_id = new_id(22);
    let cached_tokens = match &reply.body {
        ReplyBody::Error { .. } => 0,
        _ => shared
            .lock()
            .implicit_cache
            .as_mut()
            .map_or(0, |cache| cache.observe(project, &call.body)),
    };
    let meta = ResponseMeta {
        model,
        response_id: &response_id,
        prompt_tokens: count_prompt_words(&call.body),
        cached_tokens,
    };
    let responses = match &reply.body {
        ReplyBody::Error { status, body } => {
            return HttpResponse::build(status_code(*status))
                .insert_header((TRACE_HEADER, trace_id))
                .json(body);
        }
        ReplyBody::Answer(answer) if stream => answer
            .stream_responses(&meta)
            .into_iter()
            .map(RawEvent::Response)
            .collect(),
        ReplyBody::Answer(answer) => vec![RawEvent::Response(answer.whole_response(&meta))],
        ReplyBody::Raw(events) => events.clone(),
    };

    let sse = call.query_param("alt").as_deref() == Some("sse");
    let shape = Shape {
        trace_id: &trace_id,
        bare,
        last_extra: credit_fields.as_ref(),
    };
    let (content_type, chunks) = match (stream, sse) {
        (true, true) => ("text/event-stream", sse_chunks(&responses, &shape)),
        (true, false) => (
            "application/json; charset=UTF-8",
            json_array_chunks(&responses, &shape),
        ),
        (false, _) => (
            "application/json; charset=UTF-8",
            vec![whole_body(responses.first(), &shape)],
        ),
    };
    let (chunks, cut) = apply_cut(chunks, reply.cut_after, stream);
    let counted = stream.then(|| Arc::clone(shared));
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((TRACE_HEADER, trace_id))
        .streaming(
            PacedBody::new(chunks, pacing(&reply, stream), cut, counted)
                .stamped(stream && reply.stamp_send_time),
        )
}

fn pacing(reply: &Reply, stream: bool) -> Duration {
    if stream {
        reply.interval
    } else {
        Duration::ZERO
    }
}

/// Streams keep their first `k` events; a non-stream body keeps half its bytes.
fn apply_cut(mut chunks: Vec<Bytes>, cut_after: Option<usize>, stream: bool) -> (Vec<Bytes>, bool) {
    let Some(k) = cut_after else {
        return (chunks, false);
    };
    if stream {
        chunks.truncate(k);
        return (chunks, true);
    }
    let whole: Vec<u8> = chunks.concat();
    let half = Bytes::copy_from_slice(whole.get(..whole.len() / 2).unwrap_or_default());
    (vec![half], true)
}

/// How response objects go on the wire.
struct Shape<'a> {
    trace_id: &'a str,
    /// No Code Assist envelope (Gemini API, Vertex).
    bare: bool,
    /// Envelope fields only the last response carries (the credits a call spent).
    last_extra: Option<&'a Value>,
}

impl Shape<'_> {
    /// A response as the API sends it: enveloped for Code Assist, bare for the others.
    fn apply(&self, response: &Value, last: bool) -> Value {
        if self.bare {
            return response.clone();
        }
        let mut wrapped = envelope(response.clone(), self.trace_id);
        let extra = self.last_extra.filter(|_| last).and_then(Value::as_object);
        if let (Some(extra), Some(fields)) = (extra, wrapped.as_object_mut()) {
            fields.extend(extra.clone());
        }
        wrapped
    }
}

/// Index of the last response object among the events (verbatim text cannot carry fields).
fn last_response(events: &[RawEvent]) -> Option<usize> {
    events
        .iter()
        .rposition(|event| matches!(event, RawEvent::Response(_)))
}

fn sse_chunks(events: &[RawEvent], shape: &Shape<'_>) -> Vec<Bytes> {
    let last = last_response(events);
    events
        .iter()
        .enumerate()
        .map(|(index, event)| match event {
            RawEvent::Response(response) => {
                let line = shape.apply(response, Some(index) == last);
                Bytes::from(format!("data: {line}\n\n"))
            }
            RawEvent::Verbatim(text) => Bytes::from(text.clone()),
        })
        .collect()
}

/// Without `alt=sse` Code Assist streams one JSON array of envelopes.
fn json_array_chunks(events: &[RawEvent], shape: &Shape<'_>) -> Vec<Bytes> {
    let last = last_response(events);
    let mut chunks: Vec<Bytes> = events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            let separator = if index == 0 { "[" } else { ",\r\n" };
            let item = match event {
                RawEvent::Response(response) => {
                    shape.apply(response, Some(index) == last).to_string()
                }
                RawEvent::Verbatim(text) => text.clone(),
            };
            Bytes::from(format!("{separator}{item}"))
        })
        .collect();
    chunks.push(Bytes::from_static(if events.is_empty() {
        b"[]"
    } else {
        b"]"
    }));
    chunks
}

fn whole_body(event: Option<&RawEvent>, shape: &Shape<'_>) -> Bytes {
    match event {
        Some(RawEvent::Response(response)) => Bytes::from(shape.apply(response, true).to_string()),
        Some(RawEvent::Verbatim(text)) => Bytes::from(text.clone()),
        None => Bytes::from_static(b"{}"),
    }
}

pub(crate) fn count_tokens(shared: &Shared, call: &Call) -> HttpResponse {
    if let Some(refusal) = refusals::by_content(&shared.lock(), call) {
        return refusal;
    }
    HttpResponse::Ok().json(json!({"totalTokens": count_prompt_words(&call.body)}))
}

fn invalid_argument(message: &str) -> HttpResponse {
    google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
}

fn new_id(len: usize) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    hex.get(..len).unwrap_or(&hex).to_owned()
}
