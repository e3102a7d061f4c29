//! Project discovery for a credential without `project_id`: `loadCodeAssist`, and for an account not yet
//! onboarded, `onboardUser` followed by polling the long-running operation until it is done.

use std::time::Duration;

use serde_json::{json, Value};

use super::code_assist::{method_url, post_json, read_error, user_agent};
use super::error::UpstreamError;

const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Google usually finishes onboarding within seconds; give up after about two minutes.
const MAX_POLLS: u32 = 30;

#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("this account needs a Google Cloud project id (tier {0} requires one)")]
    ProjectRequired(String),
    #[error("onboarding did not finish in time")]
    Timeout,
    #[error("onboarding answered without a project id")]
    NoProject,
}

fn metadata(project: Option<&str>) -> Value {
    let mut meta = json!({
        "ideType": "IDE_UNSPECIFIED",
        "platform": "PLATFORM_UNSPECIFIED",
        "pluginType": "GEMINI",
    });
    if let (Some(p), Some(obj)) = (project, meta.as_object_mut()) {
        obj.insert("duetProject".into(), json!(p));
    }
    meta
}

fn project_of(value: &Value) -> Option<String> {
    match value.get("cloudaicompanionProject") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// Returns the Code Assist project of the account behind `token`, onboarding it to the free tier (or its
/// default tier) when needed. `poll_interval` is the wait between operation polls.
pub async fn discover_project(
    client: &awc::Client,
    endpoint: &str,
    token: &str,
    poll_interval: Duration,
) -> Result<String, OnboardError> {
    let ua = user_agent(None);
    let load = post_json(
        client,
        &method_url(endpoint, "loadCodeAssist"),
        token,
        &ua,
        &json!({"metadata": metadata(None)}),
        CALL_TIMEOUT,
    )
    .await?;
    if load.get("currentTier").is_some() {
        if let Some(project) = project_of(&load) {
            return Ok(project);
        }
    }
    let tier = load
        .get("allowedTiers")
        .and_then(Value::as_array)
        .and_then(|tiers| {
            tiers
                .iter()
                .find(|t| t.get("isDefault").and_then(Value::as_bool) == Some(true))
        })
        .cloned()
        .unwrap_or_else(|| json!({"id": "free-tier"}));
    let tier_id = tier
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("free-tier")
        .to_string();
    if tier_id != "free-tier"
        && tier
            .get("userDefinedCloudaicompanionProject")
            .and_then(Value::as_bool)
            == Some(true)
    {
        return Err(OnboardError::ProjectRequired(tier_id));
    }
    let onboard_body = json!({
        "tierId": tier_id,
        "cloudaicompanionProject": Value::Null,
        "metadata": metadata(None),
    });
    let mut op = post_json(
        client,
        &method_url(endpoint, "onboardUser"),
        token,
        &ua,
        &onboard_body,
        CALL_TIMEOUT,
    )
    .await?;
    for _ in 0..MAX_POLLS {
        if op.get("done").and_then(Value::as_bool) == Some(true) {
            return op
                .get("response")
                .and_then(project_of)
                .ok_or(OnboardError::NoProject);
        }
        tokio::time::sleep(poll_interval).await;
        op = match op.get("name").and_then(Value::as_str) {
            Some(name) => get_operation(client, endpoint, token, name).await?,
            // Without an operation name the only way to learn the outcome is to ask again.
            None => {
                post_json(
                    client,
                    &method_url(endpoint, "onboardUser"),
                    token,
                    &ua,
                    &onboard_body,
                    CALL_TIMEOUT,
                )
                .await?
            }
        };
    }
    Err(OnboardError::Timeout)
}

async fn get_operation(
    client: &awc::Client,
    endpoint: &str,
    token: &str,
    name: &str,
) -> Result<Value, UpstreamError> {
    let url = format!("{}/v1internal/{name}", endpoint.trim_end_matches('/'));
    let resp = client
        .get(url)
        .timeout(CALL_TIMEOUT)
        .insert_header((awc::http::header::AUTHORIZATION, format!("Bearer {token}")))
        .send()
        .await?;
    if !resp.status().is_success() {
        return Err(read_error(resp).await);
    }
    let mut resp = resp;
    let bytes = resp.body().limit(1024 * 1024).await?;
    serde_json::from_slice(&bytes).map_err(|e| UpstreamError::Protocol(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_is_read_in_both_shapes() {
        assert_eq!(
            project_of(&json!({"cloudaicompanionProject":"p1"})).as_deref(),
            Some("p1")
        );
        assert_eq!(
            project_of(&json!({"cloudaicompanionProject":{"id":"p2","name":"x"}})).as_deref(),
            Some("p2")
        );
        assert_eq!(project_of(&json!({})), None);
    }
}
