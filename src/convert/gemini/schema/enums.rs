//! Gemini accepts `enum` only on strings: a tool declared with `{"type": "boolean", "enum": [true,
//! false]}` or `{"type": "integer", "enum": [1, 2]}` makes the whole request fail with 400. The rule,
//! applied to every schema node of `parameters` and `parametersJsonSchema` alike:
//! - boolean enums are dropped (a boolean has only two values anyway; a single allowed value is kept
//!   as a description hint);
//! - integer / number (and mixed scalar) enums become string enums, and the type becomes string, so the
//!   model still sees and picks from the allowed values; number-only constraints go with the type;
//! - enums of objects or arrays are dropped and described in a hint.

use serde_json::{Map, Value};

use super::keywords::{add_hint, render_list};

/// Constraints that only make sense on numbers; a node whose type becomes string loses them.
const NUMBER_ONLY_KEYS: [&str; 5] = [
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];
const NUMBER_FORMATS: [&str; 4] = ["int32", "int64", "float", "double"];

/// Schemas nested deeper than this are left as they are (serde_json's parser already bounds depth).
const MAX_WALK_DEPTH: usize = 64;

/// Applies the enum rule to one schema node (not its children).
pub(super) fn normalise_enum(node: &mut Map<String, Value>) {
    let values = match node.get("enum") {
        None => return,
        Some(Value::Array(values)) => values.clone(),
        Some(_) => {
            node.remove("enum");
            return;
        }
    };
    let values: Vec<Value> = values.into_iter().filter(|v| !v.is_null()).collect();
    let declared = declared_type(node);
    let all_strings = values.iter().all(Value::is_string);
    if all_strings && matches!(declared.as_deref(), None | Some("string")) {
        return;
    }
    let all_booleans = values.iter().all(Value::is_boolean);
    if declared.as_deref() == Some("boolean") || (declared.is_none() && all_booleans) {
        node.remove("enum");
        let both = values.contains(&Value::Bool(true)) && values.contains(&Value::Bool(false));
        if !both && !values.is_empty() {
            add_hint(node, format!("(allowed values: {})", render_list(&values)));
        }
        return;
    }
    let all_scalars = values
        .iter()
        .all(|v| v.is_string() || v.is_number() || v.is_boolean());
    if !all_scalars || values.is_empty() {
        node.remove("enum");
        if !values.is_empty() {
            add_hint(node, format!("(allowed values: {})", render_list(&values)));
        }
        return;
    }
    let strings: Vec<Value> = values
        .iter()
        .map(|v| match v {
            Value::String(s) => Value::String(s.clone()),
            other => Value::String(other.to_string()),
        })
        .collect();
    let upper = node
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.chars().any(|c| c.is_ascii_uppercase()));
    let string_type = if upper { "STRING" } else { "string" };
    node.insert("type".into(), Value::String(string_type.into()));
    node.insert("enum".into(), Value::Array(strings));
    for key in NUMBER_ONLY_KEYS {
        node.remove(key);
    }
    let numeric_format = node
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| NUMBER_FORMATS.contains(&f));
    if numeric_format {
        node.remove("format");
    }
}

/// The node's type in lower case; of a type list, the first that is not `null`.
fn declared_type(node: &Map<String, Value>) -> Option<String> {
    match node.get("type") {
        Some(Value::String(t)) => Some(t.to_ascii_lowercase()),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| !t.eq_ignore_ascii_case("null"))
            .map(str::to_ascii_lowercase),
        _ => None,
    }
}

/// Applies the enum rule to every node of a schema the client wrote in Gemini's own shape (the
/// Gemini-native routes send tool schemas on as they are otherwise).
pub(super) fn normalise_enums_deep(schema: &mut Value) {
    walk(schema, 0);
}

fn walk(node: &mut Value, depth: usize) {
    if depth > MAX_WALK_DEPTH {
        return;
    }
    let Value::Object(map) = node else {
        return;
    };
    normalise_enum(map);
    for key in ["properties", "$defs", "definitions", "patternProperties"] {
        if let Some(Value::Object(children)) = map.get_mut(key) {
            for child in children.values_mut() {
                walk(child, depth + 1);
            }
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(children)) = map.get_mut(key) {
            for child in children.iter_mut() {
                walk(child, depth + 1);
            }
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        match map.get_mut(key) {
            Some(Value::Array(children)) => {
                for child in children.iter_mut() {
                    walk(child, depth + 1);
                }
            }
            Some(child @ Value::Object(_)) => walk(child, depth + 1),
            _ => {}
        }
    }
}

/// Function-declaration keys that hold schemas, in both spellings the REST API accepts.
const DECLARATION_SCHEMA_KEYS: [&str; 6] = [
    "parameters",
    "parametersJsonSchema",
    "parameters_json_schema",
    "response",
    "responseJsonSchema",
    "response_json_schema",
];

/// Applies the enum rule to every function declaration of a Gemini request's `tools`.
pub fn normalise_tool_enums(request: &mut Value) {
    let Some(Value::Array(tools)) = request.get_mut("tools") else {
        return;
    };
    for tool in tools.iter_mut() {
        let Value::Object(tool) = tool else {
            continue;
        };
        for list_key in ["functionDeclarations", "function_declarations"] {
            let Some(Value::Array(declarations)) = tool.get_mut(list_key) else {
                continue;
            };
            for declaration in declarations.iter_mut() {
                let Value::Object(declaration) = declaration else {
                    continue;
                };
                for key in DECLARATION_SCHEMA_KEYS {
                    if let Some(schema) = declaration.get_mut(key) {
                        normalise_enums_deep(schema);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(value: Value) -> Value {
        let mut map = value.as_object().unwrap().clone();
        normalise_enum(&mut map);
        Value::Object(map)
    }

    #[test]
    fn string_enums_are_kept() {
        let schema = json!({"type": "string", "enum": ["a", "b"]});
        assert_eq!(node(schema.clone()), schema);
        let untyped = json!({"enum": ["a", "b"]});
        assert_eq!(node(untyped.clone()), untyped);
    }

    #[test]
    fn boolean_enums_are_dropped() {
        assert_eq!(
            node(json!({"type": "boolean", "enum": [true, false], "description": "on?"})),
            json!({"type": "boolean", "description": "on?"})
        );
        assert_eq!(
            node(json!({"type": "BOOLEAN", "enum": [true]})),
            json!({"type": "BOOLEAN", "description": "(allowed values: true)"})
        );
        assert_eq!(node(json!({"enum": [false, true]})), json!({}));
    }

    #[test]
    fn number_enums_become_string_enums() {
        assert_eq!(
            node(json!({"type": "integer", "enum": [1, 2, 3], "minimum": 1, "format": "int32"})),
            json!({"type": "string", "enum": ["1", "2", "3"]})
        );
        assert_eq!(
            node(json!({"type": "NUMBER", "enum": [0.5, 1.5]})),
            json!({"type": "STRING", "enum": ["0.5", "1.5"]})
        );
        assert_eq!(
            node(json!({"type": ["integer", "null"], "enum": [1, null]})),
            json!({"type": "string", "enum": ["1"]})
        );
        assert_eq!(
            node(json!({"enum": ["auto", 0, true]})),
            json!({"enum": ["auto", "0", "true"], "type": "string"})
        );
    }

    #[test]
    fn structured_enums_become_hints() {
        assert_eq!(
            node(json!({"type": "array", "enum": [[1], [2]]})),
            json!({"type": "array", "description": "(allowed values: [1], [2])"})
        );
        assert_eq!(
            node(json!({"type": "string", "enum": "a"})),
            json!({"type": "string"})
        );
    }

    #[test]
    fn native_tools_are_cleaned_in_every_declaration_and_nested_schema() {
        let mut request = json!({
            "contents": [],
            "tools": [
                {"googleSearch": {}},
                {"functionDeclarations": [
                    {"name": "a", "parameters": {"type": "OBJECT", "properties": {
                        "flag": {"type": "BOOLEAN", "enum": [true, false]},
                        "level": {"type": "INTEGER", "enum": [1, 2], "format": "int32"},
                        "list": {"type": "ARRAY", "items": {"type": "NUMBER", "enum": [1.5]}}
                    }}},
                    {"name": "b", "parametersJsonSchema": {"type": "object", "properties": {
                        "deep": {"type": "object", "properties": {"n": {"anyOf": [{"type": "integer", "enum": [7]}]}}},
                        "kind": {"type": "string", "enum": ["x"]}
                    }, "$defs": {"D": {"type": "boolean", "enum": [true, false]}}}}
                ]},
                {"function_declarations": [
                    {"name": "c", "parameters_json_schema": {"type": "integer", "enum": [3]}}
                ]}
            ]
        });
        normalise_tool_enums(&mut request);
        assert_eq!(
            request["tools"],
            json!([
                {"googleSearch": {}},
                {"functionDeclarations": [
                    {"name": "a", "parameters": {"type": "OBJECT", "properties": {
                        "flag": {"type": "BOOLEAN"},
                        "level": {"type": "STRING", "enum": ["1", "2"]},
                        "list": {"type": "ARRAY", "items": {"type": "STRING", "enum": ["1.5"]}}
                    }}},
                    {"name": "b", "parametersJsonSchema": {"type": "object", "properties": {
                        "deep": {"type": "object", "properties": {"n": {"anyOf": [{"type": "string", "enum": ["7"]}]}}},
                        "kind": {"type": "string", "enum": ["x"]}
                    }, "$defs": {"D": {"type": "boolean"}}}}
                ]},
                {"function_declarations": [
                    {"name": "c", "parameters_json_schema": {"type": "string", "enum": ["3"]}}
                ]}
            ])
        );
    }
}
