//! `QuotaActor` owns API-key debits, refunds, per-key in-flight counts and the model-cost table.
//!
//! Ordering: debits are group-committed (`debit_batch`): those that arrive while a batch is at the
//! store go together in the next one, which the store applies atomically and in order (one script,
//! statement or journal fsync), so several gateway instances sharing a store never overspend a key.
//! The actor never waits on the store itself: every store call runs detached and its answer comes back
//! to the actor, so no keyed request waits for another key's bookkeeping beyond sharing a batch.

pub mod check_key;
pub mod costs;
mod debit_batch;
mod key_admin;
pub mod key_rules;
pub mod messages;
pub mod view;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::oneshot;

use self::debit_batch::Pending;
use self::key_rules::{KeyRules, SharedRules};
use self::messages::{
    CostOf, Debit, DeleteCost, GetCosts, ModelCost, QuotaError, Refund, ReleaseSlot, SetCost,
};
use crate::clock::Clock;
use crate::store::Store;

pub struct QuotaActor {
    store: Arc<dyn Store>,
    clock: Clock,
    /// Configured costs (model → cost); defaults apply to everything else.
    costs: BTreeMap<String, u64>,
    /// Requests of each key with a concurrency limit admitted and not yet ended (a failed debit
    /// ends its request).
    in_flight: HashMap<String, u32>,
    /// Debits of each key admitted and not yet answered by the store.
    unsettled: HashMap<String, u32>,
    rules: SharedRules,
    /// Debits waiting for the next batch.
    pending: Vec<Pending>,
    /// Batches at the store now; at most `store.debit_batches_in_flight()`.
    batches_at_store: usize,
    /// When the last batch went to the store, and whether a flush waits for the gap after it.
    last_batch: Option<std::time::Instant>,
    flush_scheduled: bool,
}

impl QuotaActor {
    pub fn new(store: Arc<dyn Store>, clock: Clock, costs: BTreeMap<String, u64>) -> Self {
        Self {
            store,
            clock,
            costs,
            in_flight: HashMap::new(),
            unsettled: HashMap::new(),
            rules: SharedRules::default(),
            pending: Vec::new(),
            batches_at_store: 0,
            last_batch: None,
            flush_scheduled: false,
        }
    }

    /// The rules cache, for checking keys without a message (`auth::caller_check`).
    pub fn rules(&self) -> SharedRules {
        self.rules.clone()
    }

    /// Runs `then` on the actor with the rules of `key`: cached, or read from the store by a detached
    /// lookup (a paused actor never holds a pooled store connection) and cached.
    fn with_rules<F>(&mut self, key: String, ctx: &mut Context<Self>, then: F)
    where
        F: FnOnce(&mut Self, Result<Arc<KeyRules>, QuotaError>, &mut Context<Self>) + 'static,
    {
        let cached = self.rules.lock().fresh(&key);
        if let Some(rules) = cached {
            then(self, Ok(rules), ctx);
            return;
        }
        let epoch = self.rules.lock().epoch();
        let store = self.store.clone();
        let (tell, answer) = oneshot::channel();
        actix::spawn(async move {
            let _ = tell.send(store.get_key(&key).await);
        });
        ctx.spawn(answer.into_actor(self).map(move |answer, act, ctx| {
            let rules = match answer {
                Ok(Ok(Some(record))) => Ok(act.rules.lock().remember(&record, epoch)),
                Ok(Ok(None)) => Err(QuotaError::UnknownKey),
                Ok(Err(e)) => {
                    log::error!("API key lookup failed: {e}");
                    Err(QuotaError::Storage)
                }
                Err(_) => Err(QuotaError::Storage),
            };
            then(act, rules, ctx);
        }));
    }

    /// Gives `debit` back, detached: a refund changes only the store and never holds up debits.
    fn refund(&self, debit: Debit) {
        let store = self.store.clone();
        actix::spawn(async move {
            if let Err(e) = store.refund_key(&debit.key, &debit.model, debit.cost).await {
                log::error!("quota refund failed: {e}");
            }
        });
    }

    /// Ends one request of `key`: frees its concurrency slot.
    fn release(&mut self, key: &str) {
        if let Some(n) = self.in_flight.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.in_flight.remove(key);
            }
        }
    }
}

impl Actor for QuotaActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(16_384);
    }
}

impl Handler<Refund> for QuotaActor {
    type Result = ();

    fn handle(&mut self, msg: Refund, _: &mut Self::Context) {
        self.refund(msg.debit);
    }
}

impl Handler<ReleaseSlot> for QuotaActor {
    type Result = ();

    fn handle(&mut self, msg: ReleaseSlot, _: &mut Self::Context) {
        self.release(&msg.key);
    }
}

impl Handler<GetCosts> for QuotaActor {
    type Result = ResponseActFuture<Self, Result<BTreeMap<String, u64>, QuotaError>>;

    fn handle(&mut self, _: GetCosts, _: &mut Self::Context) -> Self::Result {
        // Other instances may have changed the table: read it fresh and refresh the cache.
        let store = self.store.clone();
        Box::pin(
            async move { store.load_model_costs().await }
                .into_actor(self)
                .map(|result, act, _| match result {
                    Ok(costs) => {
                        act.costs = costs.clone();
                        Ok(costs)
                    }
                    Err(e) => {
                        log::error!("loading model costs failed: {e}");
                        Err(QuotaError::Storage)
                    }
                }),
        )
    }
}

impl Handler<SetCost> for QuotaActor {
    type Result = AtomicResponse<Self, Result<(), QuotaError>>;

    fn handle(&mut self, msg: SetCost, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let (model, cost) = (msg.model.clone(), msg.cost);
        AtomicResponse::new(Box::pin(
            async move { store.set_model_cost(&model, cost).await }
                .into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(()) => {
                        act.costs.insert(msg.model, msg.cost);
                        Ok(())
                    }
                    Err(e) => {
                        log::error!("saving a model cost failed: {e}");
                        Err(QuotaError::Storage)
                    }
                }),
        ))
    }
}

impl Handler<DeleteCost> for QuotaActor {
    type Result = AtomicResponse<Self, Result<bool, QuotaError>>;

    fn handle(&mut self, msg: DeleteCost, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let model = msg.model.clone();
        AtomicResponse::new(Box::pin(
            async move { store.delete_model_cost(&model).await }
                .into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(existed) => {
                        act.costs.remove(&msg.model);
                        Ok(existed)
                    }
                    Err(e) => {
                        log::error!("deleting a model cost failed: {e}");
                        Err(QuotaError::Storage)
                    }
                }),
        ))
    }
}

impl Handler<CostOf> for QuotaActor {
    type Result = ModelCost;

    fn handle(&mut self, msg: CostOf, _: &mut Self::Context) -> Self::Result {
        ModelCost {
            cost: costs::cost_of(&msg.model, &self.costs),
            is_default: !self.costs.contains_key(&msg.model),
        }
    }
}

/// Holds a debit for the life of a request: refunded when dropped uncommitted (the client got nothing),
/// and the key's in-flight slot released in any case.
pub struct QuotaGuard {
    quota: Addr<QuotaActor>,
    debit: Option<Debit>,
    committed: bool,
}

impl QuotaGuard {
    pub fn new(quota: Addr<QuotaActor>, debit: Debit) -> Self {
        Self {
            quota,
            debit: Some(debit),
            committed: false,
        }
    }

    /// The client is getting an answer: the debit stands.
    pub fn commit(&mut self) {
        self.committed = true;
    }
}

impl Drop for QuotaGuard {
    fn drop(&mut self) {
        if let Some(debit) = self.debit.take() {
            if debit.holds_slot {
                self.quota.do_send(ReleaseSlot {
                    key: debit.key.clone(),
                });
            }
            if !self.committed {
                crate::observe::trace::note_refund();
                self.quota.do_send(Refund { debit });
            }
        }
    }
}
