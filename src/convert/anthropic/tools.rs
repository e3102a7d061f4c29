//! Anthropic `tools` and `tool_choice` → Gemini `functionDeclarations` and `toolConfig`.
//!
//! Input schemas go through the shared schema cleaner and names through the shared `ToolNames`
//! map, so responses can restore the client's names. Tools marked `defer_loading` are declared
//! only once the client has loaded them (a `tool_reference` in a tool result, or a call in history).

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::convert::anthropic::blocks::{block_type, required_str};
use crate::convert::gemini::schema::{clean_json_schema, SchemaBudget};
use crate::convert::gemini::tool_names::ToolNames;
use crate::convert::ConvertError;

/// `tools` → `[{"functionDeclarations": [...]}]` (or `None`), and the client names declared.
pub fn convert_tools(
    tools: Option<&Value>,
    loaded: &HashSet<String>,
    names: &mut ToolNames,
) -> Result<(Option<Value>, HashSet<String>), ConvertError> {
    let list = match tools {
        None | Some(Value::Null) => return Ok((None, HashSet::new())),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ConvertError::invalid("tools", "must be an array")),
    };
    let mut declarations = Vec::new();
    let mut declared = HashSet::new();
    // One budget for all the tools of the request (see `schema::budget`).
    let mut budget = SchemaBudget::default();
    for (i, tool) in list.iter().enumerate() {
        let field = format!("tools.{i}");
        let Some(obj) = tool.as_object() else {
            return Err(ConvertError::invalid(field, "must be an object"));
        };
        match obj.get("type") {
            None | Some(Value::Null) => {}
            Some(Value::String(kind)) if kind == "custom" => {}
            Some(Value::String(kind)) => {
                return Err(ConvertError::invalid(
                    format!("{field}.type"),
                    format!("unsupported tool type \"{kind}\"; only client tools with an input_schema are supported"),
                ))
            }
            Some(_) => {
                return Err(ConvertError::invalid(
                    format!("{field}.type"),
                    "must be a string",
                ))
            }
        }
        let name = required_str(obj, "name", &field)?;
        if name.is_empty() {
            return Err(ConvertError::invalid(
                format!("{field}.name"),
                "must not be empty",
            ));
        }
        if !declared.insert(name.to_owned()) {
            return Err(ConvertError::invalid(
                format!("{field}.name"),
                format!("duplicate tool name \"{name}\""),
            ));
        }
        let description = match obj.get("description") {
            None | Some(Value::Null) => "",
            Some(Value::String(d)) => d.as_str(),
            Some(_) => {
                return Err(ConvertError::invalid(
                    format!("{field}.description"),
                    "must be a string",
                ))
            }
        };
        let schema = match obj.get("input_schema") {
            Some(schema @ Value::Object(_)) => {
                let mut cleaned = clean_json_schema(schema, &mut budget).map_err(|e| {
                    ConvertError::invalid(format!("{field}.input_schema"), e.to_string())
                })?;
                if let Value::Object(map) = &mut cleaned {
                    map.entry("type").or_insert_with(|| json!("object"));
                }
                cleaned
            }
            None | Some(Value::Null) => {
                return Err(ConvertError::invalid(
                    format!("{field}.input_schema"),
                    "Field required",
                ))
            }
            Some(_) => {
                return Err(ConvertError::invalid(
                    format!("{field}.input_schema"),
                    "must be a JSON Schema object",
                ))
            }
        };
        let gemini_name = names.gemini_name(name);
        let deferred = obj.get("defer_loading").and_then(Value::as_bool) == Some(true);
        if deferred && !loaded.contains(name) {
            continue;
        }
        declarations.push(json!({
            "name": gemini_name,
            "description": description,
            "parametersJsonSchema": schema,
        }));
    }
    if declarations.is_empty() {
        return Ok((None, declared));
    }
    Ok((
        Some(json!([{"functionDeclarations": declarations}])),
        declared,
    ))
}

/// `tool_choice` (`auto`, `any`, `tool` with a name, `none`) → `toolConfig`; nothing without tools.
pub fn convert_tool_choice(
    choice: Option<&Value>,
    have_tools: bool,
    declared: &HashSet<String>,
    names: &mut ToolNames,
) -> Result<Option<Value>, ConvertError> {
    let choice = match choice {
        None | Some(Value::Null) => return Ok(None),
        Some(choice @ Value::Object(_)) => choice,
        Some(_) => return Err(ConvertError::invalid("tool_choice", "must be an object")),
    };
    let (kind, obj) = block_type(choice, "tool_choice")?;
    let config = match kind {
        "auto" => json!({"functionCallingConfig": {"mode": "AUTO"}}),
        "any" => json!({"functionCallingConfig": {"mode": "ANY"}}),
        "none" => json!({"functionCallingConfig": {"mode": "NONE"}}),
        "tool" => {
            let name = required_str(obj, "name", "tool_choice")?;
            if !declared.contains(name) {
                return Err(ConvertError::invalid(
                    "tool_choice.name",
                    format!("no tool named \"{name}\" was given"),
                ));
            }
            json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [names.gemini_name(name)]}})
        }
        other => {
            return Err(ConvertError::invalid(
                "tool_choice.type",
                format!("unknown value \"{other}\" (expected auto, any, tool or none)"),
            ))
        }
    };
    Ok(have_tools.then_some(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_cleaned_renamed_and_deferred_until_loaded() {
        let tools = json!([
            {"name": "Read", "description": "read a file", "input_schema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "properties": {"file_path": {"type": "string"}}, "required": ["file_path"],
                "additionalProperties": false}, "cache_control": {"type": "ephemeral"}},
            {"name": "mcp__srv__do thing", "input_schema": {"type": "object", "properties": {}}},
            {"name": "Later", "input_schema": {"type": "object"}, "defer_loading": true}
        ]);
        let mut names = ToolNames::default();
        let (decl, declared) = convert_tools(Some(&tools), &HashSet::new(), &mut names).unwrap();
        assert_eq!(
            decl.unwrap(),
            json!([{"functionDeclarations": [
                {"name": "Read", "description": "read a file", "parametersJsonSchema": {
                    "type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}},
                {"name": "mcp__srv__do_thing", "description": "", "parametersJsonSchema": {"type": "object", "properties": {}}}
            ]}])
        );
        assert_eq!(declared.len(), 3);
        assert_eq!(
            names
                .restore_map()
                .get("mcp__srv__do_thing")
                .map(String::as_str),
            Some("mcp__srv__do thing")
        );
        let loaded: HashSet<String> = ["Later".to_owned()].into();
        let (decl, _) = convert_tools(Some(&tools), &loaded, &mut ToolNames::default()).unwrap();
        assert_eq!(decl.unwrap()[0]["functionDeclarations"][2]["name"], "Later");
    }

    #[test]
    fn tool_choice_modes() {
        let declared: HashSet<String> = ["get weather".to_owned()].into();
        let mut names = ToolNames::default();
        let choice =
            |v: Value, names: &mut ToolNames| convert_tool_choice(Some(&v), true, &declared, names);
        assert_eq!(
            choice(
                json!({"type": "auto", "disable_parallel_tool_use": true}),
                &mut names
            )
            .unwrap(),
            Some(json!({"functionCallingConfig": {"mode": "AUTO"}}))
        );
        assert_eq!(
            choice(json!({"type": "any"}), &mut names).unwrap(),
            Some(json!({"functionCallingConfig": {"mode": "ANY"}}))
        );
        assert_eq!(
            choice(json!({"type": "none"}), &mut names).unwrap(),
            Some(json!({"functionCallingConfig": {"mode": "NONE"}}))
        );
        assert_eq!(
            choice(json!({"type": "tool", "name": "get weather"}), &mut names).unwrap(),
            Some(
                json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}})
            )
        );
        assert_eq!(
            choice(json!({"type": "tool", "name": "nope"}), &mut names)
                .unwrap_err()
                .field(),
            "tool_choice.name"
        );
        assert_eq!(
            choice(json!({"type": "sometimes"}), &mut names)
                .unwrap_err()
                .field(),
            "tool_choice.type"
        );
        assert_eq!(
            convert_tool_choice(Some(&json!({"type": "any"})), false, &declared, &mut names)
                .unwrap(),
            None
        );
    }

    #[test]
    fn invalid_tools_name_the_field() {
        let cases = [
            (json!({}), "tools"),
            (json!([1]), "tools.0"),
            (json!([{"input_schema": {}}]), "tools.0.name"),
            (json!([{"name": "a"}]), "tools.0.input_schema"),
            (
                json!([{"name": "a", "input_schema": []}]),
                "tools.0.input_schema",
            ),
            (
                json!([{"type": "web_search_20250305", "name": "web_search"}]),
                "tools.0.type",
            ),
            (
                json!([{"name": "a", "input_schema": {}}, {"name": "a", "input_schema": {}}]),
                "tools.1.name",
            ),
        ];
        for (tools, field) in cases {
            let err = convert_tools(Some(&tools), &HashSet::new(), &mut ToolNames::default())
                .unwrap_err();
            assert_eq!(err.field(), field, "{tools}");
        }
    }
}
