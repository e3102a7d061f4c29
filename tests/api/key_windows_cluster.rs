//! A key's limit per time window through the real binary: exact across three instances sharing Redis
//! or PostgreSQL (the same atomic path as the lifetime quota), and on one instance of a files store.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::cluster::{backend, instances_with_a_and_b, until};
use crate::fake_google::FakeGoogle;
use crate::harness::PASSWORD;
use crate::process::{gateway_env, Gateway};

const MODEL: &str = "gemini-2.5-flash";

fn chat_body() -> Value {
    json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
}

/// 300 requests spread over `instances` (all of them on one for a files store, which one process
/// owns) against a key allowed 100 per `1m`: exactly 100 served, then a refusal that names the
/// window and says when to come back, and service again once that time has passed.
async fn a_minute_limit_is_exact(kind: &str, instances: usize) {
    let backend = backend(kind);
    let google = FakeGoogle::start().await;
    let env = gateway_env(&google.url(), &backend.env);
    let gateways: Vec<Gateway> = instances_with_a_and_b(&env, instances).await;
    let created = gateways[0]
        .send(
            "POST",
            "/auth/keys",
            PASSWORD,
            Some(&json!({"total_quota": 100000, "limits": [{"window": "1m", "requests": 100}]})),
        )
        .await;
    assert_eq!(created.status, 200, "{kind}: {}", created.text());
    let key = created.json()["api_key"].as_str().unwrap().to_string();
    for gw in &gateways {
        until("the key is on every instance", || async {
            gw.key(&key).await.status == 200
        })
        .await;
    }
    let sends = (0..300).map(|i| gateways[i % gateways.len()].chat(&key, MODEL));
    let statuses = join_all(sends).await;
    let served = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(served, 100, "{kind}: {statuses:?}");
    assert_eq!(refused, 200, "{kind}: {statuses:?}");

    let refusal = gateways[gateways.len() - 1]
        .send("POST", "/v1/chat/completions", &key, Some(&chat_body()))
        .await;
    assert_eq!(refusal.status, 429, "{kind}: {}", refusal.text());
    let body = refusal.json();
    assert_eq!(
        body["error"]["code"], "key_window_exhausted",
        "{kind}: {body}"
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("1m"),
        "{kind}: {body}"
    );
    let retry_after: u64 = refusal
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(
        (1..=60).contains(&retry_after),
        "{kind}: Retry-After {retry_after}"
    );
    let windows = gateways[0].key(&key).await.json()["windows"].clone();
    assert_eq!(windows[0]["used"]["requests"], 100, "{kind}: {windows}");
    assert_eq!(windows[0]["limit"]["requests"], 100, "{kind}: {windows}");

    // Once Retry-After has passed, the oldest uses have left the window.
    actix_rt::time::sleep(Duration::from_secs(retry_after + 1)).await;
    assert_eq!(gateways[0].chat(&key, MODEL).await, 200, "{kind}");
}

#[actix_rt::test]
async fn a_minute_limit_is_exact_on_a_files_store() {
    a_minute_limit_is_exact("files", 1).await;
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn a_minute_limit_is_exact_across_instances_on_redis() {
    a_minute_limit_is_exact("redis", 3).await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn a_minute_limit_is_exact_across_instances_on_postgres() {
    a_minute_limit_is_exact("postgres", 3).await;
}

/// A files store keeps the use of the windows in progress across a restart: saved when the gateway
/// stops, and within a few seconds of a charge before a crash (`kill -9`).
#[actix_rt::test]
async fn a_files_store_keeps_window_use_across_a_restart() {
    let backend = backend("files");
    let google = FakeGoogle::start().await;
    let mut env = gateway_env(&google.url(), &backend.env);
    env.insert("SHUTDOWN_READY_DELAY".into(), "0".into());
    let mut gateways: Vec<Gateway> = instances_with_a_and_b(&env, 1).await;
    let gw = &mut gateways[0];
    let created = gw
        .send(
            "POST",
            "/auth/keys",
            PASSWORD,
            Some(&json!({"total_quota": 1000, "limits": [{"window": "day", "requests": 4}]})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let key = created.json()["api_key"].as_str().unwrap().to_string();
    for _ in 0..2 {
        assert_eq!(gw.chat(&key, MODEL).await, 200);
    }

    // A graceful stop saves the counters.
    gw.signal("TERM");
    assert_eq!(gw.exit_code(Duration::from_secs(30)).await, Some(0));
    gw.start_again().await;
    let windows = gw.key(&key).await.json()["windows"].clone();
    assert_eq!(windows[0]["used"]["requests"], 2, "{windows}");
    assert_eq!(gw.chat(&key, MODEL).await, 200);

    // A crash loses at most the last couple of seconds: the third request is saved by then.
    actix_rt::time::sleep(Duration::from_secs(3)).await;
    gw.restart().await;
    assert_eq!(gw.chat(&key, MODEL).await, 200, "the fourth of four");
    let refusal = gw
        .send("POST", "/v1/chat/completions", &key, Some(&chat_body()))
        .await;
    assert_eq!(refusal.status, 429, "{}", refusal.text());
    assert_eq!(refusal.json()["error"]["code"], "key_window_exhausted");
}
