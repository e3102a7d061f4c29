//! `QuotaActor`: one per request worker, started on the worker's own arbiter (in the
//! `HttpServer::new` factory), serialising that worker's debits. A keyed request sends it one message
//! ([`QueueDebit`]) on its own thread; the actor queues the debit and keeps at most one batch of its
//! worker at the store: the debits that arrive while a batch is there go together in the next one.
//! The batch runs inside the actor (no timer, no other task), and its answers reach the callers on
//! the same thread.
//!
//! The queue and the batch are `quota::batch`'s: a batch at the store when the worker stops finishes
//! on the system arbiter and is drained by the graceful stop; debits still queued are refused.

use actix::prelude::*;

use super::messages::QueueDebit;
use crate::quota::batch::DebitQueue;
use crate::quota::debits::Debits;

pub struct QuotaActor {
    queue: DebitQueue,
    /// A batch of this worker is at the store (or about to leave): new debits wait for the next.
    at_store: bool,
}

impl QuotaActor {
    pub fn new(debits: Debits) -> Self {
        Self {
            queue: DebitQueue::new(debits),
            at_store: false,
        }
    }

    /// Sends the next batch unless one is at the store. It leaves once whatever else is ready on
    /// this thread has run (requests being admitted, answers being written): their debits join it
    /// instead of costing the next batch its own commit. An idle thread comes straight back.
    fn send_batch(&mut self, ctx: &mut Context<Self>) {
        if self.at_store || self.queue.is_empty() {
            return;
        }
        self.at_store = true;
        let batch = fut::wrap_future::<_, Self>(tokio::task::yield_now())
            .then(|(), act, _| {
                let batch = act.queue.next_batch();
                fut::wrap_future(async move {
                    match batch {
                        Some(batch) => batch.await,
                        None => Vec::new(),
                    }
                })
            })
            .map(|unparked, act, ctx| {
                act.queue.extend(unparked);
                act.at_store = false;
                act.send_batch(ctx);
            });
        ctx.spawn(batch);
    }
}

impl Actor for QuotaActor {
    type Context = Context<Self>;
}

impl Handler<QueueDebit> for QuotaActor {
    type Result = ();

    fn handle(&mut self, msg: QueueDebit, ctx: &mut Self::Context) {
        if let Some(debit) = msg.take() {
            self.queue.push(debit);
        }
        self.send_batch(ctx);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::clock::Clock;
    use crate::quota::fake_store::FakeStore;
    use crate::quota::QuotaError;

    const MODEL: &str = "gemma-3";

    fn debits(store: &Arc<FakeStore>) -> Debits {
        Debits::new(store.clone(), Clock::default(), Default::default())
    }

    async fn queue(
        debits: &Debits,
        worker: &Addr<QuotaActor>,
    ) -> crate::quota::admission::Admitted {
        let (admitted, queued) = debits.admit("sk-a", MODEL).await.unwrap();
        worker.do_send(QueueDebit::new(debits.clone(), queued.unwrap()));
        admitted
    }

    #[actix_rt::test]
    async fn debits_that_arrive_while_a_batch_is_at_the_store_go_together_in_the_next() {
        let (store, mut batches) = FakeStore::new();
        store.add_key("sk-a", 10, None);
        let store = Arc::new(store);
        let debits = debits(&store);
        let worker = QuotaActor::new(debits.clone()).start();

        let first = queue(&debits, &worker).await;
        let held = batches.recv().await.unwrap();
        assert_eq!(held.keys.len(), 1);
        let second = queue(&debits, &worker).await;
        let third = queue(&debits, &worker).await;
        held.release();
        let next = batches.recv().await.unwrap();
        assert_eq!(next.keys.len(), 2, "one batch for both");
        next.release();
        assert_eq!(first.durable.await.unwrap().unwrap().remaining, 9);
        assert_eq!(second.durable.await.unwrap().unwrap().remaining, 8);
        assert_eq!(third.durable.await.unwrap().unwrap().remaining, 7);
        assert_eq!(store.used("sk-a"), 3);
    }

    #[actix_rt::test]
    async fn a_stop_drains_the_batch_at_the_store_and_refuses_the_debits_behind_it() {
        let (store, mut batches) = FakeStore::new();
        store.add_key("sk-a", 10, Some(4));
        let store = Arc::new(store);
        let debits = debits(&store);
        let arbiter = Arbiter::new();
        let worker = {
            let debits = debits.clone();
            QuotaActor::start_in_arbiter(&arbiter.handle(), move |_| QuotaActor::new(debits))
        };

        let at_store = queue(&debits, &worker).await;
        let held = batches.recv().await.unwrap();
        // A second debit waits in the actor's queue for the next batch (`send` answers once the
        // actor has queued it).
        let (waiting, queued) = debits.admit("sk-a", MODEL).await.unwrap();
        worker
            .send(QueueDebit::new(debits.clone(), queued.unwrap()))
            .await
            .unwrap();
        // The worker stops with its batch at the store.
        arbiter.stop();
        while worker.connected() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            debits.detached().running() >= 1,
            "the batch is still counted"
        );
        assert_eq!(waiting.durable.await.unwrap(), Err(QuotaError::Storage));
        let late = queue(&debits, &worker).await;
        assert_eq!(late.durable.await.unwrap(), Err(QuotaError::Storage));
        held.release();
        assert_eq!(debits.detached().drain(Duration::from_secs(5)).await, 0);
        assert_eq!(at_store.durable.await.unwrap().unwrap().remaining, 9);
        assert_eq!(store.used("sk-a"), 1);
        assert_eq!(
            debits.in_flight("sk-a"),
            1,
            "only the stored debit holds a slot"
        );
    }
}
