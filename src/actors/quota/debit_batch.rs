//! Group commit of debits: a debit is checked against its key's cached rules and its concurrency
//! slot taken at once, then waits for the next batch; a batch at a time is at the store (a few on
//! backends that serve connections in parallel, see `Store::debit_batches_in_flight`), and the
//! debits that arrive meanwhile go together in the next one. The store applies a batch atomically
//! and in order, so quota stays exact however many debits of one key share a batch.

use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::messages::{Admitted, Debit, DebitQuota, QuotaError};
use super::{costs, QuotaActor};
use crate::store::{DebitOutcome, DebitRequest, StoreError};

/// Most debits in one batch; more wait for the next.
const MAX_BATCH: usize = 1024;
/// The least time between the starts of two batches while fewer than [`FULL_BATCH`] debits wait.
const BATCH_GAP: Duration = Duration::from_millis(1);
/// Enough waiting debits to start a batch without waiting for [`BATCH_GAP`].
const FULL_BATCH: usize = 64;
/// On a shared store, how many requests' worth of balance beyond its unanswered debits a key must
/// have left for Google to be called before its debit is durable.
const SHARED_MARGIN: u64 = 1000;

/// A debit admitted and waiting for its batch.
pub(super) struct Pending {
    request: DebitRequest,
    /// The key has a concurrency limit and this debit took one of its slots.
    holds_slot: bool,
    reply: oneshot::Sender<Result<Debit, QuotaError>>,
}

impl Handler<DebitQuota> for QuotaActor {
    type Result = ResponseFuture<Result<Admitted, QuotaError>>;

    fn handle(&mut self, msg: DebitQuota, ctx: &mut Self::Context) -> Self::Result {
        let (admitted, admission) = oneshot::channel();
        self.with_rules(msg.key.clone(), ctx, move |act, rules, ctx| {
            let result = rules.and_then(|rules| act.admit(&msg, &rules));
            let (request, holds_slot, overlap) = match result {
                Ok(admission) => admission,
                Err(e) => {
                    let _ = admitted.send(Err(e));
                    return;
                }
            };
            let (reply, durable) = oneshot::channel();
            act.pending.push(Pending {
                request,
                holds_slot,
                reply,
            });
            act.flush(ctx);
            let _ = admitted.send(Ok(Admitted { overlap, durable }));
        });
        Box::pin(async move { admission.await.unwrap_or(Err(QuotaError::Storage)) })
    }
}

impl QuotaActor {
    /// Checks expiry, model and concurrency, and takes a concurrency slot if the key is limited;
    /// the balance is the store's to check. Answers the debit, whether it holds a slot, and
    /// whether Google may be called before it is durable (see [`Admitted::overlap`]).
    fn admit(
        &mut self,
        msg: &DebitQuota,
        rules: &super::key_rules::KeyRules,
    ) -> Result<(DebitRequest, bool, bool), QuotaError> {
        let now = self.clock.now();
        rules.check(Some(&msg.model), now)?;
        // Only a limited key counts its requests: for the others nothing needs telling when a
        // request ends, which saves a message per request.
        let holds_slot = rules.max_concurrent.is_some();
        if let Some(max) = rules.max_concurrent {
            let in_flight = self.in_flight.entry(msg.key.clone()).or_default();
            if *in_flight >= max {
                if *in_flight == 0 {
                    self.in_flight.remove(&msg.key);
                }
                return Err(QuotaError::TooManyConcurrent(max));
            }
            *in_flight += 1;
        }
        let cost = costs::cost_of(&msg.model, &self.costs);
        // Every debit of the key not yet answered by the store may still take from the balance
        // last seen (the answered ones are in it): it must cover them all, this one included.
        let unsettled = self.unsettled.entry(msg.key.clone()).or_default();
        *unsettled += 1;
        // On a shared store other instances spend the key too, unseen until the next answer:
        // the last SHARED_MARGIN requests' worth of a key wait for their debit, so instances
        // together never call Google for a request the key cannot pay unless they spend that
        // much of it within one batch's round trip.
        let margin = if self.store.is_shared() {
            SHARED_MARGIN
        } else {
            0
        };
        let needed = cost.saturating_mul(u64::from(*unsettled) + margin);
        let overlap = self.rules.lock().balance_covers(&msg.key, needed);
        let request = DebitRequest {
            api_key: msg.key.clone(),
            model: msg.model.clone(),
            cost,
            now,
        };
        Ok((request, holds_slot, overlap))
    }

    /// Sends the waiting debits to the store unless as many batches as it takes at once are already
    /// there; the answer to each batch sends the next.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        let room = self.store.debit_batches_in_flight().max(1);
        if self.batches_at_store >= room || self.pending.is_empty() || self.flush_scheduled {
            return;
        }
        // Under load, batches start at most every BATCH_GAP unless enough debits wait: each batch
        // costs the store a commit (an fsync), and debits overlap Google's answer anyway. A debit
        // arriving after a quiet moment goes at once.
        let since = self.last_batch.map(|at| at.elapsed());
        if let Some(wait) = since.and_then(|since| BATCH_GAP.checked_sub(since)) {
            if self.pending.len() < FULL_BATCH {
                self.flush_scheduled = true;
                ctx.run_later(wait, |act, ctx| {
                    act.flush_scheduled = false;
                    act.flush(ctx);
                });
                return;
            }
        }
        self.last_batch = Some(Instant::now());
        self.batches_at_store += 1;
        let count = self.pending.len().min(MAX_BATCH);
        let (requests, replies): (Vec<DebitRequest>, Vec<_>) = self
            .pending
            .drain(..count)
            .map(|p| (p.request, (p.reply, p.holds_slot)))
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
                    for (request, (reply, holds_slot)) in requests.into_iter().zip(replies) {
                        let outcome = outcomes.next().unwrap_or_else(|| {
                            Err(StoreError::Backend("debit batch answered short".into()))
                        });
                        let result = act.settle(request, outcome, holds_slot);
                        if let Err(Ok(debit)) = reply.send(result) {
                            // The caller left while its debit was at the store: it gets nothing.
                            if debit.holds_slot {
                                act.release(&debit.key);
                            }
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
        holds_slot: bool,
    ) -> Result<Debit, QuotaError> {
        if let Some(n) = self.unsettled.get_mut(&request.api_key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.unsettled.remove(&request.api_key);
            }
        }
        let cost = request.cost;
        if let Ok(
            DebitOutcome::Debited {
                used_quota,
                total_quota,
            }
            | DebitOutcome::Exhausted {
                used_quota,
                total_quota,
            },
        ) = &outcome
        {
            self.rules
                .lock()
                .saw_balance(&request.api_key, total_quota.saturating_sub(*used_quota));
        }
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
                    holds_slot,
                });
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
                self.rules.lock().forget(&request.api_key);
                Err(QuotaError::UnknownKey)
            }
            Err(e) => {
                log::error!("quota debit failed: {e}");
                Err(QuotaError::Storage)
            }
        };
        if holds_slot {
            self.release(&request.api_key);
        }
        result
    }
}
