//! Bounds on the shape of a client request, checked in one linear pass right after the body is
//! parsed and before anything else is done with it (key admission, image downloads, conversion). The
//! body size alone does not bound the work: 20 MB of `{"type":"image_url",…}` is 64,000 parts, and each
//! part, image, tool or stop sequence costs something further on. The limits are generous — several
//! times what Google itself accepts — so no real client meets them.
//!
//! One walk serves every dialect: OpenAI chat (`messages`, `tools`, `stop`), Anthropic (`messages`,
//! `system`, `tools`, `stop_sequences`), Responses (`input`, `tools` with namespaces) and Gemini
//! (`contents`, `systemInstruction`, `tools[].functionDeclarations`, `generationConfig.stopSequences`).

use serde_json::Value;

use crate::convert::ConvertError;

/// Messages (turns, input items) and their content parts together.
pub const MAX_PARTS: usize = 20_000;
/// Image parts (inline or by URL); Gemini takes at most 3,000 per request.
pub const MAX_IMAGES: usize = 3_000;
/// Distinct remote image URLs the gateway downloads for one request.
pub const MAX_REMOTE_IMAGES: usize = 100;
/// Tools and function declarations (namespaced ones included).
pub const MAX_TOOLS: usize = 512;
/// Stop sequences; Google takes 5, OpenAI 4.
pub const MAX_STOP_SEQUENCES: usize = 32;
/// Characters of one stop sequence (the gateway matches Anthropic's itself, on every chunk).
pub const MAX_STOP_SEQUENCE_CHARS: usize = 1_000;

/// Keys holding the conversation, per dialect.
const TURN_LISTS: [&str; 3] = ["messages", "input", "contents"];
/// Keys of a turn (or part) holding its parts.
const PART_LISTS: [&str; 3] = ["content", "parts", "output"];
/// Part types that are images.
const IMAGE_TYPES: [&str; 3] = ["image_url", "image", "input_image"];
/// Keys that make a Gemini part an image or file.
const INLINE_KEYS: [&str; 4] = ["inlineData", "inline_data", "fileData", "file_data"];

#[derive(Default)]
struct Counts {
    parts: usize,
    images: usize,
}

impl Counts {
    fn part(&mut self, part: &Value) -> Result<(), ConvertError> {
        self.parts += 1;
        if is_image(part) {
            self.images += 1;
        }
        if self.parts > MAX_PARTS {
            return Err(ConvertError::invalid(
                "messages",
                format!("a request may hold at most {MAX_PARTS} messages and content parts"),
            ));
        }
        if self.images > MAX_IMAGES {
            return Err(ConvertError::invalid(
                "messages",
                format!("a request may hold at most {MAX_IMAGES} images"),
            ));
        }
        Ok(())
    }

    /// `value`'s part lists, two levels deep (a tool result's own content blocks included).
    fn parts_of(&mut self, value: &Value, levels: u8) -> Result<(), ConvertError> {
        let Some(obj) = value.as_object() else {
            return Ok(());
        };
        for key in PART_LISTS {
            if let Some(Value::Array(parts)) = obj.get(key) {
                for part in parts {
                    self.part(part)?;
                    if levels > 1 {
                        self.parts_of(part, levels - 1)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn is_image(part: &Value) -> bool {
    let Some(obj) = part.as_object() else {
        return false;
    };
    obj.get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| IMAGE_TYPES.contains(&t))
        || INLINE_KEYS.iter().any(|k| obj.contains_key(*k))
}

/// Checks `body` against every limit of this module; the error names the field.
pub fn check_input_limits(body: &Value) -> Result<(), ConvertError> {
    let Some(obj) = body.as_object() else {
        return Ok(());
    };
    let mut counts = Counts::default();
    for key in TURN_LISTS {
        if let Some(Value::Array(turns)) = obj.get(key) {
            for turn in turns {
                counts.part(turn)?;
                counts.parts_of(turn, 2)?;
            }
        }
    }
    match obj.get("system") {
        Some(Value::Array(blocks)) => {
            for block in blocks {
                counts.part(block)?;
            }
        }
        Some(system @ Value::Object(_)) => counts.parts_of(system, 1)?,
        _ => {}
    }
    for key in ["systemInstruction", "system_instruction"] {
        if let Some(system) = obj.get(key) {
            counts.parts_of(system, 1)?;
        }
    }
    check_tools(obj.get("tools"))?;
    check_stop("stop", obj.get("stop"))?;
    check_stop("stop_sequences", obj.get("stop_sequences"))?;
    for key in ["generationConfig", "generation_config"] {
        if let Some(config) = obj.get(key) {
            for stop_key in ["stopSequences", "stop_sequences"] {
                check_stop(&format!("{key}.{stop_key}"), config.get(stop_key))?;
            }
        }
    }
    Ok(())
}

fn check_tools(tools: Option<&Value>) -> Result<(), ConvertError> {
    let Some(Value::Array(tools)) = tools else {
        return Ok(());
    };
    let mut count = 0usize;
    for tool in tools {
        count += 1;
        for nested in ["functionDeclarations", "function_declarations", "tools"] {
            if let Some(Value::Array(list)) = tool.get(nested) {
                count += list.len();
            }
        }
        if count > MAX_TOOLS {
            return Err(ConvertError::invalid(
                "tools",
                format!("a request may declare at most {MAX_TOOLS} tools"),
            ));
        }
    }
    Ok(())
}

fn check_stop(field: &str, stop: Option<&Value>) -> Result<(), ConvertError> {
    let sequences: &[Value] = match stop {
        Some(Value::Array(list)) => list,
        Some(one @ Value::String(_)) => std::slice::from_ref(one),
        _ => return Ok(()),
    };
    if sequences.len() > MAX_STOP_SEQUENCES {
        return Err(ConvertError::invalid(
            field,
            format!("at most {MAX_STOP_SEQUENCES} stop sequences"),
        ));
    }
    let too_long = sequences
        .iter()
        .filter_map(Value::as_str)
        .any(|s| s.chars().count() > MAX_STOP_SEQUENCE_CHARS);
    if too_long {
        return Err(ConvertError::invalid(
            field,
            format!("a stop sequence may be at most {MAX_STOP_SEQUENCE_CHARS} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image_parts(n: usize) -> Value {
        let part = json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}});
        json!({"model": "m", "messages": [{"role": "user", "content": vec![part; n]}]})
    }

    #[test]
    fn ordinary_requests_pass() {
        let body = json!({
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "stop": ["\n\n", "END"]
        });
        assert!(check_input_limits(&body).is_ok());
        assert!(check_input_limits(&image_parts(MAX_IMAGES)).is_ok());
    }

    #[test]
    fn every_dialect_is_bounded() {
        let err = check_input_limits(&image_parts(MAX_IMAGES + 1)).unwrap_err();
        assert!(err.message().contains("images"), "{err}");
        let text = json!({"type": "text", "text": "x"});
        let many = json!({"messages": [{"role": "user", "content": vec![text; MAX_PARTS]}]});
        assert!(check_input_limits(&many).is_err());
        let gemini =
            json!({"contents": [{"parts": vec![json!({"inlineData": {}}); MAX_IMAGES + 1]}]});
        assert!(check_input_limits(&gemini).is_err());
        let nested = json!({"messages": [{"role": "user", "content": [
            {"type": "tool_result", "content": vec![json!({"type": "image"}); MAX_IMAGES + 1]}
        ]}]});
        assert!(check_input_limits(&nested).is_err());
        let tools = json!({"tools": [{"type": "namespace", "tools": vec![json!({}); MAX_TOOLS]}]});
        assert_eq!(check_input_limits(&tools).unwrap_err().field(), "tools");
        let stops = json!({"stop_sequences": vec!["x"; MAX_STOP_SEQUENCES + 1]});
        assert_eq!(
            check_input_limits(&stops).unwrap_err().field(),
            "stop_sequences"
        );
        let long = json!({"generationConfig": {"stopSequences": ["x".repeat(MAX_STOP_SEQUENCE_CHARS + 1)]}});
        assert_eq!(
            check_input_limits(&long).unwrap_err().field(),
            "generationConfig.stopSequences"
        );
    }
}
