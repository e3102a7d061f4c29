//! Anthropic Messages API (`/v1/messages`, `/v1/messages/count_tokens`) through the real gateway.

use serde_json::{json, Value};

use crate::fake_google::Reply;
use crate::harness::*;

pub(crate) const VERSION: (&str, &str) = ("anthropic-version", "2023-06-01");

/// `(event name, data)` of a named SSE body; every data's `type` must equal its event name.
pub(crate) fn named_events(answer: &Answer) -> Vec<(String, Value)> {
    answer
        .text()
        .split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let event = frame
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or_else(|| panic!("frame without event line: {frame}"));
            let data = frame
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or_else(|| panic!("frame without data line: {frame}"));
            let data: Value = serde_json::from_str(data).unwrap();
            assert_eq!(data["type"], event, "{frame}");
            (event.to_owned(), data)
        })
        .collect()
}

pub(crate) fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

pub(crate) async fn messages_as(app: &TestApp, key: &str, body: &Value) -> Answer {
    let req = app
        .client
        .post(app.url("/v1/messages?beta=true"))
        .insert_header(("x-api-key", key))
        .insert_header(VERSION)
        .insert_header((
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14",
        ));
    app.send(req, Some(body)).await
}

pub(crate) async fn messages(app: &TestApp, body: &Value) -> Answer {
    messages_as(app, PASSWORD, body).await
}

pub(crate) fn hello(model: &str, stream: bool) -> Value {
    json!({
        "model": model, "max_tokens": 1024, "stream": stream,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332; cc_entrypoint=cli;"},
            {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"user_id": "user-1"}
    })
}

#[actix_rt::test]
async fn non_stream_message_with_a_claude_name_and_x_api_key() {
    let app = spawn_app().await;
    let answer = messages(&app, &hello("claude-opus-4-8[1m]", false)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert!(body["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "claude-opus-4-8[1m]");
    assert_eq!(
        body["content"],
        json!([{"type": "text", "text": "Hello from gemini-2.5-pro"}])
    );
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["stop_sequence"], Value::Null);
    assert!(body["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(body["usage"]["output_tokens"], 3);

    let calls = app.upstream_calls();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].path.ends_with(":generateContent"),
        "{}",
        calls[0].path
    );
    assert_eq!(calls[0].body["model"], "gemini-2.5-pro");
    assert_eq!(
        calls[0].body["request"]["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
    assert_eq!(
        calls[0].body["request"]["generationConfig"]["maxOutputTokens"],
        1024
    );
    app.stop().await;
}

#[actix_rt::test]
async fn tool_round_trip_returns_the_signature_upstream() {
    let app = spawn_app().await;
    let tools = json!([{"name": "Read", "description": "Read a file",
        "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                         "properties": {"file_path": {"type": "string"}}, "required": ["file_path"],
                         "additionalProperties": false}}]);
    app.google.enqueue(
        "p1",
        Reply::function_call("Read", json!({"file_path": "/tmp/a.txt"}), Some("c2lnLTE=")),
    );
    let first = json!({"model": "gemini-3-pro-preview", "max_tokens": 100, "stream": true, "tools": tools,
                       "messages": [{"role": "user", "content": "read /tmp/a.txt"}]});
    let answer = messages(&app, &first).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let events = named_events(&answer);
    let start = events
        .iter()
        .find(|(_, d)| d["content_block"]["type"] == "tool_use")
        .expect("a tool_use block");
    let tool_use = start.1["content_block"].clone();
    assert_eq!(tool_use["name"], "Read");
    let id = tool_use["id"].as_str().unwrap().to_owned();
    let input = events
        .iter()
        .find(|(_, d)| d["delta"]["type"] == "input_json_delta")
        .unwrap()
        .1["delta"]["partial_json"]
        .clone();
    assert_eq!(input, json!("{\"file_path\":\"/tmp/a.txt\"}"));
    assert_eq!(
        events.iter().rev().nth(1).unwrap().1["delta"]["stop_reason"],
        "tool_use"
    );
    let declared = &app.upstream_calls()[0].body["request"]["tools"][0]["functionDeclarations"][0];
    assert_eq!(declared["name"], "Read");
    assert_eq!(declared["parametersJsonSchema"].get("$schema"), None);

    app.google.enqueue("p1", Reply::text("The file says 42."));
    let second = json!({"model": "gemini-3-pro-preview", "max_tokens": 100, "tools": tools, "messages": [
        {"role": "user", "content": "read /tmp/a.txt"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": "Read", "input": {"file_path": "/tmp/a.txt"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "42"}]}
    ]});
    let answer = messages(&app, &second).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["content"][0]["text"], "The file says 42.");
    let sent = &app.upstream_calls()[1].body["request"]["contents"];
    let call_part = &sent[1]["parts"][0];
    assert_eq!(call_part["thoughtSignature"], "c2lnLTE=");
    assert_eq!(call_part["functionCall"]["name"], "Read");
    let call_id = call_part["functionCall"]["id"].as_str().unwrap();
    assert!(!call_id.contains("__sig__"), "{call_id}");
    assert_eq!(
        sent[2]["parts"][0]["functionResponse"],
        json!({"id": call_id, "name": "Read", "response": {"result": "42"}})
    );
    app.stop().await;
}

#[actix_rt::test]
async fn thought_and_text_signatures_come_back_on_their_parts() {
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        // A non-stream call is answered with the (single) event.
        Reply::raw_events([
            json!({"candidates": [{"content": {"role": "model", "parts": [
            {"text": "plan", "thought": true, "thoughtSignature": "VEhPVUdIVA=="},
            {"text": "Answer."}, {"text": "", "thoughtSignature": "VEVYVA=="}
        ]}, "finishReason": "STOP"}]}),
        ]),
    );
    let mut body = hello("gemini-3-flash-preview", false);
    let answer = messages(&app, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let content = answer.json()["content"].clone();
    assert_eq!(content[0]["type"], "thinking");
    assert_eq!(content[1], json!({"type": "text", "text": "Answer."}));
    assert_eq!(content[2]["type"], "thinking");

    body["messages"] = json!([
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": content},
        {"role": "user", "content": "more"}
    ]);
    assert_eq!(messages(&app, &body).await.status, 200);
    assert_eq!(
        app.upstream_calls()[1].body["request"]["contents"][1],
        json!({"role": "model", "parts": [
            {"text": "plan", "thought": true, "thoughtSignature": "VEhPVUdIVA=="},
            {"text": "Answer.", "thoughtSignature": "VEVYVA=="}
        ]})
    );
    app.stop().await;
}

#[actix_rt::test]
async fn count_tokens_is_forwarded_to_code_assist() {
    let app = spawn_app().await;
    let req = app
        .client
        .post(app.url("/v1/messages/count_tokens?beta=true"))
        .insert_header(("x-api-key", PASSWORD))
        .insert_header(VERSION);
    let body = json!({"model": "claude-sonnet-4-5", "system": "one two",
                      "messages": [{"role": "user", "content": "three four five"}]});
    let answer = app.send(req, Some(&body)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json(), json!({"input_tokens": 5}));
    let calls = app.google.requests_to(":countTokens");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].body["request"]["model"], "models/gemini-2.5-pro");
    assert!(app.upstream_calls().is_empty());
    app.stop().await;
}

#[actix_rt::test]
async fn errors_use_anthropics_envelope() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("RETRY_429_ENABLED", "false"),
    )
    .await;
    let check = |answer: &Answer, status: u16, kind: &str| {
        assert_eq!(answer.status, status, "{}", answer.text());
        let body = answer.json();
        assert_eq!(body["type"], "error", "{body}");
        assert_eq!(body["error"]["type"], kind, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().len() > 3,
            "{body}"
        );
    };
    let body = hello("claude-opus-4", false);
    let anonymous = app
        .client
        .post(app.url("/v1/messages"))
        .insert_header(VERSION);
    check(
        &app.send(anonymous, Some(&body)).await,
        401,
        "authentication_error",
    );
    check(
        &messages_as(&app, "wrong", &body).await,
        403,
        "permission_error",
    );
    let mut invalid = body.clone();
    invalid.as_object_mut().unwrap().remove("max_tokens");
    let answer = messages(&app, &invalid).await;
    check(&answer, 400, "invalid_request_error");
    assert!(answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("max_tokens"));
    let mut raw = app
        .client
        .post(app.url("/v1/messages"))
        .bearer_auth(PASSWORD)
        .insert_header(("content-type", "application/json"))
        .send_body("{")
        .await
        .unwrap();
    let answer = Answer {
        status: raw.status().as_u16(),
        headers: raw.headers().clone(),
        body: raw.body().await.unwrap().to_vec(),
    };
    check(&answer, 400, "invalid_request_error");

    app.google
        .enqueue("p1", Reply::google_error(404, "NOT_FOUND", "no such model"));
    check(&messages(&app, &body).await, 404, "not_found_error");
    app.google.enqueue("p1", Reply::internal_error());
    check(&messages(&app, &body).await, 500, "api_error");
    app.google.enqueue("p1", Reply::resource_exhausted());
    check(&messages(&app, &body).await, 429, "rate_limit_error");
    app.stop().await;

    // No credential can serve: the gateway itself is overloaded.
    let empty = spawn_app_with(TestOptions::default()).await;
    let answer = messages(&empty, &body).await;
    check(&answer, 503, "overloaded_error");
    empty.stop().await;
}

#[actix_rt::test]
async fn keys_are_debited_by_the_mapped_model_and_its_allow_list() {
    let app = spawn_app().await;
    let login = app
        .send(
            app.client.post(app.url("/auth/login")),
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    let token = login.json()["token"].as_str().unwrap().to_owned();
    let create = app
        .send(
            app.client.post(app.url("/auth/keys")).bearer_auth(&token),
            Some(&json!({"total_quota": 100, "allowed_models": ["gemini-2.5-flash"]})),
        )
        .await;
    let key = create.json()["api_key"].as_str().unwrap().to_owned();
    let answer = messages_as(&app, &key, &hello("claude-haiku-4-5", false)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let denied = messages_as(&app, &key, &hello("claude-opus-4", false)).await;
    assert_eq!(denied.status, 403, "{}", denied.text());
    assert_eq!(denied.json()["error"]["type"], "permission_error");
    let info = app
        .send(
            app.client
                .get(app.url(&format!("/auth/keys/{key}")))
                .bearer_auth(&token),
            None,
        )
        .await
        .json();
    assert_eq!(info["used_quota"], 2, "{info}");
    assert_eq!(info["model_stats"]["gemini-2.5-flash"], 2, "{info}");
    app.stop().await;
}

#[actix_rt::test]
async fn models_head_and_config_speak_to_anthropic_clients() {
    let app = spawn_app().await;
    let req = app
        .client
        .get(app.url("/v1/models"))
        .insert_header(("x-api-key", PASSWORD))
        .insert_header(VERSION);
    let list = app.send(req, None).await.json();
    assert_eq!(list["has_more"], false);
    assert_eq!(list["data"][0]["type"], "model");
    assert_eq!(list["data"][0]["id"], "gemini-2.5-pro");
    assert_eq!(list["first_id"], "gemini-2.5-pro");
    let req = app
        .client
        .get(app.url("/v1/models/claude-opus-4-8"))
        .insert_header(("x-api-key", PASSWORD))
        .insert_header(VERSION);
    let one = app.send(req, None).await.json();
    assert_eq!(one["type"], "model");
    assert_eq!(one["id"], "claude-opus-4-8");
    // Without the header the OpenAI list is unchanged.
    assert_eq!(app.get("/v1/models").await.json()["object"], "list");

    let head = app.send(app.client.head(app.url("/")), None).await;
    assert_eq!(head.status, 200);
    let wrong_method = app.get("/v1/messages").await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.json()["type"], "error");
    let unknown = app.post("/v1/messages/batches", &json!({})).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"]["type"], "not_found_error");

    let login = app
        .send(
            app.client.post(app.url("/auth/login")),
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    let token = login.json()["token"].as_str().unwrap().to_owned();
    let config = app
        .send(
            app.client.get(app.url("/config/get")).bearer_auth(&token),
            None,
        )
        .await
        .json();
    assert_eq!(
        config["config"]["anthropic_model_map"],
        json!([
            "opus=gemini-2.5-pro",
            "sonnet=gemini-2.5-pro",
            "haiku=gemini-2.5-flash"
        ]),
        "{config}"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn the_model_map_is_configurable() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env(
                "ANTHROPIC_MODEL_MAP",
                "opus=gemini-3-pro-preview-low,haiku=gemini-2.5-flash-lite",
            ),
    )
    .await;
    assert_eq!(
        messages(&app, &hello("claude-opus-4-8[1m]", false))
            .await
            .status,
        200
    );
    assert_eq!(
        messages(&app, &hello("claude-3-5-haiku", false))
            .await
            .status,
        200
    );
    let calls = app.upstream_calls();
    assert_eq!(calls[0].body["model"], "gemini-3-pro-preview");
    assert_eq!(
        calls[0].body["request"]["generationConfig"]["thinkingConfig"]["thinkingLevel"],
        "low"
    );
    assert_eq!(calls[1].body["model"], "gemini-2.5-flash-lite");
    app.stop().await;
}

async fn image_server() -> (String, actix_web::dev::ServerHandle) {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let png: &'static [u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3];
    let server = HttpServer::new(move || {
        App::new().route(
            "/cat.png",
            web::get()
                .to(move || async move { HttpResponse::Ok().content_type("image/png").body(png) }),
        )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    (format!("http://127.0.0.1:{port}"), handle)
}

#[actix_rt::test]
async fn image_urls_are_fetched_with_the_ssrf_guard() {
    let (base, images) = image_server().await;
    let ask = |url: String| {
        json!({"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "url", "url": url}},
            {"type": "text", "text": "what is this"}]}]})
    };
    let app = spawn_app().await;
    let answer = messages(&app, &ask(format!("{base}/cat.png"))).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let parts = &app.upstream_calls()[0].body["request"]["contents"][0]["parts"];
    assert_eq!(
        parts[0],
        json!({"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgoBAgM="}})
    );
    app.stop().await;

    let strict = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("IMAGE_FETCH_ALLOW_PRIVATE", "false"),
    )
    .await;
    let refused = messages(&strict, &ask(format!("{base}/cat.png"))).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(refused.json()["error"]["type"], "invalid_request_error");
    assert!(strict.upstream_calls().is_empty());
    strict.stop().await;
    images.stop(false).await;
}
