//! `QuotaActor` owns API-key debits, refunds, per-key in-flight counts and the model-cost table.
//!
//! Ordering: debits are handled as `AtomicResponse`s — one at a time, never interleaved across the store
//! await — and the store's debit is itself atomic (conditional update / script / single writer), so
//! several gateway instances sharing a store never overspend a key either.

pub mod check_key;
pub mod costs;
mod key_admin;
pub mod messages;
pub mod view;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use actix::prelude::*;

use self::messages::{
    CostOf, Debit, DebitQuota, DeleteCost, GetCosts, ModelCost, QuotaError, Refund, ReleaseSlot,
    SetCost,
};
use crate::clock::Clock;
use crate::store::{DebitOutcome, Store};

pub struct QuotaActor {
    store: Arc<dyn Store>,
    clock: Clock,
    /// Configured costs (model → cost); defaults apply to everything else.
    costs: BTreeMap<String, u64>,
    in_flight: HashMap<String, u32>,
}

impl QuotaActor {
    pub fn new(store: Arc<dyn Store>, clock: Clock, costs: BTreeMap<String, u64>) -> Self {
        Self {
            store,
            clock,
            costs,
            in_flight: HashMap::new(),
        }
    }
}

impl Actor for QuotaActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(16_384);
    }
}

impl Handler<DebitQuota> for QuotaActor {
    type Result = AtomicResponse<Self, Result<Debit, QuotaError>>;

    fn handle(&mut self, msg: DebitQuota, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let key = msg.key.clone();
        let lookup = async move { store.get_key(&key).await };
        let fut = lookup.into_actor(self).then(move |record, act, _| {
            let now = act.clock.now();
            let cost = costs::cost_of(&msg.model, &act.costs);
            let checked = match record {
                Err(e) => {
                    log::error!("quota lookup failed: {e}");
                    Err(QuotaError::Storage)
                }
                Ok(None) => Err(QuotaError::UnknownKey),
                Ok(Some(rec)) => {
                    let base_allowed = check_key::allows_model(&rec.allowed_models, &msg.model);
                    let in_flight = act.in_flight.get(&msg.key).copied().unwrap_or(0);
                    if rec.expires_at.is_some_and(|t| t <= now) {
                        Err(QuotaError::Expired)
                    } else if !base_allowed {
                        Err(QuotaError::ModelNotAllowed(msg.model.clone()))
                    } else if rec.max_concurrent.is_some_and(|max| in_flight >= max) {
                        Err(QuotaError::TooManyConcurrent(
                            rec.max_concurrent.unwrap_or(0),
                        ))
                    } else {
                        Ok(())
                    }
                }
            };
            let store = act.store.clone();
            let key = msg.key.clone();
            let model = msg.model.clone();
            async move {
                checked?;
                match store.debit_key(&key, &model, cost, now).await {
                    Ok(DebitOutcome::Debited {
                        used_quota,
                        total_quota,
                    }) => Ok(Debit {
                        key,
                        model,
                        cost,
                        remaining: total_quota.saturating_sub(used_quota),
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
                    Ok(DebitOutcome::NotFound) => Err(QuotaError::UnknownKey),
                    Err(e) => {
                        log::error!("quota debit failed: {e}");
                        Err(QuotaError::Storage)
                    }
                }
            }
            .into_actor(act)
        });
        let fut = fut.map(|result, act, _| {
            if let Ok(debit) = &result {
                *act.in_flight.entry(debit.key.clone()).or_default() += 1;
            }
            result
        });
        AtomicResponse::new(Box::pin(fut))
    }
}

impl Handler<Refund> for QuotaActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: Refund, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let debit = msg.debit;
        AtomicResponse::new(Box::pin(
            async move {
                if let Err(e) = store.refund_key(&debit.key, &debit.model, debit.cost).await {
                    log::error!("quota refund failed: {e}");
                }
            }
            .into_actor(self),
        ))
    }
}

impl Handler<ReleaseSlot> for QuotaActor {
    type Result = ();

    fn handle(&mut self, msg: ReleaseSlot, _: &mut Self::Context) {
        if let Some(n) = self.in_flight.get_mut(&msg.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.in_flight.remove(&msg.key);
            }
        }
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
            self.quota.do_send(ReleaseSlot {
                key: debit.key.clone(),
            });
            if !self.committed {
                crate::observe::trace::note_refund();
                self.quota.do_send(Refund { debit });
            }
        }
    }
}
