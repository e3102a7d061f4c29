//! Tool turns in OpenAI history: assistant `tool_calls` → `functionCall` parts (with their thought
//! signatures), `tool`/`function` messages → `functionResponse` parts.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::lenient_json::{history_arguments, warn_repaired};
use super::openai_content::text_of_content;
use super::openai_messages::MessageContext;
use super::openai_tools::ToolNames;
use super::ConvertError;

/// Documented placeholder that tells Gemini 3 to accept a function call whose thought signature was
/// lost (e.g. history written by another model or a client that drops ids).
pub const SKIP_SIGNATURE_SENTINEL: &str = "skip_thought_signature_validator";

use super::openai_tools::required_name;
use super::tool_call_id::decode as decode_tool_call_id;

/// Parts for an assistant message's `tool_calls` (and the legacy `function_call`). `history` says
/// whether a later message follows: broken arguments there are repaired instead of refused (see
/// [`super::lenient_json`]).
pub fn assistant_call_parts(
    message: &Map<String, Value>,
    field: &str,
    ctx: &mut MessageContext<'_>,
    call_names: &mut HashMap<String, String>,
    history: bool,
) -> Result<Vec<Value>, ConvertError> {
    let mut parts = Vec::new();
    match message.get("tool_calls") {
        None | Some(Value::Null) => {}
        Some(Value::Array(calls)) => {
            for (j, call) in calls.iter().enumerate() {
                let call_field = format!("{field}.tool_calls[{j}]");
                parts.push(tool_call_part(call, &call_field, ctx, call_names, history)?);
            }
        }
        Some(_) => {
            return Err(ConvertError::invalid(
                format!("{field}.tool_calls"),
                "must be an array",
            ))
        }
    }
    match message.get("function_call") {
        None | Some(Value::Null) => {}
        Some(Value::Object(function)) => {
            let function_field = format!("{field}.function_call");
            let name = required_name(function, &function_field)?;
            let args = call_arguments(function, &function_field, None, history)?;
            let gemini_name = ctx.names.gemini_name(name);
            let call = json!({"name": gemini_name, "args": args});
            parts.push(function_call_part(call, None, ctx.needs_signatures));
        }
        Some(_) => {
            return Err(ConvertError::invalid(
                format!("{field}.function_call"),
                "must be an object",
            ))
        }
    }
    Ok(parts)
}

fn tool_call_part(
    call: &Value,
    field: &str,
    ctx: &mut MessageContext<'_>,
    call_names: &mut HashMap<String, String>,
    history: bool,
) -> Result<Value, ConvertError> {
    let Some(call) = call.as_object() else {
        return Err(ConvertError::invalid(field, "must be an object"));
    };
    let id = match call.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.as_str()),
        Some(_) => {
            return Err(ConvertError::invalid(
                format!("{field}.id"),
                "must be a string",
            ))
        }
    };
    let function_field = format!("{field}.function");
    let function = match call.get("function") {
        Some(Value::Object(function)) => function,
        None | Some(Value::Null) => {
            return Err(ConvertError::invalid(function_field, "is required"))
        }
        Some(_) => return Err(ConvertError::invalid(function_field, "must be an object")),
    };
    let name = required_name(function, &function_field)?;
    let args = call_arguments(function, &function_field, id, history)?;
    let gemini_name = ctx.names.gemini_name(name);

    let (plain_id, signature) = match id {
        Some(id) => {
            let (plain, signature) = decode_tool_call_id(id);
            (Some(plain).filter(|p| !p.is_empty()), signature)
        }
        None => (None, None),
    };
    let mut call = Map::new();
    if let Some(plain) = &plain_id {
        call.insert("id".into(), json!(plain));
        call_names.insert(plain.clone(), gemini_name.clone());
    }
    call.insert("name".into(), json!(gemini_name));
    call.insert("args".into(), args);
    Ok(function_call_part(
        Value::Object(call),
        signature,
        ctx.needs_signatures,
    ))
}

/// The signature travels beside `functionCall` in the same part.
fn function_call_part(call: Value, signature: Option<String>, needs_signatures: bool) -> Value {
    let mut part = Map::new();
    part.insert("functionCall".into(), call);
    let signature = match signature {
        Some(signature) => Some(signature),
        None if needs_signatures => Some(SKIP_SIGNATURE_SENTINEL.to_owned()),
        None => None,
    };
    if let Some(signature) = signature {
        part.insert("thoughtSignature".into(), Value::String(signature));
    }
    Value::Object(part)
}

/// The arguments of one call: strict for the new message, lenient for history.
fn call_arguments(
    function: &Map<String, Value>,
    function_field: &str,
    call_id: Option<&str>,
    history: bool,
) -> Result<Value, ConvertError> {
    let arguments = function.get("arguments");
    if !history {
        return parse_arguments(arguments, function_field, call_id);
    }
    let read = history_arguments(arguments);
    if let Some(repair) = read.repair {
        let name = function.get("name").and_then(Value::as_str).unwrap_or("");
        let call = match call_id {
            Some(id) => format!("tool call \"{id}\" ({name})"),
            None => format!("tool call {name}"),
        };
        warn_repaired(repair, &call, &format!("{function_field}.arguments"));
    }
    Ok(read.args)
}

/// Tool-call arguments arrive as a JSON string; Gemini wants the object.
fn parse_arguments(
    arguments: Option<&Value>,
    function_field: &str,
    call_id: Option<&str>,
) -> Result<Value, ConvertError> {
    let field = format!("{function_field}.arguments");
    let call = call_id.map_or_else(
        || "the tool call".to_owned(),
        |id| format!("tool call \"{id}\""),
    );
    match arguments {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::Object(_)) => Ok(arguments.cloned().unwrap_or_default()),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(json!({})),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(parsed @ Value::Object(_)) => Ok(parsed),
            Ok(_) => Err(ConvertError::invalid(
                field,
                format!("arguments of {call} must be a JSON object"),
            )),
            Err(e) => Err(ConvertError::invalid(
                field,
                format!("arguments of {call} are not valid JSON ({e})"),
            )),
        },
        Some(_) => Err(ConvertError::invalid(field, "must be a JSON string")),
    }
}

/// A `tool` message → `functionResponse`, named after the matching earlier call (else `name`).
pub fn tool_result_part(
    message: &Map<String, Value>,
    field: &str,
    names: &mut ToolNames,
    call_names: &HashMap<String, String>,
) -> Result<Value, ConvertError> {
    let id_field = format!("{field}.tool_call_id");
    let plain_id = match message.get("tool_call_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(decode_tool_call_id(id).0),
        Some(_) => return Err(ConvertError::invalid(id_field, "must be a string")),
    };
    let matched = plain_id.as_ref().and_then(|id| call_names.get(id)).cloned();
    let name = match (matched, message.get("name")) {
        (Some(name), _) => name,
        (None, Some(Value::String(name))) if !name.is_empty() => names.gemini_name(name),
        (None, _) => {
            let detail = match &plain_id {
                Some(id) => format!(
                    "\"{id}\" matches no earlier assistant tool call and the message has no name"
                ),
                None => "is required".to_owned(),
            };
            return Err(ConvertError::invalid(id_field, detail));
        }
    };
    let response = tool_response(message.get("content"), field)?;
    let mut function_response = Map::new();
    if let Some(id) = plain_id.filter(|id| !id.is_empty()) {
        function_response.insert("id".into(), json!(id));
    }
    function_response.insert("name".into(), json!(name));
    function_response.insert("response".into(), response);
    Ok(json!({"functionResponse": function_response}))
}

/// A legacy `function` message → `functionResponse` without an id.
pub fn legacy_function_result_part(
    message: &Map<String, Value>,
    field: &str,
    names: &mut ToolNames,
) -> Result<Value, ConvertError> {
    let name = match message.get("name") {
        Some(Value::String(name)) if !name.is_empty() => names.gemini_name(name),
        _ => {
            return Err(ConvertError::invalid(
                format!("{field}.name"),
                "is required for function messages",
            ))
        }
    };
    let response = tool_response(message.get("content"), field)?;
    Ok(json!({"functionResponse": {"name": name, "response": response}}))
}

/// A JSON object result is sent as is; anything else is wrapped as `{"result": ...}`.
fn tool_response(content: Option<&Value>, field: &str) -> Result<Value, ConvertError> {
    let text = text_of_content(content, field)?;
    Ok(match serde_json::from_str::<Value>(&text) {
        Ok(object @ Value::Object(_)) => object,
        Ok(other) => json!({"result": other}),
        Err(_) => json!({"result": text}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::openai_messages::{convert_messages, ConvertedMessages};

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
}
