//! Debit ordering, parking, refusals, refunds and concurrency slots against a store whose batches
//! answer only when a test releases them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use super::admission::{Admitted, Debit, QueuedDebit};
use super::debits::Debits;
use super::fake_store::{FakeStore, HeldBatch};
use super::guard::QuotaGuard;
use super::QuotaError;
use crate::clock::Clock;

/// Costs 1 (no configured cost, no Pro or Flash in the name).
const MODEL: &str = "gemma-3";

fn gateway(
    keys: &[(&str, u64, Option<u32>)],
) -> (Debits, Arc<FakeStore>, UnboundedReceiver<HeldBatch>) {
    let (store, batches) = FakeStore::new();
    for (key, total, max) in keys {
        store.add_key(key, *total, *max);
    }
    let store = Arc::new(store);
    let debits = Debits::new(store.clone(), Clock::default(), Default::default());
    (debits, store, batches)
}

async fn admit(debits: &Debits, key: &str) -> (Admitted, Option<QueuedDebit>) {
    debits.admit(key, MODEL).await.unwrap()
}

/// Sends `batch` to the store, lets the store answer it once it arrived there, and answers the
/// debits it unparked.
async fn commit(
    debits: &Debits,
    batches: &mut UnboundedReceiver<HeldBatch>,
    batch: Vec<QueuedDebit>,
) -> (Vec<String>, Vec<QueuedDebit>) {
    let running = actix_rt::spawn(debits.commit(batch));
    let held = batches.recv().await.unwrap();
    let keys = held.keys.clone();
    held.release();
    (keys, running.await.unwrap())
}

async fn verdict(admitted: Admitted) -> Result<Debit, QuotaError> {
    admitted.durable.await.unwrap()
}

#[actix_rt::test]
async fn debits_of_one_key_are_answered_in_order() {
    let (debits, store, mut batches) = gateway(&[("sk-a", 10, None)]);
    let mut admitted = Vec::new();
    let mut batch = Vec::new();
    for _ in 0..3 {
        let (a, q) = admit(&debits, "sk-a").await;
        assert!(a.overlap, "the balance covers every debit in flight");
        admitted.push(a);
        batch.push(q.unwrap());
    }
    let (keys, unparked) = commit(&debits, &mut batches, batch).await;
    assert_eq!(
        keys,
        ["sk-a", "sk-a", "sk-a"],
        "one batch, in admission order"
    );
    assert!(unparked.is_empty());
    let mut remaining = Vec::new();
    for a in admitted {
        remaining.push(verdict(a).await.unwrap().remaining);
    }
    assert_eq!(remaining, [9, 8, 7]);
    assert_eq!(store.used("sk-a"), 3);
}

#[actix_rt::test]
async fn a_debit_without_overlap_waits_parked_until_the_overlapped_ones_are_answered() {
    let (debits, store, mut batches) = gateway(&[("sk-a", 2, None)]);
    let (a1, q1) = admit(&debits, "sk-a").await;
    let (a2, q2) = admit(&debits, "sk-a").await;
    assert!(a1.overlap && a2.overlap, "a balance of 2 covers two debits");
    let (mut a3, q3) = admit(&debits, "sk-a").await;
    assert!(
        !a3.overlap,
        "a third one is not covered: it waits for its debit"
    );
    assert!(q3.is_none(), "parked behind the two overlapped ones");

    let running = actix_rt::spawn(debits.commit(vec![q1.unwrap(), q2.unwrap()]));
    let held = batches.recv().await.unwrap();
    assert_eq!(held.keys.len(), 2, "the parked debit is not at the store");
    assert!(a3.durable.try_recv().is_err(), "nor answered");
    held.release();
    let unparked = running.await.unwrap();
    assert_eq!(
        unparked.len(),
        1,
        "answering the overlapped ones releases it"
    );
    assert_eq!(verdict(a1).await.unwrap().remaining, 1);
    assert_eq!(verdict(a2).await.unwrap().remaining, 0);

    let (keys, more) = commit(&debits, &mut batches, unparked).await;
    assert_eq!(keys, ["sk-a"]);
    assert!(more.is_empty());
    assert_eq!(
        verdict(a3).await,
        Err(QuotaError::Exhausted {
            used: 2,
            total: 2,
            cost: 1
        })
    );
    assert_eq!(store.used("sk-a"), 2);
}

#[actix_rt::test]
async fn a_balance_spent_in_the_middle_of_a_batch_refuses_the_rest_of_its_key_only() {
    let (debits, store, mut batches) = gateway(&[("sk-a", 10, Some(5)), ("sk-b", 5, None)]);
    let (a1, q1) = admit(&debits, "sk-a").await;
    let (a2, q2) = admit(&debits, "sk-a").await;
    let (b1, q3) = admit(&debits, "sk-b").await;
    // Another instance spends all but one of the key after this one read it.
    store.spend_elsewhere("sk-a", 9);
    assert_eq!(debits.in_flight("sk-a"), 2);
    let batch = vec![q1.unwrap(), q2.unwrap(), q3.unwrap()];
    let (keys, _) = commit(&debits, &mut batches, batch).await;
    assert_eq!(keys, ["sk-a", "sk-a", "sk-b"]);
    assert_eq!(verdict(a1).await.unwrap().remaining, 0);
    assert_eq!(
        verdict(a2).await,
        Err(QuotaError::Exhausted {
            used: 10,
            total: 10,
            cost: 1
        })
    );
    assert_eq!(verdict(b1).await.unwrap().remaining, 4);
    assert_eq!(
        debits.in_flight("sk-a"),
        1,
        "the refused debit gave its slot back"
    );
    assert_eq!(store.used("sk-a"), 10);
}

#[actix_rt::test]
async fn a_call_that_failed_gets_its_debit_refunded_and_its_slot_back() {
    let (debits, store, mut batches) = gateway(&[("sk-a", 10, Some(2))]);
    let (a1, q1) = admit(&debits, "sk-a").await;
    let (a2, q2) = admit(&debits, "sk-a").await;
    commit(&debits, &mut batches, vec![q1.unwrap(), q2.unwrap()]).await;
    let failed = QuotaGuard::new(debits.clone(), verdict(a1).await.unwrap());
    let mut answered = QuotaGuard::new(debits.clone(), verdict(a2).await.unwrap());
    assert_eq!(store.used("sk-a"), 2);
    drop(failed);
    answered.commit();
    drop(answered);
    assert_eq!(debits.detached().drain(Duration::from_secs(5)).await, 0);
    assert_eq!(store.used("sk-a"), 1, "only the failed call was refunded");
    assert_eq!(debits.in_flight("sk-a"), 0, "both requests ended");
}

#[actix_rt::test]
async fn a_concurrency_slot_is_taken_until_its_request_ends() {
    let (debits, _store, mut batches) = gateway(&[("sk-a", 10, Some(1))]);
    let (a1, q1) = admit(&debits, "sk-a").await;
    assert_eq!(
        debits.admit("sk-a", MODEL).await.err(),
        Some(QuotaError::TooManyConcurrent(1))
    );
    assert_eq!(
        debits.precheck("sk-a", MODEL).await,
        Err(QuotaError::TooManyConcurrent(1))
    );
    commit(&debits, &mut batches, vec![q1.unwrap()]).await;
    let mut guard = QuotaGuard::new(debits.clone(), verdict(a1).await.unwrap());
    assert_eq!(
        debits.precheck("sk-a", MODEL).await,
        Err(QuotaError::TooManyConcurrent(1)),
        "a durable debit still holds its slot while its request runs"
    );
    guard.commit();
    drop(guard);
    assert_eq!(debits.precheck("sk-a", MODEL).await, Ok(()));
    let (_, q) = admit(&debits, "sk-a").await;
    assert!(q.is_some());
}

#[actix_rt::test]
async fn a_debit_refused_before_its_batch_gives_everything_back() {
    let (debits, store, _batches) = gateway(&[("sk-a", 10, Some(1))]);
    let (a1, q1) = admit(&debits, "sk-a").await;
    debits.refuse(q1.unwrap());
    assert_eq!(verdict(a1).await, Err(QuotaError::Storage));
    assert_eq!(debits.in_flight("sk-a"), 0);
    assert_eq!(store.used("sk-a"), 0);
    let (_, q) = admit(&debits, "sk-a").await;
    assert!(q.is_some(), "the key is free again");
}
