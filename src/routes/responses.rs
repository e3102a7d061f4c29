//! OpenAI Responses API: `POST /v1/responses` (stream and not), `GET /v1/responses/{id}` for stored
//! answers, and `POST /v1/responses/compact`, which this gateway does not offer (501).
//!
//! The same pool, quotas, allow-lists, stream modes and error envelope as `/v1/chat/completions`; only
//! the conversion (`convert::responses_*`) and the response store differ.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::guarded_body::GuardedBody;
use super::model_call::{
    admit_early, convert_options, fetch_images, invalid, model_call, named_model, Incoming,
};

use crate::actors::response_store::{
    Conversation, LoadConversation, LoadResponse, ResponseStore, SaveResponse,
};
use crate::auth::{authenticate_api, ApiCaller};
use crate::convert::responses_dialect::{OnFinal, ResponsesDialect};
use crate::convert::responses_request::{
    collect_remote_image_urls, previous_response_id, responses_to_gemini,
};
use crate::convert::responses_response::{ResponseHeader, ResponsesStream};
use crate::error::{ApiError, ErrorKind, ErrorStyle};
use crate::gateway::serve;
use crate::state::{AppState, UpstreamClient};

const STYLE: ErrorStyle = ErrorStyle::OpenAi;

/// Where a finished response is kept for `previous_response_id`.
struct StoreTarget {
    store: actix::Addr<ResponseStore>,
    owner: String,
    /// The conversation this answer continues (`previous_response_id`), if any.
    parent: Option<Arc<Conversation>>,
    /// This request's input items.
    input: Vec<Value>,
}

impl StoreTarget {
    /// Keeps `response` with its output appended to the conversation; failed answers are not kept.
    fn save(self, response: &Value) {
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
        let conversation = Conversation::new(self.parent, items);
        self.store.do_send(SaveResponse {
            id: id.to_owned(),
            owner: self.owner,
            conversation,
            response: response.clone(),
        });
    }
}

/// Who may read a stored response: the caller that created it. Never shown anywhere.
fn owner_of(caller: &ApiCaller) -> String {
    match caller {
        ApiCaller::Password => "password".to_owned(),
        ApiCaller::Key(key) => format!("key:{key}"),
    }
}

/// OpenAI's answer for an unknown response id (`param` and `code` as the API has them).
fn not_found(id: &str, param: Option<&str>) -> HttpResponse {
    HttpResponse::NotFound().json(json!({"error": {
        "message": format!("Response with id '{id}' not found."),
        "type": "invalid_request_error",
        "param": param,
        "code": if param.is_some() { "previous_response_not_found" } else { "response_not_found" },
    }}))
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
    } = Incoming::read(&state, &body, STYLE)?;
    // The key is checked before anything costs: the stored conversation, images, conversion.
    let spec = named_model(&json, None, STYLE)?;
    admit_early(&state, &caller, &spec, STYLE).await?;
    let owner = owner_of(&caller);
    let bad_request = invalid(STYLE);

    let parent = match previous_response_id(&json).map_err(&bad_request)? {
        None => None,
        Some(id) => {
            let found = state
                .responses
                .send(LoadConversation {
                    id: id.clone(),
                    owner: owner.clone(),
                })
                .await
                .map_err(|_| ApiError::actor_unavailable("the response store").with_style(STYLE))?;
            match found {
                Some(conversation) => Some(conversation),
                None => return Ok(not_found(&id, Some("previous_response_id"))),
            }
        }
    };
    let history = parent
        .as_deref()
        .map(Conversation::items)
        .unwrap_or_default();
    let urls = collect_remote_image_urls(&json);
    let images = fetch_images(&client, urls, &settings, STYLE).await?;
    let opts = convert_options(&settings);
    let request = responses_to_gemini(&json, &history, &images, &opts).map_err(bad_request)?;

    let header = ResponseHeader::new(
        &request.spec.display,
        request.echo.clone(),
        request.tools.clone(),
        settings.return_thoughts_to_frontend,
    );
    let on_final = request.store.then(|| {
        let target = StoreTarget {
            store: state.responses.clone(),
            owner,
            parent,
            input: request.input_items.clone(),
        };
        Box::new(move |response: &Value| target.save(response)) as OnFinal
    });
    let dialect = ResponsesDialect::new(ResponsesStream::new(header), on_final);
    // Session affinity: `prompt_cache_key` (Codex sends its session id there), else `x-session-id`,
    // else the conversation's prefix.
    let call = model_call(
        &req,
        caller,
        request.prompt_cache_key.as_deref(),
        request.spec,
        request.gemini,
        request.stream,
    );
    serve(&state, &client, call, dialect).await
}

pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.current();
    let caller = authenticate_api(&req, &settings, STYLE)?;
    let id = path.into_inner();
    let found = state
        .responses
        .send(LoadResponse {
            id: id.clone(),
            owner: owner_of(&caller),
        })
        .await
        .map_err(|_| ApiError::actor_unavailable("the response store").with_style(STYLE))?;
    Ok(match found {
        Some(response) => HttpResponse::Ok().json(response.as_ref()),
        None => not_found(&id, None),
    })
}

pub async fn compact(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.current();
    authenticate_api(&req, &settings, STYLE)?;
    Err(ApiError::new(
        ErrorKind::NotImplemented,
        "POST /v1/responses/compact is not supported by this gateway: keep sending the conversation \
         (full input or previous_response_id) to POST /v1/responses",
    )
    .with_style(STYLE))
}
