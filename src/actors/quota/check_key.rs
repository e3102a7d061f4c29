//! Validating an `sk-` key without debiting it: routes that cost nothing (model lists, `countTokens`)
//! and the body guard, which refuses unknown keys before a byte of the body is read.

use actix::prelude::*;
use tokio::sync::oneshot;

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
    // Served from the cached rules (see `key_rules` for how stale they may be); a key not cached is
    // read by a detached lookup, so a paused actor never holds a pooled store connection.
    type Result = ResponseFuture<Result<(), QuotaError>>;

    fn handle(&mut self, msg: CheckKey, ctx: &mut Self::Context) -> Self::Result {
        let (reply, answer) = oneshot::channel();
        self.with_rules(msg.key, ctx, move |act, rules, _| {
            let now = act.clock.now();
            let _ = reply.send(rules.and_then(|rules| rules.check(msg.model.as_deref(), now)));
        });
        Box::pin(async move { answer.await.unwrap_or(Err(QuotaError::Storage)) })
    }
}
