//! The messages of the quota's actors, each a struct with named fields and a typed result: the
//! `KeyAdminActor`'s (keys and the cost table) and the worker `QuotaActor`'s ([`QueueDebit`]).

use std::collections::BTreeMap;

use actix::prelude::*;

use crate::quota::admission::{ModelCost, QueuedDebit};
use crate::quota::debits::Debits;
use crate::quota::QuotaError;
use crate::store::ApiKeyRecord;

/// Store a new API key (the panel's "create key").
#[derive(Message)]
#[rtype(result = "Result<(), QuotaError>")]
pub struct CreateKey {
    pub record: ApiKeyRecord,
}

/// Replace the settings of an existing key (its use stays); answers whether it existed.
#[derive(Message)]
#[rtype(result = "Result<bool, QuotaError>")]
pub struct UpdateKey {
    pub record: ApiKeyRecord,
}

/// Delete an API key and forget its in-flight count; answers whether it existed.
#[derive(Message)]
#[rtype(result = "Result<bool, QuotaError>")]
pub struct DeleteKey {
    pub key: String,
}

/// The configured cost table (model → cost), read fresh from the store.
#[derive(Message)]
#[rtype(result = "Result<BTreeMap<String, u64>, QuotaError>")]
pub struct GetCosts;

/// Configure the cost of `model`.
#[derive(Message)]
#[rtype(result = "Result<(), QuotaError>")]
pub struct SetCost {
    pub model: String,
    pub cost: u64,
}

/// Remove the configured cost of `model`; answers whether one was configured.
#[derive(Message)]
#[rtype(result = "Result<bool, QuotaError>")]
pub struct DeleteCost {
    pub model: String,
}

/// The cost a request to `model` would have now.
#[derive(Message)]
#[rtype(result = "ModelCost")]
pub struct CostOf {
    pub model: String,
}

/// Queue an admitted debit for this worker's next batch; its caller hears the verdict through
/// `Admitted::durable`, once the batch holding it is answered.
#[derive(Message)]
#[rtype(result = "()")]
pub struct QueueDebit {
    debit: Option<QueuedDebit>,
    /// Refuses the debit if the message is dropped undelivered (its worker stopped).
    debits: Debits,
}

impl QueueDebit {
    pub fn new(debits: Debits, debit: QueuedDebit) -> Self {
        Self {
            debit: Some(debit),
            debits,
        }
    }

    /// The debit, for the actor that queues it.
    pub fn take(mut self) -> Option<QueuedDebit> {
        self.debit.take()
    }
}

impl Drop for QueueDebit {
    fn drop(&mut self) {
        // Delivered messages gave their debit away; one dropped in a closed mailbox still holds it.
        if let Some(debit) = self.debit.take() {
            self.debits.refuse(debit);
        }
    }
}
