//! Gemini-native routes: `POST /v1beta/models/{model}:{generateContent|streamGenerateContent|countTokens}`
//! (also under `/v1/`). The model segment may carry a feature prefix with a `/` (`假流式/gemini-2.5-pro`),
//! percent-encoded or not.

use actix_web::{web, HttpRequest, HttpResponse};
use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::body::parse_json;
use super::guarded_body::GuardedBody;
use super::models::{current_catalogue, gemini_model_entry};
use crate::auth::authenticate_api;
use crate::auth::caller_check::verify_caller;
use crate::convert::gemini::model_name::ModelSpec;
use crate::convert::gemini::request::{count_tokens_request, prepare_native_request};
use crate::convert::gemini_native::dialect::GeminiDialect;
use crate::convert::input_limits::check_input_limits;
use crate::convert::session_key::{SessionKey, SessionParts};
use crate::convert::session_trajectory::SESSION_ID_FIELD;
use crate::convert::ConvertOptions;
use crate::error::{ApiError, ErrorKind, ErrorStyle};
use crate::gateway::count_tokens;
use crate::gateway::model_not_found::not_found;
use crate::gateway::quota_gate::precheck;
use crate::gateway::{serve, session_header, ModelCall};
use crate::state::{AppState, UpstreamClient};

/// `<model>:<method>` from the raw path, decoded.
fn model_and_method(req: &HttpRequest) -> Result<(String, Option<String>), ApiError> {
    let path = req.uri().path();
    let tail = path
        .strip_prefix("/v1beta/models/")
        .or_else(|| path.strip_prefix("/v1/models/"))
        .unwrap_or_default();
    let tail = percent_decode_str(tail)
        .decode_utf8()
        .map_err(|_| ApiError::bad_request("model name is not valid UTF-8"))?;
    let (model, method) = match tail.rsplit_once(':') {
        Some((m, method)) => (m.to_string(), Some(method.to_string())),
        None => (tail.to_string(), None),
    };
    let model = model.strip_prefix("models/").unwrap_or(&model).to_string();
    if model.trim().is_empty() {
        return Err(ApiError::bad_request("model name is missing"));
    }
    Ok((model, method))
}

pub async fn model_info(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if req.headers().contains_key(super::anthropic::VERSION_HEADER) {
        // Anthropic's SDK asks at this scope's path, known by its header: its answer, errors
        // included, is Anthropic's.
        return super::anthropic::model_info(&req, &state)
            .await
            .map_err(|e| e.with_style(ErrorStyle::Anthropic));
    }
    let settings = state.settings.current();
    let caller = authenticate_api(&req, &settings)?;
    let (model, method) = model_and_method(&req)?;
    // The name is checked before any use, the key's allow-list included.
    let base = ModelSpec::parse(&model)
        .map(|spec| spec.base)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    verify_caller(&state, &caller, Some(&model)).await?;
    if method.is_some() {
        return Err(ApiError::new(
            ErrorKind::MethodNotAllowed,
            "use POST for model methods",
        ));
    }
    let catalogue = current_catalogue(&state);
    if !catalogue.may_serve(&base) {
        let closest = catalogue.closest(&base);
        return Err(not_found(&base, &closest));
    }
    Ok(HttpResponse::Ok().json(gemini_model_entry(&model, &catalogue)))
}

pub async fn model_method(
    req: HttpRequest,
    body: GuardedBody,
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.current();
    let caller = body.caller.clone();
    let (model, method) = model_and_method(&req)?;
    let method = method.unwrap_or_default();
    if !matches!(
        method.as_str(),
        "generateContent" | "streamGenerateContent" | "countTokens"
    ) {
        return Err(ApiError::not_found(format!(
            "unknown method {method:?}; use generateContent, streamGenerateContent or countTokens"
        )));
    }
    let spec = ModelSpec::parse(&model).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let json = parse_json(&body)?;
    check_input_limits(&json).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if method == "countTokens" {
        // Free, but only for a caller whose key may use this model (see README, Security).
        verify_caller(&state, &caller, Some(&spec.requested)).await?;
        let request = count_tokens_request(&json, &spec.base)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let answer = count_tokens(&state, &client, &spec.base, &request).await?;
        return Ok(HttpResponse::Ok().json(answer));
    }
    // The key is checked before the request is prepared.
    precheck(&state, &caller, &spec.requested).await?;
    let opts = ConvertOptions {
        compatibility_mode: settings.compatibility_mode,
        return_thoughts: settings.return_thoughts_to_frontend,
    };
    let request = prepare_native_request(json, &spec, &opts)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    // Session affinity: the body's own `session_id` (the Gemini CLI's), else `x-session-id`, else
    // the conversation's prefix.
    let session = SessionKey::of(SessionParts {
        client_key: request.get(SESSION_ID_FIELD).and_then(Value::as_str),
        header: session_header(req.headers()),
        model: &spec.base,
        gemini_request: &request,
    });
    let call = ModelCall {
        caller,
        requested_model: spec.requested,
        base_model: spec.base,
        request,
        stream: method == "streamGenerateContent",
        mode: spec.mode,
        session,
    };
    serve(&state, &client, call, GeminiDialect).await
}
