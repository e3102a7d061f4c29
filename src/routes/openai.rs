//! `POST /v1/chat/completions`: OpenAI chat in, Gemini through Code Assist, OpenAI chat out. A Gemini-format
//! body (`contents`, …) posted here is recognised and answered in OpenAI format too.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use base64::Engine;

use super::body::parse_json;
use super::guarded_body::GuardedBody;
use crate::convert::detect::{gemini_body_as_chat, is_gemini_body};
use crate::convert::model_name::StreamMode;
use crate::convert::openai_request::{collect_remote_image_urls, openai_to_gemini, InlineImage};
use crate::convert::openai_response::{
    gemini_to_openai_completion, OpenAiStreamConverter, ResponseOptions,
};
use crate::convert::openai_tools::restore_tool_names;
use crate::convert::ConvertOptions;
use crate::error::{ApiError, ErrorStyle};
use crate::gateway::calls::{generate, open_stream, Job};
use crate::gateway::client_stream::{relay, OpenAiDialect};
use crate::gateway::quota_gate::charge;
use crate::gateway::{AppState, UpstreamClient};
use crate::streaming::anti_truncation_driver::anti_truncation_stream;
use crate::streaming::fake_driver::{fake_stream, sse_response};
use crate::upstream::image_fetch::{fetch_image, ImageFetchPolicy};

const STYLE: ErrorStyle = ErrorStyle::OpenAi;

async fn fetch_images(
    client: &UpstreamClient,
    urls: Vec<String>,
    policy: &ImageFetchPolicy,
) -> Result<HashMap<String, InlineImage>, ApiError> {
    let mut images = HashMap::new();
    for url in urls {
        let (mime_type, bytes) = fetch_image(&client.0, &url, policy).await.map_err(|e| {
            ApiError::bad_request(format!("image_url {url} could not be used: {e}"))
                .with_style(STYLE)
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
            fetch_images(&client, urls, &policy).await?
        };
        openai_to_gemini(&json, &images, &opts)
    }
    .map_err(|e| ApiError::bad_request(e.to_string()).with_style(STYLE))?;

    let mut quota = charge(&state, &caller, &chat.spec.requested, STYLE).await?;
    let base = chat.spec.base.clone();
    let response_opts = ResponseOptions {
        return_thoughts: settings.return_thoughts_to_frontend,
    };
    let state = state.get_ref().clone();
    let client = client.get_ref().clone();
    if !chat.stream {
        let mut response = generate(&state, &client, &base, &chat.gemini)
            .await
            .map_err(|e| ApiError::from(e).with_style(STYLE))?;
        restore_tool_names(&mut response, &chat.tool_names);
        if let Some(q) = quota.as_mut() {
            q.commit();
        }
        let out = gemini_to_openai_completion(&response, &chat.spec.display, &response_opts);
        return Ok(HttpResponse::Ok().json(out));
    }
    let dialect = OpenAiDialect {
        converter: OpenAiStreamConverter::new(
            &chat.spec.display,
            response_opts,
            chat.include_usage,
        ),
        tool_names: chat.tool_names,
    };
    let job = Job {
        state,
        client,
        base_model: base,
        request: chat.gemini,
    };
    match chat.spec.mode {
        StreamMode::Fake => {
            let interval: Duration = settings.heartbeat_interval();
            fake_stream(job, dialect, STYLE, interval, quota).await
        }
        StreamMode::AntiTruncation => anti_truncation_stream(job, dialect, STYLE, quota).await,
        StreamMode::Normal => {
            let (first, events) =
                open_stream(&job.state, &job.client, &job.base_model, &job.request)
                    .await
                    .map_err(|e| ApiError::from(e).with_style(STYLE))?;
            Ok(sse_response().streaming(relay(first, events, dialect, quota)))
        }
    }
}
