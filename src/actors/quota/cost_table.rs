//! The model-cost table's store writes, by the `KeyAdminActor`: the cache the request workers read
//! (`Debits`) follows each write once the store has it.

use std::collections::BTreeMap;

use actix::prelude::*;

use super::key_admin::KeyAdminActor;
use super::messages::{CostOf, DeleteCost, GetCosts, SetCost};
use crate::quota::admission::ModelCost;
use crate::quota::QuotaError;

impl Handler<GetCosts> for KeyAdminActor {
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

impl Handler<SetCost> for KeyAdminActor {
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

impl Handler<DeleteCost> for KeyAdminActor {
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

impl Handler<CostOf> for KeyAdminActor {
    type Result = ModelCost;

    fn handle(&mut self, msg: CostOf, _: &mut Self::Context) -> Self::Result {
        self.debits.cost_of(&msg.model)
    }
}
