//! Full validation of an API caller before anything costs us: the password, or an `sk-` key that exists,
//! has not expired and (for a model route) lists the model. Used by every client route, including the
//! ones that debit nothing (model lists, `countTokens`), so a made-up `sk-` string never reaches Google.

use actix_web::{web, HttpRequest};

use super::client_address::client_address;
use super::key_guesses::KeyGuesses;
use super::{authenticate_api, ApiCaller};
use crate::error::{ApiError, ErrorKind};
use crate::quota::QuotaError;
use crate::state::AppState;

/// Checks `caller` against the key table; the password always passes.
pub async fn verify_caller(
    state: &AppState,
    caller: &ApiCaller,
    model: Option<&str>,
) -> Result<(), ApiError> {
    check_key(state, caller, model)
        .await
        .map_err(ApiError::from)
}

async fn check_key(
    state: &AppState,
    caller: &ApiCaller,
    model: Option<&str>,
) -> Result<(), QuotaError> {
    let ApiCaller::Key(key) = caller else {
        return Ok(());
    };
    // Cached rules answer on this thread; only a key not cached is read from the store.
    state.debits.check(key, model).await
}

/// [`check_key`] on a client route: a key with `allowed_ips` is also refused from other addresses
/// (the client address as `TRUSTED_PROXIES` resolve it).
async fn check_key_from(
    state: &AppState,
    caller: &ApiCaller,
    model: Option<&str>,
    req: &HttpRequest,
) -> Result<(), QuotaError> {
    let ApiCaller::Key(key) = caller else {
        return Ok(());
    };
    let address = || client_address(req, &state.settings.current()).parse().ok();
    state.debits.check_from(key, model, address).await
}

/// [`authenticate_api`] followed by [`verify_caller`]. An address that keeps presenting wrong
/// secrets or made-up keys is throttled ([`KeyGuesses`]) before its next key is looked up.
pub async fn authorize_api(
    req: &HttpRequest,
    state: &AppState,
    model: Option<&str>,
) -> Result<ApiCaller, ApiError> {
    let settings = state.settings.current();
    let guesses = req.app_data::<web::Data<KeyGuesses>>();
    let address = guesses.map(|_| client_address(req, &settings));
    let now = state.clock.now();
    if let (Some(guesses), Some(address)) = (guesses, address.as_deref()) {
        if let Err(wait) = guesses.check(address, now) {
            return Err(ApiError::too_many(format!(
                "too many invalid API keys from this address; try again in {wait} s"
            ))
            .with_retry_after(wait.unsigned_abs()));
        }
    }
    let failed = |e: ApiError| {
        if let (Some(guesses), Some(address)) = (guesses, address.as_deref()) {
            guesses.failed(address, now);
        }
        e
    };
    let caller = authenticate_api(req, &settings).map_err(|e| {
        // A missing secret is a client mistake, not a guess.
        if e.kind == ErrorKind::Forbidden {
            failed(e)
        } else {
            e
        }
    })?;
    match check_key_from(state, &caller, model, req).await {
        Ok(()) => {}
        Err(QuotaError::UnknownKey) => return Err(failed(QuotaError::UnknownKey.into())),
        Err(e) => return Err(e.into()),
    }
    Ok(caller)
}
