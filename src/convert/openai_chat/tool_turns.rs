//! Tool turns in OpenAI history: assistant `tool_calls` → `functionCall` parts (with their thought
//! signatures), `tool`/`function` messages → `functionResponse` parts.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::convert::gemini::fields::required_non_empty;
use crate::convert::gemini::lenient_json::{history_arguments, warn_repaired};
use crate::convert::gemini::tool_names::ToolNames;
use crate::convert::gemini::turns::SKIP_SIGNATURE_SENTINEL;
use crate::convert::openai_chat::content::text_of_content;
use crate::convert::openai_chat::message_context::MessageContext;
use crate::convert::ConvertError;

use crate::convert::gemini::tool_call_id::decode as decode_tool_call_id;

/// Parts for an assistant message's `tool_calls` (and the legacy `function_call`). `history` says
/// whether a later message follows: broken arguments there are repaired instead of refused (see
/// [`crate::convert::gemini::lenient_json`]).
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
            let name = required_non_empty(function, "name", &function_field)?;
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
    let name = required_non_empty(function, "name", &function_field)?;
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
