//! The request body of a client API route, read only once the caller is known.
//!
//! Order, each step before any body byte is buffered: authenticate (password, or an `sk-` key that
//! exists and has not expired) → `Content-Length` against `MAX_REQUEST_BODY_MB` (413 at once) → a share
//! of the in-flight body budget (`MAX_INFLIGHT_BODY_MB` for everyone, `MAX_INFLIGHT_BODY_PER_CALLER_MB`
//! for one caller: an `sk-` key, or the client address for the password; 503 + `Retry-After` past
//! either) → read, cut at the limit (chunked bodies too) and within `CLIENT_BODY_TIMEOUT` (408). An
//! anonymous client can therefore make the gateway hold nothing but headers, one caller at most its
//! share, and all clients together at most the budget.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::caller_check::authorize_api;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorKind};
use crate::state::AppState;

const MIB: u64 = 1024 * 1024;
/// Budget accounting unit: a semaphore permit stands for one KiB.
const UNIT: u64 = 1024;
/// Bodies whose size is not announced reserve budget in steps of this many bytes as they arrive.
const STEP: u64 = MIB;
/// Releasing at least this much schedules handing freed memory back to the system.
const PURGE_AFTER: u64 = 4 * MIB;
/// How long after a large body is released the worker's freed pages are returned: long enough that a
/// burst finishes first, so the purge runs once per burst rather than once per request.
const PURGE_DELAY: Duration = Duration::from_secs(1);

/// Request body bytes all client requests may hold at once, and one caller may.
#[derive(Clone)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    /// Bytes each caller holds now; an entry goes when its caller holds nothing, so the map is
    /// never larger than the requests in flight.
    held: Arc<Mutex<HashMap<String, u64>>>,
    per_caller: u64,
}

impl BodyBudget {
    pub fn new(max_bytes: u64) -> Self {
        Self::with_caller_share(max_bytes, max_bytes)
    }

    /// `per_caller`: the most one caller may hold of the `max_bytes` everyone shares.
    pub fn with_caller_share(max_bytes: u64, per_caller: u64) -> Self {
        let units = usize::try_from(max_bytes / UNIT)
            .unwrap_or(Semaphore::MAX_PERMITS)
            .clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(units)),
            held: Arc::new(Mutex::new(HashMap::new())),
            per_caller: per_caller.max(UNIT),
        }
    }

    /// `bytes` more for `caller`, within its share and the total; `None` past either.
    fn try_reserve(&self, caller: &str, bytes: u64) -> Option<Share> {
        let units = u32::try_from(bytes.div_ceil(UNIT).max(1)).ok()?;
        let bytes = u64::from(units) * UNIT;
        {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            let now = held.get(caller).copied().unwrap_or(0);
            if now.saturating_add(bytes) > self.per_caller {
                return None;
            }
            held.insert(caller.to_owned(), now.saturating_add(bytes));
        }
        let mut share = Share {
            held: self.held.clone(),
            caller: caller.to_owned(),
            bytes,
            _permit: None,
        };
        // On failure `share` is dropped and gives the caller's bytes back.
        share._permit = Some(self.permits.clone().try_acquire_many_owned(units).ok()?);
        Some(share)
    }

    /// Bytes still free (for tests and diagnostics).
    pub fn available_bytes(&self) -> u64 {
        self.permits.available_permits() as u64 * UNIT
    }
}

/// One reservation step: permits of the total and bytes of the caller's share, both given back on drop.
struct Share {
    held: Arc<Mutex<HashMap<String, u64>>>,
    caller: String,
    bytes: u64,
    /// Held only to be given back on drop.
    _permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(now) = held.get_mut(&self.caller) {
            *now = now.saturating_sub(self.bytes);
            if *now == 0 {
                held.remove(&self.caller);
            }
        }
    }
}

/// Budget held for one body; released when the request's handler is done with it.
struct Reservation {
    permits: Vec<Share>,
    bytes: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.permits.clear();
        if self.bytes >= PURGE_AFTER {
            schedule_purge();
        }
    }
}

thread_local! {
    static PURGE_SCHEDULED: Cell<bool> = const { Cell::new(false) };
}

/// Once per burst and worker: give the pages freed by large bodies back to the system. The allocator
/// would otherwise keep them until this worker allocates again, which an idle gateway never does.
fn schedule_purge() {
    let Some(arbiter) = actix_rt::Arbiter::try_current() else {
        return;
    };
    if PURGE_SCHEDULED.with(|s| s.replace(true)) {
        return;
    }
    arbiter.spawn(async {
        tokio::time::sleep(PURGE_DELAY).await;
        PURGE_SCHEDULED.with(|s| s.set(false));
        crate::allocator::collect_freed();
    });
}

/// An authenticated, size-checked, fully read request body.
pub struct GuardedBody {
    pub caller: ApiCaller,
    pub bytes: Bytes,
    _reservation: Reservation,
}

impl std::ops::Deref for GuardedBody {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl FromRequest for GuardedBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move { read_guarded(req, payload).await })
    }
}

async fn read_guarded(req: HttpRequest, mut payload: Payload) -> Result<GuardedBody, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("state missing"))?;
    let budget = req
        .app_data::<web::Data<BodyBudget>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("body budget missing"))?;
    let caller = authorize_api(&req, &state, None).await?;
    let settings = state.settings.current();
    let share_name = match &caller {
        ApiCaller::Key(key) => format!("key:{key}"),
        ApiCaller::Password => format!(
            "address:{}",
            crate::auth::client_address::client_address(&req, &settings)
        ),
    };
    let limit = settings.max_request_body_mb.saturating_mul(MIB);
    let too_large = |size: String| {
        ApiError::new(
            ErrorKind::PayloadTooLarge,
            format!(
                "request body is {size}; the limit is {} MiB (MAX_REQUEST_BODY_MB)",
                settings.max_request_body_mb
            ),
        )
    };
    let busy = || {
        ApiError::unavailable(
            "the gateway is receiving too many large request bodies at once; retry shortly",
        )
        .with_retry_after(1)
    };
    let announced = content_length(&req)?;
    if let Some(len) = announced.filter(|len| *len > limit) {
        return Err(too_large(format!("{len} bytes")));
    }
    let mut reservation = Reservation {
        permits: Vec::new(),
        bytes: 0,
    };
    if let Some(len) = announced {
        reservation
            .permits
            .push(budget.try_reserve(&share_name, len).ok_or_else(busy)?);
        reservation.bytes = len;
    }
    let capacity = announced.unwrap_or(0).min(limit);
    let mut body = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
    let timeout = Duration::from_secs(settings.client_body_timeout);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let chunk = match tokio::time::timeout_at(deadline, payload.next()).await {
            Err(_) => {
                return Err(ApiError::new(
                    ErrorKind::RequestTimeout,
                    format!(
                        "the request body did not arrive within {} s (CLIENT_BODY_TIMEOUT)",
                        settings.client_body_timeout
                    ),
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ApiError::bad_request(format!(
                    "could not read the request body: {e}"
                )))
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        let total = body.len() as u64 + chunk.len() as u64;
        if total > limit {
            return Err(too_large(format!("over {limit} bytes")));
        }
        // A body longer than announced, or one without a length, reserves as it grows.
        while total > reservation.bytes {
            reservation
                .permits
                .push(budget.try_reserve(&share_name, STEP).ok_or_else(busy)?);
            reservation.bytes += STEP;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(GuardedBody {
        caller,
        bytes: body.freeze(),
        _reservation: reservation,
    })
}

fn content_length(req: &HttpRequest) -> Result<Option<u64>, ApiError> {
    match req.headers().get(header::CONTENT_LENGTH) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("Content-Length is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_shared_and_given_back() {
        let budget = BodyBudget::new(4 * MIB);
        let a = budget.try_reserve("a", 3 * MIB).unwrap();
        assert!(budget.try_reserve("b", 2 * MIB).is_none());
        assert!(budget.try_reserve("b", MIB).is_some());
        drop(a);
        assert_eq!(budget.available_bytes(), 4 * MIB);
    }

    #[test]
    fn one_caller_holds_at_most_its_share() {
        let budget = BodyBudget::with_caller_share(8 * MIB, 3 * MIB);
        let first = budget.try_reserve("greedy", 2 * MIB).unwrap();
        assert!(budget.try_reserve("greedy", 2 * MIB).is_none());
        // The refusal gave back what it had counted: the greedy caller still has 1 MiB.
        let second = budget.try_reserve("greedy", MIB).unwrap();
        assert!(budget.try_reserve("other", 3 * MIB).is_some());
        drop((first, second));
        assert!(budget.held.lock().unwrap().is_empty());
        assert_eq!(budget.available_bytes(), 8 * MIB);
    }
}
