//! `POST /v1/chat/completions`: OpenAI chat in, Gemini through Code Assist, OpenAI chat out. A Gemini-format
//! body (`contents`, …) posted here is recognised and answered in OpenAI format too.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde_json::Value;

use super::body::parse_json;
use super::guarded_body::GuardedBody;
use crate::convert::detect::{gemini_body_as_chat, is_gemini_body};
use crate::convert::openai_dialect::OpenAiDialect;
use crate::convert::openai_request::{collect_remote_image_urls, openai_to_gemini, InlineImage};
use crate::convert::openai_response::ResponseOptions;
use crate::convert::session_key::{SessionKey, SessionParts};
use crate::convert::ConvertOptions;
use crate::error::{ApiError, ErrorStyle};
use crate::gateway::{serve, session_header, ModelCall};
use crate::state::{AppState, UpstreamClient};
use crate::upstream::image_fetch::{fetch_image, ImageFetchPolicy};

const STYLE: ErrorStyle = ErrorStyle::OpenAi;

/// Fetches remote images for conversion (also used by the Responses and Anthropic routes), answering a
/// refused image in the calling route's `style`.
pub(super) async fn fetch_images(
    client: &UpstreamClient,
    urls: Vec<String>,
    policy: &ImageFetchPolicy,
    style: ErrorStyle,
) -> Result<HashMap<String, InlineImage>, ApiError> {
    let mut images = HashMap::new();
    for url in urls {
        let (mime_type, bytes) = fetch_image(&client.0, &url, policy).await.map_err(|e| {
            ApiError::bad_request(format!("image {url} could not be used: {e}")).with_style(style)
        })?;
        let data_base64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        images.insert(
            url,
            InlineImage {
                mime_type,
                data_base64,
            },
        );
    }
    Ok(images)
}

pub async fn chat_completions(
    req: HttpRequest,
    body: GuardedBody,
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.current();
    let caller = body.caller.clone();
    let json = parse_json(&body, STYLE)?;
    let opts = ConvertOptions {
        compatibility_mode: settings.compatibility_mode,
        return_thoughts: settings.return_thoughts_to_frontend,
    };
    let chat = if is_gemini_body(&json) {
        gemini_body_as_chat(&json, &opts)
    } else {
        let urls = collect_remote_image_urls(&json);
        let images = if urls.is_empty() {
            HashMap::new()
        } else {
            let policy = ImageFetchPolicy {
                max_bytes: settings.image_fetch_max_bytes,
                allow_private: settings.image_fetch_allow_private,
                ..ImageFetchPolicy::default()
            };
            fetch_images(&client, urls, &policy, STYLE).await?
        };
        openai_to_gemini(&json, &images, &opts)
    }
    .map_err(|e| ApiError::bad_request(e.to_string()).with_style(STYLE))?;

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
        Some(_) => {
            return Err(
                ApiError::bad_request("prompt_cache_key: must be a string").with_style(STYLE)
            )
        }
    };
    let session = SessionKey::of(SessionParts {
        client_key: cache_key,
        header: session_header(req.headers()),
        model: &chat.spec.base,
        gemini_request: &chat.gemini,
    });
    let call = ModelCall {
        caller,
        requested_model: chat.spec.requested,
        base_model: chat.spec.base,
        request: chat.gemini,
        stream: chat.stream,
        mode: chat.spec.mode,
        session,
    };
    serve(&state, &client, call, dialect).await
}
