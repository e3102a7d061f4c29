//! One view of a cluster on one Redis or PostgreSQL, through real gateway processes: a logout on one
//! instance is refused on every other, five wrong passwords spread over three instances lock the
//! address everywhere, usage counters and token counts are the sum of what every instance served
//! (each request once), and instances restarted one by one with SIGTERM under steady mixed load
//! (streams included) fail no request and cut no stream.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::cluster::{backend, instances_with_a_and_b, until};
use crate::fake_google::{FakeGoogle, Reply};
use crate::harness::PASSWORD;
use crate::process::{gateway_env, Gateway};

async fn three_instances(
    kind: &str,
    extra: &[(&str, &str)],
) -> (Vec<Gateway>, FakeGoogle, crate::cluster::Backend) {
    let backend = backend(kind);
    let google = FakeGoogle::start().await;
    let mut env = gateway_env(&google.url(), &backend.env);
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    let instances = instances_with_a_and_b(&env, 3).await;
    (instances, google, backend)
}

async fn login(gw: &Gateway, password: &str) -> (u16, Value) {
    let answer = gw
        .send(
            "POST",
            "/auth/login",
            "",
            Some(&json!({"password": password})),
        )
        .await;
    let body = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    (answer.status, body)
}

async fn panel_sessions_and_the_limiter_span_the_cluster(kind: &str) {
    let (instances, google, backend) = three_instances(kind, &[]).await;
    let (status, body) = login(&instances[0], PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    for gw in &instances {
        assert_eq!(
            gw.send("GET", "/config/get", &token, None).await.status,
            200
        );
    }
    assert_eq!(
        instances[1]
            .send("POST", "/auth/logout", &token, None)
            .await
            .status,
        200
    );
    for gw in &instances {
        let refused = gw.send("GET", "/config/get", &token, None).await;
        assert_eq!(refused.status, 401, "{kind}: {}", refused.text());
    }

    // Five wrong passwords, spread over the three instances.
    for i in 0..5 {
        let (status, body) = login(&instances[i % 3], "wrong").await;
        assert_eq!(status, 401, "{kind}: try {i}: {body}");
    }
    for gw in &instances {
        let (status, body) = login(gw, PASSWORD).await;
        assert_eq!(
            status, 429,
            "{kind}: the address is locked everywhere: {body}"
        );
    }
    drop(instances);
    google.stop().await;
    backend.clean().await;
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn panel_sessions_and_the_limiter_span_the_cluster_redis() {
    panel_sessions_and_the_limiter_span_the_cluster("redis").await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn panel_sessions_and_the_limiter_span_the_cluster_postgres() {
    panel_sessions_and_the_limiter_span_the_cluster("postgres").await;
}

async fn usage_counts_each_request_once(kind: &str) {
    let (instances, google, backend) = three_instances(kind, &[]).await;
    let sent = 30u64;
    let body =
        json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]});
    for i in 0..sent as usize {
        let answer = instances[i % 3]
            .send("POST", "/v1/chat/completions", PASSWORD, Some(&body))
            .await;
        assert_eq!(answer.status, 200, "{kind}: request {i}: {}", answer.text());
    }
    for gw in &instances {
        until("usage counters reach the sum of every instance", || async {
            let usage = gw
                .send("GET", "/usage/aggregated", PASSWORD, None)
                .await
                .json();
            usage["data"]["total_all_model_calls"] == sent && usage["data"]["success_total"] == sent
        })
        .await;
        until("token counts reach the sum of every instance", || async {
            let tokens = gw
                .send("GET", "/usage/tokens?days=1", PASSWORD, None)
                .await
                .json();
            tokens["days"][0]["models"]["gemini-2.5-flash"]["requests"] == sent
        })
        .await;
    }
    let stats = instances[2]
        .send("GET", "/usage/stats", PASSWORD, None)
        .await
        .json();
    let per_credential: u64 = ["a.json", "b.json"]
        .iter()
        .map(|n| stats["data"][n]["total_calls"].as_u64().unwrap())
        .sum();
    assert_eq!(per_credential, sent, "{kind}: {stats}");
    let status = instances[1]
        .send("GET", "/creds/status", PASSWORD, None)
        .await
        .json();
    let listed: u64 = status["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["usage"]["total_calls"].as_u64().unwrap())
        .sum();
    assert_eq!(listed, sent, "{kind}: {status}");
    drop(instances);
    google.stop().await;
    backend.clean().await;
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn usage_counts_each_request_once_redis() {
    usage_counts_each_request_once("redis").await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn usage_counts_each_request_once_postgres() {
    usage_counts_each_request_once("postgres").await;
}

/// What the load saw.
#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    streams: AtomicUsize,
    failed: AtomicUsize,
    retried: AtomicUsize,
}

/// A client that, like a load balancer, sends only to instances whose `/readyz` last answered 200
/// and tries the next instance when a connection is refused.
struct Balancer {
    bases: Vec<String>,
    ready: Vec<AtomicBool>,
    next: AtomicUsize,
    client: awc::Client,
}

impl Balancer {
    fn new(bases: Vec<String>) -> Self {
        let ready = bases.iter().map(|_| AtomicBool::new(true)).collect();
        Balancer {
            bases,
            ready,
            next: AtomicUsize::new(0),
            // Shorter than actix's 5 s keep-alive, so an idle connection is never reused just as
            // the gateway closes it.
            client: awc::Client::builder()
                .timeout(Duration::from_secs(60))
                .connector(awc::Connector::new().conn_keep_alive(Duration::from_secs(1)))
                .finish(),
        }
    }

    async fn probe(&self) {
        for (i, base) in self.bases.iter().enumerate() {
            let ok = match self.client.get(format!("{base}/readyz")).send().await {
                Ok(resp) => resp.status().as_u16() == 200,
                Err(_) => false,
            };
            self.ready[i].store(ok, Ordering::SeqCst);
        }
    }

    fn pick(&self) -> usize {
        let n = self.bases.len();
        for _ in 0..n {
            let i = self.next.fetch_add(1, Ordering::SeqCst) % n;
            if self.ready[i].load(Ordering::SeqCst) {
                return i;
            }
        }
        self.next.fetch_add(1, Ordering::SeqCst) % n
    }

    /// One request; `Err` when the connection was refused (the caller tries another instance).
    async fn one(&self, i: usize, stream: bool, tally: &Tally) -> Result<(), ()> {
        let body = json!({"model": "gemini-2.5-flash", "stream": stream,
                          "messages": [{"role": "user", "content": "hi"}]});
        let sent = self
            .client
            .post(format!("{}/v1/chat/completions", self.bases[i]))
            .bearer_auth(PASSWORD)
            .send_json(&body)
            .await;
        let mut resp = match sent {
            Ok(resp) => resp,
            Err(awc::error::SendRequestError::Connect(_)) => return Err(()),
            Err(e) => {
                eprintln!("request failed on instance {i}: {e}");
                tally.failed.fetch_add(1, Ordering::SeqCst);
                return Ok(());
            }
        };
        let status = resp.status().as_u16();
        let mut text = Vec::new();
        let mut cut = false;
        while let Some(chunk) = resp.next().await {
            match chunk {
                Ok(bytes) => text.extend_from_slice(&bytes),
                Err(_) => {
                    cut = true;
                    break;
                }
            }
        }
        let text = String::from_utf8_lossy(&text);
        let complete = !stream || (text.contains("three") && text.contains("[DONE]"));
        if status != 200 || cut || !complete || (stream && text.contains("\"error\"")) {
            eprintln!("instance {i}: status {status}, cut {cut}: {text}");
            tally.failed.fetch_add(1, Ordering::SeqCst);
        } else {
            tally.ok.fetch_add(1, Ordering::SeqCst);
            if stream {
                tally.streams.fetch_add(1, Ordering::SeqCst);
            }
        }
        Ok(())
    }

    async fn request(&self, stream: bool, tally: &Tally) {
        for _ in 0..30 {
            let i = self.pick();
            if self.one(i, stream, tally).await.is_ok() {
                return;
            }
            tally.retried.fetch_add(1, Ordering::SeqCst);
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
        tally.failed.fetch_add(1, Ordering::SeqCst);
    }
}

async fn rolling_restart_drops_nothing(kind: &str) {
    let (mut instances, google, backend) = three_instances(
        kind,
        &[("SHUTDOWN_READY_DELAY", "2"), ("SHUTDOWN_TIMEOUT", "30")],
    )
    .await;
    google.set_default_reply(
        None,
        Reply::stream_chunks(["one ", "two ", "three"]).interval_ms(100),
    );
    let balancer = Balancer::new(instances.iter().map(|g| g.base.clone()).collect());
    let tally = Tally::default();
    let done = AtomicBool::new(false);
    let prober = async {
        while !done.load(Ordering::SeqCst) {
            balancer.probe().await;
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let lanes = join_all((0..4).map(|lane| {
        let (balancer, tally, done) = (&balancer, &tally, &done);
        async move {
            let mut n = 0usize;
            while !done.load(Ordering::SeqCst) {
                balancer.request((lane + n).is_multiple_of(2), tally).await;
                n += 1;
            }
        }
    }));
    let restarts = async {
        for (i, instance) in instances.iter_mut().enumerate() {
            until("some load went through first", || async {
                tally.ok.load(Ordering::SeqCst) > 10 * (i + 1)
            })
            .await;
            instance.signal("TERM");
            assert_eq!(
                instance.exit_code(Duration::from_secs(60)).await,
                Some(0),
                "{kind}: instance {i} stopped cleanly"
            );
            instance.start_again().await;
            until("the restarted instance is ready again", || async {
                balancer.ready[i].load(Ordering::SeqCst)
            })
            .await;
        }
        let served = tally.ok.load(Ordering::SeqCst);
        until("load goes on after the last restart", || async {
            tally.ok.load(Ordering::SeqCst) > served + 10
        })
        .await;
        done.store(true, Ordering::SeqCst);
    };
    futures_util::future::join3(prober, lanes, restarts).await;
    let failed = tally.failed.load(Ordering::SeqCst);
    let retried = tally.retried.load(Ordering::SeqCst);
    let ok = tally.ok.load(Ordering::SeqCst);
    let streams = tally.streams.load(Ordering::SeqCst);
    eprintln!(
        "{kind}: {} served ({} streams), {retried} refused connections retried, {failed} failed",
        tally.ok.load(Ordering::SeqCst),
        tally.streams.load(Ordering::SeqCst)
    );
    assert_eq!(
        failed, 0,
        "{kind}: {ok} served, {streams} streams, {failed} failed"
    );
    assert!(streams > 0 && ok > streams, "{kind}: mixed load ran");
    drop(instances);
    google.stop().await;
    backend.clean().await;
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn rolling_restart_under_load_drops_nothing_redis() {
    rolling_restart_drops_nothing("redis").await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn rolling_restart_under_load_drops_nothing_postgres() {
    rolling_restart_drops_nothing("postgres").await;
}
