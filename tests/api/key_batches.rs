//! Group commit of key debits through a real gateway process on each backend: many concurrent debits
//! of one key share batches and still take exactly its quota, and debits of many keys mixed in the
//! same batches each take exactly their own.

use futures_util::future::join_all;

use crate::cluster::{backend, upload_creds};
use crate::fake_google::FakeGoogle;
use crate::process::{gateway_env, Gateway};

async fn batched_debits_are_exact(kind: &str) {
    let backend = backend(kind);
    let google = FakeGoogle::start().await;
    let gw = Gateway::start(&gateway_env(&google.url(), &backend.env)).await;
    upload_creds(&gw, &[("a.json", "rt-a", "pa"), ("b.json", "rt-b", "pb")]).await;

    // One key worth 40, 200 requests at once: exactly 40 are served.
    let key = gw.create_key(40).await.unwrap();
    let statuses = join_all((0..200).map(|_| gw.chat(&key, "gemma-3"))).await;
    let served = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((served, refused), (40, 160), "{kind}: {statuses:?}");
    assert_eq!(gw.key(&key).await.json()["used_quota"], 40, "{kind}");

    // 30 keys worth 3 each, five requests per key interleaved: exactly three per key.
    let mut keys = Vec::new();
    for _ in 0..30 {
        keys.push(gw.create_key(3).await.unwrap());
    }
    let calls = (0..5)
        .flat_map(|_| keys.iter())
        .map(|k| gw.chat(k, "gemma-3"));
    let statuses = join_all(calls).await;
    for (i, key) in keys.iter().enumerate() {
        let mine: Vec<u16> = statuses
            .iter()
            .skip(i)
            .step_by(keys.len())
            .copied()
            .collect();
        let served = mine.iter().filter(|s| **s == 200).count();
        let refused = mine.iter().filter(|s| **s == 429).count();
        assert_eq!((served, refused), (3, 2), "{kind}: key {i}: {mine:?}");
        assert_eq!(gw.key(key).await.json()["used_quota"], 3, "{kind}: key {i}");
    }
    drop(gw);
    google.stop().await;
    backend.clean().await;
}

#[actix_rt::test]
async fn batched_debits_are_exact_on_files() {
    batched_debits_are_exact("files").await;
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn batched_debits_are_exact_on_redis() {
    batched_debits_are_exact("redis").await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn batched_debits_are_exact_on_postgres() {
    batched_debits_are_exact("postgres").await;
}
