//! Calls to the Code Assist API (`{CODE_ASSIST_ENDPOINT}/v1internal:*`). Requests and responses are the
//! Code Assist envelope: `{"model","project","request":{…}}` in, `{"response":{…}}` out.

use std::time::Duration;

use awc::http::header;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::error::UpstreamError;
use crate::convert::gemini::features::EnvelopeRef;

/// Largest non-streaming answer accepted (images can be large).
const MAX_BODY: usize = 64 * 1024 * 1024;
const CLI_VERSION: &str = "0.35.2";

/// `GeminiCLI/<version>/<model> (<os>; <arch>)`, the form the Gemini CLI sends.
pub fn user_agent(model: Option<&str>) -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        "windows" => "win32",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    // The model is the client's choice: only a plain token of it goes into the header, so no name
    // can break the header or make every credential's call fail.
    let model = model.map(|m| {
        m.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .take(64)
            .collect::<String>()
    });
    match model.filter(|m| !m.is_empty()) {
        Some(m) => format!("GeminiCLI/{CLI_VERSION}/{m} ({os}; {arch})"),
        None => format!("GeminiCLI/{CLI_VERSION} ({os}; {arch})"),
    }
}

pub fn method_url(endpoint: &str, method: &str) -> String {
    format!("{}/v1internal:{method}", endpoint.trim_end_matches('/'))
}

/// Reads an error body as JSON when it is JSON; Google errors always are.
pub async fn read_error<S>(mut resp: awc::ClientResponse<S>) -> UpstreamError
where
    S: futures_util::Stream<Item = Result<Bytes, awc::error::PayloadError>> + Unpin,
{
    let status = resp.status().as_u16();
    let body = resp
        .body()
        .limit(1024 * 1024)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    UpstreamError::Status { status, body }
}

/// POST a JSON body and read a JSON answer, bounded by `timeout` as a whole.
pub async fn post_json<B: Serialize>(
    client: &awc::Client,
    url: &str,
    token: &str,
    user_agent: &str,
    body: &B,
    timeout: Duration,
) -> Result<Value, UpstreamError> {
    let call = async {
        let resp = client
            .post(url)
            .timeout(timeout)
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .insert_header((header::USER_AGENT, user_agent))
            .send_json(body)
            .await?;
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

/// `:generateContent` — the whole answer.
pub async fn generate(
    client: &awc::Client,
    endpoint: &str,
    token: &str,
    envelope: &EnvelopeRef<'_>,
    timeout: Duration,
) -> Result<Value, UpstreamError> {
    post_json(
        client,
        &method_url(endpoint, "generateContent"),
        token,
        &user_agent(Some(envelope.model)),
        envelope,
        timeout,
    )
    .await
}

/// The streaming response, once Google answered 2xx; the body is read by the caller event by event.
pub type StreamResponse = awc::ClientResponse;

/// `:streamGenerateContent?alt=sse` — returns as soon as the response head arrived.
pub async fn open_stream(
    client: &awc::Client,
    endpoint: &str,
    token: &str,
    envelope: &EnvelopeRef<'_>,
    head_timeout: Duration,
) -> Result<StreamResponse, UpstreamError> {
    let model = Some(envelope.model);
    let url = format!("{}?alt=sse", method_url(endpoint, "streamGenerateContent"));
    let resp = client
        .post(url)
        .timeout(head_timeout)
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .insert_header((header::USER_AGENT, user_agent(model)))
        .insert_header((header::ACCEPT, "text/event-stream"))
        .send_json(envelope)
        .await?;
    if !resp.status().is_success() {
        return Err(read_error(resp).await);
    }
    Ok(resp)
}

/// `:countTokens` with `{"request":{"model":"models/<m>","contents":[…]}}`.
pub async fn count_tokens(
    client: &awc::Client,
    endpoint: &str,
    token: &str,
    body: &Value,
    timeout: Duration,
) -> Result<Value, UpstreamError> {
    post_json(
        client,
        &method_url(endpoint, "countTokens"),
        token,
        &user_agent(None),
        body,
        timeout,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_has_cli_form() {
        let ua = user_agent(Some("gemini-2.5-pro"));
        assert!(ua.starts_with("GeminiCLI/0.35.2/gemini-2.5-pro ("), "{ua}");
        assert!(user_agent(None).starts_with("GeminiCLI/0.35.2 ("));
        let odd = user_agent(Some("gemini\r\nX-Evil: 1\0/x"));
        assert!(
            odd.starts_with("GeminiCLI/0.35.2/geminiX-Evil1x ("),
            "{odd}"
        );
        assert!(!odd.contains('\r') && !odd.contains('\n'));
    }

    #[test]
    fn method_url_tolerates_trailing_slash() {
        assert_eq!(
            method_url("https://x.test/", "generateContent"),
            "https://x.test/v1internal:generateContent"
        );
    }
}
