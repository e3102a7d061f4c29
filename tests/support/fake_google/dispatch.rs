//! The fake's single entry point: parse, record, check the bearer token, route.

use std::sync::Arc;

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde_json::{Map, Value};

use super::reply::google_error_body;
use super::state::{RecordedRequest, Shared};
use super::{accounts, bare_apis, code_assist, model_lists, onboarding, quota};

/// A request reduced to what the handlers read.
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) body: Value,
    /// The body as received, for refusals that match its text.
    pub(crate) raw_body: Bytes,
    pub(crate) access_token: Option<String>,
    /// `x-goog-api-key`, or the `key` query parameter (both are accepted by Google).
    pub(crate) api_key: Option<String>,
}

impl Call {
    pub(crate) fn body_str(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }

    pub(crate) fn query_param(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.into_owned())
    }

    fn project(&self) -> Option<String> {
        if let Some(project) = self
            .body_str("project")
            .or_else(|| self.body_str("cloudaicompanionProject"))
        {
            return Some(project.to_owned());
        }
        service_usage_target(&self.path).map(|(project, _)| project.to_owned())
    }
}

pub(crate) async fn dispatch(
    request: HttpRequest,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    let call = Call {
        method: request.method().clone(),
        path: request.path().to_owned(),
        query: request.query_string().to_owned(),
        body: parse_body(&request, &body),
        raw_body: body,
        access_token: bearer_token(&request),
        api_key: request
            .headers()
            .get("x-goog-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let call = Call {
        api_key: call.api_key.clone().or_else(|| call.query_param("key")),
        ..call
    };
    if shared.record {
        shared.record(recorded(&request, &call));
    }
    route(&shared, &call).await
}

async fn route(shared: &Arc<Shared>, call: &Call) -> HttpResponse {
    let path = call.path.as_str();
    match (&call.method, path) {
        (&Method::POST, "/token") => return accounts::token(shared, call).await,
        (&Method::GET, "/tokeninfo") => return accounts::token_info(shared, call),
        // Model lists accept API keys as well as bearer tokens, so they check their own credentials.
        (&Method::GET, model_lists::GEMINI_API_PATH) => {
            return model_lists::gemini_api(shared, call)
        }
        (&Method::GET, model_lists::VERTEX_PATH) => return model_lists::vertex(shared, call),
        (&Method::POST, _) => {
            // Key-authenticated and Vertex paths check their own credentials.
            if let Some(target) = bare_apis::target(path) {
                return bare_apis::handle(shared, call, target).await;
            }
        }
        _ => {}
    }
    if let Some(refusal) = refuse_unauthenticated(shared, call) {
        return refusal;
    }
    match (&call.method, path) {
        (&Method::GET, "/oauth2/v2/userinfo") => accounts::user_info(shared, call),
        (&Method::POST, "/v1internal:generateContent") => {
            code_assist::generate(shared, call, false).await
        }
        (&Method::POST, "/v1internal:streamGenerateContent") => {
            code_assist::generate(shared, call, true).await
        }
        (&Method::POST, "/v1internal:countTokens") => code_assist::count_tokens(shared, call),
        (&Method::POST, "/v1internal:loadCodeAssist") => onboarding::load_code_assist(shared, call),
        (&Method::POST, "/v1internal:retrieveUserQuota") => {
            quota::retrieve_user_quota(shared, call)
        }
        (&Method::POST, "/v1internal:onboardUser") => onboarding::onboard_user(shared),
        (&Method::GET, _) if path.starts_with("/v1internal/operations/") => {
            onboarding::operation(shared, path.trim_start_matches("/v1internal/"))
        }
        (&Method::GET, "/v1/projects") => accounts::list_projects(shared),
        _ => match service_usage_target(path) {
            Some((project, service)) => {
                accounts::service_usage(shared, &call.method, project, service)
            }
            None => google_error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "The requested URL was not found on this server.",
            ),
        },
    }
}

/// `(project, "svc" | "svc:enable")` of a Service Usage path.
pub(crate) fn service_usage_target(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/v1/projects/")?;
    let (project, service) = rest.split_once("/services/")?;
    if project.is_empty() || service.is_empty() || service.contains('/') {
        return None;
    }
    Some((project, service))
}

/// Every Google API call needs a bearer token the fake issued and that has not expired, so a gateway
/// that forgets to authenticate, sends an expired token or a made-up one fails loudly in tests.
fn refuse_unauthenticated(shared: &Shared, call: &Call) -> Option<HttpResponse> {
    let Some(token) = call.access_token.as_deref() else {
        return Some(missing_credentials());
    };
    let valid = shared.lock().accepts_access_token(token);
    if valid {
        return None;
    }
    Some(invalid_credentials())
}

/// Google's 401 for a call that carries no credential at all.
pub(crate) fn missing_credentials() -> HttpResponse {
    google_error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    )
}

/// Google's 401 for a bearer token it did not issue or that has expired.
pub(crate) fn invalid_credentials() -> HttpResponse {
    google_error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    )
}

pub(crate) fn google_error(status: StatusCode, google_status: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(google_error_body(status.as_u16(), google_status, message))
}

/// Status from a script; an impossible code becomes 500 rather than a panic.
pub(crate) fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn bearer_token(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn parse_body(request: &HttpRequest, body: &Bytes) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    let is_form = request
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let fields: Map<String, Value> = url::form_urlencoded::parse(body)
            .map(|(key, value)| (key.into_owned(), Value::String(value.into_owned())))
            .collect();
        return Value::Object(fields);
    }
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn recorded(request: &HttpRequest, call: &Call) -> RecordedRequest {
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    RecordedRequest {
        method: call.method.as_str().to_owned(),
        path: call.path.clone(),
        query: call.query.clone(),
        headers,
        body: call.body.clone(),
        access_token: call.access_token.clone(),
        project: call.project().or_else(|| bare_apis::scope(call)),
        model: call
            .body_str("model")
            .map(str::to_owned)
            .or_else(|| bare_apis::target(&call.path).map(|t| t.model)),
        api_key: call.api_key.clone(),
    }
}
