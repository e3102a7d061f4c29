//! Anthropic Messages API: `POST /v1/messages` (Claude Code adds `?beta=true`), `POST
//! /v1/messages/count_tokens`, the Anthropic form of `GET /v1/models` (chosen by the
//! `anthropic-version` header) and `HEAD /` (Claude Code's reachability probe). Claude model names
//! are mapped through `ANTHROPIC_MODEL_MAP`; everything after conversion is the shared gateway's,
//! except the one retry a client may ask for with `fallbacks: "default"`: another model
//! (`ANTHROPIC_FALLBACK_MAP`) when Google has no capacity for the one it named.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::guarded_body::GuardedBody;
use super::model_call::{self, admit_early, convert_options, invalid, model_call, Incoming};
use crate::auth::caller_check::{authorize_api, verify_caller};
use crate::auth::ApiCaller;
use crate::config::Settings;
use crate::convert::anthropic::blocks::collect_remote_image_urls;
use crate::convert::anthropic::body::AnthropicMessagesBody;
use crate::convert::anthropic::dialect::AnthropicDialect;
use crate::convert::anthropic::fallback::FallbackMap;
use crate::convert::anthropic::model::ModelMap;
use crate::convert::anthropic::request::{
    anthropic_to_gemini, count_tokens_to_gemini, model_spec as anthropic_model_spec,
    MessagesRequest,
};
use crate::convert::anthropic::stream::StreamOptions;
use crate::convert::gemini::model_name::ModelSpec;
use crate::convert::gemini::model_name_check::check_model_name;
use crate::convert::gemini::output_limit::clamp_output_tokens;
use crate::convert::gemini::parts::InlineImage;
use crate::error::{ApiError, ErrorKind};
use crate::gateway::count_tokens as upstream_count_tokens;
use crate::gateway::serve;
use crate::state::{AppState, UpstreamClient};
use crate::upstream::classify::{classify, FailureKind};

/// The output limit of a model the catalogue knows no limit for.
const FALLBACK_MAX_OUTPUT_TOKENS: u64 = 65_536;

/// The header every Anthropic SDK sends; it selects the Anthropic form of `/v1/models`.
pub const VERSION_HEADER: &str = "anthropic-version";

/// Remote images in the messages, fetched with the same size limit and SSRF guard as the OpenAI route.
async fn fetch_images(
    client: &UpstreamClient,
    body: &AnthropicMessagesBody,
    settings: &Settings,
) -> Result<HashMap<String, InlineImage>, ApiError> {
    model_call::fetch_images(client, collect_remote_image_urls(body), settings).await
}

/// The header Claude Code names its session with; it keys session affinity (see `messages`).
pub const CLAUDE_CODE_SESSION_HEADER: &str = "x-claude-code-session-id";

pub async fn messages(
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
    let mut body = AnthropicMessagesBody::from_value(json).map_err(invalid)?;
    let models = ModelMap::parse(&settings.anthropic_model_map);
    // The key is checked before anything costs: images, conversion.
    let spec = anthropic_model_spec(&body, &models).map_err(invalid)?;
    admit_early(&state, &caller, &spec).await?;
    let images = fetch_images(&client, &body, &settings).await?;
    let fallbacks = FallbackMap::parse(&settings.anthropic_fallback_map);
    // Base models tried so far, for `fallbacks: "default"` (see `convert::anthropic::fallback`).
    let mut tried: Vec<String> = Vec::new();
    loop {
        let converted = anthropic_to_gemini(&body, &images, &convert_options(&settings), &models)
            .map_err(invalid)?;
        let base = converted.spec.base.clone();
        let wants_fallback = converted.fallbacks;
        tried.push(base.clone());
        let answer =
            serve_converted(&req, &state, &client, &caller, &body, &settings, converted).await;
        let next = match &answer {
            Err(e) if wants_fallback && no_capacity(e, &base, &settings) => {
                fallbacks.next(&base, &tried)
            }
            _ => None,
        };
        let Some(next) = next else {
            return answer;
        };
        log::info!("{base} has no capacity; the client accepts fallbacks, trying {next}");
        body.model = Some(Value::String(next.to_owned()));
    }
}

/// Whether Google refused `base` for capacity (after the retries on other credentials).
fn no_capacity(error: &ApiError, base: &str, settings: &Settings) -> bool {
    let ErrorKind::Upstream(status) = error.kind else {
        return false;
    };
    classify(status, error.upstream_body.as_ref(), base, settings).kind == FailureKind::Capacity
}

/// One converted request through the gateway, answered in Anthropic's shape.
async fn serve_converted(
    req: &HttpRequest,
    state: &AppState,
    client: &UpstreamClient,
    caller: &ApiCaller,
    body: &AnthropicMessagesBody,
    settings: &Settings,
    mut converted: MessagesRequest,
) -> Result<HttpResponse, ApiError> {
    // Claude clients ask for up to 128000 output tokens: lowered to the model's known limit, else to
    // what every current Gemini model writes.
    let limit = state
        .catalogue
        .snapshot()
        .output_limit(&converted.spec.base)
        .unwrap_or(FALLBACK_MAX_OUTPUT_TOKENS);
    clamp_output_tokens(&mut converted.gemini, limit);
    let dialect = AnthropicDialect::new(
        &converted.client_model,
        StreamOptions {
            show_thinking: converted.show_thinking,
            stop_sequences: converted.stop_sequences,
        },
        converted.tool_names,
        settings.heartbeat_interval(),
    );
    let call = model_call(
        req,
        caller.clone(),
        session_name(req, body),
        converted.spec,
        converted.gemini,
        converted.stream,
    );
    serve(state, client, call, dialect).await
}

/// What names the conversation for session affinity: Claude Code's session header, else
/// `metadata.user_id` (older Claude Code put its session there; other clients a user id), else
/// (in `model_call`) `x-session-id` and the conversation's prefix.
fn session_name<'a>(req: &'a HttpRequest, body: &'a AnthropicMessagesBody) -> Option<&'a str> {
    let header = req
        .headers()
        .get(CLAUDE_CODE_SESSION_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.trim().is_empty());
    header.or_else(|| body.user_id())
}

/// Counted by Code Assist `countTokens` on the converted request; nothing is charged.
pub async fn count_tokens(
    body: GuardedBody,
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
) -> Result<HttpResponse, ApiError> {
    let Incoming {
        settings,
        caller,
        json,
    } = Incoming::read(&state, &body)?;
    let body = AnthropicMessagesBody::from_value(json).map_err(invalid)?;
    let models = ModelMap::parse(&settings.anthropic_model_map);
    // The key must exist and may use this model, as for generation (counting itself costs nothing),
    // before any image is downloaded or anything converted.
    let spec = anthropic_model_spec(&body, &models).map_err(invalid)?;
    verify_caller(&state, &caller, Some(&spec.requested)).await?;
    let images = fetch_images(&client, &body, &settings).await?;
    let (spec, request) =
        count_tokens_to_gemini(&body, &images, &convert_options(&settings), &models)
            .map_err(invalid)?;
    let answer = upstream_count_tokens(&state, &client, &spec.base, &request).await?;
    let Some(total) = answer.get("totalTokens").and_then(Value::as_u64) else {
        log::warn!("countTokens answered without totalTokens: {answer}");
        return Err(ApiError::new(
            ErrorKind::BadGateway,
            "Google's token count was unreadable",
        ));
    };
    Ok(HttpResponse::Ok().json(json!({"input_tokens": total})))
}

fn model_entry(id: &str) -> Value {
    json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-01-01T00:00:00Z"})
}

/// `GET /v1/models` for Anthropic clients: the same catalogue in Anthropic's list shape.
pub fn models_list(names: &[String]) -> Value {
    let data: Vec<Value> = names.iter().map(|id| model_entry(id)).collect();
    let first = data.first().and_then(|m| m.get("id")).cloned();
    let last = data.last().and_then(|m| m.get("id")).cloned();
    json!({"data": data, "has_more": false, "first_id": first, "last_id": last})
}

/// `GET /v1/models/{id}` for Anthropic clients: any name the gateway would accept, Claude names
/// included. The path is the Gemini scope's, so the caller renders the errors in Anthropic's style.
pub async fn model_info(req: &HttpRequest, state: &AppState) -> Result<HttpResponse, ApiError> {
    authorize_api(req, state, None).await?;
    let settings = state.settings.current();
    let id = req
        .match_info()
        .get("tail")
        .map(|tail| {
            percent_encoding::percent_decode_str(tail)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let resolved = ModelMap::parse(&settings.anthropic_model_map).resolve(&id);
    if id.trim().is_empty()
        || check_model_name(&id, true).is_err()
        || ModelSpec::parse(&resolved).is_err()
    {
        return Err(ApiError::not_found(format!("model {id:?} not found")));
    }
    Ok(HttpResponse::Ok().json(model_entry(&id)))
}

/// `HEAD /`: Claude Code checks that the base URL answers before its first request.
pub async fn head_root() -> HttpResponse {
    HttpResponse::Ok().finish()
}
