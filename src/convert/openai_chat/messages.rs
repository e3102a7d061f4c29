//! OpenAI `messages` → Gemini `systemInstruction` and `contents`.
//!
//! Gemini wants alternating `user`/`model` turns, so consecutive contents with the same role are
//! merged; tool results travel as `functionResponse` parts of a user turn.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::convert::gemini::turns::push_turn;
use crate::convert::openai_chat::content::content_parts;
use crate::convert::openai_chat::message_context::MessageContext;
use crate::convert::openai_chat::tool_turns::{
    assistant_call_parts, legacy_function_result_part, tool_result_part,
};
use crate::convert::ConvertError;

#[derive(Debug, PartialEq)]
pub struct ConvertedMessages {
    pub system_instruction: Option<Value>,
    pub contents: Vec<Value>,
}

/// Leading system/developer messages become `systemInstruction` (unless compatibility mode is on);
/// later ones are sent as user text.
pub fn convert_messages(
    messages: &[Value],
    ctx: &mut MessageContext<'_>,
) -> Result<ConvertedMessages, ConvertError> {
    let mut system_parts = Vec::new();
    let mut contents: Vec<Value> = Vec::new();
    // Call id → Gemini function name, to name tool results.
    let mut call_names: HashMap<String, String> = HashMap::new();
    let mut before_conversation = true;

    for (i, message) in messages.iter().enumerate() {
        let field = format!("messages[{i}]");
        // Every message but the last is history the client replays (see `lenient_json`).
        let history = i + 1 < messages.len();
        let Some(message) = message.as_object() else {
            return Err(ConvertError::invalid(field, "must be an object"));
        };
        let role = match message.get("role") {
            Some(Value::String(role)) => role.as_str(),
            None | Some(Value::Null) => {
                return Err(ConvertError::invalid(
                    format!("{field}.role"),
                    "is required",
                ))
            }
            Some(_) => {
                return Err(ConvertError::invalid(
                    format!("{field}.role"),
                    "must be a string",
                ))
            }
        };
        match role {
            "system" | "developer" => {
                let parts = content_parts(message.get("content"), &field, ctx.images)?;
                if let Some(j) = parts.iter().position(|p| p.get("text").is_none()) {
                    return Err(ConvertError::invalid(
                        format!("{field}.content[{j}]"),
                        "system messages may only contain text",
                    ));
                }
                if before_conversation && !ctx.compatibility_mode {
                    system_parts.extend(parts);
                } else {
                    push_turn(&mut contents, "user", parts);
                }
            }
            "user" => {
                before_conversation = false;
                let parts = content_parts(message.get("content"), &field, ctx.images)?;
                push_turn(&mut contents, "user", parts);
            }
            "assistant" => {
                before_conversation = false;
                let parts = assistant_parts(message, &field, ctx, &mut call_names, history)?;
                push_turn(&mut contents, "model", parts);
            }
            "tool" => {
                before_conversation = false;
                let part = tool_result_part(message, &field, ctx.names, &call_names)?;
                push_turn(&mut contents, "user", vec![part]);
            }
            "function" => {
                before_conversation = false;
                let part = legacy_function_result_part(message, &field, ctx.names)?;
                push_turn(&mut contents, "user", vec![part]);
            }
            other => {
                return Err(ConvertError::invalid(
                    format!("{field}.role"),
                    format!("unknown role \"{other}\""),
                ))
            }
        }
    }

    let mut system_instruction = (!system_parts.is_empty()).then(|| json!({"parts": system_parts}));
    if contents.is_empty() {
        // Only instructions were sent: Gemini needs a user turn, so they become one.
        match system_instruction.take() {
            Some(Value::Object(mut system)) => {
                let parts = system.remove("parts").unwrap_or_default();
                contents.push(json!({"role": "user", "parts": parts}));
            }
            _ => {
                return Err(ConvertError::invalid(
                    "messages",
                    "no message has any content",
                ))
            }
        }
    }
    Ok(ConvertedMessages {
        system_instruction,
        contents,
    })
}

fn assistant_parts(
    message: &Map<String, Value>,
    field: &str,
    ctx: &mut MessageContext<'_>,
    call_names: &mut HashMap<String, String>,
    history: bool,
) -> Result<Vec<Value>, ConvertError> {
    let mut parts = content_parts(message.get("content"), field, ctx.images)?;
    parts.extend(assistant_call_parts(
        message, field, ctx, call_names, history,
    )?);
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::gemini::tool_names::ToolNames;

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

    fn convert(messages: Value) -> ConvertedMessages {
        convert_with(messages, false, false).unwrap()
    }

    fn error_field(messages: Value) -> String {
        convert_with(messages, false, false)
            .unwrap_err()
            .field()
            .to_owned()
    }

    #[test]
    fn leading_system_and_developer_messages_become_system_instruction() {
        let out = convert(json!([
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [{"type": "text", "text": "no emoji"}, {"type": "text", "text": ""}]},
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "late rule"},
            {"role": "assistant", "content": "hello"}
        ]));
        assert_eq!(
            out,
            ConvertedMessages {
                system_instruction: Some(
                    json!({"parts": [{"text": "be brief"}, {"text": "no emoji"}]})
                ),
                contents: vec![
                    json!({"role": "user", "parts": [{"text": "hi"}, {"text": "late rule"}]}),
                    json!({"role": "model", "parts": [{"text": "hello"}]}),
                ],
            }
        );
    }

    #[test]
    fn compatibility_mode_sends_system_as_user() {
        let out = convert_with(
            json!([{"role": "system", "content": "rules"}, {"role": "user", "content": "hi"}]),
            true,
            false,
        )
        .unwrap();
        assert_eq!(out.system_instruction, None);
        assert_eq!(
            out.contents,
            vec![json!({"role": "user", "parts": [{"text": "rules"}, {"text": "hi"}]})]
        );
    }

    #[test]
    fn only_system_messages_become_a_user_turn() {
        let out = convert(json!([{"role": "system", "content": "say hi"}]));
        assert_eq!(out.system_instruction, None);
        assert_eq!(
            out.contents,
            vec![json!({"role": "user", "parts": [{"text": "say hi"}]})]
        );
    }

    #[test]
    fn consecutive_same_role_messages_merge_and_empty_ones_drop() {
        let out = convert(json!([
            {"role": "user", "content": "a"},
            {"role": "user", "content": ""},
            {"role": "user", "content": null},
            {"role": "user", "content": "b "},
            {"role": "assistant", "content": "c"},
            {"role": "assistant", "content": "d"}
        ]));
        assert_eq!(
            out.contents,
            vec![
                json!({"role": "user", "parts": [{"text": "a"}, {"text": "b "}]}),
                json!({"role": "model", "parts": [{"text": "c"}, {"text": "d"}]}),
            ]
        );
    }

    #[test]
    fn validation_errors_name_the_field() {
        let user = json!({"role": "user", "content": "x"});
        let cases = [
            (json!([1]), "messages[0]"),
            (json!([{"content": "x"}]), "messages[0].role"),
            (json!([{"role": 5}]), "messages[0].role"),
            (
                json!([user, {"role": "foo", "content": "x"}]),
                "messages[1].role",
            ),
            (
                json!([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]),
                "messages[0].content[0]",
            ),
            (
                json!([user, {"role": "assistant", "tool_calls": {}}]),
                "messages[1].tool_calls",
            ),
            (
                json!([user, {"role": "assistant", "tool_calls": [5]}]),
                "messages[1].tool_calls[0]",
            ),
            (
                json!([user, {"role": "assistant", "tool_calls": [{"id": "c"}]}]),
                "messages[1].tool_calls[0].function",
            ),
            (
                json!([user, {"role": "assistant", "tool_calls": [{"id": 1, "function": {"name": "f"}}]}]),
                "messages[1].tool_calls[0].id",
            ),
            (
                json!([user, {"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}]),
                "messages[1].tool_calls[0].function.name",
            ),
            (
                json!([user, {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "[1]"}}]}]),
                "messages[1].tool_calls[0].function.arguments",
            ),
            (
                json!([user, {"role": "tool", "content": "r"}]),
                "messages[1].tool_call_id",
            ),
            (
                json!([user, {"role": "tool", "tool_call_id": "zz", "content": "r"}]),
                "messages[1].tool_call_id",
            ),
            (
                json!([user, {"role": "function", "content": "r"}]),
                "messages[1].name",
            ),
            (json!([{"role": "user", "content": ""}]), "messages"),
        ];
        for (messages, field) in cases {
            assert_eq!(error_field(messages.clone()), field, "{messages}");
        }
        let err = convert_with(json!([user, {"role": "foo"}]), false, false).unwrap_err();
        assert_eq!(err.to_string(), "messages[1].role: unknown role \"foo\"");
    }
}

#[cfg(test)]
#[path = "tool_turn_tests.rs"]
mod tool_turn_tests;
