//! The Code Assist `session_id` (inside `request`, where the Gemini CLI puts it): Google's trajectory
//! id follows the conversation — the same on every turn, new when the conversation changes model —
//! a Gemini-native client's own id is kept, and the bare APIs (which do not know the field) never
//! get it.

use serde_json::{json, Value};

use crate::anthropic::VERSION;
use crate::fake_google::FakeGoogle;
use crate::harness::*;

fn session_id_of(call: &crate::fake_google::RecordedRequest) -> String {
    call.body["request"]["session_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no session_id in {}", call.body))
        .to_owned()
}

fn last_session_id(app: &TestApp) -> String {
    session_id_of(app.upstream_calls().last().expect("a call reached Google"))
}

/// Turn `turn` of a Claude Code conversation named `session`, on `model`.
async fn turn(app: &TestApp, session: &str, model: &str, turn: usize) -> String {
    let mut history = vec![json!({"role": "user", "content": "Plan the refactor."})];
    for n in 1..turn {
        history.push(json!({"role": "assistant", "content": format!("Step {n}.")}));
        history.push(json!({"role": "user", "content": format!("Next ({n}).")}));
    }
    let body = json!({"model": model, "max_tokens": 100, "messages": history});
    let req = app
        .client
        .post(app.url("/v1/messages"))
        .insert_header(("x-api-key", PASSWORD))
        .insert_header(VERSION)
        .insert_header(("x-claude-code-session-id", session));
    let answer = app.send(req, Some(&body)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    last_session_id(app)
}

#[actix_rt::test]
async fn the_envelope_session_id_is_stable_within_a_conversation_and_new_after_a_model_change() {
    let app = spawn_app().await;
    let first = turn(&app, "conv-1", "claude-sonnet-4-5", 1).await;
    assert_eq!(first.len(), 36, "UUID-shaped: {first}");
    assert_eq!(turn(&app, "conv-1", "claude-sonnet-4-5", 2).await, first);
    assert_eq!(turn(&app, "conv-1", "claude-sonnet-4-5", 3).await, first);
    // Another conversation has its own trajectory.
    let other = turn(&app, "conv-2", "claude-sonnet-4-5", 1).await;
    assert_ne!(other, first);
    // The conversation moves to another model: a new trajectory, stable from then on.
    let moved = turn(&app, "conv-1", "claude-haiku-4-5", 4).await;
    assert_ne!(moved, first);
    assert_eq!(turn(&app, "conv-1", "claude-haiku-4-5", 5).await, moved);
    // The id is not the client's session name.
    assert!(!first.contains("conv-1"));

    // A conversation known only by its prefix (OpenAI chat, no key): stable across its turns too.
    let ask = |messages: Value| json!({"model": "gemini-2.5-flash", "messages": messages});
    let opening = json!([{"role": "user", "content": "Tell me about Lima."}]);
    assert_eq!(app.chat(ask(opening.clone())).await.status, 200);
    let by_prefix = last_session_id(&app);
    let mut longer = opening.as_array().unwrap().clone();
    longer.push(json!({"role": "assistant", "content": "Lima is the capital of Peru."}));
    longer.push(json!({"role": "user", "content": "And its food?"}));
    assert_eq!(app.chat(ask(Value::Array(longer))).await.status, 200);
    assert_eq!(last_session_id(&app), by_prefix);
    app.stop().await;
}

#[actix_rt::test]
async fn a_gemini_native_clients_own_session_id_is_kept() {
    let app = spawn_app().await;
    let url = "/v1beta/models/gemini-2.5-pro:generateContent";
    let own = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                     "session_id": "0f6c1c9e-3f7a-4c52-9a43-1d2b3c4d5e6f"});
    let answer = app.post(url, &own).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        last_session_id(&app),
        "0f6c1c9e-3f7a-4c52-9a43-1d2b3c4d5e6f"
    );
    // Without one, the gateway gives the conversation its own.
    let plain = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    assert_eq!(app.post(url, &plain).await.status, 200);
    let derived = last_session_id(&app);
    assert_ne!(derived, "0f6c1c9e-3f7a-4c52-9a43-1d2b3c4d5e6f");
    assert_eq!(derived.len(), 36);
    // A session_id that is not a short string is refused before anything is sent.
    app.google.clear_requests();
    let bad = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                     "session_id": "x".repeat(300)});
    let answer = app.post(url, &bad).await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(answer.text().contains("session_id"));
    assert!(app.upstream_calls().is_empty());
    app.stop().await;
}

#[actix_rt::test]
async fn the_gemini_api_never_gets_the_code_assist_session_id() {
    const KEY: &str = "AIzaSyTestKeySession0001";
    let google = FakeGoogle::start().await;
    google.add_api_key(KEY);
    let url = google.url();
    let app = spawn_app_with(
        TestOptions {
            google: Some(google),
            ..TestOptions::default()
        }
        .env("GEMINI_API_KEYS", KEY)
        .env("GEMINI_API_ENDPOINT", url),
    )
    .await;
    let own = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                     "session_id": "cli-session"});
    let answer = app
        .post("/v1beta/models/gemini-2.5-flash:generateContent", &own)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let calls = app.upstream_calls();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].path.contains("/v1beta/models/"),
        "{}",
        calls[0].path
    );
    assert!(
        calls[0].body.get("session_id").is_none(),
        "{}",
        calls[0].body
    );
    assert_eq!(calls[0].body["contents"][0]["parts"][0]["text"], "hi");
    app.stop().await;
}
