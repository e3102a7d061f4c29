//! Completing a Google sign-in: the caught code is exchanged for tokens, the account's project is
//! found (named by the user, discovered by Code Assist onboarding, or picked from the account's
//! projects; or every project), Code Assist is enabled on it, and the credential is saved and joins
//! the rotation. The routes (`/auth/callback`, `/auth/callback-url`) find and claim the flow, then
//! call [`complete_or_release`].

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::actors::credentials::messages::AddCredential;
use crate::actors::oauth_flows::messages::{Flow, FlowDone, ReleaseCode};
use crate::credentials::json::store_token;
use crate::credentials::{CredentialRecord, CredentialState};
use crate::error::ApiError;
use crate::state::{AppState, UpstreamClient};
use crate::store::AuditAction;
use crate::upstream::oauth::{
    self, enable_code_assist_services, exchange_code, fetch_email, list_projects, CloudProject,
    GEMINI_CLI_CLIENT_ID, GEMINI_CLI_CLIENT_SECRET, SCOPES,
};
use crate::upstream::onboarding::discover_project;

/// What a completed sign-in saved.
#[derive(Debug)]
pub enum Completion {
    /// One credential, for the named, discovered or picked project.
    One {
        saved: Saved,
        email: Option<String>,
        auto_detected_project: bool,
    },
    /// One credential per project of the account (`get_all_projects`), with the ones that failed.
    Projects {
        success: Vec<Value>,
        failed: Vec<Value>,
        email: Option<String>,
    },
}

impl Completion {
    /// The answer the sign-in page reads.
    pub fn answer(&self) -> Value {
        match self {
            Self::One {
                saved,
                email,
                auto_detected_project,
            } => json!({
                "file_path": saved.file,
                "project_id": saved.project,
                "user_email": email,
                "auto_detected_project": auto_detected_project,
                "message": "credential saved and in rotation",
            }),
            Self::Projects {
                success,
                failed,
                email,
            } => json!({
                "multiple_credentials": {"success": success, "failed": failed},
                "user_email": email,
                "message": format!("saved {} credential(s)", success.len()),
            }),
        }
    }
}

/// Picks the project when the user gave none and onboarding found none: one containing "default",
/// else the first.
fn pick_project(projects: &[CloudProject]) -> Option<&CloudProject> {
    projects
        .iter()
        .find(|p| {
            p.project_id.to_lowercase().contains("default")
                || p.name.to_lowercase().contains("default")
        })
        .or_else(|| projects.first())
}

/// The credential a sign-in saved.
#[derive(Debug)]
pub struct Saved {
    pub file: String,
    pub project: String,
}

async fn save_credential(
    state: &AppState,
    token: &oauth::TokenResponse,
    refresh_token: &str,
    project: &str,
    email: Option<&str>,
) -> Result<Saved, ApiError> {
    let mut credential = Map::new();
    credential.insert("client_id".into(), json!(GEMINI_CLI_CLIENT_ID));
    credential.insert("client_secret".into(), json!(GEMINI_CLI_CLIENT_SECRET));
    credential.insert("refresh_token".into(), json!(refresh_token));
    credential.insert("scopes".into(), json!(SCOPES));
    credential.insert(
        "token_uri".into(),
        json!("https://oauth2.googleapis.com/token"),
    );
    credential.insert("project_id".into(), json!(project));
    let expiry = state.clock.now_datetime() + chrono::Duration::seconds(token.expires_in.max(60));
    store_token(&mut credential, &token.access_token, expiry, None);
    let safe: String = project
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let file = format!("{safe}-{}.json", state.clock.now());
    let record = CredentialRecord {
        name: file.clone(),
        kind: Default::default(),
        credential,
        state: CredentialState {
            user_email: email.map(str::to_string),
            ..CredentialState::default()
        },
    };
    state
        .supervisor
        .send(AddCredential { record })
        .await
        .map_err(ApiError::mailbox("the credential registry"))?;
    log::info!("OAuth: saved credential {file} for project {project}");
    // The flow may be the public onboarding page's, with no panel session, and ends at Google's
    // redirect: the actor is the OAuth flow itself.
    let changes = json!({"via": "oauth", "project_id": project, "user_email": email});
    state
        .audit
        .push("oauth", "", AuditAction::CredentialAdded, &file, changes);
    Ok(Saved {
        file,
        project: project.to_string(),
    })
}

/// Completes a claimed flow; on failure the flow is released so its status is `pending` again rather
/// than `completed`.
pub async fn complete_or_release(
    state: &AppState,
    client: &UpstreamClient,
    flow: Flow,
    code: &str,
    project_override: Option<String>,
    get_all: bool,
) -> Result<Completion, ApiError> {
    let flow_state = flow.state.clone();
    let result = complete(state, client, flow, code, project_override, get_all).await;
    if result.is_err() {
        state.oauth.do_send(ReleaseCode { state: flow_state });
    }
    result
}

async fn complete(
    state: &AppState,
    client: &UpstreamClient,
    flow: Flow,
    code: &str,
    project_override: Option<String>,
    get_all: bool,
) -> Result<Completion, ApiError> {
    let settings = state.settings.current();
    let token = exchange_code(
        &client.0,
        &settings.oauth_proxy_url,
        code,
        &flow.redirect_uri,
        &flow.verifier,
    )
    .await
    .map_err(|e| ApiError::bad_request(format!("Google refused the sign-in code: {e}")))?;
    let refresh_token = token.refresh_token.clone().ok_or_else(|| {
        ApiError::bad_request("Google returned no refresh token; start again (consent is required)")
    })?;
    let email = fetch_email(
        &client.0,
        &settings.googleapis_proxy_url,
        &token.access_token,
    )
    .await
    .ok();
    let wanted = project_override.or(flow.project_id.clone());
    let get_all = get_all || flow.get_all_projects;
    if get_all {
        let projects = list_projects(
            &client.0,
            &settings.resource_manager_api_url,
            &token.access_token,
        )
        .await
        .map_err(|e| ApiError::bad_request(format!("could not list your projects: {e}")))?;
        if projects.is_empty() {
            return Err(ApiError::bad_request(
                "this account has no active Google Cloud project",
            ));
        }
        let mut success = Vec::new();
        let mut failed = Vec::new();
        for p in &projects {
            enable_code_assist_services(
                &client.0,
                &settings.service_usage_api_url,
                &token.access_token,
                &p.project_id,
            )
            .await;
            match save_credential(state, &token, &refresh_token, &p.project_id, email.as_deref()).await {
                Ok(saved) => success.push(json!({"project_id": saved.project, "project_name": p.name, "file_path": saved.file})),
                Err(e) => failed.push(json!({"project_id": p.project_id, "project_name": p.name, "error": e.message})),
            }
        }
        state.oauth.do_send(FlowDone { state: flow.state });
        return Ok(Completion::Projects {
            success,
            failed,
            email,
        });
    }
    let (project, auto) = match wanted {
        Some(p) => (p, false),
        None => {
            let discovered = discover_project(
                &client.0,
                &settings.code_assist_endpoint,
                &token.access_token,
                Duration::from_secs(2),
            )
            .await;
            match discovered {
                Ok(p) => (p, true),
                Err(e) => {
                    log::info!("OAuth: onboarding found no project ({e}); listing projects");
                    let projects = list_projects(
                        &client.0,
                        &settings.resource_manager_api_url,
                        &token.access_token,
                    )
                    .await
                    .unwrap_or_default();
                    let chosen = pick_project(&projects).ok_or_else(|| {
                        ApiError::bad_request(
                            "could not find a project for this account; enter a Google Cloud project id and try again",
                        )
                    })?;
                    (chosen.project_id.clone(), true)
                }
            }
        }
    };
    enable_code_assist_services(
        &client.0,
        &settings.service_usage_api_url,
        &token.access_token,
        &project,
    )
    .await;
    let saved = save_credential(state, &token, &refresh_token, &project, email.as_deref()).await?;
    state.oauth.do_send(FlowDone { state: flow.state });
    Ok(Completion::One {
        saved,
        email,
        auto_detected_project: auto,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_project_is_preferred() {
        let projects = vec![
            CloudProject {
                project_id: "a".into(),
                name: "A".into(),
            },
            CloudProject {
                project_id: "b".into(),
                name: "My Default Project".into(),
            },
        ];
        assert_eq!(pick_project(&projects).unwrap().project_id, "b");
        assert!(pick_project(&[]).is_none());
    }
}
