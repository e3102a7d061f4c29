use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;

use crate::fake_google::{LoadCodeAssist, Reply};
use crate::harness::*;

fn hello(model: &str, stream: bool) -> serde_json::Value {
    json!({"model": model, "stream": stream, "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"}
    ]})
}

#[actix_rt::test]
async fn non_stream_chat_goes_through_code_assist() {
    let app = spawn_app().await;
    let answer = app.chat(hello("gemini-2.5-pro", false)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gemini-2.5-pro");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from gemini-2.5-pro"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let calls = app.upstream_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert!(
        call.path.ends_with("/v1internal:generateContent"),
        "{}",
        call.path
    );
    assert_eq!(call.body["model"], "gemini-2.5-pro");
    assert_eq!(call.body["project"], "p1");
    assert_eq!(
        call.body["request"]["contents"][0]["parts"][0]["text"],
        "hi"
    );
    assert_eq!(
        call.body["request"]["systemInstruction"]["parts"][0]["text"],
        "be brief"
    );
    let ua = call.header("user-agent").unwrap_or_default();
    assert!(
        ua.starts_with("GeminiCLI/") && ua.contains("/gemini-2.5-pro ("),
        "{ua}"
    );
    // The first request had to refresh the token: it was persisted.
    let stored = app
        .state
        .store
        .get_credential("p1.json")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.credential["token"]
        .as_str()
        .unwrap()
        .starts_with("at-rt-1"));
    assert!(stored.credential["expiry"].is_string());
    app.stop().await;
}

#[actix_rt::test]
async fn streamed_chat_has_chunks_one_finish_and_done() {
    let app = spawn_app().await;
    app.google
        .enqueue("p1", Reply::stream_chunks(["Hel", "lo ", "there"]));
    let answer = app.chat(hello("gemini-2.5-flash", true)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let data = answer.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks = answer.sse_json();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello there");
    let finishes: Vec<_> = chunks
        .iter()
        .filter(|c| {
            !c["choices"][0]["finish_reason"].is_null()
                && c["choices"].as_array().is_some_and(|a| !a.is_empty())
        })
        .collect();
    assert_eq!(finishes.len(), 1, "{chunks:?}");
    assert_eq!(finishes[0]["choices"][0]["finish_reason"], "stop");
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk"));
    let calls = app.upstream_calls();
    assert!(calls[0].path.contains("streamGenerateContent"));
    assert!(calls[0].query.contains("alt=sse"));
    app.stop().await;
}

#[actix_rt::test]
async fn auth_styles_and_failures_on_openai_route() {
    let app = spawn_app().await;
    let url = app.url("/v1/chat/completions");
    let body = hello("gemini-2.5-flash", false);
    let missing = app.send(app.client.post(&url), Some(&body)).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json()["error"]["type"], "authentication_error");
    assert!(missing.json()["error"]["message"].is_string());
    let wrong = app
        .send(app.client.post(&url).bearer_auth("nope"), Some(&body))
        .await;
    assert_eq!(wrong.status, 403);
    assert!(wrong.json()["error"]["message"].is_string());
    let goog = app
        .send(
            app.client
                .post(&url)
                .insert_header(("x-goog-api-key", PASSWORD)),
            Some(&body),
        )
        .await;
    assert_eq!(goog.status, 200);
    let query = app
        .send(
            app.client.post(format!("{url}?key={PASSWORD}")),
            Some(&body),
        )
        .await;
    assert_eq!(query.status, 200);
    // Nothing unauthenticated reached Google.
    assert_eq!(app.upstream_calls().len(), 2);
    app.stop().await;
}

#[actix_rt::test]
async fn upstream_error_before_first_byte_keeps_its_status() {
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        Reply::google_error(400, "INVALID_ARGUMENT", "bad thing"),
    );
    let answer = app.chat(hello("gemini-2.5-flash", false)).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"]["message"], "bad thing");
    assert_eq!(answer.json()["error"]["type"], "invalid_request_error");

    app.google.enqueue(
        "p1",
        Reply::google_error(400, "INVALID_ARGUMENT", "bad stream"),
    );
    let streamed = app.chat(hello("gemini-2.5-flash", true)).await;
    assert_eq!(streamed.status, 400, "{}", streamed.text());
    assert_eq!(streamed.json()["error"]["message"], "bad stream");
    app.stop().await;
}

#[actix_rt::test]
async fn server_errors_are_retried_then_reported() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("a.json", credential("rt-a", Some("pa"), None))
            .cred("b.json", credential("rt-b", Some("pb"), None))
            .env("RETRY_429_MAX_RETRIES", "1"),
    )
    .await;
    app.google.set_default_reply(None, Reply::internal_error());
    let answer = app.chat(hello("gemini-2.5-flash", false)).await;
    assert_eq!(answer.status, 500, "{}", answer.text());
    let projects: Vec<_> = app
        .upstream_calls()
        .iter()
        .map(|c| c.project.clone().unwrap())
        .collect();
    assert_eq!(projects.len(), 2);
    assert_ne!(
        projects[0], projects[1],
        "the retry used the other credential"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn no_credentials_is_a_clear_503() {
    let app = spawn_app_with(TestOptions::default()).await;
    let answer = app.chat(hello("gemini-2.5-flash", false)).await;
    assert_eq!(answer.status, 503);
    assert!(answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no credential"));
    app.stop().await;
}

#[actix_rt::test]
async fn missing_project_is_discovered_by_onboarding() {
    let google = crate::fake_google::FakeGoogle::start().await;
    google.set_load_code_assist(LoadCodeAssist::NeedsOnboarding {
        project: "onboarded-7".into(),
        polls_until_done: 2,
    });
    let app = spawn_app_with(
        TestOptions {
            google: Some(google),
            ..TestOptions::default()
        }
        .cred("new.json", credential("rt-new", None, None)),
    )
    .await;
    let answer = app.chat(hello("gemini-2.5-flash", false)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(app.upstream_calls()[0].body["project"], "onboarded-7");
    assert!(!app.google.requests_to("onboardUser").is_empty());
    let stored = app
        .state
        .store
        .get_credential("new.json")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.credential["project_id"], "onboarded-7");
    app.stop().await;
}

#[actix_rt::test]
async fn client_disconnect_mid_stream_drops_the_upstream_stream() {
    let app = spawn_app().await;
    let chunks: Vec<String> = (0..50).map(|i| format!("part{i} ")).collect();
    app.google
        .enqueue("p1", Reply::stream_chunks(chunks).interval_ms(100));
    let mut resp = app
        .client
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(PASSWORD)
        .send_json(&hello("gemini-2.5-flash", true))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let first = resp.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    assert_eq!(app.google.open_streams(), 1);
    drop(resp);
    let google = &app.google;
    app.eventually("upstream stream cancelled", || {
        google.cancelled_streams() == 1 && google.open_streams() == 0
    })
    .await;
    // The gateway still serves.
    let answer = app.chat(hello("gemini-2.5-flash", false)).await;
    assert_eq!(answer.status, 200);
    tokio::time::sleep(Duration::from_millis(10)).await;
    app.stop().await;
}
