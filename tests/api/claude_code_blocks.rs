//! What newer Claude Code releases send on `/v1/messages`: `tool_reference` blocks inside tool results,
//! `compaction` blocks in assistant turns, `fallbacks: "default"` (with `ANTHROPIC_FALLBACK_MAP`),
//! adaptive thinking at every effort, system messages in the middle of the conversation, and the
//! `X-Claude-Code-Session-Id` header — through the real gateway against the fake Google.

use serde_json::{json, Value};

use crate::anthropic::{messages, VERSION};
use crate::fake_google::Reply;
use crate::harness::*;
use crate::rate_limits::{creds, google_body, start};

/// Every text Google was sent in `contents`, in order.
fn texts_sent(call: &crate::fake_google::RecordedRequest) -> Vec<String> {
    let mut texts = Vec::new();
    for content in call.body["request"]["contents"].as_array().unwrap() {
        for part in content["parts"].as_array().unwrap() {
            if let Some(text) = part["text"].as_str() {
                texts.push(text.to_owned());
            }
            if let Some(result) = part.pointer("/functionResponse/response/result") {
                texts.push(result.as_str().unwrap_or_default().to_owned());
            }
        }
    }
    texts
}

fn position(texts: &[String], needle: &str) -> usize {
    texts
        .iter()
        .position(|t| t.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not sent: {texts:?}"))
}

/// A Claude Code history after a server-side compaction and a tool search.
fn compacted_history(stream: bool) -> Value {
    json!({
        "model": "claude-sonnet-4-5", "max_tokens": 4096, "stream": stream,
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "tools": [
            {"name": "ToolSearch", "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}},
            {"name": "Grep", "input_schema": {"type": "object", "properties": {"pattern": {"type": "string"}}}, "defer_loading": true}
        ],
        "messages": [
            {"role": "assistant", "content": [
                {"type": "compaction", "content": "The user renamed parse() to read_config() in src/lib.rs."}
            ]},
            {"role": "user", "content": "Find the callers of read_config."},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me load a search tool."},
                {"type": "tool_use", "id": "toolu_01", "name": "ToolSearch", "input": {"query": "grep"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": [
                    {"type": "tool_reference", "tool_name": "Grep"}
                ]}
            ]}
        ]
    })
}

#[actix_rt::test]
async fn a_history_with_tool_reference_and_compaction_blocks_answers_and_google_sees_the_text() {
    let app = spawn_app().await;
    for stream in [false, true] {
        app.google.clear_requests();
        let answer = messages(&app, &compacted_history(stream)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        if stream {
            assert!(
                answer.text().contains("event: message_stop"),
                "{}",
                answer.text()
            );
        } else {
            assert_eq!(
                answer.json()["content"][0]["text"],
                "Hello from gemini-2.5-pro"
            );
        }
        let calls = app.upstream_calls();
        assert_eq!(calls.len(), 1);
        let texts = texts_sent(&calls[0]);
        let summary = position(&texts, "renamed parse() to read_config()");
        let question = position(&texts, "Find the callers of read_config.");
        let reference = position(&texts, "Tool Grep is now available.");
        assert!(summary < question && question < reference, "{texts:?}");
        // The deferred tool the reference loaded is declared to Gemini.
        let declared = calls[0].body["request"]["tools"][0]["functionDeclarations"].to_string();
        assert!(declared.contains("\"Grep\""), "{declared}");
    }
    app.stop().await;
}

#[actix_rt::test]
async fn an_unknown_block_type_is_a_400_naming_it_never_a_500() {
    let app = spawn_app().await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "hologram", "data": "x"}]}
    ]});
    let answer = messages(&app, &body).await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    let error = answer.json();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("messages.0.content.0.type") && message.contains("hologram"),
        "{message}"
    );
    assert!(app.upstream_calls().is_empty());
    app.stop().await;
}

#[actix_rt::test]
async fn system_messages_in_the_middle_reach_google_in_order() {
    let app = spawn_app().await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "system", "content": "The user switched to plan mode."},
        {"role": "user", "content": "second question"}
    ]});
    let answer = messages(&app, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let call = &app.upstream_calls()[0];
    assert_eq!(
        call.body["request"]["systemInstruction"],
        json!({"parts": [{"text": "You are terse."}]})
    );
    let texts = texts_sent(call);
    let order: Vec<usize> = [
        "first question",
        "first answer",
        "switched to plan mode",
        "second question",
    ]
    .iter()
    .map(|t| position(&texts, t))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{texts:?}");
    app.stop().await;
}

#[actix_rt::test]
async fn every_adaptive_effort_level_reaches_google_as_a_thinking_setting() {
    let app = spawn_app().await;
    let cases = [
        ("claude-opus-4-8", "low", json!({"thinkingBudget": 1024})),
        ("claude-opus-4-8", "medium", json!({"thinkingBudget": 8192})),
        ("claude-opus-4-8", "high", json!({"thinkingBudget": 24576})),
        ("claude-opus-4-8", "xhigh", json!({"thinkingBudget": 32768})),
        ("claude-opus-4-8", "max", json!({"thinkingBudget": 32768})),
        (
            "gemini-3-flash-preview",
            "low",
            json!({"thinkingLevel": "low"}),
        ),
        (
            "gemini-3-flash-preview",
            "medium",
            json!({"thinkingLevel": "medium"}),
        ),
        (
            "gemini-3-flash-preview",
            "high",
            json!({"thinkingLevel": "high"}),
        ),
        (
            "gemini-3-flash-preview",
            "xhigh",
            json!({"thinkingLevel": "high"}),
        ),
        (
            "gemini-3-flash-preview",
            "max",
            json!({"thinkingLevel": "high"}),
        ),
    ];
    for (model, effort, expected) in cases {
        app.google.clear_requests();
        let body = json!({"model": model, "max_tokens": 1000,
            "thinking": {"type": "adaptive"}, "output_config": {"effort": effort},
            "messages": [{"role": "user", "content": "think"}]});
        let answer = messages(&app, &body).await;
        assert_eq!(answer.status, 200, "{effort}: {}", answer.text());
        let config = &app.upstream_calls()[0].body["request"]["generationConfig"]["thinkingConfig"];
        for (key, value) in expected.as_object().unwrap() {
            assert_eq!(&config[key], value, "{model} {effort}: {config}");
        }
    }
    let wrong = json!({"model": "claude-opus-4-8", "max_tokens": 10,
        "thinking": {"type": "adaptive"}, "output_config": {"effort": "ultra"},
        "messages": [{"role": "user", "content": "x"}]});
    let answer = messages(&app, &wrong).await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(answer.text().contains("output_config.effort"));
    app.stop().await;
}

fn with_fallbacks(model: &str) -> Value {
    json!({"model": model, "max_tokens": 100, "fallbacks": "default",
           "messages": [{"role": "user", "content": "hi"}]})
}

#[actix_rt::test]
async fn fallbacks_answer_from_the_mapped_model_when_google_has_no_capacity() {
    let opts = creds(&["a"], 100).env(
        "ANTHROPIC_FALLBACK_MAP",
        "gemini-2.5-pro=gemini-2.5-flash,gemini-2.5-flash=gemini-2.5-pro",
    );
    let app = start(opts, 1).await;

    // Google has room: the requested model answers, fallbacks or not.
    let answer = messages(&app, &with_fallbacks("claude-opus-4-8")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json()["content"][0]["text"],
        "Hello from gemini-2.5-pro"
    );

    // No capacity for Pro: the map's next model answers, and names itself.
    app.google.clear_requests();
    app.google
        .enqueue("pa", Reply::error(429, google_body("429_capacity")));
    let answer = messages(&app, &with_fallbacks("claude-opus-4-8")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["content"][0]["text"], "Hello from gemini-2.5-flash");
    assert_eq!(body["model"], "gemini-2.5-flash");
    let models: Vec<String> = app
        .upstream_calls()
        .iter()
        .map(|c| c.body["model"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(models, ["gemini-2.5-pro", "gemini-2.5-flash"]);

    // A model the map does not name: the capacity 429 is answered after its one round.
    app.google.clear_requests();
    app.google
        .enqueue("pa", Reply::error(429, google_body("429_capacity")));
    let answer = messages(&app, &with_fallbacks("gemini-3-pro-preview")).await;
    assert_eq!(answer.status, 429, "{}", answer.text());
    assert_eq!(answer.json()["error"]["type"], "rate_limit_error");
    assert!(answer.headers.get("retry-after").is_some());
    assert_eq!(app.upstream_calls().len(), 1);
    app.stop().await;
}

#[actix_rt::test]
async fn without_fallbacks_a_capacity_refusal_is_answered_as_it_is() {
    let opts = creds(&["a"], 100).env("ANTHROPIC_FALLBACK_MAP", "gemini-2.5-pro=gemini-2.5-flash");
    let app = start(opts, 1).await;
    app.google
        .enqueue("pa", Reply::error(429, google_body("429_capacity")));
    let mut body = with_fallbacks("claude-opus-4-8");
    body.as_object_mut().unwrap().remove("fallbacks");
    let answer = messages(&app, &body).await;
    assert_eq!(answer.status, 429, "{}", answer.text());
    assert_eq!(app.upstream_calls().len(), 1);
    // A fallback the client did not ask for never happens; a bad value is named.
    body["fallbacks"] = json!("everything");
    let answer = messages(&app, &body).await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(answer.text().contains("fallbacks"));
    app.stop().await;
}

/// One Claude Code turn of `session`: the same first prompt in every conversation, so only the
/// header tells them apart.
async fn claude_code_turn(app: &TestApp, session: &str, turn: usize) -> Answer {
    let mut history = vec![json!({"role": "user", "content": "Fix the failing test."})];
    for n in 1..turn {
        history.push(json!({"role": "assistant", "content": format!("Step {n} done.")}));
        history.push(json!({"role": "user", "content": format!("Go on ({n}).")}));
    }
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": history});
    let req = app
        .client
        .post(app.url("/v1/messages?beta=true"))
        .insert_header(("x-api-key", PASSWORD))
        .insert_header(VERSION)
        .insert_header(("X-Claude-Code-Session-Id", session));
    app.send(req, Some(&body)).await
}

#[actix_rt::test]
async fn the_claude_code_session_header_keeps_interleaved_conversations_on_their_credentials() {
    let app = start(creds(&["a", "b", "c"], 1), 3).await;
    let sessions = [
        "4d1c2b7e-0000-4000-8000-000000000001",
        "9f2e6a1d-0000-4000-8000-000000000002",
        "0a7b3c9f-0000-4000-8000-000000000003",
    ];
    let mut used: Vec<Vec<String>> = vec![Vec::new(); sessions.len()];
    for turn in 1..=4 {
        for (i, session) in sessions.iter().enumerate() {
            let answer = claude_code_turn(&app, session, turn).await;
            assert_eq!(answer.status, 200, "{}", answer.text());
            let project = app.upstream_calls().last().unwrap().project.clone();
            used[i].push(project.unwrap_or_default());
        }
    }
    for (i, projects) in used.iter().enumerate() {
        assert!(
            projects.iter().all(|p| *p == projects[0]),
            "conversation {i} moved: {projects:?}"
        );
    }
    let firsts: Vec<&str> = used.iter().map(|p| p[0].as_str()).collect();
    assert_eq!(firsts, ["pa", "pb", "pc"], "new conversations rotate");
    app.stop().await;
}
