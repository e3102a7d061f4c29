//! H-3: `$ref` expansion is bounded in bytes and depth wherever schemas are expanded — chat tools,
//! `response_format`, Anthropic `input_schema`, Responses tools and `text.format` — and a schema past
//! the bound is a 400 naming the field, with nothing sent to Google.

use serde_json::{json, Map, Value};

use crate::harness::*;

/// 2.3 KB that expands to 4^12 nodes: every level references the next four times.
fn exploding_schema() -> Value {
    let mut defs = Map::new();
    for level in 0..12 {
        let next = format!("#/$defs/L{}", level + 1);
        defs.insert(
            format!("L{level}"),
            json!({"type": "object", "properties": {
                "a": {"$ref": next}, "b": {"$ref": next}, "c": {"$ref": next}, "d": {"$ref": next}
            }}),
        );
    }
    defs.insert("L12".into(), json!({"type": "string"}));
    json!({"type": "object", "properties": {"root": {"$ref": "#/$defs/L0"}}, "$defs": defs})
}

fn deep_schema() -> Value {
    // Past the schema depth bound (32), within the JSON parser's own nesting limit.
    let mut schema = json!({"type": "string"});
    for _ in 0..40 {
        schema = json!({"type": "object", "properties": {"inner": schema}});
    }
    schema
}

#[actix_rt::test]
async fn h3_exploding_and_deep_schemas_are_refused_on_every_route() {
    let app = spawn_app().await;
    let user = json!([{"role": "user", "content": "hi"}]);
    for schema in [exploding_schema(), deep_schema()] {
        let cases = [
            (
                "/v1/chat/completions",
                json!({"model": "gemini-2.5-flash", "messages": user,
                    "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}]}),
                "tools[0].function.parameters",
            ),
            (
                "/v1/chat/completions",
                json!({"model": "gemini-2.5-flash", "messages": user,
                    "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}}),
                "response_format.json_schema.schema",
            ),
            (
                "/v1/messages",
                json!({"model": "gemini-2.5-flash", "max_tokens": 10, "messages": user,
                    "tools": [{"name": "f", "input_schema": schema}]}),
                "tools.0.input_schema",
            ),
            (
                "/v1/responses",
                json!({"model": "gemini-2.5-flash", "input": "hi",
                    "tools": [{"type": "function", "name": "f", "parameters": schema}]}),
                "tools[0].parameters",
            ),
            (
                "/v1/responses",
                json!({"model": "gemini-2.5-flash", "input": "hi",
                    "text": {"format": {"type": "json_schema", "name": "r", "schema": schema}}}),
                "text.format.schema",
            ),
        ];
        for (path, body, field) in cases {
            let answer = app.post(path, &body).await;
            assert_eq!(answer.status, 400, "{path}: {}", answer.text());
            assert!(
                answer.text().contains(field),
                "{path} should name {field}: {}",
                answer.text()
            );
        }
    }
    assert!(app.upstream_calls().is_empty(), "nothing went upstream");
    // An ordinary schema with references still works.
    let ok = app
        .chat(json!({"model": "gemini-2.5-flash", "messages": user, "tools": [{"type": "function",
            "function": {"name": "f", "parameters": {"type": "object",
                "properties": {"p": {"$ref": "#/$defs/P"}}, "$defs": {"P": {"type": "string"}}}}}]}))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    app.stop().await;
}
