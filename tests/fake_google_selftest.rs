//! Behaviour of the in-process fake Google, driven over HTTP with awc.

#[path = "support/fake_google.rs"]
mod fake_google;

use std::time::{Duration, Instant};

use fake_google::{
    quota_bucket, FakeGoogle, FakeGoogleOptions, LoadCodeAssist, Reply, TokenReply, SEND_TIME_MARK,
};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MODEL: &str = "gemini-2.5-pro";

fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish()
}

async fn refresh(fake: &FakeGoogle, refresh_token: &str) -> (u16, Value) {
    let mut response = client()
        .post(format!("{}/token", fake.url()))
        .send_form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "test-client.apps.googleusercontent.com"),
            ("client_secret", "test-secret"),
        ])
        .await
        .expect("token request");
    let body = response.json::<Value>().await.expect("token body");
    (response.status().as_u16(), body)
}

async fn access_token(fake: &FakeGoogle, refresh_token: &str) -> String {
    let (status, body) = refresh(fake, refresh_token).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"]
        .as_str()
        .expect("access_token field")
        .to_owned()
}

fn envelope(project: &str, prompt: &str) -> Value {
    json!({"model": MODEL, "project": project,
           "request": {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}})
}

async fn post_json(
    fake: &FakeGoogle,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut request = client().post(format!("{}{path}", fake.url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let mut response = request.send_json(body).await.expect("request");
    let status = response.status().as_u16();
    let bytes = response.body().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn get_json(fake: &FakeGoogle, path: &str, token: &str) -> (u16, Value) {
    let mut response = client()
        .get(format!("{}{path}", fake.url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.expect("json body");
    (status, body)
}

async fn stream_body(fake: &FakeGoogle, token: &str, body: &Value) -> String {
    let mut response = client()
        .post(format!(
            "{}/v1internal:streamGenerateContent?alt=sse",
            fake.url()
        ))
        .bearer_auth(token)
        .send_json(body)
        .await
        .expect("stream request");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let bytes = response.body().limit(1 << 20).await.expect("stream body");
    String::from_utf8(bytes.to_vec()).expect("utf-8 stream")
}

/// Minimal SSE reader: events end at a blank line, `data:` lines are joined with `\n`.
fn parse_sse(text: &str) -> Vec<Value> {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .filter(|event| !event.trim().is_empty())
        .map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            serde_json::from_str(&data.join("\n")).expect("event JSON")
        })
        .collect()
}

fn event_text(event: &Value) -> String {
    event["response"]["candidates"][0]["content"]["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .filter(|part| part.get("thought").is_none())
        .filter_map(|part| part["text"].as_str())
        .collect()
}

/// Plain HTTP/1.1 over TCP, read until the server closes: shows whether a body ended cleanly,
/// which awc does not report (it treats a close between chunks as the end of the body).
async fn raw_post(fake: &FakeGoogle, path: &str, body: &Value) -> String {
    let token = access_token(fake, "rt-raw").await;
    let mut socket = tokio::net::TcpStream::connect(fake.addr())
        .await
        .expect("connect");
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        fake.addr(),
        body.len()
    );
    socket.write_all(request.as_bytes()).await.expect("write");
    let mut wire = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => wire.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8(wire).expect("utf-8 response")
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_rt::test]
async fn token_refresh_issues_numbered_tokens_and_counts_them() {
    let fake = FakeGoogle::start().await;
    let (status, first) = refresh(&fake, "rt-a").await;
    assert_eq!(status, 200);
    assert_eq!(first["access_token"], "at-rt-a-1");
    assert_eq!(first["expires_in"], 3600);
    assert_eq!(first["token_type"], "Bearer");
    assert!(first["scope"]
        .as_str()
        .unwrap_or_default()
        .contains("cloud-platform"));
    let (_, second) = refresh(&fake, "rt-a").await;
    assert_eq!(second["access_token"], "at-rt-a-2");
    assert_eq!(fake.token_refreshes("rt-a"), 2);
    assert_eq!(fake.token_refreshes("rt-other"), 0);

    let recorded = fake.requests_to("/token");
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].body["grant_type"], "refresh_token");
    assert_eq!(recorded[0].body["refresh_token"], "rt-a");
    assert_eq!(recorded[0].access_token, None);
    fake.stop().await;
}

#[actix_rt::test]
async fn scripted_invalid_grant_and_failures_are_returned() {
    let fake = FakeGoogle::start().await;
    fake.set_token_reply("rt-revoked", TokenReply::InvalidGrant);
    let (status, body) = refresh(&fake, "rt-revoked").await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    );
    assert_eq!(fake.token_refreshes("rt-revoked"), 1);

    fake.set_token_reply("rt-flaky", TokenReply::Status(500));
    let (status, _) = refresh(&fake, "rt-flaky").await;
    assert_eq!(status, 500);

    fake.set_token_reply("rt-slow", TokenReply::Delay(150));
    let started = Instant::now();
    let (status, body) = refresh(&fake, "rt-slow").await;
    assert_eq!(status, 200);
    assert_eq!(body["access_token"], "at-rt-slow-1");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[actix_rt::test]
async fn authorization_code_exchange_and_userinfo() {
    let fake = FakeGoogle::start().await;
    fake.set_auth_code("code-1", "rt-new");
    fake.set_email("rt-new", "alice@example.org");
    let mut response = client()
        .post(format!("{}/token", fake.url()))
        .send_form(&[
            ("grant_type", "authorization_code"),
            ("code", "code-1"),
            ("client_id", "test-client.apps.googleusercontent.com"),
            ("client_secret", "test-secret"),
        ])
        .await
        .expect("exchange");
    assert_eq!(response.status().as_u16(), 200);
    let tokens = response.json::<Value>().await.expect("json");
    assert_eq!(tokens["refresh_token"], "rt-new");
    let token = tokens["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();

    let (status, info) = get_json(&fake, "/oauth2/v2/userinfo", &token).await;
    assert_eq!(status, 200);
    assert_eq!(info["email"], "alice@example.org");

    let mut bad = client()
        .post(format!("{}/token", fake.url()))
        .send_form(&[
            ("grant_type", "authorization_code"),
            ("code", "nope"),
            ("client_id", "test-client.apps.googleusercontent.com"),
            ("client_secret", "test-secret"),
        ])
        .await
        .expect("exchange");
    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(
        bad.json::<Value>().await.expect("json")["error"],
        "invalid_grant"
    );
}

#[actix_rt::test]
async fn generate_default_reply_names_the_model() {
    let fake = FakeGoogle::start().await;
    let token = access_token(&fake, "rt-1").await;
    let (status, body) = post_json(
        &fake,
        "/v1internal:generateContent",
        Some(&token),
        &envelope("proj-1", "say hello to me"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let candidate = &body["response"]["candidates"][0];
    assert_eq!(candidate["content"]["role"], "model");
    assert_eq!(
        candidate["content"]["parts"][0]["text"],
        format!("Hello from {MODEL}")
    );
    assert_eq!(candidate["finishReason"], "STOP");
    let usage = &body["response"]["usageMetadata"];
    assert_eq!(usage["promptTokenCount"], 4);
    assert_eq!(usage["candidatesTokenCount"], 3);
    assert_eq!(usage["totalTokenCount"], 7);
    assert!(body["traceId"].is_string());

    let recorded = fake.requests_to(":generateContent");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].project.as_deref(), Some("proj-1"));
    assert_eq!(recorded[0].model.as_deref(), Some(MODEL));
    assert_eq!(recorded[0].access_token.as_deref(), Some(token.as_str()));
    assert_eq!(recorded[0].body["request"]["contents"][0]["role"], "user");
    assert!(recorded[0].header("content-type").is_some());
}

#[actix_rt::test]
async fn code_assist_refuses_missing_or_expired_tokens() {
    let fake = FakeGoogle::start().await;
    let body = envelope("p", "hi");
    let (status, error) = post_json(&fake, "/v1internal:generateContent", None, &body).await;
    assert_eq!(status, 401);
    assert_eq!(error["error"]["status"], "UNAUTHENTICATED");
    let (status, _) = post_json(
        &fake,
        "/v1internal:generateContent",
        Some("ya29.foreign"),
        &body,
    )
    .await;
    assert_eq!(status, 401);

    fake.set_token_reply("rt-short", TokenReply::ExpiresIn(0));
    let expired = access_token(&fake, "rt-short").await;
    let (status, _) = post_json(&fake, "/v1internal:generateContent", Some(&expired), &body).await;
    assert_eq!(status, 401);

    // A token of the fake's shape that it never issued is refused, as Google refuses made-up ones.
    let (status, _) = post_json(
        &fake,
        "/v1internal:generateContent",
        Some("at-handmade-1"),
        &body,
    )
    .await;
    assert_eq!(status, 401);
    let issued = access_token(&fake, "rt-handmade").await;
    let (status, _) = post_json(&fake, "/v1internal:generateContent", Some(&issued), &body).await;
    assert_eq!(status, 200);
}

#[actix_rt::test]
async fn token_endpoint_refuses_unknown_clients() {
    let fake = FakeGoogle::start().await;
    let url = fake.url();
    let ask = |client_id: &'static str, client_secret: &'static str| {
        let url = url.clone();
        async move {
            let mut response = client()
                .post(format!("{url}/token"))
                .send_form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "rt-a"),
                    ("client_id", client_id),
                    ("client_secret", client_secret),
                ])
                .await
                .expect("token request");
            let body = response.json::<Value>().await.expect("token body");
            (response.status().as_u16(), body)
        }
    };
    let (status, body) = ask("test-client.apps.googleusercontent.com", "wrong-secret").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    let (status, _) = ask("someone-else.apps.googleusercontent.com", "test-secret").await;
    assert_eq!(status, 401);
    assert_eq!(
        fake.token_refreshes("rt-a"),
        0,
        "refused before any refresh"
    );
    fake.register_client("someone-else.apps.googleusercontent.com", "their-secret");
    let (status, body) = ask("someone-else.apps.googleusercontent.com", "their-secret").await;
    assert_eq!(status, 200, "{body}");
}

#[actix_rt::test]
async fn stream_default_reply_arrives_in_three_events() {
    let fake = FakeGoogle::start().await;
    let token = access_token(&fake, "rt-1").await;
    let events = parse_sse(&stream_body(&fake, &token, &envelope("p", "hi")).await);
    assert_eq!(events.len(), 3);
    let text: String = events.iter().map(event_text).collect();
    assert_eq!(text, format!("Hello from {MODEL}"));
    assert!(events[0]["response"]["candidates"][0]
        .get("finishReason")
        .is_none());
    assert_eq!(
        events[2]["response"]["candidates"][0]["finishReason"],
        "STOP"
    );
    assert!(events[2]["response"]["usageMetadata"]["totalTokenCount"].is_u64());
    assert_eq!(fake.open_streams(), 0);
    assert_eq!(fake.cancelled_streams(), 0);
}

#[actix_rt::test]
async fn stamped_stream_events_carry_their_send_time() {
    let fake = FakeGoogle::start().await;
    let token = access_token(&fake, "rt-1").await;
    let pieces: Vec<String> = (0..3)
        .map(|i| format!("piece {i} at {SEND_TIME_MARK}. "))
        .collect();
    fake.enqueue(
        "p",
        Reply::stream_chunks(pieces)
            .interval_ms(5)
            .stamp_send_time(),
    );
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let events = parse_sse(&stream_body(&fake, &token, &envelope("p", "hi")).await);
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let stamps: Vec<u128> = events
        .iter()
        .map(|event| {
            let text = event_text(event);
            let digits = text.split(" at ").nth(1).unwrap().trim_end_matches(". ");
            assert_eq!(digits.len(), SEND_TIME_MARK.len(), "{text}");
            digits.parse().unwrap()
        })
        .collect();
    assert_eq!(stamps.len(), 3);
    assert!(
        stamps.iter().all(|s| (before..=after).contains(s)),
        "{stamps:?}"
    );
    // The pause between events shows in the stamps: each event was stamped when it was sent.
    assert!(stamps[1] - stamps[0] >= 4_000_000, "{stamps:?}");
    assert!(stamps[2] - stamps[1] >= 4_000_000, "{stamps:?}");
}

#[actix_rt::test]
async fn unstamped_and_non_stream_replies_keep_the_mark() {
    let fake = FakeGoogle::start().await;
    let token = access_token(&fake, "rt-1").await;
    fake.enqueue("p", Reply::text(format!("at {SEND_TIME_MARK}")));
    let events = parse_sse(&stream_body(&fake, &token, &envelope("p", "hi")).await);
    assert_eq!(event_text(&events[0]), format!("at {SEND_TIME_MARK}"));
    fake.enqueue(
        "p",
        Reply::text(format!("at {SEND_TIME_MARK}")).stamp_send_time(),
    );
    let (status, body) = post_json(
        &fake,
        "/v1internal:generateContent",
        Some(&token),
        &envelope("p", "hi"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(event_text(&body), format!("at {SEND_TIME_MARK}"));
}

#[actix_rt::test]
async fn scripted_stream_chunks_thought_and_function_call_parse() {
    let fake = FakeGoogle::start().await;
    let token = access_token(&fake, "rt-1").await;
    fake.enqueue(
        "p",
        Reply::stream_chunks(["Hel", "lo ", "world"])
            .with_thought("thinking it over")
            .with_function_call("get_weather", json!({"city": "Paris"}), Some("sig-1"))
            .finish_reason("MAX_TOKENS")
            .interval_ms(10),
    );
    let started = Instant::now();
    let events = parse_sse(&stream_body(&fake, &token, &envelope("p", "hi")).await);
    assert!(started.elapsed() >= Duration::from_millis(40));
    assert_eq!(events.len(), 5);
    let thought = &events[0]["response"]["candidates"][0]["content"]["parts"][0];
    assert_eq!(thought["thought"], true);
    assert_eq!(thought["text"], "thinking it over");
    let text: String = events.iter().map(event_text).collect();
    assert_eq!(text, "Hello world");
    let last = &events[4]["response"];
    let call = &last["candidates"][0]["content"]["parts"][0];
    assert_eq!(call["functionCall"]["name"], "get_weather");
    assert_eq!(call["functionCall"]["args"]["city"], "Paris");
    assert_eq!(call["thoughtSignature"], "sig-1");
    assert_eq!(last["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(last["usageMetadata"]["thoughtsTokenCount"], 3);
    assert_eq!(fake.pending_replies("p"), 0);
}

#[actix_rt::test]
async fn scripted_429_is_returned_once_and_only_for_its_project() {
    let fake = FakeGoogle::start().await;
    let token = access_token(&fake, "rt-1").await;
    fake.enqueue("busy", Reply::quota_exhausted_until("2030-01-01T00:00:00Z"));
    let path = "/v1internal:generateContent";

    let (status, _) = post_json(&fake, path, Some(&token), &envelope("calm", "hi")).await;
    assert_eq!(status, 200);
    let (status, body) = post_json(&fake, path, Some(&token), &envelope("busy", "hi")).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    let info = body["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .find(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
        .expect("ErrorInfo detail");
    assert_eq!(
        info["metadata"]["quotaResetTimeStamp"],
        "2030-01-01T00:00:00Z"
    );
    let (status, _) = post_json(&fake, path, Some(&token), &envelope("busy", "hi")).await;
    assert_eq!(status, 200);

    fake.set_default_reply(Some("down"), Reply::unavailable());
    for _ in 0..2 {
        let (status, body) = post_json(&fake, path, Some(&token), &envelope("down", "hi")).await;
        assert_eq!(status, 503);
        assert_eq!(body["error"]["code"], 503);
    }
    fake.set_default_reply(None, Reply::retry_delay("47.5s"));
    let (status, body) = post_json(&fake, path, Some(&token), &envelope("other", "hi")).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["details"][0]["retryDelay"], "47.5s");
}

#[actix_rt::test]
async fn cut_stream_ends_without_a_clean_close() {
    let fake = FakeGoogle::start().await;
    fake.enqueue("p", Reply::text("abcdef").chunks(3).cut_after(2));
    let wire = raw_post(
        &fake,
        "/v1internal:streamGenerateContent?alt=sse",
        &envelope("p", "hi"),
    )
    .await;
    assert!(wire.starts_with("HTTP/1.1 200"), "{wire}");
    assert!(wire
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked"));
    assert!(
        !wire.ends_with("0\r\n\r\n"),
        "no terminating chunk: {wire:?}"
    );
    assert_eq!(wire.matches("data: ").count(), 2);
    assert!(wire.contains(r#"{"text":"ab"}"#) && wire.contains(r#"{"text":"cd"}"#));
    assert!(!wire.contains("finishReason"));
    wait_until("stream close", || fake.open_streams() == 0).await;
    assert_eq!(fake.cancelled_streams(), 0);
}

#[actix_rt::test]
async fn client_disconnect_is_counted_as_cancelled() {
    let fake = FakeGoogle::start().await;
    let token = access_token(&fake, "rt-1").await;
    let pieces: Vec<String> = (0..200).map(|i| format!("piece {i} ")).collect();
    fake.enqueue("p", Reply::stream_chunks(pieces).interval_ms(20));
    let mut response = client()
        .post(format!(
            "{}/v1internal:streamGenerateContent?alt=sse",
            fake.url()
        ))
        .bearer_auth(&token)
        .send_json(&envelope("p", "hi"))
        .await
        .expect("stream request");
    let first = response
        .next()
        .await
        .expect("a chunk")
        .expect("chunk bytes");
    assert!(first.starts_with(b"data: "));
    assert_eq!(fake.open_streams(), 1);
    drop(response);
    wait_until("cancelled stream", || fake.cancelled_streams() == 1).await;
    assert_eq!(fake.open_streams(), 0);
}

#[actix_rt::test]
async fn raw_events_are_sent_verbatim() {
    let fake = FakeGoogle::start().await;
    let token = access_token(&fake, "rt-1").await;
    let crlf_event = "data: {\"response\":\r\ndata: {\"candidates\":[]}}\r\n\r\n";
    fake.enqueue(
        "p",
        Reply::raw_events(vec![
            json!({"candidates": [{"content": {"parts": [{"text": "x"}]}}]}).into(),
            fake_google::RawEvent::from(crlf_event),
        ]),
    );
    let body = stream_body(&fake, &token, &envelope("p", "hi")).await;
    assert!(body.ends_with(crlf_event), "{body:?}");
    let events = parse_sse(&body);
    assert_eq!(events.len(), 2);
    assert_eq!(event_text(&events[0]), "x");
    assert_eq!(events[1]["response"]["candidates"], json!([]));
}

#[actix_rt::test]
async fn delayed_and_cut_generate_replies() {
    let fake = FakeGoogle::start().await;
    let token = access_token(&fake, "rt-1").await;
    fake.enqueue("p", Reply::text("late").delay_ms(200));
    let started = Instant::now();
    let path = "/v1internal:generateContent";
    let (status, body) = post_json(&fake, path, Some(&token), &envelope("p", "hi")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["response"]["candidates"][0]["content"]["parts"][0]["text"],
        "late"
    );
    assert!(started.elapsed() >= Duration::from_millis(200));

    fake.enqueue("p", Reply::text("truncated answer").cut_after(0));
    let wire = raw_post(&fake, path, &envelope("p", "hi")).await;
    assert!(wire.starts_with("HTTP/1.1 200"), "{wire}");
    assert!(wire.contains(r#"{"response":"#), "{wire}");
    assert!(!wire.contains("traceId"), "only half of the body: {wire}");
    assert!(!wire.ends_with("0\r\n\r\n"));
}

#[actix_rt::test]
async fn count_tokens_counts_words() {
    let fake = FakeGoogle::start().await;
    let token = access_token(&fake, "rt-1").await;
    let body = json!({"request": {"model": format!("models/{MODEL}"), "contents": [
        {"role": "user", "parts": [{"text": "one two three"}]},
        {"role": "model", "parts": [{"text": "four"}]}]}});
    let (status, reply) = post_json(&fake, "/v1internal:countTokens", Some(&token), &body).await;
    assert_eq!(status, 200);
    assert_eq!(reply, json!({"totalTokens": 4}));
}

#[actix_rt::test]
async fn onboarding_operation_finishes_after_scripted_polls() {
    let fake = FakeGoogle::start().await;
    let token = access_token(&fake, "rt-1").await;
    fake.set_load_code_assist(LoadCodeAssist::NeedsOnboarding {
        project: "proj-new".to_owned(),
        polls_until_done: 2,
    });
    let metadata = json!({"metadata": {"ideType": "IDE_UNSPECIFIED", "pluginType": "GEMINI"}});
    let (status, load) =
        post_json(&fake, "/v1internal:loadCodeAssist", Some(&token), &metadata).await;
    assert_eq!(status, 200);
    assert!(load.get("currentTier").is_none());
    assert_eq!(load["allowedTiers"][0]["id"], "free-tier");
    assert_eq!(load["allowedTiers"][0]["isDefault"], true);

    let onboard = json!({"tierId": "free-tier", "cloudaicompanionProject": null});
    let (status, operation) =
        post_json(&fake, "/v1internal:onboardUser", Some(&token), &onboard).await;
    assert_eq!(status, 200);
    assert_eq!(operation["done"], false);
    let name = operation["name"]
        .as_str()
        .expect("operation name")
        .to_owned();
    assert!(name.starts_with("operations/"));

    let (_, first_poll) = get_json(&fake, &format!("/v1internal/{name}"), &token).await;
    assert_eq!(first_poll["done"], false);
    let (_, second_poll) = get_json(&fake, &format!("/v1internal/{name}"), &token).await;
    assert_eq!(second_poll["done"], true);
    assert_eq!(
        second_poll["response"]["cloudaicompanionProject"]["id"],
        "proj-new"
    );

    let (_, load) = post_json(&fake, "/v1internal:loadCodeAssist", Some(&token), &metadata).await;
    assert_eq!(load["currentTier"]["id"], "free-tier");
    assert_eq!(load["cloudaicompanionProject"], "proj-new");
}

#[actix_rt::test]
async fn resource_manager_and_service_usage() {
    let fake = FakeGoogle::start().await;
    let token = access_token(&fake, "rt-1").await;
    let (_, empty) = get_json(&fake, "/v1/projects", &token).await;
    assert_eq!(empty, json!({}));

    fake.set_projects(vec![
        ("alpha-1".to_owned(), "Alpha".to_owned()),
        ("my-default".to_owned(), "Default".to_owned()),
    ]);
    let (status, listed) = get_json(&fake, "/v1/projects", &token).await;
    assert_eq!(status, 200);
    let projects = listed["projects"].as_array().expect("projects");
    assert_eq!(projects.len(), 2);
    assert_eq!(projects[1]["projectId"], "my-default");
    assert_eq!(projects[1]["displayName"], "Default");
    assert_eq!(projects[1]["lifecycleState"], "ACTIVE");
    assert!(projects[0]["projectNumber"].is_string());

    let service = "/v1/projects/alpha-1/services/cloudaicompanion.googleapis.com";
    let (_, before) = get_json(&fake, service, &token).await;
    assert_eq!(before["state"], "DISABLED");
    let (status, enabled) = post_json(
        &fake,
        &format!("{service}:enable"),
        Some(&token),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(enabled["done"], true);
    let (_, after) = get_json(&fake, service, &token).await;
    assert_eq!(after["state"], "ENABLED");
    assert!(fake.service_enabled("alpha-1", "cloudaicompanion.googleapis.com"));
    assert_eq!(
        fake.requests_to(":enable")[0].project.as_deref(),
        Some("alpha-1")
    );

    fake.clear_requests();
    assert!(fake.requests().is_empty());
}

// ---- quota, credits, model lists and refusals ------------------------------------------------

async fn start_controlled() -> FakeGoogle {
    FakeGoogle::start_with(FakeGoogleOptions {
        control: true,
        ..FakeGoogleOptions::default()
    })
    .await
    .expect("fake Google with its control routes")
}

async fn control(fake: &FakeGoogle, route: &str, body: &Value) -> (u16, Value) {
    post_json(fake, &format!("/__fake/{route}"), None, body).await
}

async fn post_with_key(fake: &FakeGoogle, path: &str, key: &str, body: &Value) -> (u16, Value) {
    let mut response = client()
        .post(format!("{}{path}", fake.url()))
        .insert_header(("x-goog-api-key", key))
        .send_json(body)
        .await
        .expect("request");
    let status = response.status().as_u16();
    let bytes = response.body().limit(1 << 20).await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// How a model-list call authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Nothing,
    Bearer(&'a str),
    Key(&'a str),
}

async fn get_listing(fake: &FakeGoogle, path: &str, auth: Auth<'_>) -> (u16, Value) {
    let mut request = client().get(format!("{}{path}", fake.url()));
    match auth {
        Auth::Nothing => {}
        Auth::Bearer(token) => request = request.bearer_auth(token),
        Auth::Key(key) => request = request.insert_header(("x-goog-api-key", key)),
    }
    let mut response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let body = response
        .json::<Value>()
        .limit(1 << 20)
        .await
        .expect("json body");
    (status, body)
}

/// Follows `nextPageToken` to the end: the size of each page and every listed `name`.
async fn every_page(
    fake: &FakeGoogle,
    path: &str,
    field: &str,
    page_size: Option<usize>,
    auth: Auth<'_>,
) -> (Vec<usize>, Vec<String>) {
    let mut sizes = Vec::new();
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut query: Vec<String> = page_size
            .map(|n| format!("pageSize={n}"))
            .into_iter()
            .collect();
        if let Some(token) = &token {
            query.push(format!("pageToken={token}"));
        }
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = format!("{path}{separator}{}", query.join("&"));
        let (status, body) = get_listing(fake, &url, auth).await;
        assert_eq!(status, 200, "{body}");
        let listed = body[field].as_array().expect("listed models");
        sizes.push(listed.len());
        names.extend(
            listed
                .iter()
                .map(|m| m["name"].as_str().expect("name").to_owned()),
        );
        match body.get("nextPageToken").and_then(Value::as_str) {
            Some(next) => token = Some(next.to_owned()),
            None => return (sizes, names),
        }
        assert!(sizes.len() < 10, "paging never ends: {sizes:?}");
    }
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/google_errors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture JSON")
}

fn gemini_api_model(id: &str) -> Value {
    json!({"name": format!("models/{id}"), "displayName": id, "inputTokenLimit": 1_048_576,
           "outputTokenLimit": 65_536,
           "supportedGenerationMethods": ["generateContent", "countTokens"], "thinking": true})
}

fn vertex_model(id: &str) -> Value {
    json!({"name": format!("publishers/google/models/{id}"), "versionId": "001",
           "launchStage": "GA"})
}

const QUOTA: &str = "/v1internal:retrieveUserQuota";

#[actix_rt::test]
async fn retrieve_user_quota_serves_scripted_buckets_and_failures() {
    let fake = start_controlled().await;
    let token = access_token(&fake, "rt-1").await;
    fake.set_quota_buckets(
        "p1",
        vec![quota_bucket(
            MODEL,
            "REQUESTS",
            120,
            0.4,
            "2026-12-08T07:00:00Z",
        )],
    );
    let (status, body) = post_json(&fake, QUOTA, Some(&token), &json!({"project": "p1"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"buckets": [{"modelId": MODEL, "tokenType": "REQUESTS", "remainingAmount": "120",
                            "remainingFraction": 0.4, "resetTime": "2026-12-08T07:00:00Z"}]})
    );
    assert_eq!(
        fake.requests_to("retrieveUserQuota")[0].project.as_deref(),
        Some("p1")
    );
    let (status, body) = post_json(&fake, QUOTA, Some(&token), &json!({"project": "p2"})).await;
    assert_eq!((status, body), (200, json!({"buckets": []})));

    fake.set_quota_failure("p1", Some(503));
    let (status, body) = post_json(&fake, QUOTA, Some(&token), &json!({"project": "p1"})).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["code"], 503);
    assert_eq!(body["error"]["status"], "UNAVAILABLE");
    assert!(body["error"]["message"].is_string());
    fake.set_quota_failure("p1", None);
    let (status, body) = post_json(&fake, QUOTA, Some(&token), &json!({"project": "p1"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["buckets"][0]["remainingAmount"], "120");

    // As strict as Google: a token it issued, and a project.
    let (status, _) = post_json(&fake, QUOTA, None, &json!({"project": "p1"})).await;
    assert_eq!(status, 401);
    let (status, body) = post_json(&fake, QUOTA, Some(&token), &json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");

    // The same through the control API.
    let bucket = json!({"modelId": "gemini-2.5-flash", "tokenType": "REQUESTS",
                        "remainingAmount": "0", "remainingFraction": 0.0,
                        "resetTime": "2026-12-08T07:00:00Z"});
    let (status, _) = control(
        &fake,
        "quota",
        &json!({"project": "p2", "buckets": [bucket]}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = post_json(&fake, QUOTA, Some(&token), &json!({"project": "p2"})).await;
    assert_eq!(body["buckets"], json!([bucket]));
    let (status, _) = control(
        &fake,
        "quota",
        &json!({"project": "p2", "fail_status": 500}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post_json(&fake, QUOTA, Some(&token), &json!({"project": "p2"})).await;
    assert_eq!(
        (status, &body["error"]["status"]),
        (500, &json!("INTERNAL"))
    );
    control(
        &fake,
        "quota",
        &json!({"project": "p2", "fail_status": null}),
    )
    .await;
    let (status, _) = post_json(&fake, QUOTA, Some(&token), &json!({"project": "p2"})).await;
    assert_eq!(status, 200);
    for bad in [
        json!({"project": "p2"}),
        json!({"project": "p2", "fail_status": 200}),
        json!({"project": "p2", "buckets": [1]}),
    ] {
        let (status, body) = control(&fake, "quota", &bad).await;
        assert_eq!(status, 400, "{bad} → {body}");
        assert!(body["error"].is_string());
    }
}

fn with_credits(mut body: Value) -> Value {
    body["enabled_credit_types"] = json!(["GOOGLE_ONE_AI"]);
    body
}

async fn generate_with_credits(fake: &FakeGoogle, token: &str, project: &str) -> (u16, Value) {
    let body = with_credits(envelope(project, "hi"));
    post_json(fake, "/v1internal:generateContent", Some(token), &body).await
}

fn credits(amount: &str) -> Value {
    json!([{"creditType": "GOOGLE_ONE_AI", "creditAmount": amount}])
}

#[actix_rt::test]
async fn credits_are_reported_spent_on_quota_429s_and_run_out() {
    let fake = start_controlled().await;
    let token = access_token(&fake, "rt-1").await;
    let load = "/v1internal:loadCodeAssist";
    let generate = "/v1internal:generateContent";
    fake.set_credits("p1", 2);

    // loadCodeAssist reports the credits of the project the body names, besides the usual tiers.
    let named = json!({"cloudaicompanionProject": "p1",
                       "metadata": {"pluginType": "GEMINI", "duetProject": "p1"}});
    let (status, body) = post_json(&fake, load, Some(&token), &named).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["currentTier"]["id"], "free-tier");
    assert_eq!(body["cloudaicompanionProject"], "fake-project");
    assert_eq!(body["paidTier"]["id"], "standard-tier");
    assert!(body["paidTier"]["name"].is_string());
    assert_eq!(body["paidTier"]["availableCredits"], credits("2"));
    // A body naming no project gets the onboarded project's credits; others have no paid tier.
    let (_, body) = post_json(&fake, load, Some(&token), &json!({"metadata": {}})).await;
    assert!(body.get("paidTier").is_none(), "{body}");
    fake.set_load_code_assist(LoadCodeAssist::AlreadyOnboarded {
        project: "p1".to_owned(),
    });
    let (_, body) = post_json(&fake, load, Some(&token), &json!({"metadata": {}})).await;
    assert_eq!(body["paidTier"]["availableCredits"], credits("2"));

    // The project's free quota is out: only calls that may spend credits get through.
    fake.set_default_reply(Some("p1"), Reply::resource_exhausted());
    let (status, body) = post_json(&fake, generate, Some(&token), &envelope("p1", "hi")).await;
    assert_eq!(status, 429);
    assert_eq!(body, fixture("429_plain.json"));
    assert_eq!(
        fake.credits("p1"),
        Some(2),
        "no credits enabled, none spent"
    );

    let (status, body) = generate_with_credits(&fake, &token, "p1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(event_text(&body), format!("Hello from {MODEL}"));
    assert_eq!(body["consumedCredits"], credits("1"));
    assert_eq!(body["remainingCredits"], credits("1"));
    assert_eq!(fake.credits("p1"), Some(1));

    let events = parse_sse(&stream_body(&fake, &token, &with_credits(envelope("p1", "hi"))).await);
    assert_eq!(events.len(), 3);
    let (last, earlier) = events.split_last().expect("events");
    assert_eq!(last["consumedCredits"], credits("1"));
    assert_eq!(last["remainingCredits"], credits("0"));
    assert!(earlier.iter().all(|e| e.get("remainingCredits").is_none()));
    assert_eq!(fake.credits("p1"), Some(0));

    let (status, body) = generate_with_credits(&fake, &token, "p1").await;
    assert_eq!(status, 429);
    assert_eq!(body, fixture("429_no_credits.json"));

    // A call that was going to be answered anyway also costs a credit while there are some.
    let (status, _) = control(&fake, "credits", &json!({"project": "p2", "amount": 1})).await;
    assert_eq!(status, 200);
    assert_eq!(fake.credits("p2"), Some(1));
    let (status, body) = generate_with_credits(&fake, &token, "p2").await;
    assert_eq!(status, 200);
    assert_eq!(body["remainingCredits"], credits("0"));
    let (status, body) = generate_with_credits(&fake, &token, "p2").await;
    assert_eq!(status, 200, "free quota left, no credits needed");
    assert!(body.get("consumedCredits").is_none());
    let (status, _) = control(&fake, "credits", &json!({"project": "p2", "amount": -1})).await;
    assert_eq!(status, 400);
}

#[actix_rt::test]
async fn refused_pattern_answers_a_plain_429_on_every_api_before_scripts() {
    let fake = start_controlled().await;
    let token = access_token(&fake, "rt-1").await;
    fake.add_api_key("key-1");
    fake.enqueue("p1", Reply::text("scripted"));
    fake.enqueue("key-1", Reply::text("scripted for the key"));
    fake.refuse_pattern(Some("forbidden-word"));
    let plain_429 = fixture("429_plain.json");

    let refused = envelope("p1", "say the forbidden-word please");
    for path in [
        "/v1internal:generateContent",
        "/v1internal:streamGenerateContent?alt=sse",
        "/v1internal:countTokens",
    ] {
        let (status, body) = post_json(&fake, path, Some(&token), &refused).await;
        assert_eq!((status, &body), (429, &plain_429), "{path}");
    }
    let bare = json!({"contents": [{"role": "user", "parts": [{"text": "the forbidden-word"}]}]});
    for path in [
        format!("/v1beta/models/{MODEL}:generateContent"),
        format!("/v1beta/models/{MODEL}:countTokens"),
        format!("/v1/publishers/google/models/{MODEL}:streamGenerateContent?alt=sse"),
    ] {
        let (status, body) = post_with_key(&fake, &path, "key-1", &bare).await;
        assert_eq!((status, &body), (429, &plain_429), "{path}");
    }
    assert_eq!(fake.pending_replies("p1"), 1, "refused before the queue");
    assert_eq!(fake.pending_replies("key-1"), 1);

    let (status, body) = post_json(
        &fake,
        "/v1internal:generateContent",
        Some(&token),
        &envelope("p1", "an innocent prompt"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(event_text(&body), "scripted");

    let (status, _) = control(&fake, "refuse-pattern", &json!({"pattern": null})).await;
    assert_eq!(status, 200);
    let path = format!("/v1beta/models/{MODEL}:generateContent");
    let (status, body) = post_with_key(&fake, &path, "key-1", &bare).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = control(&fake, "refuse-pattern", &json!({"pattern": "innocent"})).await;
    assert_eq!(status, 200);
    let (status, _) = post_json(
        &fake,
        "/v1internal:generateContent",
        Some(&token),
        &envelope("p1", "an innocent prompt"),
    )
    .await;
    assert_eq!(status, 429);
}

#[actix_rt::test]
async fn gemini_api_model_list_pages_per_key() {
    let fake = start_controlled().await;
    fake.add_api_key("key-1");
    fake.add_api_key("key-2");
    let ids: Vec<String> = (1..=5).map(|i| format!("gemini-test-{i}")).collect();
    fake.set_api_key_models("key-1", ids.iter().map(|id| gemini_api_model(id)).collect());

    let (sizes, names) = every_page(
        &fake,
        "/v1beta/models",
        "models",
        Some(2),
        Auth::Key("key-1"),
    )
    .await;
    assert_eq!(sizes, [2, 2, 1]);
    let expected: Vec<String> = ids.iter().map(|id| format!("models/{id}")).collect();
    assert_eq!(names, expected);
    let (_, first) = get_listing(&fake, "/v1beta/models?pageSize=2", Auth::Key("key-1")).await;
    assert_eq!(first["models"][0], gemini_api_model("gemini-test-1"));

    // 50 a page unless asked; the key may come as `?key=`; a control script replaces the list.
    let many: Vec<Value> = (0..60)
        .map(|i| gemini_api_model(&format!("gemini-many-{i}")))
        .collect();
    let (status, _) = control(
        &fake,
        "models",
        &json!({"api_key": "key-2", "models": many}),
    )
    .await;
    assert_eq!(status, 200);
    let (sizes, _) = every_page(
        &fake,
        "/v1beta/models?key=key-2",
        "models",
        None,
        Auth::Nothing,
    )
    .await;
    assert_eq!(sizes, [50, 10]);

    fake.add_api_key("key-3");
    let (status, body) = get_listing(&fake, "/v1beta/models", Auth::Key("key-3")).await;
    assert_eq!((status, body), (200, json!({"models": []})));
    let (status, body) = get_listing(&fake, "/v1beta/models", Auth::Key("key-unknown")).await;
    assert_eq!((status, body), (400, fake_google::api_key_invalid()));
    let (status, _) = get_listing(&fake, "/v1beta/models", Auth::Nothing).await;
    assert_eq!(status, 403);
    let (status, body) = get_listing(
        &fake,
        "/v1beta/models?pageToken=garbage",
        Auth::Key("key-1"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");

    // The list does not shadow the model methods below it.
    let path = format!("/v1beta/models/{MODEL}:generateContent");
    let prompt = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let (status, body) = post_with_key(&fake, &path, "key-1", &prompt).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["candidates"][0]["content"]["parts"][0]["text"],
        format!("Hello from {MODEL}")
    );
    let recorded = fake.requests_to("/v1beta/models");
    assert!(recorded
        .iter()
        .any(|r| r.method == "GET" && r.api_key.as_deref() == Some("key-2")));
}

#[actix_rt::test]
async fn vertex_publisher_model_list_pages_for_tokens_and_express_keys() {
    let fake = start_controlled().await;
    let path = "/v1beta1/publishers/google/models";
    let token = access_token(&fake, "rt-1").await;
    fake.add_api_key("express-1");
    let (status, body) = get_listing(&fake, path, Auth::Bearer(&token)).await;
    assert_eq!((status, body), (200, json!({"publisherModels": []})));

    fake.set_vertex_models(vec![
        vertex_model("gemini-2.5-pro"),
        vertex_model("gemini-2.5-flash"),
        vertex_model("gemini-3-pro"),
    ]);
    let (sizes, names) = every_page(
        &fake,
        path,
        "publisherModels",
        Some(2),
        Auth::Bearer(&token),
    )
    .await;
    assert_eq!(sizes, [2, 1]);
    assert_eq!(names[2], "publishers/google/models/gemini-3-pro");
    let (sizes, _) = every_page(
        &fake,
        path,
        "publisherModels",
        Some(2),
        Auth::Key("express-1"),
    )
    .await;
    assert_eq!(sizes, [2, 1]);
    let (_, first) = get_listing(&fake, path, Auth::Key("express-1")).await;
    assert_eq!(first["publisherModels"][0], vertex_model("gemini-2.5-pro"));
    assert!(first.get("nextPageToken").is_none());

    let (status, _) = get_listing(&fake, path, Auth::Nothing).await;
    assert_eq!(status, 401);
    let (status, _) = get_listing(&fake, path, Auth::Bearer("ya29.made-up")).await;
    assert_eq!(status, 401);
    let (status, body) = get_listing(&fake, path, Auth::Key("express-unknown")).await;
    assert_eq!(
        (status, &body["error"]["details"][0]["reason"]),
        (400, &json!("API_KEY_INVALID"))
    );

    let (status, _) = control(
        &fake,
        "models",
        &json!({"vertex": true, "models": [vertex_model("only")]}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = get_listing(&fake, path, Auth::Bearer(&token)).await;
    assert_eq!(body, json!({"publisherModels": [vertex_model("only")]}));
    let both = json!({"vertex": true, "api_key": "express-1", "models": []});
    let (status, _) = control(&fake, "models", &both).await;
    assert_eq!(status, 400);
    let (status, _) = control(&fake, "models", &json!({"models": []})).await;
    assert_eq!(status, 400);
}

fn with_thinking_level(model: &str, level: &str) -> Value {
    json!({"model": model, "project": "p1",
           "request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                       "generationConfig": {"thinkingConfig": {"thinkingLevel": level}}}})
}

#[actix_rt::test]
async fn refused_thinking_levels_answer_400_naming_the_supported_ones() {
    let fake = start_controlled().await;
    let token = access_token(&fake, "rt-1").await;
    let generate = "/v1internal:generateContent";
    fake.refuse_thinking_level("gemini-9-flash", "minimal");
    fake.enqueue("p1", Reply::text("scripted"));

    for level in ["MINIMAL", "minimal"] {
        let body = with_thinking_level("gemini-9-flash", level);
        let (status, answer) = post_json(&fake, generate, Some(&token), &body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(
            answer,
            json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
                "message": "Thinking level MINIMAL is not supported for this model. Supported thinking levels are: LOW, MEDIUM, HIGH."}})
        );
    }
    assert_eq!(fake.pending_replies("p1"), 1, "refused before the queue");
    let (status, _) = post_json(
        &fake,
        generate,
        Some(&token),
        &with_thinking_level("gemini-9-pro", "MINIMAL"),
    )
    .await;
    assert_eq!(status, 200, "other models keep every level");
    let (status, _) = post_json(
        &fake,
        generate,
        Some(&token),
        &with_thinking_level("gemini-9-flash", "LOW"),
    )
    .await;
    assert_eq!(status, 200);

    let (status, body) = control(
        &fake,
        "thinking-refusals",
        &json!({"model": "gemini-9-flash", "level": "Low"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"refused": ["LOW", "MINIMAL"]}));
    let (status, answer) = post_json(
        &fake,
        "/v1internal:streamGenerateContent?alt=sse",
        Some(&token),
        &with_thinking_level("gemini-9-flash", "LOW"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"]["message"],
        "Thinking level LOW is not supported for this model. Supported thinking levels are: MEDIUM, HIGH."
    );

    // The bare APIs take the model from the path.
    fake.add_api_key("key-1");
    let bare = with_thinking_level("ignored", "MINIMAL")["request"].clone();
    let path = "/v1beta/models/gemini-9-flash:streamGenerateContent?alt=sse";
    let (status, answer) = post_with_key(&fake, path, "key-1", &bare).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["status"], "INVALID_ARGUMENT");
    let (status, _) = control(
        &fake,
        "thinking-refusals",
        &json!({"model": "", "level": "LOW"}),
    )
    .await;
    assert_eq!(status, 400);
}

#[actix_rt::test]
async fn control_reset_forgets_quota_credits_model_lists_and_refusals() {
    let fake = start_controlled().await;
    let token = access_token(&fake, "rt-1").await;
    fake.add_api_key("key-1");
    fake.set_quota_buckets(
        "p1",
        vec![quota_bucket(
            MODEL,
            "REQUESTS",
            1,
            0.1,
            "2026-12-08T07:00:00Z",
        )],
    );
    fake.set_quota_failure("p2", Some(500));
    fake.set_credits("p1", 3);
    fake.refuse_pattern(Some("forbidden-word"));
    fake.set_api_key_models("key-1", vec![gemini_api_model("gemini-test-1")]);
    fake.set_vertex_models(vec![vertex_model("gemini-test-1")]);
    fake.refuse_thinking_level(MODEL, "HIGH");

    let (status, _) = control(&fake, "reset", &json!({})).await;
    assert_eq!(status, 200);

    for project in ["p1", "p2"] {
        let (status, body) =
            post_json(&fake, QUOTA, Some(&token), &json!({"project": project})).await;
        assert_eq!((status, body), (200, json!({"buckets": []})));
    }
    assert_eq!(fake.credits("p1"), None);
    let (_, body) = get_listing(&fake, "/v1beta/models", Auth::Key("key-1")).await;
    assert_eq!(body, json!({"models": []}));
    let (_, body) = get_listing(
        &fake,
        "/v1beta1/publishers/google/models",
        Auth::Bearer(&token),
    )
    .await;
    assert_eq!(body, json!({"publisherModels": []}));
    let mut body = with_thinking_level(MODEL, "HIGH");
    body["request"]["contents"][0]["parts"][0]["text"] = json!("the forbidden-word");
    let (status, answer) =
        post_json(&fake, "/v1internal:generateContent", Some(&token), &body).await;
    assert_eq!(status, 200, "{answer}");
}
