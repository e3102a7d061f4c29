//! Anthropic `/v1/messages` (and `/v1/messages/count_tokens`) body → Gemini request.
//!
//! Validation follows the Messages API (`max_tokens` required, `temperature` and `top_p` in 0..1)
//! and every error names the offending field in Anthropic's dotted form (`messages.1.content.0`).
//! Unknown top-level keys (`metadata`, `context_management`, `service_tier`, …) are ignored.
//!
//! `stop_sequences` are not sent upstream: Gemini reports a stop-sequence end as an ordinary
//! `STOP`, so the response converter matches them itself to say which one ended the answer.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::convert::anthropic::blocks::system_parts;
use crate::convert::anthropic::body::AnthropicMessagesBody;
use crate::convert::anthropic::effort::{thinking_for_anthropic_effort, EFFORTS};
use crate::convert::anthropic::messages::{convert_messages, used_tool_names, MessageContext};
use crate::convert::anthropic::model::ModelMap;
use crate::convert::anthropic::tools::{convert_tool_choice, convert_tools};
use crate::convert::gemini::features::apply_model_features;
use crate::convert::gemini::fields::{bool_field, model_field};
use crate::convert::gemini::model_name::{thinking_for_effort, ModelFamily, ModelSpec, Thinking};
use crate::convert::gemini::model_name_check::check_model_name;
use crate::convert::gemini::parts::InlineImage;
use crate::convert::gemini::tool_names::ToolNames;
use crate::convert::{ConvertError, ConvertOptions};

#[derive(Debug, Clone, PartialEq)]
pub struct MessagesRequest {
    /// Parsed from the mapped name: `spec.requested` is the Gemini name keys are charged for.
    pub spec: ModelSpec,
    /// The model name exactly as the client sent it, echoed back in answers.
    pub client_model: String,
    pub stream: bool,
    /// The Gemini request with model features applied, not wrapped in the Code Assist envelope.
    pub gemini: Value,
    /// Gemini function name → the client's name, for tool names that had to be changed.
    pub tool_names: HashMap<String, String>,
    /// Matched by the response converter (see the module note).
    pub stop_sequences: Vec<String>,
    /// Whether thinking text is shown (`thinking.display: "omitted"` keeps only signatures).
    pub show_thinking: bool,
    /// `fallbacks: "default"`: the client accepts an answer from another model when Google has no
    /// capacity for this one (`ANTHROPIC_FALLBACK_MAP` names which).
    pub fallbacks: bool,
}

/// Validate and convert a Messages body. Remote images must be in `images` (see
/// `blocks::collect_remote_image_urls`).
pub fn anthropic_to_gemini(
    body: &AnthropicMessagesBody,
    images: &HashMap<String, InlineImage>,
    opts: &ConvertOptions,
    models: &ModelMap,
) -> Result<MessagesRequest, ConvertError> {
    let (client_model, spec) = model_of(body, models)?;
    let client_model = client_model.to_owned();
    let stream = bool_field(body.stream.as_ref(), "stream")?.unwrap_or(false);
    let max_tokens = match &body.max_tokens {
        None | Some(Value::Null) => {
            return Err(ConvertError::invalid("max_tokens", "Field required"))
        }
        Some(value) => positive_integer(value, "max_tokens")?,
    };
    let mut generation = Map::new();
    // Sent as asked; the route lowers it to the model's limit, which only the catalogue knows.
    generation.insert("maxOutputTokens".into(), json!(max_tokens));
    if let Some(t) = number_in(body.temperature.as_ref(), "temperature", 0.0, 1.0)? {
        generation.insert("temperature".into(), t);
    }
    if let Some(p) = number_in(body.top_p.as_ref(), "top_p", 0.0, 1.0)? {
        generation.insert("topP".into(), p);
    }
    match &body.top_k {
        None | Some(Value::Null) => {}
        Some(value) => {
            let k = value
                .as_i64()
                .filter(|k| *k >= 0)
                .ok_or_else(|| ConvertError::invalid("top_k", "must be a non-negative integer"))?;
            if k > 0 {
                generation.insert("topK".into(), json!(k));
            }
        }
    }
    let stop_sequences = stop_sequences(body.stop_sequences.as_ref())?;
    let fallbacks = match &body.fallbacks {
        None | Some(Value::Null) => false,
        Some(Value::String(value)) if value == "default" => true,
        Some(_) => {
            return Err(ConvertError::invalid(
                "fallbacks",
                "must be \"default\" (or left out)",
            ))
        }
    };
    let (thinking_config, show_thinking) = thinking_config(body, spec.family())?;
    if let Some(config) = thinking_config {
        generation.insert("thinkingConfig".into(), config);
    }

    let Core {
        mut request,
        tool_names,
    } = converted_core(body, images, opts, &spec)?;
    request.insert("generationConfig".into(), Value::Object(generation));
    let mut gemini = Value::Object(request);
    apply_model_features(&mut gemini, &spec, opts);
    Ok(MessagesRequest {
        spec,
        client_model,
        stream,
        gemini,
        tool_names,
        stop_sequences,
        show_thinking: show_thinking && opts.return_thoughts,
        fallbacks,
    })
}

/// The body for Code Assist `countTokens` and the model it counts for. Code Assist counts only
/// `contents`, so the system prompt and the tool declarations are counted as a leading user turn.
pub fn count_tokens_to_gemini(
    body: &AnthropicMessagesBody,
    images: &HashMap<String, InlineImage>,
    opts: &ConvertOptions,
    models: &ModelMap,
) -> Result<(ModelSpec, Value), ConvertError> {
    let spec = model_spec(body, models)?;
    let mut request = converted_core(body, images, opts, &spec)?.request;
    let mut preamble: Vec<Value> = Vec::new();
    if let Some(Value::Object(system)) = request.remove("systemInstruction") {
        if let Some(Value::Array(parts)) = system.get("parts") {
            preamble.extend(parts.iter().cloned());
        }
    }
    if let Some(tools) = request.remove("tools") {
        preamble.push(json!({"text": tools.to_string()}));
    }
    let mut contents = Vec::new();
    if !preamble.is_empty() {
        contents.push(json!({"role": "user", "parts": preamble}));
    }
    if let Some(Value::Array(rest)) = request.remove("contents") {
        contents.extend(rest);
    }
    let body = json!({"request": {"model": format!("models/{}", spec.base), "contents": contents}});
    Ok((spec, body))
}

/// The Gemini model a Messages body asks for, as its key is charged (the Claude name mapped).
pub fn model_spec(
    body: &AnthropicMessagesBody,
    models: &ModelMap,
) -> Result<ModelSpec, ConvertError> {
    model_of(body, models).map(|(_, spec)| spec)
}

/// The model name as the client wrote it, and the Gemini model it maps to.
fn model_of<'a>(
    body: &'a AnthropicMessagesBody,
    models: &ModelMap,
) -> Result<(&'a str, ModelSpec), ConvertError> {
    let model = model_field(body.model.as_ref(), "Field required")?;
    // The client's own name is echoed back and logged: checked before it is mapped.
    check_model_name(model, true)?;
    // Keys' costs and allow-lists speak Gemini names, so the mapped name is what is charged.
    Ok((model, ModelSpec::parse(&models.resolve(model))?))
}

/// What messages and count_tokens share: `contents`, `systemInstruction`, `tools`, `toolConfig`.
struct Core {
    request: Map<String, Value>,
    /// Gemini function name → client name (see `MessagesRequest::tool_names`).
    tool_names: HashMap<String, String>,
}

fn converted_core(
    body: &AnthropicMessagesBody,
    images: &HashMap<String, InlineImage>,
    opts: &ConvertOptions,
    spec: &ModelSpec,
) -> Result<Core, ConvertError> {
    let messages = match &body.messages {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        Some(Value::Array(_)) => {
            return Err(ConvertError::invalid(
                "messages",
                "at least one message is required",
            ))
        }
        None | Some(Value::Null) => {
            return Err(ConvertError::invalid("messages", "Field required"))
        }
        Some(_) => return Err(ConvertError::invalid("messages", "must be an array")),
    };
    let mut names = ToolNames::default();
    let mut system = system_parts(body.system.as_ref())?;
    let converted = convert_messages(
        messages,
        &mut MessageContext {
            images,
            names: &mut names,
            compatibility_mode: opts.compatibility_mode,
            needs_signatures: spec.family().is_gemini3(),
        },
    )?;
    let mut loaded = converted.referenced_tools;
    loaded.extend(used_tool_names(messages));
    let (tools, declared) = convert_tools(body.tools.as_ref(), &loaded, &mut names)?;
    let tool_config = convert_tool_choice(
        body.tool_choice.as_ref(),
        tools.is_some(),
        &declared,
        &mut names,
    )?;

    system.extend(converted.system_parts);
    let mut contents = converted.contents;
    if opts.compatibility_mode && !system.is_empty() {
        contents.insert(0, json!({"role": "user", "parts": system}));
        system = Vec::new();
    }
    if contents.is_empty() {
        return Err(ConvertError::invalid(
            "messages",
            "no message has any content",
        ));
    }
    let mut request = Map::new();
    request.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        request.insert("systemInstruction".into(), json!({"parts": system}));
    }
    if let Some(tools) = tools {
        request.insert("tools".into(), tools);
    }
    if let Some(tool_config) = tool_config {
        request.insert("toolConfig".into(), tool_config);
    }
    Ok(Core {
        request,
        tool_names: names.restore_map(),
    })
}

fn positive_integer(value: &Value, field: &str) -> Result<i64, ConvertError> {
    value
        .as_i64()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ConvertError::invalid(field, "must be a positive integer"))
}

fn number_in(
    value: Option<&Value>,
    key: &str,
    min: f64,
    max: f64,
) -> Result<Option<Value>, ConvertError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_f64().is_some_and(|v| (min..=max).contains(&v)) => {
            Ok(Some(Value::Number(n.clone())))
        }
        Some(_) => Err(ConvertError::invalid(
            key,
            format!("must be a number between {min} and {max}"),
        )),
    }
}

fn stop_sequences(value: Option<&Value>) -> Result<Vec<String>, ConvertError> {
    let list = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(ConvertError::invalid(
                "stop_sequences",
                "must be an array of strings",
            ))
        }
    };
    let mut sequences = Vec::new();
    for (i, item) in list.iter().enumerate() {
        match item {
            Value::String(s) if !s.is_empty() => sequences.push(s.clone()),
            _ => {
                return Err(ConvertError::invalid(
                    format!("stop_sequences.{i}"),
                    "must be a non-empty string",
                ))
            }
        }
    }
    Ok(sequences)
}

/// `thinking` (`enabled` + `budget_tokens`, `adaptive`, `disabled`) and `output_config.effort` →
/// Gemini `thinkingConfig`; also whether thinking text is shown. `adaptive` without an effort leaves
/// the budget to Gemini (its own dynamic thinking); with one, see `anthropic_effort`. Suffixes in the
/// model name still win (applied later by the model features).
fn thinking_config(
    body: &AnthropicMessagesBody,
    family: ModelFamily,
) -> Result<(Option<Value>, bool), ConvertError> {
    let effort = match body.output_config.as_ref().and_then(|c| c.get("effort")) {
        None | Some(Value::Null) => None,
        Some(Value::String(effort)) => Some(
            thinking_for_anthropic_effort(family, effort).ok_or_else(|| {
                ConvertError::invalid(
                    "output_config.effort",
                    format!(
                        "unknown effort \"{effort}\" (expected one of {})",
                        EFFORTS.join(", ")
                    ),
                )
            })?,
        ),
        Some(_) => {
            return Err(ConvertError::invalid(
                "output_config.effort",
                "must be a string",
            ))
        }
    };
    let thinking = match &body.thinking {
        None | Some(Value::Null) => None,
        Some(Value::Object(thinking)) => Some(thinking),
        Some(_) => return Err(ConvertError::invalid("thinking", "must be an object")),
    };
    let show = match thinking.and_then(|t| t.get("display")) {
        None | Some(Value::Null) => true,
        Some(Value::String(display)) if display == "omitted" => false,
        Some(Value::String(display)) if display == "summarized" => true,
        Some(_) => {
            return Err(ConvertError::invalid(
                "thinking.display",
                "must be \"summarized\" or \"omitted\"",
            ))
        }
    };
    let kind = match thinking.map(|t| t.get("type")) {
        None => None,
        Some(Some(Value::String(kind))) => Some(kind.as_str()),
        Some(_) => return Err(ConvertError::invalid("thinking.type", "Field required")),
    };
    let chosen = match kind {
        None | Some("adaptive") => effort,
        Some("disabled") => thinking_for_effort(family, "none"),
        Some("enabled") => {
            let budget = match thinking.and_then(|t| t.get("budget_tokens")) {
                Some(value) => value.as_i64().filter(|b| *b >= 0).ok_or_else(|| {
                    ConvertError::invalid(
                        "thinking.budget_tokens",
                        "must be a non-negative integer",
                    )
                })?,
                None => {
                    return Err(ConvertError::invalid(
                        "thinking.budget_tokens",
                        "Field required",
                    ))
                }
            };
            Some(Thinking::Budget(clamp_budget(family, budget)))
        }
        Some(other) => {
            return Err(ConvertError::invalid(
                "thinking.type",
                format!("unknown value \"{other}\" (expected enabled, adaptive or disabled)"),
            ))
        }
    };
    let mut config = Map::new();
    match chosen {
        Some(Thinking::Budget(budget)) => {
            config.insert("thinkingBudget".into(), json!(budget));
        }
        Some(Thinking::Level(level)) => {
            config.insert("thinkingLevel".into(), json!(level));
        }
        Some(Thinking::Unset) | None => {}
    }
    if !show {
        config.insert("includeThoughts".into(), json!(false));
    }
    Ok(((!config.is_empty()).then_some(Value::Object(config)), show))
}

/// Gemini's budget ranges: pro 128..=32768 (it cannot stop thinking), flash 0..=24576.
fn clamp_budget(family: ModelFamily, budget: i64) -> i64 {
    match family {
        ModelFamily::Gemini25Pro | ModelFamily::Gemini3Pro => budget.clamp(128, 32_768),
        ModelFamily::Gemini25Flash | ModelFamily::Gemini3Flash => budget.clamp(0, 24_576),
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
