//! OpenAI Responses API: `POST /v1/responses` (stream and not; its WebSocket form is in
//! `responses_ws`), `GET /v1/responses/{id}` for stored answers, and remote compaction:
//! `POST /v1/responses/compact` and an input ending in `{"type":"compaction_trigger"}`.
//!
//! The same pool, quotas, allow-lists, stream modes and error envelope as `/v1/chat/completions`; only
//! the conversion (`convert::responses_*`) and the response store differ.
//!
//! Compaction: one Gemini call summarises the conversation (`convert::responses::compaction`); the
//! summary goes back sealed (`compaction_seal`) as a `compaction` item. Sent back in a later
//! input, the item is opened and becomes a user message with the summary. `compaction_trigger`
//! answers a normal response whose only output item is the compaction item (Codex's "remote
//! compaction v2"); `/v1/responses/compact` answers the user's own messages followed by it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::guarded_body::GuardedBody;
use super::model_call::{
    admit_early, convert_options, fetch_images, invalid, model_call, Incoming,
};

use crate::actors::response_store::{
    Conversation, LoadConversation, LoadResponse, ResponseStore, SaveResponse,
};
use crate::auth::caller_check::authorize_api;
use crate::auth::ApiCaller;
use crate::config::Settings;
use crate::convert::dialect::{encode_frames, sse_response, SseFrame};
use crate::convert::gemini::features::apply_model_features;
use crate::convert::gemini::fields::string_field;
use crate::convert::gemini::model_name::ModelSpec;
use crate::convert::responses::body::ResponsesBody;
use crate::convert::responses::compaction::{
    kept_items, open_compactions, sealed_blobs, summary_request, take_trigger,
};
use crate::convert::responses::compaction_dialect::{CompactionDialect, CompactionShape, Sealer};
use crate::convert::responses::dialect::{OnFinal, ResponsesDialect};
use crate::convert::responses::request::{
    collect_remote_image_urls, input_items, model_spec, previous_response_id, responses_to_gemini,
    ResponsesRequest,
};
use crate::convert::responses::response::{ResponseHeader, ResponsesStream};
use crate::convert::ConvertError;
use crate::error::{ApiError, ErrorKind};
use crate::gateway::{serve, ModelCall};
use crate::state::{AppState, UpstreamClient};

/// Where a finished response is kept for `previous_response_id`: the response store when the client
/// asked to store it, and the WebSocket connection's own responses (always, even with `store: false`).
struct Keeper {
    global: Option<(actix::Addr<ResponseStore>, String)>,
    local: Option<LocalResponses>,
    /// The conversation this answer continues (`previous_response_id`), if any.
    parent: Option<Arc<Conversation>>,
    /// This request's input items.
    input: Vec<Value>,
}

impl Keeper {
    /// Keeps `response` with its output appended to the conversation; failed answers are not kept.
    fn keep(self, response: &Value) {
        let status = response.get("status").and_then(Value::as_str);
        if !matches!(status, Some("completed" | "incomplete")) {
            return;
        }
        let Some(id) = response.get("id").and_then(Value::as_str) else {
            return;
        };
        let mut items = self.input;
        if let Some(Value::Array(output)) = response.get("output") {
            items.extend(output.iter().cloned());
        }
        if let Some(local) = &self.local {
            local.put(id, Conversation::new(self.parent.clone(), items.clone()));
        }
        if let Some((store, owner)) = self.global {
            store.do_send(SaveResponse {
                id: id.to_owned(),
                owner,
                conversation: Conversation::new(self.parent, items),
                response: response.clone(),
            });
        }
    }

    fn hook(self) -> Option<OnFinal> {
        if self.global.is_none() && self.local.is_none() {
            return None;
        }
        Some(Box::new(move |response: &Value| self.keep(response)))
    }
}

/// The responses of one WebSocket connection, so `previous_response_id` can name them without the
/// response store (`store: false`). Only the latest few are kept: a client continues its last one.
#[derive(Clone, Default)]
pub struct LocalResponses(Rc<RefCell<VecDeque<LocalResponse>>>);

/// One remembered response: its id and its conversation.
type LocalResponse = (String, Arc<Conversation>);

/// Responses one connection remembers.
const LOCAL_RESPONSES: usize = 16;

impl LocalResponses {
    fn get(&self, id: &str) -> Option<Arc<Conversation>> {
        let kept = self.0.borrow();
        kept.iter().find(|(k, _)| k == id).map(|(_, c)| c.clone())
    }

    fn put(&self, id: &str, conversation: Conversation) {
        let mut kept = self.0.borrow_mut();
        if kept.len() >= LOCAL_RESPONSES {
            kept.pop_front();
        }
        kept.push_back((id.to_owned(), Arc::new(conversation)));
    }
}

/// Who may read a stored response: the caller that created it. Never shown anywhere.
fn owner_of(caller: &ApiCaller) -> String {
    match caller {
        ApiCaller::Password => "password".to_owned(),
        ApiCaller::Key(key) => crate::actors::response_store::key_owner(key),
    }
}

/// OpenAI's answer for an unknown response id: `kind` is [`ErrorKind::ResponseNotFound`] or
/// [`ErrorKind::PreviousResponseNotFound`], whose rows carry OpenAI's `param` and `code`.
fn not_found(id: &str, kind: ErrorKind) -> ApiError {
    ApiError::new(kind, format!("Response with id '{id}' not found."))
}

pub async fn create(
    req: HttpRequest,
    body: GuardedBody,
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
) -> Result<HttpResponse, ApiError> {
    let Incoming {
        settings,
        caller,
        json,
    } = Incoming::read(&state, &body)?;
    let turn = Turn {
        settings,
        caller,
        json,
        local: None,
    };
    respond(&req, &state, &client, turn).await
}

/// One `response.create`: an HTTP `POST /v1/responses` or a WebSocket frame.
pub(super) struct Turn {
    pub settings: Arc<Settings>,
    pub caller: ApiCaller,
    pub json: Value,
    /// The WebSocket connection's responses (`None` over HTTP).
    pub local: Option<LocalResponses>,
}

/// Answers one Responses request: a warm-up (`generate: false`) without calling Google, a compaction
/// when the input ends in `compaction_trigger`, else a model call through `gateway::serve`.
pub(super) async fn respond(
    req: &HttpRequest,
    state: &AppState,
    client: &UpstreamClient,
    turn: Turn,
) -> Result<HttpResponse, ApiError> {
    let Turn {
        settings,
        caller,
        json,
        local,
    } = turn;
    let mut body = ResponsesBody::from_value(json).map_err(invalid)?;
    let warm_up = body.is_warm_up();
    // The key is checked before anything costs: the stored conversation, images, conversion. A warm-up
    // calls nobody and charges nothing, so it needs no admission.
    if !warm_up {
        let spec = model_spec(&body).map_err(invalid)?;
        admit_early(state, &caller, &spec).await?;
    }
    let owner = owner_of(&caller);

    let parent = match previous_response_id(&body).map_err(invalid)? {
        None => None,
        Some(id) => match local.as_ref().and_then(|l| l.get(&id)) {
            Some(conversation) => Some(conversation),
            None => {
                let found = state
                    .responses
                    .send(LoadConversation {
                        id: id.clone(),
                        owner: owner.clone(),
                    })
                    .await
                    .map_err(ApiError::mailbox("the response store"))?;
                match found {
                    Some(conversation) => Some(conversation),
                    None => return Err(not_found(&id, ErrorKind::PreviousResponseNotFound)),
                }
            }
        },
    };
    let mut history = parent
        .as_deref()
        .map(Conversation::items)
        .unwrap_or_default();
    let mut items = input_items(body.input.as_ref(), parent.is_some()).map_err(invalid)?;
    let compact = take_trigger(&mut items).map_err(invalid)?;
    open_sealed(state, &mut history)?;
    open_sealed(state, &mut items)?;
    body.input = Some(Value::Array(items));

    let urls = collect_remote_image_urls(&body);
    let images = fetch_images(client, urls, &settings).await?;
    let opts = convert_options(&settings);
    let mut request = responses_to_gemini(&body, &history, &images, &opts).map_err(invalid)?;

    let header = ResponseHeader::new(
        &request.spec.display,
        request.echo.clone(),
        request.tools.clone(),
        settings.return_thoughts_to_frontend,
    );
    let keeper = Keeper {
        global: request
            .store
            .then(|| (state.responses.clone(), owner.clone())),
        local,
        parent,
        input: request.input_items.clone(),
    };
    if warm_up {
        return Ok(warm_up_answer(header, request.stream, keeper));
    }
    if compact {
        let all: Vec<Value> = history
            .iter()
            .chain(&request.input_items)
            .cloned()
            .collect();
        let instructions = body.instructions.as_ref().and_then(Value::as_str);
        let mut gemini = summary_request(&all, instructions).map_err(invalid)?;
        apply_model_features(&mut gemini, &request.spec, &opts);
        // A compaction replaces the conversation: continuing it starts from the summary alone.
        let keeper = Keeper {
            parent: None,
            input: Vec::new(),
            ..keeper
        };
        let dialect = CompactionDialect::new(
            CompactionShape::Response { header },
            sealer(state),
            keeper.hook(),
        );
        request.gemini = gemini;
        return serve(state, client, call_of(req, caller, request), dialect).await;
    }
    let dialect = ResponsesDialect::new(ResponsesStream::new(header), keeper.hook());
    serve(state, client, call_of(req, caller, request), dialect).await
}

/// The gateway's call for a converted request. Session affinity: `prompt_cache_key` (Codex sends its
/// session id there), else `x-session-id`, else the conversation's prefix.
fn call_of(req: &HttpRequest, caller: ApiCaller, request: ResponsesRequest) -> ModelCall {
    model_call(
        req,
        caller,
        request.prompt_cache_key.as_deref(),
        request.spec,
        request.gemini,
        request.stream,
    )
}

/// The answer to a warm-up (`generate: false`, Codex's first frame on a WebSocket): an empty completed
/// response, kept like any other so the next request can continue it. Google is not called and no key
/// is charged.
fn warm_up_answer(header: ResponseHeader, stream: bool, keeper: Keeper) -> HttpResponse {
    let mut events = ResponsesStream::new(header);
    let frames: Vec<SseFrame> = events
        .finish()
        .into_iter()
        .map(|event| {
            let name = event
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("message")
                .to_owned();
            SseFrame::named(name, event)
        })
        .collect();
    let response = events.final_response().cloned().unwrap_or(Value::Null);
    if let Some(hook) = keeper.hook() {
        hook(&response);
    }
    if stream {
        sse_response().body(encode_frames(&frames, false))
    } else {
        HttpResponse::Ok().json(response)
    }
}

pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // A key that was deleted or has expired reads nothing, its stored answers included.
    let caller = authorize_api(&req, &state, None).await?;
    let id = path.into_inner();
    let found = state
        .responses
        .send(LoadResponse {
            id: id.clone(),
            owner: owner_of(&caller),
        })
        .await
        .map_err(ApiError::mailbox("the response store"))?;
    match found {
        Some(response) => Ok(HttpResponse::Ok().json(response.as_ref())),
        None => Err(not_found(&id, ErrorKind::ResponseNotFound)),
    }
}

pub async fn compact(
    req: HttpRequest,
    body: GuardedBody,
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
) -> Result<HttpResponse, ApiError> {
    let Incoming {
        settings,
        caller,
        json,
    } = Incoming::read(&state, &body)?;
    let body = ResponsesBody::from_value(json).map_err(invalid)?;
    let model = match &body.model {
        Some(Value::String(model)) => model,
        _ => {
            return Err(invalid(ConvertError::invalid(
                "model",
                "is required (a string)",
            )))
        }
    };
    let spec = ModelSpec::parse(model).map_err(invalid)?;
    let mut items = input_items(body.input.as_ref(), false).map_err(invalid)?;
    take_trigger(&mut items).map_err(invalid)?;
    open_sealed(&state, &mut items)?;
    let instructions = string_field(body.instructions.as_ref(), "instructions").map_err(invalid)?;
    let mut gemini = summary_request(&items, instructions).map_err(invalid)?;
    apply_model_features(&mut gemini, &spec, &convert_options(&settings));
    let kept = kept_items(&items);
    let dialect = CompactionDialect::new(CompactionShape::Endpoint { kept }, sealer(&state), None);
    let call = model_call(&req, caller, None, spec, gemini, false);
    serve(&state, &client, call, dialect).await
}

/// Seals summaries with the gateway's compaction key.
fn sealer(state: &AppState) -> Sealer {
    let seal = state.compaction_seal.clone();
    Box::new(move |summary: &str| match seal.seal(summary) {
        Ok(sealed) => Some(sealed),
        Err(e) => {
            log::error!("compaction summary not sealed: {e}");
            None
        }
    })
}

/// Opens the `compaction` items of `items` in place (a summary message each); a blob this gateway did
/// not seal, or one that was changed, is refused with `invalid_encrypted_content`.
fn open_sealed(state: &AppState, items: &mut [Value]) -> Result<(), ApiError> {
    let blobs = sealed_blobs(items).map_err(invalid)?;
    if blobs.is_empty() {
        return Ok(());
    }
    let summaries = blobs
        .into_iter()
        .map(|blob| state.compaction_seal.open(blob))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::new(ErrorKind::InvalidEncryptedContent, e.to_string()))?;
    open_compactions(items, summaries);
    Ok(())
}
