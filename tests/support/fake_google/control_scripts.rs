//! Control routes for what the credential scout reads and for the refusals: the HTTP twins of
//! `set_quota_buckets` / `set_quota_failure`, `set_credits`, `refuse_pattern`, `set_api_key_models` /
//! `set_vertex_models` and `refuse_thinking_level` (the routes are listed in `control.rs`).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

use super::control::parse;
use super::refusals::bare_model;
use super::state::Shared;

/// Distinguishes a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

fn refuse(message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": message }))
}

fn ok() -> HttpResponse {
    HttpResponse::Ok().json(json!({"ok": true}))
}

/// Scripts are served verbatim, so each must at least be a JSON object as Google's are.
fn objects(items: Vec<Map<String, Value>>) -> Vec<Value> {
    items.into_iter().map(Value::Object).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuotaBody {
    project: String,
    buckets: Option<Vec<Map<String, Value>>>,
    #[serde(default, deserialize_with = "present")]
    fail_status: Option<Option<u16>>,
}

/// `POST /__fake/quota` `{"project", "buckets": [...]}` and/or `{"project", "fail_status": 500 | null}`.
pub(crate) async fn set_quota(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let request: QuotaBody = match parse(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    if request.buckets.is_none() && request.fail_status.is_none() {
        return refuse("give \"buckets\" or \"fail_status\"");
    }
    if let Some(Some(status)) = request.fail_status {
        if !(400..=599).contains(&status) {
            return refuse("\"fail_status\" must be an HTTP error status (400 to 599)");
        }
    }
    let mut state = shared.lock();
    if let Some(buckets) = request.buckets {
        state
            .quota_buckets
            .insert(request.project.clone(), objects(buckets));
    }
    match request.fail_status {
        Some(Some(status)) => {
            state.quota_failures.insert(request.project, status);
        }
        Some(None) => {
            state.quota_failures.remove(&request.project);
        }
        None => {}
    }
    ok()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditsBody {
    project: String,
    amount: i64,
}

/// `POST /__fake/credits` `{"project", "amount"}`.
pub(crate) async fn set_credits(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let request: CreditsBody = match parse(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    if request.amount < 0 {
        return refuse("\"amount\" must not be negative");
    }
    shared
        .lock()
        .credits
        .insert(request.project, request.amount);
    ok()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternBody {
    pattern: Option<String>,
}

/// `POST /__fake/refuse-pattern` `{"pattern": "…" | null}`.
pub(crate) async fn set_refuse_pattern(
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let request: PatternBody = match parse(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    shared.lock().refuse_pattern = request.pattern.filter(|p| !p.is_empty());
    ok()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsBody {
    api_key: Option<String>,
    #[serde(default)]
    vertex: bool,
    models: Vec<Map<String, Value>>,
}

/// `POST /__fake/models` `{"api_key", "models"}` or `{"vertex": true, "models"}`.
pub(crate) async fn set_models(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let request: ModelsBody = match parse(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    let models = objects(request.models);
    let mut state = shared.lock();
    match (request.api_key, request.vertex) {
        (Some(key), false) => {
            state.api_key_models.insert(key, models);
        }
        (None, true) => state.vertex_models = models,
        _ => return refuse("give either \"api_key\" or \"vertex\": true"),
    }
    ok()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThinkingRefusalBody {
    model: String,
    level: String,
}

/// `POST /__fake/thinking-refusals` `{"model", "level"}`; answers the levels now refused for the model.
pub(crate) async fn add_thinking_refusal(
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let request: ThinkingRefusalBody = match parse(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    if request.model.is_empty() || request.level.is_empty() {
        return refuse("\"model\" and \"level\" must not be empty");
    }
    let mut state = shared.lock();
    let refused = state
        .thinking_refusals
        .entry(bare_model(&request.model).to_owned())
        .or_default();
    refused.insert(request.level.to_ascii_uppercase());
    HttpResponse::Ok().json(json!({ "refused": refused.iter().collect::<Vec<_>>() }))
}
