//! The schema walk shared by both targets: references, combinators, then plain keywords.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::budget::{shallow_size, SchemaBudget, SchemaError, MAX_SCHEMA_DEPTH};
use super::enums::normalise_enum;
use super::keywords::{
    add_hint, collect_hints, common_type, constant_values, filter_required, is_null_schema,
    merge_all_of_branch, reference_of, render_list, resolve_reference, type_is, without_keys,
};
use super::Flavour;

/// Deeper schemas are refused; this also bounds reference chains.
pub(super) const MAX_DEPTH: usize = MAX_SCHEMA_DEPTH;

const KNOWN_TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "array", "object", "null",
];

/// JSON-Schema constraints Gemini function declarations do not take; they become description hints.
const JSON_HINT_KEYS: [&str; 10] = [
    "default",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "pattern",
    "format",
    "uniqueItems",
];

/// Constraints the OpenAPI `Schema` of `responseSchema` supports natively.
const OPENAPI_NATIVE_KEYS: [&str; 4] = ["minimum", "maximum", "minItems", "maxItems"];
const OPENAPI_HINT_KEYS: [&str; 5] = [
    "default",
    "minLength",
    "maxLength",
    "pattern",
    "uniqueItems",
];
const OPENAPI_FORMATS: [&str; 6] = ["int32", "int64", "float", "double", "date-time", "enum"];

struct Cleaned {
    schema: Map<String, Value>,
    /// The parent drops nullable properties from `required` (JSON flavour cannot express null).
    nullable: bool,
}

pub(super) struct SchemaCleaner<'a, 'b> {
    root: &'a Value,
    flavour: Flavour,
    /// References being expanded; meeting one again means a cycle.
    ref_stack: Vec<String>,
    /// The request's budget, charged for every node visited and every copy made.
    budget: &'b mut SchemaBudget,
    /// Measured sizes of the `$ref` targets met, so each is measured once.
    target_sizes: HashMap<String, usize>,
    /// Set once a bound is passed; the walk then stops at once and the schema is refused.
    error: Option<SchemaError>,
}

impl<'a, 'b> SchemaCleaner<'a, 'b> {
    pub(super) fn new(root: &'a Value, flavour: Flavour, budget: &'b mut SchemaBudget) -> Self {
        Self {
            root,
            flavour,
            ref_stack: Vec::new(),
            budget,
            target_sizes: HashMap::new(),
            error: None,
        }
    }

    pub(super) fn clean_root(&mut self) -> Result<Value, SchemaError> {
        let mut schema = self.clean(self.root, 0).schema;
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.flavour == Flavour::OpenApi {
            fill_missing_types(&mut schema);
        }
        Ok(Value::Object(schema))
    }

    /// Records `result`'s error; answers whether the walk may go on.
    fn within(&mut self, result: Result<(), SchemaError>) -> bool {
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
        self.error.is_none()
    }

    fn clean(&mut self, node: &Value, depth: usize) -> Cleaned {
        let Some(obj) = node.as_object() else {
            // Boolean schemas (`true`/`false`) carry no structure Gemini could use.
            return self.finish(Map::new(), false);
        };
        if depth > MAX_DEPTH {
            self.within(Err(SchemaError::TooDeep));
        }
        let charged = self.budget.charge(shallow_size(obj));
        if !self.within(charged) {
            return self.finish(self.opaque_object(), false);
        }
        if let Some(reference) = reference_of(obj) {
            return self.clean_reference(obj, reference, depth);
        }
        if let Some(Value::Array(branches)) = obj.get("allOf") {
            return self.clean_all_of(obj, branches, depth);
        }
        let alternatives = obj.get("anyOf").or_else(|| obj.get("oneOf"));
        if let Some(Value::Array(branches)) = alternatives {
            return self.clean_alternatives(obj, branches, depth);
        }
        let (schema, nullable) = self.clean_plain(obj, depth);
        self.finish(schema, nullable)
    }

    fn opaque_object(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("type".into(), self.type_value("object"));
        map
    }

    fn clean_reference(
        &mut self,
        obj: &Map<String, Value>,
        reference: &str,
        depth: usize,
    ) -> Cleaned {
        let target = if self.ref_stack.iter().any(|r| r == reference) {
            None
        } else {
            resolve_reference(self.root, reference)
        };
        let siblings = without_keys(obj, &["$ref", "ref"]);
        let Some(target) = target else {
            // A cycle or a reference we cannot follow: keep what the node says about itself.
            let (mut schema, nullable) = self.clean_plain(&siblings, depth);
            if !schema.contains_key("type") {
                schema.insert("type".into(), self.type_value("object"));
            }
            return self.finish(schema, nullable);
        };
        // Each expansion copies its target: the copy is what the budget bounds.
        let charged = self
            .budget
            .charge_target(&mut self.target_sizes, reference, target);
        if !self.within(charged) {
            return self.finish(self.opaque_object(), false);
        }
        let mut merged = target.as_object().cloned().unwrap_or_default();
        merged.extend(siblings);
        self.ref_stack.push(reference.to_owned());
        let cleaned = self.clean(&Value::Object(merged), depth + 1);
        self.ref_stack.pop();
        cleaned
    }

    fn clean_all_of(
        &mut self,
        obj: &Map<String, Value>,
        branches: &[Value],
        depth: usize,
    ) -> Cleaned {
        let charged = self.budget.charge_map_copy(obj);
        if !self.within(charged) {
            return self.finish(self.opaque_object(), false);
        }
        let own = Value::Object(without_keys(obj, &["allOf"]));
        let mut merged = self.clean(&own, depth + 1);
        for branch in branches {
            let cleaned = self.clean(branch, depth + 1);
            merge_all_of_branch(&mut merged.schema, cleaned.schema);
            merged.nullable |= cleaned.nullable;
        }
        filter_required(&mut merged.schema, &[]);
        merged
    }

    fn clean_alternatives(
        &mut self,
        obj: &Map<String, Value>,
        branches: &[Value],
        depth: usize,
    ) -> Cleaned {
        let charged = self.budget.charge_map_copy(obj);
        if !self.within(charged) {
            return self.finish(self.opaque_object(), false);
        }
        let own = without_keys(obj, &["anyOf", "oneOf"]);
        let mut nullable = false;
        let mut constants = Vec::new();
        let mut all_constant = true;
        let mut candidates = Vec::new();
        for branch in branches {
            let resolved = self.resolve_shallow(branch);
            if is_null_schema(resolved) {
                nullable = true;
                continue;
            }
            match constant_values(resolved) {
                Some(values) => constants.extend(values),
                None => all_constant = false,
            }
            candidates.push(self.clean(branch, depth + 1));
        }

        if all_constant && !constants.is_empty() {
            let mut with_enum = own;
            with_enum.insert("enum".into(), Value::Array(constants));
            let (schema, own_nullable) = self.clean_plain(&with_enum, depth);
            return self.finish(schema, nullable || own_nullable);
        }

        let (mut schema, own_nullable) = self.clean_plain(&own, depth);
        nullable |= own_nullable;
        let described_types: Vec<String> = candidates
            .iter()
            .filter_map(|c| c.schema.get("type").and_then(Value::as_str))
            .map(str::to_ascii_lowercase)
            .collect();
        let chosen_index = ["object", "array"]
            .iter()
            .find_map(|wanted| candidates.iter().position(|c| type_is(&c.schema, wanted)))
            .or_else(|| {
                candidates
                    .iter()
                    .position(|c| c.schema.contains_key("type"))
            })
            .unwrap_or(0);
        if candidates.len() > chosen_index {
            let chosen = candidates.swap_remove(chosen_index);
            nullable |= chosen.nullable;
            for (key, value) in chosen.schema {
                match (key.as_str(), schema.get("description"), &value) {
                    ("description", Some(Value::String(own_text)), Value::String(branch_text)) => {
                        let joined = format!("{own_text} {branch_text}");
                        schema.insert(key, Value::String(joined));
                    }
                    _ => {
                        schema.entry(key).or_insert(value);
                    }
                }
            }
        }
        if described_types.len() > 1 {
            add_hint(
                &mut schema,
                format!("(accepts: {})", described_types.join(" | ")),
            );
        }
        self.finish(schema, nullable)
    }

    /// Follow a top-level reference without cleaning (or copying), to inspect a branch's shape.
    fn resolve_shallow<'n>(&self, node: &'n Value) -> &'n Value
    where
        'a: 'n,
    {
        let mut current = node;
        for _ in 0..MAX_DEPTH {
            let Some(reference) = current.as_object().and_then(reference_of) else {
                break;
            };
            match resolve_reference(self.root, reference) {
                Some(target) => current = target,
                None => break,
            }
        }
        current
    }

    /// Clean a node that has no references or combinators left. Returns the schema and whether it
    /// admits null.
    fn clean_plain(
        &mut self,
        obj: &Map<String, Value>,
        depth: usize,
    ) -> (Map<String, Value>, bool) {
        let mut out = Map::new();
        let mut hints = Vec::new();
        let mut nullable = obj.get("nullable") == Some(&Value::Bool(true));

        let mut type_name: Option<String> = None;
        match obj.get("type") {
            Some(Value::String(t)) if t == "null" => nullable = true,
            Some(Value::String(t)) if KNOWN_TYPES.contains(&t.as_str()) => {
                type_name = Some(t.clone())
            }
            Some(Value::Array(types)) => {
                let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
                nullable |= names.contains(&"null");
                let concrete: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|t| *t != "null" && KNOWN_TYPES.contains(t))
                    .collect();
                type_name = concrete.first().map(|t| (*t).to_owned());
                if concrete.len() > 1 {
                    hints.push(format!("(accepts: {})", concrete.join(" | ")));
                }
            }
            _ => {}
        }

        let enum_values = match (obj.get("enum"), obj.get("const")) {
            (Some(Value::Array(values)), _) => Some(values.clone()),
            (_, Some(constant)) => Some(vec![constant.clone()]),
            _ => None,
        };
        let mut enum_out = None;
        if let Some(values) = enum_values {
            nullable |= values.iter().any(Value::is_null);
            let values: Vec<Value> = values.into_iter().filter(|v| !v.is_null()).collect();
            if !values.is_empty() {
                if type_name.is_none() {
                    type_name = common_type(&values).map(str::to_owned);
                }
                let all_strings = values.iter().all(Value::is_string);
                if self.flavour == Flavour::OpenApi && !all_strings {
                    hints.push(format!("(allowed values: {})", render_list(&values)));
                } else {
                    enum_out = Some(Value::Array(values));
                }
            }
        }

        let mut properties_out = None;
        let mut nullable_properties = Vec::new();
        if let Some(Value::Object(properties)) = obj.get("properties") {
            let mut cleaned_properties = Map::new();
            for (name, schema) in properties {
                let cleaned = self.clean(schema, depth + 1);
                if cleaned.nullable {
                    nullable_properties.push(name.clone());
                }
                cleaned_properties.insert(name.clone(), Value::Object(cleaned.schema));
            }
            properties_out = Some(cleaned_properties);
        }

        let items_out = match obj.get("items") {
            Some(items @ Value::Object(_)) => Some(self.clean(items, depth + 1).schema),
            Some(Value::Array(tuple)) => tuple.first().map(|first| {
                hints.push(format!(
                    "(tuple of {} items; first item's schema shown)",
                    tuple.len()
                ));
                self.clean(first, depth + 1).schema
            }),
            _ => None,
        };

        if type_name.is_none() {
            type_name = if properties_out.is_some() {
                Some("object".into())
            } else if items_out.is_some() {
                Some("array".into())
            } else {
                None
            };
        }

        if let Some(t) = &type_name {
            out.insert("type".into(), self.type_value(t));
        }
        if let Some(Value::String(description)) = obj.get("description") {
            if !description.trim().is_empty() {
                out.insert("description".into(), Value::String(description.clone()));
            }
        }
        if let Some(values) = enum_out {
            out.insert("enum".into(), values);
        }
        match self.flavour {
            Flavour::JsonSchema => {
                collect_hints(obj, &JSON_HINT_KEYS, &mut hints);
            }
            Flavour::OpenApi => {
                for key in OPENAPI_NATIVE_KEYS {
                    if let Some(value) = obj.get(key).filter(|v| v.is_number()) {
                        out.insert(key.into(), value.clone());
                    }
                }
                match obj.get("format") {
                    Some(Value::String(f)) if OPENAPI_FORMATS.contains(&f.as_str()) => {
                        out.insert("format".into(), Value::String(f.clone()));
                    }
                    _ => collect_hints(obj, &["format"], &mut hints),
                }
                collect_hints(obj, &OPENAPI_HINT_KEYS, &mut hints);
            }
        }
        if let Some(properties) = properties_out {
            out.insert("properties".into(), Value::Object(properties));
        }
        if let Some(items) = items_out {
            out.insert("items".into(), Value::Object(items));
        }
        if let Some(required) = obj.get("required") {
            out.insert("required".into(), required.clone());
        }
        let drop_from_required: &[String] = match self.flavour {
            Flavour::JsonSchema => &nullable_properties,
            Flavour::OpenApi => &[],
        };
        filter_required(&mut out, drop_from_required);
        for hint in hints {
            add_hint(&mut out, hint);
        }
        if self.flavour == Flavour::JsonSchema {
            normalise_enum(&mut out);
        }
        (out, nullable)
    }

    /// Record nullability in the target's own way.
    fn finish(&self, mut schema: Map<String, Value>, nullable: bool) -> Cleaned {
        if nullable {
            match self.flavour {
                Flavour::OpenApi => {
                    schema.insert("nullable".into(), Value::Bool(true));
                }
                Flavour::JsonSchema => {
                    let marked = schema
                        .get("description")
                        .and_then(Value::as_str)
                        .is_some_and(|d| d.contains("(nullable)"));
                    if !marked {
                        add_hint(&mut schema, "(nullable)".into());
                    }
                }
            }
        }
        Cleaned { schema, nullable }
    }

    fn type_value(&self, name: &str) -> Value {
        match self.flavour {
            Flavour::JsonSchema => Value::String(name.to_owned()),
            Flavour::OpenApi => Value::String(name.to_ascii_uppercase()),
        }
    }
}

/// OpenAPI schemas need a type everywhere; a string can carry any value. Done after cleaning so
/// that merging `allOf`/`anyOf` parts still sees which parts had no type.
fn fill_missing_types(schema: &mut Map<String, Value>) {
    schema
        .entry("type")
        .or_insert_with(|| Value::String("STRING".into()));
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        for property in properties.values_mut() {
            if let Value::Object(property) = property {
                fill_missing_types(property);
            }
        }
    }
    if let Some(Value::Object(items)) = schema.get_mut("items") {
        fill_missing_types(items);
    }
}
