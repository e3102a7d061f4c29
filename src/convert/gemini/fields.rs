//! Readers for fields of a client's JSON body that every dialect checks the same way. Each error
//! names the field it is about (`input[2].call_id: is required`), as every conversion error does.

use serde_json::{Map, Value};

use crate::convert::ConvertError;

/// The top-level keys of a parsed request, taken one by one into a dialect's typed body; what is
/// left over becomes the body's `extra`. The values are moved, not rebuilt: serde's `from_value`
/// would rebuild every array and object of the request, which costs about as much CPU as parsing
/// it did, on the benchmarked request path.
pub struct TopLevel(Map<String, Value>);

impl TopLevel {
    /// Only a JSON object is a body.
    pub fn of(body: Value) -> Result<Self, ConvertError> {
        match body {
            Value::Object(map) => Ok(Self(map)),
            _ => Err(ConvertError::invalid("body", "must be a JSON object")),
        }
    }

    /// The value at `key`; `null` reads as absent, as it does for serde's `Option` fields.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.0.shift_remove(key).filter(|value| !value.is_null())
    }

    /// Every key not taken, in the client's order.
    pub fn rest(self) -> Map<String, Value> {
        self.0
    }
}

/// A dialect's typed body: each field is the top-level key of the same name, an `Option<Value>`
/// because the converter checks its shape and words the error in its API's terms; every other key
/// is kept in `extra`. `from_value` builds it from the parsed request through [`TopLevel`], so the
/// field list is written once and the wire shape is read where the struct is declared.
macro_rules! wire_body {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* $field:ident,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, Clone, PartialEq)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: Option<serde_json::Value>,)*
            /// Every other key, in the client's order (the struct's note says what is read there).
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl $name {
            /// The parsed request as this body, its values moved; anything but a JSON object is
            /// refused (`body: must be a JSON object`).
            pub fn from_value(
                body: serde_json::Value,
            ) -> Result<Self, $crate::convert::ConvertError> {
                let mut keys = $crate::convert::gemini::fields::TopLevel::of(body)?;
                Ok(Self {
                    $($field: keys.take(stringify!($field)),)*
                    extra: keys.rest(),
                })
            }
        }
    };
}
pub(crate) use wire_body;

/// The model a body names. `missing` words its absence as the dialect's API does (`is required`,
/// Anthropic's `Field required`).
pub fn model_field<'a>(model: Option<&'a Value>, missing: &str) -> Result<&'a str, ConvertError> {
    string_field(model, "model")?.ok_or_else(|| ConvertError::invalid("model", missing))
}

/// An optional string (absent or `null`: `None`); anything else is a 400 naming `field`.
pub fn string_field<'a>(
    value: Option<&'a Value>,
    field: &str,
) -> Result<Option<&'a str>, ConvertError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ConvertError::invalid(field, "must be a string")),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn top_level_keys_are_taken_from_any_object_and_nothing_else() {
        for body in [json!([]), json!("x"), json!(1), Value::Null] {
            let err = TopLevel::of(body).err().unwrap();
            assert_eq!(err.to_string(), "body: must be a JSON object");
        }
        let mut keys =
            TopLevel::of(json!({"a": 1, "model": 3, "b": null, "stream": null, "c": [2]})).unwrap();
        assert_eq!(keys.take("model"), Some(json!(3)));
        // `null` reads as absent, as serde reads it into an `Option` field.
        assert_eq!(keys.take("stream"), None);
        assert_eq!(keys.take("missing"), None);
        // What is left keeps the client's order; an untaken `null` stays.
        assert_eq!(
            keys.rest().into_iter().collect::<Vec<_>>(),
            vec![
                ("a".to_string(), json!(1)),
                ("b".to_string(), Value::Null),
                ("c".to_string(), json!([2])),
            ]
        );
    }

    #[test]
    fn shared_readers_word_their_errors_as_every_dialect_did() {
        assert_eq!(model_field(Some(&json!("m")), "is required"), Ok("m"));
        assert_eq!(
            model_field(None, "Field required").unwrap_err().to_string(),
            "model: Field required"
        );
        assert_eq!(
            model_field(Some(&Value::Null), "is required")
                .unwrap_err()
                .to_string(),
            "model: is required"
        );
        assert_eq!(
            model_field(Some(&json!(3)), "is required")
                .unwrap_err()
                .to_string(),
            "model: must be a string"
        );
        assert_eq!(string_field(Some(&Value::Null), "instructions"), Ok(None));
        assert_eq!(
            string_field(Some(&json!([])), "instructions")
                .unwrap_err()
                .to_string(),
            "instructions: must be a string"
        );
        assert_eq!(bool_field(Some(&json!(true)), "stream"), Ok(Some(true)));
        assert_eq!(
            bool_field(Some(&json!("yes")), "stream")
                .unwrap_err()
                .to_string(),
            "stream: must be a boolean"
        );
    }
}
