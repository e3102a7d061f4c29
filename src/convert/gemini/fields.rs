//! Readers for fields of a client's JSON body that every dialect checks the same way. Each error
//! names the field it is about (`input[2].call_id: is required`), as every conversion error does.

use serde_json::{Map, Value};

use crate::convert::ConvertError;

/// A string field that must be present (empty allowed), else a 400 naming `field.key`.
pub fn required_string<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'a str, ConvertError> {
    match obj.get(key) {
        Some(Value::String(text)) => Ok(text),
        None | Some(Value::Null) => Err(ConvertError::invalid(
            format!("{field}.{key}"),
            "is required",
        )),
        Some(_) => Err(ConvertError::invalid(
            format!("{field}.{key}"),
            "must be a string",
        )),
    }
}

/// `<field>.<key>`: a non-empty string.
pub fn required_non_empty<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'a str, ConvertError> {
    match obj.get(key) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text),
        Some(Value::String(_)) => Err(ConvertError::invalid(
            format!("{field}.{key}"),
            "must not be empty",
        )),
        None | Some(Value::Null) => Err(ConvertError::invalid(
            format!("{field}.{key}"),
            "is required",
        )),
        Some(_) => Err(ConvertError::invalid(
            format!("{field}.{key}"),
            "must be a string",
        )),
    }
}

/// An optional boolean at `key` (absent or `null`: `None`); anything else is a 400 naming `key`.
pub fn optional_bool(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, ConvertError> {
    bool_field(obj.get(key), key)
}

/// The same check for a value already taken out of its object (a typed body's field).
pub fn bool_field(value: Option<&Value>, field: &str) -> Result<Option<bool>, ConvertError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(_) => Err(ConvertError::invalid(field, "must be a boolean")),
    }
}
