//! Tool turns (assistant `tool_calls`, `tool` and `function` results) checked through the whole message
//! conversion, which is how they are used; kept beside `messages.rs` so `tool_turns.rs` needs no
//! import of the message loop.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::*;
use crate::convert::gemini::tool_call_id::decode as decode_tool_call_id;
use crate::convert::gemini::tool_names::ToolNames;
use crate::convert::gemini::turns::SKIP_SIGNATURE_SENTINEL;
use crate::convert::openai_chat::message_context::MessageContext;
use crate::convert::ConvertError;

fn convert_with(
    messages: Value,
    compatibility_mode: bool,
    gemini3: bool,
) -> Result<ConvertedMessages, ConvertError> {
    let images = HashMap::new();
    let mut names = ToolNames::default();
    let mut ctx = MessageContext {
        images: &images,
        names: &mut names,
        compatibility_mode,
        needs_signatures: gemini3,
    };
    convert_messages(messages.as_array().unwrap(), &mut ctx)
}

#[test]
fn tool_call_ids_split_into_plain_id_and_signature() {
    assert_eq!(decode_tool_call_id("call_1"), ("call_1".to_string(), None));
    assert_eq!(
        decode_tool_call_id("call_1__sig__Q+/=_-"),
        ("call_1".to_string(), Some("Q+/=_-".to_string()))
    );
    assert_eq!(
        decode_tool_call_id("call_1__sig__"),
        ("call_1".to_string(), None)
    );
}

fn convert(messages: Value) -> ConvertedMessages {
    convert_with(messages, false, false).unwrap()
}

#[test]
fn tool_calls_and_results_round_trip_with_ids_and_signatures() {
    let out = convert_with(
        json!([
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": "checking", "tool_calls": [
                {"id": "call_1__sig__c2lnbmF0dXJl+/=", "type": "function", "function": {"name": "get weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "call_1__sig__c2lnbmF0dXJl+/=", "content": "{\"temp\": 21}"},
            {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
            {"role": "user", "content": "thanks"}
        ]),
        false,
        true,
    )
    .unwrap();
    assert_eq!(
        out.contents,
        vec![
            json!({"role": "user", "parts": [{"text": "weather?"}]}),
            json!({"role": "model", "parts": [
                {"text": "checking"},
                {"functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2lnbmF0dXJl+/="},
                {"functionCall": {"id": "call_2", "name": "now", "args": {}}, "thoughtSignature": SKIP_SIGNATURE_SENTINEL}
            ]}),
            json!({"role": "user", "parts": [
                {"functionResponse": {"id": "call_1", "name": "get_weather", "response": {"temp": 21}}},
                {"functionResponse": {"id": "call_2", "name": "now", "response": {"result": "noon"}}},
                {"text": "thanks"}
            ]}),
        ]
    );
}

#[test]
fn no_sentinel_before_gemini_3() {
    let out = convert(json!([
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]}
    ]));
    assert_eq!(
        out.contents[1],
        json!({"role": "model", "parts": [{"functionCall": {"id": "c", "name": "f", "args": {}}}]})
    );
}

#[test]
fn tool_result_name_falls_back_to_message_name() {
    let out = convert(json!([
        {"role": "user", "content": "x"},
        {"role": "tool", "tool_call_id": "unknown", "name": "lookup", "content": "[1,2]"},
        {"role": "function", "name": "legacy", "content": "ok"}
    ]));
    assert_eq!(
        out.contents[0],
        json!({"role": "user", "parts": [
            {"text": "x"},
            {"functionResponse": {"id": "unknown", "name": "lookup", "response": {"result": [1, 2]}}},
            {"functionResponse": {"name": "legacy", "response": {"result": "ok"}}}
        ]})
    );
}

#[test]
fn legacy_function_call_becomes_a_function_call_part() {
    let out = convert(json!([
        {"role": "user", "content": "x"},
        {"role": "assistant", "function_call": {"name": "f", "arguments": "{\"a\":1}"}}
    ]));
    assert_eq!(
        out.contents[1],
        json!({"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"a": 1}}}]})
    );
}

#[test]
fn broken_arguments_in_history_keep_the_first_object_and_the_pairing() {
    let out = convert(json!([
        {"role": "user", "content": "weather in two cities?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather",
             "arguments": "{\"city\": \"Beijing\"}{\"city\": \"Shanghai\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": "{oops"}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
        {"role": "assistant", "function_call": {"name": "legacy", "arguments": 7}},
        {"role": "function", "name": "legacy", "content": "ok"},
        {"role": "user", "content": "and tomorrow?"}
    ]));
    assert_eq!(
        out.contents[1],
        json!({"role": "model", "parts": [
            {"functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Beijing"}}},
            {"functionCall": {"id": "call_2", "name": "now", "args": {}}}
        ]})
    );
    assert_eq!(
        out.contents[2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"id": "call_1", "name": "get_weather", "response": {"result": "sunny"}}},
            {"functionResponse": {"id": "call_2", "name": "now", "response": {"result": "noon"}}}
        ]})
    );
    assert_eq!(
        out.contents[3],
        json!({"role": "model", "parts": [{"functionCall": {"name": "legacy", "args": {}}}]})
    );
}

#[test]
fn malformed_arguments_in_the_last_message_are_refused() {
    let err = convert_with(
        json!([
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f",
             "arguments": "{\"a\": 1}{\"a\": 2}"}}]}
        ]),
        false,
        false,
    )
    .unwrap_err();
    assert_eq!(err.field(), "messages[1].tool_calls[0].function.arguments");
}

#[test]
fn malformed_arguments_name_the_field_and_call_id() {
    let err = convert_with(
        json!([
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"id": "call_9", "function": {"name": "f", "arguments": "{oops"}}]}
        ]),
        false,
        false,
    )
    .unwrap_err();
    assert_eq!(err.field(), "messages[1].tool_calls[0].function.arguments");
    assert!(err.to_string().contains("\"call_9\""), "{err}");
    assert!(err.to_string().contains("not valid JSON"), "{err}");
}
