//! The one entry point of a model call, shared by every client API: charge the caller's key, call
//! Google in the requested stream mode, and render through the client's [`Dialect`]. Route handlers
//! only extract, authenticate and convert; everything after that happens here, once.

use actix_web::HttpResponse;
use serde_json::Value;

use super::anti_truncation_driver::anti_truncation_stream;
use super::calls::{generate, open_stream, Job};
use super::fake_driver::fake_stream;
use super::quota_gate::{admit, settle, with_debit};
use super::relay::relay;
use crate::auth::ApiCaller;
use crate::convert::dialect::{sse_response, Dialect};
use crate::convert::gemini::model_name::StreamMode;
use crate::convert::session_key::{SessionKey, SessionParts, SESSION_HEADER};
use crate::convert::session_trajectory;
use crate::error::ApiError;
use crate::state::{AppState, UpstreamClient};

/// One model call, converted to Gemini and ready to send.
#[derive(Debug, Clone)]
pub struct ModelCall {
    /// Who pays: an `sk-` key is debited, the password is not.
    pub caller: ApiCaller,
    /// The model name as the client requested it (feature prefixes included): what a key is charged for.
    pub requested_model: String,
    /// The Gemini model to call.
    pub base_model: String,
    /// The Gemini request body (not yet wrapped in the Code Assist envelope).
    pub request: Value,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// How a stream is produced: relayed, faked with heartbeats, or continued past truncation.
    pub mode: StreamMode,
    /// The conversation this call belongs to, so its turns stay on one credential (see
    /// `convert::session_key`). `None`: the gateway derives it from the request's prefix.
    pub session: Option<SessionKey>,
}

/// The `x-session-id` header, which names a conversation on any route (see `convert::session_key`).
pub fn session_header(headers: &actix_web::http::header::HeaderMap) -> Option<&str> {
    headers
        .get(SESSION_HEADER)
        .and_then(|value| value.to_str().ok())
}

/// Runs `call` and answers in `dialect`'s shape. Every error, HTTP or in-stream, is rendered in the
/// dialect's [`ErrorStyle`](crate::error::ErrorStyle).
///
/// The key's debit is durable before the client gets a byte, committed as soon as Google has answered
/// (the first event of a stream) and refunded if the client ends up with nothing.
pub async fn serve<D: Dialect>(
    state: &AppState,
    client: &UpstreamClient,
    call: ModelCall,
    dialect: D,
) -> Result<HttpResponse, ApiError> {
    // A dialect is whole on its own: its HTTP errors speak its style even from a route outside the
    // client API scopes (a new dialect's route before it is registered, tests/api/dialects.rs). In
    // the scopes this is the scope's style anyway.
    let style = dialect.style();
    run(state, client, call, dialect)
        .await
        .map_err(|e| e.with_style(style))
}

async fn run<D: Dialect>(
    state: &AppState,
    client: &UpstreamClient,
    mut call: ModelCall,
    mut dialect: D,
) -> Result<HttpResponse, ApiError> {
    crate::observe::trace::note_model(&call.base_model);
    let pending = admit(state, &call.caller, &call.requested_model).await?;
    let session = call.session.or_else(|| {
        SessionKey::of(SessionParts {
            client_key: None,
            header: None,
            model: &call.base_model,
            gemini_request: &call.request,
        })
    });
    // Code Assist's trajectory id follows the conversation and its model (see `session_trajectory`).
    session_trajectory::stamp(&mut call.request, session, &call.base_model);
    if !call.stream {
        let answer = generate(state, client, &call.base_model, &call.request, session);
        let (mut quota, response) = with_debit(pending, answer).await?;
        if let Some(q) = quota.as_mut() {
            q.commit();
        }
        return Ok(HttpResponse::Ok().json(dialect.render_response(response)));
    }
    let job = Job {
        state: state.clone(),
        client: client.clone(),
        base_model: call.base_model,
        request: call.request,
        session,
    };
    match call.mode {
        // The driven streams call Google more than once (or answer before it does): their debit is
        // settled first.
        StreamMode::Fake => {
            let quota = settle(pending).await?;
            let interval = state.settings.current().heartbeat_interval();
            fake_stream(job, dialect, interval, quota).await
        }
        StreamMode::AntiTruncation => {
            let quota = settle(pending).await?;
            anti_truncation_stream(job, dialect, quota).await
        }
        StreamMode::Normal => {
            let opened = open_stream(
                &job.state,
                &job.client,
                &job.base_model,
                &job.request,
                job.session,
            );
            let (quota, (first, events)) = with_debit(pending, opened).await?;
            Ok(sse_response().streaming(relay(first, events, dialect, quota)))
        }
    }
}
