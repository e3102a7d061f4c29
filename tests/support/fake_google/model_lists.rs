//! Model lists, served verbatim page by page (`pageSize`, default 50; `pageToken` from the previous
//! page's `nextPageToken`, which the last page omits):
//!
//! - Gemini API `GET /v1beta/models` with an API key (`x-goog-api-key` or `?key=`), scripted per key
//!   (`set_api_key_models`) → `{"models": [...]}`; keys are checked as on the generate paths;
//! - Vertex `GET /v1beta1/publishers/google/models` with a bearer token (service account) or an
//!   express key, one list for every caller (`set_vertex_models`) → `{"publisherModels": [...]}`.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use base64::Engine;
use serde_json::{json, Value};

use super::bare_apis::known_api_key;
use super::dispatch::{google_error, invalid_credentials, missing_credentials, Call};
use super::state::Shared;

pub(crate) const GEMINI_API_PATH: &str = "/v1beta/models";
pub(crate) const VERTEX_PATH: &str = "/v1beta1/publishers/google/models";

const DEFAULT_PAGE_SIZE: usize = 50;
/// Google caps larger requests to this.
const MAX_PAGE_SIZE: usize = 1000;
/// Page tokens are opaque to clients; this one encodes the offset of the page's first model.
const TOKEN_PREFIX: &str = "offset:";

pub(crate) fn gemini_api(shared: &Shared, call: &Call) -> HttpResponse {
    let key = match known_api_key(shared, call) {
        Ok(key) => key,
        Err(refusal) => return refusal,
    };
    let models = shared
        .lock()
        .api_key_models
        .get(&key)
        .cloned()
        .unwrap_or_default();
    page(call, &models, "models")
}

pub(crate) fn vertex(shared: &Shared, call: &Call) -> HttpResponse {
    match (&call.access_token, &call.api_key) {
        (Some(token), _) => {
            if !shared.lock().accepts_access_token(token) {
                return invalid_credentials();
            }
        }
        (None, Some(_)) => {
            if let Err(refusal) = known_api_key(shared, call) {
                return refusal;
            }
        }
        (None, None) => return missing_credentials(),
    }
    let models = shared.lock().vertex_models.clone();
    page(call, &models, "publisherModels")
}

/// One page of `items` under `field`, with `nextPageToken` while more follow.
fn page(call: &Call, items: &[Value], field: &str) -> HttpResponse {
    let size = match call.query_param("pageSize") {
        None => DEFAULT_PAGE_SIZE,
        Some(text) => match text.parse::<usize>() {
            Ok(0) => DEFAULT_PAGE_SIZE,
            Ok(size) => size.min(MAX_PAGE_SIZE),
            Err(_) => return invalid_argument(&format!("Invalid page size: {text:?}.")),
        },
    };
    let start = match call.query_param("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => match offset_of(&token) {
            Some(offset) => offset,
            None => return invalid_argument("Invalid page token."),
        },
    };
    let listed: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
    let end = start.saturating_add(listed.len());
    let mut body = json!({ field: listed });
    if end < items.len() {
        body["nextPageToken"] = json!(token_for(end));
    }
    HttpResponse::Ok().json(body)
}

fn token_for(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{offset}"))
}

fn offset_of(token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix(TOKEN_PREFIX)?
        .parse()
        .ok()
}

fn invalid_argument(message: &str) -> HttpResponse {
    google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
}
