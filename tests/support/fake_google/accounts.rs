//! OAuth token endpoint, userinfo / tokeninfo, Resource Manager and Service Usage.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::dispatch::{google_error, status_code, Call};
use super::reply::TokenReply;
use super::state::Shared;

const SCOPES: &str = "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile";
const DEFAULT_LIFETIME_SECS: u64 = 3600;

pub(crate) async fn token(shared: &Arc<Shared>, call: &Call) -> HttpResponse {
    // A service account authenticates by its signed assertion, not an OAuth client.
    if call.body_str("grant_type") == Some(super::jwt_grant::GRANT_TYPE) {
        return super::jwt_grant::grant(shared, call);
    }
    // Google checks the OAuth client before anything else.
    let known = shared
        .lock()
        .knows_client(call.body_str("client_id"), call.body_str("client_secret"));
    if !known {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        );
    }
    match call.body_str("grant_type") {
        Some("refresh_token") => refresh(shared, call).await,
        Some("authorization_code") => exchange_code(shared, call),
        other => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {}", other.unwrap_or_default()),
        ),
    }
}

async fn refresh(shared: &Arc<Shared>, call: &Call) -> HttpResponse {
    let Some(refresh_token) = call.body_str("refresh_token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: refresh_token",
        );
    };
    let script = {
        let mut state = shared.lock();
        *state
            .refresh_counts
            .entry(refresh_token.to_owned())
            .or_default() += 1;
        state
            .token_replies
            .get(refresh_token)
            .cloned()
            .unwrap_or(TokenReply::Ok)
    };
    match script {
        TokenReply::Ok => issue(shared, refresh_token, DEFAULT_LIFETIME_SECS, false),
        TokenReply::ExpiresIn(secs) => issue(shared, refresh_token, secs, false),
        TokenReply::Delay(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            issue(shared, refresh_token, DEFAULT_LIFETIME_SECS, false)
        }
        TokenReply::InvalidGrant => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Token has been expired or revoked.",
        ),
        TokenReply::Status(status) => {
            let status = status_code(status);
            let error = match status.as_u16() {
                400 => "invalid_request",
                401 => "unauthorized_client",
                403 => "access_denied",
                429 => "rate_limit_exceeded",
                _ => "internal_failure",
            };
            oauth_error(status, error, "Scripted token endpoint failure.")
        }
        TokenReply::Json(status, body) => HttpResponse::build(status_code(status)).json(body),
    }
}

fn exchange_code(shared: &Arc<Shared>, call: &Call) -> HttpResponse {
    let refresh_token = call
        .body_str("code")
        .and_then(|code| shared.lock().auth_codes.get(code).cloned());
    match refresh_token {
        Some(refresh_token) => issue(shared, &refresh_token, DEFAULT_LIFETIME_SECS, true),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Malformed auth code.",
        ),
    }
}

fn issue(
    shared: &Shared,
    refresh_token: &str,
    expires_in: u64,
    with_refresh: bool,
) -> HttpResponse {
    let access_token = shared.lock().issue_access_token(refresh_token, expires_in);
    let mut body = json!({
        "access_token": access_token,
        "expires_in": expires_in,
        "token_type": "Bearer",
        "scope": SCOPES,
    });
    if with_refresh {
        body["refresh_token"] = json!(refresh_token);
    }
    HttpResponse::Ok().json(body)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": error, "error_description": description}))
}

/// Email of the account behind a refresh token: scripted, else derived from the token.
fn email_of(shared: &Shared, refresh_token: &str) -> String {
    shared
        .lock()
        .emails
        .get(refresh_token)
        .cloned()
        .unwrap_or_else(|| format!("{refresh_token}@example.com"))
}

pub(crate) fn user_info(shared: &Shared, call: &Call) -> HttpResponse {
    let refresh_token = call
        .access_token
        .as_deref()
        .and_then(|token| shared.lock().refresh_token_of(token));
    let Some(refresh_token) = refresh_token else {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    };
    let email = email_of(shared, &refresh_token);
    HttpResponse::Ok().json(json!({
        "id": "100000000000000000001",
        "email": email,
        "verified_email": true,
        "picture": "https://example.com/photo.png",
    }))
}

pub(crate) fn token_info(shared: &Shared, call: &Call) -> HttpResponse {
    let token = call.query_param("access_token");
    let refresh_token = token.as_deref().and_then(|token| {
        let state = shared.lock();
        state
            .accepts_access_token(token)
            .then(|| state.refresh_token_of(token))
            .flatten()
    });
    let Some(refresh_token) = refresh_token else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_token", "Invalid Value");
    };
    let email = email_of(shared, &refresh_token);
    HttpResponse::Ok().json(json!({
        "scope": SCOPES,
        "expires_in": DEFAULT_LIFETIME_SECS.to_string(),
        "email": email,
        "email_verified": "true",
        "access_type": "offline",
    }))
}

pub(crate) fn list_projects(shared: &Shared) -> HttpResponse {
    let projects: Vec<Value> = shared
        .lock()
        .projects
        .iter()
        .zip(100_000_000_001_u64..)
        .map(|((id, display_name), number)| {
            json!({
                "projectNumber": number.to_string(),
                "projectId": id,
                "lifecycleState": "ACTIVE",
                "name": display_name,
                "displayName": display_name,
                "createTime": "2025-01-01T00:00:00.000Z",
            })
        })
        .collect();
    // Google omits the field entirely when the caller has no projects.
    if projects.is_empty() {
        return HttpResponse::Ok().json(json!({}));
    }
    HttpResponse::Ok().json(json!({ "projects": projects }))
}

pub(crate) fn service_usage(
    shared: &Shared,
    method: &Method,
    project: &str,
    target: &str,
) -> HttpResponse {
    match (method, target.strip_suffix(":enable")) {
        (&Method::GET, None) => {
            let key = (project.to_owned(), target.to_owned());
            let enabled = shared.lock().enabled_services.contains(&key);
            HttpResponse::Ok().json(service_json(project, target, enabled))
        }
        (&Method::POST, Some(service)) => {
            shared
                .lock()
                .enabled_services
                .insert((project.to_owned(), service.to_owned()));
            HttpResponse::Ok().json(json!({
                "name": "operations/noop.DONE_OPERATION",
                "done": true,
                "response": {
                    "@type": "type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse",
                    "service": service_json(project, service, true),
                },
            }))
        }
        _ => google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested URL was not found on this server.",
        ),
    }
}

fn service_json(project: &str, service: &str, enabled: bool) -> Value {
    json!({
        "name": format!("projects/{project}/services/{service}"),
        "config": {"name": service, "title": service},
        "state": if enabled { "ENABLED" } else { "DISABLED" },
        "parent": format!("projects/{project}"),
    })
}
