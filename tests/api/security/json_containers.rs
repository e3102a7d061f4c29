//! A 20 MB body of hundreds of thousands of tiny objects is refused from its raw bytes, before it is
//! parsed: building the JSON tree is what cost a worker over a second of CPU (see
//! `scripts/bench.sh hostile`), so the input limits that walk the tree came too late.

use serde_json::{json, Value};

use crate::harness::*;

/// `count` copies of `item` in the list at `key` of `shell`.
fn repeated(shell: Value, key: &str, item: &Value, count: usize) -> Value {
    let mut body = shell;
    body[key] = Value::Array(vec![item.clone(); count]);
    body
}

#[actix_rt::test]
async fn bodies_of_too_many_objects_are_refused_on_every_client_route() {
    let app = spawn_app().await;
    let gemini_turn = json!({"role": "user", "parts": [{"text": "hi"}]});
    let message = json!({"role": "user", "content": "hi"});
    let item = json!({"type": "message", "role": "user", "content": "hi"});
    let cases = [
        (
            "/v1beta/models/gemini-2.5-flash:generateContent",
            repeated(json!({}), "contents", &gemini_turn, 100_000),
        ),
        (
            "/v1/chat/completions",
            repeated(
                json!({"model": "gemini-2.5-flash"}),
                "messages",
                &message,
                300_000,
            ),
        ),
        (
            "/v1/messages",
            repeated(
                json!({"model": "gemini-2.5-flash", "max_tokens": 10}),
                "messages",
                &message,
                300_000,
            ),
        ),
        (
            "/v1/responses",
            repeated(
                json!({"model": "gemini-2.5-flash"}),
                "input",
                &item,
                300_000,
            ),
        ),
    ];
    for (path, body) in &cases {
        let answer = app
            .send(
                app.client.post(app.url(path)).bearer_auth(PASSWORD),
                Some(body),
            )
            .await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.text());
        assert!(
            answer.text().contains("250000 JSON objects and arrays"),
            "{path}: {}",
            answer.text()
        );
    }
    assert!(app.upstream_calls().is_empty(), "nothing went upstream");
    // A conversation within the input limits still passes.
    let fits = repeated(
        json!({"model": "gemini-2.5-flash"}),
        "messages",
        &message,
        5_000,
    );
    let answer = app
        .send(
            app.client
                .post(app.url("/v1/chat/completions"))
                .bearer_auth(PASSWORD),
            Some(&fits),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    app.stop().await;
}
