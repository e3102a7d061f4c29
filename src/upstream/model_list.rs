//! The models a credential may call, as its API lists them: the Gemini API's
//! `GET {GEMINI_API_ENDPOINT}/v1beta/models` (API keys) and Vertex's
//! `GET {VERTEX_ENDPOINT or https://{location}-aiplatform.googleapis.com}/v1beta1/publishers/google/models`
//! (service accounts and express keys). Code Assist has no list: its quota buckets name its models.

use std::time::Duration;

use serde_json::Value;

use super::code_assist::read_error;
use super::error::UpstreamError;
use super::gemini_api::{authenticated, Auth};
use crate::store::ModelInfo;

/// Pages followed at most; Google's lists are one or two pages long.
const MAX_PAGES: usize = 10;
/// Models kept at most per credential.
const MAX_MODELS: usize = 2_000;
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;
const PAGE_SIZE: u32 = 1000;
const GLOBAL_HOST: &str = "https://aiplatform.googleapis.com";

/// Where a list comes from.
#[derive(Debug, Clone, Copy)]
pub enum ListSource<'a> {
    /// AI Studio key: `{endpoint}/v1beta/models`.
    GeminiApi { endpoint: &'a str },
    /// Vertex: `{endpoint or the location's host}/v1beta1/publishers/google/models`.
    Vertex {
        endpoint: Option<&'a str>,
        location: Option<&'a str>,
    },
}

impl ListSource<'_> {
    fn url(&self) -> String {
        match *self {
            ListSource::GeminiApi { endpoint } => {
                format!("{}/v1beta/models", endpoint.trim_end_matches('/'))
            }
            ListSource::Vertex { endpoint, location } => {
                let base = match (endpoint, location) {
                    (Some(e), _) => e.trim_end_matches('/').to_string(),
                    (None, Some(l)) if l != "global" => {
                        format!("https://{l}-aiplatform.googleapis.com")
                    }
                    (None, _) => GLOBAL_HOST.to_string(),
                };
                format!("{base}/v1beta1/publishers/google/models")
            }
        }
    }
}

/// Every page of the list, read into [`ModelInfo`]s.
pub async fn fetch_models(
    client: &awc::Client,
    source: ListSource<'_>,
    auth: Auth<'_>,
    timeout: Duration,
) -> Result<Vec<ModelInfo>, UpstreamError> {
    let url = source.url();
    let mut models = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = fetch_page(client, &url, token.as_deref(), auth, timeout).await?;
        models.extend(parse_page(&page));
        token = page
            .get("nextPageToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() || models.len() >= MAX_MODELS {
            break;
        }
    }
    models.truncate(MAX_MODELS);
    Ok(models)
}

async fn fetch_page(
    client: &awc::Client,
    url: &str,
    page_token: Option<&str>,
    auth: Auth<'_>,
    timeout: Duration,
) -> Result<Value, UpstreamError> {
    let call = async {
        let mut query: Vec<(&str, String)> = vec![("pageSize", PAGE_SIZE.to_string())];
        if let Some(t) = page_token {
            query.push(("pageToken", t.to_string()));
        }
        let req = client
            .get(url)
            .query(&query)
            .map_err(|e| UpstreamError::Protocol(e.to_string()))?;
        let resp = authenticated(req, auth, timeout).send().await?;
        if !resp.status().is_success() {
            return Err(read_error(resp).await);
        }
        let mut resp = resp;
        let bytes = resp.body().limit(MAX_PAGE_BYTES).await?;
        serde_json::from_slice::<Value>(&bytes).map_err(|e| UpstreamError::Protocol(e.to_string()))
    };
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or(Err(UpstreamError::Timeout))
}

/// The bare id of `models/x`, `publishers/google/models/x` or `x`.
fn bare_id(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// One page of either list (`models` or `publisherModels`).
pub fn parse_page(page: &Value) -> Vec<ModelInfo> {
    let list = page
        .get("models")
        .or_else(|| page.get("publisherModels"))
        .and_then(Value::as_array);
    let Some(list) = list else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|m| {
            let id = bare_id(m.get("name").and_then(Value::as_str)?.trim());
            // Ids are path segments upstream: nothing that could leave one is taken in.
            let valid = !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !valid {
                return None;
            }
            let limit = |key: &str| m.get(key).and_then(Value::as_u64);
            Some(ModelInfo {
                id: id.to_string(),
                display_name: m
                    .get("displayName")
                    .and_then(Value::as_str)
                    .map(|s| s.chars().take(200).collect()),
                input_token_limit: limit("inputTokenLimit"),
                output_token_limit: limit("outputTokenLimit"),
                methods: m
                    .get("supportedGenerationMethods")
                    .or_else(|| m.get("supportedActions"))
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(Value::as_str)
                            .take(32)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                thinking: m.get("thinking").and_then(Value::as_bool),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_list_shapes_read_into_bare_ids() {
        let api = json!({"models": [
            {"name": "models/gemini-9-flash", "displayName": "Gemini 9 Flash",
             "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
             "supportedGenerationMethods": ["generateContent", "countTokens"], "thinking": true},
            {"name": "models/a b"},
            {"displayName": "no name"},
        ]});
        let models = parse_page(&api);
        assert_eq!(models.len(), 1);
        assert_eq!(models[0].id, "gemini-9-flash");
        assert_eq!(models[0].output_token_limit, Some(65536));
        assert_eq!(models[0].thinking, Some(true));
        assert_eq!(models[0].methods, vec!["generateContent", "countTokens"]);
        let vertex = json!({"publisherModels": [
            {"name": "publishers/google/models/gemini-2.5-pro", "versionId": "001"}
        ]});
        assert_eq!(parse_page(&vertex)[0].id, "gemini-2.5-pro");
        assert!(parse_page(&json!({})).is_empty());
    }

    #[test]
    fn urls_per_source() {
        let api = ListSource::GeminiApi {
            endpoint: "http://g.test/",
        };
        assert_eq!(api.url(), "http://g.test/v1beta/models");
        let regional = ListSource::Vertex {
            endpoint: None,
            location: Some("europe-west4"),
        };
        assert_eq!(
            regional.url(),
            "https://europe-west4-aiplatform.googleapis.com/v1beta1/publishers/google/models"
        );
        let express = ListSource::Vertex {
            endpoint: None,
            location: None,
        };
        assert_eq!(
            express.url(),
            "https://aiplatform.googleapis.com/v1beta1/publishers/google/models"
        );
    }
}
