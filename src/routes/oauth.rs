//! Google account onboarding (public unless `PUBLIC_ONBOARDING=false`, as the `/auth` page is meant for
//! people contributing their account): `POST /auth/start` → consent URL (Gemini CLI client, PKCE S256,
//! random state); `GET /oauth2callback` catches the code; `POST /auth/callback` completes the caught
//! flow, `POST /auth/callback-url` completes one from a pasted callback URL (gateway on a remote host).
//! Completion always names the flow's `state`, works once, and only for the address that started the
//! flow or a panel session. The credential is saved and joins the rotation at once.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use rand::RngCore;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::body::parse_json;
use super::oauth_access::onboarding_access;
use crate::actors::oauth_flows::messages::{
    ClaimCode, CodeReceived, Flow, FlowStatus, GetFlow, StartFlow,
};
use crate::enrolment::oauth_completion::complete_or_release;
use crate::error::ApiError;
use crate::state::{AppState, UpstreamClient};
use crate::upstream::oauth::{GEMINI_CLI_CLIENT_ID, SCOPES};

/// How long `/auth/callback` waits for Google to redirect the browser back.
const CALLBACK_WAIT: Duration = Duration::from_secs(60);
const CALLBACK_POLL: Duration = Duration::from_millis(250);

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn body_or_empty(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(json!({}))
    } else {
        parse_json(body)
    }
}

fn opt_string(json: &Value, field: &str) -> Result<Option<String>, ApiError> {
    match json.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(ApiError::bad_request(format!("{field}: expected a string"))),
    }
}

/// The client's `project_id`, which goes into Google URLs (Service Usage, Code Assist onboarding):
/// only in Google's project-id format, so it cannot leave its path segment.
fn project_param(json: &Value) -> Result<Option<String>, ApiError> {
    let project = opt_string(json, "project_id")?;
    match project {
        Some(p) if !crate::credentials::google_names::is_project_id(&p) => Err(ApiError::bad_request(
            "project_id: not a Google Cloud project id (lower-case letters, digits and hyphens, starting with a letter)",
        )),
        other => Ok(other),
    }
}

pub async fn start(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let access = onboarding_access(&req, &state).await?;
    let json = body_or_empty(&body)?;
    let project_id = project_param(&json)?;
    let get_all_projects = json
        .get("get_all_projects")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let settings = state.settings.current();
    let flow_state = random_token(32);
    let verifier = random_token(48);
    let redirect_uri = settings.redirect_uri();
    let flow = Flow {
        state: flow_state.clone(),
        verifier: verifier.clone(),
        redirect_uri: redirect_uri.clone(),
        project_id: project_id.clone(),
        get_all_projects,
        created_at: state.clock.now(),
        code: None,
        status: FlowStatus::Pending,
        owner: access.client,
        by_panel: access.panel,
    };
    match state.oauth.send(StartFlow { flow }).await {
        Ok(Ok(())) => {}
        Ok(Err(refused)) => {
            return Err(ApiError::too_many(refused.to_string())
                .with_retry_after(refused.wait_secs().unsigned_abs()))
        }
        Err(_) => return Err(ApiError::internal("sign-in service unavailable")),
    }
    let scope = SCOPES.join(" ");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", GEMINI_CLI_CLIENT_ID)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", &scope)
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent")
        .append_pair("include_granted_scopes", "true")
        .append_pair("state", &flow_state)
        .append_pair("code_challenge", &pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256")
        .finish();
    Ok(HttpResponse::Ok().json(json!({
        "auth_url": format!("{}?{query}", settings.oauth_auth_url),
        "state": flow_state,
        "auto_project_detection": project_id.is_none(),
        "redirect_uri": redirect_uri,
    })))
}

fn html(status: actix_web::http::StatusCode, title: &str, text: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>\
             <title>{title}</title><body style='font-family:system-ui;max-width:36em;margin:3em auto;padding:0 1em'>\
             <h1>{title}</h1><p>{text}</p></body>"
        ))
}

/// Where Google sends the browser back; the gateway catches the code itself.
pub async fn oauth2callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let params: Map<String, Value> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    let (Some(flow_state), Some(code)) = (
        params.get("state").and_then(Value::as_str),
        params.get("code").and_then(Value::as_str),
    ) else {
        let reason = params
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("the callback lacks a code");
        return html(
            actix_web::http::StatusCode::BAD_REQUEST,
            "Authentication failed",
            &format!("Google did not grant access ({}).", escape(reason)),
        );
    };
    let known = state
        .oauth
        .send(CodeReceived {
            state: flow_state.to_string(),
            code: code.to_string(),
        })
        .await
        .unwrap_or(false);
    if known {
        html(
            actix_web::http::StatusCode::OK,
            "Authentication successful",
            "You can close this tab and return to the gateway page; it will finish saving the credential.",
        )
    } else {
        html(
            actix_web::http::StatusCode::BAD_REQUEST,
            "Authentication failed",
            "This sign-in is unknown or expired. Start again from the gateway page.",
        )
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub async fn callback(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
) -> Result<HttpResponse, ApiError> {
    let access = onboarding_access(&req, &state).await?;
    let json = body_or_empty(&body)?;
    let wanted_state = opt_string(&json, "state")?
        .ok_or_else(|| ApiError::bad_request("state: required (the value /auth/start returned)"))?;
    let project = project_param(&json)?;
    let get_all = json
        .get("get_all_projects")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let flow = state
        .oauth
        .send(GetFlow {
            state: wanted_state,
        })
        .await
        .ok()
        .flatten()
        .filter(|flow| access.may_complete(flow))
        .ok_or_else(|| ApiError::bad_request("no such sign-in in progress; start one first"))?;
    if flow.status == FlowStatus::Completed {
        return Err(ApiError::bad_request(
            "this sign-in is already completed; start again",
        ));
    }
    let deadline = tokio::time::Instant::now() + CALLBACK_WAIT;
    loop {
        if let Some(claimed) = state
            .oauth
            .send(ClaimCode {
                state: flow.state.clone(),
            })
            .await
            .ok()
            .flatten()
        {
            let code = claimed.code.clone().unwrap_or_default();
            let done =
                complete_or_release(&state, &client, claimed, &code, project, get_all).await?;
            return Ok(HttpResponse::Ok().json(done.answer()));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::bad_request(
                "timed out waiting for Google's callback; if the gateway runs on another host, paste the callback URL instead",
            ));
        }
        tokio::time::sleep(CALLBACK_POLL).await;
    }
}

pub async fn callback_url(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
) -> Result<HttpResponse, ApiError> {
    let access = onboarding_access(&req, &state).await?;
    let json = parse_json(&body)?;
    let raw = opt_string(&json, "callback_url")?
        .ok_or_else(|| ApiError::bad_request("callback_url: required"))?;
    let parsed =
        url::Url::parse(&raw).map_err(|_| ApiError::bad_request("callback_url: not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::bad_request(
            "callback_url: must start with http:// or https://",
        ));
    }
    let param = |name: &str| {
        parsed
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(err) = param("error") {
        return Err(ApiError::bad_request(format!(
            "Google did not grant access: {err}"
        )));
    }
    let flow_state =
        param("state").ok_or_else(|| ApiError::bad_request("callback_url: no state parameter"))?;
    let code =
        param("code").ok_or_else(|| ApiError::bad_request("callback_url: no code parameter"))?;
    let project = project_param(&json)?;
    let get_all = json
        .get("get_all_projects")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let owned = state
        .oauth
        .send(GetFlow {
            state: flow_state.clone(),
        })
        .await
        .ok()
        .flatten()
        .is_some_and(|flow| access.may_complete(&flow));
    if !owned {
        return Err(ApiError::bad_request(
            "this sign-in is unknown, expired or already completed; start again",
        ));
    }
    let known = state
        .oauth
        .send(CodeReceived {
            state: flow_state.clone(),
            code: code.clone(),
        })
        .await
        .unwrap_or(false);
    if !known {
        return Err(ApiError::bad_request(
            "this sign-in is unknown, expired or already completed; start again",
        ));
    }
    let flow = state
        .oauth
        .send(ClaimCode { state: flow_state })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| ApiError::bad_request("this sign-in is already being completed"))?;
    let done = complete_or_release(&state, &client, flow, &code, project, get_all).await?;
    Ok(HttpResponse::Ok().json(done.answer()))
}

pub async fn status(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    onboarding_access(&req, &state).await?;
    let flow = state
        .oauth
        .send(GetFlow {
            state: path.into_inner(),
        })
        .await
        .ok()
        .flatten();
    let status = match flow.map(|f| f.status) {
        Some(FlowStatus::Pending) => "pending",
        Some(FlowStatus::CodeReceived) => "code_received",
        Some(FlowStatus::Completed) => "completed",
        None => "not_found",
    };
    Ok(HttpResponse::Ok().json(json!({"status": status})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc7636_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
