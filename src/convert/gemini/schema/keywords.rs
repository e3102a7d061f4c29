//! Keyword-level helpers: local references, `required` filtering, `allOf` merging and
//! description hints.

use serde_json::{Map, Value};

pub(super) fn reference_of(obj: &Map<String, Value>) -> Option<&str> {
    obj.get("$ref")
        .or_else(|| obj.get("ref"))
        .and_then(Value::as_str)
}

/// Local references only: `#`, `#/json/pointer`, or a bare definition name.
pub(super) fn resolve_reference<'v>(root: &'v Value, reference: &str) -> Option<&'v Value> {
    if let Some(pointer) = reference.strip_prefix('#') {
        return if pointer.is_empty() {
            Some(root)
        } else {
            root.pointer(pointer)
        };
    }
    if reference.contains("://") {
        return None;
    }
    ["definitions", "$defs"]
        .iter()
        .find_map(|section| root.get(section).and_then(|defs| defs.get(reference)))
}

pub(super) fn without_keys(obj: &Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    obj.iter()
        .filter(|(k, _)| !keys.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(super) fn is_null_schema(node: &Value) -> bool {
    node.get("type").and_then(Value::as_str) == Some("null")
        || node.get("const").is_some_and(Value::is_null)
}

/// The values a branch admits when it is a pure constant (`const` or a one-off `enum`).
pub(super) fn constant_values(node: &Value) -> Option<Vec<Value>> {
    if let Some(constant) = node.get("const") {
        return Some(vec![constant.clone()]);
    }
    let values = node.get("enum")?.as_array()?;
    let has_structure = node.get("properties").is_some() || node.get("items").is_some();
    (!has_structure).then(|| values.clone())
}

pub(super) fn type_is(schema: &Map<String, Value>, wanted: &str) -> bool {
    schema
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case(wanted))
}

/// The JSON-Schema type shared by all values, when there is one.
pub(super) fn common_type(values: &[Value]) -> Option<&'static str> {
    let type_of = |v: &Value| match v {
        Value::String(_) => Some("string"),
        Value::Bool(_) => Some("boolean"),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some("integer"),
        Value::Number(_) => Some("number"),
        _ => None,
    };
    let first = type_of(values.first()?)?;
    values
        .iter()
        .all(|v| type_of(v) == Some(first))
        .then_some(first)
}

pub(super) fn merge_all_of_branch(target: &mut Map<String, Value>, branch: Map<String, Value>) {
    for (key, value) in branch {
        match (key.as_str(), target.get_mut(&key), value) {
            ("properties", Some(Value::Object(existing)), Value::Object(added)) => {
                for (name, schema) in added {
                    existing.entry(name).or_insert(schema);
                }
            }
            ("required", Some(Value::Array(existing)), Value::Array(added)) => {
                for name in added {
                    if !existing.contains(&name) {
                        existing.push(name);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, value) => {
                target.insert(key, value);
            }
        }
    }
}

/// Keep only `required` names that are declared properties (and not in `drop`); remove it if empty.
pub(super) fn filter_required(schema: &mut Map<String, Value>, drop: &[String]) {
    let declared: Vec<String> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let mut kept: Vec<Value> = Vec::new();
    if let Some(Value::Array(required)) = schema.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            let wanted = declared.iter().any(|d| d == name) && !drop.iter().any(|d| d == name);
            if wanted && !kept.iter().any(|k| k.as_str() == Some(name)) {
                kept.push(Value::String(name.to_owned()));
            }
        }
    }
    if kept.is_empty() {
        schema.remove("required");
    } else {
        schema.insert("required".into(), Value::Array(kept));
    }
}

pub(super) fn collect_hints(obj: &Map<String, Value>, keys: &[&str], hints: &mut Vec<String>) {
    for key in keys {
        if let Some(value) = obj.get(*key).filter(|v| !v.is_null()) {
            hints.push(format!("({key}: {})", render(value)));
        }
    }
}

pub(super) fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn render_list(values: &[Value]) -> String {
    values.iter().map(render).collect::<Vec<_>>().join(", ")
}

pub(super) fn add_hint(schema: &mut Map<String, Value>, hint: String) {
    let description = match schema.get("description").and_then(Value::as_str) {
        Some(existing) if !existing.is_empty() => format!("{existing} {hint}"),
        _ => hint,
    };
    schema.insert("description".into(), Value::String(description));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_resolve_by_pointer_or_definition_name() {
        let root = json!({
            "definitions": {"A": {"type": "string"}},
            "$defs": {"B": {"type": "integer"}},
            "properties": {"p": {"type": "boolean"}}
        });
        assert_eq!(resolve_reference(&root, "#"), Some(&root));
        assert_eq!(
            resolve_reference(&root, "#/definitions/A"),
            Some(&json!({"type": "string"}))
        );
        assert_eq!(
            resolve_reference(&root, "#/properties/p"),
            Some(&json!({"type": "boolean"}))
        );
        assert_eq!(
            resolve_reference(&root, "A"),
            Some(&json!({"type": "string"}))
        );
        assert_eq!(
            resolve_reference(&root, "B"),
            Some(&json!({"type": "integer"}))
        );
        assert_eq!(resolve_reference(&root, "#/definitions/Missing"), None);
        assert_eq!(resolve_reference(&root, "http://x/y.json"), None);
    }

    #[test]
    fn required_keeps_declared_unique_names_only() {
        let mut schema = json!({
            "properties": {"a": {}, "b": {}},
            "required": ["a", "a", "zzz", 3, "b"]
        })
        .as_object()
        .cloned()
        .unwrap();
        filter_required(&mut schema, &["b".to_string()]);
        assert_eq!(schema.get("required"), Some(&json!(["a"])));
        filter_required(&mut schema, &["a".to_string()]);
        assert_eq!(schema.get("required"), None);
    }

    #[test]
    fn hints_append_to_the_description() {
        let mut schema = Map::new();
        add_hint(&mut schema, "(minimum: 1)".into());
        add_hint(&mut schema, "(maximum: 2)".into());
        assert_eq!(
            schema.get("description"),
            Some(&json!("(minimum: 1) (maximum: 2)"))
        );
    }
}
