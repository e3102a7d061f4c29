//! What the model routes (`/v1/chat/completions`, `/v1/responses`, `/v1/messages`) do around their own
//! conversion: read the body with its caller and the settings of the moment, fetch the remote images
//! it names, and hand the converted request to the gateway as a `ModelCall` with its session key.
//! Each route keeps only what its dialect decides: the conversion, the dialect, the body's session key.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::HttpRequest;
use base64::Engine;
use serde_json::Value;

use super::body::parse_json;
use super::guarded_body::GuardedBody;
use crate::auth::ApiCaller;
use crate::config::Settings;
use crate::convert::model_name::ModelSpec;
use crate::convert::openai_request::InlineImage;
use crate::convert::session_key::{SessionKey, SessionParts};
use crate::convert::{ConvertError, ConvertOptions};
use crate::error::{ApiError, ErrorStyle};
use crate::gateway::{session_header, ModelCall};
use crate::state::{AppState, UpstreamClient};
use crate::upstream::image_fetch::{fetch_image, ImageFetchPolicy};

/// A model route's request once its body is read.
pub(super) struct Incoming {
    /// Read once, so one request sees one configuration even if it is saved meanwhile.
    pub settings: Arc<Settings>,
    /// Authenticated and size-checked before the body was read (see `guarded_body`).
    pub caller: ApiCaller,
    /// The body, a JSON object.
    pub json: Value,
}

impl Incoming {
    /// A body that is not a JSON object is answered 400 in `style`.
    pub fn read(state: &AppState, body: &GuardedBody, style: ErrorStyle) -> Result<Self, ApiError> {
        let settings = state.settings.current();
        let caller = body.caller.clone();
        let json = parse_json(body, style)?;
        Ok(Self {
            settings,
            caller,
            json,
        })
    }
}

pub(super) fn convert_options(settings: &Settings) -> ConvertOptions {
    ConvertOptions {
        compatibility_mode: settings.compatibility_mode,
        return_thoughts: settings.return_thoughts_to_frontend,
    }
}

/// A request the conversion refused, as a 400 in `style`.
pub(super) fn invalid(style: ErrorStyle) -> impl Fn(ConvertError) -> ApiError {
    move |e| ApiError::bad_request(e.to_string()).with_style(style)
}

/// Fetches the remote images `urls` for conversion, with the configured size limit and SSRF guard
/// (nothing is fetched for none), answering a refused image in the calling route's `style`.
pub(super) async fn fetch_images(
    client: &UpstreamClient,
    urls: Vec<String>,
    settings: &Settings,
    style: ErrorStyle,
) -> Result<HashMap<String, InlineImage>, ApiError> {
    let policy = ImageFetchPolicy {
        max_bytes: settings.image_fetch_max_bytes,
        allow_private: settings.image_fetch_allow_private,
        ..ImageFetchPolicy::default()
    };
    let mut images = HashMap::new();
    for url in urls {
        let (mime_type, bytes) = fetch_image(&client.0, &url, &policy).await.map_err(|e| {
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

/// The converted request as the gateway's call. Its session (affinity, see `convert::session_key`)
/// is named by the body's own `client_key`, else the `x-session-id` header, else the conversation's
/// prefix.
pub(super) fn model_call(
    req: &HttpRequest,
    caller: ApiCaller,
    client_key: Option<&str>,
    spec: ModelSpec,
    gemini: Value,
    stream: bool,
) -> ModelCall {
    let session = SessionKey::of(SessionParts {
        client_key,
        header: session_header(req.headers()),
        model: &spec.base,
        gemini_request: &gemini,
    });
    ModelCall {
        caller,
        requested_model: spec.requested,
        base_model: spec.base,
        request: gemini,
        stream,
        mode: spec.mode,
        session,
    }
}
