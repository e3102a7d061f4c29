//! Protocol behaviour end to end: validation, streaming modes, tool round trips, images, countTokens.

use serde_json::{json, Value};

use crate::fake_google::Reply;
use crate::harness::*;

#[actix_rt::test]
async fn malformed_bodies_get_400_naming_the_field_and_nothing_goes_upstream() {
    let app = spawn_app().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"messages": [{"role": "user", "content": "hi"}]}),
            "model",
        ),
        (
            json!({"model": 5, "messages": [{"role": "user", "content": "hi"}]}),
            "model",
        ),
        (
            json!({"model": "gemini-2.5-flash", "messages": []}),
            "messages",
        ),
        (
            json!({"model": "gemini-2.5-flash", "messages": "hi"}),
            "messages",
        ),
        (
            json!({"model": "gemini-2.5-flash", "messages": [{"role": "wizard", "content": "hi"}]}),
            "messages[0].role",
        ),
        (
            json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}),
            "temperature",
        ),
        (
            // Broken arguments in the last (new) message; in the history they are repaired instead.
            json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{broken"}}]}]}),
            "arguments",
        ),
    ];
    for (body, field) in cases {
        let answer = app.chat(body.clone()).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text());
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            message.contains(field),
            "{body}: message {message:?} should name {field}"
        );
    }
    let broken = app
        .send(
            app.client
                .post(app.url("/v1/chat/completions"))
                .bearer_auth(PASSWORD)
                .insert_header(("content-type", "application/json")),
            None,
        )
        .await;
    assert_eq!(broken.status, 400);
    let raw = app
        .client
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(PASSWORD)
        .insert_header(("content-type", "application/json"))
        .send_body("{\"model\": ")
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let native = app
        .post(
            "/v1beta/models/gemini-2.5-flash:generateContent",
            &json!({"contents": "x"}),
        )
        .await;
    assert_eq!(native.status, 400);
    assert!(native.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("contents"));
    assert!(app.upstream_calls().is_empty());
    app.stop().await;
}

#[actix_rt::test]
async fn gemini_body_on_the_openai_route_is_answered_in_openai_format() {
    let app = spawn_app().await;
    let answer = app
        .chat(json!({"model": "gemini-2.5-flash", "contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"temperature": 0.3}}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["object"], "chat.completion");
    assert_eq!(
        app.upstream_calls()[0].body["request"]["generationConfig"]["temperature"],
        0.3
    );
    app.stop().await;
}

#[actix_rt::test]
async fn fake_streaming_sends_heartbeats_then_one_answer() {
    let app = spawn_app().await;
    app.google
        .enqueue("p1", Reply::text("the whole answer").delay_ms(700));
    let answer = app
        .chat(json!({"model": "假流式/gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let calls = app.upstream_calls();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].path.ends_with(":generateContent"),
        "one non-streaming call"
    );
    let chunks = answer.sse_json();
    let heartbeats = chunks
        .iter()
        .filter(|c| c["choices"][0]["delta"]["content"] == "")
        .count();
    assert!(
        heartbeats >= 2,
        "heartbeats every 0.2 s while waiting: {chunks:?}"
    );
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "the whole answer");
    let finishes = chunks
        .iter()
        .filter(|c| c["choices"][0]["finish_reason"].is_string())
        .count();
    assert_eq!(finishes, 1);
    assert_eq!(answer.sse_data().last().unwrap(), "[DONE]");

    app.google
        .enqueue("p1", Reply::text("gemini shaped").delay_ms(500));
    let native = app
        .post("/v1beta/models/%E5%81%87%E6%B5%81%E5%BC%8F%2Fgemini-2.5-flash:streamGenerateContent?alt=sse", &json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}))
        .await;
    assert_eq!(native.status, 200);
    assert!(!native.sse_data().iter().any(|d| d == "[DONE]"));
    let text: String = native
        .sse_json()
        .iter()
        .filter_map(|e| e["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "gemini shaped");
    app.stop().await;
}

#[actix_rt::test]
async fn anti_truncation_continues_until_the_marker() {
    let app = spawn_app().await;
    app.google
        .enqueue("p1", Reply::stream_chunks(["First half, ", "cut"]));
    app.google.enqueue(
        "p1",
        Reply::stream_chunks([" and the rest.", "\n[do", "ne]"]),
    );
    let answer = app
        .chat(json!({"model": "流式抗截断/gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "tell"}]}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let chunks = answer.sse_json();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "First half, cut and the rest.");
    assert!(!answer.text().contains("[done]"));
    let finishes = chunks
        .iter()
        .filter(|c| c["choices"][0]["finish_reason"].is_string())
        .count();
    assert_eq!(finishes, 1);
    let calls = app.upstream_calls();
    assert_eq!(calls.len(), 2);
    let system = calls[0].body["request"]["systemInstruction"].to_string();
    assert!(system.contains("[done]"));
    let second = &calls[1].body["request"]["contents"];
    assert_eq!(second[1]["role"], "model");
    assert_eq!(second[1]["parts"][0]["text"], "First half, cut");
    app.stop().await;
}

#[actix_rt::test]
async fn thought_signatures_survive_a_tool_round_trip() {
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        Reply::function_call(
            "get_weather",
            json!({"city": "Paris"}),
            Some("c2lnbmF0dXJlLTE="),
        ),
    );
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let first = app
        .chat(json!({"model": "gemini-3-pro-preview", "tools": tools, "messages": [{"role": "user", "content": "weather?"}]}))
        .await;
    assert_eq!(first.status, 200, "{}", first.text());
    let message = first.json()["choices"][0]["message"].clone();
    assert_eq!(first.json()["choices"][0]["finish_reason"], "tool_calls");
    let call = message["tool_calls"][0].clone();
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"city": "Paris"})
    );
    let second = app
        .chat(
            json!({"model": "gemini-3-pro-preview", "tools": tools, "messages": [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": null, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call["id"], "content": "{\"temp\": 21}"}
            ]}),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.text());
    let sent = &app.upstream_calls()[1].body["request"]["contents"];
    let model_turn = sent
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["role"] == "model")
        .unwrap();
    let part = model_turn["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p.get("functionCall").is_some())
        .unwrap();
    assert_eq!(part["thoughtSignature"], "c2lnbmF0dXJlLTE=");
    let response_turn = sent.as_array().unwrap().last().unwrap();
    assert_eq!(
        response_turn["parts"][0]["functionResponse"]["name"],
        "get_weather"
    );
    assert_eq!(
        response_turn["parts"][0]["functionResponse"]["response"]["temp"],
        21
    );
    app.stop().await;
}

async fn image_server() -> (String, actix_web::dev::ServerHandle) {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let png: &'static [u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3];
    let server = HttpServer::new(move || {
        App::new()
            .route(
                "/cat.png",
                web::get().to(move || async move {
                    HttpResponse::Ok().content_type("image/png").body(png)
                }),
            )
            .route(
                "/page",
                web::get()
                    .to(|| async { HttpResponse::Ok().content_type("text/html").body("<html>") }),
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
async fn image_urls_are_fetched_and_private_addresses_refused_by_default() {
    let (base, images) = image_server().await;
    let app = spawn_app().await;
    let ask = |url: String| {
        json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this"}, {"type": "image_url", "image_url": {"url": url}}]}]})
    };
    let answer = app.chat(ask(format!("{base}/cat.png"))).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let parts = &app.upstream_calls()[0].body["request"]["contents"][0]["parts"];
    assert_eq!(parts[1]["inlineData"]["mimeType"], "image/png");
    assert_eq!(parts[1]["inlineData"]["data"], "iVBORw0KGgoBAgM=");
    let not_image = app.chat(ask(format!("{base}/page"))).await;
    assert_eq!(not_image.status, 400);
    app.stop().await;

    let strict = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("IMAGE_FETCH_ALLOW_PRIVATE", "false"),
    )
    .await;
    let refused = strict.chat(ask(format!("{base}/cat.png"))).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(strict.upstream_calls().is_empty());
    strict.stop().await;
    images.stop(false).await;
}

#[actix_rt::test]
async fn count_tokens_is_forwarded() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1beta/models/gemini-2.5-pro:countTokens",
            &json!({"contents": [{"role": "user", "parts": [{"text": "one two three"}]}]}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["totalTokens"], 3);
    let call = &app.google.requests_to("countTokens")[0];
    assert_eq!(call.body["request"]["model"], "models/gemini-2.5-pro");
    app.stop().await;
}

#[actix_rt::test]
async fn a_stream_cut_mid_answer_ends_with_an_error_event() {
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        Reply::stream_chunks(["a", "b", "c", "d"]).cut_after(2),
    );
    let answer = app
        .chat(json!({"model": "gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(answer.status, 200);
    let chunks = answer.sse_json();
    assert!(
        chunks.iter().any(|c| c.get("error").is_some()),
        "{chunks:?}"
    );
    assert_eq!(answer.sse_data().last().unwrap(), "[DONE]");
    app.stop().await;
}

#[actix_rt::test]
async fn models_are_listed_in_both_shapes() {
    let app = spawn_app().await;
    let openai = app.get("/v1/models").await.json();
    let ids: Vec<&str> = openai["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for wanted in [
        "gemini-2.5-pro",
        "gemini-2.5-pro-maxthinking",
        "gemini-2.5-flash-search",
        "假流式/gemini-2.5-pro",
        "流式抗截断/gemini-3-pro-preview-high",
    ] {
        assert!(ids.contains(&wanted), "{wanted} missing");
    }
    let gemini = app.get("/v1beta/models").await.json();
    assert!(gemini["models"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "models/gemini-2.5-pro"));
    assert_eq!(
        app.send(app.client.get(app.url("/v1/models")), None)
            .await
            .status,
        401
    );
    app.stop().await;
}
