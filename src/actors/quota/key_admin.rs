//! Key creation and deletion go through the `QuotaActor`, the one writer of key records besides the
//! store's own atomic debits: a deleted key's in-flight count is dropped in the same step, so nothing
//! can patch the actor's view afterwards, and its cached rules are forgotten with it.

use actix::prelude::*;

use super::messages::{CreateKey, DeleteKey, QuotaError};
use super::QuotaActor;

impl Handler<CreateKey> for QuotaActor {
    type Result = AtomicResponse<Self, Result<(), QuotaError>>;

    fn handle(&mut self, msg: CreateKey, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        AtomicResponse::new(Box::pin(
            async move {
                let stored = store.insert_key(&msg.record).await.map_err(|e| {
                    log::error!("storing a new API key failed: {e}");
                    QuotaError::Storage
                });
                stored.map(|()| msg.record)
            }
            .into_actor(self)
            .map(|stored, act, _| {
                let epoch = act.rules.lock().epoch();
                stored.map(|record| {
                    act.rules.lock().remember(&record, epoch);
                })
            }),
        ))
    }
}

impl Handler<DeleteKey> for QuotaActor {
    type Result = AtomicResponse<Self, Result<bool, QuotaError>>;

    fn handle(&mut self, msg: DeleteKey, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let key = msg.key.clone();
        AtomicResponse::new(Box::pin(
            async move { store.delete_key(&key).await }
                .into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(existed) => {
                        act.in_flight.remove(&msg.key);
                        act.rules.lock().forget(&msg.key);
                        Ok(existed)
                    }
                    Err(e) => {
                        log::error!("deleting an API key failed: {e}");
                        Err(QuotaError::Storage)
                    }
                }),
        ))
    }
}
