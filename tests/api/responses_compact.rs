//! Remote compaction (`POST /v1/responses/compact`, `compaction_trigger`) through the real gateway
//! and the fake Google: one Google call per compaction, a sealed summary, and the summary back in
//! front of the model when the `compaction` item is sent again.

use serde_json::{json, Value};

use crate::fake_google::Reply;
use crate::harness::*;
use crate::responses_ws::{create, events, kinds, open, send};

const SUMMARY: &str = "SUMMARY-7f3a: the user is fixing parser.rs; tests pass except test_empty.";

fn user(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

fn history() -> Vec<Value> {
    vec![
        user("please fix parser.rs"),
        json!({"type": "message", "role": "assistant", "phase": "commentary",
               "content": [{"type": "output_text", "text": "Looking at the parser."}]}),
        json!({"type": "function_call", "name": "shell", "call_id": "call_1",
               "arguments": "{\"cmd\":\"cargo test\"}"}),
        json!({"type": "function_call_output", "call_id": "call_1", "output": "1 failed: test_empty"}),
        json!({"type": "message", "role": "assistant", "phase": "final_answer",
               "content": [{"type": "output_text", "text": "One test still fails."}]}),
    ]
}

/// Every text part Google was sent in the `n`-th recorded call.
fn texts_sent(app: &TestApp, n: usize) -> String {
    let calls = app.upstream_calls();
    let request = &calls[n].body["request"];
    let mut out = String::new();
    for content in request["contents"].as_array().unwrap() {
        for part in content["parts"].as_array().unwrap() {
            if let Some(text) = part["text"].as_str() {
                out.push_str(text);
                out.push('\n');
            }
        }
    }
    out
}

async fn compact(app: &TestApp, body: Value) -> Answer {
    app.post("/v1/responses/compact", &body).await
}

#[actix_rt::test]
async fn compact_then_continue_puts_the_summary_in_front_of_the_model() {
    let app = spawn_app().await;
    app.google.enqueue("p1", Reply::text(SUMMARY));
    let answer = compact(
        &app,
        json!({"model": "gemini-2.5-pro", "input": history(), "instructions": "You are a coding agent."}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    let output = body["output"].as_array().unwrap();
    // The user's own message is kept, then one compaction item.
    assert_eq!(output.len(), 2, "{body}");
    assert_eq!(output[0], user("please fix parser.rs"));
    let item = &output[1];
    assert_eq!(item["type"], "compaction");
    let blob = item["encrypted_content"].as_str().unwrap();
    assert!(
        !answer.text().contains("SUMMARY-7f3a"),
        "the summary is sealed"
    );
    assert!(!blob.contains("parser"));
    // Exactly one Google call, which saw the whole conversation and the compaction instruction.
    assert_eq!(app.upstream_calls().len(), 1);
    let sent = texts_sent(&app, 0);
    assert!(sent.contains("please fix parser.rs") && sent.contains("1 failed: test_empty"));
    assert!(sent.contains("handoff summary"));

    // The compacted window goes on: the model reads the summary.
    let mut input: Vec<Value> = output.clone();
    input.push(user("now fix test_empty"));
    let next = app
        .post(
            "/v1/responses",
            &json!({"model": "gemini-2.5-pro", "input": input}),
        )
        .await;
    assert_eq!(next.status, 200, "{}", next.text());
    assert_eq!(app.upstream_calls().len(), 2);
    let sent = texts_sent(&app, 1);
    assert!(sent.contains(SUMMARY), "{sent}");
    assert!(sent.contains("now fix test_empty"));
    app.stop().await;
}

#[actix_rt::test]
async fn a_changed_or_foreign_blob_is_refused() {
    let app = spawn_app().await;
    app.google.enqueue("p1", Reply::text(SUMMARY));
    let body = compact(&app, json!({"model": "gemini-2.5-pro", "input": history()}))
        .await
        .json();
    let blob = body["output"][1]["encrypted_content"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut chars: Vec<char> = blob.chars().collect();
    let at = chars.len() - 5;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    for bad in [tampered.as_str(), "gcmp1.bm90IG91cnM", "something else"] {
        let answer = app
            .post(
                "/v1/responses",
                &json!({"model": "gemini-2.5-pro", "input": [
                    {"type": "compaction", "encrypted_content": bad}, user("go on")
                ]}),
            )
            .await;
        assert_eq!(answer.status, 400, "{}", answer.text());
        assert_eq!(answer.json()["error"]["code"], "invalid_encrypted_content");
        // On the compact route too.
        let again = compact(
            &app,
            json!({"model": "gemini-2.5-pro", "input": [
                {"type": "compaction", "encrypted_content": bad}, user("go on")
            ]}),
        )
        .await;
        assert_eq!(again.status, 400);
        assert_eq!(again.json()["error"]["code"], "invalid_encrypted_content");
    }
    assert_eq!(
        app.upstream_calls().len(),
        1,
        "no Google call for a refused blob"
    );
    // The untouched blob still opens.
    let ok = app
        .post(
            "/v1/responses",
            &json!({"model": "gemini-2.5-pro", "input": [
                {"type": "compaction", "encrypted_content": blob}, user("go on")
            ]}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    app.stop().await;
}

#[actix_rt::test]
async fn a_compaction_trigger_answers_one_compaction_item_and_the_conversation_goes_on() {
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        Reply::stream_chunks(["SUMMARY-7f3a: ", "parser half done"]),
    );
    let mut input = history();
    input.push(json!({"type": "compaction_trigger"}));
    let answer = app
        .post(
            "/v1/responses",
            &json!({"model": "gemini-2.5-pro", "input": input, "stream": true}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let events: Vec<Value> = answer
        .text()
        .split("\n\n")
        .filter_map(|frame| frame.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    let names: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.output_item.done",
            "response.completed"
        ]
    );
    let done = &events[4]["response"];
    let output = done["output"].as_array().unwrap();
    assert_eq!(output.len(), 1);
    assert_eq!(output[0]["type"], "compaction");
    assert!(!answer.text().contains("parser half done"));
    assert_eq!(app.upstream_calls().len(), 1);
    assert!(texts_sent(&app, 0).contains("handoff summary"));

    // Continuing the compaction response starts from the summary alone.
    let next = app
        .post(
            "/v1/responses",
            &json!({"model": "gemini-2.5-pro", "previous_response_id": done["id"],
                    "input": "what is left?"}),
        )
        .await;
    assert_eq!(next.status, 200, "{}", next.text());
    let sent = texts_sent(&app, 1);
    assert!(sent.contains("SUMMARY-7f3a: parser half done"), "{sent}");
    assert!(!sent.contains("please fix parser.rs"), "{sent}");
    // A trigger anywhere but last is refused.
    let misplaced = app
        .post(
            "/v1/responses",
            &json!({"model": "gemini-2.5-pro",
                    "input": [{"type": "compaction_trigger"}, user("x")]}),
        )
        .await;
    assert_eq!(misplaced.status, 400);
    app.stop().await;
}

#[actix_rt::test]
async fn compaction_over_the_websocket_then_the_next_turn_reads_the_summary() {
    let app = spawn_app().await;
    app.google.enqueue("p1", Reply::stream_chunks([SUMMARY]));
    let mut socket = open(&app, PASSWORD).await;
    let mut input = history();
    input.push(json!({"type": "compaction_trigger"}));
    send(
        &mut socket,
        create(json!({"model": "gemini-2.5-pro", "input": input, "store": false})),
    )
    .await;
    let compacted = events(&mut socket).await;
    assert_eq!(*kinds(&compacted).last().unwrap(), "response.completed");
    let item = compacted.last().unwrap()["response"]["output"][0].clone();
    assert_eq!(item["type"], "compaction");
    send(
        &mut socket,
        create(json!({"model": "gemini-2.5-pro", "store": false,
                      "input": [item, user("continue please")]})),
    )
    .await;
    let next = events(&mut socket).await;
    assert_eq!(*kinds(&next).last().unwrap(), "response.completed");
    assert_eq!(app.upstream_calls().len(), 2);
    assert!(texts_sent(&app, 1).contains(SUMMARY));
    drop(socket);
    app.stop().await;
}

#[actix_rt::test]
async fn assistant_messages_may_carry_a_phase() {
    let app = spawn_app().await;
    let mut input = history();
    input.push(user("and now?"));
    let answer = app
        .post(
            "/v1/responses",
            &json!({"model": "gemini-2.5-pro", "input": input}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let sent = texts_sent(&app, 0);
    assert!(sent.contains("Looking at the parser.") && sent.contains("One test still fails."));
    app.stop().await;
}

#[actix_rt::test]
async fn the_sealing_key_is_kept_in_the_store_for_the_next_instance() {
    let app = spawn_app().await;
    app.google.enqueue("p1", Reply::text(SUMMARY));
    let body = compact(&app, json!({"model": "gemini-2.5-pro", "input": history()}))
        .await
        .json();
    let item = body["output"][1].clone();
    let (dir, _) = app.shutdown().await;
    // Another gateway on the same store (here: after a restart) opens what the first one sealed.
    // (The credential file is written again without its token: the new fake Google knows no old token.)
    let next = spawn_app_with(
        TestOptions {
            dir: Some(dir),
            ..TestOptions::default()
        }
        .cred("p1.json", credential("rt-1", Some("p1"), None)),
    )
    .await;
    let answer = next
        .post(
            "/v1/responses",
            &json!({"model": "gemini-2.5-pro", "input": [item, user("continue")]}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(texts_sent(&next, 0).contains(SUMMARY));
    next.stop().await;
}
