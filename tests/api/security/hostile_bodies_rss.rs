//! Issue 28, "Done when": 100 random hostile bodies on each route leave RSS within 20 MB of where it
//! started. The bodies come from the fuzz targets' own generators (tests/support/hostile_bodies.rs),
//! drawn from a fixed seed so every run sends the same ones, through the real binary: the four client
//! routes, the Responses WebSocket (`response.create` frames) and the panel's JSON routes. Every answer
//! must be JSON with a 2xx or 4xx status — never a 5xx, never a dropped connection.

use std::time::Duration;

use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

use crate::fake_google::FakeGoogle;
use crate::harness::PASSWORD;
use crate::process::Gateway;

#[path = "../../support/hostile_bodies.rs"]
mod hostile_bodies;

const BODIES: usize = 100;
const WARM_UP: usize = 20;
const RSS_SLACK_KIB: u64 = 20 * 1024;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// `count` bodies drawn from `strategy`, the same ones on every run.
fn draw<S: Strategy<Value = Value>>(
    strategy: S,
    runner: &mut TestRunner,
    count: usize,
) -> Vec<Value> {
    (0..count)
        .map(|_| strategy.new_tree(runner).unwrap().current())
        .collect()
}

/// Every other body names a real model, so that half gets past the model-name check into the
/// conversion (and, when the rest of it is valid, to the fake Google).
fn half_with_a_real_model(mut bodies: Vec<Value>) -> Vec<Value> {
    for body in bodies.iter_mut().step_by(2) {
        if let Some(fields) = body.as_object_mut() {
            fields.insert("model".into(), json!("gemini-2.5-flash"));
        }
    }
    bodies
}

/// The hostile bodies of every HTTP route: (path, bearer, bodies).
fn http_bodies(
    runner: &mut TestRunner,
    count: usize,
    api_key: &str,
) -> Vec<(String, String, Vec<Value>)> {
    use hostile_bodies::{anthropic_body, chat_body, gemini_body, responses_body, value};
    let mut out = vec![
        (
            "/v1/chat/completions".to_string(),
            api_key.to_string(),
            half_with_a_real_model(draw(chat_body(), runner, count)),
        ),
        (
            "/v1/messages".to_string(),
            api_key.to_string(),
            half_with_a_real_model(draw(anthropic_body(), runner, count)),
        ),
        (
            "/v1/responses".to_string(),
            api_key.to_string(),
            half_with_a_real_model(draw(responses_body(), runner, count)),
        ),
        (
            "/v1beta/models/gemini-2.5-flash:generateContent".to_string(),
            api_key.to_string(),
            draw(gemini_body(), runner, count),
        ),
    ];
    // The panel's JSON routes, with the password: arbitrary JSON and the client dialects' shapes.
    for path in [
        "/auth/keys",
        "/creds/action",
        "/creds/api-keys",
        "/creds/vertex",
        "/usage/update-limits",
        "/auth/callback",
        "/auth/callback-url",
        "/config/save",
    ] {
        let bodies = draw(
            proptest::prop_oneof![value(), chat_body(), responses_body()],
            runner,
            count,
        );
        out.push((path.to_string(), PASSWORD.to_string(), bodies));
    }
    out
}

async fn send_all(gw: &Gateway, routes: &[(String, String, Vec<Value>)]) {
    for (path, bearer, bodies) in routes {
        let mut statuses = std::collections::BTreeMap::new();
        for body in bodies {
            let answer = gw
                .try_send("POST", path, bearer, Some(body))
                .await
                .unwrap_or_else(|| panic!("{path}: no answer to {body}"));
            assert!(
                (200..500).contains(&answer.status),
                "{path}: {} to {body}: {}",
                answer.status,
                answer.text()
            );
            assert!(
                serde_json::from_slice::<Value>(&answer.body).is_ok(),
                "{path}: not JSON ({}) to {body}: {}",
                answer.status,
                answer.text()
            );
            *statuses.entry(answer.status).or_insert(0) += 1;
        }
        eprintln!("{path}: {statuses:?}");
    }
}

/// Each `response.create` frame on one socket is answered by events ending in a terminal one, and
/// the connection stays open throughout.
async fn send_frames(gw: &Gateway, key: &str, bodies: &[Value]) {
    let url = format!("{}/v1/responses", gw.base.replace("http://", "ws://"));
    let (response, mut socket) = awc::Client::new()
        .ws(url)
        .bearer_auth(key)
        .max_frame_size(16 * 1024 * 1024)
        .connect()
        .await
        .expect("the handshake succeeds");
    assert_eq!(response.status(), 101);
    for body in bodies {
        let mut frame = json!({"type": "response.create"});
        if let Some(fields) = body.as_object() {
            for (k, v) in fields {
                frame[k] = v.clone();
            }
        }
        socket
            .send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
        loop {
            let next = tokio::time::timeout(Duration::from_secs(20), socket.next())
                .await
                .unwrap_or_else(|_| panic!("no event for {frame}"))
                .unwrap_or_else(|| panic!("the socket closed after {frame}"))
                .unwrap_or_else(|e| panic!("unreadable frame after {frame}: {e}"));
            let text = match next {
                Frame::Text(text) => text,
                Frame::Close(reason) => panic!("the socket closed after {frame}: {reason:?}"),
                _ => continue,
            };
            let event: Value = serde_json::from_slice(&text)
                .unwrap_or_else(|e| panic!("not JSON ({e}) after {frame}"));
            let kind = event["type"].as_str().unwrap_or_default();
            if let Some(status) = event["status"].as_u64() {
                assert!(status < 500, "{event} after {frame}");
            }
            if matches!(
                kind,
                "response.completed" | "response.failed" | "response.incomplete" | "error"
            ) {
                break;
            }
        }
    }
}

#[actix_rt::test]
async fn hostile_bodies_on_every_route_leave_rss_where_it_was() {
    let google = FakeGoogle::start().await;
    let (_dir, env) = super::one_login_binary_env(&google, &[]);
    let gw = Gateway::start(&env).await;
    let key = gw.create_key(1_000_000).await.expect("a key");
    let mut runner = TestRunner::deterministic();

    // Warm-up: the same kinds of bodies, so pools, caches and histories reach their working size.
    let warm = http_bodies(&mut runner, WARM_UP, &key);
    send_all(&gw, &warm).await;
    send_frames(
        &gw,
        &key,
        &half_with_a_real_model(draw(hostile_bodies::responses_body(), &mut runner, WARM_UP)),
    )
    .await;
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    let start = rss_kib(gw.pid());

    let routes = http_bodies(&mut runner, BODIES, &key);
    send_all(&gw, &routes).await;
    send_frames(
        &gw,
        &key,
        &half_with_a_real_model(draw(hostile_bodies::responses_body(), &mut runner, BODIES)),
    )
    .await;
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    let end = rss_kib(gw.pid());
    eprintln!("RSS after the warm-up {start} KiB, after the bodies {end} KiB");
    assert!(
        end <= start + RSS_SLACK_KIB,
        "RSS grew from {start} KiB to {end} KiB over {} bodies",
        BODIES * (routes.len() + 1)
    );
    // The gateway still serves ordinary traffic.
    assert_eq!(gw.chat(&key, "gemini-2.5-flash").await, 200);
}
