//! Failures users of the original project hit: broken tool calls replayed in the history, tool schemas
//! with enums Gemini refuses, and the cached-token count users need to see the cache working.

use serde_json::{json, Value};

use crate::fake_google::Reply;
use crate::harness::*;

/// A conversation whose client once merged two parallel tool calls under one index.
fn broken_history() -> Vec<Value> {
    vec![
        json!({"role": "user", "content": "weather in Beijing and Shanghai?"}),
        json!({"role": "assistant", "content": null, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "get_weather",
                         "arguments": "{\"city\": \"Beijing\"}{\"city\": \"Shanghai\"}"}
        }]}),
        json!({"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"}),
    ]
}

fn parts_with<'a>(contents: &'a Value, key: &str) -> Vec<&'a Value> {
    contents
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["parts"].as_array().unwrap())
        .filter(|p| p.get(key).is_some())
        .collect()
}

#[actix_rt::test]
async fn broken_tool_arguments_in_history_keep_the_conversation_alive() {
    let app = spawn_app().await;
    let mut messages = broken_history();
    messages.push(json!({"role": "user", "content": "and tomorrow?"}));
    for stream in [false, true] {
        app.google.clear_requests();
        let answer = app
            .chat(json!({"model": "gemini-2.5-flash", "stream": stream, "messages": messages}))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let calls = app.upstream_calls();
        assert_eq!(calls.len(), 1);
        let contents = &calls[0].body["request"]["contents"];
        let function_calls = parts_with(contents, "functionCall");
        assert_eq!(
            function_calls,
            [
                &json!({"functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Beijing"}}})
            ]
        );
        let responses = parts_with(contents, "functionResponse");
        assert_eq!(
            responses,
            [
                &json!({"functionResponse": {"id": "call_1", "name": "get_weather", "response": {"temp": 21}}})
            ]
        );
    }
    // The repair is logged, naming the call (never its arguments).
    let log = app.dir.path().join("log.txt");
    app.eventually("warning about call_1 in the log", || {
        std::fs::read_to_string(&log).is_ok_and(|text| {
            text.lines().any(|l| {
                l.contains("tool call \"call_1\" (get_weather)")
                    && l.contains("messages[1].tool_calls[0].function.arguments")
                    && !l.contains("Shanghai")
            })
        })
    })
    .await;
    app.stop().await;
}

#[actix_rt::test]
async fn broken_tool_arguments_in_the_new_message_are_still_refused() {
    let app = spawn_app().await;
    let mut messages = broken_history();
    messages.truncate(2);
    let answer = app
        .chat(json!({"model": "gemini-2.5-flash", "messages": messages}))
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    let body = answer.json();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("messages[1].tool_calls[0].function.arguments"),
        "{message}"
    );
    assert!(app.upstream_calls().is_empty());
    app.stop().await;
}

fn enum_parameters() -> Value {
    json!({
        "type": "object",
        "properties": {
            "verbose": {"type": "boolean", "enum": [true, false]},
            "level": {"type": "integer", "enum": [1, 2, 3]},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "filters": {"type": "array", "items": {"type": "object", "properties": {
                "weight": {"type": "number", "enum": [0.5, 1.5]}
            }}}
        },
        "required": ["level"]
    })
}

fn cleaned_enum_parameters() -> Value {
    json!({
        "type": "object",
        "properties": {
            "verbose": {"type": "boolean"},
            "level": {"type": "string", "enum": ["1", "2", "3"]},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "filters": {"type": "array", "items": {"type": "object", "properties": {
                "weight": {"type": "string", "enum": ["0.5", "1.5"]}
            }}}
        },
        "required": ["level"]
    })
}

#[actix_rt::test]
async fn boolean_and_number_enums_are_cleaned_before_gemini_sees_them() {
    let app = spawn_app().await;
    let answer = app
        .chat(json!({
            "model": "gemini-2.5-flash",
            "messages": [{"role": "user", "content": "report"}],
            "tools": [{"type": "function", "function": {"name": "report", "parameters": enum_parameters()}}]
        }))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let call = &app.upstream_calls()[0];
    assert_eq!(
        call.body["request"]["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"],
        cleaned_enum_parameters()
    );

    // Gemini-native clients declare tools in Gemini's shape, `parameters` or `parametersJsonSchema`.
    app.google.clear_requests();
    let answer = app
        .post(
            "/v1beta/models/gemini-2.5-flash:generateContent",
            &json!({
                "contents": [{"role": "user", "parts": [{"text": "report"}]}],
                "tools": [{"functionDeclarations": [
                    {"name": "a", "parametersJsonSchema": enum_parameters()},
                    {"name": "b", "parameters": {"type": "OBJECT", "properties": {
                        "on": {"type": "BOOLEAN", "enum": [true, false]},
                        "n": {"type": "INTEGER", "enum": [7, 8], "format": "int32"}
                    }}}
                ]}]
            }),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let declarations = &app.upstream_calls()[0].body["request"]["tools"][0]["functionDeclarations"];
    assert_eq!(
        declarations[0]["parametersJsonSchema"],
        cleaned_enum_parameters()
    );
    assert_eq!(
        declarations[1]["parameters"],
        json!({"type": "OBJECT", "properties": {
            "on": {"type": "BOOLEAN"},
            "n": {"type": "STRING", "enum": ["7", "8"]}
        }})
    );
    app.stop().await;
}

#[actix_rt::test]
async fn cached_tokens_are_reported_in_openai_usage() {
    let app = spawn_app().await;
    let usage = json!({"promptTokenCount": 1200, "candidatesTokenCount": 3,
                       "totalTokenCount": 1203, "cachedContentTokenCount": 1024});
    app.google
        .enqueue("p1", Reply::text("cached answer").usage(usage.clone()));
    let answer = app
        .chat(json!({"model": "gemini-2.5-pro", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["usage"]["prompt_tokens"], 1200);
    assert_eq!(
        body["usage"]["prompt_tokens_details"]["cached_tokens"],
        1024
    );

    app.google.enqueue(
        "p1",
        Reply::stream_chunks(["cached ", "answer"]).usage(usage),
    );
    let answer = app
        .chat(json!({"model": "gemini-2.5-pro", "stream": true,
                     "stream_options": {"include_usage": true},
                     "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let chunks = answer.sse_json();
    let usage_chunk = chunks.last().unwrap();
    assert_eq!(
        usage_chunk["usage"]["prompt_tokens_details"]["cached_tokens"],
        1024
    );
    assert_eq!(usage_chunk["usage"]["total_tokens"], 1203);

    // Nothing cached: the field is there, with 0.
    let answer = app
        .chat(json!({"model": "gemini-2.5-pro", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(
        answer.json()["usage"]["prompt_tokens_details"]["cached_tokens"],
        0
    );
    app.stop().await;
}
