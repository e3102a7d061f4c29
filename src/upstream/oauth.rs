//! Google OAuth and account calls: token refresh and code exchange (`{OAUTH_PROXY_URL}/token`), userinfo,
//! the Resource Manager project list, and enabling the Code Assist services.

use std::time::Duration;

use awc::http::header;
use serde::Deserialize;
use serde_json::{json, Value};

use super::code_assist::read_error;
use super::error::UpstreamError;

/// The Gemini CLI's public installed-app client (not confidential).
pub const GEMINI_CLI_CLIENT_ID: &str =
    "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com";
pub const GEMINI_CLI_CLIENT_SECRET: &str = "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";
pub const SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
];
const ACCOUNT_UA: &str = "geminicli-oauth/1.0";
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default = "default_expires_in")]
    pub expires_in: i64,
    pub refresh_token: Option<String>,
}

fn default_expires_in() -> i64 {
    3600
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum OAuthError {
    /// The grant is dead (revoked, expired, wrong client): retrying will not help.
    #[error("token refresh refused ({status}): {reason}")]
    Permanent { status: u16, reason: String },
    /// Google or the network failed; try again shortly.
    #[error("token endpoint unavailable: {0}")]
    Transient(String),
}

const PERMANENT_MARKERS: &[&str] = &[
    "invalid_grant",
    "refresh_token_expired",
    "invalid_refresh_token",
    "unauthorized_client",
    "access_denied",
    "invalid_client",
];

fn classify(err: UpstreamError) -> OAuthError {
    match err {
        UpstreamError::Status { status, body } => {
            let reason = body
                .as_ref()
                .and_then(|b| b.get("error"))
                .and_then(|e| {
                    e.as_str()
                        .map(str::to_string)
                        .or_else(|| e.get("status").and_then(Value::as_str).map(str::to_string))
                })
                .unwrap_or_else(|| format!("HTTP {status}"));
            let marked = PERMANENT_MARKERS.iter().any(|m| reason.contains(m));
            if marked || matches!(status, 400 | 401 | 403) {
                OAuthError::Permanent { status, reason }
            } else {
                OAuthError::Transient(format!("HTTP {status}: {reason}"))
            }
        }
        other => OAuthError::Transient(other.to_string()),
    }
}

async fn post_form(
    client: &awc::Client,
    oauth_base: &str,
    form: &[(&str, &str)],
) -> Result<TokenResponse, OAuthError> {
    let url = format!("{}/token", oauth_base.trim_end_matches('/'));
    let call = async {
        let resp = client
            .post(url)
            .timeout(CALL_TIMEOUT)
            .send_form(&form)
            .await
            .map_err(UpstreamError::from)?;
        if !resp.status().is_success() {
            return Err(read_error(resp).await);
        }
        let mut resp = resp;
        let bytes = resp.body().limit(1024 * 1024).await?;
        serde_json::from_slice::<TokenResponse>(&bytes)
            .map_err(|e| UpstreamError::Protocol(e.to_string()))
    };
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or(Err(UpstreamError::Timeout))
        .map_err(classify)
}

pub async fn refresh_access_token(
    client: &awc::Client,
    oauth_base: &str,
    client_id: &str,
    client_secret: &str,
    refresh_token: &str,
) -> Result<TokenResponse, OAuthError> {
    post_form(
        client,
        oauth_base,
        &[
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("refresh_token", refresh_token),
            ("grant_type", "refresh_token"),
        ],
    )
    .await
}

/// A service account's access token: the signed JWT `assertion` exchanged by the JWT-bearer grant
/// (RFC 7523) at the same token endpoint OAuth refreshes use.
pub async fn jwt_bearer(
    client: &awc::Client,
    oauth_base: &str,
    assertion: &str,
) -> Result<TokenResponse, OAuthError> {
    post_form(
        client,
        oauth_base,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ],
    )
    .await
}

pub async fn exchange_code(
    client: &awc::Client,
    oauth_base: &str,
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
) -> Result<TokenResponse, OAuthError> {
    post_form(
        client,
        oauth_base,
        &[
            ("client_id", GEMINI_CLI_CLIENT_ID),
            ("client_secret", GEMINI_CLI_CLIENT_SECRET),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
            ("grant_type", "authorization_code"),
        ],
    )
    .await
}

async fn get_json(client: &awc::Client, url: &str, token: &str) -> Result<Value, UpstreamError> {
    let call = async {
        let resp = client
            .get(url)
            .timeout(CALL_TIMEOUT)
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .insert_header((header::USER_AGENT, ACCOUNT_UA))
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(read_error(resp).await);
        }
        let mut resp = resp;
        let bytes = resp.body().limit(4 * 1024 * 1024).await?;
        serde_json::from_slice::<Value>(&bytes).map_err(|e| UpstreamError::Protocol(e.to_string()))
    };
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or(Err(UpstreamError::Timeout))
}

/// The account's email from `{GOOGLEAPIS_PROXY_URL}/oauth2/v2/userinfo`.
pub async fn fetch_email(
    client: &awc::Client,
    googleapis_base: &str,
    token: &str,
) -> Result<String, UpstreamError> {
    let url = format!(
        "{}/oauth2/v2/userinfo",
        googleapis_base.trim_end_matches('/')
    );
    let info = get_json(client, &url, token).await?;
    info.get("email")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| UpstreamError::Protocol("userinfo has no email".into()))
}

#[derive(Debug, Clone, PartialEq)]
pub struct CloudProject {
    pub project_id: String,
    pub name: String,
}

/// ACTIVE projects from `{RESOURCE_MANAGER_API_URL}/v1/projects`.
pub async fn list_projects(
    client: &awc::Client,
    resource_manager_base: &str,
    token: &str,
) -> Result<Vec<CloudProject>, UpstreamError> {
    let url = format!(
        "{}/v1/projects",
        resource_manager_base.trim_end_matches('/')
    );
    let list = get_json(client, &url, token).await?;
    Ok(list
        .get("projects")
        .and_then(Value::as_array)
        .map(|projects| {
            projects
                .iter()
                .filter(|p| p.get("lifecycleState").and_then(Value::as_str) == Some("ACTIVE"))
                .filter_map(|p| {
                    let id = p.get("projectId")?.as_str()?.to_string();
                    let name = p
                        .get("displayName")
                        .or_else(|| p.get("name"))
                        .and_then(Value::as_str)
                        .unwrap_or(&id)
                        .to_string();
                    Some(CloudProject {
                        project_id: id,
                        name,
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Enables the two services Code Assist needs; failures are logged, never fatal (the account may lack
/// the permission while the services are already on).
pub async fn enable_code_assist_services(
    client: &awc::Client,
    service_usage_base: &str,
    token: &str,
    project: &str,
) {
    for service in [
        "geminicloudassist.googleapis.com",
        "cloudaicompanion.googleapis.com",
    ] {
        let base = format!(
            "{}/v1/projects/{project}/services/{service}",
            service_usage_base.trim_end_matches('/')
        );
        if let Ok(state) = get_json(client, &base, token).await {
            if state.get("state").and_then(Value::as_str) == Some("ENABLED") {
                continue;
            }
        }
        let result = client
            .post(format!("{base}:enable"))
            .timeout(CALL_TIMEOUT)
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .insert_header((header::USER_AGENT, ACCOUNT_UA))
            .send_json(&json!({}))
            .await;
        match result {
            Ok(resp) if resp.status().is_success() => {
                log::info!("enabled {service} on project {project}");
            }
            Ok(resp) => log::warn!(
                "could not enable {service} on project {project}: HTTP {}",
                resp.status().as_u16()
            ),
            Err(e) => log::warn!("could not enable {service} on project {project}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_failures_are_classified() {
        let revoked = UpstreamError::Status {
            status: 400,
            body: Some(json!({"error":"invalid_grant","error_description":"revoked"})),
        };
        assert!(matches!(
            classify(revoked),
            OAuthError::Permanent { status: 400, .. }
        ));
        let down = UpstreamError::Status {
            status: 503,
            body: None,
        };
        assert!(matches!(classify(down), OAuthError::Transient(_)));
        assert!(matches!(
            classify(UpstreamError::Timeout),
            OAuthError::Transient(_)
        ));
    }
}
