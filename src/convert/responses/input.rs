//! Responses API `input` items → Gemini `systemInstruction` parts and `contents`.
//!
//! Items: `message` (roles user / assistant / system / developer), `function_call` and
//! `function_call_output`, `custom_tool_call` and `custom_tool_call_output`, and `reasoning`, whose
//! `encrypted_content` puts the Gemini thought signature back on the next model part. Consecutive
//! contents with the same role are merged, as Gemini wants alternating turns.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::convert::gemini::fields::required_non_empty;
use crate::convert::gemini::lenient_json::{history_arguments, warn_repaired};
use crate::convert::gemini::parts::InlineImage;
use crate::convert::gemini::turns::SKIP_SIGNATURE_SENTINEL;
use crate::convert::responses::content::content_parts;
use crate::convert::responses::signature as responses_signature;
use crate::convert::responses::tools::{ToolKind, ToolRegistry};
use crate::convert::ConvertError;

/// What input conversion needs besides the items.
pub struct InputContext<'a> {
    pub images: &'a HashMap<String, InlineImage>,
    pub registry: &'a mut ToolRegistry,
    pub compatibility_mode: bool,
    /// Gemini 3 rejects function calls without a thought signature.
    pub needs_signatures: bool,
}

#[derive(Debug, Default, PartialEq)]
pub struct ConvertedInput {
    /// Parts of leading system / developer messages (to follow `instructions`).
    pub system_parts: Vec<Value>,
    pub contents: Vec<Value>,
}

#[derive(Default)]
struct State {
    out: ConvertedInput,
    before_conversation: bool,
    /// A signature from a `reasoning` item, waiting for the next model part.
    pending_signature: Option<String>,
    /// Call id → Gemini function name, to name the outputs.
    call_names: HashMap<String, String>,
}

/// Converts `(field, item)` pairs: the field names the item in error messages (`input[3]`).
pub fn convert_input<'v>(
    items: impl IntoIterator<Item = (String, &'v Value)>,
    ctx: &mut InputContext<'_>,
) -> Result<ConvertedInput, ConvertError> {
    let mut st = State {
        before_conversation: true,
        ..State::default()
    };
    let items: Vec<(String, &Value)> = items.into_iter().collect();
    let last = items.len().saturating_sub(1);
    for (position, (field, item)) in items.into_iter().enumerate() {
        let Some(item) = item.as_object() else {
            return Err(ConvertError::invalid(field, "must be an object"));
        };
        let kind = match item.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            // The short form `{"role": …, "content": …}` is a message.
            None | Some(Value::Null) if item.contains_key("role") => "message",
            None | Some(Value::Null) => {
                return Err(ConvertError::invalid(
                    format!("{field}.type"),
                    "is required",
                ))
            }
            Some(_) => {
                return Err(ConvertError::invalid(
                    format!("{field}.type"),
                    "must be a string",
                ))
            }
        };
        match kind {
            "message" => message(item, &field, ctx, &mut st)?,
            "reasoning" => {
                let signature = item
                    .get("encrypted_content")
                    .and_then(Value::as_str)
                    .and_then(responses_signature::decode);
                if let Some(signature) = signature {
                    st.pending_signature = Some(signature.to_owned());
                }
            }
            "function_call" => {
                let name = required_non_empty(item, "name", &field)?;
                let namespace = item.get("namespace").and_then(Value::as_str);
                let gemini = ctx
                    .registry
                    .gemini_name(name, namespace, ToolKind::Function);
                let args = if position == last {
                    strict_arguments(item.get("arguments"), &field)?
                } else {
                    let read = history_arguments(item.get("arguments"));
                    if let Some(repair) = read.repair {
                        let call = format!("function_call \"{name}\"");
                        warn_repaired(repair, &call, &format!("{field}.arguments"));
                    }
                    read.args
                };
                call(item, &field, gemini, args, ctx, &mut st)?;
            }
            "custom_tool_call" => {
                let name = required_non_empty(item, "name", &field)?;
                let gemini = ctx.registry.gemini_name(name, None, ToolKind::Custom);
                let input = match item.get("input") {
                    None | Some(Value::Null) => "",
                    Some(Value::String(input)) => input.as_str(),
                    Some(_) => {
                        return Err(ConvertError::invalid(
                            format!("{field}.input"),
                            "must be a string",
                        ))
                    }
                };
                call(item, &field, gemini, json!({"input": input}), ctx, &mut st)?;
            }
            "function_call_output" | "custom_tool_call_output" => {
                call_output(item, &field, ctx, &mut st)?
            }
            // Our own hosted-search items (and other servers') carry nothing Gemini can replay.
            "web_search_call" => {}
            other => {
                return Err(ConvertError::invalid(
                    format!("{field}.type"),
                    format!("unsupported input item type \"{other}\""),
                ))
            }
        }
    }
    if st.out.contents.is_empty() {
        if st.out.system_parts.is_empty() {
            return Err(ConvertError::invalid("input", "no item has any content"));
        }
        // Only instructions were sent: Gemini needs a user turn, so they become one.
        let parts = std::mem::take(&mut st.out.system_parts);
        st.out
            .contents
            .push(json!({"role": "user", "parts": parts}));
    }
    Ok(st.out)
}

fn message(
    item: &Map<String, Value>,
    field: &str,
    ctx: &InputContext<'_>,
    st: &mut State,
) -> Result<(), ConvertError> {
    let role = required_non_empty(item, "role", field)?;
    let mut parts = content_parts(item.get("content"), field, ctx.images)?;
    match role {
        "system" | "developer" => {
            if let Some(j) = parts.iter().position(|p| p.get("text").is_none()) {
                return Err(ConvertError::invalid(
                    format!("{field}.content[{j}]"),
                    "system and developer messages may only contain text",
                ));
            }
            if st.before_conversation && !ctx.compatibility_mode {
                st.out.system_parts.extend(parts);
            } else {
                push_turn(&mut st.out.contents, "user", parts);
            }
        }
        "user" => {
            st.before_conversation = false;
            st.pending_signature = None;
            push_turn(&mut st.out.contents, "user", parts);
        }
        "assistant" => {
            st.before_conversation = false;
            if let (Some(signature), Some(Value::Object(first))) =
                (st.pending_signature.take(), parts.first_mut())
            {
                first.insert("thoughtSignature".into(), json!(signature));
            }
            push_turn(&mut st.out.contents, "model", parts);
        }
        other => {
            return Err(ConvertError::invalid(
                format!("{field}.role"),
                format!("unknown role \"{other}\" (expected user, assistant, system or developer)"),
            ))
        }
    }
    Ok(())
}

fn call(
    item: &Map<String, Value>,
    field: &str,
    gemini_name: String,
    args: Value,
    ctx: &InputContext<'_>,
    st: &mut State,
) -> Result<(), ConvertError> {
    st.before_conversation = false;
    let call_id = required_non_empty(item, "call_id", field)?;
    st.call_names
        .insert(call_id.to_owned(), gemini_name.clone());
    let mut part = Map::new();
    part.insert(
        "functionCall".into(),
        json!({"id": call_id, "name": gemini_name, "args": args}),
    );
    let signature = match st.pending_signature.take() {
        Some(signature) => Some(signature),
        None if ctx.needs_signatures => Some(SKIP_SIGNATURE_SENTINEL.to_owned()),
        None => None,
    };
    if let Some(signature) = signature {
        part.insert("thoughtSignature".into(), Value::String(signature));
    }
    push_turn(&mut st.out.contents, "model", vec![Value::Object(part)]);
    Ok(())
}

fn call_output(
    item: &Map<String, Value>,
    field: &str,
    ctx: &InputContext<'_>,
    st: &mut State,
) -> Result<(), ConvertError> {
    st.before_conversation = false;
    st.pending_signature = None;
    let call_id = required_non_empty(item, "call_id", field)?;
    let Some(name) = st.call_names.get(call_id).cloned() else {
        return Err(ConvertError::invalid(
            format!("{field}.call_id"),
            format!("\"{call_id}\" matches no earlier function_call or custom_tool_call"),
        ));
    };
    let mut extra = Vec::new();
    let text = match item.get("output") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(_)) => {
            // Rich output: the text goes into the function response, images follow it as parts.
            let parts = content_parts(item.get("output"), field, ctx.images)?;
            let mut texts = Vec::new();
            for part in parts {
                match part.get("text").and_then(Value::as_str) {
                    Some(text) => texts.push(text.to_owned()),
                    None => extra.push(part),
                }
            }
            texts.join("\n")
        }
        Some(_) => {
            return Err(ConvertError::invalid(
                format!("{field}.output"),
                "must be a string or an array of content items",
            ))
        }
    };
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(object @ Value::Object(_)) => object,
        _ => json!({"result": text}),
    };
    let mut parts =
        vec![json!({"functionResponse": {"id": call_id, "name": name, "response": response}})];
    parts.extend(extra);
    push_turn(&mut st.out.contents, "user", parts);
    Ok(())
}

/// Arguments of the newest item: the client just wrote them, so broken ones are its error to fix.
/// (Older items are history and read leniently, see `lenient_json`.)
fn strict_arguments(arguments: Option<&Value>, field: &str) -> Result<Value, ConvertError> {
    let field = format!("{field}.arguments");
    match arguments {
        None | Some(Value::Null) => Ok(json!({})),
        Some(object @ Value::Object(_)) => Ok(object.clone()),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(json!({})),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(object @ Value::Object(_)) => Ok(object),
            Ok(_) => Err(ConvertError::invalid(field, "must be a JSON object")),
            Err(e) => Err(ConvertError::invalid(
                field,
                format!("is not valid JSON ({e})"),
            )),
        },
        Some(_) => Err(ConvertError::invalid(field, "must be a JSON string")),
    }
}

/// Append parts as a turn, merging into the previous turn when it has the same role.
fn push_turn(contents: &mut Vec<Value>, role: &str, parts: Vec<Value>) {
    if parts.is_empty() {
        return;
    }
    if let Some(last) = contents.last_mut() {
        if last.get("role").and_then(Value::as_str) == Some(role) {
            if let Some(Value::Array(existing)) = last.get_mut("parts") {
                existing.extend(parts);
                return;
            }
        }
    }
    contents.push(json!({"role": role, "parts": parts}));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert_with(items: Value, gemini3: bool) -> Result<ConvertedInput, ConvertError> {
        let images = HashMap::new();
        let mut registry = ToolRegistry::default();
        let mut ctx = InputContext {
            images: &images,
            registry: &mut registry,
            compatibility_mode: false,
            needs_signatures: gemini3,
        };
        let list = items.as_array().unwrap();
        convert_input(
            list.iter()
                .enumerate()
                .map(|(i, item)| (format!("input[{i}]"), item)),
            &mut ctx,
        )
    }

    fn convert(items: Value) -> ConvertedInput {
        convert_with(items, false).unwrap()
    }

    #[test]
    fn messages_golden() {
        let out = convert(json!([
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "be brief"}]},
            {"role": "system", "content": "no emoji"},
            {"role": "user", "content": [
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "auto"},
                {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"},
                {"type": "input_file", "filename": "b.pdf", "file_data": "JVBF"}
            ]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "seen", "annotations": []}]},
            {"role": "developer", "content": "late rule"}
        ]));
        assert_eq!(
            out,
            ConvertedInput {
                system_parts: vec![json!({"text": "be brief"}), json!({"text": "no emoji"})],
                contents: vec![
                    json!({"role": "user", "parts": [
                        {"text": "look"},
                        {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                        {"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}},
                        {"inlineData": {"mimeType": "application/pdf", "data": "JVBF"}}
                    ]}),
                    json!({"role": "model", "parts": [{"text": "seen"}]}),
                    json!({"role": "user", "parts": [{"text": "late rule"}]}),
                ],
            }
        );
    }

    #[test]
    fn tool_round_trip_carries_the_signature_onto_the_call() {
        let out = convert_with(
            json!([
                {"role": "user", "content": "list files"},
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "thinking"}],
                 "encrypted_content": "gemini-thought-signature:SIG1"},
                {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"},
                {"type": "function_call", "call_id": "call_2", "name": "close_agent", "namespace": "multi", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "a.txt"},
                {"type": "function_call_output", "call_id": "call_2", "output": "{\"ok\":true}"},
                {"type": "custom_tool_call", "call_id": "call_3", "name": "apply_patch", "input": "*** Begin Patch"},
                {"type": "custom_tool_call_output", "call_id": "call_3", "output": [{"type": "input_text", "text": "done"}]}
            ]),
            true,
        )
        .unwrap();
        assert_eq!(
            out.contents,
            vec![
                json!({"role": "user", "parts": [{"text": "list files"}]}),
                json!({"role": "model", "parts": [
                    {"functionCall": {"id": "call_1", "name": "exec_command", "args": {"cmd": "ls"}}, "thoughtSignature": "SIG1"},
                    {"functionCall": {"id": "call_2", "name": "multi__close_agent", "args": {}}, "thoughtSignature": "skip_thought_signature_validator"}
                ]}),
                json!({"role": "user", "parts": [
                    {"functionResponse": {"id": "call_1", "name": "exec_command", "response": {"result": "a.txt"}}},
                    {"functionResponse": {"id": "call_2", "name": "multi__close_agent", "response": {"ok": true}}}
                ]}),
                json!({"role": "model", "parts": [
                    {"functionCall": {"id": "call_3", "name": "apply_patch", "args": {"input": "*** Begin Patch"}}, "thoughtSignature": "skip_thought_signature_validator"}
                ]}),
                json!({"role": "user", "parts": [
                    {"functionResponse": {"id": "call_3", "name": "apply_patch", "response": {"result": "done"}}}
                ]}),
            ]
        );
    }

    #[test]
    fn signature_goes_onto_an_assistant_message_and_foreign_reasoning_is_ignored() {
        let out = convert(json!([
            {"role": "user", "content": "hi"},
            {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAforeign"},
            {"type": "reasoning", "summary": [], "encrypted_content": "gemini-thought-signature:S2"},
            {"role": "assistant", "content": "hello"}
        ]));
        assert_eq!(
            out.contents[1],
            json!({"role": "model", "parts": [{"text": "hello", "thoughtSignature": "S2"}]})
        );
    }

    #[test]
    fn broken_arguments_in_history_use_the_first_json_object() {
        let out = convert(json!([
            {"role": "user", "content": "go"},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"a\":1}{\"a\":1}"},
            {"type": "function_call", "call_id": "d", "name": "f", "arguments": "oops {\"b\":2"},
            {"type": "function_call", "call_id": "e", "name": "f", "arguments": "x {\"c\":3} y"},
            {"type": "function_call_output", "call_id": "e", "output": "ok"}
        ]));
        let args: Vec<&Value> = out.contents[1]["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["functionCall"]["args"])
            .collect();
        assert_eq!(args, vec![&json!({"a": 1}), &json!({}), &json!({"c": 3})]);
    }

    #[test]
    fn remote_images_come_from_the_fetched_map() {
        let mut images = HashMap::new();
        images.insert(
            "https://a.example/x.png".to_owned(),
            InlineImage {
                mime_type: "image/png".into(),
                data_base64: "QQ==".into(),
            },
        );
        let mut registry = ToolRegistry::default();
        let items = json!([{"role": "user", "content": [{"type": "input_image", "image_url": "https://a.example/x.png"}]}]);
        let out = convert_input(
            [("input[0]".to_owned(), &items[0])],
            &mut InputContext {
                images: &images,
                registry: &mut registry,
                compatibility_mode: false,
                needs_signatures: false,
            },
        )
        .unwrap();
        assert_eq!(
            out.contents,
            vec![
                json!({"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "QQ=="}}]})
            ]
        );
    }

    #[test]
    fn broken_arguments_in_the_newest_item_are_refused() {
        let err = convert_with(
            json!([
                {"role": "user", "content": "go"},
                {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"a\":1}{"}
            ]),
            false,
        )
        .unwrap_err();
        assert_eq!(err.field(), "input[1].arguments");
    }

    #[test]
    fn only_instructions_become_a_user_turn() {
        let out = convert(json!([{"role": "developer", "content": "say hi"}]));
        assert!(out.system_parts.is_empty());
        assert_eq!(
            out.contents,
            vec![json!({"role": "user", "parts": [{"text": "say hi"}]})]
        );
    }

    #[test]
    fn errors_name_the_field() {
        let user = json!({"role": "user", "content": "x"});
        let cases = [
            (json!([1]), "input[0]"),
            (json!([{"content": "x"}]), "input[0].type"),
            (
                json!([{"type": "message", "content": "x"}]),
                "input[0].role",
            ),
            (json!([{"role": "robot", "content": "x"}]), "input[0].role"),
            (json!([{"role": "user", "content": 5}]), "input[0].content"),
            (
                json!([{"role": "user", "content": [{"type": "input_audio"}]}]),
                "input[0].content[0].type",
            ),
            (
                json!([{"role": "user", "content": [{"type": "input_image", "image_url": "ftp://x"}]}]),
                "input[0].content[0].image_url",
            ),
            (
                json!([{"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}]),
                "input[0].content[0].image_url",
            ),
            (
                json!([{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]),
                "input[0].content[0]",
            ),
            (
                json!([{"role": "system", "content": [{"type": "input_image", "image_url": "data:image/png;base64,AA"}]}]),
                "input[0].content[0]",
            ),
            (
                json!([user, {"type": "function_call", "name": "f", "arguments": "{}"}]),
                "input[1].call_id",
            ),
            (
                json!([user, {"type": "function_call_output", "call_id": "zz", "output": "x"}]),
                "input[1].call_id",
            ),
            (
                json!([user, {"type": "item_reference", "id": "x"}]),
                "input[1].type",
            ),
            (json!([{"role": "user", "content": ""}]), "input"),
        ];
        for (items, field) in cases {
            let err = convert_with(items.clone(), false).unwrap_err();
            assert_eq!(err.field(), field, "{items}");
        }
    }
}
