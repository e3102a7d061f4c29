//! Group commit of debits: a debit is checked against its key's cached rules and its concurrency
//! slot taken at once, then waits for the next batch; a batch at a time is at the store (a few on
//! backends that serve connections in parallel, see `Store::debit_batches_in_flight`), and the
//! debits that arrive meanwhile go together in the next one. The store applies a batch atomically
//! and in order, so quota stays exact however many debits of one key share a batch.

use actix::prelude::*;
use tokio::sync::oneshot;

use super::messages::{Admitted, Debit, DebitQuota, QuotaError};
use super::{costs, QuotaActor};
use crate::store::{DebitOutcome, DebitRequest, StoreError};

/// Most debits in one batch; more wait for the next.
const MAX_BATCH: usize = 1024;

/// A debit admitted and waiting for its batch.
pub(super) struct Pending {
    request: DebitRequest,
    reply: oneshot::Sender<Result<Debit, QuotaError>>,
}

impl Handler<DebitQuota> for QuotaActor {
    type Result = ResponseFuture<Result<Admitted, QuotaError>>;

    fn handle(&mut self, msg: DebitQuota, ctx: &mut Self::Context) -> Self::Result {
        let (admitted, admission) = oneshot::channel();
        self.with_rules(msg.key.clone(), ctx, move |act, rules, ctx| {
            let result = rules.and_then(|rules| act.admit(&msg, &rules));
            let (request, overlap) = match result {
                Ok(admission) => admission,
                Err(e) => {
                    let _ = admitted.send(Err(e));
                    return;
                }
            };
            let (reply, durable) = oneshot::channel();
            act.pending.push(Pending { request, reply });
            act.flush(ctx);
            let _ = admitted.send(Ok(Admitted { overlap, durable }));
        });
        Box::pin(async move { admission.await.unwrap_or(Err(QuotaError::Storage)) })
    }
}

impl QuotaActor {
    /// Checks expiry, model and concurrency, and takes the concurrency slot; the balance is the
    /// store's to check. Answers the debit and whether Google may be called before it is durable
    /// (see [`Admitted::overlap`]).
    fn admit(
        &mut self,
        msg: &DebitQuota,
        rules: &super::key_rules::KeyRules,
    ) -> Result<(DebitRequest, bool), QuotaError> {
        let now = self.clock.now();
        rules.check(Some(&msg.model), now)?;
        let in_flight = self.in_flight.entry(msg.key.clone()).or_default();
        if let Some(max) = rules.max_concurrent.filter(|max| *in_flight >= *max) {
            if *in_flight == 0 {
                self.in_flight.remove(&msg.key);
            }
            return Err(QuotaError::TooManyConcurrent(max));
        }
        *in_flight += 1;
        let cost = costs::cost_of(&msg.model, &self.costs);
        // Every request of the key in flight here may still be debited: the seen balance must
        // cover them all, this one included.
        let needed = cost.saturating_mul(u64::from(*in_flight));
        let overlap = self.rules.balance_covers(&msg.key, needed);
        let request = DebitRequest {
            api_key: msg.key.clone(),
            model: msg.model.clone(),
            cost,
            now,
        };
        Ok((request, overlap))
    }

    /// Sends the waiting debits to the store unless as many batches as it takes at once are already
    /// there; the answer to each batch sends the next.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        let room = self.store.debit_batches_in_flight().max(1);
        if self.batches_at_store >= room || self.pending.is_empty() {
            return;
        }
        self.batches_at_store += 1;
        let count = self.pending.len().min(MAX_BATCH);
        let (requests, replies): (Vec<DebitRequest>, Vec<_>) = self
            .pending
            .drain(..count)
            .map(|p| (p.request, p.reply))
            .unzip();
        let store = self.store.clone();
        let (tell, answer) = oneshot::channel();
        // Detached: the store call finishes even while the actor is paused by a key or cost change.
        actix::spawn(async move {
            let outcomes = store.debit_keys(&requests).await;
            let _ = tell.send((requests, outcomes));
        });
        ctx.spawn(answer.into_actor(self).map(move |answer, act, ctx| {
            act.batches_at_store = act.batches_at_store.saturating_sub(1);
            match answer {
                Ok((requests, outcomes)) => {
                    let mut outcomes = outcomes.into_iter();
                    for (request, reply) in requests.into_iter().zip(replies) {
                        let outcome = outcomes.next().unwrap_or_else(|| {
                            Err(StoreError::Backend("debit batch answered short".into()))
                        });
                        let result = act.settle(request, outcome);
                        if let Err(Ok(debit)) = reply.send(result) {
                            // The caller left while its debit was at the store: it gets nothing.
                            act.release(&debit.key);
                            act.refund(debit);
                        }
                    }
                }
                // The runtime is shutting down; the replies drop and their callers see an error.
                Err(_) => log::error!("quota debit batch was dropped"),
            }
            act.flush(ctx);
        }));
    }

    /// Turns one store outcome into the caller's answer; a refused debit frees its slot.
    fn settle(
        &mut self,
        request: DebitRequest,
        outcome: Result<DebitOutcome, StoreError>,
    ) -> Result<Debit, QuotaError> {
        let cost = request.cost;
        let result = match outcome {
            Ok(DebitOutcome::Debited {
                used_quota,
                total_quota,
            }) => {
                self.rules
                    .saw_balance(&request.api_key, total_quota.saturating_sub(used_quota));
                return Ok(Debit {
                    key: request.api_key,
                    model: request.model,
                    cost,
                    remaining: total_quota.saturating_sub(used_quota),
                });
            }
            Ok(DebitOutcome::Exhausted {
                used_quota,
                total_quota,
            }) => {
                self.rules
                    .saw_balance(&request.api_key, total_quota.saturating_sub(used_quota));
                Err(QuotaError::Exhausted {
                    used: used_quota,
                    total: total_quota,
                    cost,
                })
            }
            Ok(DebitOutcome::Expired) => Err(QuotaError::Expired),
            Ok(DebitOutcome::NotFound) => {
                // Deleted, perhaps by another instance: its rules must not outlive it here.
                self.rules.forget(&request.api_key);
                Err(QuotaError::UnknownKey)
            }
            Err(e) => {
                log::error!("quota debit failed: {e}");
                Err(QuotaError::Storage)
            }
        };
        self.release(&request.api_key);
        result
    }
}
