//! The hot-path face of one credential, shared between its `CredentialActor` and the request workers.
//!
//! The actor is the only writer of the [`CredentialStatus`] published here: it stores a new one whenever
//! anything a choice depends on changes (token, project, enabled, rests, preview access), and it stores
//! it *before* it answers the message that caused the change, so a retry that awaited a failure report
//! already sees the rest. Workers only read it (one atomic load, no message, no lock).
//!
//! Successes go the other way without waking the actor per request: a worker adds one to the tally here
//! and only the first success since the last fold asks the actor (one message) to fold the tally into
//! the usage counters a moment later. A success that must change state at once — the model has a rest
//! or a 429 streak to end — is reported to the actor as a message instead, as failures are.
//!
//! A credential with nothing to do has no running actor (see `actors/credentials/supervisor/dormant.rs`): its mailbox
//! exists and queues, and the first use of its address asks the supervisor, once, to start it.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::{ArcSwap, ArcSwapOption};

use super::status::CredentialStatus;
use crate::store::CredentialInsight;

/// Who starts a dormant credential's actor: the supervisor. A trait, so the fleet names no actor and
/// a credential in a test needs none.
pub trait Wake: Send + Sync {
    /// Asks for the actor of `name` to be started (once; see [`LiveCredential::wake`]).
    fn wake(&self, name: Arc<str>);
}

/// Where a dormant credential asks to be started, shared by every credential.
pub type Waker = Arc<dyn Wake>;

/// What a worker does after counting a success (see [`LiveCredential::count_success`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuccessReport {
    /// Counted in the tally; the actor already has a fold pending.
    Tallied,
    /// Counted in the tally, and the first since the last fold: ask the actor to fold.
    AskFold,
    /// Not counted: the success ends a rest, so report it to the actor as a message.
    ReportNow,
}

/// A probe whose outcome was never reported (the client went away first) stops holding the model after
/// this long.
pub const PROBE_TIMEOUT_MS: i64 = 60_000;

/// Successes per model not yet folded into the credential's usage counters.
type Tally = Vec<(Box<str>, u64)>;

#[derive(Default)]
pub struct LiveCredential {
    status: ArcSwap<CredentialStatus>,
    /// What Google last told about the credential (quota, credits, models), published by the
    /// credential scout; `None` until something was fetched or read from the store.
    insight: ArcSwapOption<CredentialInsight>,
    /// Unix milliseconds of the last successful call (any model), for telling an account that works
    /// from one Google refuses.
    last_success_ms: AtomicI64,
    /// Half-open probes in flight: (model, unix ms started). A rest that ran out lets one call
    /// through until that call's outcome is known.
    probes: Mutex<Vec<(Box<str>, i64)>>,
    /// How many entries `probes` holds, so the common case (none) takes no lock.
    probe_count: AtomicUsize,
    tally: Mutex<Tally>,
    fold_pending: AtomicBool,
    /// No actor runs for this credential yet; messages to its address wait in its mailbox.
    dormant: AtomicBool,
    /// A start was asked for since it went dormant.
    wake_asked: AtomicBool,
    waker: Option<Waker>,
}

impl LiveCredential {
    pub fn new(status: CredentialStatus) -> Self {
        Self {
            status: ArcSwap::from_pointee(status),
            ..Self::default()
        }
    }

    /// A credential the supervisor may leave dormant, to be woken through `waker`.
    pub fn with_waker(waker: Option<Waker>) -> Self {
        Self {
            waker,
            ..Self::default()
        }
    }

    pub fn is_dormant(&self) -> bool {
        self.dormant.load(Ordering::Acquire)
    }

    /// Marks the credential dormant (no actor running) or awake (the supervisor only).
    pub fn set_dormant(&self, dormant: bool) {
        if dormant {
            self.wake_asked.store(false, Ordering::Release);
        }
        self.dormant.store(dormant, Ordering::Release);
    }

    /// Called before anything is sent to the credential's actor: a dormant credential asks the
    /// supervisor to start it (once; messages sent meanwhile wait in its mailbox).
    pub fn wake(&self, name: &Arc<str>) {
        if !self.is_dormant() || self.wake_asked.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(waker) = &self.waker {
            waker.wake(name.clone());
        }
    }

    /// The status as the actor last published it.
    pub fn status(&self) -> arc_swap::Guard<Arc<CredentialStatus>> {
        self.status.load()
    }

    /// Publishes a new status (the credential's actor only).
    pub fn publish(&self, status: CredentialStatus) {
        self.status.store(Arc::new(status));
    }

    /// The credential's quota, credits and models as last fetched, if ever.
    pub fn insight(&self) -> Option<Arc<CredentialInsight>> {
        self.insight.load_full()
    }

    /// The insight without taking a reference count (the choice reads it for every candidate).
    pub fn insight_ref(&self) -> arc_swap::Guard<Option<Arc<CredentialInsight>>> {
        self.insight.load()
    }

    /// Publishes a new insight (the credential scout only).
    pub fn publish_insight(&self, insight: Arc<CredentialInsight>) {
        self.insight.store(Some(insight));
    }

    /// Unix milliseconds of the last successful call, 0 when none since start.
    pub fn last_success_ms(&self) -> i64 {
        self.last_success_ms.load(Ordering::Relaxed)
    }

    /// Notes a successful call at `now_ms`.
    pub fn note_success(&self, now_ms: i64) {
        self.last_success_ms.fetch_max(now_ms, Ordering::Relaxed);
    }

    /// Takes the half-open probe of `model`: true when no other call probes it (or that one has
    /// been out longer than [`PROBE_TIMEOUT_MS`], its caller gone).
    pub fn try_probe(&self, model: &str, now_ms: i64) -> bool {
        let mut probes = self.probes.lock().unwrap_or_else(PoisonError::into_inner);
        probes.retain(|(_, started)| now_ms - *started < PROBE_TIMEOUT_MS);
        let taken = !probes.iter().any(|(m, _)| &**m == model);
        if taken {
            probes.push((Box::from(model), now_ms));
        }
        self.probe_count.store(probes.len(), Ordering::Release);
        taken
    }

    /// Ends the probe of `model`, if one is out (its outcome has been reported).
    pub fn end_probe(&self, model: &str) {
        if self.probe_count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut probes = self.probes.lock().unwrap_or_else(PoisonError::into_inner);
        probes.retain(|(m, _)| &**m != model);
        self.probe_count.store(probes.len(), Ordering::Release);
    }

    /// Counts one successful call to `base_model`, or says it must be reported as a message.
    pub fn count_success(&self, base_model: &str) -> SuccessReport {
        if self.status().rests.contains(base_model) {
            return SuccessReport::ReportNow;
        }
        {
            let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
            match tally.iter_mut().find(|(model, _)| &**model == base_model) {
                Some((_, n)) => *n += 1,
                None => tally.push((Box::from(base_model), 1)),
            }
        }
        if self.fold_pending.swap(true, Ordering::AcqRel) {
            SuccessReport::Tallied
        } else {
            SuccessReport::AskFold
        }
    }

    /// Takes the tally for folding (the credential's actor only). The pending flag is cleared first, so a
    /// success counted after the take asks for a new fold rather than waiting for the next one.
    pub fn take_successes(&self) -> Tally {
        self.fold_pending.store(false, Ordering::Release);
        std::mem::take(&mut *self.tally.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_success_after_a_fold_asks_for_one() {
        let live = LiveCredential::new(CredentialStatus::default());
        assert_eq!(live.count_success("m"), SuccessReport::AskFold);
        assert_eq!(live.count_success("m"), SuccessReport::Tallied);
        assert_eq!(live.count_success("n"), SuccessReport::Tallied);
        let mut tally = live.take_successes();
        tally.sort();
        assert_eq!(tally, vec![(Box::from("m"), 2), (Box::from("n"), 1)]);
        assert!(live.take_successes().is_empty());
        assert_eq!(live.count_success("m"), SuccessReport::AskFold);
    }

    #[test]
    fn one_probe_per_model_until_it_ends_or_times_out() {
        let live = LiveCredential::default();
        assert!(live.try_probe("m", 1_000));
        assert!(!live.try_probe("m", 1_001));
        assert!(
            live.try_probe("n", 1_001),
            "another model probes on its own"
        );
        live.end_probe("m");
        assert!(live.try_probe("m", 1_002));
        assert!(
            live.try_probe("m", 1_002 + PROBE_TIMEOUT_MS),
            "an abandoned probe expires"
        );
        live.note_success(5);
        live.note_success(3);
        assert_eq!(live.last_success_ms(), 5);
    }

    #[test]
    fn a_success_that_ends_a_rest_is_reported_not_tallied() {
        let mut status = CredentialStatus::default();
        status.rests.insert("m".to_string());
        let live = LiveCredential::new(status);
        assert_eq!(live.count_success("m"), SuccessReport::ReportNow);
        assert_eq!(live.count_success("other"), SuccessReport::AskFold);
        assert_eq!(live.take_successes(), vec![(Box::from("other"), 1)]);
    }
}
