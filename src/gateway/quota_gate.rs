//! Charging `sk-` keys: the debit is admitted after the request is validated and before Google is
//! called, and is durable before the client is answered; the guard refunds it if the client ends up
//! with nothing. While a key's balance plainly covers the request, Google is called while the debit
//! is at the store ([`with_debit`]), so a keyed request costs no store round trip of its own.

use std::future::Future;

use crate::actors::quota::messages::QueueDebit;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::quota::admission::Admitted;
use crate::quota::guard::QuotaGuard;
use crate::quota::QuotaError;
use crate::state::AppState;

pub fn quota_error(e: QuotaError) -> ApiError {
    ApiError::from(e)
}

/// A key's debit admitted and on its way to the store.
pub struct PendingDebit {
    state: AppState,
    admitted: Admitted,
}

impl PendingDebit {
    /// Waits for the store's verdict: the guard that refunds the debit unless the client is answered.
    pub async fn settle(self) -> Result<QuotaGuard, ApiError> {
        let debit = self
            .admitted
            .durable
            .await
            .unwrap_or(Err(QuotaError::Storage))
            .map_err(quota_error)?;
        crate::observe::trace::note_debit(debit.cost, debit.remaining);
        if let Some(windows) = debit.windows.clone() {
            // Token limits count the answer's tokens once it is over.
            let debits = self.state.debits.clone();
            crate::observe::trace::note_token_sink(Box::new(move |tokens| {
                debits.add_window_tokens(windows, tokens);
            }));
        }
        Ok(QuotaGuard::new(self.state.debits.clone(), debit))
    }
}

/// Admits a debit of the caller's key for `model` (the name as requested); the password pays nothing.
/// Errors are in the default style; the caller sets its own.
pub async fn admit(
    state: &AppState,
    caller: &ApiCaller,
    model: &str,
) -> Result<Option<PendingDebit>, ApiError> {
    let ApiCaller::Key(key) = caller else {
        crate::observe::trace::note_caller(None);
        return Ok(None);
    };
    crate::observe::trace::note_caller(Some(key));
    let (admitted, queued) = state.debits.admit(key, model).await.map_err(quota_error)?;
    if let Some(debit) = queued {
        // This worker's own actor, on this thread: the one message of a keyed request.
        state
            .quota
            .do_send(QueueDebit::new(state.debits.clone(), debit));
    }
    Ok(Some(PendingDebit {
        state: state.clone(),
        admitted,
    }))
}

/// Refuses a request its key could not pay for (see `Debits::precheck`) before the request costs
/// anything; the password passes. The debit itself comes later, in [`admit`].
pub async fn precheck(state: &AppState, caller: &ApiCaller, model: &str) -> Result<(), ApiError> {
    let ApiCaller::Key(key) = caller else {
        return Ok(());
    };
    state.debits.precheck(key, model).await.map_err(quota_error)
}

/// Waits for `pending`'s debit to be durable, if there is one.
pub async fn settle(pending: Option<PendingDebit>) -> Result<Option<QuotaGuard>, ApiError> {
    match pending {
        Some(pending) => pending.settle().await.map(Some),
        None => Ok(None),
    }
}

/// Runs `call` (the call to Google) and settles `pending`, overlapping the two when the debit allows
/// it: the store's round trip then hides behind Google's, and the client is still answered only once
/// the debit is durable. A refused debit wins over the answer, which is dropped; a failed call drops
/// the guard, which refunds the debit.
pub async fn with_debit<T, E: Into<ApiError>>(
    pending: Option<PendingDebit>,
    call: impl Future<Output = Result<T, E>>,
) -> Result<(Option<QuotaGuard>, T), ApiError> {
    match pending {
        Some(pending) if pending.admitted.overlap => {
            let (guard, answer) = futures_util::future::join(pending.settle(), call).await;
            let guard = guard?;
            Ok((Some(guard), answer.map_err(Into::into)?))
        }
        pending => {
            let guard = settle(pending).await?;
            Ok((guard, call.await.map_err(Into::into)?))
        }
    }
}
