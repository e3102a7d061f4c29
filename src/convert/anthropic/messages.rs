//! Anthropic `messages` → Gemini `contents`.
//!
//! Gemini wants alternating `user`/`model` turns, so consecutive messages with the same role are
//! merged. `tool_use` blocks become `functionCall` parts (their signature travels in the id),
//! `tool_result` blocks become `functionResponse` parts named after the matching `tool_use`, and
//! `thinking` blocks give their signature back to the part it came with (see `anthropic_signature`).
//! `system` messages before the first turn join the system instruction; later ones, and `compaction`
//! summaries, are kept at their position as context (see `anthropic_context`).
//!
//! A block type the gateway does not know is refused with a 400 naming it, as Anthropic does; the
//! result blocks of Anthropic's own server tools in assistant turns are dropped (Gemini cannot replay
//! them).

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use crate::convert::anthropic::blocks::{
    block_type, document_parts, image_part, required_str, system_texts,
};
use crate::convert::anthropic::context::{compaction_part, system_note, user_turn_with_notes};
use crate::convert::anthropic::signature::{decode as decode_signature, SignatureTarget};
use crate::convert::gemini::lenient_json::{history_arguments, warn_repaired};
use crate::convert::gemini::parts::InlineImage;
use crate::convert::gemini::tool_call_id::decode as decode_tool_call_id;
use crate::convert::gemini::tool_names::ToolNames;
use crate::convert::gemini::turns::push_turn;
use crate::convert::gemini::turns::SKIP_SIGNATURE_SENTINEL;
use crate::convert::ConvertError;

/// What message conversion needs besides the messages themselves.
pub struct MessageContext<'a> {
    pub images: &'a HashMap<String, InlineImage>,
    pub names: &'a mut ToolNames,
    pub compatibility_mode: bool,
    /// Gemini 3 rejects function calls without a thought signature.
    pub needs_signatures: bool,
}

#[derive(Debug, Default, PartialEq)]
pub struct ConvertedMessages {
    /// Text of `system` messages found among the messages, in order.
    pub system_parts: Vec<Value>,
    pub contents: Vec<Value>,
    /// Tools named by `tool_reference` blocks: deferred tools the client has loaded.
    pub referenced_tools: HashSet<String>,
}

pub fn convert_messages(
    messages: &[Value],
    ctx: &mut MessageContext<'_>,
) -> Result<ConvertedMessages, ConvertError> {
    let mut out = ConvertedMessages::default();
    // Plain tool_use id → Gemini function name, to name tool results.
    let mut call_names: HashMap<String, String> = HashMap::new();
    // Whether a user or assistant message came yet: system messages before it are the prompt.
    let mut started = false;
    // Mid-conversation system notes not yet placed (they go with the next user turn).
    let mut notes: Vec<Value> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let field = format!("messages.{i}");
        let Some(message) = message.as_object() else {
            return Err(ConvertError::invalid(field, "must be an object"));
        };
        let role = match message.get("role") {
            Some(Value::String(role)) => role.as_str(),
            None | Some(Value::Null) => {
                return Err(ConvertError::invalid(
                    format!("{field}.role"),
                    "Field required",
                ))
            }
            Some(_) => {
                return Err(ConvertError::invalid(
                    format!("{field}.role"),
                    "must be a string",
                ))
            }
        };
        let blocks = content_blocks(message.get("content"), &field)?;
        match role {
            "user" => {
                started = true;
                let parts = user_parts(&blocks, &field, ctx, &call_names, &mut out)?;
                let parts = user_turn_with_notes(parts, std::mem::take(&mut notes));
                push_turn(&mut out.contents, "user", parts);
            }
            "assistant" => {
                started = true;
                push_turn(&mut out.contents, "user", std::mem::take(&mut notes));
                let history = i + 1 < messages.len();
                assistant_turns(
                    &blocks,
                    &field,
                    history,
                    ctx,
                    &mut call_names,
                    &mut out.contents,
                )?;
            }
            "system" => {
                let texts = system_texts(&blocks, &field)?;
                if started {
                    notes.extend(texts.into_iter().map(system_note));
                } else if ctx.compatibility_mode {
                    push_turn(&mut out.contents, "user", texts);
                } else {
                    out.system_parts.extend(texts);
                }
            }
            other => {
                return Err(ConvertError::invalid(
                    format!("{field}.role"),
                    format!("unknown role \"{other}\" (expected user or assistant)"),
                ))
            }
        }
    }
    push_turn(&mut out.contents, "user", notes);
    Ok(out)
}

/// `content` as a list of blocks; a string is one text block.
fn content_blocks(content: Option<&Value>, field: &str) -> Result<Vec<Value>, ConvertError> {
    match content {
        Some(Value::String(text)) => Ok(vec![json!({"type": "text", "text": text})]),
        Some(Value::Array(blocks)) => Ok(blocks.clone()),
        None | Some(Value::Null) => Err(ConvertError::invalid(
            format!("{field}.content"),
            "Field required",
        )),
        Some(_) => Err(ConvertError::invalid(
            format!("{field}.content"),
            "must be a string or an array of content blocks",
        )),
    }
}

fn text_part(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| json!({"text": text}))
}

fn user_parts(
    blocks: &[Value],
    field: &str,
    ctx: &mut MessageContext<'_>,
    call_names: &HashMap<String, String>,
    out: &mut ConvertedMessages,
) -> Result<Vec<Value>, ConvertError> {
    let mut parts = Vec::new();
    for (j, block) in blocks.iter().enumerate() {
        let block_field = format!("{field}.content.{j}");
        let (kind, obj) = block_type(block, &block_field)?;
        match kind {
            "text" => parts.extend(text_part(required_str(obj, "text", &block_field)?)),
            "image" => parts.push(image_part(obj, &block_field, ctx.images)?),
            "document" => parts.extend(document_parts(obj, &block_field, ctx.images)?),
            "search_result" => parts.extend(search_result_parts(obj, &block_field)?),
            "tool_result" => {
                tool_result_parts(obj, &block_field, ctx, call_names, out, &mut parts)?
            }
            // Thinking the client echoes in a user turn carries nothing Gemini could use.
            "thinking" | "redacted_thinking" => {}
            other => {
                return Err(ConvertError::invalid(
                    format!("{block_field}.type"),
                    format!("unsupported content block type \"{other}\" in a user message"),
                ))
            }
        }
    }
    Ok(parts)
}

fn search_result_parts(obj: &Map<String, Value>, field: &str) -> Result<Vec<Value>, ConvertError> {
    let title = obj.get("title").and_then(Value::as_str).unwrap_or_default();
    let source = obj
        .get("source")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut text = format!("{title} ({source})");
    let blocks = obj.get("content").and_then(Value::as_array);
    for (k, block) in blocks.into_iter().flatten().enumerate() {
        let block_field = format!("{field}.content.{k}");
        let (_, inner) = block_type(block, &block_field)?;
        text.push('\n');
        text.push_str(required_str(inner, "text", &block_field)?);
    }
    Ok(text_part(text.trim()).into_iter().collect())
}

/// A `tool_result` → one `functionResponse` (text joined, `is_error` → `{"error": …}`), followed by
/// its images as separate parts of the same turn.
fn tool_result_parts(
    obj: &Map<String, Value>,
    field: &str,
    ctx: &mut MessageContext<'_>,
    call_names: &HashMap<String, String>,
    out: &mut ConvertedMessages,
    parts: &mut Vec<Value>,
) -> Result<(), ConvertError> {
    let id_field = format!("{field}.tool_use_id");
    let id = match obj.get("tool_use_id") {
        Some(Value::String(id)) if !id.is_empty() => id,
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(ConvertError::invalid(id_field, "Field required"))
        }
        Some(_) => return Err(ConvertError::invalid(id_field, "must be a string")),
    };
    let plain_id = decode_tool_call_id(id).0;
    let Some(name) = call_names.get(&plain_id) else {
        return Err(ConvertError::invalid(
            id_field,
            format!("\"{id}\" matches no tool_use block in an earlier assistant message"),
        ));
    };
    let mut texts: Vec<String> = Vec::new();
    let mut extra = Vec::new();
    match obj.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => texts.push(text.clone()),
        Some(Value::Array(blocks)) => {
            for (k, block) in blocks.iter().enumerate() {
                let block_field = format!("{field}.content.{k}");
                let (kind, inner) = block_type(block, &block_field)?;
                match kind {
                    "text" => texts.push(required_str(inner, "text", &block_field)?.to_owned()),
                    "image" => extra.push(image_part(inner, &block_field, ctx.images)?),
                    "document" => extra.extend(document_parts(inner, &block_field, ctx.images)?),
                    "search_result" => extra.extend(search_result_parts(inner, &block_field)?),
                    "tool_reference" => {
                        let tool = required_str(inner, "tool_name", &block_field)?;
                        out.referenced_tools.insert(tool.to_owned());
                        texts.push(format!("Tool {tool} is now available."));
                    }
                    other => {
                        return Err(ConvertError::invalid(
                            format!("{block_field}.type"),
                            format!("unsupported content block type \"{other}\" in a tool result"),
                        ))
                    }
                }
            }
        }
        Some(_) => {
            return Err(ConvertError::invalid(
                format!("{field}.content"),
                "must be a string or an array of content blocks",
            ))
        }
    }
    let text = texts.join("\n");
    let is_error = obj.get("is_error").and_then(Value::as_bool) == Some(true);
    let response = if is_error {
        json!({"error": text})
    } else {
        match serde_json::from_str::<Value>(&text) {
            Ok(object @ Value::Object(_)) => object,
            _ => json!({"result": text}),
        }
    };
    parts.push(json!({"functionResponse": {"id": plain_id, "name": name, "response": response}}));
    parts.extend(extra);
    Ok(())
}

/// An assistant message → its model turn, pushed onto `contents`. A `compaction` block's summary is
/// context the model is given, so it goes out as a user turn at its place, splitting the model turn.
/// `history`: the message is followed by another one (see `lenient_json` for what that allows).
fn assistant_turns(
    blocks: &[Value],
    field: &str,
    history: bool,
    ctx: &mut MessageContext<'_>,
    call_names: &mut HashMap<String, String>,
    contents: &mut Vec<Value>,
) -> Result<(), ConvertError> {
    let mut parts: Vec<Value> = Vec::new();
    for (j, block) in blocks.iter().enumerate() {
        let block_field = format!("{field}.content.{j}");
        let (kind, obj) = block_type(block, &block_field)?;
        match kind {
            "text" => parts.extend(text_part(required_str(obj, "text", &block_field)?)),
            "thinking" => {
                let thinking = obj.get("thinking").and_then(Value::as_str).unwrap_or("");
                let signature = obj.get("signature").and_then(Value::as_str).unwrap_or("");
                restore_signature(&mut parts, thinking, signature);
            }
            "redacted_thinking" => {
                let data = obj.get("data").and_then(Value::as_str).unwrap_or("");
                restore_signature(&mut parts, "", data);
            }
            "tool_use" => parts.push(tool_use_part(obj, &block_field, history, ctx, call_names)?),
            "compaction" => {
                if let Some(summary) = compaction_part(obj, &block_field)? {
                    push_turn(contents, "model", std::mem::take(&mut parts));
                    push_turn(contents, "user", vec![summary]);
                }
            }
            // Calls and results of Anthropic's own server tools cannot be replayed to Gemini.
            "server_tool_use"
            | "web_search_tool_result"
            | "web_fetch_tool_result"
            | "code_execution_tool_result"
            | "bash_code_execution_tool_result"
            | "text_editor_code_execution_tool_result"
            | "tool_search_tool_result"
            | "mcp_tool_use"
            | "mcp_tool_result"
            | "container_upload" => {}
            other => {
                return Err(ConvertError::invalid(
                    format!("{block_field}.type"),
                    format!("unsupported content block type \"{other}\" in an assistant message"),
                ))
            }
        }
    }
    push_turn(contents, "model", parts);
    Ok(())
}

/// Puts a thinking block's signature back where Gemini sent it; foreign signatures are dropped
/// together with the thought text (Gemini cannot use another model's thinking).
fn restore_signature(parts: &mut Vec<Value>, thinking: &str, signature: &str) {
    match decode_signature(signature) {
        Some(SignatureTarget::Thought(sig)) => {
            parts.push(json!({"text": thinking, "thought": true, "thoughtSignature": sig}));
        }
        Some(SignatureTarget::PrecedingPart(sig)) => {
            let previous_text = parts.last_mut().and_then(Value::as_object_mut).filter(|p| {
                p.contains_key("text")
                    && !p.contains_key("thought")
                    && !p.contains_key("thoughtSignature")
            });
            match previous_text {
                Some(part) => {
                    part.insert("thoughtSignature".into(), Value::String(sig));
                }
                None => parts.push(json!({"text": "", "thoughtSignature": sig})),
            }
        }
        None => {}
    }
}

fn tool_use_part(
    obj: &Map<String, Value>,
    field: &str,
    history: bool,
    ctx: &mut MessageContext<'_>,
    call_names: &mut HashMap<String, String>,
) -> Result<Value, ConvertError> {
    let id = required_str(obj, "id", field)?;
    let name = required_str(obj, "name", field)?;
    if name.is_empty() {
        return Err(ConvertError::invalid(
            format!("{field}.name"),
            "must not be empty",
        ));
    }
    let (plain_id, signature) = decode_tool_call_id(id);
    let gemini_name = ctx.names.gemini_name(name);
    let args = tool_input(obj.get("input"), field, history, id, name)?;
    let mut call = Map::new();
    if !plain_id.is_empty() {
        call.insert("id".into(), json!(plain_id));
        call_names.insert(plain_id, gemini_name.clone());
    }
    call.insert("name".into(), json!(gemini_name));
    call.insert("args".into(), args);
    let mut part = Map::new();
    part.insert("functionCall".into(), Value::Object(call));
    let signature = match signature {
        Some(signature) => Some(signature),
        None if ctx.needs_signatures => Some(SKIP_SIGNATURE_SENTINEL.to_owned()),
        None => None,
    };
    if let Some(signature) = signature {
        part.insert("thoughtSignature".into(), Value::String(signature));
    }
    Ok(Value::Object(part))
}

/// A `tool_use` input as an object. Replayed history is read leniently (a client that stored broken
/// input cannot repair it); the last message is new content and must be right.
fn tool_input(
    input: Option<&Value>,
    field: &str,
    history: bool,
    id: &str,
    name: &str,
) -> Result<Value, ConvertError> {
    if history {
        let read = history_arguments(input);
        if let Some(repair) = read.repair {
            let call = format!("tool call \"{id}\" ({name})");
            warn_repaired(repair, &call, &format!("{field}.input"));
        }
        return Ok(read.args);
    }
    match input {
        None | Some(Value::Null) => Ok(json!({})),
        Some(object @ Value::Object(_)) => Ok(object.clone()),
        Some(_) => Err(ConvertError::invalid(
            format!("{field}.input"),
            "must be a JSON object",
        )),
    }
}

/// Set of client tool names used by `tool_use` blocks in the history (their declarations must be
/// sent even when deferred).
pub fn used_tool_names(messages: &[Value]) -> HashSet<String> {
    messages
        .iter()
        .filter_map(|m| m.get("content").and_then(Value::as_array))
        .flatten()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
        .filter_map(|b| b.get("name").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}
