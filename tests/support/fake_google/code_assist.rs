//! Code Assist `v1internal` methods: generate / stream, countTokens and onboarding.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use bytes::Bytes;
use serde_json::{json, Value};

use super::dispatch::{google_error, status_code, Call};
use super::render::{count_prompt_words, envelope, ResponseMeta};
use super::reply::{LoadCodeAssist, RawEvent, Reply, ReplyBody};
use super::sse_body::PacedBody;
use super::state::{FakeState, Operation, Shared};

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
    let reply = {
        let mut state = shared.lock();
        super::tool_script::scripted_reply(&state.tool_scripts, &call.body)
            .or_else(|| state.next_reply(project))
    }
    .unwrap_or_else(|| Reply::default_for_model(model));
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
    let (content_type, chunks) = match (stream, sse) {
        (true, true) => ("text/event-stream", sse_chunks(&responses, &trace_id, bare)),
        (true, false) => (
            "application/json; charset=UTF-8",
            json_array_chunks(&responses, &trace_id, bare),
        ),
        (false, _) => (
            "application/json; charset=UTF-8",
            vec![whole_body(responses.first(), &trace_id, bare)],
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

/// A response as the API sends it: enveloped for Code Assist, bare for the others.
fn shaped(response: &Value, trace_id: &str, bare: bool) -> Value {
    if bare {
        response.clone()
    } else {
        envelope(response.clone(), trace_id)
    }
}

fn sse_chunks(events: &[RawEvent], trace_id: &str, bare: bool) -> Vec<Bytes> {
    events
        .iter()
        .map(|event| match event {
            RawEvent::Response(response) => {
                let line = shaped(response, trace_id, bare);
                Bytes::from(format!("data: {line}\n\n"))
            }
            RawEvent::Verbatim(text) => Bytes::from(text.clone()),
        })
        .collect()
}

/// Without `alt=sse` Code Assist streams one JSON array of envelopes.
fn json_array_chunks(events: &[RawEvent], trace_id: &str, bare: bool) -> Vec<Bytes> {
    let mut chunks: Vec<Bytes> = events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            let separator = if index == 0 { "[" } else { ",\r\n" };
            let item = match event {
                RawEvent::Response(response) => shaped(response, trace_id, bare).to_string(),
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

fn whole_body(event: Option<&RawEvent>, trace_id: &str, bare: bool) -> Bytes {
    match event {
        Some(RawEvent::Response(response)) => {
            Bytes::from(shaped(response, trace_id, bare).to_string())
        }
        Some(RawEvent::Verbatim(text)) => Bytes::from(text.clone()),
        None => Bytes::from_static(b"{}"),
    }
}

pub(crate) fn count_tokens(call: &Call) -> HttpResponse {
    HttpResponse::Ok().json(json!({"totalTokens": count_prompt_words(&call.body)}))
}

pub(crate) fn load_code_assist(shared: &Shared) -> HttpResponse {
    let script = shared.lock().load_code_assist.clone();
    match script {
        LoadCodeAssist::AlreadyOnboarded { project } => HttpResponse::Ok().json(json!({
            "currentTier": free_tier(),
            "allowedTiers": [free_tier(), standard_tier()],
            "cloudaicompanionProject": project,
            "gcpManaged": false,
        })),
        LoadCodeAssist::NeedsOnboarding { .. } => HttpResponse::Ok().json(json!({
            "allowedTiers": [free_tier(), standard_tier()],
            "gcpManaged": false,
        })),
        LoadCodeAssist::Json(status, body) => HttpResponse::build(status_code(status)).json(body),
    }
}

fn free_tier() -> Value {
    json!({"id": "free-tier", "name": "Gemini Code Assist for individuals",
           "description": "Gemini Code Assist for individuals",
           "userDefinedCloudaicompanionProject": false, "isDefault": true})
}

fn standard_tier() -> Value {
    json!({"id": "standard-tier", "name": "Gemini Code Assist",
           "description": "Gemini Code Assist for business",
           "userDefinedCloudaicompanionProject": true})
}

/// Starts the onboarding operation; while one is pending, a repeated call counts as a poll, as
/// some clients re-POST instead of polling the operation.
pub(crate) fn onboard_user(shared: &Shared) -> HttpResponse {
    let mut state = shared.lock();
    let pending = state
        .operations
        .iter()
        .find(|(_, operation)| operation.polls_left > 0)
        .map(|(name, _)| name.clone());
    if let Some(name) = pending {
        return poll_operation(&mut state, &name).map_or_else(operation_not_found, ok_json);
    }
    match state.load_code_assist.clone() {
        LoadCodeAssist::AlreadyOnboarded { project } => {
            ok_json(operation_json("operations/onboarded", Some(&project)))
        }
        LoadCodeAssist::NeedsOnboarding {
            project,
            polls_until_done,
        } => {
            state.operation_seq += 1;
            let name = format!("operations/onboard-{}", state.operation_seq);
            let done = polls_until_done == 0;
            state.operations.insert(
                name.clone(),
                Operation {
                    project: project.clone(),
                    polls_left: polls_until_done,
                },
            );
            if done {
                mark_onboarded(&mut state, &project);
            }
            ok_json(operation_json(&name, done.then_some(project.as_str())))
        }
        LoadCodeAssist::Json(..) => google_error(
            StatusCode::BAD_REQUEST,
            "FAILED_PRECONDITION",
            "User is not eligible for onboarding.",
        ),
    }
}

pub(crate) fn operation(shared: &Shared, name: &str) -> HttpResponse {
    poll_operation(&mut shared.lock(), name).map_or_else(operation_not_found, ok_json)
}

fn poll_operation(state: &mut FakeState, name: &str) -> Option<Value> {
    let operation = state.operations.get_mut(name)?;
    operation.polls_left = operation.polls_left.saturating_sub(1);
    let done = operation.polls_left == 0;
    let project = operation.project.clone();
    if done {
        mark_onboarded(state, &project);
    }
    Some(operation_json(name, done.then_some(project.as_str())))
}

/// Once onboarding finishes, `loadCodeAssist` reports the account as onboarded, as Google does.
fn mark_onboarded(state: &mut FakeState, project: &str) {
    state.load_code_assist = LoadCodeAssist::AlreadyOnboarded {
        project: project.to_owned(),
    };
}

fn operation_json(name: &str, done_project: Option<&str>) -> Value {
    match done_project {
        Some(project) => json!({
            "name": name,
            "done": true,
            "response": {
                "@type": "type.googleapis.com/google.cloud.gemini.v1.OnboardUserResponse",
                "cloudaicompanionProject": {"id": project, "name": project},
            },
        }),
        None => json!({"name": name, "done": false}),
    }
}

fn operation_not_found() -> HttpResponse {
    google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Operation not found.")
}

fn ok_json(body: Value) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

fn invalid_argument(message: &str) -> HttpResponse {
    google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
}

fn new_id(len: usize) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    hex.get(..len).unwrap_or(&hex).to_owned()
}
