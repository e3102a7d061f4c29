//! A worker's batch of debits while it is at the store, and the worker's queue of debits waiting for
//! the next one: the state a `QuotaActor` owns, kept here so that no debit is ever dropped unanswered.
//!
//! - A batch is counted by the graceful stop's drain from the moment it leaves for the store
//!   ([`DetachedTasks::hold`](crate::shutdown::DetachedTasks::hold)). If its worker stops while the
//!   store has not answered (the worker's runtime goes, and every task on it), the rest of the batch
//!   runs on the system arbiter instead: its callers are answered or refunded, the debits it unparks
//!   are stored in turn.
//! - Debits still waiting when the worker stops are refused with [`QuotaError::Storage`]
//!   (`Debits::refuse`): their slots and counts are given back.
//!
//! [`QuotaError::Storage`]: super::error::QuotaError::Storage

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::admission::QueuedDebit;
use super::debits::{Commit, Debits, MAX_BATCH};
use crate::shutdown::detached::Held;

/// One batch at the store; resolves to the parked debits its answers released.
pub struct BatchAtStore {
    commit: Option<Commit>,
    debits: Debits,
    _counted: Held,
}

impl BatchAtStore {
    /// Sends `batch` to the store.
    pub fn start(debits: &Debits, batch: Vec<QueuedDebit>) -> Self {
        Self {
            _counted: debits.detached().hold(),
            commit: Some(debits.commit(batch)),
            debits: debits.clone(),
        }
    }
}

impl Future for BatchAtStore {
    type Output = Vec<QueuedDebit>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(commit) = self.commit.as_mut() else {
            return Poll::Ready(Vec::new());
        };
        let unparked = ready!(commit.as_mut().poll(cx));
        self.commit = None;
        Poll::Ready(unparked)
    }
}

impl Drop for BatchAtStore {
    fn drop(&mut self) {
        let Some(commit) = self.commit.take() else {
            return;
        };
        // The worker stopped with this batch at the store: it finishes on the system arbiter, and
        // the debits it unparks go to the store from there, one batch after another.
        let debits = self.debits.clone();
        let rest = async move {
            let mut waiting = commit.await;
            while !waiting.is_empty() {
                let batch = oldest_batch(&mut waiting);
                waiting.extend(debits.commit(batch).await);
            }
        };
        self.debits.detached().spawn("quota debit batch", rest);
    }
}

/// One worker's debits waiting for its next batch.
pub struct DebitQueue {
    debits: Debits,
    waiting: Vec<QueuedDebit>,
}

impl DebitQueue {
    pub fn new(debits: Debits) -> Self {
        Self {
            debits,
            waiting: Vec::new(),
        }
    }

    pub fn push(&mut self, debit: QueuedDebit) {
        self.waiting.push(debit);
    }

    pub fn extend(&mut self, debits: Vec<QueuedDebit>) {
        self.waiting.extend(debits);
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Sends the oldest [`MAX_BATCH`] waiting debits to the store; `None` when none waits.
    pub fn next_batch(&mut self) -> Option<BatchAtStore> {
        if self.waiting.is_empty() {
            return None;
        }
        let batch = oldest_batch(&mut self.waiting);
        Some(BatchAtStore::start(&self.debits, batch))
    }
}

/// The oldest [`MAX_BATCH`] of `waiting`, taken out in order.
fn oldest_batch(waiting: &mut Vec<QueuedDebit>) -> Vec<QueuedDebit> {
    let count = waiting.len().min(MAX_BATCH);
    waiting.drain(..count).collect()
}

impl Drop for DebitQueue {
    fn drop(&mut self) {
        if !self.waiting.is_empty() {
            log::warn!(
                "{} quota debit(s) refused: their worker stopped before their batch",
                self.waiting.len()
            );
        }
        for debit in self.waiting.drain(..) {
            self.debits.refuse(debit);
        }
    }
}
