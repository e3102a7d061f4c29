//! Debiting `sk-` keys: admission on the request's own thread, and the commit of a batch of debits
//! at the store.
//!
//! A debit is checked against its key's cached rules (read from the store on a miss) and its
//! concurrency slot taken under one short lock ([`Ledger`]), then goes to its worker's
//! `QuotaActor` (`actors::quota::worker`), which queues it for the worker's next batch. Each request
//! worker has its own actor, on its own thread, with at most one batch of its own at the store; the
//! debits that arrive meanwhile go together in the next one ([`Debits::commit`] is that batch). A
//! keyed request's message and the store's answer stay on the thread whose requests wait for it: one
//! wake-up per batch crosses threads, not one per request. (With two workers, two batches may be at
//! the store at once: the files journal merges them into one fsync when they meet, the databases
//! serve them on two connections.)
//! The store applies a batch atomically and in order, so quota stays exact however many debits of
//! one key share a batch, and several gateway instances sharing a store never overspend a key.
//!
//! Why the counts are not in an actor: a keyed request used to message one quota actor on the main
//! thread to be admitted and again to hear the verdict. The counts are a few maps touched for
//! microseconds, so a lock is cheaper than waking another thread twice per request, and the lock is
//! never held across an await. What must be serialised per thread (the queue, the one batch at the
//! store) is the worker's own actor.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use super::admission::{Admitted, ChargedWindows, Debit, ModelCost, QueuedDebit};
use super::costs;
use super::error::QuotaError;
use super::key_rules::{KeyRules, SharedRules};
use super::ledger::Ledger;
use super::windows::{charge_of, retry_after, Tz};
use crate::clock::Clock;
use crate::shutdown::DetachedTasks;
use crate::store::{DebitOutcome, DebitRequest, Store, StoreError, WindowVerdict};

/// Most debits in one batch; more wait for the next.
pub const MAX_BATCH: usize = 1024;
/// On a shared store, how many requests' worth of balance beyond its unanswered debits a key must
/// have left for Google to be called before its debit is durable.
const SHARED_MARGIN: u64 = 1000;

/// One batch at the store: answers the debits that may go to a queue now (parked debits of the keys
/// it answered). `Send`, so a batch whose worker stops finishes elsewhere (see `quota::batch`).
pub type Commit = Pin<Box<dyn Future<Output = Vec<QueuedDebit>> + Send>>;

/// The debit side of the quota: shared by the request workers, their `QuotaActor`s and the key
/// administration (which keeps key records and the cost table's store writes).
#[derive(Clone)]
pub struct Debits(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    clock: Clock,
    rules: SharedRules,
    ledger: Mutex<Ledger>,
    /// Refunds and batches in flight, drained by a graceful stop.
    detached: DetachedTasks,
    /// `KEYS_TIMEZONE`: where the calendar windows of key limits start.
    timezone: Mutex<Tz>,
}

impl Debits {
    pub fn new(store: Arc<dyn Store>, clock: Clock, costs: BTreeMap<String, u64>) -> Self {
        Self(Arc::new(Inner {
            store,
            clock,
            rules: SharedRules::default(),
            detached: DetachedTasks::default(),
            timezone: Mutex::new(Tz::UTC),
            ledger: Mutex::new(Ledger::with_costs(costs)),
        }))
    }

    /// Sets `KEYS_TIMEZONE` (read at start).
    pub fn set_timezone(&self, tz: Tz) {
        *self
            .0
            .timezone
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = tz;
    }

    pub fn timezone(&self) -> Tz {
        self.0
            .timezone
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts one request to `model` in every window limit of `key` that applies to it, atomically in
    /// the store; `None` when none applies.
    async fn charge_windows(
        &self,
        key: &str,
        model: &str,
        rules: &KeyRules,
    ) -> Result<Option<Arc<ChargedWindows>>, QuotaError> {
        let applicable: Vec<_> = rules
            .limits
            .iter()
            .filter(|l| l.applies_to(model))
            .collect();
        if applicable.is_empty() {
            return Ok(None);
        }
        let now = self.0.clock.now();
        let tz = self.timezone();
        let charges: Vec<_> = applicable.iter().map(|l| charge_of(l, now, &tz)).collect();
        let cost = costs::cost_of(model, &self.ledger().costs);
        match self.0.store.charge_windows(key, &charges, cost).await {
            Ok(WindowVerdict::Charged) => Ok(Some(Arc::new(ChargedWindows {
                key: key.to_string(),
                cost,
                charges,
            }))),
            Ok(WindowVerdict::Refused { index, frees_at }) => {
                let limit = applicable
                    .get(index)
                    .copied()
                    .or(applicable.first().copied());
                Err(match limit {
                    Some(limit) => QuotaError::WindowExhausted {
                        window: limit.label.clone(),
                        retry_after: retry_after(limit, frees_at, now, &tz),
                    },
                    None => QuotaError::Storage,
                })
            }
            Err(e) => {
                log::error!("key window charge failed: {e}");
                Err(QuotaError::Storage)
            }
        }
    }

    /// Takes back window charges, detached (like a refund).
    fn uncharge_windows(&self, windows: Arc<ChargedWindows>) {
        let store = self.0.store.clone();
        let undo = async move {
            if let Err(e) = store
                .uncharge_windows(&windows.key, &windows.charges, windows.cost)
                .await
            {
                log::error!("key window refund failed: {e}");
            }
        };
        self.0.detached.spawn("key window refund", undo);
    }

    /// Adds the tokens of an answer to the windows its request counted in, detached.
    pub fn add_window_tokens(&self, windows: Arc<ChargedWindows>, tokens: u64) {
        if tokens == 0 {
            return;
        }
        let store = self.0.store.clone();
        let add = async move {
            if let Err(e) = store
                .add_window_tokens(&windows.key, &windows.charges, tokens)
                .await
            {
                log::error!("key window tokens not counted: {e}");
            }
        };
        self.0.detached.spawn("key window tokens", add);
    }

    /// The rules cache, for the key administration that fills and empties it (`key_admin`).
    pub fn rules(&self) -> SharedRules {
        self.0.rules.clone()
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // Every update leaves the maps consistent, so a holder that panicked left nothing half done.
        self.0.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The rules of `key`: cached, or read from the store and cached.
    pub async fn rules_of(&self, key: &str) -> Result<Arc<KeyRules>, QuotaError> {
        let (cached, epoch) = {
            let rules = self.0.rules.lock();
            (rules.fresh(key), rules.epoch())
        };
        if let Some(rules) = cached {
            return Ok(rules);
        }
        match self.0.store.get_key(key).await {
            Ok(Some(record)) => Ok(self.0.rules.lock().remember(&record, epoch)),
            Ok(None) => Err(QuotaError::UnknownKey),
            Err(e) => {
                log::error!("API key lookup failed: {e}");
                Err(QuotaError::Storage)
            }
        }
    }

    /// Does the key exist, is it unexpired, and (when `model` is given) may it use that model?
    pub async fn check(&self, key: &str, model: Option<&str>) -> Result<(), QuotaError> {
        let rules = self.rules_of(key).await?;
        rules.check(model, self.0.clock.now())
    }

    /// [`Self::check`], then the key's `allowed_ips` against the client's address (worked out only
    /// for a key that lists addresses).
    pub async fn check_from(
        &self,
        key: &str,
        model: Option<&str>,
        address: impl FnOnce() -> Option<std::net::IpAddr>,
    ) -> Result<(), QuotaError> {
        let rules = self.rules_of(key).await?;
        rules.check(model, self.0.clock.now())?;
        if rules.allowed_ips.is_empty() {
            return Ok(());
        }
        rules.check_address(address())
    }

    /// Whether a request to `model` would be admitted now — key known, unexpired, model allowed, a
    /// concurrency slot free, balance enough — without debiting anything: answered before the
    /// request costs anything (image downloads, schema expansion, conversion), so a spent key is
    /// refused without any of it. The debit itself still decides ([`Self::admit`]).
    ///
    /// The cached balance is a lower bound (refunds raise the real one unseen), so a balance that
    /// looks short is read again from the store before the key is refused.
    pub async fn precheck(&self, key: &str, model: &str) -> Result<(), QuotaError> {
        let rules = self.rules_of(key).await?;
        rules.check(Some(model), self.0.clock.now())?;
        let cost = {
            let ledger = self.ledger();
            ledger.has_free_slot(key, rules.max_concurrent)?;
            costs::cost_of(model, &ledger.costs)
        };
        if self.0.rules.lock().balance_covers(key, cost) {
            return Ok(());
        }
        match self.0.store.get_key(key).await {
            Ok(Some(record)) if record.total_quota.saturating_sub(record.used_quota) < cost => {
                Err(QuotaError::Exhausted {
                    used: record.used_quota,
                    total: record.total_quota,
                    cost,
                })
            }
            Ok(Some(_)) => Ok(()),
            Ok(None) => {
                self.0.rules.lock().forget(key);
                Err(QuotaError::UnknownKey)
            }
            Err(e) => {
                log::error!("API key lookup failed: {e}");
                Err(QuotaError::Storage)
            }
        }
    }

    /// Takes the cost of one request to `model` (the name as requested) from `key`: answered at once
    /// with the admission (rules, model and concurrency checked, slot taken), and through
    /// [`Admitted::durable`] once the store has applied the debit or refused it. The debit comes
    /// back for the caller's worker to queue (its `QuotaActor`), unless it was parked behind an
    /// earlier debit of its key (see [`Ledger::place`]): whichever worker answers that one queues it.
    pub async fn admit(
        &self,
        key: &str,
        model: &str,
    ) -> Result<(Admitted, Option<QueuedDebit>), QuotaError> {
        let rules = self.rules_of(key).await?;
        // A key with limits per time window is counted in them first (atomically in the store, so
        // instances sharing it never let more through than a limit allows); the count is taken back
        // if the key is refused after all. Keys without such limits skip this entirely.
        let windows = if rules.limits.is_empty() {
            None
        } else {
            rules.check(Some(model), self.0.clock.now())?;
            self.charge_windows(key, model, &rules).await?
        };
        let (reply, durable) = oneshot::channel();
        let queued = {
            let mut ledger = self.ledger();
            let (request, holds_slot, overlap) =
                match self.admit_locked(&mut ledger, key, model, &rules) {
                    Ok(admitted) => admitted,
                    Err(e) => {
                        drop(ledger);
                        if let Some(windows) = windows {
                            self.uncharge_windows(windows);
                        }
                        return Err(e);
                    }
                };
            // A window-limited debit is awaited before Google is called: its refusal (of the
            // lifetime balance) must give its window count back before anyone is answered.
            let overlap = overlap && windows.is_none();
            ledger.place(QueuedDebit {
                request,
                holds_slot,
                overlap,
                windows,
                reply,
            })
        };
        let overlap = queued.as_ref().is_some_and(|q| q.overlap);
        Ok((Admitted { overlap, durable }, queued))
    }

    /// Checks expiry, model and concurrency, and takes a concurrency slot if the key is limited;
    /// the balance is the store's to check. Answers the debit, whether it holds a slot, and
    /// whether Google may be called before it is durable (see [`Admitted::overlap`]).
    fn admit_locked(
        &self,
        ledger: &mut Ledger,
        key: &str,
        model: &str,
        rules: &KeyRules,
    ) -> Result<(DebitRequest, bool, bool), QuotaError> {
        let now = self.0.clock.now();
        rules.check(Some(model), now)?;
        // Every debit of the key not yet answered by the store may still take from the balance
        // last seen (the answered ones are in it): it must cover them all, this one included.
        let (holds_slot, unsettled) = ledger.take(key, rules.max_concurrent)?;
        let cost = costs::cost_of(model, &ledger.costs);
        // On a shared store other instances spend the key too, unseen until the next answer:
        // the last SHARED_MARGIN requests' worth of a key wait for their debit, so instances
        // together never call Google for a request the key cannot pay unless they spend that
        // much of it within one batch's round trip.
        let margin = if self.0.store.is_shared() {
            SHARED_MARGIN
        } else {
            0
        };
        let needed = cost.saturating_mul(u64::from(unsettled) + margin);
        let overlap = self.0.rules.lock().balance_covers(key, needed);
        let request = DebitRequest {
            api_key: key.to_string(),
            model: model.to_string(),
            cost,
            now,
        };
        Ok((request, holds_slot, overlap))
    }

    /// Sends `batch` (at most [`MAX_BATCH`] debits) to the store as one group commit and answers each
    /// caller; a caller that left meanwhile gets its debit refunded. Resolves to the parked debits
    /// the answers released, for the caller's queue.
    pub fn commit(&self, batch: Vec<QueuedDebit>) -> Commit {
        let this = self.clone();
        Box::pin(async move {
            let (requests, waiting): (Vec<DebitRequest>, Vec<_>) = batch
                .into_iter()
                .map(|q| (q.request, (q.reply, q.holds_slot, q.overlap, q.windows)))
                .unzip();
            let outcomes = this.0.store.debit_keys(&requests).await;
            let mut outcomes = outcomes.into_iter();
            let mut unparked = Vec::new();
            for (request, (reply, holds_slot, overlap, windows)) in
                requests.into_iter().zip(waiting)
            {
                let outcome = outcomes.next().unwrap_or_else(|| {
                    Err(StoreError::Backend("debit batch answered short".into()))
                });
                let (result, released) =
                    this.settle(request, outcome, holds_slot, overlap, windows);
                unparked.extend(released);
                if let Err(Ok(debit)) = reply.send(result) {
                    // The caller left while its debit was at the store: it gets nothing.
                    if debit.holds_slot {
                        this.release(&debit.key);
                    }
                    this.refund(debit);
                }
            }
            unparked
        })
    }

    /// Answers `debit` with [`QuotaError::Storage`] without sending it to the store (its worker
    /// stopped before its batch): its slot, counts and window charges are given back. Parked debits
    /// it released are refused too, since no queue is left to take them.
    pub fn refuse(&self, debit: QueuedDebit) {
        let mut refusing = vec![debit];
        while let Some(q) = refusing.pop() {
            let outcome = Err(StoreError::Unavailable("the quota worker stopped".into()));
            let (result, released) =
                self.settle(q.request, outcome, q.holds_slot, q.overlap, q.windows);
            refusing.extend(released);
            // The caller may have left: then there is nobody to tell.
            let _ = q.reply.send(result);
        }
    }

    /// Turns one store outcome into the caller's answer, with the debits of its key that may go to
    /// the store now; a refused debit frees its slot.
    fn settle(
        &self,
        request: DebitRequest,
        outcome: Result<DebitOutcome, StoreError>,
        holds_slot: bool,
        overlap: bool,
        windows: Option<Arc<ChargedWindows>>,
    ) -> (Result<Debit, QuotaError>, Vec<QueuedDebit>) {
        let refused = !matches!(outcome, Ok(DebitOutcome::Debited { .. }));
        // One lock for the counts and the balance the answer shows: an admission in between would
        // see the debit gone from the unanswered ones but not yet from the balance.
        let mut ledger = self.ledger();
        let unparked = ledger.answered(&request.api_key, overlap, holds_slot, refused);
        let result = self.verdict(request, outcome, holds_slot, windows.clone());
        drop(ledger);
        if let (Err(_), Some(windows)) = (&result, windows) {
            self.uncharge_windows(windows);
        }
        (result, unparked)
    }

    /// The caller's answer to one store outcome; the balance it shows is noted in the rules cache.
    fn verdict(
        &self,
        request: DebitRequest,
        outcome: Result<DebitOutcome, StoreError>,
        holds_slot: bool,
        windows: Option<Arc<ChargedWindows>>,
    ) -> Result<Debit, QuotaError> {
        let cost = request.cost;
        if let Ok(
            DebitOutcome::Debited {
                used_quota,
                total_quota,
            }
            | DebitOutcome::Exhausted {
                used_quota,
                total_quota,
            },
        ) = &outcome
        {
            let remaining = total_quota.saturating_sub(*used_quota);
            self.0.rules.lock().saw_balance(&request.api_key, remaining);
        }
        match outcome {
            Ok(DebitOutcome::Debited {
                used_quota,
                total_quota,
            }) => Ok(Debit {
                key: request.api_key,
                model: request.model,
                cost,
                remaining: total_quota.saturating_sub(used_quota),
                holds_slot,
                windows,
            }),
            Ok(DebitOutcome::Exhausted {
                used_quota,
                total_quota,
            }) => Err(QuotaError::Exhausted {
                used: used_quota,
                total: total_quota,
                cost,
            }),
            Ok(DebitOutcome::Expired) => Err(QuotaError::Expired),
            Ok(DebitOutcome::NotFound) => {
                // Deleted, perhaps by another instance: its rules must not outlive it here.
                self.0.rules.lock().forget(&request.api_key);
                Err(QuotaError::UnknownKey)
            }
            Err(e) => {
                log::error!("quota debit failed: {e}");
                Err(QuotaError::Storage)
            }
        }
    }

    /// Ends one request of `key`: frees its concurrency slot.
    pub fn release(&self, key: &str) {
        self.ledger().release(key);
    }

    /// Gives `debit` back, detached: a refund changes only the store and never holds up debits. It is
    /// counted until it lands, so a graceful stop waits for it ([`Debits::detached`]).
    pub fn refund(&self, mut debit: Debit) {
        if let Some(windows) = debit.windows.take() {
            self.uncharge_windows(windows);
        }
        let store = self.0.store.clone();
        let refund = async move {
            if let Err(e) = store.refund_key(&debit.key, &debit.model, debit.cost).await {
                log::error!("quota refund failed: {e}");
            }
        };
        self.0.detached.spawn("quota refund", refund);
    }

    /// The refunds and batches still in flight: a graceful stop drains them.
    pub fn detached(&self) -> &DetachedTasks {
        &self.0.detached
    }

    /// Requests of `key` holding a concurrency slot.
    #[cfg(test)]
    pub fn in_flight(&self, key: &str) -> u32 {
        self.ledger().in_flight(key)
    }

    /// A deleted key: its in-flight count and cached rules go with it.
    pub fn forget_key(&self, key: &str) {
        self.ledger().forget(key);
        self.0.rules.lock().forget(key);
    }

    /// The cost a request to `model` would have now.
    pub fn cost_of(&self, model: &str) -> ModelCost {
        let ledger = self.ledger();
        ModelCost {
            cost: costs::cost_of(model, &ledger.costs),
            is_default: !ledger.costs.contains_key(model),
        }
    }

    /// Replaces the cost table (read fresh from the store).
    pub fn set_costs(&self, costs: BTreeMap<String, u64>) {
        self.ledger().costs = costs;
    }

    /// Configures (`Some`) or removes (`None`) the cost of `model`.
    pub fn set_cost(&self, model: String, cost: Option<u64>) {
        let mut ledger = self.ledger();
        match cost {
            Some(cost) => ledger.costs.insert(model, cost),
            None => ledger.costs.remove(&model),
        };
    }
}
