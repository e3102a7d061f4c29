//! Debiting `sk-` keys on the request's own thread, with group commit.
//!
//! A debit is checked against its key's cached rules (read from the store on a miss) and its
//! concurrency slot taken under one short lock, then waits for the next batch of its thread. Each
//! request worker has its own queue and at most one batch of its own at the store; the debits that
//! arrive meanwhile go together in the next one. The first debit to find its thread's queue idle
//! starts a batch task there, and the task keeps taking the waiting debits until none are left, so a
//! batch starts the moment the store is free and no request ever waits for a timer. A queue per
//! thread keeps the store's answer on the thread whose requests wait for it: one wake-up per batch
//! crosses threads, not one per request. (With two workers, two batches may be at the store at once:
//! the files journal merges them into one fsync when they meet, the databases serve them on two
//! connections.)
//! The store applies a batch atomically and in order, so quota stays exact however many debits of
//! one key share a batch, and several gateway instances sharing a store never overspend a key.
//!
//! Why not an actor: a keyed request used to message the quota actor on the main thread to be
//! admitted and again to hear the verdict, and each batch's answer went through it too. The state
//! here is a few maps touched for microseconds, so a lock is cheaper than waking another thread twice
//! per request, and the lock is never held across an await.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use chrono_tz::Tz;

use super::costs;
use super::key_rules::{KeyRules, SharedRules};
use super::messages::{Admitted, ChargedWindows, Debit, ModelCost, QuotaError};
use super::windows::{charge_of, retry_after};
use crate::clock::Clock;
use crate::shutdown::DetachedTasks;
use crate::store::{DebitOutcome, DebitRequest, Store, StoreError, WindowVerdict};

/// Most debits in one batch; more wait for the next.
const MAX_BATCH: usize = 1024;
/// On a shared store, how many requests' worth of balance beyond its unanswered debits a key must
/// have left for Google to be called before its debit is durable.
const SHARED_MARGIN: u64 = 1000;

/// The debit side of the quota: shared by the request workers and the quota actor (which keeps key
/// administration and the cost table's store writes).
#[derive(Clone)]
pub struct Debits(Arc<Inner>);

struct Inner {
    /// Tells this instance's queues apart from another's on the same thread (tests run several
    /// gateways in one process).
    id: u64,
    store: Arc<dyn Store>,
    clock: Clock,
    rules: SharedRules,
    ledger: Mutex<Ledger>,
    /// Refunds in flight, drained by a graceful stop.
    refunds: DetachedTasks,
    /// `KEYS_TIMEZONE`: where the calendar windows of key limits start.
    timezone: Mutex<Tz>,
}

/// A debit admitted and waiting for its batch.
struct Pending {
    request: DebitRequest,
    /// The key has a concurrency limit and this debit took one of its slots.
    holds_slot: bool,
    /// Google is called before this debit is durable (see [`Admitted::overlap`]).
    overlap: bool,
    /// Its window charges, taken back if the debit is refused.
    windows: Option<Arc<ChargedWindows>>,
    reply: oneshot::Sender<Result<Debit, QuotaError>>,
}

#[derive(Default)]
struct Ledger {
    /// Configured costs (model → cost); defaults apply to everything else.
    costs: BTreeMap<String, u64>,
    /// Requests of each key with a concurrency limit admitted and not yet ended (a failed debit
    /// ends its request).
    in_flight: HashMap<String, u32>,
    /// Debits of each key admitted and not yet answered by the store.
    unsettled: HashMap<String, u32>,
    /// Of those, the ones admitted with `overlap`: Google was promised their balance.
    overlapped: HashMap<String, u32>,
    /// Debits of a key admitted without `overlap` while some of its overlapped ones are unanswered:
    /// they go to a queue once those are answered (see [`Debits::admit`]).
    parked: HashMap<String, Vec<Pending>>,
}

/// One thread's debits waiting for their batch, and whether its batch task runs.
#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    running: bool,
}

type SharedQueue = Arc<Mutex<Queue>>;

/// Sources of `Inner::id`.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's queue of each `Debits` instance (one in a running gateway). The task that
    /// serves a queue holds it, so a task polled on another thread still serves the right one.
    static QUEUES: RefCell<HashMap<u64, SharedQueue>> = RefCell::new(HashMap::new());
}

fn lock_queue(queue: &SharedQueue) -> MutexGuard<'_, Queue> {
    // Every update of a queue is a push, a drain or a flag: nothing is left half done.
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Debits {
    pub fn new(store: Arc<dyn Store>, clock: Clock, costs: BTreeMap<String, u64>) -> Self {
        Self(Arc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            store,
            clock,
            rules: SharedRules::default(),
            refunds: DetachedTasks::default(),
            timezone: Mutex::new(Tz::UTC),
            ledger: Mutex::new(Ledger {
                costs,
                ..Ledger::default()
            }),
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
        *self
            .0
            .timezone
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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
        let charges: Vec<_> = applicable.iter().map(|l| charge_of(l, now, tz)).collect();
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
                        retry_after: retry_after(limit, frees_at, now, tz),
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
        self.0.refunds.spawn("key window refund", undo);
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
        self.0.refunds.spawn("key window tokens", add);
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
            if let Some(max) = rules.max_concurrent {
                if ledger.in_flight.get(key).copied().unwrap_or(0) >= max {
                    return Err(QuotaError::TooManyConcurrent(max));
                }
            }
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
    /// [`Admitted::durable`] once the store has applied the debit or refused it.
    pub async fn admit(&self, key: &str, model: &str) -> Result<Admitted, QuotaError> {
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
        let pending = {
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
            let pending = Pending {
                request,
                holds_slot,
                overlap,
                windows,
                reply,
            };
            // An overlapped debit was promised the balance it saw, which counted every debit of the
            // key admitted before it; debits admitted after it are not counted, so none of them may
            // reach the store first. The threads' queues do not keep order between them, so a
            // debit admitted without overlap waits, parked, until the key has no overlapped debit
            // unanswered. (An overlapped debit admitted later counted every unanswered one, parked
            // or not: it may go in any order.)
            if overlap {
                *ledger.overlapped.entry(key.to_string()).or_default() += 1;
                Some(pending)
            } else if ledger.overlapped.contains_key(key) {
                ledger
                    .parked
                    .entry(key.to_string())
                    .or_default()
                    .push(pending);
                None
            } else {
                Some(pending)
            }
        };
        let overlap = pending.as_ref().is_some_and(|p| p.overlap);
        if let Some(pending) = pending {
            self.enqueue(pending);
        }
        Ok(Admitted { overlap, durable })
    }

    /// Puts a debit on this thread's queue and starts its batch task unless it runs.
    fn enqueue(&self, debit: Pending) {
        let queue = self.queue();
        let start = {
            let mut waiting = lock_queue(&queue);
            waiting.pending.push(debit);
            !std::mem::replace(&mut waiting.running, true)
        };
        if start {
            self.start_batches(queue);
        }
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
        // Only a limited key counts its requests: for the others nothing needs telling when a
        // request ends.
        let holds_slot = rules.max_concurrent.is_some();
        if let Some(max) = rules.max_concurrent {
            let in_flight = ledger.in_flight.entry(key.to_string()).or_default();
            if *in_flight >= max {
                if *in_flight == 0 {
                    ledger.in_flight.remove(key);
                }
                return Err(QuotaError::TooManyConcurrent(max));
            }
            *in_flight += 1;
        }
        let cost = costs::cost_of(model, &ledger.costs);
        // Every debit of the key not yet answered by the store may still take from the balance
        // last seen (the answered ones are in it): it must cover them all, this one included.
        let unsettled = ledger.unsettled.entry(key.to_string()).or_default();
        *unsettled += 1;
        // On a shared store other instances spend the key too, unseen until the next answer:
        // the last SHARED_MARGIN requests' worth of a key wait for their debit, so instances
        // together never call Google for a request the key cannot pay unless they spend that
        // much of it within one batch's round trip.
        let margin = if self.0.store.is_shared() {
            SHARED_MARGIN
        } else {
            0
        };
        let needed = cost.saturating_mul(u64::from(*unsettled) + margin);
        let overlap = self.0.rules.lock().balance_covers(key, needed);
        let request = DebitRequest {
            api_key: key.to_string(),
            model: model.to_string(),
            cost,
            now,
        };
        Ok((request, holds_slot, overlap))
    }

    /// This thread's queue.
    fn queue(&self) -> SharedQueue {
        QUEUES.with(|queues| queues.borrow_mut().entry(self.0.id).or_default().clone())
    }

    /// Runs `queue`'s batches on this thread's runtime until no debit waits; the caller marked it
    /// running.
    fn start_batches(&self, queue: SharedQueue) {
        let this = self.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move { this.run_batches(queue).await });
            }
            Err(_) => {
                // Only reachable outside a runtime, where nothing could await the verdicts anyway:
                // the waiting debits fail rather than wait forever.
                log::error!("quota debits have no runtime to run on");
                let mut pending = {
                    let mut waiting = lock_queue(&queue);
                    waiting.running = false;
                    std::mem::take(&mut waiting.pending)
                };
                while let Some(p) = pending.pop() {
                    let outcome = Err(StoreError::Unavailable("no runtime".into()));
                    let (result, unparked) =
                        this.settle(p.request, outcome, p.holds_slot, p.overlap, p.windows);
                    pending.extend(unparked);
                    let _ = p.reply.send(result);
                }
            }
        }
    }

    async fn run_batches(self, queue: SharedQueue) {
        loop {
            // Whatever else is ready on this thread runs first (requests being admitted, answers
            // being written): its debits join this batch instead of costing the next one its own
            // commit. An idle thread comes straight back.
            tokio::task::yield_now().await;
            let batch: Vec<Pending> = {
                let mut waiting = lock_queue(&queue);
                if waiting.pending.is_empty() {
                    waiting.running = false;
                    return;
                }
                let count = waiting.pending.len().min(MAX_BATCH);
                waiting.pending.drain(..count).collect()
            };
            let (requests, replies): (Vec<DebitRequest>, Vec<_>) = batch
                .into_iter()
                .map(|p| (p.request, (p.reply, p.holds_slot, p.overlap, p.windows)))
                .unzip();
            let outcomes = self.0.store.debit_keys(&requests).await;
            let mut outcomes = outcomes.into_iter();
            let mut unparked = Vec::new();
            for (request, (reply, holds_slot, overlap, windows)) in
                requests.into_iter().zip(replies)
            {
                let outcome = outcomes.next().unwrap_or_else(|| {
                    Err(StoreError::Backend("debit batch answered short".into()))
                });
                let (result, released) =
                    self.settle(request, outcome, holds_slot, overlap, windows);
                unparked.extend(released);
                if let Err(Ok(debit)) = reply.send(result) {
                    // The caller left while its debit was at the store: it gets nothing.
                    if debit.holds_slot {
                        self.release(&debit.key);
                    }
                    self.refund(debit);
                }
            }
            if !unparked.is_empty() {
                lock_queue(&queue).pending.extend(unparked);
            }
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
    ) -> (Result<Debit, QuotaError>, Vec<Pending>) {
        let mut ledger = self.ledger();
        count_down(&mut ledger.unsettled, &request.api_key);
        let mut unparked = Vec::new();
        if overlap && count_down(&mut ledger.overlapped, &request.api_key) {
            unparked = ledger.parked.remove(&request.api_key).unwrap_or_default();
        }
        let result = self.settle_locked(&mut ledger, request, outcome, holds_slot, windows.clone());
        drop(ledger);
        if let (Err(_), Some(windows)) = (&result, windows) {
            self.uncharge_windows(windows);
        }
        (result, unparked)
    }

    fn settle_locked(
        &self,
        ledger: &mut Ledger,
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
        let result = match outcome {
            Ok(DebitOutcome::Debited {
                used_quota,
                total_quota,
            }) => {
                return Ok(Debit {
                    key: request.api_key,
                    model: request.model,
                    cost,
                    remaining: total_quota.saturating_sub(used_quota),
                    holds_slot,
                    windows,
                });
            }
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
        };
        if holds_slot {
            count_down(&mut ledger.in_flight, &request.api_key);
        }
        result
    }

    /// Ends one request of `key`: frees its concurrency slot.
    pub fn release(&self, key: &str) {
        count_down(&mut self.ledger().in_flight, key);
    }

    /// Gives `debit` back, detached: a refund changes only the store and never holds up debits. It is
    /// counted until it lands, so a graceful stop waits for it ([`Debits::refunds`]).
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
        self.0.refunds.spawn("quota refund", refund);
    }

    /// The refunds still in flight.
    pub fn refunds(&self) -> &DetachedTasks {
        &self.0.refunds
    }

    /// A deleted key: its in-flight count and cached rules go with it.
    pub fn forget_key(&self, key: &str) {
        self.ledger().in_flight.remove(key);
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

/// Takes one from `key`'s count; answers whether it reached zero (and was removed).
fn count_down(counts: &mut HashMap<String, u32>, key: &str) -> bool {
    let Some(n) = counts.get_mut(key) else {
        return false;
    };
    *n = n.saturating_sub(1);
    if *n == 0 {
        counts.remove(key);
        return true;
    }
    false
}
