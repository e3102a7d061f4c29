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
use crate::convert::gemini::model_name::ModelSpec;
use crate::convert::gemini::parts::InlineImage;
use crate::convert::input_limits::{check_input_limits, MAX_REMOTE_IMAGES};
use crate::convert::session_key::{SessionKey, SessionParts};
use crate::convert::{ConvertError, ConvertOptions};
use crate::error::ApiError;
use crate::gateway::quota_gate::precheck;
use crate::gateway::{session_header, ModelCall};
use crate::state::{AppState, UpstreamClient};
use crate::upstream::image_fetch::{fetch_image, ImageFetchError, ImageFetchPolicy};

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
    /// A body that is not a JSON object, or past the input limits (`convert::input_limits`), is
    /// answered 400.
    pub fn read(state: &AppState, body: &GuardedBody) -> Result<Self, ApiError> {
        let settings = state.settings.current();
        let caller = body.caller.clone();
        let json = parse_json(body)?;
        check_input_limits(&json).map_err(invalid)?;
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

/// A request the conversion refused, as a 400.
pub(super) fn invalid(e: ConvertError) -> ApiError {
    ApiError::bad_request(e.to_string())
}

/// The model `json` names (`model`, a string), as its key is charged; `default` for a body that may
/// name none. Read before anything costs, so the key can be checked first ([`admit_early`]).
pub(super) fn named_model(json: &Value, default: Option<&str>) -> Result<ModelSpec, ApiError> {
    let model = match (json.get("model"), default) {
        (Some(Value::String(model)), _) => model.as_str(),
        (None | Some(Value::Null), Some(default)) => default,
        (None | Some(Value::Null), None) => {
            return Err(invalid(ConvertError::invalid("model", "is required")))
        }
        (Some(_), _) => return Err(invalid(ConvertError::invalid("model", "must be a string"))),
    };
    ModelSpec::parse(model).map_err(invalid)
}

/// Refuses a request whose key could not pay for `spec` (unknown, expired, model not
/// allowed, no slot, no balance) before any image is downloaded or anything converted.
pub(super) async fn admit_early(
    state: &AppState,
    caller: &ApiCaller,
    spec: &ModelSpec,
) -> Result<(), ApiError> {
    precheck(state, caller, &spec.requested).await
}

/// A URL as an error message shows it: at most this many characters.
const URL_SHOWN: usize = 100;

/// Fetches the remote images `urls` for conversion, with the configured size limits (each image,
/// and `MAX_IMAGE_BYTES_PER_REQUEST` together) and SSRF guard (nothing is fetched for none).
pub(super) async fn fetch_images(
    client: &UpstreamClient,
    urls: Vec<String>,
    settings: &Settings,
) -> Result<HashMap<String, InlineImage>, ApiError> {
    if urls.len() > MAX_REMOTE_IMAGES {
        return Err(ApiError::bad_request(format!(
            "a request may name at most {MAX_REMOTE_IMAGES} image URLs"
        )));
    }
    let mut left = settings.max_image_bytes_per_request;
    let mut images = HashMap::new();
    for url in urls {
        let shown: String = url.chars().take(URL_SHOWN).collect();
        if left == 0 {
            return Err(too_many_image_bytes(settings));
        }
        // Each download stops at what is left of the request's budget.
        let policy = ImageFetchPolicy {
            max_bytes: settings.image_fetch_max_bytes.min(left),
            allow_private: settings.image_fetch_allow_private,
            ..ImageFetchPolicy::default()
        };
        let fetched = fetch_image(&client.0, &url, &policy).await;
        let (mime_type, bytes) = match fetched {
            Ok(image) => image,
            Err(ImageFetchError::TooLarge) if policy.max_bytes < settings.image_fetch_max_bytes => {
                return Err(too_many_image_bytes(settings))
            }
            Err(e) => {
                return Err(ApiError::bad_request(format!(
                    "image {shown} could not be used: {e}"
                )))
            }
        };
        left = left.saturating_sub(bytes.len());
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

fn too_many_image_bytes(settings: &Settings) -> ApiError {
    ApiError::bad_request(format!(
        "the images of one request may total at most {} bytes (MAX_IMAGE_BYTES_PER_REQUEST)",
        settings.max_image_bytes_per_request
    ))
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
