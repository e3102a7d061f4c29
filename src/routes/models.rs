//! Model lists: OpenAI form at `/v1/models` (Anthropic form when `anthropic-version` is sent), Gemini form at `/v1beta/models` (and `/v1beta/models/{m}`).

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::auth::caller_check::authorize_api;
use crate::convert::gemini::model_name::{model_catalogue, ModelSpec};
use crate::error::{ApiError, ErrorStyle};
use crate::fleet::catalogue::Catalogue;
use crate::state::AppState;

/// Fixed so that repeated listings are identical (clients cache by it).
const CREATED: i64 = 1_735_689_600;

/// The catalogue as the model lists show it: rebuilt first if the fleet or the settings changed.
pub fn current_catalogue(state: &AppState) -> Arc<Catalogue> {
    let settings = state.settings.current();
    state
        .catalogue
        .fresh(&state.fleet, &settings, state.clock.now())
}

/// Every name the lists advertise: the catalogue's ids with their feature variants.
pub fn listed_names(catalogue: &Catalogue) -> Vec<String> {
    model_catalogue(&catalogue.ids())
}

pub async fn openai_models(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if req.headers().contains_key(super::anthropic::VERSION_HEADER) {
        // Anthropic's SDK lists models at this OpenAI scope's path, known by its header: its
        // answer, errors included, is Anthropic's.
        authorize_api(&req, &state, None)
            .await
            .map_err(|e| e.with_style(ErrorStyle::Anthropic))?;
        let names = listed_names(&current_catalogue(&state));
        return Ok(HttpResponse::Ok().json(super::anthropic::models_list(&names)));
    }
    authorize_api(&req, &state, None).await?;
    let data: Vec<Value> = listed_names(&current_catalogue(&state))
        .into_iter()
        .map(|id| json!({"id": id, "object": "model", "created": CREATED, "owned_by": "google"}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"object": "list", "data": data})))
}

/// Used where no model list says otherwise: what current Gemini models take.
const DEFAULT_INPUT_LIMIT: u64 = 1_048_576;
const DEFAULT_OUTPUT_LIMIT: u64 = 65_536;
const DEFAULT_METHODS: [&str; 3] = ["generateContent", "streamGenerateContent", "countTokens"];

/// The Gemini-shaped entry of `id` (a base id or one of its variants), with what the catalogue knows
/// of its base model.
pub fn gemini_model_entry(id: &str, catalogue: &Catalogue) -> Value {
    let base = ModelSpec::parse(id)
        .map(|s| s.base)
        .unwrap_or_else(|_| id.to_string());
    let known = catalogue.get(&base);
    let methods: Vec<&str> = match known {
        Some(model) if !model.methods.is_empty() => {
            model.methods.iter().map(String::as_str).collect()
        }
        _ => DEFAULT_METHODS.to_vec(),
    };
    let mut entry = json!({
        "name": format!("models/{id}"),
        "baseModelId": base,
        "version": "001",
        "displayName": known
            .and_then(|m| m.display_name.as_deref())
            .filter(|_| id == base)
            .unwrap_or(id),
        "description": format!("Gemini {base} through gcli2api"),
        "inputTokenLimit": known.and_then(|m| m.input_token_limit).unwrap_or(DEFAULT_INPUT_LIMIT),
        "outputTokenLimit": known.and_then(|m| m.output_token_limit).unwrap_or(DEFAULT_OUTPUT_LIMIT),
        "supportedGenerationMethods": methods,
    });
    if let (Some(thinking), Some(map)) = (known.and_then(|m| m.thinking), entry.as_object_mut()) {
        map.insert("thinking".into(), json!(thinking));
    }
    entry
}

pub async fn gemini_models(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize_api(&req, &state, None).await?;
    let catalogue = current_catalogue(&state);
    let models: Vec<Value> = listed_names(&catalogue)
        .iter()
        .map(|id| gemini_model_entry(id, &catalogue))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"models": models})))
}
