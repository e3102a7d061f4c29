use super::*;
use crate::convert::responses::tools::{ToolMap, ToolRegistry};

fn header(tools: ToolMap, return_thoughts: bool) -> ResponseHeader {
    let mut echo = Map::new();
    echo.insert("store".into(), json!(true));
    let mut header = ResponseHeader::new("gemini-2.5-pro", echo, tools, return_thoughts);
    header.id = "resp_1".into();
    header.created_at = 7;
    header
}

/// Replaces generated item ids by stable ones, in order of appearance.
fn stable_ids(value: &mut Value, seen: &mut Vec<String>) {
    match value {
        Value::String(text)
            if ["rs_", "msg_", "fc_", "ctc_", "call_"]
                .iter()
                .any(|p| text.starts_with(p) && text.len() > 20) =>
        {
            let position = seen.iter().position(|s| s == text).unwrap_or_else(|| {
                seen.push(text.clone());
                seen.len() - 1
            });
            let prefix = text.split('_').next().unwrap().to_owned();
            *text = format!("{prefix}_{position}");
        }
        Value::Array(items) => items.iter_mut().for_each(|v| stable_ids(v, seen)),
        Value::Object(map) => map.values_mut().for_each(|v| stable_ids(v, seen)),
        _ => {}
    }
}

fn stream_all(stream: &mut ResponsesStream, events: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = events.iter().flat_map(|e| stream.on_event(e)).collect();
    out.extend(stream.finish());
    let mut seen = Vec::new();
    out.iter_mut().for_each(|v| stable_ids(v, &mut seen));
    out
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn text(t: &str) -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": [{"text": t}]}}]})
}

#[test]
fn text_stream_event_order_and_sequence_numbers() {
    let mut stream = ResponsesStream::new(header(ToolMap::default(), true));
    let mut last = text("!");
    last["candidates"][0]["finishReason"] = json!("STOP");
    last["usageMetadata"] =
        json!({"promptTokenCount": 5, "candidatesTokenCount": 2, "totalTokenCount": 7});
    let events = stream_all(&mut stream, &[text("Hel"), text("lo"), last]);
    assert_eq!(
        types(&events),
        vec![
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["sequence_number"], json!(i));
    }
    assert_eq!(events[0]["response"]["status"], "in_progress");
    assert_eq!(events[0]["response"]["usage"], Value::Null);
    assert_eq!(events[5]["delta"], "lo");
    assert_eq!(events[7]["text"], "Hello!");
    assert_eq!(
        events[10]["response"],
        json!({
            "id": "resp_1", "object": "response", "created_at": 7, "status": "completed",
            "error": null, "incomplete_details": null, "model": "gemini-2.5-pro", "store": true,
            "output": [{"id": "msg_0", "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": "Hello!", "annotations": [], "logprobs": []}]}],
            "usage": {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 2, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 7}
        })
    );
}

#[test]
fn thoughts_then_signed_call_golden() {
    let mut registry = ToolRegistry::default();
    registry.gemini_name("exec_command", None, ToolKind::Function);
    registry.gemini_name("close_agent", Some("multi"), ToolKind::Function);
    registry.gemini_name("apply_patch", None, ToolKind::Custom);
    let mut stream = ResponsesStream::new(header(registry.map, true));
    let events = stream_all(
        &mut stream,
        &[
            json!({"candidates": [{"content": {"parts": [{"text": "Let me ", "thought": true}]}}]}),
            json!({"candidates": [{"content": {"parts": [{"text": "look.", "thought": true}]}}]}),
            json!({"candidates": [{"content": {"parts": [
                {"functionCall": {"id": "g1", "name": "exec_command", "args": {"cmd": "ls"}}, "thoughtSignature": "SIG"},
                {"functionCall": {"name": "multi__close_agent", "args": {"target": "a"}}},
                {"functionCall": {"id": "g1", "name": "exec_command", "args": {"cmd": "ls"}}},
                {"functionCall": {"id": "g3", "name": "apply_patch", "args": {"input": "*** Begin Patch"}}}
            ]}, "finishReason": "STOP"}],
             "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 4, "thoughtsTokenCount": 6, "cachedContentTokenCount": 3}}),
        ],
    );
    assert_eq!(
        types(&events),
        vec![
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.custom_tool_call_input.delta",
            "response.custom_tool_call_input.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let response = &events.last().unwrap()["response"];
    assert_eq!(
        response["output"],
        json!([
            {"id": "rs_0", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Let me look."}],
             "encrypted_content": "gemini-thought-signature:SIG"},
            {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "g1", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"},
            {"id": "fc_2", "type": "function_call", "status": "completed", "call_id": "call_3", "name": "close_agent",
             "namespace": "multi", "arguments": "{\"target\":\"a\"}"},
            {"id": "ctc_4", "type": "custom_tool_call", "status": "completed", "call_id": "g3", "name": "apply_patch", "input": "*** Begin Patch"}
        ])
    );
    assert_eq!(
        response["usage"],
        json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 3},
            "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 6}, "total_tokens": 20})
    );
    assert_eq!(events[10]["delta"], "{\"cmd\":\"ls\"}");
}

#[test]
fn signature_without_thought_text_gets_its_own_reasoning_item() {
    let resp = json!({"candidates": [{"content": {"parts": [
        {"text": "hidden", "thought": true},
        {"text": "answer", "thoughtSignature": "S1"}
    ]}, "finishReason": "STOP"}]});
    let mut out = gemini_to_response(&resp, header(ToolMap::default(), false));
    stable_ids(&mut out, &mut Vec::new());
    assert_eq!(
        out["output"],
        json!([
            {"id": "rs_0", "type": "reasoning", "summary": [], "encrypted_content": "gemini-thought-signature:S1"},
            {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": "answer", "annotations": [], "logprobs": []}]}
        ])
    );
    let resp = json!({"candidates": [{"content": {"parts": [
        {"functionCall": {"id": "c", "name": "f", "args": {}}, "thoughtSignature": "S2"}
    ]}}]});
    let out = gemini_to_response(&resp, header(ToolMap::default(), true));
    assert_eq!(out["output"][0]["type"], "reasoning");
    assert_eq!(
        out["output"][0]["encrypted_content"],
        "gemini-thought-signature:S2"
    );
    assert_eq!(out["output"][1]["type"], "function_call");
}

#[test]
fn usage_is_always_complete() {
    let out = gemini_to_response(&text("x"), header(ToolMap::default(), true));
    assert_eq!(
        out["usage"],
        json!({"input_tokens": 0, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 0, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 0})
    );
}

#[test]
fn token_limit_and_filters_make_the_response_incomplete() {
    let mut cut = text("partial");
    cut["candidates"][0]["finishReason"] = json!("MAX_TOKENS");
    let mut stream = ResponsesStream::new(header(ToolMap::default(), true));
    let events = stream_all(&mut stream, &[cut]);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(last["response"]["status"], "incomplete");
    assert_eq!(
        last["response"]["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    let blocked = json!({"promptFeedback": {"blockReason": "SAFETY"}});
    let out = gemini_to_response(&blocked, header(ToolMap::default(), true));
    assert_eq!(out["status"], "incomplete");
    assert_eq!(out["incomplete_details"]["reason"], "content_filter");
    assert_eq!(out["output"], json!([]));
}

#[test]
fn failure_after_start_is_response_failed_and_before_is_error() {
    let mut stream = ResponsesStream::new(header(ToolMap::default(), true));
    let mut events = stream.on_event(&text("half"));
    events.extend(stream.fail("upstream timed out", "server_error"));
    assert!(stream.finish().is_empty());
    let kinds = types(&events);
    assert_eq!(
        &kinds[kinds.len() - 4..],
        &[
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.failed"
        ]
    );
    let failed = events.last().unwrap();
    assert_eq!(failed["response"]["status"], "failed");
    assert_eq!(
        failed["response"]["error"],
        json!({"code": "server_error", "message": "upstream timed out"})
    );

    let mut fresh = ResponsesStream::new(header(ToolMap::default(), true));
    let events = fresh.fail("quota", "rate_limit_exceeded");
    assert_eq!(
        events,
        vec![
            json!({"type": "error", "sequence_number": 0, "code": "rate_limit_exceeded", "message": "quota", "param": null})
        ]
    );
}

#[test]
fn heartbeats_open_the_response_then_repeat_in_progress() {
    let mut stream = ResponsesStream::new(header(ToolMap::default(), true));
    assert_eq!(stream.heartbeat()["type"], "response.created");
    let beat = stream.heartbeat();
    assert_eq!(beat["type"], "response.in_progress");
    assert_eq!(beat["sequence_number"], 1);
    let rest = stream.on_event(&text("hi"));
    assert_eq!(rest[0]["type"], "response.output_item.added");
    assert_eq!(rest[0]["sequence_number"], 2);
}

#[test]
fn whole_response_equals_the_stream_result() {
    let resp = json!({"candidates": [{"content": {"parts": [
        {"text": "plan", "thought": true, "thoughtSignature": "T"},
        {"text": "done"}
    ]}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 1}});
    let mut whole = gemini_to_response(&resp, header(ToolMap::default(), true));
    stable_ids(&mut whole, &mut Vec::new());
    let mut stream = ResponsesStream::new(header(ToolMap::default(), true));
    let events = stream_all(&mut stream, &[resp]);
    assert_eq!(events.last().unwrap()["response"], whole);
    assert_eq!(whole["output"][0]["summary"][0]["text"], "plan");
    assert_eq!(
        whole["output"][0]["encrypted_content"],
        "gemini-thought-signature:T"
    );
}

#[test]
fn without_parallel_tool_calls_only_the_first_call_is_reported() {
    let mut h = header(ToolMap::default(), true);
    h.echo.insert("parallel_tool_calls".into(), json!(false));
    let resp = json!({"candidates": [{"content": {"parts": [
        {"functionCall": {"id": "a", "name": "f", "args": {}}},
        {"functionCall": {"id": "b", "name": "g", "args": {}}}
    ]}}]});
    let out = gemini_to_response(&resp, h);
    let calls: Vec<&str> = out["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(calls, ["a"]);
    let out = gemini_to_response(&resp, header(ToolMap::default(), true));
    assert_eq!(out["output"].as_array().unwrap().len(), 2);
}
