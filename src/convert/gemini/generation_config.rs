//! OpenAI sampling parameters, `response_format` and `reasoning_effort` → Gemini
//! `generationConfig`. Only what the client gave is sent; ranges are checked here.

use serde_json::{json, Map, Value};

use crate::convert::gemini::model_name::{thinking_for_effort, ModelSpec, Thinking};
use crate::convert::gemini::schema::{to_openapi_schema, SchemaBudget};
use crate::convert::ConvertError;

/// Sampling parameters → `generationConfig`. Only what the client gave is sent.
pub fn generation_config(
    obj: &Map<String, Value>,
    spec: &ModelSpec,
) -> Result<Map<String, Value>, ConvertError> {
    let mut config = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            config.insert(key.into(), value);
        }
    };
    put("temperature", number_in(obj, "temperature", 0.0, 2.0)?);
    put("topP", number_in(obj, "top_p", 0.0, 1.0)?);
    put("topK", integer_at_least(obj, "top_k", 1)?);
    let max_completion = integer_at_least(obj, "max_completion_tokens", 1)?;
    let max_tokens = integer_at_least(obj, "max_tokens", 1)?;
    put("maxOutputTokens", max_completion.or(max_tokens));
    put("stopSequences", stop_sequences(obj.get("stop"))?);
    put("candidateCount", integer_at_least(obj, "n", 1)?);
    put("seed", integer_at_least(obj, "seed", i64::MIN)?);
    put(
        "frequencyPenalty",
        number_in(obj, "frequency_penalty", -2.0, 2.0)?,
    );
    put(
        "presencePenalty",
        number_in(obj, "presence_penalty", -2.0, 2.0)?,
    );
    apply_response_format(obj.get("response_format"), &mut config)?;
    if let Some(thinking) = effort_thinking(obj.get("reasoning_effort"), spec)? {
        let thinking_config = match thinking {
            Thinking::Budget(budget) => json!({"thinkingBudget": budget}),
            Thinking::Level(level) => json!({"thinkingLevel": level}),
            Thinking::Unset => json!({}),
        };
        config.insert("thinkingConfig".into(), thinking_config);
    }
    Ok(config)
}

fn number_in(
    obj: &Map<String, Value>,
    key: &str,
    min: f64,
    max: f64,
) -> Result<Option<Value>, ConvertError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(value) if (min..=max).contains(&value) => Ok(Some(Value::Number(n.clone()))),
            _ => Err(ConvertError::invalid(
                key,
                format!("must be between {min} and {max}"),
            )),
        },
        Some(_) => Err(ConvertError::invalid(key, "must be a number")),
    }
}

fn integer_at_least(
    obj: &Map<String, Value>,
    key: &str,
    min: i64,
) -> Result<Option<Value>, ConvertError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(value) if value >= min => Ok(Some(json!(value))),
            Some(_) => Err(ConvertError::invalid(
                key,
                format!("must be at least {min}"),
            )),
            None => Err(ConvertError::invalid(key, "must be an integer")),
        },
        Some(_) => Err(ConvertError::invalid(key, "must be an integer")),
    }
}

fn stop_sequences(stop: Option<&Value>) -> Result<Option<Value>, ConvertError> {
    let sequences: Vec<Value> = match stop {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if text.is_empty() => Vec::new(),
        Some(Value::String(text)) => vec![json!(text)],
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if !item.is_string() {
                    return Err(ConvertError::invalid(
                        format!("stop[{i}]"),
                        "must be a string",
                    ));
                }
            }
            items.clone()
        }
        Some(_) => {
            return Err(ConvertError::invalid(
                "stop",
                "must be a string or an array of strings",
            ))
        }
    };
    Ok((!sequences.is_empty()).then_some(Value::Array(sequences)))
}

fn apply_response_format(
    format: Option<&Value>,
    config: &mut Map<String, Value>,
) -> Result<(), ConvertError> {
    let format = match format {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(format)) => format,
        Some(_) => {
            return Err(ConvertError::invalid(
                "response_format",
                "must be an object",
            ))
        }
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => {}
        Some("json_object") => {
            config.insert("responseMimeType".into(), json!("application/json"));
        }
        Some("json_schema") => {
            let schema = format.get("json_schema").and_then(|s| s.get("schema"));
            let Some(schema @ Value::Object(_)) = schema else {
                return Err(ConvertError::invalid(
                    "response_format.json_schema.schema",
                    "is required and must be an object",
                ));
            };
            config.insert("responseMimeType".into(), json!("application/json"));
            let schema = to_openapi_schema(schema, &mut SchemaBudget::default()).map_err(|e| {
                ConvertError::invalid("response_format.json_schema.schema", e.to_string())
            })?;
            config.insert("responseSchema".into(), schema);
        }
        Some(other) => {
            return Err(ConvertError::invalid(
                "response_format.type",
                format!(
                    "unsupported value \"{other}\" (expected text, json_object or json_schema)"
                ),
            ))
        }
        None => return Err(ConvertError::invalid("response_format.type", "is required")),
    }
    Ok(())
}

/// `reasoning_effort` only applies when the model name does not already set thinking.
fn effort_thinking(
    effort: Option<&Value>,
    spec: &ModelSpec,
) -> Result<Option<Thinking>, ConvertError> {
    let effort = match effort {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(effort)) => effort,
        Some(_) => {
            return Err(ConvertError::invalid(
                "reasoning_effort",
                "must be a string",
            ))
        }
    };
    let thinking = thinking_for_effort(spec.family(), effort).ok_or_else(|| {
        ConvertError::invalid(
            "reasoning_effort",
            format!("unknown value \"{effort}\" (expected none, minimal, low, medium or high)"),
        )
    })?;
    Ok((spec.thinking == Thinking::Unset).then_some(thinking))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(body: Value, model: &str) -> Result<Map<String, Value>, ConvertError> {
        let spec = ModelSpec::parse(model).unwrap();
        generation_config(body.as_object().unwrap(), &spec)
    }

    #[test]
    fn nothing_given_means_nothing_sent() {
        assert_eq!(
            config(json!({"stop": "", "n": null}), "gemini-2.5-pro").unwrap(),
            Map::new()
        );
    }

    #[test]
    fn max_completion_tokens_wins_over_max_tokens() {
        let out = config(
            json!({"max_tokens": 5, "max_completion_tokens": 9}),
            "gemini-2.5-pro",
        )
        .unwrap();
        assert_eq!(Value::Object(out), json!({"maxOutputTokens": 9}));
    }

    #[test]
    fn effort_is_ignored_when_the_name_sets_thinking() {
        let out = config(json!({"reasoning_effort": "high"}), "gemini-2.5-pro-low").unwrap();
        assert_eq!(out, Map::new());
        let out = config(json!({"reasoning_effort": "high"}), "gemini-3-pro-preview").unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"thinkingConfig": {"thinkingLevel": "high"}})
        );
    }

    #[test]
    fn text_response_format_adds_nothing() {
        let out = config(
            json!({"response_format": {"type": "text"}}),
            "gemini-2.5-pro",
        )
        .unwrap();
        assert_eq!(out, Map::new());
    }
}
