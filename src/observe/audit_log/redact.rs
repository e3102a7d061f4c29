//! Masking of what an audit entry says changed: values under secret-sounding names are masked
//! whole, and every other string passes the log's redactor (token prefixes, configured secrets).

use serde_json::{Map, Value};

use crate::logging::{mask, secrets};

/// Field names (lower case, as substrings) whose values are secrets.
const SECRET_NAMES: &[&str] = &[
    "password",
    "secret",
    "token",
    "private_key",
    "api_key",
    "apikey",
    "credential",
];

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|s| name.contains(s))
}

/// `changes` with secrets masked.
pub fn redact_changes(changes: Value) -> Value {
    match changes {
        Value::String(s) => Value::String(secrets().redact(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_changes).collect()),
        Value::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (name, value) in fields {
                let value = match value {
                    Value::String(s) if is_secret_name(&name) && !s.is_empty() => {
                        Value::String(mask(&s))
                    }
                    Value::Null | Value::Bool(_) | Value::Number(_) => value,
                    other if is_secret_name(&name) => Value::String(mask(&other.to_string())),
                    other => redact_changes(other),
                };
                out.insert(secrets().redact(&name), value);
            }
            Value::Object(out)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_and_other_values_kept() {
        let out = redact_changes(json!({
            "panel_password": "hunter2-long-secret",
            "calls_per_rotation": 10,
            "note": "token ya29.abcdefghijklmnopqrstuvwxyz in text",
            "nested": {"client_secret": "GOCSPX-abcdefghijklmnop"},
        }));
        let text = out.to_string();
        assert!(!text.contains("hunter2-long-secret"), "{text}");
        assert!(!text.contains("abcdefghijklmnopqrstuvwxyz"), "{text}");
        assert!(!text.contains("GOCSPX-abcdefghijklmnop"), "{text}");
        assert_eq!(out["calls_per_rotation"], 10);
    }
}
