//! OpenAI `tools` and `tool_choice` → Gemini `functionDeclarations` and `toolConfig`, and the
//! function-name mapping both directions share.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::convert::gemini::fields::required_non_empty;
use crate::convert::gemini::schema::{clean_json_schema, SchemaBudget};
use crate::convert::gemini::tool_names::ToolNames;
use crate::convert::ConvertError;

/// `tools` → `[{"functionDeclarations": [...]}]`, or `None` when there are none. Entries may be
/// OpenAI-wrapped (`{"type":"function","function":{...}}`) or bare (`{name, description, parameters}`).
pub fn convert_tools(
    tools: Option<&Value>,
    names: &mut ToolNames,
) -> Result<Option<Value>, ConvertError> {
    let list = match tools {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ConvertError::invalid("tools", "must be an array")),
    };
    let mut declarations = Vec::new();
    let mut seen = HashSet::new();
    // One budget for all the tools of the request (see `schema::budget`).
    let mut budget = SchemaBudget::default();
    for (i, entry) in list.iter().enumerate() {
        let field = format!("tools[{i}]");
        let Some(entry) = entry.as_object() else {
            return Err(ConvertError::invalid(field, "must be an object"));
        };
        match entry.get("type") {
            None | Some(Value::Null) => {}
            Some(Value::String(t)) if t == "function" => {}
            Some(other) => {
                return Err(ConvertError::invalid(
                    format!("{field}.type"),
                    format!("unsupported tool type {other}; only \"function\" tools are supported"),
                ))
            }
        }
        let (function, function_field) = match entry.get("function") {
            Some(Value::Object(function)) => (function, format!("{field}.function")),
            Some(_) => {
                return Err(ConvertError::invalid(
                    format!("{field}.function"),
                    "must be an object",
                ))
            }
            None if entry.contains_key("name") => (entry, field),
            None => {
                return Err(ConvertError::invalid(
                    format!("{field}.function"),
                    "is required",
                ))
            }
        };
        let name = required_non_empty(function, "name", &function_field)?;
        if !seen.insert(name.to_owned()) {
            return Err(ConvertError::invalid(
                format!("{function_field}.name"),
                format!("duplicate tool name \"{name}\""),
            ));
        }
        let description = match function.get("description") {
            None | Some(Value::Null) => "",
            Some(Value::String(d)) => d.as_str(),
            Some(_) => {
                return Err(ConvertError::invalid(
                    format!("{function_field}.description"),
                    "must be a string",
                ))
            }
        };
        let parameters = match function.get("parameters") {
            None | Some(Value::Null) => json!({"type": "object"}),
            Some(schema @ Value::Object(_)) => {
                top_level_parameters(clean_json_schema(schema, &mut budget).map_err(|e| {
                    ConvertError::invalid(format!("{function_field}.parameters"), e.to_string())
                })?)
            }
            Some(_) => {
                return Err(ConvertError::invalid(
                    format!("{function_field}.parameters"),
                    "must be a JSON Schema object",
                ))
            }
        };
        declarations.push(json!({
            "name": names.gemini_name(name),
            "description": description,
            "parametersJsonSchema": parameters,
        }));
    }
    if declarations.is_empty() {
        return Ok(None);
    }
    Ok(Some(json!([{"functionDeclarations": declarations}])))
}

/// Function parameters are always an object schema.
fn top_level_parameters(mut schema: Value) -> Value {
    if let Value::Object(map) = &mut schema {
        map.entry("type").or_insert_with(|| json!("object"));
    }
    schema
}

/// `tool_choice` → `toolConfig`. Ignored when no function is declared, except a named choice, which
/// must name a declared function.
pub fn convert_tool_choice(
    choice: Option<&Value>,
    have_tools: bool,
    names: &ToolNames,
) -> Result<Option<Value>, ConvertError> {
    let mode_config = |mode: &str| Some(json!({"functionCallingConfig": {"mode": mode}}));
    let mode_of = |text: &str| match text {
        "auto" => Ok(mode_config("AUTO")),
        "none" => Ok(mode_config("NONE")),
        "required" | "any" => Ok(mode_config("ANY")),
        other => Err(ConvertError::invalid(
            "tool_choice",
            format!("unknown value \"{other}\" (expected auto, none, required or a function)"),
        )),
    };
    let config = match choice {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => mode_of(text)?,
        Some(Value::Object(obj)) => match obj.get("function") {
            Some(function) => {
                let name = function
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        ConvertError::invalid("tool_choice.function.name", "is required")
                    })?;
                let gemini = names.known(name).ok_or_else(|| {
                    ConvertError::invalid(
                        "tool_choice.function.name",
                        format!("no tool named \"{name}\" was given"),
                    )
                })?;
                Some(
                    json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [gemini]}}),
                )
            }
            None => match obj.get("type").and_then(Value::as_str) {
                Some(text) => mode_of(text)?,
                None => return Err(ConvertError::invalid("tool_choice.type", "is required")),
            },
        },
        Some(_) => {
            return Err(ConvertError::invalid(
                "tool_choice",
                "must be a string or an object",
            ))
        }
    };
    Ok(config.filter(|_| have_tools))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_names_stay_distinct_and_are_remembered() {
        let mut names = ToolNames::default();
        assert_eq!(names.gemini_name("a b"), "a_b");
        assert_eq!(names.gemini_name("a_b"), "a_b_2");
        assert_eq!(names.gemini_name("a b"), "a_b");
        let restore = names.restore_map();
        assert_eq!(restore.get("a_b").map(String::as_str), Some("a b"));
        assert_eq!(restore.get("a_b_2").map(String::as_str), Some("a_b"));
        assert_eq!(restore.len(), 2);
    }

    #[test]
    fn wrapped_and_bare_tools_become_one_declaration_list() {
        let tools = json!([
            {"type": "function", "function": {"name": "get weather", "description": "w",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}}},
            {"name": "now"}
        ]);
        let mut names = ToolNames::default();
        let out = convert_tools(Some(&tools), &mut names).unwrap();
        assert_eq!(
            out,
            Some(json!([{"functionDeclarations": [
                {"name": "get_weather", "description": "w", "parametersJsonSchema":
                    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                {"name": "now", "description": "", "parametersJsonSchema": {"type": "object"}}
            ]}]))
        );
    }

    #[test]
    fn tool_errors_name_the_field() {
        let cases = [
            (json!({}), "tools"),
            (json!([1]), "tools[0]"),
            (json!([{"type": "web_search"}]), "tools[0].type"),
            (json!([{"type": "function"}]), "tools[0].function"),
            (
                json!([{"type": "function", "function": {"description": "x"}}]),
                "tools[0].function.name",
            ),
            (
                json!([{"name": "f", "parameters": "x"}]),
                "tools[0].parameters",
            ),
            (
                json!([{"name": "f", "description": 3}]),
                "tools[0].description",
            ),
            (json!([{"name": "f"}, {"name": "f"}]), "tools[1].name"),
        ];
        for (tools, field) in cases {
            let err = convert_tools(Some(&tools), &mut ToolNames::default()).unwrap_err();
            assert_eq!(err.field(), field, "{tools}");
            assert!(err.to_string().starts_with(&format!("{field}: ")), "{err}");
        }
    }

    #[test]
    fn tool_choice_modes() {
        let mut names = ToolNames::default();
        names.gemini_name("my tool");
        let choice = |v: Value| convert_tool_choice(Some(&v), true, &names);
        assert_eq!(
            choice(json!("auto")).unwrap(),
            Some(json!({"functionCallingConfig": {"mode": "AUTO"}}))
        );
        assert_eq!(
            choice(json!("none")).unwrap(),
            Some(json!({"functionCallingConfig": {"mode": "NONE"}}))
        );
        assert_eq!(
            choice(json!("required")).unwrap(),
            Some(json!({"functionCallingConfig": {"mode": "ANY"}}))
        );
        assert_eq!(
            choice(json!({"type": "function", "function": {"name": "my tool"}})).unwrap(),
            Some(
                json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["my_tool"]}})
            )
        );
        assert_eq!(
            choice(json!("sometimes")).unwrap_err().field(),
            "tool_choice"
        );
        assert_eq!(
            choice(json!({"type": "function", "function": {"name": "other"}}))
                .unwrap_err()
                .field(),
            "tool_choice.function.name"
        );
        assert_eq!(
            convert_tool_choice(Some(&json!("auto")), false, &names).unwrap(),
            None
        );
    }
}
