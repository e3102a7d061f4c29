//! The retry loop shared by every client API: choose a credential, call Google, report the outcome, and on
//! a retryable failure try the next credential — only ever before the first byte reached the client.

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use actix::Addr;

use crate::actors::credentials::messages::{
    EnsureReady, FoldSuccesses, Outcome, ReadyToken, ReportOutcome,
};
use crate::actors::credentials::CredentialActor;
use crate::actors::scout::messages::{CreditsSeen, QuotaHint};
use crate::convert::session_key::SessionKey;
use crate::error::{ApiError, ErrorKind};
use crate::fleet::choice::{self, ChoiceRequest};
use crate::fleet::live_credential::SuccessReport;
use crate::fleet::{Choice, CredentialError, Lease};
use crate::gateway::content_refusal::{self, Suspect};
use crate::observe::outcome;
use crate::observe::trace::{self, Attempt};
use crate::state::AppState;
use crate::store::CreditBalance;
use crate::upstream::classify::{classify_error, FailureKind, Scope, Verdict, Wait};
use crate::upstream::quota::GOOGLE_ONE_AI;
use crate::upstream::UpstreamError;

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    NoCredential(#[from] CredentialError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// No credential serves the model; `closest` are the catalogue ids nearest to it.
    #[error("no credential serves model {model}")]
    ModelNotFound { model: String, closest: Vec<String> },
    /// Google refused this request (plain 429s) on two healthy credentials in a row: its content, not
    /// their quota. No credential was set to rest for it.
    #[error("Google refused this request on several healthy accounts (request {hash})")]
    ContentRejected { hash: String, retry_after: u64 },
    /// Google's 429, relayed once no other credential could take over, with the seconds until a
    /// credential is expected to be free again.
    #[error("{error} (retry after {retry_after} s)")]
    Limited {
        error: UpstreamError,
        retry_after: u64,
    },
}

impl From<DispatchError> for ApiError {
    fn from(e: DispatchError) -> Self {
        match e {
            // Everyone is resting for this model: a rate limit, not an outage. Clients back off by
            // `Retry-After` instead of treating the gateway as down.
            DispatchError::NoCredential(CredentialError::AllCooling { model, wait_secs }) => {
                ApiError::new(
                    ErrorKind::ModelCooldown,
                    format!(
                        "every credential is cooling down for {model}; the first is free again in {} s",
                        wait_secs.max(1)
                    ),
                )
                .with_retry_after(wait_secs.max(1) as u64)
            }
            // No credential in the pool serves the model: the model is not available here.
            DispatchError::NoCredential(CredentialError::NoneServes(model)) => {
                super::model_not_found::not_found(&model, &[])
            }
            DispatchError::ModelNotFound { model, closest } => {
                super::model_not_found::not_found(&model, &closest)
            }
            DispatchError::NoCredential(e) => {
                ApiError::unavailable(format!("no credential available: {e}"))
            }
            DispatchError::Limited { error, retry_after } => {
                ApiError::from(error).with_retry_after(retry_after)
            }
            DispatchError::ContentRejected { retry_after, .. } => ApiError::new(
                ErrorKind::ContentRejected,
                "Google refused this request on several healthy accounts (Resource has been \
                 exhausted): it is the request's content, not the pool's quota; change the request \
                 rather than retrying it as it is",
            )
            .with_retry_after(retry_after),
            DispatchError::Upstream(e) => e.into(),
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
            UpstreamError::Stopping => {
                ApiError::unavailable("the gateway is shutting down; send the request again")
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
/// The choice itself is read from the fleet's published snapshot on this thread (see
/// `fleet::view`); only a refresh is a message.
pub async fn acquire(
    state: &AppState,
    base_model: &str,
    exclude: &mut Vec<Arc<str>>,
    session: Option<SessionKey>,
) -> Result<Lease<Addr<CredentialActor>>, DispatchError> {
    loop {
        let settings = state.settings.current();
        let request = ChoiceRequest {
            base_model,
            exclude,
            session,
            settings: &settings,
        };
        let choice = state
            .fleet
            .choose(&request, state.clock.now())
            .map_err(|e| name_closest(state, e))?;
        match choice {
            Choice::Ready(lease) => return Ok(lease),
            Choice::NeedsRefresh { name, actor, live } => match actor.send(EnsureReady).await {
                Ok(Ok(ReadyToken {
                    kind,
                    access_token,
                    project,
                    location,
                })) => {
                    let spend_credits = choice::spends_credits(&live, kind, &settings, base_model);
                    return Ok(Lease {
                        name,
                        kind,
                        access_token,
                        project,
                        location,
                        actor,
                        live,
                        spend_credits,
                    });
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

/// Counts a success for the credential's usage. Most are only tallied where the credential publishes its
/// status (no message, no thread woken); the first since the last fold asks its actor to fold, and one
/// that ends a rest is reported at once so the rest ends as before.
fn report_success(lease: &Lease<Addr<CredentialActor>>, base_model: &str, now_ms: i64) {
    lease.live.note_success(now_ms);
    lease.live.end_probe(base_model);
    match lease.live.count_success(base_model) {
        SuccessReport::Tallied => {}
        SuccessReport::AskFold => lease.actor.do_send(FoldSuccesses),
        SuccessReport::ReportNow => lease.actor.do_send(ReportOutcome {
            base_model: base_model.to_string(),
            outcome: Outcome::Success,
        }),
    }
}

/// Reports a failed attempt to its credential and waits for the bookkeeping, so the next choice already
/// sees the rest. Answers until when the credential rests for the model, if it does.
async fn report_failure(
    lease: &Lease<Addr<CredentialActor>>,
    base_model: &str,
    err: &UpstreamError,
    verdict: &Verdict,
) -> Option<i64> {
    let outcome = match err {
        UpstreamError::Status { status, .. } => Outcome::Failure {
            status: *status,
            verdict: verdict.clone(),
        },
        other => Outcome::Transport(other.to_string()),
    };
    let report = ReportOutcome {
        base_model: base_model.to_string(),
        outcome,
    };
    let until = lease.actor.send(report).await.ok().flatten();
    // The outcome is booked: a half-open probe of the model, if this was one, is over.
    lease.live.end_probe(base_model);
    until
}

/// The final answer after the last attempt failed with `err`. A 429 carries the seconds until the first
/// credential that rested is free again (at least one).
fn give_up(err: UpstreamError, free_at: Option<i64>, now: i64) -> DispatchError {
    if err.status() != Some(429) {
        return DispatchError::Upstream(err);
    }
    let retry_after = free_at.map_or(1, |at| (at - now).max(1)) as u64;
    DispatchError::Limited {
        error: err,
        retry_after,
    }
}

/// The trace entry of one call (timings are filled in by [`trace::note_attempt`]): the classifier's kind,
/// Google's own status and reason, and how long the credential was set to rest.
fn attempt(
    credential: &str,
    failure: Option<(&UpstreamError, &Verdict)>,
    rest_secs: Option<u64>,
    decision: &str,
) -> Attempt {
    Attempt {
        credential: credential.to_string(),
        start_ms: 0,
        latency_ms: 0,
        status: failure.and_then(|(e, _)| e.status()),
        kind: failure.map_or_else(|| "ok".to_string(), |(_, v)| v.kind.as_str().to_string()),
        reason: failure.and_then(|(e, _)| outcome::google_reason(e.body())),
        decision: decision.to_string(),
        wait_ms: 0,
        cooldown_secs: rest_secs,
    }
}

/// Runs `call` with one credential after another until it succeeds, a failure is final, or the retry
/// budget (`RETRY_429_MAX_RETRIES`) is spent. Every failure is read once by the classifier; its verdict
/// decides both the retry here and the credential's rest. Success is reported for usage counting.
/// `session` is the conversation the call belongs to (session affinity); a retry asks for it again, so
/// the supervisor rebinds it to the credential that takes over.
pub async fn with_retries<T, F, Fut>(
    state: &AppState,
    base_model: &str,
    session: Option<SessionKey>,
    request: &Value,
    mut call: F,
) -> Result<(T, Lease<Addr<CredentialActor>>), DispatchError>
where
    F: FnMut(Lease<Addr<CredentialActor>>) -> Fut,
    Fut: Future<Output = Result<T, UpstreamError>>,
{
    let mut exclude: Vec<Arc<str>> = Vec::new();
    let mut failures = 0u32;
    let mut last_error: Option<UpstreamError> = None;
    // A plain 429 of a healthy credential, not booked until the next attempt tells whose fault it was.
    let mut suspect: Option<Suspect> = None;
    trace::note_model(base_model);
    // The earliest moment one of the credentials tried here is free again.
    let mut free_at: Option<i64> = None;
    loop {
        let lease = match acquire(state, base_model, &mut exclude, session).await {
            Ok(lease) => lease,
            // Credentials ran out mid-retry: the client learns what Google last said.
            Err(e) => {
                if let Some(held) = suspect.take() {
                    last_error = Some(book_suspect(base_model, held, &mut free_at).await);
                }
                trace::note_error(&e.to_string());
                let now = state.clock.now();
                return Err(match (last_error, e) {
                    (None, e) => e,
                    (
                        Some(err),
                        DispatchError::NoCredential(CredentialError::AllCooling {
                            wait_secs, ..
                        }),
                    ) => give_up(err, Some(now + wait_secs), now),
                    (Some(err), _) => give_up(err, free_at, now),
                });
            }
        };
        let started = std::time::Instant::now();
        match call(lease.clone()).await {
            Ok(value) => {
                trace::note_attempt(started, attempt(&lease.name, None, None, "answered"));
                log::debug!("{base_model} answered by credential {}", lease.name);
                report_success(&lease, base_model, state.clock.now_millis());
                // The other credential's 429 was its own after all: book it now.
                if let Some(held) = suspect.take() {
                    book_suspect(base_model, held, &mut free_at).await;
                }
                return Ok((value, lease));
            }
            Err(err) => {
                let settings = state.settings.current();
                let mut verdict = classify_error(&err, base_model, &settings);
                if verdict.kind == FailureKind::NoCredits && lease.spend_credits {
                    // The credits this call offered are spent, not the account: it rests for the
                    // model until the daily reset and stops offering credits.
                    verdict.wait = Wait::DailyReset;
                    verdict.scope = Scope::Model;
                    state.scout.do_send(CreditsSeen {
                        name: lease.name.clone(),
                        credits: vec![CreditBalance {
                            credit_type: GOOGLE_ONE_AI.to_string(),
                            amount: 0,
                        }],
                    });
                }
                log::warn!(
                    "credential {} failed for {base_model} ({}): {err}: {}",
                    lease.name,
                    verdict.kind,
                    verdict.message
                );
                if err.status() == Some(429) && lease.kind.rules().is_account_login() {
                    state.scout.do_send(QuotaHint {
                        name: lease.name.clone(),
                    });
                }
                failures += 1;
                let budget = settings.retry_429_max_retries + 1;
                let plain = content_refusal::is_plain_429(&err, &verdict)
                    && content_refusal::looks_healthy(&lease, base_model, state.clock.now_millis());
                if plain {
                    if let Some(first) = suspect.take() {
                        return Err(reject_content(
                            state, base_model, request, first, lease, &verdict, started,
                        ));
                    }
                    if verdict.retry_elsewhere && failures < budget {
                        trace::note_attempt(
                            started,
                            attempt(&lease.name, Some((&err, &verdict)), None, "held"),
                        );
                        exclude.push(lease.name.clone());
                        suspect = Some(Suspect {
                            lease,
                            error: err,
                            verdict,
                        });
                        continue;
                    }
                } else if let Some(held) = suspect.take() {
                    book_suspect(base_model, held, &mut free_at).await;
                }
                let rested_until = report_failure(&lease, base_model, &err, &verdict).await;
                if let Some(until) = rested_until {
                    free_at = Some(free_at.map_or(until, |f| f.min(until)));
                }
                let rest = rested_until.and_then(|u| u64::try_from(u - state.clock.now()).ok());
                if !verdict.retry_elsewhere || failures >= budget {
                    trace::note_attempt(
                        started,
                        attempt(&lease.name, Some((&err, &verdict)), rest, "gave_up"),
                    );
                    return Err(give_up(err, free_at, state.clock.now()));
                }
                trace::note_attempt(
                    started,
                    attempt(&lease.name, Some((&err, &verdict)), rest, "retried"),
                );
                exclude.push(lease.name.clone());
                last_error = Some(err);
                let wait = settings.retry_interval();
                if !wait.is_zero() {
                    trace::note_wait(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// Books a held plain 429 on its credential after all (the next attempt showed it was the account's).
async fn book_suspect(base_model: &str, held: Suspect, free_at: &mut Option<i64>) -> UpstreamError {
    let until = report_failure(&held.lease, base_model, &held.error, &held.verdict).await;
    if let Some(until) = until {
        *free_at = Some(free_at.map_or(until, |f| f.min(until)));
    }
    log::debug!(
        "credential {}: its 429 for {base_model} booked after the next attempt",
        held.lease.name
    );
    held.error
}

/// Two healthy credentials refused the same request with a plain 429: the request is at fault. Neither
/// credential rests for it; the client is told to change the request.
fn reject_content(
    state: &AppState,
    base_model: &str,
    request: &Value,
    first: Suspect,
    second: Lease<Addr<CredentialActor>>,
    verdict: &Verdict,
    started: std::time::Instant,
) -> DispatchError {
    first.lease.live.end_probe(base_model);
    second.live.end_probe(base_model);
    let hash = content_refusal::request_hash(request);
    let retry_after = u64::try_from(state.settings.current().rate_limit_backoff_seconds)
        .unwrap_or(1)
        .max(1);
    log::warn!(
        "request {hash} for {base_model} refused by Google on {} and {} (plain 429 on healthy \
         accounts): rejected as content, no cooldown booked",
        first.lease.name,
        second.name
    );
    let catalogue = state.catalogue.snapshot();
    state
        .metrics
        .count_content_rejection(super::model_label::model_label(base_model, &catalogue));
    let err = UpstreamError::Status {
        status: 429,
        body: None,
    };
    trace::note_attempt(
        started,
        attempt(
            &second.name,
            Some((&err, verdict)),
            None,
            "content_rejected",
        ),
    );
    trace::note_error(&format!("content rejected (request {hash})"));
    DispatchError::ContentRejected { hash, retry_after }
}
/// The choice's failure for the client: `NoneServes` becomes the 404 with the closest ids; every
/// other failure is unchanged.
fn name_closest(state: &AppState, error: CredentialError) -> DispatchError {
    match error {
        CredentialError::NoneServes(model) => {
            let closest = super::model_not_found::closest_ids(state, &model);
            DispatchError::ModelNotFound { model, closest }
        }
        other => DispatchError::NoCredential(other),
    }
}
