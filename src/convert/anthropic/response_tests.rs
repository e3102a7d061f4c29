use super::*;
use crate::convert::anthropic::signature::{decode, SignatureTarget};

fn opts() -> StreamOptions {
    StreamOptions {
        show_thinking: true,
        stop_sequences: Vec::new(),
    }
}

fn stream(events: &[Value], opts: StreamOptions) -> Vec<Value> {
    let mut conv = AnthropicStreamConverter::new("claude-opus-4-8", opts);
    let mut out: Vec<Value> = events.iter().flat_map(|e| conv.on_event(e)).collect();
    out.extend(conv.finish());
    assert!(conv.finish().is_empty(), "finish is final");
    out
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let t = e["type"].as_str().unwrap().to_owned();
            match e["delta"]["type"].as_str() {
                Some(d) if t == "content_block_delta" => format!("{t}:{d}"),
                _ => match e["content_block"]["type"].as_str() {
                    Some(b) => format!("{t}:{b}"),
                    None => t,
                },
            }
        })
        .collect()
}

fn parts_event(parts: Value) -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": parts}}]})
}

#[test]
fn text_stream_has_anthropics_event_order_and_usage() {
    let events = stream(
        &[
            json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}],
                   "usageMetadata": {"promptTokenCount": 12}}),
            json!({"candidates": [{"content": {"parts": [{"text": "lo"}]}, "finishReason": "STOP"}],
                   "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 2,
                                     "thoughtsTokenCount": 5, "cachedContentTokenCount": 10}}),
        ],
        opts(),
    );
    assert_eq!(
        types(&events),
        [
            "message_start",
            "content_block_start:text",
            "content_block_delta:text_delta",
            "content_block_delta:text_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let start = &events[0]["message"];
    assert!(start["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(start["model"], "claude-opus-4-8");
    assert_eq!(start["role"], "assistant");
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["usage"]["input_tokens"], 12);
    assert_eq!(start["usage"]["output_tokens"], 0);
    assert_eq!(events[2]["delta"]["text"], "Hel");
    assert_eq!(events[3]["index"], 0);
    assert_eq!(
        events[5],
        json!({"type": "message_delta",
               "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"input_tokens": 2, "output_tokens": 7,
                         "cache_creation_input_tokens": 0, "cache_read_input_tokens": 10}})
    );
}

#[test]
fn thinking_then_tool_call_with_signatures_in_the_right_places() {
    let events = stream(
        &[
            parts_event(json!([{"text": "Let me ", "thought": true}])),
            parts_event(
                json!([{"text": "look.", "thought": true, "thoughtSignature": "VEhPVUdIVA=="}]),
            ),
            json!({"candidates": [{"content": {"parts": [
                {"functionCall": {"name": "Read", "args": {"file_path": "/a"}}, "thoughtSignature": "Q0FMTA=="}
            ]}, "finishReason": "STOP"}]}),
        ],
        opts(),
    );
    assert_eq!(
        types(&events),
        [
            "message_start",
            "content_block_start:thinking",
            "content_block_delta:thinking_delta",
            "content_block_delta:thinking_delta",
            "content_block_delta:signature_delta",
            "content_block_stop",
            "content_block_start:tool_use",
            "content_block_delta:input_json_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(
        decode(events[4]["delta"]["signature"].as_str().unwrap()),
        Some(SignatureTarget::Thought("VEhPVUdIVA==".into()))
    );
    let tool = &events[6]["content_block"];
    assert_eq!(tool["name"], "Read");
    assert_eq!(tool["input"], json!({}));
    let id = tool["id"].as_str().unwrap();
    assert!(
        id.starts_with("toolu_") && id.ends_with("__sig__Q0FMTA=="),
        "{id}"
    );
    assert_eq!(events[7]["index"], 1);
    assert_eq!(events[7]["delta"]["partial_json"], "{\"file_path\":\"/a\"}");
    assert_eq!(events[9]["delta"]["stop_reason"], "tool_use");
}

#[test]
fn text_signature_becomes_an_empty_thinking_block_after_the_text() {
    let events = stream(
        &[json!({"candidates": [{"content": {"parts": [
            {"text": "Answer"}, {"text": "", "thoughtSignature": "VEVYVA=="}
        ]}, "finishReason": "STOP"}]})],
        opts(),
    );
    assert_eq!(
        types(&events),
        [
            "message_start",
            "content_block_start:text",
            "content_block_delta:text_delta",
            "content_block_stop",
            "content_block_start:thinking",
            "content_block_delta:signature_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(
        decode(events[5]["delta"]["signature"].as_str().unwrap()),
        Some(SignatureTarget::PrecedingPart("VEVYVA==".into()))
    );
    assert_eq!(events[7]["delta"]["stop_reason"], "end_turn");
}

#[test]
fn omitted_thinking_keeps_only_the_signature() {
    let mut o = opts();
    o.show_thinking = false;
    let events = stream(
        &[
            parts_event(json!([{"text": "unsigned", "thought": true}])),
            parts_event(
                json!([{"text": "secret plan", "thought": true, "thoughtSignature": "U0lH"}, {"text": "Hi"}]),
            ),
        ],
        o,
    );
    assert_eq!(
        types(&events),
        [
            "message_start",
            "content_block_start:thinking",
            "content_block_delta:signature_delta",
            "content_block_stop",
            "content_block_start:text",
            "content_block_delta:text_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
}

#[test]
fn stop_sequence_cuts_the_text_and_is_reported() {
    let o = StreamOptions {
        show_thinking: true,
        stop_sequences: vec!["###".into()],
    };
    let mut conv = AnthropicStreamConverter::new("m", o);
    let mut events = conv.on_event(&parts_event(json!([{"text": "one #"}])));
    events.extend(conv.on_event(&parts_event(json!([{"text": "## two"}]))));
    assert!(conv.stopped());
    events.extend(conv.on_event(&parts_event(json!([{"text": "more"}]))));
    events.extend(conv.finish());
    let message = fold_events(&events);
    assert_eq!(
        message["content"],
        json!([{"type": "text", "text": "one "}])
    );
    assert_eq!(message["stop_reason"], "stop_sequence");
    assert_eq!(message["stop_sequence"], "###");
}

#[test]
fn finish_reasons_map_to_stop_reasons() {
    let with = |reason: &str, parts: Value| {
        let events = stream(
            &[json!({"candidates": [{"content": {"parts": parts}, "finishReason": reason}]})],
            opts(),
        );
        fold_events(&events)["stop_reason"].clone()
    };
    assert_eq!(with("MAX_TOKENS", json!([{"text": "cut"}])), "max_tokens");
    let call = json!([{"functionCall": {"name": "f", "args": {}}}]);
    assert_eq!(with("MAX_TOKENS", call.clone()), "max_tokens");
    assert_eq!(with("STOP", call), "tool_use");
    assert_eq!(with("SAFETY", json!([])), "refusal");
    let blocked = stream(
        &[json!({"promptFeedback": {"blockReason": "SAFETY"}})],
        opts(),
    );
    assert_eq!(fold_events(&blocked)["stop_reason"], "refusal");
}

#[test]
fn repeated_call_ids_are_sent_once_and_an_empty_stream_still_closes() {
    let call = parts_event(json!([{"functionCall": {"id": "c1", "name": "f", "args": {"a": 1}}}]));
    let events = stream(&[call.clone(), call], opts());
    let message = fold_events(&events);
    assert_eq!(
        message["content"],
        json!([{"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}}])
    );
    assert_eq!(
        types(&stream(&[], opts())),
        ["message_start", "message_delta", "message_stop"]
    );
}

#[test]
fn non_stream_message_golden() {
    let resp = json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "plan", "thought": true, "thoughtSignature": "VA=="},
            {"text": "Sure."},
            {"functionCall": {"id": "fc1", "name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "Qw=="}
        ]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 8, "thoughtsTokenCount": 4,
                          "cachedContentTokenCount": 20, "totalTokenCount": 42}
    });
    let mut message = gemini_to_anthropic_message(&resp, "claude-sonnet-4-5", opts());
    let id = message.as_object_mut().unwrap().remove("id").unwrap();
    assert!(id.as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        message,
        json!({
            "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [
                {"type": "thinking", "thinking": "plan", "signature": "gcli2api:thought:VA=="},
                {"type": "text", "text": "Sure."},
                {"type": "tool_use", "id": "fc1__sig__Qw==", "name": "get_weather", "input": {"city": "Paris"}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 12,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 20}
        })
    );
}
