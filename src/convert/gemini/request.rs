//! Gemini-native request bodies (`:generateContent`, `:streamGenerateContent`, `:countTokens`).
//!
//! Clients speaking Gemini already send the upstream shape, so the body is validated, reduced to
//! the keys Code Assist accepts inside `request`, and given the model-name features. Every
//! `generationConfig` key is kept: upstream knows its own fields better than a whitelist here.

use serde_json::{json, Map, Value};

use crate::convert::gemini::features::apply_model_features;
use crate::convert::gemini::model_name::ModelSpec;
use crate::convert::gemini::schema::normalise_tool_enums;
use crate::convert::session_trajectory::SESSION_ID_FIELD;
use crate::convert::{ConvertError, ConvertOptions};

/// Request keys forwarded upstream, with the snake_case spellings the REST API also accepts.
const REQUEST_KEYS: [(&str, &str); 8] = [
    ("contents", "contents"),
    ("systemInstruction", "system_instruction"),
    ("generationConfig", "generation_config"),
    ("safetySettings", "safety_settings"),
    ("tools", "tools"),
    ("toolConfig", "tool_config"),
    ("cachedContent", "cached_content"),
    ("labels", "labels"),
];

const CONTENT_ROLES: [&str; 3] = ["user", "model", "function"];

/// Longest client `session_id` forwarded (the Gemini CLI sends a 36-character UUID).
const MAX_SESSION_ID_LEN: usize = 256;

/// Validate a native body and return the upstream `request` object with model features applied.
/// Envelope-level keys (`model`, `stream`, unknown ones) are dropped; a `session_id` is kept (it
/// belongs inside Code Assist's `request`, where the Gemini CLI puts it).
pub fn prepare_native_request(
    body: Value,
    spec: &ModelSpec,
    opts: &ConvertOptions,
) -> Result<Value, ConvertError> {
    let Value::Object(mut body) = body else {
        return Err(ConvertError::invalid("body", "must be a JSON object"));
    };
    let mut request = Map::new();
    for (camel, snake) in REQUEST_KEYS {
        let value = body.remove(camel).filter(|v| !v.is_null());
        let value = value.or_else(|| body.remove(snake).filter(|v| !v.is_null()));
        if let Some(value) = value {
            request.insert(camel.into(), value);
        }
    }

    // Code Assist's own conversation id (the Gemini CLI's `session_id`): the client's is kept.
    match body.remove(SESSION_ID_FIELD) {
        None | Some(Value::Null) => {}
        Some(Value::String(id)) if !id.trim().is_empty() && id.len() <= MAX_SESSION_ID_LEN => {
            request.insert(SESSION_ID_FIELD.into(), Value::String(id));
        }
        Some(_) => {
            return Err(ConvertError::invalid(
                SESSION_ID_FIELD,
                format!("must be a non-empty string of at most {MAX_SESSION_ID_LEN} characters"),
            ))
        }
    }

    match request.get_mut("contents") {
        Some(contents) => validate_contents(contents, "contents")?,
        None => return Err(ConvertError::invalid("contents", "is required")),
    }
    if let Some(system) = request.remove("systemInstruction") {
        request.insert("systemInstruction".into(), system_instruction(system)?);
    }
    expect_kind(
        &request,
        "generationConfig",
        Value::is_object,
        "must be an object",
    )?;
    expect_kind(
        &request,
        "safetySettings",
        Value::is_array,
        "must be an array",
    )?;
    expect_kind(&request, "tools", Value::is_array, "must be an array")?;
    expect_kind(
        &request,
        "toolConfig",
        Value::is_object,
        "must be an object",
    )?;
    expect_kind(
        &request,
        "cachedContent",
        Value::is_string,
        "must be a string",
    )?;
    expect_kind(&request, "labels", Value::is_object, "must be an object")?;
    crate::convert::gemini::validate::validate_request(&request)?;

    let mut request = Value::Object(request);
    // Native clients write Gemini's schema shape themselves, but enums on non-strings still fail.
    normalise_tool_enums(&mut request);
    apply_model_features(&mut request, spec, opts);
    let has_contents = request
        .get("contents")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty());
    if !has_contents {
        return Err(ConvertError::invalid("contents", "every content is empty"));
    }
    Ok(request)
}

/// Body for upstream `:countTokens`. Accepts `contents` or `generateContentRequest.contents`.
pub fn count_tokens_request(body: &Value, base_model: &str) -> Result<Value, ConvertError> {
    if !body.is_object() {
        return Err(ConvertError::invalid("body", "must be a JSON object"));
    }
    let (mut contents, field) = match body.get("contents") {
        Some(contents) if !contents.is_null() => (contents.clone(), "contents"),
        _ => match body
            .get("generateContentRequest")
            .and_then(|r| r.get("contents"))
        {
            Some(contents) => (contents.clone(), "generateContentRequest.contents"),
            None => return Err(ConvertError::invalid("contents", "is required")),
        },
    };
    validate_contents(&mut contents, field)?;
    crate::convert::gemini::validate::validate_contents_parts(&contents, field)?;
    Ok(json!({"request": {"model": format!("models/{base_model}"), "contents": contents}}))
}

/// A non-empty array of `{role?, parts: [objects]}`; a missing role becomes `user`.
fn validate_contents(contents: &mut Value, field: &str) -> Result<(), ConvertError> {
    let list = match contents {
        Value::Array(list) if !list.is_empty() => list,
        Value::Array(_) => return Err(ConvertError::invalid(field, "must not be empty")),
        _ => return Err(ConvertError::invalid(field, "must be an array")),
    };
    for (i, content) in list.iter_mut().enumerate() {
        let content_field = format!("{field}[{i}]");
        let Value::Object(content) = content else {
            return Err(ConvertError::invalid(content_field, "must be an object"));
        };
        match content.get("parts") {
            Some(Value::Array(parts)) => {
                if let Some(j) = parts.iter().position(|p| !p.is_object()) {
                    return Err(ConvertError::invalid(
                        format!("{content_field}.parts[{j}]"),
                        "must be an object",
                    ));
                }
            }
            None | Some(Value::Null) => {
                return Err(ConvertError::invalid(
                    format!("{content_field}.parts"),
                    "is required",
                ))
            }
            Some(_) => {
                return Err(ConvertError::invalid(
                    format!("{content_field}.parts"),
                    "must be an array",
                ))
            }
        }
        match content.get("role") {
            None | Some(Value::Null) => {
                content.insert("role".into(), json!("user"));
            }
            Some(Value::String(role)) if CONTENT_ROLES.contains(&role.as_str()) => {}
            Some(Value::String(role)) => {
                return Err(ConvertError::invalid(
                    format!("{content_field}.role"),
                    format!("unknown role \"{role}\" (expected \"user\" or \"model\")"),
                ))
            }
            Some(_) => {
                return Err(ConvertError::invalid(
                    format!("{content_field}.role"),
                    "must be a string",
                ))
            }
        }
    }
    Ok(())
}

/// A plain string is accepted as one text part; any role is dropped (upstream ignores or rejects it).
fn system_instruction(system: Value) -> Result<Value, ConvertError> {
    let field = "systemInstruction";
    match system {
        Value::String(text) => Ok(json!({"parts": [{"text": text}]})),
        Value::Object(mut obj) => {
            obj.remove("role");
            match obj.get("parts") {
                Some(Value::Array(parts)) if parts.iter().all(Value::is_object) => {
                    Ok(Value::Object(obj))
                }
                Some(Value::Array(_)) => Err(ConvertError::invalid(
                    format!("{field}.parts"),
                    "must be an array of objects",
                )),
                _ => Err(ConvertError::invalid(
                    format!("{field}.parts"),
                    "is required and must be an array",
                )),
            }
        }
        _ => Err(ConvertError::invalid(
            field,
            "must be an object or a string",
        )),
    }
}

fn expect_kind(
    request: &Map<String, Value>,
    key: &str,
    check: fn(&Value) -> bool,
    detail: &str,
) -> Result<(), ConvertError> {
    match request.get(key) {
        Some(value) if !check(value) => Err(ConvertError::invalid(key, detail)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::gemini::features::text_safety_settings;

    fn prepare(model: &str, body: Value) -> Result<Value, ConvertError> {
        let spec = ModelSpec::parse(model).unwrap();
        prepare_native_request(body, &spec, &ConvertOptions::default())
    }

    #[test]
    fn native_body_golden() {
        let out = prepare(
            "gemini-2.5-flash-lite-low",
            json!({
                "model": "ignored",
                "contents": [{"parts": [{"text": "hi "}]}],
                "system_instruction": {"role": "system", "parts": [{"text": "sys"}]},
                "generationConfig": {
                    "temperature": 0.3,
                    "responseModalities": ["TEXT"],
                    "image_config": {"aspect_ratio": "1:1"},
                    "mediaResolution": "MEDIA_RESOLUTION_LOW"
                },
                "tools": [{"functionDeclarations": [{"name": "f"}]}],
                "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
                "cachedContent": "cachedContents/1",
                "labels": {"team": "a"},
                "unknownJunk": 1
            }),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({
                "contents": [{"role": "user", "parts": [{"text": "hi "}]}],
                "systemInstruction": {"parts": [{"text": "sys"}]},
                "generationConfig": {
                    "temperature": 0.3,
                    "responseModalities": ["TEXT"],
                    "image_config": {"aspect_ratio": "1:1"},
                    "mediaResolution": "MEDIA_RESOLUTION_LOW",
                    "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true}
                },
                "tools": [{"functionDeclarations": [{"name": "f"}]}],
                "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
                "cachedContent": "cachedContents/1",
                "labels": {"team": "a"},
                "safetySettings": text_safety_settings()
            })
        );
    }

    #[test]
    fn string_system_instruction_is_accepted() {
        let out = prepare(
            "gemini-2.5-flash",
            json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}], "systemInstruction": "be kind"}),
        )
        .unwrap();
        assert_eq!(
            out["systemInstruction"],
            json!({"parts": [{"text": "be kind"}]})
        );
    }

    #[test]
    fn native_validation_errors_name_the_field() {
        let ok_contents = json!([{"role": "user", "parts": [{"text": "x"}]}]);
        let with = |key: &str, value: Value| {
            let mut body = json!({"contents": ok_contents.clone()});
            body[key] = value;
            body
        };
        let cases = [
            (json!([1]), "body"),
            (json!({}), "contents"),
            (json!({"contents": {}}), "contents"),
            (json!({"contents": []}), "contents"),
            (json!({"contents": [1]}), "contents[0]"),
            (json!({"contents": [{"role": "user"}]}), "contents[0].parts"),
            (json!({"contents": [{"parts": "x"}]}), "contents[0].parts"),
            (
                json!({"contents": [{"parts": ["x"]}]}),
                "contents[0].parts[0]",
            ),
            (
                json!({"contents": [{"role": "system", "parts": []}]}),
                "contents[0].role",
            ),
            (
                json!({"contents": [{"role": "user", "parts": [{"text": ""}]}]}),
                "contents",
            ),
            (with("systemInstruction", json!(5)), "systemInstruction"),
            (
                with("systemInstruction", json!({"text": "x"})),
                "systemInstruction.parts",
            ),
            (with("generationConfig", json!([])), "generationConfig"),
            (with("safetySettings", json!({})), "safetySettings"),
            (with("tools", json!({})), "tools"),
            (with("toolConfig", json!([])), "toolConfig"),
            (with("cachedContent", json!(1)), "cachedContent"),
        ];
        for (body, field) in cases {
            let err = prepare("gemini-2.5-flash", body.clone()).unwrap_err();
            assert_eq!(err.field(), field, "{body}");
        }
    }

    #[test]
    fn count_tokens_accepts_both_shapes() {
        let contents = json!([{"parts": [{"text": "x"}]}]);
        let expected = json!({"request": {
            "model": "models/gemini-2.5-pro",
            "contents": [{"role": "user", "parts": [{"text": "x"}]}]
        }});
        assert_eq!(
            count_tokens_request(&json!({"contents": contents}), "gemini-2.5-pro").unwrap(),
            expected
        );
        assert_eq!(
            count_tokens_request(
                &json!({"generateContentRequest": {"model": "models/x", "contents": contents}}),
                "gemini-2.5-pro"
            )
            .unwrap(),
            expected
        );
        assert_eq!(
            count_tokens_request(&json!({}), "gemini-2.5-pro")
                .unwrap_err()
                .field(),
            "contents"
        );
        assert_eq!(
            count_tokens_request(&json!({"generateContentRequest": {"contents": [2]}}), "m")
                .unwrap_err()
                .field(),
            "generateContentRequest.contents[0]"
        );
    }
}
