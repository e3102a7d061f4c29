//! Anthropic Messages streams through the real gateway: event order, in-stream errors, pings, fake
//! streaming, anti-truncation and stop sequences.

use serde_json::json;

use crate::anthropic::{hello, messages, named_events, names, VERSION};
use crate::fake_google::Reply;
use crate::harness::*;

#[actix_rt::test]
async fn streamed_message_has_anthropics_event_order() {
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        Reply::stream_chunks(["Hel", "lo ", "there"]).with_thought("thinking hard"),
    );
    let req = app
        .client
        .post(app.url("/v1/messages"))
        .bearer_auth(PASSWORD)
        .insert_header(VERSION);
    let answer = app.send(req, Some(&hello("claude-haiku-4-5", true))).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let events = named_events(&answer);
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(events[0].1["message"]["model"], "claude-haiku-4-5");
    assert_eq!(events[1].1["content_block"]["type"], "thinking");
    assert_eq!(
        events[2].1["delta"],
        json!({"type": "thinking_delta", "thinking": "thinking hard"})
    );
    let text: String = events
        .iter()
        .filter(|(_, d)| d["delta"]["type"] == "text_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Hello there");
    assert_eq!(events[9].1["delta"]["stop_reason"], "end_turn");
    assert_eq!(events[9].1["usage"]["output_tokens"], 4);
    assert_eq!(app.upstream_calls()[0].body["model"], "gemini-2.5-flash");
    app.stop().await;
}

#[actix_rt::test]
async fn a_failure_inside_a_stream_is_an_error_event() {
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        Reply::stream_chunks(["one ", "two ", "three"]).cut_after(1),
    );
    let answer = messages(&app, &hello("claude-sonnet-4", true)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let events = named_events(&answer);
    let (last, data) = events.last().unwrap();
    assert_eq!(last, "error", "{}", answer.text());
    assert_eq!(data["error"]["type"], "api_error");
    assert!(!names(&events).contains(&"message_stop"));
    app.stop().await;
}

#[actix_rt::test]
async fn fake_streaming_pings_then_sends_the_whole_answer() {
    let app = spawn_app().await;
    app.google
        .enqueue("p1", Reply::text("All at once").delay_ms(700));
    let answer = messages(&app, &hello("假流式/claude-haiku-4-5", true)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let events = named_events(&answer);
    assert_eq!(events[0].0, "ping", "{}", answer.text());
    let rest: Vec<&str> = names(&events)
        .into_iter()
        .filter(|n| *n != "ping")
        .collect();
    assert_eq!(
        rest,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let calls = app.upstream_calls();
    assert!(calls[0].path.ends_with(":generateContent"));
    assert_eq!(calls[0].body["model"], "gemini-2.5-flash");
    app.stop().await;
}

#[actix_rt::test]
async fn anti_truncation_continues_until_the_marker() {
    let app = spawn_app().await;
    app.google
        .enqueue("p1", Reply::stream_chunks(["part one "]));
    app.google
        .enqueue("p1", Reply::stream_chunks(["part two [done]"]));
    let answer = messages(&app, &hello("流式抗截断/claude-haiku-4-5", true)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let events = named_events(&answer);
    let text: String = events
        .iter()
        .filter(|(_, d)| d["delta"]["type"] == "text_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "part one part two");
    assert_eq!(
        names(&events)
            .iter()
            .filter(|n| **n == "message_stop")
            .count(),
        1
    );
    assert_eq!(app.upstream_calls().len(), 2);
    app.stop().await;
}

#[actix_rt::test]
async fn stop_sequences_end_the_stream_early() {
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        Reply::stream_chunks(["alpha ", "beta ST", "OP gamma", " delta"]),
    );
    let mut body = hello("claude-haiku-4-5", true);
    body["stop_sequences"] = json!(["STOP"]);
    let answer = messages(&app, &body).await;
    let events = named_events(&answer);
    let text: String = events
        .iter()
        .filter(|(_, d)| d["delta"]["type"] == "text_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "alpha beta ");
    let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "stop_sequence", "stop_sequence": "STOP"})
    );
    let sent = &app.upstream_calls()[0].body["request"]["generationConfig"];
    assert_eq!(sent.get("stopSequences"), None);
    app.stop().await;
}

#[actix_rt::test]
async fn a_silent_live_stream_gets_pings() {
    // The harness sets FAKE_STREAM_HEARTBEAT_INTERVAL=0.2 s; Google pauses 700 ms between events.
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        Reply::stream_chunks(["slow ", "answer"]).interval_ms(700),
    );
    app.google.enqueue(
        "p1",
        Reply::stream_chunks(["slow ", "answer [done]"]).interval_ms(700),
    );
    for model in ["claude-haiku-4-5", "流式抗截断/claude-haiku-4-5"] {
        let answer = messages(&app, &hello(model, true)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let events = named_events(&answer);
        let pings = names(&events).iter().filter(|n| **n == "ping").count();
        assert!(pings >= 2, "{model}: {}", answer.text());
        assert_eq!(events[0].0, "message_start");
        assert_eq!(events.last().unwrap().0, "message_stop");
    }
    app.stop().await;
}
