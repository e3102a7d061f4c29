//! Client tool and response schemas use JSON-Schema features Gemini rejects ("Proto field is not
//! repeating", unknown `$ref`, …). Both cleaners resolve references, merge `allOf`, collapse
//! `anyOf`/`oneOf`, and keep only keywords the target accepts; constraints that would be lost are moved
//! into the description as hints so the model still sees them. Enums on non-string types, which
//! Gemini refuses, are rewritten (see `enums`), also in tools of Gemini-native requests.

mod budget;
mod cleaner;
mod enums;
mod keywords;

pub use budget::{SchemaBudget, SchemaError, MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH};
pub use enums::normalise_tool_enums;

use serde_json::Value;

use cleaner::SchemaCleaner;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    /// `parametersJsonSchema`: lower-case JSON-Schema types.
    JsonSchema,
    /// `responseSchema`: the OpenAPI subset with UPPERCASE types and `nullable`.
    OpenApi,
}

/// Clean a tool's `parameters` for `parametersJsonSchema`, charging `budget` (one per request).
pub fn clean_json_schema(schema: &Value, budget: &mut SchemaBudget) -> Result<Value, SchemaError> {
    SchemaCleaner::new(schema, Flavour::JsonSchema, budget).clean_root()
}

/// Convert an OpenAI `response_format.json_schema.schema` into Gemini's `responseSchema`.
pub fn to_openapi_schema(schema: &Value, budget: &mut SchemaBudget) -> Result<Value, SchemaError> {
    SchemaCleaner::new(schema, Flavour::OpenApi, budget).clean_root()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn clean_json_schema(schema: &Value) -> Value {
        super::clean_json_schema(schema, &mut SchemaBudget::default()).unwrap()
    }

    fn to_openapi_schema(schema: &Value) -> Value {
        super::to_openapi_schema(schema, &mut SchemaBudget::default()).unwrap()
    }

    #[test]
    fn drops_unsupported_keywords_and_keeps_structure() {
        let input = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "Args",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "q": {"type": "string", "description": "query", "x-order": 1, "examples": ["a"]},
                "n": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3}
            },
            "required": ["q", "missing"]
        });
        assert_eq!(
            clean_json_schema(&input),
            json!({
                "type": "object",
                "properties": {
                    "q": {"type": "string", "description": "query"},
                    "n": {"type": "integer", "description": "(default: 3) (minimum: 1) (maximum: 10)"}
                },
                "required": ["q"]
            })
        );
    }

    #[test]
    fn resolves_definitions_and_defs_references() {
        let input = json!({
            "type": "object",
            "properties": {
                "a": {"$ref": "#/definitions/Point", "description": "start"},
                "b": {"$ref": "#/$defs/Colour"},
                "c": {"$ref": "Colour"}
            },
            "definitions": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}},
            "$defs": {"Colour": {"type": "string", "enum": ["red", "green"]}}
        });
        assert_eq!(
            clean_json_schema(&input),
            json!({
                "type": "object",
                "properties": {
                    "a": {"type": "object", "description": "start", "properties": {"x": {"type": "number"}}, "required": ["x"]},
                    "b": {"type": "string", "enum": ["red", "green"]},
                    "c": {"type": "string", "enum": ["red", "green"]}
                }
            })
        );
    }

    #[test]
    fn recursive_references_are_cut_off() {
        let input = json!({
            "$ref": "#/definitions/Node",
            "definitions": {"Node": {
                "type": "object",
                "properties": {"value": {"type": "string"}, "next": {"$ref": "#/definitions/Node"}}
            }}
        });
        assert_eq!(
            clean_json_schema(&input),
            json!({
                "type": "object",
                "properties": {"value": {"type": "string"}, "next": {"type": "object"}}
            })
        );
    }

    #[test]
    fn unresolvable_reference_becomes_an_object() {
        let input = json!({"$ref": "https://example.com/schema.json", "description": "remote"});
        assert_eq!(
            clean_json_schema(&input),
            json!({"type": "object", "description": "remote"})
        );
    }

    #[test]
    fn very_deep_schemas_are_refused() {
        let mut schema = json!({"type": "string"});
        for _ in 0..MAX_SCHEMA_DEPTH - 1 {
            schema = json!({"type": "object", "properties": {"inner": schema}});
        }
        assert!(super::clean_json_schema(&schema, &mut SchemaBudget::default()).is_ok());
        for _ in 0..200 {
            schema = json!({"type": "object", "properties": {"inner": schema}});
        }
        assert_eq!(
            super::clean_json_schema(&schema, &mut SchemaBudget::default()),
            Err(SchemaError::TooDeep)
        );
    }

    #[test]
    fn nullable_type_array_becomes_single_type_and_leaves_required() {
        let input = json!({
            "type": "object",
            "properties": {
                "name": {"type": ["string", "null"], "description": "who"},
                "age": {"type": "integer"}
            },
            "required": ["name", "age"]
        });
        assert_eq!(
            clean_json_schema(&input),
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "who (nullable)"},
                    "age": {"type": "integer"}
                },
                "required": ["age"]
            })
        );
    }

    #[test]
    fn any_of_with_null_collapses_to_the_other_branch() {
        let input = json!({
            "type": "object",
            "properties": {"when": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}], "description": "day"}},
            "required": ["when"]
        });
        assert_eq!(
            clean_json_schema(&input),
            json!({
                "type": "object",
                "properties": {"when": {"type": "string", "description": "day (format: date) (nullable)"}}
            })
        );
    }

    #[test]
    fn any_of_prefers_object_branch_and_notes_alternatives() {
        let input = json!({"oneOf": [
            {"type": "string"},
            {"type": "object", "properties": {"id": {"type": "integer"}}}
        ]});
        assert_eq!(
            clean_json_schema(&input),
            json!({
                "type": "object",
                "properties": {"id": {"type": "integer"}},
                "description": "(accepts: string | object)"
            })
        );
    }

    #[test]
    fn any_of_of_constants_becomes_an_enum() {
        let input = json!({"anyOf": [{"const": "a"}, {"const": "b"}], "description": "mode"});
        assert_eq!(
            clean_json_schema(&input),
            json!({"type": "string", "enum": ["a", "b"], "description": "mode"})
        );
    }

    #[test]
    fn all_of_merges_properties_and_required() {
        let input = json!({
            "allOf": [
                {"$ref": "#/$defs/Base"},
                {"type": "object", "properties": {"extra": {"type": "boolean"}}, "required": ["extra"]}
            ],
            "$defs": {"Base": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}}
        });
        assert_eq!(
            clean_json_schema(&input),
            json!({
                "type": "object",
                "properties": {"id": {"type": "string"}, "extra": {"type": "boolean"}},
                "required": ["id", "extra"]
            })
        );
    }

    #[test]
    fn tuple_items_keep_the_first_schema_with_a_hint() {
        let input = json!({"type": "array", "items": [{"type": "number"}, {"type": "string"}]});
        assert_eq!(
            clean_json_schema(&input),
            json!({
                "type": "array",
                "items": {"type": "number"},
                "description": "(tuple of 2 items; first item's schema shown)"
            })
        );
    }

    #[test]
    fn properties_imply_object_type() {
        let input = json!({"properties": {"a": {"type": "string"}}});
        assert_eq!(
            clean_json_schema(&input),
            json!({"type": "object", "properties": {"a": {"type": "string"}}})
        );
    }

    #[test]
    fn shared_references_cannot_expand_without_bound() {
        // Each level references the next four times: 4^12 nodes if expanded naively, within the
        // depth bound.
        let mut defs = serde_json::Map::new();
        for level in 0..12 {
            let next = format!("#/$defs/L{}", level + 1);
            defs.insert(
                format!("L{level}"),
                json!({"type": "object", "description": "d".repeat(100), "properties": {
                    "a": {"$ref": next}, "b": {"$ref": next}, "c": {"$ref": next}, "d": {"$ref": next}
                }}),
            );
        }
        defs.insert("L12".into(), json!({"type": "string"}));
        let input = json!({"$ref": "#/$defs/L0", "$defs": defs});
        assert_eq!(
            super::clean_json_schema(&input, &mut SchemaBudget::default()),
            Err(SchemaError::TooLarge)
        );
        assert_eq!(
            super::to_openapi_schema(&input, &mut SchemaBudget::default()),
            Err(SchemaError::TooLarge)
        );
        // A few levels of the same shape are fine.
        let mut defs = serde_json::Map::new();
        for level in 0..4 {
            let next = format!("#/$defs/L{}", level + 1);
            defs.insert(
                format!("L{level}"),
                json!({"type": "object", "properties": {"a": {"$ref": next}, "b": {"$ref": next}}}),
            );
        }
        defs.insert("L4".into(), json!({"type": "string"}));
        let small = json!({"$ref": "#/$defs/L0", "$defs": defs});
        let cleaned = clean_json_schema(&small);
        assert_eq!(
            cleaned.pointer("/properties/a/properties/b/properties/a/properties/b/type"),
            Some(&json!("string"))
        );
    }

    #[test]
    fn one_budget_covers_every_schema_of_a_request() {
        let schema = json!({"type": "object", "description": "x".repeat(MAX_SCHEMA_BYTES / 3)});
        let mut budget = SchemaBudget::default();
        assert!(super::clean_json_schema(&schema, &mut budget).is_ok());
        assert!(super::clean_json_schema(&schema, &mut budget).is_ok());
        assert_eq!(
            super::clean_json_schema(&schema, &mut budget),
            Err(SchemaError::TooLarge)
        );
    }

    #[test]
    fn enums_on_non_strings_are_rewritten_for_gemini() {
        let input = json!({
            "type": "object",
            "properties": {
                "verbose": {"type": "boolean", "enum": [true, false], "description": "more output"},
                "level": {"type": "integer", "enum": [1, 2, 3], "minimum": 1},
                "ratio": {"enum": [0.5, 1]},
                "mode": {"type": "string", "enum": ["fast", "slow"]},
                "steps": {"type": "array", "items": {"$ref": "#/$defs/Step"}},
                "retry": {"anyOf": [{"type": "integer", "enum": [0, 1]}, {"type": "null"}]},
                "answer": {"const": 42}
            },
            "$defs": {"Step": {"type": "object", "properties": {
                "dry": {"type": "boolean", "enum": [true]}
            }}}
        });
        assert_eq!(
            clean_json_schema(&input),
            json!({
                "type": "object",
                "properties": {
                    "verbose": {"type": "boolean", "description": "more output"},
                    "level": {"type": "string", "enum": ["1", "2", "3"], "description": "(minimum: 1)"},
                    "ratio": {"type": "string", "enum": ["0.5", "1"]},
                    "mode": {"type": "string", "enum": ["fast", "slow"]},
                    "steps": {"type": "array", "items": {"type": "object", "properties": {
                        "dry": {"type": "boolean", "description": "(allowed values: true)"}
                    }}},
                    "retry": {"type": "string", "enum": ["0", "1"], "description": "(nullable)"},
                    "answer": {"type": "string", "enum": ["42"]}
                }
            })
        );
    }

    #[test]
    fn boolean_schemas_become_empty() {
        assert_eq!(clean_json_schema(&json!(true)), json!({}));
    }

    #[test]
    fn openapi_uses_uppercase_types_and_nullable() {
        let input = json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "title": {"type": "string", "minLength": 1},
                "score": {"type": ["number", "null"], "minimum": 0},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
                "kind": {"anyOf": [{"const": "a"}, {"const": "b"}]},
                "size": {"enum": [1, 2]},
                "when": {"type": "string", "format": "date-time"},
                "free": {}
            },
            "required": ["title", "score"]
        });
        assert_eq!(
            to_openapi_schema(&input),
            json!({
                "type": "OBJECT",
                "properties": {
                    "title": {"type": "STRING", "description": "(minLength: 1)"},
                    "score": {"type": "NUMBER", "minimum": 0, "nullable": true},
                    "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "maxItems": 5},
                    "kind": {"type": "STRING", "enum": ["a", "b"]},
                    "size": {"type": "INTEGER", "description": "(allowed values: 1, 2)"},
                    "when": {"type": "STRING", "format": "date-time"},
                    "free": {"type": "STRING"}
                },
                "required": ["title", "score"]
            })
        );
    }

    #[test]
    fn openapi_resolves_references() {
        let input = json!({
            "type": "object",
            "properties": {"step": {"$ref": "#/$defs/Step"}},
            "$defs": {"Step": {"type": "object", "properties": {"text": {"type": "string"}}}}
        });
        assert_eq!(
            to_openapi_schema(&input),
            json!({
                "type": "OBJECT",
                "properties": {"step": {"type": "OBJECT", "properties": {"text": {"type": "STRING"}}}}
            })
        );
    }
}
