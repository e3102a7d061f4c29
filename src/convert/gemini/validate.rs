//! Deep checks of a Gemini-native request, so malformed input gets a 400 naming the field instead of
//! being forwarded (costing a credential call and the caller's quota) to be refused by Google.
//!
//! Only the shape of fields we know is checked; unknown fields pass, because Google adds fields faster
//! than a gateway could follow. Both the camelCase and the snake_case spellings are recognised, as the
//! REST API accepts both.

use serde_json::{Map, Value};

use crate::convert::ConvertError;

/// Deeper schemas are refused: they are never needed and would make every walk over them expensive.
const MAX_SCHEMA_DEPTH: usize = 32;
const MAX_FUNCTION_NAME: usize = 128;

/// Part fields that carry data; a part needs at least one.
const DATA_FIELDS: [(&str, &str); 7] = [
    ("text", "text"),
    ("inlineData", "inline_data"),
    ("fileData", "file_data"),
    ("functionCall", "function_call"),
    ("functionResponse", "function_response"),
    ("executableCode", "executable_code"),
    ("codeExecutionResult", "code_execution_result"),
];

#[derive(Clone, Copy)]
enum Expect {
    Number,
    Integer,
    Bool,
    Str,
    StrList,
    Object,
    Schema,
}

/// `generationConfig` fields with a known type.
const GENERATION_FIELDS: [(&str, &str, Expect); 17] = [
    ("temperature", "temperature", Expect::Number),
    ("topP", "top_p", Expect::Number),
    ("topK", "top_k", Expect::Number),
    ("presencePenalty", "presence_penalty", Expect::Number),
    ("frequencyPenalty", "frequency_penalty", Expect::Number),
    ("candidateCount", "candidate_count", Expect::Integer),
    ("maxOutputTokens", "max_output_tokens", Expect::Integer),
    ("seed", "seed", Expect::Integer),
    ("logprobs", "logprobs", Expect::Integer),
    ("responseLogprobs", "response_logprobs", Expect::Bool),
    ("stopSequences", "stop_sequences", Expect::StrList),
    ("responseMimeType", "response_mime_type", Expect::Str),
    ("responseModalities", "response_modalities", Expect::StrList),
    ("responseSchema", "response_schema", Expect::Schema),
    ("responseJsonSchema", "response_json_schema", Expect::Object),
    ("thinkingConfig", "thinking_config", Expect::Object),
    ("imageConfig", "image_config", Expect::Object),
];

const THINKING_FIELDS: [(&str, &str, Expect); 3] = [
    ("thinkingBudget", "thinking_budget", Expect::Integer),
    ("includeThoughts", "include_thoughts", Expect::Bool),
    ("thinkingLevel", "thinking_level", Expect::Str),
];

fn invalid(field: impl Into<String>, detail: &str) -> ConvertError {
    ConvertError::invalid(field, detail)
}

fn get<'a>(obj: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<(&'a Value, String)> {
    obj.get(camel)
        .map(|v| (v, camel.to_string()))
        .or_else(|| obj.get(snake).map(|v| (v, snake.to_string())))
        .filter(|(v, _)| !v.is_null())
}

/// The request object (keys already reduced to the forwarded ones, contents already shape-checked).
pub fn validate_request(request: &Map<String, Value>) -> Result<(), ConvertError> {
    if let Some(Value::Array(contents)) = request.get("contents") {
        for (i, content) in contents.iter().enumerate() {
            validate_parts(content.get("parts"), &format!("contents[{i}].parts"))?;
        }
    }
    if let Some(Value::Object(system)) = request.get("systemInstruction") {
        validate_parts(system.get("parts"), "systemInstruction.parts")?;
    }
    if let Some(Value::Object(config)) = request.get("generationConfig") {
        validate_generation_config(config)?;
    }
    if let Some(Value::Array(tools)) = request.get("tools") {
        for (i, tool) in tools.iter().enumerate() {
            validate_tool(tool, &format!("tools[{i}]"))?;
        }
    }
    if let Some(Value::Array(settings)) = request.get("safetySettings") {
        for (i, setting) in settings.iter().enumerate() {
            let field = format!("safetySettings[{i}]");
            let Value::Object(setting) = setting else {
                return Err(invalid(field, "must be an object"));
            };
            for key in ["category", "threshold"] {
                if !setting.get(key).is_some_and(Value::is_string) {
                    return Err(invalid(format!("{field}.{key}"), "must be a string"));
                }
            }
        }
    }
    if let Some(Value::Object(config)) = request.get("toolConfig") {
        if let Some((calling, name)) =
            get(config, "functionCallingConfig", "function_calling_config")
        {
            let field = format!("toolConfig.{name}");
            let Value::Object(calling) = calling else {
                return Err(invalid(field, "must be an object"));
            };
            if let Some((mode, key)) = get(calling, "mode", "mode") {
                check(mode, Expect::Str, &format!("{field}.{key}"))?;
            }
            if let Some((names, key)) =
                get(calling, "allowedFunctionNames", "allowed_function_names")
            {
                check(names, Expect::StrList, &format!("{field}.{key}"))?;
            }
        }
    }
    Ok(())
}

/// Only the contents, for `countTokens`.
pub fn validate_contents_parts(contents: &Value, field: &str) -> Result<(), ConvertError> {
    if let Value::Array(list) = contents {
        for (i, content) in list.iter().enumerate() {
            validate_parts(content.get("parts"), &format!("{field}[{i}].parts"))?;
        }
    }
    Ok(())
}

fn validate_parts(parts: Option<&Value>, field: &str) -> Result<(), ConvertError> {
    let Some(Value::Array(parts)) = parts else {
        return Ok(());
    };
    for (j, part) in parts.iter().enumerate() {
        let field = format!("{field}[{j}]");
        let Value::Object(part) = part else {
            return Err(invalid(field, "must be an object"));
        };
        validate_part(part, &field)?;
    }
    Ok(())
}

fn validate_part(part: &Map<String, Value>, field: &str) -> Result<(), ConvertError> {
    let mut has_data = false;
    for (camel, snake) in DATA_FIELDS {
        let Some((value, name)) = get(part, camel, snake) else {
            continue;
        };
        has_data = true;
        let at = format!("{field}.{name}");
        match camel {
            "text" => check(value, Expect::Str, &at)?,
            "inlineData" => {
                let data = object(value, &at)?;
                required_string(data, "mimeType", "mime_type", &at)?;
                required_string(data, "data", "data", &at)?;
            }
            "fileData" => {
                let data = object(value, &at)?;
                required_string(data, "fileUri", "file_uri", &at)?;
            }
            "functionCall" => {
                let call = object(value, &at)?;
                function_name(call, &at)?;
                if let Some((args, key)) = get(call, "args", "args") {
                    check(args, Expect::Object, &format!("{at}.{key}"))?;
                }
            }
            "functionResponse" => {
                let response = object(value, &at)?;
                function_name(response, &at)?;
                if let Some((body, key)) = get(response, "response", "response") {
                    check(body, Expect::Object, &format!("{at}.{key}"))?;
                }
            }
            "executableCode" => {
                required_string(object(value, &at)?, "code", "code", &at)?;
            }
            _ => {
                object(value, &at)?;
            }
        }
    }
    if let Some((thought, name)) = get(part, "thought", "thought") {
        check(thought, Expect::Bool, &format!("{field}.{name}"))?;
    }
    if let Some((signature, name)) = get(part, "thoughtSignature", "thought_signature") {
        check(signature, Expect::Str, &format!("{field}.{name}"))?;
    }
    if !has_data {
        return Err(invalid(
            field,
            "has no data: expected text, inlineData, fileData, functionCall or functionResponse",
        ));
    }
    Ok(())
}

fn validate_generation_config(config: &Map<String, Value>) -> Result<(), ConvertError> {
    for (camel, snake, expect) in GENERATION_FIELDS {
        if let Some((value, name)) = get(config, camel, snake) {
            check(value, expect, &format!("generationConfig.{name}"))?;
        }
    }
    if let Some((Value::Object(thinking), name)) = get(config, "thinkingConfig", "thinking_config")
    {
        for (camel, snake, expect) in THINKING_FIELDS {
            if let Some((value, key)) = get(thinking, camel, snake) {
                check(value, expect, &format!("generationConfig.{name}.{key}"))?;
            }
        }
    }
    Ok(())
}

fn validate_tool(tool: &Value, field: &str) -> Result<(), ConvertError> {
    let Value::Object(tool) = tool else {
        return Err(invalid(field, "must be an object"));
    };
    let Some((declarations, name)) = get(tool, "functionDeclarations", "function_declarations")
    else {
        return Ok(());
    };
    let field = format!("{field}.{name}");
    let Value::Array(declarations) = declarations else {
        return Err(invalid(field, "must be an array"));
    };
    for (k, declaration) in declarations.iter().enumerate() {
        let at = format!("{field}[{k}]");
        let declaration = object(declaration, &at)?;
        function_name(declaration, &at)?;
        if let Some((description, key)) = get(declaration, "description", "description") {
            check(description, Expect::Str, &format!("{at}.{key}"))?;
        }
        for (camel, snake) in [("parameters", "parameters"), ("response", "response")] {
            if let Some((schema, key)) = get(declaration, camel, snake) {
                validate_schema(schema, &format!("{at}.{key}"), 0)?;
            }
        }
        for (camel, snake) in [
            ("parametersJsonSchema", "parameters_json_schema"),
            ("responseJsonSchema", "response_json_schema"),
        ] {
            if let Some((schema, key)) = get(declaration, camel, snake) {
                check(schema, Expect::Object, &format!("{at}.{key}"))?;
            }
        }
    }
    Ok(())
}

/// An OpenAPI-style schema as Gemini takes it: an object whose structural keywords have the right kinds.
fn validate_schema(schema: &Value, field: &str, depth: usize) -> Result<(), ConvertError> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(invalid(field, "is nested too deeply"));
    }
    let Value::Object(schema) = schema else {
        return Err(invalid(field, "must be a schema object"));
    };
    if let Some(kind) = schema.get("type") {
        let ok = match kind {
            Value::String(_) => true,
            Value::Array(kinds) => kinds.iter().all(Value::is_string),
            _ => false,
        };
        if !ok {
            return Err(invalid(
                format!("{field}.type"),
                "must be a string or a list of strings",
            ));
        }
    }
    if let Some(properties) = schema.get("properties") {
        let Value::Object(properties) = properties else {
            return Err(invalid(format!("{field}.properties"), "must be an object"));
        };
        for (name, property) in properties {
            validate_schema(property, &format!("{field}.properties.{name}"), depth + 1)?;
        }
    }
    if let Some(items) = schema.get("items") {
        validate_schema(items, &format!("{field}.items"), depth + 1)?;
    }
    for key in ["anyOf", "oneOf", "allOf", "any_of"] {
        if let Some(list) = schema.get(key) {
            let Value::Array(list) = list else {
                return Err(invalid(format!("{field}.{key}"), "must be an array"));
            };
            for (i, sub) in list.iter().enumerate() {
                validate_schema(sub, &format!("{field}.{key}[{i}]"), depth + 1)?;
            }
        }
    }
    if let Some(required) = schema.get("required") {
        check(required, Expect::StrList, &format!("{field}.required"))?;
    }
    if let Some(values) = schema.get("enum") {
        if !values.is_array() {
            return Err(invalid(format!("{field}.enum"), "must be an array"));
        }
    }
    if let Some(description) = schema.get("description") {
        check(description, Expect::Str, &format!("{field}.description"))?;
    }
    Ok(())
}

fn function_name(obj: &Map<String, Value>, field: &str) -> Result<(), ConvertError> {
    let name = obj.get("name").and_then(Value::as_str).unwrap_or_default();
    if name.trim().is_empty() {
        return Err(invalid(format!("{field}.name"), "is required"));
    }
    if name.len() > MAX_FUNCTION_NAME {
        return Err(invalid(
            format!("{field}.name"),
            "must be at most 128 characters",
        ));
    }
    Ok(())
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, ConvertError> {
    value
        .as_object()
        .ok_or_else(|| invalid(field, "must be an object"))
}

fn required_string(
    obj: &Map<String, Value>,
    camel: &str,
    snake: &str,
    field: &str,
) -> Result<(), ConvertError> {
    match get(obj, camel, snake) {
        Some((Value::String(_), _)) => Ok(()),
        Some((_, name)) => Err(invalid(format!("{field}.{name}"), "must be a string")),
        None => Err(invalid(format!("{field}.{camel}"), "is required")),
    }
}

fn check(value: &Value, expect: Expect, field: &str) -> Result<(), ConvertError> {
    let (ok, detail) = match expect {
        Expect::Number => (value.is_number(), "must be a number"),
        Expect::Integer => (value.is_i64() || value.is_u64(), "must be an integer"),
        Expect::Bool => (value.is_boolean(), "must be true or false"),
        Expect::Str => (value.is_string(), "must be a string"),
        Expect::StrList => (
            value
                .as_array()
                .is_some_and(|l| l.iter().all(Value::is_string)),
            "must be a list of strings",
        ),
        Expect::Object => (value.is_object(), "must be an object"),
        Expect::Schema => return validate_schema(value, field, 0),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(field, detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(request: Value) -> String {
        validate_request(request.as_object().unwrap())
            .unwrap_err()
            .field()
            .to_string()
    }

    fn with(key: &str, value: Value) -> Value {
        let mut body = json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}]});
        body[key] = value;
        body
    }

    #[test]
    fn malformed_fields_are_named() {
        let cases = [
            (
                json!({"contents": [{"parts": [{"text": 5}]}]}),
                "contents[0].parts[0].text",
            ),
            (
                json!({"contents": [{"parts": [{"inlineData": {"mimeType": "image/png"}}]}]}),
                "contents[0].parts[0].inlineData.data",
            ),
            (
                json!({"contents": [{"parts": [{"functionCall": {"args": {}}}]}]}),
                "contents[0].parts[0].functionCall.name",
            ),
            (
                json!({"contents": [{"parts": [{"functionCall": {"name": "f", "args": "x"}}]}]}),
                "contents[0].parts[0].functionCall.args",
            ),
            (
                json!({"contents": [{"parts": [{"bogus": 1}]}]}),
                "contents[0].parts[0]",
            ),
            (
                with(
                    "tools",
                    json!([{"functionDeclarations": [{"name": "f", "parameters": "not an object"}]}]),
                ),
                "tools[0].functionDeclarations[0].parameters",
            ),
            (
                with(
                    "tools",
                    json!([{"functionDeclarations": [{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": 3}}}}]}]),
                ),
                "tools[0].functionDeclarations[0].parameters.properties.a.type",
            ),
            (
                with(
                    "tools",
                    json!([{"functionDeclarations": [{"parameters": {}}]}]),
                ),
                "tools[0].functionDeclarations[0].name",
            ),
            (
                with("tools", json!([{"functionDeclarations": {}}])),
                "tools[0].functionDeclarations",
            ),
            (
                with("generationConfig", json!({"temperature": "hot"})),
                "generationConfig.temperature",
            ),
            (
                with("generationConfig", json!({"maxOutputTokens": 1.5})),
                "generationConfig.maxOutputTokens",
            ),
            (
                with("generationConfig", json!({"stopSequences": [1]})),
                "generationConfig.stopSequences",
            ),
            (
                with(
                    "generationConfig",
                    json!({"thinkingConfig": {"thinkingBudget": "x"}}),
                ),
                "generationConfig.thinkingConfig.thinkingBudget",
            ),
            (
                with("safetySettings", json!([{"category": 1}])),
                "safetySettings[0].category",
            ),
        ];
        for (body, field) in cases {
            assert_eq!(field_of(body.clone()), field, "{body}");
        }
    }

    #[test]
    fn well_formed_requests_pass() {
        let body = json!({
            "contents": [
                {"role": "user", "parts": [{"text": "x"}, {"inline_data": {"mime_type": "image/png", "data": "AA=="}}]},
                {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "s"}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"ok": true}}}]}
            ],
            "generationConfig": {"temperature": 0.2, "topK": 40, "maxOutputTokens": 100, "responseSchema": {"type": "object"}},
            "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": ["string", "null"]}}, "required": ["a"]}}]}, {"googleSearch": {}}],
        });
        validate_request(body.as_object().unwrap()).unwrap();
    }

    #[test]
    fn deep_schemas_are_refused_not_walked_forever() {
        let mut schema = json!({"type": "string"});
        for _ in 0..40 {
            schema = json!({"type": "array", "items": schema});
        }
        let body = with(
            "tools",
            json!([{"functionDeclarations": [{"name": "f", "parameters": schema}]}]),
        );
        assert!(field_of(body).ends_with(".items"));
    }
}
