//! The graceful stop of the real binary: on SIGTERM `/readyz` answers 503 at once while the listener
//! keeps serving for `SHUTDOWN_READY_DELAY` (each answer then the connection's last), what is in flight
//! finishes, a stream outliving `SHUTDOWN_TIMEOUT` ends with its dialect's error event, the process
//! exits 0, and a second signal stops it at once. With Redis, three instances restarted one by one
//! under steady load lose no request and cut no stream.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::{json, Value};

use crate::cluster::{backend, until, upload_creds};
use crate::fake_google::{FakeGoogle, Reply};
use crate::harness::PASSWORD;
use crate::process::{gateway_env, Gateway};

fn chat_body(stream: bool) -> Value {
    json!({
        "model": "gemini-2.5-flash",
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    })
}

/// A client with a short keep-alive, so it never reuses a connection the gateway is about to close
/// at actix's 5 s keep-alive.
fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .connector(awc::Connector::new().conn_keep_alive(Duration::from_secs(1)))
        .finish()
}

/// The rest of a streamed body, as text.
async fn read_to_end<S>(mut body: S) -> String
where
    S: Stream<Item = Result<Bytes, awc::error::PayloadError>> + Unpin,
{
    let mut text = Vec::new();
    while let Some(chunk) = body.next().await {
        text.extend_from_slice(&chunk.expect("the stream is not cut"));
    }
    String::from_utf8(text).unwrap()
}

async fn ready_status(gw: &Gateway) -> Option<u16> {
    gw.try_send("GET", "/readyz", PASSWORD, None)
        .await
        .map(|a| a.status)
}

/// One gateway on files with a credential, Google streaming `chunks` events `interval_ms` apart.
async fn one_gateway(
    extra: &[(&str, &str)],
    chunks: usize,
    interval_ms: u64,
) -> (Gateway, FakeGoogle, crate::cluster::Backend) {
    let backend = backend("files");
    let google = FakeGoogle::start().await;
    let words: Vec<String> = (1..=chunks).map(|i| format!("w{i} ")).collect();
    google.set_default_reply(None, Reply::stream_chunks(words).interval_ms(interval_ms));
    let mut env = gateway_env(&google.url(), &backend.env);
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    let gw = Gateway::start(&env).await;
    upload_creds(&gw, &[("a.json", "rt-a", "pa")]).await;
    until("the gateway is ready", || async {
        ready_status(&gw).await == Some(200)
    })
    .await;
    (gw, google, backend)
}

#[actix_rt::test]
async fn sigterm_turns_unready_serves_through_the_delay_finishes_streams_and_exits_zero() {
    let (mut gw, google, backend) = one_gateway(&[("SHUTDOWN_READY_DELAY", "3")], 6, 300).await;
    let http = client();
    let mut stream = http
        .post(format!("{}/v1/chat/completions", gw.base))
        .bearer_auth(PASSWORD)
        .send_json(&chat_body(true))
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    let first = stream.next().await.unwrap().unwrap();
    assert!(!first.is_empty());

    gw.signal("TERM");
    until("/readyz answers 503 once the stop began", || async {
        ready_status(&gw).await == Some(503)
    })
    .await;
    let probe = gw.send("GET", "/readyz", PASSWORD, None).await;
    assert_eq!(probe.json()["reason"], "shutting down");
    // The listener still serves, and says each answer is the connection's last.
    let answer = gw
        .send(
            "POST",
            "/v1/chat/completions",
            PASSWORD,
            Some(&chat_body(false)),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer
            .headers
            .get("connection")
            .and_then(|v| v.to_str().ok()),
        Some("close")
    );
    // The stream open at the signal runs to its end.
    let rest = read_to_end(stream).await;
    assert!(rest.contains("w6"), "{rest}");
    assert!(rest.trim_end().ends_with("data: [DONE]"), "{rest}");
    assert!(!rest.contains("error"), "{rest}");

    assert_eq!(gw.exit_code(Duration::from_secs(60)).await, Some(0));
    assert!(
        gw.try_send("GET", "/healthz", PASSWORD, None)
            .await
            .is_none(),
        "nothing listens after the exit"
    );
    google.stop().await;
    backend.clean().await;
}

#[actix_rt::test]
async fn a_stream_outliving_the_shutdown_timeout_ends_with_an_error_event() {
    let (mut gw, google, backend) = one_gateway(
        &[("SHUTDOWN_READY_DELAY", "0"), ("SHUTDOWN_TIMEOUT", "1")],
        200,
        100,
    )
    .await;
    let mut stream = client()
        .post(format!("{}/v1/chat/completions", gw.base))
        .bearer_auth(PASSWORD)
        .send_json(&chat_body(true))
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    stream.next().await.unwrap().unwrap();
    gw.signal("TERM");
    let rest = read_to_end(stream).await;
    assert!(!rest.contains("w200"), "the stream ran to its end: {rest}");
    let error_line = rest
        .lines()
        .find(|l| l.contains("\"error\""))
        .unwrap_or_else(|| panic!("no error event: {rest}"));
    assert!(error_line.contains("shutting down"), "{error_line}");
    assert_eq!(gw.exit_code(Duration::from_secs(60)).await, Some(0));
    google.stop().await;
    backend.clean().await;
}

#[actix_rt::test]
async fn a_second_signal_stops_at_once() {
    let (mut gw, google, backend) = one_gateway(&[("SHUTDOWN_READY_DELAY", "600")], 3, 10).await;
    gw.signal("TERM");
    until("/readyz answers 503 once the stop began", || async {
        ready_status(&gw).await == Some(503)
    })
    .await;
    gw.signal("INT");
    // Far within the 600 s the first signal alone would have waited.
    assert_eq!(gw.exit_code(Duration::from_secs(30)).await, Some(1));
    google.stop().await;
    backend.clean().await;
}
