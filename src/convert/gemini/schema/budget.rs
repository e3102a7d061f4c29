//! What cleaning a schema may cost. Following `$ref`s copies their targets, and a small schema whose
//! definitions reference each other twice per level expands exponentially; a node count alone did not
//! bound it, since each node may carry a large description or enum. So every copy and every node
//! visited is charged, in bytes, against one budget per request (all tools together; a response
//! schema has its own), and nesting is bounded too: past either, the request is refused (400) instead
//! of being cut silently.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Bytes the schemas of one request may expand to (charged as they are copied and cleaned).
pub const MAX_SCHEMA_BYTES: usize = 2 * 1024 * 1024;
/// Deepest nesting of a schema, `$ref` targets included.
pub const MAX_SCHEMA_DEPTH: usize = 32;

/// Why a schema was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("expands (after $ref resolution) past {MAX_SCHEMA_BYTES} bytes for this request")]
    TooLarge,
    #[error("nests deeper than {MAX_SCHEMA_DEPTH} levels (after $ref resolution)")]
    TooDeep,
}

/// The bytes left to the schemas of one request.
#[derive(Debug)]
pub struct SchemaBudget {
    left: usize,
}

impl Default for SchemaBudget {
    fn default() -> Self {
        Self {
            left: MAX_SCHEMA_BYTES,
        }
    }
}

impl SchemaBudget {
    /// Takes `bytes`; an error once the budget is spent.
    pub(super) fn charge(&mut self, bytes: usize) -> Result<(), SchemaError> {
        self.left = self.left.checked_sub(bytes).ok_or(SchemaError::TooLarge)?;
        Ok(())
    }

    /// Charges a deep copy of the object `map`, measured at most as far as the budget reaches.
    pub(super) fn charge_map_copy(&mut self, map: &Map<String, Value>) -> Result<(), SchemaError> {
        let mut size = 2usize;
        for (key, value) in map {
            let limit = self.left.saturating_add(1).saturating_sub(size);
            size = size.saturating_add(key.len() + 3 + size_up_to(value, limit));
            if size > self.left {
                break;
            }
        }
        self.charge(size)
    }

    /// Charges a copy of a `$ref` target, remembering the size of each `$ref` target measured.
    pub(super) fn charge_target(
        &mut self,
        sizes: &mut HashMap<String, usize>,
        reference: &str,
        target: &Value,
    ) -> Result<(), SchemaError> {
        let size = match sizes.get(reference) {
            Some(size) => *size,
            None => {
                let size = size_up_to(target, self.left.saturating_add(1));
                sizes.insert(reference.to_owned(), size);
                size
            }
        };
        self.charge(size)
    }
}

/// What one node costs besides its nested schemas: its keys and the scalars it holds directly (an
/// `enum`, `required`, a description).
pub(super) fn shallow_size(obj: &Map<String, Value>) -> usize {
    obj.iter()
        .map(|(key, value)| {
            key.len()
                + match value {
                    Value::Array(items) => items.iter().map(scalar_size).sum(),
                    other => scalar_size(other),
                }
        })
        .sum::<usize>()
        + 16
}

fn scalar_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 2,
        Value::Number(_) => 8,
        Value::Bool(_) | Value::Null => 4,
        Value::Array(_) | Value::Object(_) => 2,
    }
}

/// The approximate serialised size of `value`, counted no further than `limit`.
fn size_up_to(value: &Value, limit: usize) -> usize {
    let mut total = 0usize;
    let mut stack = vec![value];
    while let Some(node) = stack.pop() {
        total = total.saturating_add(scalar_size(node));
        match node {
            Value::Array(items) => stack.extend(items.iter()),
            Value::Object(map) => {
                for (key, item) in map {
                    total = total.saturating_add(key.len() + 3);
                    stack.push(item);
                }
            }
            _ => {}
        }
        if total >= limit {
            return total;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn copies_are_charged_until_the_budget_is_spent() {
        let mut budget = SchemaBudget::default();
        let big = json!({"description": "x".repeat(MAX_SCHEMA_BYTES / 2)});
        let map = big.as_object().unwrap();
        assert!(budget.charge_map_copy(map).is_ok());
        assert_eq!(budget.charge_map_copy(map), Err(SchemaError::TooLarge));
        assert!(size_up_to(&big, 10) >= 10);
    }
}
