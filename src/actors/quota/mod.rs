//! `QuotaActor` owns API-key administration (creation, deletion) and the model-cost table's store
//! writes; debits, refunds and per-key in-flight counts are `Debits`, shared with the request
//! workers so a keyed request wakes no other thread to be admitted (see `debits`).
//!
//! Ordering: debits are group-committed (`debits`): those that arrive while a batch is at the store
//! go together in the next one, which the store applies atomically and in order (one script,
//! statement or journal fsync), so several gateway instances sharing a store never overspend a key.

pub mod check_key;
pub mod costs;
pub mod debits;
mod key_admin;
pub mod key_rules;
pub mod messages;
pub mod view;
pub mod windows;

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::prelude::*;

use self::debits::Debits;
use self::messages::{CostOf, Debit, DeleteCost, GetCosts, ModelCost, QuotaError, SetCost};
use crate::store::Store;

pub struct QuotaActor {
    store: Arc<dyn Store>,
    debits: Debits,
}

impl QuotaActor {
    pub fn new(store: Arc<dyn Store>, debits: Debits) -> Self {
        Self { store, debits }
    }
}

impl Actor for QuotaActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(16_384);
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
                        act.debits.set_costs(costs.clone());
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
                        act.debits.set_cost(msg.model, Some(msg.cost));
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
                        act.debits.set_cost(msg.model, None);
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
        self.debits.cost_of(&msg.model)
    }
}

/// Holds a debit for the life of a request: refunded when dropped uncommitted (the client got nothing),
/// and the key's in-flight slot released in any case.
pub struct QuotaGuard {
    debits: Debits,
    debit: Option<Debit>,
    committed: bool,
}

impl QuotaGuard {
    pub fn new(debits: Debits, debit: Debit) -> Self {
        Self {
            debits,
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
                self.debits.release(&debit.key);
            }
            if !self.committed {
                crate::observe::trace::note_refund();
                self.debits.refund(debit);
            }
        }
    }
}
