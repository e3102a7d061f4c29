//! Calls to the Generative Language API (`{GEMINI_API_ENDPOINT}/v1beta/models/{model}:*`) with an AI
//! Studio key. No envelope: the body is the bare `GenerateContentRequest`, the answer the bare
//! `GenerateContentResponse`. The bare calls here also serve Vertex AI, which differs only in the URL
//! and, for service accounts, a bearer token instead of the key.

use std::time::Duration;

use awc::http::header;
use serde::Serialize;
use serde_json::Value;

use super::code_assist::{read_error, StreamResponse};
use super::error::UpstreamError;
use super::path_segment::segment;
use crate::credentials::AuthHeader;

/// Largest non-streaming answer accepted (images can be large).
const MAX_BODY: usize = 64 * 1024 * 1024;
/// The header Google's API-key APIs read the key from (kept out of URLs, hence out of access logs).
pub const API_KEY_HEADER: &str = "x-goog-api-key";

/// How a bare call authenticates.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// An API key (AI Studio, Vertex express mode).
    Key(&'a str),
    /// An OAuth access token (Vertex service account).
    Bearer(&'a str),
}

impl<'a> Auth<'a> {
    /// `token` in the header the credential's kind names.
    pub fn with(header: AuthHeader, token: &'a str) -> Self {
        match header {
            AuthHeader::ApiKey => Self::Key(token),
            AuthHeader::Bearer => Self::Bearer(token),
        }
    }
}

pub fn user_agent() -> String {
    format!("gcli2api/{}", env!("CARGO_PKG_VERSION"))
}

/// The model is one encoded path segment: no name can reach another path or add a query.
pub fn method_url(endpoint: &str, model: &str, method: &str) -> String {
    format!(
        "{}/v1beta/models/{}:{method}",
        endpoint.trim_end_matches('/'),
        segment(model)
    )
}

fn request(
    client: &awc::Client,
    url: &str,
    auth: Auth<'_>,
    timeout: Duration,
) -> awc::ClientRequest {
    authenticated(client.post(url), auth, timeout)
}

/// `req` with the user agent and `auth`'s header.
pub fn authenticated(
    req: awc::ClientRequest,
    auth: Auth<'_>,
    timeout: Duration,
) -> awc::ClientRequest {
    let req = req
        .timeout(timeout)
        .insert_header((header::USER_AGENT, user_agent()));
    match auth {
        Auth::Key(key) => req.insert_header((API_KEY_HEADER, key)),
        Auth::Bearer(token) => {
            req.insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        }
    }
}

/// POST `body` and read the JSON answer, bounded by `timeout` as a whole.
pub async fn post_json<B: Serialize>(
    client: &awc::Client,
    url: &str,
    auth: Auth<'_>,
    body: &B,
    timeout: Duration,
) -> Result<Value, UpstreamError> {
    let call = async {
        let resp = request(client, url, auth, timeout).send_json(body).await?;
        if !resp.status().is_success() {
            return Err(read_error(resp).await);
        }
        let mut resp = resp;
        let bytes = resp.body().limit(MAX_BODY).await?;
        serde_json::from_slice::<Value>(&bytes).map_err(|e| UpstreamError::Protocol(e.to_string()))
    };
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or(Err(UpstreamError::Timeout))
}

/// POST `body` to a `:streamGenerateContent?alt=sse` URL; returns once the response head arrived.
pub async fn open_stream<B: Serialize>(
    client: &awc::Client,
    url: &str,
    auth: Auth<'_>,
    body: &B,
    head_timeout: Duration,
) -> Result<StreamResponse, UpstreamError> {
    let resp = request(client, url, auth, head_timeout)
        .insert_header((header::ACCEPT, "text/event-stream"))
        .send_json(body)
        .await?;
    if !resp.status().is_success() {
        return Err(read_error(resp).await);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_v1beta_model_paths() {
        assert_eq!(
            method_url("https://generativelanguage.googleapis.com/", "gemini-2.5-pro", "generateContent"),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent"
        );
        assert_eq!(
            method_url("http://g", "gemini-2.5-flash/../../v1beta/cachedContents?x=1#", "generateContent"),
            "http://g/v1beta/models/gemini-2.5-flash%2F..%2F..%2Fv1beta%2FcachedContents%3Fx%3D1%23:generateContent"
        );
    }
}
