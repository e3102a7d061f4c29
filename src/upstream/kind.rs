//! One upstream call for a credential of any kind: the kind picks the envelope, URL and auth; the
//! request is the same Gemini request and the answer the same (unwrapped) Gemini response. The gateway
//! calls only this; `code_assist`, `gemini_api` and `vertex` each know one API.

use std::borrow::Cow;
use std::time::Duration;

use serde_json::{json, Value};

use super::code_assist::{self, StreamResponse};
use super::gemini_api::{self, Auth};
use super::model_alias::sent_model;
use super::vertex::{self, Target};
use super::UpstreamError;
use crate::config::Settings;
use crate::convert::gemini::features::EnvelopeRef;
use crate::convert::session_trajectory::SESSION_ID_FIELD;
use crate::credentials::{CredentialKind, Endpoint};

/// The credential a call goes out with, as its lease describes it.
#[derive(Debug, Clone, Copy)]
pub struct Credential<'a> {
    pub kind: CredentialKind,
    /// OAuth / service-account access token, or the API key itself.
    pub token: &'a str,
    /// The Code Assist or Vertex project (empty for keys).
    pub project: &'a str,
    /// The Vertex location of a service account; `None` for every other credential.
    pub location: Option<&'a str>,
    /// Code Assist: let Google spend the account's Google One AI credits once its free quota is out.
    pub spend_credits: bool,
}

/// The credit types a Code Assist call may spend.
const CREDIT_TYPES: &[&str] = &[super::quota::GOOGLE_ONE_AI];

/// Where a call goes: a bare API at `url` with `auth`, or Code Assist, whose client builds the URL
/// from its endpoint and wraps the request in its envelope.
enum Route<'a> {
    Bare { url: String, auth: Auth<'a> },
    CodeAssist { endpoint: &'a str, token: &'a str },
}

/// The route of `method` on `model` for `cred`.
fn route<'a>(
    settings: &'a Settings,
    cred: &Credential<'a>,
    model: &str,
    method: &str,
) -> Route<'a> {
    let (url, header) = match cred.kind.rules().endpoint(cred.location) {
        Endpoint::CodeAssist => {
            return Route::CodeAssist {
                endpoint: &settings.code_assist_endpoint,
                token: cred.token,
            }
        }
        Endpoint::GeminiApi { auth } => (
            gemini_api::method_url(&settings.gemini_api_endpoint, model, method),
            auth,
        ),
        Endpoint::Vertex { location, auth } => {
            let target = match location {
                Some(location) => Target::Project {
                    project: cred.project,
                    location,
                },
                None => Target::Express,
            };
            (
                vertex::method_url(settings.vertex_endpoint.as_deref(), target, model, method),
                auth,
            )
        }
    };
    Route::Bare {
        url,
        auth: Auth::with(header, cred.token),
    }
}

/// The request as `kind`'s API accepts it: the same Gemini request minus the safety categories (and,
/// for the Gemini API, the Vertex-only `labels`; for both bare APIs, Code Assist's `session_id`) that
/// API would refuse with 400.
pub fn request_for(kind: CredentialKind, request: &Value) -> Cow<'_, Value> {
    let rules = kind.rules();
    let refused = |category: &str| rules.refuses_safety_category(category);
    let names_refused = request
        .get("safetySettings")
        .and_then(Value::as_array)
        .is_some_and(|list| {
            list.iter().any(|s| {
                s.get("category")
                    .and_then(Value::as_str)
                    .is_some_and(&refused)
            })
        });
    let labels = !rules.accepts_labels() && request.get("labels").is_some();
    let session_id = !rules.accepts_session_id() && request.get(SESSION_ID_FIELD).is_some();
    if !names_refused && !labels && !session_id {
        return Cow::Borrowed(request);
    }
    let mut owned = request.clone();
    if let Some(Value::Array(list)) = owned.get_mut("safetySettings") {
        list.retain(|s| {
            !s.get("category")
                .and_then(Value::as_str)
                .is_some_and(&refused)
        });
    }
    if let Some(map) = owned.as_object_mut() {
        if labels {
            map.remove("labels");
        }
        if session_id {
            map.remove(SESSION_ID_FIELD);
        }
    }
    Cow::Owned(owned)
}

/// The Code Assist envelope of a Gemini request: the model and the credential's project around it.
fn envelope<'a>(model: &'a str, cred: &Credential<'a>, request: &'a Value) -> EnvelopeRef<'a> {
    EnvelopeRef {
        model,
        project: cred.project,
        request,
        enabled_credit_types: cred.spend_credits.then_some(CREDIT_TYPES),
    }
}

/// The credits a Code Assist answer says are left (`remainingCredits` beside `response`), if it says.
pub fn remaining_credits(envelope: &Value) -> Option<Vec<crate::store::CreditBalance>> {
    envelope
        .get("remainingCredits")
        .map(|list| super::quota::parse_credits(Some(list)))
}

/// A whole answer: the unwrapped response, and the credits left when the envelope said.
pub struct Answer {
    pub response: Value,
    pub credits: Option<Vec<crate::store::CreditBalance>>,
}

/// `generateContent`: the whole answer, unwrapped from the Code Assist envelope when there is one.
pub async fn generate(
    client: &awc::Client,
    settings: &Settings,
    cred: Credential<'_>,
    model: &str,
    request: &Value,
    timeout: Duration,
) -> Result<Answer, UpstreamError> {
    let model = sent_model(&settings.model_aliases, cred.kind, model);
    let resp = match route(settings, &cred, model, "generateContent") {
        Route::Bare { url, auth } => {
            let request = request_for(cred.kind, request);
            gemini_api::post_json(client, &url, auth, &*request, timeout).await?
        }
        Route::CodeAssist { endpoint, token } => {
            let envelope = envelope(model, &cred, request);
            code_assist::generate(client, endpoint, token, &envelope, timeout).await?
        }
    };
    let mut resp = UpstreamError::from_error_body(resp)?;
    let credits = remaining_credits(&resp);
    let response = match resp.get_mut("response") {
        Some(inner) => inner.take(),
        None => resp,
    };
    Ok(Answer { response, credits })
}

/// `streamGenerateContent?alt=sse`: the response head; events (wrapped or bare) are read by the caller.
pub async fn open_stream(
    client: &awc::Client,
    settings: &Settings,
    cred: Credential<'_>,
    model: &str,
    request: &Value,
    head_timeout: Duration,
) -> Result<StreamResponse, UpstreamError> {
    let model = sent_model(&settings.model_aliases, cred.kind, model);
    match route(settings, &cred, model, "streamGenerateContent") {
        Route::Bare { url, auth } => {
            let url = format!("{url}?alt=sse");
            let request = request_for(cred.kind, request);
            gemini_api::open_stream(client, &url, auth, &*request, head_timeout).await
        }
        Route::CodeAssist { endpoint, token } => {
            let envelope = envelope(model, &cred, request);
            code_assist::open_stream(client, endpoint, token, &envelope, head_timeout).await
        }
    }
}

/// `countTokens` for `{"request":{"model","contents"}}` (the Code Assist shape the routes build); the
/// bare APIs take `{"contents"}`.
pub async fn count_tokens(
    client: &awc::Client,
    settings: &Settings,
    cred: Credential<'_>,
    model: &str,
    body: &Value,
    timeout: Duration,
) -> Result<Value, UpstreamError> {
    let sent = sent_model(&settings.model_aliases, cred.kind, model);
    match route(settings, &cred, sent, "countTokens") {
        Route::Bare { url, auth } => {
            let contents = body
                .pointer("/request/contents")
                .cloned()
                .unwrap_or_else(|| json!([]));
            let bare_body = json!({ "contents": contents });
            gemini_api::post_json(client, &url, auth, &bare_body, timeout).await
        }
        Route::CodeAssist { endpoint, token } if sent != model => {
            // The routes name the asked model inside the body; Code Assist must see the sent one.
            let mut aliased = body.clone();
            if let Some(slot) = aliased.pointer_mut("/request/model") {
                *slot = json!(format!("models/{sent}"));
            }
            code_assist::count_tokens(client, endpoint, token, &aliased, timeout).await
        }
        Route::CodeAssist { endpoint, token } => {
            code_assist::count_tokens(client, endpoint, token, body, timeout).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn categories(v: &Value) -> Vec<&str> {
        v["safetySettings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["category"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn each_api_gets_only_the_safety_categories_it_knows() {
        let request = json!({
            "contents": [],
            "labels": {"team": "a"},
            "safetySettings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
                {"category": "HARM_CATEGORY_IMAGE_HATE", "threshold": "BLOCK_NONE"},
                {"category": "HARM_CATEGORY_JAILBREAK", "threshold": "BLOCK_NONE"},
            ],
        });
        assert!(matches!(
            request_for(CredentialKind::CodeAssist, &request),
            Cow::Borrowed(_)
        ));
        let vertex = request_for(CredentialKind::Vertex, &request);
        assert_eq!(
            categories(&vertex),
            vec!["HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_JAILBREAK"]
        );
        assert_eq!(vertex["labels"]["team"], "a");
        let key = request_for(CredentialKind::GeminiApiKey, &request);
        assert_eq!(categories(&key), vec!["HARM_CATEGORY_HARASSMENT"]);
        assert!(key.get("labels").is_none());
    }

    #[test]
    fn only_code_assist_gets_the_session_id() {
        let request = json!({"contents": [], "session_id": "s-1"});
        assert!(matches!(
            request_for(CredentialKind::CodeAssist, &request),
            Cow::Borrowed(_)
        ));
        for kind in [CredentialKind::GeminiApiKey, CredentialKind::Vertex] {
            let sent = request_for(kind, &request);
            assert!(sent.get("session_id").is_none(), "{kind:?}");
            assert_eq!(sent["contents"], json!([]));
        }
    }
}
