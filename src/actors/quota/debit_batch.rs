//! Group commit of debits: a debit is checked against its key's cached rules and its concurrency
//! slot taken at once, then waits for the next batch; one batch at a time is at the store, and the
//! debits that arrive meanwhile go together in the one after it. The store applies a batch atomically
//! and in order, so quota stays exact however many debits of one key share a batch.

use actix::prelude::*;
use tokio::sync::oneshot;

use super::messages::{Debit, DebitQuota, QuotaError};
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
    type Result = ResponseFuture<Result<Debit, QuotaError>>;

    fn handle(&mut self, msg: DebitQuota, ctx: &mut Self::Context) -> Self::Result {
        let (reply, answer) = oneshot::channel();
        self.with_rules(msg.key.clone(), ctx, move |act, rules, ctx| {
            match rules.and_then(|rules| act.admit(&msg, &rules)) {
                Ok(request) => {
                    act.pending.push(Pending { request, reply });
                    act.flush(ctx);
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        });
        Box::pin(async move { answer.await.unwrap_or(Err(QuotaError::Storage)) })
    }
}

impl QuotaActor {
    /// Checks expiry, model and concurrency, and takes the concurrency slot; the balance is the
    /// store's to check.
    fn admit(
        &mut self,
        msg: &DebitQuota,
        rules: &super::key_rules::KeyRules,
    ) -> Result<DebitRequest, QuotaError> {
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
        Ok(DebitRequest {
            api_key: msg.key.clone(),
            model: msg.model.clone(),
            cost: costs::cost_of(&msg.model, &self.costs),
            now,
        })
    }

    /// Sends the waiting debits to the store unless a batch is already there; the answer to each
    /// batch sends the next.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.flushing || self.pending.is_empty() {
            return;
        }
        self.flushing = true;
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
            act.flushing = false;
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
                return Ok(Debit {
                    key: request.api_key,
                    model: request.model,
                    cost,
                    remaining: total_quota.saturating_sub(used_quota),
                })
            }
            Ok(DebitOutcome::Exhausted {
                used_quota,
                total_quota,
            }) => Err(QuotaError::Exhausted {
                used: used_quota,
                total: total_quota,
                cost,
            }),
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
