//! Responses API `tools` and `tool_choice` → Gemini `functionDeclarations`, `googleSearch` and
//! `toolConfig`, and the map that turns Gemini function names back into the client's tools.
//!
//! Three client tool shapes become Gemini functions:
//! - `function`: as is, its schema cleaned;
//! - `custom` (freeform, e.g. Codex's `apply_patch`): a function taking one string `input`; its grammar,
//!   if any, is appended to the description so the model knows the expected text;
//! - `namespace`: each child function flattened to `<namespace>__<child>`, mapped back on the way out.
//!
//! `web_search` becomes Google Search grounding, but only when no function is declared: Code Assist
//! rejects a request that mixes grounding with function calling, and an agent's tools matter more.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use crate::convert::gemini::fields::required_non_empty;
use crate::convert::gemini::schema::{clean_json_schema, SchemaBudget};
use crate::convert::gemini::tool_names::ToolNames;
use crate::convert::ConvertError;

/// Joins a namespace and a child tool name into one Gemini function name.
pub const NAMESPACE_SEPARATOR: &str = "__";

/// What kind of client tool a Gemini function stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolKind {
    Function,
    /// Called with `{"input": "<text>"}`; reported back as a `custom_tool_call`.
    Custom,
}

/// The client's view of one Gemini function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTool {
    pub name: String,
    pub namespace: Option<String>,
    pub kind: ToolKind,
}

/// Gemini function name → client tool, for every declared tool (and names met only in history).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolMap {
    by_gemini: HashMap<String, ClientTool>,
}

impl ToolMap {
    pub fn get(&self, gemini_name: &str) -> Option<&ClientTool> {
        self.by_gemini.get(gemini_name)
    }

    fn insert(&mut self, gemini_name: String, tool: ClientTool) {
        self.by_gemini.entry(gemini_name).or_insert(tool);
    }

    /// The client tool for a Gemini name; an undeclared name is reported as a plain function.
    pub fn client_tool(&self, gemini_name: &str) -> ClientTool {
        self.get(gemini_name).cloned().unwrap_or(ClientTool {
            name: gemini_name.to_owned(),
            namespace: None,
            kind: ToolKind::Function,
        })
    }
}

/// Per-request naming state: Gemini names (unique, normalised) and the way back.
#[derive(Debug, Default)]
pub struct ToolRegistry {
    pub names: ToolNames,
    pub map: ToolMap,
}

impl ToolRegistry {
    /// The Gemini name for a client tool (namespace children are flattened); remembers the way back.
    pub fn gemini_name(&mut self, name: &str, namespace: Option<&str>, kind: ToolKind) -> String {
        let flat = match namespace.filter(|ns| !ns.is_empty()) {
            Some(ns) => format!("{ns}{NAMESPACE_SEPARATOR}{name}"),
            None => name.to_owned(),
        };
        let gemini = self.names.gemini_name(&flat);
        self.map.insert(
            gemini.clone(),
            ClientTool {
                name: name.to_owned(),
                namespace: namespace.filter(|ns| !ns.is_empty()).map(str::to_owned),
                kind,
            },
        );
        gemini
    }
}

/// The converted `tools`: Gemini's `tools` array (or nothing) and whether any function is declared.
#[derive(Debug, Default, PartialEq)]
pub struct ConvertedTools {
    pub tools: Option<Value>,
    pub has_functions: bool,
}

pub fn convert_tools(
    tools: Option<&Value>,
    registry: &mut ToolRegistry,
) -> Result<ConvertedTools, ConvertError> {
    let list = match tools {
        None | Some(Value::Null) => return Ok(ConvertedTools::default()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ConvertError::invalid("tools", "must be an array")),
    };
    let mut declarations = Vec::new();
    let mut seen = HashSet::new();
    let mut search = false;
    // One budget for all the tools of the request (see `schema::budget`).
    let mut budget = SchemaBudget::default();
    for (i, entry) in list.iter().enumerate() {
        let field = format!("tools[{i}]");
        let Some(entry) = entry.as_object() else {
            return Err(ConvertError::invalid(field, "must be an object"));
        };
        match tool_type(entry, &field)? {
            "function" => {
                declarations.push(function_declaration(
                    entry,
                    &field,
                    None,
                    registry,
                    &mut seen,
                    &mut budget,
                )?)
            }
            "custom" => declarations.push(custom_declaration(entry, &field, registry, &mut seen)?),
            "namespace" => {
                let namespace = required_non_empty(entry, "name", &field)?;
                let children = match entry.get("tools") {
                    Some(Value::Array(children)) => children,
                    _ => {
                        return Err(ConvertError::invalid(
                            format!("{field}.tools"),
                            "is required and must be an array",
                        ))
                    }
                };
                for (j, child) in children.iter().enumerate() {
                    let child_field = format!("{field}.tools[{j}]");
                    let Some(child) = child.as_object() else {
                        return Err(ConvertError::invalid(child_field, "must be an object"));
                    };
                    if tool_type(child, &child_field)? != "function" {
                        return Err(ConvertError::invalid(
                            format!("{child_field}.type"),
                            "namespace members must be function tools",
                        ));
                    }
                    declarations.push(function_declaration(
                        child,
                        &child_field,
                        Some(namespace),
                        registry,
                        &mut seen,
                        &mut budget,
                    )?);
                }
            }
            "web_search" | "web_search_preview" | "web_search_2025_08_26" => search = true,
            other => {
                return Err(ConvertError::invalid(
                    format!("{field}.type"),
                    format!(
                        "unsupported tool type \"{other}\" (supported: function, custom, namespace, web_search)"
                    ),
                ))
            }
        }
    }
    let has_functions = !declarations.is_empty();
    let tools = if has_functions {
        Some(json!([{"functionDeclarations": declarations}]))
    } else if search {
        Some(json!([{"googleSearch": {}}]))
    } else {
        None
    };
    Ok(ConvertedTools {
        tools,
        has_functions,
    })
}

fn tool_type<'a>(entry: &'a Map<String, Value>, field: &str) -> Result<&'a str, ConvertError> {
    match entry.get("type") {
        Some(Value::String(kind)) => Ok(kind),
        None | Some(Value::Null) => Err(ConvertError::invalid(
            format!("{field}.type"),
            "is required",
        )),
        Some(_) => Err(ConvertError::invalid(
            format!("{field}.type"),
            "must be a string",
        )),
    }
}

fn optional_description<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
) -> Result<&'a str, ConvertError> {
    match obj.get("description") {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(ConvertError::invalid(
            format!("{field}.description"),
            "must be a string",
        )),
    }
}

fn function_declaration(
    entry: &Map<String, Value>,
    field: &str,
    namespace: Option<&str>,
    registry: &mut ToolRegistry,
    seen: &mut HashSet<String>,
    budget: &mut SchemaBudget,
) -> Result<Value, ConvertError> {
    let name = required_non_empty(entry, "name", field)?;
    let description = optional_description(entry, field)?;
    let parameters = match entry.get("parameters") {
        None | Some(Value::Null) => json!({"type": "object"}),
        Some(schema @ Value::Object(_)) => {
            let mut cleaned = clean_json_schema(schema, budget)
                .map_err(|e| ConvertError::invalid(format!("{field}.parameters"), e.to_string()))?;
            if let Value::Object(map) = &mut cleaned {
                map.entry("type").or_insert_with(|| json!("object"));
            }
            cleaned
        }
        Some(_) => {
            return Err(ConvertError::invalid(
                format!("{field}.parameters"),
                "must be a JSON Schema object",
            ))
        }
    };
    let gemini = unique_name(name, namespace, ToolKind::Function, field, registry, seen)?;
    Ok(json!({"name": gemini, "description": description, "parametersJsonSchema": parameters}))
}

fn custom_declaration(
    entry: &Map<String, Value>,
    field: &str,
    registry: &mut ToolRegistry,
    seen: &mut HashSet<String>,
) -> Result<Value, ConvertError> {
    let name = required_non_empty(entry, "name", field)?;
    let mut description = optional_description(entry, field)?.to_owned();
    if let Some(Value::Object(format)) = entry.get("format") {
        if format.get("type").and_then(Value::as_str) == Some("grammar") {
            let syntax = format
                .get("syntax")
                .and_then(Value::as_str)
                .unwrap_or("lark");
            if let Some(definition) = format.get("definition").and_then(Value::as_str) {
                description.push_str(&format!(
                    "\n\nThe `input` text must follow this {syntax} grammar:\n{definition}"
                ));
            }
        }
    }
    let gemini = unique_name(name, None, ToolKind::Custom, field, registry, seen)?;
    Ok(json!({
        "name": gemini,
        "description": description,
        "parametersJsonSchema": {
            "type": "object",
            "properties": {"input": {"type": "string", "description": "The raw input text for this tool."}},
            "required": ["input"]
        }
    }))
}

fn unique_name(
    name: &str,
    namespace: Option<&str>,
    kind: ToolKind,
    field: &str,
    registry: &mut ToolRegistry,
    seen: &mut HashSet<String>,
) -> Result<String, ConvertError> {
    let key = format!("{}/{name}", namespace.unwrap_or_default());
    if !seen.insert(key) {
        return Err(ConvertError::invalid(
            format!("{field}.name"),
            format!("duplicate tool name \"{name}\""),
        ));
    }
    Ok(registry.gemini_name(name, namespace, kind))
}

/// `tool_choice` → `toolConfig`. Only applies when functions are declared; a named choice must name one.
pub fn convert_tool_choice(
    choice: Option<&Value>,
    has_functions: bool,
    registry: &ToolRegistry,
) -> Result<Option<Value>, ConvertError> {
    let mode = |mode: &str| json!({"functionCallingConfig": {"mode": mode}});
    let mode_of = |text: &str| match text {
        "auto" => Ok(mode("AUTO")),
        "none" => Ok(mode("NONE")),
        "required" => Ok(mode("ANY")),
        other => Err(ConvertError::invalid(
            "tool_choice",
            format!("unknown value \"{other}\" (expected auto, none, required or a tool)"),
        )),
    };
    let config = match choice {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(mode_of(text)?),
        Some(Value::Object(obj)) => match obj.get("type").and_then(Value::as_str) {
            Some("function" | "custom") => {
                let name = required_non_empty(obj, "name", "tool_choice")?;
                let namespace = obj.get("namespace").and_then(Value::as_str);
                let gemini = find_declared(registry, name, namespace).ok_or_else(|| {
                    ConvertError::invalid(
                        "tool_choice.name",
                        format!("no tool named \"{name}\" was given"),
                    )
                })?;
                Some(
                    json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [gemini]}}),
                )
            }
            Some("allowed_tools") => Some(allowed_tools(obj, registry)?),
            // A hosted tool (web_search, …): let the model decide.
            Some(_) => Some(mode("AUTO")),
            None => return Err(ConvertError::invalid("tool_choice.type", "is required")),
        },
        Some(_) => {
            return Err(ConvertError::invalid(
                "tool_choice",
                "must be a string or an object",
            ))
        }
    };
    Ok(config.filter(|_| has_functions))
}

fn find_declared(registry: &ToolRegistry, name: &str, namespace: Option<&str>) -> Option<String> {
    registry
        .map
        .by_gemini
        .iter()
        .find(|(_, tool)| tool.name == name && tool.namespace.as_deref() == namespace)
        .map(|(gemini, _)| gemini.clone())
}

fn allowed_tools(obj: &Map<String, Value>, registry: &ToolRegistry) -> Result<Value, ConvertError> {
    let mode = match obj.get("mode").and_then(Value::as_str) {
        None | Some("auto") => "AUTO",
        Some("required") => "ANY",
        Some(other) => {
            return Err(ConvertError::invalid(
                "tool_choice.mode",
                format!("unknown value \"{other}\" (expected auto or required)"),
            ))
        }
    };
    let Some(Value::Array(tools)) = obj.get("tools") else {
        return Err(ConvertError::invalid(
            "tool_choice.tools",
            "is required and must be an array",
        ));
    };
    let mut allowed = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let Some(name) = tool.get("name").and_then(Value::as_str) else {
            // Hosted tools carry no name; they stay available.
            continue;
        };
        let namespace = tool.get("namespace").and_then(Value::as_str);
        let gemini = find_declared(registry, name, namespace).ok_or_else(|| {
            ConvertError::invalid(
                format!("tool_choice.tools[{i}].name"),
                format!("no tool named \"{name}\" was given"),
            )
        })?;
        allowed.push(Value::String(gemini));
    }
    let mut config = Map::new();
    config.insert("mode".into(), json!(mode));
    if !allowed.is_empty() {
        config.insert("allowedFunctionNames".into(), Value::Array(allowed));
    }
    Ok(json!({"functionCallingConfig": config}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(tools: Value) -> (ConvertedTools, ToolRegistry) {
        let mut registry = ToolRegistry::default();
        let out = convert_tools(Some(&tools), &mut registry).unwrap();
        (out, registry)
    }

    #[test]
    fn function_custom_and_namespace_tools_golden() {
        let (out, registry) = convert(json!([
            {"type": "function", "name": "exec_command", "description": "run", "strict": false,
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"], "additionalProperties": false}},
            {"type": "custom", "name": "apply_patch", "description": "patch files",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: \"*** Begin Patch\""}},
            {"type": "namespace", "name": "multi_agent", "description": "agents", "tools": [
                {"type": "function", "name": "close_agent", "parameters": {"type": "object", "properties": {}}}
            ]},
            {"type": "web_search", "external_web_access": true}
        ]));
        assert!(out.has_functions);
        assert_eq!(
            out.tools,
            Some(json!([{"functionDeclarations": [
                {"name": "exec_command", "description": "run", "parametersJsonSchema":
                    {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}},
                {"name": "apply_patch", "description": "patch files\n\nThe `input` text must follow this lark grammar:\nstart: \"*** Begin Patch\"",
                 "parametersJsonSchema": {"type": "object", "properties": {"input": {"type": "string", "description": "The raw input text for this tool."}}, "required": ["input"]}},
                {"name": "multi_agent__close_agent", "description": "", "parametersJsonSchema": {"type": "object", "properties": {}}}
            ]}]))
        );
        assert_eq!(
            registry.map.get("multi_agent__close_agent"),
            Some(&ClientTool {
                name: "close_agent".into(),
                namespace: Some("multi_agent".into()),
                kind: ToolKind::Function
            })
        );
        assert_eq!(
            registry.map.get("apply_patch").map(|t| t.kind.clone()),
            Some(ToolKind::Custom)
        );
    }

    #[test]
    fn web_search_alone_becomes_google_search() {
        let (out, _) = convert(json!([{"type": "web_search_preview"}]));
        assert_eq!(out.tools, Some(json!([{"googleSearch": {}}])));
        assert!(!out.has_functions);
    }

    #[test]
    fn renamed_tools_map_back() {
        let (_, registry) = convert(json!([{"type": "function", "name": "get weather"}]));
        assert_eq!(registry.map.client_tool("get_weather").name, "get weather");
        assert_eq!(registry.map.client_tool("unknown").name, "unknown");
    }

    #[test]
    fn tool_choice_forms() {
        let (_, registry) = convert(json!([
            {"type": "function", "name": "f"},
            {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "g"}]}
        ]));
        let choice = |v: Value| convert_tool_choice(Some(&v), true, &registry);
        assert_eq!(
            choice(json!("required")).unwrap(),
            Some(json!({"functionCallingConfig": {"mode": "ANY"}}))
        );
        assert_eq!(
            choice(json!({"type": "function", "name": "g", "namespace": "ns"})).unwrap(),
            Some(
                json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["ns__g"]}})
            )
        );
        assert_eq!(
            choice(json!({"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "f"}, {"type": "web_search"}]})).unwrap(),
            Some(json!({"functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["f"]}}))
        );
        assert_eq!(
            choice(json!({"type": "web_search"})).unwrap(),
            Some(json!({"functionCallingConfig": {"mode": "AUTO"}}))
        );
        assert_eq!(
            choice(json!({"type": "function", "name": "zz"}))
                .unwrap_err()
                .field(),
            "tool_choice.name"
        );
        assert_eq!(choice(json!("maybe")).unwrap_err().field(), "tool_choice");
        assert_eq!(
            convert_tool_choice(Some(&json!("required")), false, &registry).unwrap(),
            None
        );
    }

    #[test]
    fn tool_errors_name_the_field() {
        let cases = [
            (json!({}), "tools"),
            (json!([1]), "tools[0]"),
            (json!([{"name": "f"}]), "tools[0].type"),
            (json!([{"type": "file_search"}]), "tools[0].type"),
            (json!([{"type": "function"}]), "tools[0].name"),
            (
                json!([{"type": "function", "name": "f", "parameters": 1}]),
                "tools[0].parameters",
            ),
            (
                json!([{"type": "function", "name": "f"}, {"type": "custom", "name": "f"}]),
                "tools[1].name",
            ),
            (
                json!([{"type": "namespace", "name": "n"}]),
                "tools[0].tools",
            ),
            (
                json!([{"type": "namespace", "name": "n", "tools": [{"type": "custom", "name": "c"}]}]),
                "tools[0].tools[0].type",
            ),
        ];
        for (tools, field) in cases {
            let err = convert_tools(Some(&tools), &mut ToolRegistry::default()).unwrap_err();
            assert_eq!(err.field(), field, "{tools}");
        }
    }
}
