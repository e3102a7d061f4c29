//! Group commit of key debits through a real gateway process on each backend: many concurrent debits
//! of one key share batches and still take exactly its quota, and debits of many keys mixed in the
//! same batches each take exactly their own. Google is called while a debit is at the store only when
//! the key's balance covers it: one instance never spends a Google call on a request it refuses, and
//! a debit refused after Google answered (another instance spent the key) still refuses the client.

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
    google.clear_requests();
    let statuses = join_all((0..200).map(|_| gw.chat(&key, "gemma-3"))).await;
    let served = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((served, refused), (40, 160), "{kind}: {statuses:?}");
    assert_eq!(gw.key(&key).await.json()["used_quota"], 40, "{kind}");
    // Alone on the key, this instance calls Google only for debits the store accepts.
    assert_eq!(generate_calls(&google), 40, "{kind}: Google calls");

    // Sequential requests of a key worth 3: the fourth and fifth never reach Google.
    let key = gw.create_key(3).await.unwrap();
    google.clear_requests();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(gw.chat(&key, "gemma-3").await);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429], "{kind}");
    assert_eq!(generate_calls(&google), 3, "{kind}: Google calls");

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

fn generate_calls(google: &FakeGoogle) -> usize {
    google.requests_to(":generateContent").len()
}

/// Another instance spends the key while this one's debit is at the store and Google is answering:
/// the store refuses the debit, the client gets the quota error and the answer is dropped.
#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
async fn a_debit_refused_after_google_answered_refuses_the_client(kind: &str) {
    use crate::cluster::{credential_names, until};
    use crate::harness::PASSWORD;
    use serde_json::json;

    let backend = backend(kind);
    let google = FakeGoogle::start().await;
    let env = gateway_env(&google.url(), &backend.env);
    let (first, second) = (Gateway::start(&env).await, Gateway::start(&env).await);
    upload_creds(&first, &[("a.json", "rt-a", "pa")]).await;
    until("the credential reaches the second instance", || async {
        credential_names(&second).await.len() == 1
    })
    .await;

    // Other instances spend a shared key unseen: Google is called ahead of the debit only while
    // the balance exceeds the unanswered debits by 1,000 requests' worth.
    let key = first.create_key(1003).await.unwrap();
    // The first instance sees a balance of 1,002 after its own request...
    assert_eq!(first.chat(&key, "gemma-3").await, 200);
    // ...which the second spends in one request of a model costing 1,002.
    let cost = json!({"model_name": "gemini-2.5-flash", "cost": 1002});
    let set = second
        .send("POST", "/auth/models/costs", PASSWORD, Some(&cost))
        .await;
    assert_eq!(set.status, 200, "{kind}");
    assert_eq!(second.chat(&key, "gemini-2.5-flash").await, 200, "{kind}");
    google.clear_requests();
    // The first still believes the key can pay, calls Google, and is refused by the store.
    assert_eq!(first.chat(&key, "gemma-3").await, 429, "{kind}");
    assert_eq!(
        generate_calls(&google),
        1,
        "{kind}: the call overlapped the debit"
    );
    assert_eq!(first.key(&key).await.json()["used_quota"], 1003, "{kind}");
    // It has now seen the empty balance: the next request waits for its debit and costs no call.
    assert_eq!(first.chat(&key, "gemma-3").await, 429, "{kind}");
    assert_eq!(generate_calls(&google), 1, "{kind}: Google calls");
    drop((first, second));
    google.stop().await;
    backend.clean().await;
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn a_debit_refused_after_google_answered_refuses_the_client_on_redis() {
    a_debit_refused_after_google_answered_refuses_the_client("redis").await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn a_debit_refused_after_google_answered_refuses_the_client_on_postgres() {
    a_debit_refused_after_google_answered_refuses_the_client("postgres").await;
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
