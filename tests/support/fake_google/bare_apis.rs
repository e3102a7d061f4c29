//! The Generative Language API (`/v1beta/models/{m}:*`, AI Studio keys) and Vertex AI
//! (`/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:*` with a service account's bearer
//! token, `/v1/publishers/google/models/{m}:*` with an express key). Bodies and answers are bare (no
//! Code Assist envelope); replies are scripted like Code Assist ones, keyed by the API key or, for a
//! service account, the project in the path. Keys must be registered (`add_api_key`); an unknown key
//! answers 400 `API_KEY_INVALID` as Google does.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::code_assist;
use super::dispatch::Call;
use super::state::Shared;

/// Which API a path belongs to, and what identifies the caller's scripting queue.
pub(crate) struct BareTarget {
    pub(crate) model: String,
    pub(crate) method: String,
    /// The Vertex project of a service-account path; `None` for key-authenticated APIs.
    pub(crate) project: Option<String>,
}

/// Parses the three bare API path families.
pub(crate) fn target(path: &str) -> Option<BareTarget> {
    let (project, rest) = if let Some(rest) = path.strip_prefix("/v1beta/models/") {
        (None, rest)
    } else if let Some(rest) = path.strip_prefix("/v1/publishers/google/models/") {
        (None, rest)
    } else {
        let rest = path.strip_prefix("/v1/projects/")?;
        let (project, rest) = rest.split_once("/locations/")?;
        let (_location, rest) = rest.split_once("/publishers/google/models/")?;
        (Some(project.to_owned()), rest)
    };
    let (model, method) = rest.split_once(':')?;
    if model.is_empty() || model.contains('/') {
        return None;
    }
    Some(BareTarget {
        model: model.to_owned(),
        method: method.to_owned(),
        project,
    })
}

/// The scripting key of a bare call: the project of a service account, else the API key.
pub(crate) fn scope(call: &Call) -> Option<String> {
    let target = target(&call.path)?;
    target.project.or_else(|| call.api_key.clone())
}

pub(crate) async fn handle(shared: &Arc<Shared>, call: &Call, target: BareTarget) -> HttpResponse {
    let scope = match &target.project {
        Some(project) => {
            let ok = call
                .access_token
                .as_deref()
                .is_some_and(|t| shared.lock().accepts_access_token(t));
            if !ok {
                return super::dispatch::invalid_credentials();
            }
            project.clone()
        }
        None => match known_api_key(shared, call) {
            Ok(key) => key,
            Err(refusal) => return refusal,
        },
    };
    match target.method.as_str() {
        "generateContent" | "streamGenerateContent" => {
            if call.body.get("contents").is_none() {
                return super::dispatch::google_error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_ARGUMENT",
                    "Invalid JSON payload: missing field \"contents\".",
                );
            }
            if let Some(refusal) = refuse_unknown_fields(call) {
                return refusal;
            }
            // The shared generator reads the Code Assist envelope; give it one and answer bare.
            let enveloped = Call {
                method: call.method.clone(),
                path: call.path.clone(),
                query: call.query.clone(),
                body: json!({"model": target.model, "project": scope, "request": call.body}),
                raw_body: call.raw_body.clone(),
                access_token: call.access_token.clone(),
                api_key: call.api_key.clone(),
            };
            let stream = target.method == "streamGenerateContent";
            code_assist::generate_as(shared, &enveloped, stream, true).await
        }
        "countTokens" => code_assist::count_tokens(shared, call),
        _ => super::dispatch::google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested URL was not found on this server.",
        ),
    }
}

/// The caller's API key when Google knows it; else Google's answer: 403 without a key, 400
/// `API_KEY_INVALID` for a key never registered (`add_api_key`).
pub(crate) fn known_api_key(shared: &Shared, call: &Call) -> Result<String, HttpResponse> {
    let Some(key) = call.api_key.clone() else {
        return Err(HttpResponse::Forbidden().json(json!({"error": {
            "code": 403, "status": "PERMISSION_DENIED",
            "message": "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        }})));
    };
    if !shared.lock().api_keys.contains(&key) {
        return Err(HttpResponse::BadRequest().json(api_key_invalid()));
    }
    Ok(key)
}

/// Like Google, the public APIs refuse request fields only Code Assist knows: image safety
/// categories everywhere, `HARM_CATEGORY_JAILBREAK` and `labels` on the Gemini API.
fn refuse_unknown_fields(call: &Call) -> Option<HttpResponse> {
    let gemini_api = call.path.starts_with("/v1beta/");
    let settings = call.body.get("safetySettings").and_then(Value::as_array);
    for (i, setting) in settings.into_iter().flatten().enumerate() {
        let category = setting
            .get("category")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let refused = category.starts_with("HARM_CATEGORY_IMAGE_")
            || (gemini_api && category == "HARM_CATEGORY_JAILBREAK");
        if refused {
            return Some(super::dispatch::google_error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                &format!("Invalid value at 'safety_settings[{i}].category', \"{category}\""),
            ));
        }
    }
    if gemini_api && call.body.get("labels").is_some() {
        return Some(super::dispatch::google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Invalid JSON payload received. Unknown name \"labels\": Cannot find field.",
        ));
    }
    None
}

/// Google's answer to a key it does not know.
pub fn api_key_invalid() -> Value {
    json!({"error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"},
        }],
    }})
}
