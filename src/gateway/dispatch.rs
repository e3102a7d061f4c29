//! The retry loop shared by every client API: choose a credential, call Google, report the outcome, and on
//! a retryable failure try the next credential — only ever before the first byte reached the client.

use std::future::Future;
use std::sync::Arc;

use crate::actors::credentials::{
    AcquireCredential, Choice, CredentialError, EnsureReady, Lease, Outcome, ReportOutcome,
};
use crate::error::{ApiError, ErrorKind};
use crate::state::AppState;
use crate::upstream::UpstreamError;

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    NoCredential(#[from] CredentialError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("the credential registry is not answering")]
    Mailbox,
}

impl From<DispatchError> for ApiError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::NoCredential(e) => {
                let retry = match &e {
                    CredentialError::AllCooling { wait_secs, .. } => Some(*wait_secs as u64),
                    _ => None,
                };
                let err = ApiError::unavailable(format!("no credential available: {e}"));
                match retry {
                    Some(secs) => err.with_retry_after(secs),
                    None => err,
                }
            }
            DispatchError::Upstream(e) => e.into(),
            DispatchError::Mailbox => ApiError::actor_unavailable("the credential registry"),
        }
    }
}

/// Google's failure as the client sees it, before the stream started (HTTP status) or after (an
/// error event): the same kind either way.
impl From<UpstreamError> for ApiError {
    fn from(e: UpstreamError) -> Self {
        match e {
            UpstreamError::Status { status, body } => {
                ApiError::upstream(status, body, "upstream error")
            }
            UpstreamError::Timeout => {
                ApiError::new(ErrorKind::GatewayTimeout, "Google did not answer in time")
            }
            UpstreamError::Cut => ApiError::new(
                ErrorKind::BadGateway,
                "Google's stream ended before the answer was complete",
            ),
            other => {
                log::warn!("upstream failure: {other}");
                ApiError::new(ErrorKind::BadGateway, "could not reach Google")
            }
        }
    }
}

/// Picks a ready credential not in `exclude`, waiting for a token refresh only when nothing is ready.
pub async fn acquire(
    state: &AppState,
    base_model: &str,
    exclude: &mut Vec<Arc<str>>,
) -> Result<Lease, DispatchError> {
    loop {
        let choice = state
            .supervisor
            .send(AcquireCredential {
                base_model: base_model.to_string(),
                exclude: exclude.clone(),
            })
            .await
            .map_err(|_| DispatchError::Mailbox)??;
        match choice {
            Choice::Ready(lease) => return Ok(lease),
            Choice::NeedsRefresh(name, actor) => match actor.send(EnsureReady).await {
                Ok(Ok((access_token, project))) => {
                    return Ok(Lease {
                        name,
                        access_token,
                        project,
                        actor,
                    })
                }
                Ok(Err(e)) => {
                    log::warn!("{e}");
                    exclude.push(name);
                }
                Err(_) => exclude.push(name),
            },
        }
    }
}

/// Whether another credential might succeed where this one failed.
fn should_retry(err: &UpstreamError, base_model: &str, state: &AppState) -> bool {
    let settings = state.settings.current();
    match err {
        UpstreamError::Status { status, .. } => {
            let status = *status;
            (settings.retry_429_enabled && matches!(status, 429 | 500 | 503))
                || (settings.auto_ban && settings.auto_ban_error_codes.contains(&status))
                || (status == 404 && base_model.contains("preview"))
        }
        UpstreamError::Timeout | UpstreamError::Network(_) | UpstreamError::Cut => {
            settings.retry_429_enabled
        }
        UpstreamError::Protocol(_) => false,
    }
}

fn outcome_of(err: &UpstreamError) -> Outcome {
    match err {
        UpstreamError::Status { status, body } => Outcome::Failure {
            status: *status,
            body: body.clone(),
        },
        other => Outcome::Transport(other.to_string()),
    }
}

/// Runs `call` with one credential after another until it succeeds, a failure is final, or the retry
/// budget (`RETRY_429_MAX_RETRIES`) is spent. Success is reported for usage counting.
pub async fn with_retries<T, F, Fut>(
    state: &AppState,
    base_model: &str,
    mut call: F,
) -> Result<(T, Lease), DispatchError>
where
    F: FnMut(Lease) -> Fut,
    Fut: Future<Output = Result<T, UpstreamError>>,
{
    let mut exclude: Vec<Arc<str>> = Vec::new();
    let mut failures = 0u32;
    let mut last_error: Option<UpstreamError> = None;
    loop {
        let lease = match acquire(state, base_model, &mut exclude).await {
            Ok(lease) => lease,
            // Credentials ran out mid-retry: the client learns what Google last said.
            Err(e) => return Err(last_error.map(DispatchError::Upstream).unwrap_or(e)),
        };
        match call(lease.clone()).await {
            Ok(value) => {
                log::info!("{base_model} answered by credential {}", lease.name);
                lease.actor.do_send(ReportOutcome {
                    base_model: base_model.to_string(),
                    outcome: Outcome::Success,
                });
                return Ok((value, lease));
            }
            Err(err) => {
                log::warn!("credential {} failed for {base_model}: {err}", lease.name);
                lease.actor.do_send(ReportOutcome {
                    base_model: base_model.to_string(),
                    outcome: outcome_of(&err),
                });
                failures += 1;
                let settings = state.settings.current();
                let budget = settings.retry_429_max_retries + 1;
                if !should_retry(&err, base_model, state) || failures >= budget {
                    return Err(DispatchError::Upstream(err));
                }
                exclude.push(lease.name.clone());
                last_error = Some(err);
                let wait = settings.retry_interval();
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}
