//! `KeyAdminActor`, on the main arbiter: key creation, update and deletion (the one writer of key
//! records besides the store's own atomic debits) and the cost table's writes (`cost_table`). A
//! deleted key's in-flight count and cached rules are dropped once the store has deleted it.

use std::sync::Arc;

use actix::prelude::*;

use super::messages::{CreateKey, DeleteKey, UpdateKey};
use crate::quota::debits::Debits;
use crate::quota::QuotaError;
use crate::store::Store;

pub struct KeyAdminActor {
    pub(super) store: Arc<dyn Store>,
    pub(super) debits: Debits,
}

impl KeyAdminActor {
    pub fn new(store: Arc<dyn Store>, debits: Debits) -> Self {
        Self { store, debits }
    }
}

impl Actor for KeyAdminActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(16_384);
    }
}

impl Handler<CreateKey> for KeyAdminActor {
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
                let rules = act.debits.rules();
                let epoch = rules.lock().epoch();
                stored.map(|record| {
                    rules.lock().remember(&record, epoch);
                })
            }),
        ))
    }
}

impl Handler<DeleteKey> for KeyAdminActor {
    type Result = AtomicResponse<Self, Result<bool, QuotaError>>;

    fn handle(&mut self, msg: DeleteKey, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let key = msg.key.clone();
        AtomicResponse::new(Box::pin(
            async move { store.delete_key(&key).await }
                .into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(existed) => {
                        act.debits.forget_key(&msg.key);
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

impl Handler<UpdateKey> for KeyAdminActor {
    type Result = AtomicResponse<Self, Result<bool, QuotaError>>;

    /// The cached rules are forgotten like a delete's: this instance reads the new ones at its next
    /// request, the others within `RULES_TTL`.
    fn handle(&mut self, msg: UpdateKey, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let key = msg.record.key_hash.clone();
        AtomicResponse::new(Box::pin(
            async move { store.update_key(&msg.record).await }
                .into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(existed) => {
                        act.debits.rules().lock().forget(&key);
                        Ok(existed)
                    }
                    Err(e) => {
                        log::error!("updating an API key failed: {e}");
                        Err(QuotaError::Storage)
                    }
                }),
        ))
    }
}
