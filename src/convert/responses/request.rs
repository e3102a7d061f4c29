//! OpenAI Responses API `/v1/responses` body → Gemini request (features applied, not yet wrapped).
//!
//! `instructions` and leading system / developer messages become `systemInstruction`; `input` (a string
//! or items, after the stored items of `previous_response_id`) becomes `contents`; `tools` and
//! `tool_choice` see `responses_tools`; sampling, `reasoning.effort` and `text.format` go through the
//! same `generationConfig` rules as chat completions, with errors named after the Responses fields.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::convert::gemini::features::apply_model_features;
use crate::convert::gemini::fields::{bool_field, model_field, string_field};
use crate::convert::gemini::generation_config::generation_config;
use crate::convert::gemini::model_name::ModelSpec;
use crate::convert::gemini::parts::InlineImage;
use crate::convert::gemini::remote_images::RemoteUrls;
use crate::convert::responses::body::ResponsesBody;
use crate::convert::responses::input::{convert_input, InputContext};
use crate::convert::responses::tools::{convert_tool_choice, convert_tools, ToolMap, ToolRegistry};
use crate::convert::{ConvertError, ConvertOptions};

#[derive(Debug, Clone, PartialEq)]
pub struct ResponsesRequest {
    pub spec: ModelSpec,
    pub stream: bool,
    /// `store` (default true): keep the response for `previous_response_id` and `GET`.
    pub store: bool,
    pub previous_response_id: Option<String>,
    /// The client's cache / session key, usable for credential affinity.
    pub prompt_cache_key: Option<String>,
    /// The Gemini request with model features applied, not wrapped in the Code Assist envelope.
    pub gemini: Value,
    /// Gemini function name → the client's tool.
    pub tools: ToolMap,
    /// This request's input as items (a string becomes one user message), for the response store.
    pub input_items: Vec<Value>,
    /// Request settings echoed on the response object (`instructions`, `tools`, `temperature`, …).
    pub echo: Map<String, Value>,
}

/// `previous_response_id`, read before conversion so the caller can load the stored items.
pub fn previous_response_id(body: &ResponsesBody) -> Result<Option<String>, ConvertError> {
    match &body.previous_response_id {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) if !id.is_empty() => Ok(Some(id.clone())),
        Some(_) => Err(ConvertError::invalid(
            "previous_response_id",
            "must be a non-empty string",
        )),
    }
}

/// Every http(s) `input_image` URL in the input, first occurrence order, without duplicates.
pub fn collect_remote_image_urls(body: &ResponsesBody) -> Vec<String> {
    let mut urls = RemoteUrls::default();
    let items = body.input.as_ref().and_then(Value::as_array);
    for item in items.into_iter().flatten() {
        let content = item
            .get("content")
            .or_else(|| item.get("output"))
            .and_then(Value::as_array);
        for part in content.into_iter().flatten() {
            if part.get("type").and_then(Value::as_str) != Some("input_image") {
                continue;
            }
            if let Some(url) = part.get("image_url").and_then(Value::as_str) {
                urls.offer(url);
            }
        }
    }
    urls.into_urls()
}

/// The model a Responses body asks for, as its key is charged; read before anything costs.
pub fn model_spec(body: &ResponsesBody) -> Result<ModelSpec, ConvertError> {
    ModelSpec::parse(model_field(body.model.as_ref(), "is required")?)
}

/// Validate and convert a Responses body. `history` holds the stored items of
/// `previous_response_id` (empty without one); remote images must be in `images`.
pub fn responses_to_gemini(
    body: &ResponsesBody,
    history: &[Value],
    images: &HashMap<String, InlineImage>,
    opts: &ConvertOptions,
) -> Result<ResponsesRequest, ConvertError> {
    let spec = model_spec(body)?;
    let stream = bool_field(body.stream.as_ref(), "stream")?.unwrap_or(false);
    let store = bool_field(body.store.as_ref(), "store")?.unwrap_or(true);
    let parallel_tool_calls =
        bool_field(body.parallel_tool_calls.as_ref(), "parallel_tool_calls")?.unwrap_or(true);
    let previous = previous_response_id(body)?;
    let prompt_cache_key =
        string_field(body.prompt_cache_key.as_ref(), "prompt_cache_key")?.map(str::to_owned);
    let instructions = string_field(body.instructions.as_ref(), "instructions")?.map(str::to_owned);
    let input_items = input_items(body.input.as_ref(), !history.is_empty())?;

    let mut registry = ToolRegistry::default();
    let tools = convert_tools(body.tools.as_ref(), &mut registry)?;
    let tool_config =
        convert_tool_choice(body.tool_choice.as_ref(), tools.has_functions, &registry)?;
    let generation =
        generation_config(&chat_style_parameters(body)?, &spec).map_err(rename_field)?;

    let history_items = history
        .iter()
        .enumerate()
        .map(|(i, item)| (format!("previous_response_id (stored item {i})"), item));
    let new_items = input_items
        .iter()
        .enumerate()
        .map(|(i, item)| (format!("input[{i}]"), item));
    let converted = convert_input(
        history_items.chain(new_items),
        &mut InputContext {
            images,
            registry: &mut registry,
            compatibility_mode: opts.compatibility_mode,
            needs_signatures: spec.family().is_gemini3(),
        },
    )?;

    let mut system_parts = Vec::new();
    if let Some(text) = instructions.as_deref().filter(|t| !t.is_empty()) {
        system_parts.push(json!({"text": text}));
    }
    system_parts.extend(converted.system_parts);
    let mut contents = converted.contents;
    if opts.compatibility_mode && !system_parts.is_empty() {
        // Instructions go first, into the opening user turn when there is one.
        let mut parts = std::mem::take(&mut system_parts);
        match contents.first_mut() {
            Some(first) if first.get("role").and_then(Value::as_str) == Some("user") => {
                if let Some(Value::Array(existing)) = first.get_mut("parts") {
                    parts.append(existing);
                    *existing = parts;
                }
            }
            _ => contents.insert(0, json!({"role": "user", "parts": parts})),
        }
    }

    let mut request = Map::new();
    request.insert("contents".into(), Value::Array(contents));
    if !system_parts.is_empty() {
        request.insert("systemInstruction".into(), json!({"parts": system_parts}));
    }
    if !generation.is_empty() {
        request.insert("generationConfig".into(), Value::Object(generation));
    }
    if let Some(tools) = tools.tools {
        request.insert("tools".into(), tools);
    }
    if let Some(tool_config) = tool_config {
        request.insert("toolConfig".into(), tool_config);
    }
    let mut gemini = Value::Object(request);
    apply_model_features(&mut gemini, &spec, opts);

    let echo = echo(body, instructions, parallel_tool_calls, store, &previous);
    Ok(ResponsesRequest {
        spec,
        stream,
        store,
        previous_response_id: previous,
        prompt_cache_key,
        gemini,
        tools: registry.map,
        input_items,
        echo,
    })
}

/// `input` as items: a string is one user message. An empty list is allowed after
/// `previous_response_id` (`continues`): Codex sends one after its warm-up, whose input it repeats.
pub fn input_items(input: Option<&Value>, continues: bool) -> Result<Vec<Value>, ConvertError> {
    match input {
        Some(Value::Array(items)) if items.is_empty() && continues => Ok(Vec::new()),
        Some(Value::String(text)) if !text.is_empty() => Ok(vec![json!({
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": text}]
        })]),
        Some(Value::Array(items)) if !items.is_empty() => Ok(items.clone()),
        Some(Value::String(_)) | Some(Value::Array(_)) => {
            Err(ConvertError::invalid("input", "must not be empty"))
        }
        None | Some(Value::Null) => Err(ConvertError::invalid("input", "is required")),
        Some(_) => Err(ConvertError::invalid(
            "input",
            "must be a string or an array of items",
        )),
    }
}

/// The Responses sampling fields under their chat-completions names, so one set of rules applies.
fn chat_style_parameters(body: &ResponsesBody) -> Result<Map<String, Value>, ConvertError> {
    let mut chat = Map::new();
    for (value, to) in [
        (&body.temperature, "temperature"),
        (&body.top_p, "top_p"),
        (&body.max_output_tokens, "max_completion_tokens"),
    ] {
        if let Some(value) = value {
            chat.insert(to.into(), value.clone());
        }
    }
    match &body.reasoning {
        None | Some(Value::Null) => {}
        Some(Value::Object(reasoning)) => {
            if let Some(effort) = reasoning.get("effort") {
                chat.insert("reasoning_effort".into(), effort.clone());
            }
        }
        Some(_) => return Err(ConvertError::invalid("reasoning", "must be an object")),
    }
    match &body.text {
        None | Some(Value::Null) => {}
        Some(Value::Object(text)) => match text.get("format") {
            None | Some(Value::Null) => {}
            Some(Value::Object(format)) => {
                let mut response_format = Map::new();
                if let Some(kind) = format.get("type") {
                    response_format.insert("type".into(), kind.clone());
                }
                if let Some(schema) = format.get("schema") {
                    response_format.insert("json_schema".into(), json!({"schema": schema}));
                }
                chat.insert("response_format".into(), Value::Object(response_format));
            }
            Some(_) => return Err(ConvertError::invalid("text.format", "must be an object")),
        },
        Some(_) => return Err(ConvertError::invalid("text", "must be an object")),
    }
    Ok(chat)
}

/// An error from the chat rules, renamed to the Responses field the client sent.
fn rename_field(err: ConvertError) -> ConvertError {
    let field = err.field();
    let renamed = match field {
        "max_completion_tokens" => "max_output_tokens",
        "reasoning_effort" => "reasoning.effort",
        "response_format.type" => "text.format.type",
        "response_format.json_schema.schema" => "text.format.schema",
        "response_format" => "text.format",
        other => other,
    };
    if renamed == field {
        return err;
    }
    let detail = err
        .message()
        .strip_prefix(&format!("{field}: "))
        .unwrap_or(err.message())
        .to_owned();
    ConvertError::invalid(renamed, detail)
}

/// The request's settings as the response object reports them, with the API's defaults.
fn echo(
    body: &ResponsesBody,
    instructions: Option<String>,
    parallel_tool_calls: bool,
    store: bool,
    previous: &Option<String>,
) -> Map<String, Value> {
    let given = |value: &Option<Value>| value.clone().unwrap_or(Value::Null);
    let or = |value: &Option<Value>, default: Value| match value {
        None | Some(Value::Null) => default,
        Some(value) => value.clone(),
    };
    let mut echo = Map::new();
    echo.insert("instructions".into(), json!(instructions));
    echo.insert("max_output_tokens".into(), given(&body.max_output_tokens));
    echo.insert("parallel_tool_calls".into(), json!(parallel_tool_calls));
    echo.insert("previous_response_id".into(), json!(previous));
    echo.insert(
        "reasoning".into(),
        or(&body.reasoning, json!({"effort": null, "summary": null})),
    );
    echo.insert("store".into(), json!(store));
    echo.insert("temperature".into(), or(&body.temperature, json!(1.0)));
    echo.insert(
        "text".into(),
        or(&body.text, json!({"format": {"type": "text"}})),
    );
    echo.insert("tool_choice".into(), or(&body.tool_choice, json!("auto")));
    echo.insert("tools".into(), or(&body.tools, json!([])));
    echo.insert("top_p".into(), or(&body.top_p, json!(1.0)));
    echo.insert("truncation".into(), or(&body.truncation, json!("disabled")));
    echo.insert("metadata".into(), or(&body.metadata, json!({})));
    echo.insert("user".into(), given(&body.user));
    echo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::gemini::features::default_safety_settings as safety;

    fn body(json: Value) -> ResponsesBody {
        ResponsesBody::from_value(json).unwrap()
    }

    fn convert(json: Value) -> Result<ResponsesRequest, ConvertError> {
        let body = ResponsesBody::from_value(json)?;
        responses_to_gemini(&body, &[], &HashMap::new(), &ConvertOptions::default())
    }

    #[test]
    fn string_input_with_instructions_golden() {
        let out = convert(json!({
            "model": "gemini-2.5-flash", "instructions": "be brief", "input": "hi",
            "max_output_tokens": 100, "temperature": 0.5, "top_p": 0.9,
            "metadata": {"k": "v"}, "prompt_cache_key": "sess-1"
        }))
        .unwrap();
        assert!(!out.stream);
        assert!(out.store);
        assert_eq!(out.prompt_cache_key.as_deref(), Some("sess-1"));
        assert_eq!(
            out.gemini,
            json!({
                "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                "systemInstruction": {"parts": [{"text": "be brief"}]},
                "generationConfig": {"temperature": 0.5, "topP": 0.9, "maxOutputTokens": 100},
                "safetySettings": safety()
            })
        );
        assert_eq!(
            out.input_items,
            vec![
                json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]})
            ]
        );
        assert_eq!(out.echo["instructions"], json!("be brief"));
        assert_eq!(out.echo["metadata"], json!({"k": "v"}));
        assert_eq!(out.echo["tool_choice"], json!("auto"));
    }

    #[test]
    fn reasoning_effort_and_json_schema_format() {
        let out = convert(json!({
            "model": "gemini-3-flash-preview", "input": "x",
            "reasoning": {"effort": "low", "summary": "auto"},
            "text": {"format": {"type": "json_schema", "name": "r", "strict": true, "schema": {
                "type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": false
            }}}
        }))
        .unwrap();
        assert_eq!(
            out.gemini["generationConfig"],
            json!({
                "responseMimeType": "application/json",
                "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}, "required": ["a"]},
                "thinkingConfig": {"thinkingLevel": "low", "includeThoughts": true}
            })
        );
        let out = convert(json!({"model": "gemini-2.5-flash", "input": "x", "text": {"format": {"type": "json_object"}}, "reasoning": {"effort": "high"}})).unwrap();
        assert_eq!(
            out.gemini["generationConfig"],
            json!({"responseMimeType": "application/json", "thinkingConfig": {"thinkingBudget": 24576, "includeThoughts": true}})
        );
    }

    #[test]
    fn codex_shaped_request_golden() {
        let out = convert(json!({
            "model": "gemini-2.5-pro", "stream": true, "store": false,
            "input": [
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are a coding agent."}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]}
            ],
            "tools": [
                {"type": "function", "name": "exec_command", "strict": false, "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"], "additionalProperties": false}},
                {"type": "web_search", "external_web_access": true}
            ],
            "tool_choice": "auto", "parallel_tool_calls": true,
            "reasoning": {"summary": "auto"}, "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": "abc", "client_metadata": {"x": "y"}
        }))
        .unwrap();
        assert!(out.stream);
        assert!(!out.store);
        assert_eq!(
            out.gemini,
            json!({
                "contents": [{"role": "user", "parts": [{"text": "list files"}]}],
                "systemInstruction": {"parts": [{"text": "You are a coding agent."}]},
                "generationConfig": {"thinkingConfig": {"includeThoughts": true}},
                "tools": [{"functionDeclarations": [{"name": "exec_command", "description": "",
                    "parametersJsonSchema": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}}]}],
                "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
                "safetySettings": safety()
            })
        );
    }

    #[test]
    fn history_comes_before_the_new_input() {
        let history = vec![
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "first"}]}),
            json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "answer"}]}),
        ];
        let out = responses_to_gemini(
            &body(
                json!({"model": "gemini-2.5-flash", "input": "second", "previous_response_id": "resp_1"}),
            ),
            &history,
            &HashMap::new(),
            &ConvertOptions::default(),
        )
        .unwrap();
        assert_eq!(
            out.gemini["contents"],
            json!([
                {"role": "user", "parts": [{"text": "first"}]},
                {"role": "model", "parts": [{"text": "answer"}]},
                {"role": "user", "parts": [{"text": "second"}]}
            ])
        );
        assert_eq!(out.previous_response_id.as_deref(), Some("resp_1"));
        assert_eq!(out.echo["previous_response_id"], json!("resp_1"));
    }

    #[test]
    fn compatibility_mode_sends_instructions_as_user_text() {
        let out = responses_to_gemini(
            &body(json!({"model": "gemini-2.5-flash", "instructions": "rules", "input": "hi"})),
            &[],
            &HashMap::new(),
            &ConvertOptions {
                compatibility_mode: true,
                return_thoughts: true,
            },
        )
        .unwrap();
        assert_eq!(out.gemini.get("systemInstruction"), None);
        assert_eq!(
            out.gemini["contents"],
            json!([{"role": "user", "parts": [{"text": "rules"}, {"text": "hi"}]}])
        );
    }

    #[test]
    fn remote_images_are_collected_once() {
        let body = body(json!({"input": [
            {"role": "user", "content": [
                {"type": "input_image", "image_url": "https://a.example/x.png"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}
            ]},
            {"type": "function_call_output", "call_id": "c", "output": [{"type": "input_image", "image_url": "https://a.example/x.png"}]}
        ]}));
        assert_eq!(
            collect_remote_image_urls(&body),
            vec!["https://a.example/x.png".to_string()]
        );
    }

    /// A valid body with `key` set to `value`.
    fn with(key: &str, value: Value) -> Value {
        let mut body = json!({"model": "gemini-2.5-flash", "input": "x"});
        body[key] = value;
        body
    }

    #[test]
    fn validation_errors_name_the_responses_field() {
        let cases = [
            (json!([]), "body"),
            (json!({"input": "x"}), "model"),
            (json!({"model": "gemini-2.5-flash"}), "input"),
            (with("input", json!("")), "input"),
            (with("input", json!(3)), "input"),
            (with("stream", json!("yes")), "stream"),
            (with("store", json!(1)), "store"),
            (
                with("previous_response_id", json!(5)),
                "previous_response_id",
            ),
            (with("instructions", json!([])), "instructions"),
            (with("temperature", json!(3)), "temperature"),
            (with("top_p", json!(2)), "top_p"),
            (with("max_output_tokens", json!(0)), "max_output_tokens"),
            (
                with("reasoning", json!({"effort": "huge"})),
                "reasoning.effort",
            ),
            (with("reasoning", json!("high")), "reasoning"),
            (
                with("text", json!({"format": {"type": "xml"}})),
                "text.format.type",
            ),
            (
                with("text", json!({"format": {"type": "json_schema"}})),
                "text.format.schema",
            ),
            (with("tools", json!("f")), "tools"),
            (with("tool_choice", json!(7)), "tool_choice"),
        ];
        for (body, field) in cases {
            let err = convert(body.clone()).unwrap_err();
            assert_eq!(err.field(), field, "{body}");
            assert!(err.to_string().starts_with(&format!("{field}: ")), "{err}");
        }
    }

    #[test]
    fn unknown_top_level_keys_change_nothing() {
        let plain = json!({"model": "gemini-2.5-flash", "input": "hi", "instructions": "sys"});
        let mut decorated = plain.clone();
        for (key, value) in [
            ("include", json!(["reasoning.encrypted_content"])),
            ("client_metadata", json!({"x": "y"})),
            ("service_tier", Value::Null),
            ("background", json!(false)),
        ] {
            decorated[key] = value;
        }
        assert_eq!(convert(decorated).unwrap(), convert(plain).unwrap());
    }

    #[test]
    fn wrong_typed_fields_are_refused_in_the_responses_api_words() {
        let cases = [
            (json!(["x"]), "body: must be a JSON object"),
            (with("model", json!(3)), "model: must be a string"),
            (with("model", Value::Null), "model: is required"),
            (with("stream", json!("yes")), "stream: must be a boolean"),
            (with("store", json!(1)), "store: must be a boolean"),
            (
                with("parallel_tool_calls", json!("no")),
                "parallel_tool_calls: must be a boolean",
            ),
            (
                with("previous_response_id", json!(5)),
                "previous_response_id: must be a non-empty string",
            ),
            (
                with("prompt_cache_key", json!(1)),
                "prompt_cache_key: must be a string",
            ),
            (
                with("instructions", json!([])),
                "instructions: must be a string",
            ),
            (
                with("input", json!(3)),
                "input: must be a string or an array of items",
            ),
            (
                with("temperature", json!("hot")),
                "temperature: must be a number",
            ),
            (
                with("max_output_tokens", json!(1.5)),
                "max_output_tokens: must be an integer",
            ),
            (
                with("reasoning", json!("high")),
                "reasoning: must be an object",
            ),
            (with("text", json!("x")), "text: must be an object"),
            (
                with("text", json!({"format": 1})),
                "text.format: must be an object",
            ),
            (with("tools", json!("f")), "tools: must be an array"),
        ];
        for (body, message) in cases {
            let err = convert(body.clone()).unwrap_err();
            assert_eq!(err.to_string(), message, "{body}");
        }
    }
}
