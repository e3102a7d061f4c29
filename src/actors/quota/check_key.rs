//! Validating an `sk-` key without debiting it: routes that cost nothing (model lists, `countTokens`)
//! and the body guard, which refuses unknown keys before a byte of the body is read.

use actix::prelude::*;

use super::{QuotaActor, QuotaError};
use crate::convert::model_name::ModelSpec;

/// Does the key exist, is it unexpired, and (when `model` is given) may it use that model?
#[derive(Message)]
#[rtype(result = "Result<(), QuotaError>")]
pub struct CheckKey {
    pub key: String,
    pub model: Option<String>,
}

/// An empty allow-list allows everything; otherwise the requested name, its base model or its
/// display name must be listed.
pub fn allows_model(allowed: &[String], model: &str) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|m| {
            m == model || ModelSpec::parse(model).is_ok_and(|s| &s.base == m || &s.display == m)
        })
}

impl Handler<CheckKey> for QuotaActor {
    // A detached future, not an actor future: a debit pauses this actor (`AtomicResponse`), and an
    // actor future paused mid-lookup would keep its pooled store connection while the debit waits
    // for one — with enough checks in flight the PostgreSQL pool deadlocks until its timeout. The
    // lookup needs no actor state, only the store and the clock.
    type Result = ResponseFuture<Result<(), QuotaError>>;

    fn handle(&mut self, msg: CheckKey, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let clock = self.clock.clone();
        Box::pin(async move {
            match store.get_key(&msg.key).await {
                Err(e) => {
                    log::error!("API key lookup failed: {e}");
                    Err(QuotaError::Storage)
                }
                Ok(None) => Err(QuotaError::UnknownKey),
                Ok(Some(rec)) if rec.expires_at.is_some_and(|t| t <= clock.now()) => {
                    Err(QuotaError::Expired)
                }
                Ok(Some(rec)) => match msg.model {
                    Some(model) if !allows_model(&rec.allowed_models, &model) => {
                        Err(QuotaError::ModelNotAllowed(model))
                    }
                    _ => Ok(()),
                },
            }
        })
    }
}
