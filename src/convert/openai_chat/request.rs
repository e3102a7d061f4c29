//! OpenAI `/v1/chat/completions` body → Gemini request (features applied, not yet wrapped).
//!
//! Validation is strict and every error names the offending field; unknown top-level keys are
//! ignored and never forwarded.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::convert::gemini::features::apply_model_features;
use crate::convert::gemini::fields::{bool_field, model_field, optional_bool};
use crate::convert::gemini::generation_config::generation_config;
use crate::convert::gemini::model_name::ModelSpec;
use crate::convert::gemini::parts::InlineImage;
use crate::convert::gemini::remote_images::RemoteUrls;
use crate::convert::gemini::tool_names::ToolNames;
use crate::convert::openai_chat::body::ChatCompletionBody;
use crate::convert::openai_chat::message_context::MessageContext;
use crate::convert::openai_chat::messages::convert_messages;
use crate::convert::openai_chat::tools::{convert_tool_choice, convert_tools};
use crate::convert::{ConvertError, ConvertOptions};

#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub spec: ModelSpec,
    pub stream: bool,
    /// `stream_options.include_usage`: send a usage chunk at the end of the stream.
    pub include_usage: bool,
    /// The Gemini request with model features applied, not wrapped in the Code Assist envelope.
    pub gemini: Value,
    /// Gemini function name → the client's name, for tool names that had to be changed; responses
    /// must report the client's name.
    pub tool_names: HashMap<String, String>,
}

/// Every http(s) image URL in the messages, first occurrence order, without duplicates. The caller
/// fetches them before conversion.
pub fn collect_remote_image_urls(body: &Value) -> Vec<String> {
    let mut urls = RemoteUrls::default();
    let messages = body.get("messages").and_then(Value::as_array);
    for message in messages.into_iter().flatten() {
        let items = message.get("content").and_then(Value::as_array);
        for item in items.into_iter().flatten() {
            if item.get("type").and_then(Value::as_str) != Some("image_url") {
                continue;
            }
            let url = match item.get("image_url") {
                Some(Value::String(url)) => Some(url.as_str()),
                Some(image) => image.get("url").and_then(Value::as_str),
                None => None,
            };
            if let Some(url) = url {
                urls.offer(url);
            }
        }
    }
    urls.into_urls()
}

/// Validate and convert a chat-completions body. Remote images referenced by the messages must be
/// in `images` (see `collect_remote_image_urls`).
pub fn openai_to_gemini(
    body: &Value,
    images: &HashMap<String, InlineImage>,
    opts: &ConvertOptions,
) -> Result<ChatRequest, ConvertError> {
    // The route keeps its parsed body (it reads `prompt_cache_key` after conversion), so the typed
    // body is built from a copy, as serde's borrowing deserializer did.
    let body = ChatCompletionBody::from_value(body.clone())?;
    let spec = ModelSpec::parse(model_field(body.model.as_ref(), "is required")?)?;
    let stream = bool_field(body.stream.as_ref(), "stream")?.unwrap_or(false);
    let include_usage = match &body.stream_options {
        None => false,
        Some(Value::Object(options)) => optional_bool(options, "include_usage")
            .map_err(|_| {
                ConvertError::invalid("stream_options.include_usage", "must be a boolean")
            })?
            .unwrap_or(false),
        Some(_) => return Err(ConvertError::invalid("stream_options", "must be an object")),
    };
    let messages = match &body.messages {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        Some(Value::Array(_)) => {
            return Err(ConvertError::invalid("messages", "must not be empty"))
        }
        None => return Err(ConvertError::invalid("messages", "is required")),
        Some(_) => return Err(ConvertError::invalid("messages", "must be an array")),
    };

    let mut names = ToolNames::default();
    let tools = convert_tools(body.tools.as_ref(), &mut names)?;
    let tool_config = convert_tool_choice(body.tool_choice.as_ref(), tools.is_some(), &names)?;
    let generation = generation_config(&body.extra, &spec)?;
    let converted = convert_messages(
        messages,
        &mut MessageContext {
            images,
            names: &mut names,
            compatibility_mode: opts.compatibility_mode,
            needs_signatures: spec.family().is_gemini3(),
        },
    )?;

    let mut request = Map::new();
    request.insert("contents".into(), Value::Array(converted.contents));
    if let Some(system) = converted.system_instruction {
        request.insert("systemInstruction".into(), system);
    }
    if !generation.is_empty() {
        request.insert("generationConfig".into(), Value::Object(generation));
    }
    if let Some(tools) = tools {
        request.insert("tools".into(), tools);
    }
    if let Some(tool_config) = tool_config {
        request.insert("toolConfig".into(), tool_config);
    }
    let mut gemini = Value::Object(request);
    apply_model_features(&mut gemini, &spec, opts);
    Ok(ChatRequest {
        spec,
        stream,
        include_usage,
        gemini,
        tool_names: names.restore_map(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::gemini::features::default_safety_settings as safety;
    use crate::convert::gemini::model_name::StreamMode;
    use serde_json::json;

    fn convert(body: Value) -> Result<ChatRequest, ConvertError> {
        openai_to_gemini(&body, &HashMap::new(), &ConvertOptions::default())
    }

    fn gemini(body: Value) -> Value {
        convert(body).unwrap().gemini
    }

    #[test]
    fn minimal_request_golden() {
        let out = convert(json!({
            "model": "gemini-2.5-pro-high",
            "messages": [{"role": "user", "content": "x"}],
            "user": "ignored", "logprobs": false, "size": "1024x1024"
        }))
        .unwrap();
        assert_eq!(out.spec.base, "gemini-2.5-pro");
        assert!(!out.stream);
        assert!(!out.include_usage);
        assert_eq!(
            out.gemini,
            json!({
                "contents": [{"role": "user", "parts": [{"text": "x"}]}],
                "generationConfig": {"thinkingConfig": {"thinkingBudget": 16000, "includeThoughts": true}},
                "safetySettings": safety()
            })
        );
    }

    #[test]
    fn parameters_map_to_generation_config() {
        let out = gemini(json!({
            "model": "gemini-2.5-flash",
            "messages": [{"role": "user", "content": "x"}],
            "temperature": 0.5, "top_p": 0.9, "top_k": 40,
            "max_tokens": 50, "max_completion_tokens": 100,
            "stop": "END", "n": 2, "seed": 7,
            "frequency_penalty": 0.1, "presence_penalty": -0.2,
            "response_format": {"type": "json_object"}
        }));
        assert_eq!(
            out["generationConfig"],
            json!({
                "temperature": 0.5, "topP": 0.9, "topK": 40, "maxOutputTokens": 100,
                "stopSequences": ["END"], "candidateCount": 2, "seed": 7,
                "frequencyPenalty": 0.1, "presencePenalty": -0.2,
                "responseMimeType": "application/json"
            })
        );
        let out = gemini(json!({
            "model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "x"}],
            "max_tokens": 10, "stop": ["a", "b"]
        }));
        assert_eq!(
            out["generationConfig"],
            json!({"maxOutputTokens": 10, "stopSequences": ["a", "b"]})
        );
    }

    #[test]
    fn json_schema_response_format_becomes_response_schema() {
        let out = gemini(json!({
            "model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "strict": true, "schema": {
                "type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": false
            }}}
        }));
        assert_eq!(
            out["generationConfig"],
            json!({
                "responseMimeType": "application/json",
                "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}, "required": ["a"]}
            })
        );
    }

    #[test]
    fn reasoning_effort_sets_thinking_unless_the_name_does() {
        let body = |model: &str| json!({"model": model, "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "low"});
        assert_eq!(
            gemini(body("gemini-2.5-flash"))["generationConfig"],
            json!({"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true}})
        );
        assert_eq!(
            gemini(body("gemini-3-flash-preview"))["generationConfig"],
            json!({"thinkingConfig": {"thinkingLevel": "low", "includeThoughts": true}})
        );
        assert_eq!(
            gemini(body("gemini-2.5-flash-high"))["generationConfig"],
            json!({"thinkingConfig": {"thinkingBudget": 16000, "includeThoughts": true}})
        );
    }

    #[test]
    fn stream_flags_and_prefix() {
        let out = convert(json!({
            "model": "假流式/gemini-2.5-flash-search",
            "messages": [{"role": "user", "content": "x"}],
            "stream": true, "stream_options": {"include_usage": true}
        }))
        .unwrap();
        assert!(out.stream);
        assert!(out.include_usage);
        assert_eq!(out.spec.mode, StreamMode::Fake);
        assert_eq!(out.spec.display, "gemini-2.5-flash-search");
        assert_eq!(out.gemini["tools"], json!([{"googleSearch": {}}]));
    }

    #[test]
    fn tools_tool_choice_and_renamed_history_agree() {
        let out = convert(json!({
            "model": "gemini-3-pro-preview",
            "messages": [
                {"role": "system", "content": "sys"},
                {"role": "user", "content": "go"},
                {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "do it", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "done"}
            ],
            "tools": [{"type": "function", "function": {"name": "do it", "parameters": {"type": "object", "properties": {}}}}],
            "tool_choice": "required"
        }))
        .unwrap();
        assert_eq!(
            out.gemini,
            json!({
                "contents": [
                    {"role": "user", "parts": [{"text": "go"}]},
                    {"role": "model", "parts": [{"functionCall": {"id": "c1", "name": "do_it", "args": {}}, "thoughtSignature": "skip_thought_signature_validator"}]},
                    {"role": "user", "parts": [{"functionResponse": {"id": "c1", "name": "do_it", "response": {"result": "done"}}}]}
                ],
                "systemInstruction": {"parts": [{"text": "sys"}]},
                "generationConfig": {"thinkingConfig": {"includeThoughts": true}},
                "tools": [{"functionDeclarations": [{"name": "do_it", "description": "", "parametersJsonSchema": {"type": "object", "properties": {}}}]}],
                "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
                "safetySettings": safety()
            })
        );
        assert_eq!(
            out.tool_names.get("do_it").map(String::as_str),
            Some("do it")
        );
    }

    #[test]
    fn remote_images_are_looked_up() {
        let body = json!({
            "model": "gemini-2.5-flash",
            "messages": [
                {"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": "https://a.example/x.png"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "image_url", "image_url": "HTTP://b.example/y.jpg"}
                ]},
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://a.example/x.png"}}]}
            ]
        });
        assert_eq!(
            collect_remote_image_urls(&body),
            vec![
                "https://a.example/x.png".to_string(),
                "HTTP://b.example/y.jpg".to_string()
            ]
        );
        let mut images = HashMap::new();
        for url in collect_remote_image_urls(&body) {
            images.insert(
                url,
                InlineImage {
                    mime_type: "image/png".into(),
                    data_base64: "QQ==".into(),
                },
            );
        }
        let out = openai_to_gemini(&body, &images, &ConvertOptions::default()).unwrap();
        assert_eq!(
            out.gemini["contents"],
            json!([{"role": "user", "parts": [
                {"inlineData": {"mimeType": "image/png", "data": "QQ=="}},
                {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                {"inlineData": {"mimeType": "image/png", "data": "QQ=="}},
                {"inlineData": {"mimeType": "image/png", "data": "QQ=="}}
            ]}])
        );
        let err = convert(body).unwrap_err();
        assert_eq!(err.field(), "messages[0].content[0].image_url.url");
        assert_eq!(
            err.to_string(),
            "messages[0].content[0].image_url.url: image could not be fetched"
        );
    }

    #[test]
    fn top_level_validation_errors_name_the_field() {
        let user = json!([{"role": "user", "content": "x"}]);
        let with = |key: &str, value: Value| {
            let mut body = json!({"model": "gemini-2.5-flash", "messages": user.clone()});
            body[key] = value;
            body
        };
        let cases = [
            (json!([]), "body"),
            (json!({"messages": user.clone()}), "model"),
            (json!({"model": 3, "messages": user.clone()}), "model"),
            (json!({"model": " ", "messages": user.clone()}), "model"),
            (json!({"model": "m"}), "messages"),
            (json!({"model": "m", "messages": []}), "messages"),
            (json!({"model": "m", "messages": {}}), "messages"),
            (with("stream", json!("yes")), "stream"),
            (
                with("stream_options", json!({"include_usage": 1})),
                "stream_options.include_usage",
            ),
            (with("temperature", json!(2.5)), "temperature"),
            (with("temperature", json!("hot")), "temperature"),
            (with("top_p", json!(1.1)), "top_p"),
            (with("top_k", json!(0)), "top_k"),
            (with("n", json!(0)), "n"),
            (with("max_tokens", json!(0)), "max_tokens"),
            (
                with("max_completion_tokens", json!(1.5)),
                "max_completion_tokens",
            ),
            (with("frequency_penalty", json!(3)), "frequency_penalty"),
            (with("presence_penalty", json!(-3)), "presence_penalty"),
            (with("seed", json!("s")), "seed"),
            (with("stop", json!([1])), "stop[0]"),
            (with("stop", json!(1)), "stop"),
            (
                with("response_format", json!({"type": "xml"})),
                "response_format.type",
            ),
            (
                with(
                    "response_format",
                    json!({"type": "json_schema", "json_schema": {}}),
                ),
                "response_format.json_schema.schema",
            ),
            (with("reasoning_effort", json!("huge")), "reasoning_effort"),
            (with("tools", json!("f")), "tools"),
            (
                with(
                    "tool_choice",
                    json!({"type": "function", "function": {"name": "f"}}),
                ),
                "tool_choice.function.name",
            ),
            (
                with("messages", json!([{"role": "robot", "content": "x"}])),
                "messages[0].role",
            ),
        ];
        for (body, field) in cases {
            let err = convert(body.clone()).unwrap_err();
            assert_eq!(err.field(), field, "{body}");
            assert!(err.to_string().starts_with(&format!("{field}: ")), "{err}");
        }
        assert_eq!(
            convert(with("temperature", json!(2.5)))
                .unwrap_err()
                .to_string(),
            "temperature: must be between 0 and 2"
        );
    }
}
