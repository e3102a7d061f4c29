//! Gemini-shaped bodies posted to the OpenAI chat endpoint are served too: they are recognised by
//! their keys and prepared like native requests.

use std::collections::HashMap;

use serde_json::Value;

use crate::convert::gemini::fields::bool_field;
use crate::convert::gemini::model_name::ModelSpec;
use crate::convert::gemini::request::prepare_native_request;
use crate::convert::openai_chat::request::ChatRequest;
use crate::convert::{ConvertError, ConvertOptions};

/// Model used when a Gemini-shaped body names none (the URL carries it on native routes).
pub const DEFAULT_MODEL: &str = "gemini-2.5-pro";

/// A body without `messages` that has a `contents` array, a `systemInstruction` or a
/// `generationConfig`.
pub fn is_gemini_body(body: &Value) -> bool {
    let Some(obj) = body.as_object() else {
        return false;
    };
    !obj.contains_key("messages")
        && (obj.get("contents").is_some_and(Value::is_array)
            || obj.contains_key("systemInstruction")
            || obj.contains_key("generationConfig"))
}

/// Prepare a Gemini-shaped chat body: `model` (default `gemini-2.5-pro`) and `stream` are read
/// from the body, the rest goes through `prepare_native_request`.
pub fn gemini_body_as_chat(
    body: &Value,
    opts: &ConvertOptions,
) -> Result<ChatRequest, ConvertError> {
    let Some(obj) = body.as_object() else {
        return Err(ConvertError::invalid("body", "must be a JSON object"));
    };
    let model = match obj.get("model") {
        None | Some(Value::Null) => DEFAULT_MODEL,
        Some(Value::String(model)) => model.as_str(),
        Some(_) => return Err(ConvertError::invalid("model", "must be a string")),
    };
    let spec = ModelSpec::parse(model)?;
    let stream = bool_field(obj.get("stream"), "stream")?.unwrap_or(false);
    let include_usage = bool_field(
        obj.get("stream_options")
            .and_then(|o| o.get("include_usage")),
        "stream_options.include_usage",
    )?
    .unwrap_or(false);
    let gemini = prepare_native_request(body.clone(), &spec, opts)?;
    Ok(ChatRequest {
        spec,
        stream,
        include_usage,
        gemini,
        tool_names: HashMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detects_gemini_shapes_only_without_messages() {
        assert!(is_gemini_body(&json!({"contents": []})));
        assert!(is_gemini_body(&json!({"systemInstruction": {"parts": []}})));
        assert!(is_gemini_body(&json!({"generationConfig": {}})));
        assert!(!is_gemini_body(&json!({"contents": "x"})));
        assert!(!is_gemini_body(&json!({"messages": [], "contents": []})));
        assert!(!is_gemini_body(&json!({"model": "m"})));
        assert!(!is_gemini_body(&json!([])));
    }

    #[test]
    fn gemini_body_converts_with_default_model() {
        let body = json!({
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "generationConfig": {"maxOutputTokens": 10},
            "stream": true
        });
        let chat = gemini_body_as_chat(&body, &ConvertOptions::default()).unwrap();
        assert_eq!(chat.spec.base, "gemini-2.5-pro");
        assert!(chat.stream);
        assert!(!chat.include_usage);
        assert_eq!(
            chat.gemini["generationConfig"],
            json!({"maxOutputTokens": 10, "thinkingConfig": {"includeThoughts": true}})
        );
        assert_eq!(chat.gemini["contents"], body["contents"]);
        assert!(chat.gemini.get("stream").is_none());
    }

    #[test]
    fn gemini_body_uses_its_model_and_validates() {
        let body =
            json!({"model": "gemini-2.5-flash-search", "contents": [{"parts": [{"text": "x"}]}]});
        let chat = gemini_body_as_chat(&body, &ConvertOptions::default()).unwrap();
        assert_eq!(chat.spec.base, "gemini-2.5-flash");
        assert_eq!(chat.gemini["tools"], json!([{"googleSearch": {}}]));

        let err = gemini_body_as_chat(
            &json!({"model": 1, "contents": []}),
            &ConvertOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.field(), "model");
        let err = gemini_body_as_chat(
            &json!({"contents": [{"parts": 1}]}),
            &ConvertOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.field(), "contents[0].parts");
        let err = gemini_body_as_chat(
            &json!({"contents": [], "stream": "x"}),
            &ConvertOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.field(), "stream");
    }
}
