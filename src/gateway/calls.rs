//! The two upstream call shapes every route needs, wrapped in the retry loop: a whole answer, or a
//! stream whose first event has already arrived (so early failures can still be retried or answered with
//! a proper status).

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

use super::capabilities;
use super::dispatch::{with_retries, DispatchError};
use super::upstream_events::UpstreamEvents;
use crate::actors::scout::messages::CreditsSeen;
use crate::config::Settings;
use crate::convert::session_key::SessionKey;
use crate::state::{AppState, UpstreamClient};
use crate::upstream::{kind, UpstreamError};

/// One upstream job, owned, so streaming drivers can keep it across awaits.
pub struct Job {
    pub state: AppState,
    pub client: UpstreamClient,
    pub base_model: String,
    /// The Gemini request (wrapped in the Code Assist envelope only for Code Assist credentials).
    pub request: Value,
    /// The conversation the call belongs to (session affinity).
    pub session: Option<SessionKey>,
}

/// `generateContent` for the Gemini `request`; answers the unwrapped response.
pub async fn generate(
    state: &AppState,
    client: &UpstreamClient,
    base_model: &str,
    request: &Value,
    session: Option<SessionKey>,
) -> Result<Value, DispatchError> {
    let settings = state.settings.current();
    let timeout = Duration::from_secs(settings.upstream_timeout);
    let request = &*capabilities::shape(state, base_model, request);
    let (answer, lease) = with_retries(state, base_model, session, request, |lease| {
        let client = client.0.clone();
        let settings = settings.clone();
        async move {
            let cred = lease.upstream();
            let answer =
                kind::generate(&client, &settings, cred, base_model, request, timeout).await;
            match answer {
                Err(e) => match capabilities::thinking_retry(state, base_model, request, &e) {
                    Some(retry) => {
                        kind::generate(&client, &settings, cred, base_model, &retry, timeout).await
                    }
                    None => Err(e),
                },
                ok => ok,
            }
        }
    })
    .await?;
    if let Some(credits) = answer.credits {
        state.scout.do_send(CreditsSeen {
            name: lease.name,
            credits,
        });
    }
    crate::observe::trace::note_event(&answer.response);
    Ok(answer.response)
}

/// Opens the stream and reads its first event.
async fn first_event(
    client: &awc::Client,
    settings: &Settings,
    cred: kind::Credential<'_>,
    base_model: &str,
    request: &Value,
    head_timeout: Duration,
    idle: Duration,
) -> Result<(Value, UpstreamEvents), UpstreamError> {
    let resp = kind::open_stream(client, settings, cred, base_model, request, head_timeout).await?;
    let mut events = UpstreamEvents::new(resp, idle);
    match events.next().await {
        Some(Ok(first)) => Ok((first, events)),
        Some(Err(e)) => Err(e),
        None => Err(UpstreamError::Protocol(
            "stream ended without an event".into(),
        )),
    }
}

/// `streamGenerateContent` for the Gemini `request`; answers the first event and the rest of the stream.
pub async fn open_stream(
    state: &AppState,
    client: &UpstreamClient,
    base_model: &str,
    request: &Value,
    session: Option<SessionKey>,
) -> Result<(Value, UpstreamEvents), DispatchError> {
    let settings = state.settings.current();
    let head_timeout = Duration::from_secs(settings.upstream_timeout);
    let idle = Duration::from_secs(settings.stream_idle_timeout);
    let request = &*capabilities::shape(state, base_model, request);
    let (mut pair, lease) = with_retries(state, base_model, session, request, |lease| {
        let client = client.0.clone();
        let settings = settings.clone();
        async move {
            let cred = lease.upstream();
            let open = |request| {
                first_event(
                    &client,
                    &settings,
                    cred,
                    base_model,
                    request,
                    head_timeout,
                    idle,
                )
            };
            match open(request).await {
                Err(e) => match capabilities::thinking_retry(state, base_model, request, &e) {
                    Some(retry) => open(&retry).await,
                    None => Err(e),
                },
                ok => ok,
            }
        }
    })
    .await?;
    pair.1
        .report_credits_to(state.scout.clone().recipient(), lease.name);
    pair.1.stop_when(state.shutdown.streams_ended());
    pair.1.count_waits();
    Ok(pair)
}

/// `countTokens`, forwarded to Google. Routes reach it through the
/// gateway's `count_tokens` entry (`count.rs`).
pub(super) async fn count_tokens(
    state: &AppState,
    client: &UpstreamClient,
    base_model: &str,
    body: &Value,
) -> Result<Value, DispatchError> {
    let settings = state.settings.current();
    let timeout = Duration::from_secs(settings.upstream_timeout.min(120));
    let (resp, _) = with_retries(state, base_model, None, body, |lease| {
        let client = client.0.clone();
        let settings = settings.clone();
        async move {
            kind::count_tokens(
                &client,
                &settings,
                lease.upstream(),
                base_model,
                body,
                timeout,
            )
            .await
        }
    })
    .await?;
    Ok(resp)
}
