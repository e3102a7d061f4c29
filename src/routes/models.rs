//! Model lists: OpenAI form at `/v1/models` (Anthropic form when `anthropic-version` is sent), Gemini form at `/v1beta/models` (and `/v1beta/models/{m}`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::auth::caller_check::authorize_api;
use crate::convert::model_name::{model_catalogue, ModelSpec};
use crate::error::{ApiError, ErrorStyle};
use crate::state::AppState;

/// Fixed so that repeated listings are identical (clients cache by it).
const CREATED: i64 = 1_735_689_600;

pub async fn openai_models(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.current();
    if req.headers().contains_key(super::anthropic::VERSION_HEADER) {
        authorize_api(&req, &state, None, ErrorStyle::Anthropic).await?;
        return Ok(HttpResponse::Ok().json(super::anthropic::models_list(&settings)));
    }
    authorize_api(&req, &state, None, ErrorStyle::OpenAi).await?;
    let data: Vec<Value> = model_catalogue(&settings.base_models)
        .into_iter()
        .map(|id| json!({"id": id, "object": "model", "created": CREATED, "owned_by": "google"}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"object": "list", "data": data})))
}

pub fn gemini_model_entry(id: &str) -> Value {
    let base = ModelSpec::parse(id)
        .map(|s| s.base)
        .unwrap_or_else(|_| id.to_string());
    json!({
        "name": format!("models/{id}"),
        "baseModelId": base,
        "version": "001",
        "displayName": id,
        "description": format!("Gemini {base} through gcli2api"),
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    })
}

pub async fn gemini_models(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize_api(&req, &state, None, ErrorStyle::Google).await?;
    let settings = state.settings.current();
    let models: Vec<Value> = model_catalogue(&settings.base_models)
        .iter()
        .map(|id| gemini_model_entry(id))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"models": models})))
}
