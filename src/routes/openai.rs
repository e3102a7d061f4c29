//! `POST /v1/chat/completions`: OpenAI chat in, Gemini through Code Assist, OpenAI chat out. A Gemini-format
//! body (`contents`, …) posted here is recognised and answered in OpenAI format too.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::guarded_body::GuardedBody;
use super::model_call::{
    admit_early, convert_options, fetch_images, invalid, model_call, named_model, Incoming,
};
use crate::convert::openai_chat::detect::{gemini_body_as_chat, is_gemini_body, DEFAULT_MODEL};
use crate::convert::openai_chat::dialect::OpenAiDialect;
use crate::convert::openai_chat::request::{collect_remote_image_urls, openai_to_gemini};
use crate::convert::openai_chat::response::ResponseOptions;
use crate::error::ApiError;
use crate::gateway::serve;
use crate::state::{AppState, UpstreamClient};

pub async fn chat_completions(
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
    // The key is checked before anything costs: images, conversion.
    let gemini_body = is_gemini_body(&json);
    let spec = named_model(&json, gemini_body.then_some(DEFAULT_MODEL))?;
    admit_early(&state, &caller, &spec).await?;
    let opts = convert_options(&settings);
    let chat = if gemini_body {
        gemini_body_as_chat(&json, &opts)
    } else {
        let urls = collect_remote_image_urls(&json);
        let images = fetch_images(&client, urls, &settings).await?;
        openai_to_gemini(&json, &images, &opts)
    }
    .map_err(invalid)?;

    let dialect = OpenAiDialect::new(
        &chat.spec.display,
        ResponseOptions {
            return_thoughts: settings.return_thoughts_to_frontend,
        },
        chat.include_usage,
        chat.tool_names,
    );
    // Session affinity: `prompt_cache_key`, else `x-session-id`, else the conversation's prefix.
    let cache_key = match json.get("prompt_cache_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) => Some(key.as_str()),
        Some(_) => return Err(ApiError::bad_request("prompt_cache_key: must be a string")),
    };
    let call = model_call(&req, caller, cache_key, chat.spec, chat.gemini, chat.stream);
    serve(&state, &client, call, dialect).await
}
