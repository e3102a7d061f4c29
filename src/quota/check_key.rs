//! Validating an `sk-` key without debiting it: routes that cost nothing (model lists, `countTokens`)
//! and the body guard, which refuses unknown keys before a byte of the body is read (`Debits::check`
//! answers from the cached rules, reading the key on a miss).

use crate::convert::gemini::model_name::ModelSpec;

/// An empty allow-list allows everything; otherwise the requested name, its base model or its
/// display name must be listed.
pub fn allows_model(allowed: &[String], model: &str) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|m| {
            m == model || ModelSpec::parse(model).is_ok_and(|s| &s.base == m || &s.display == m)
        })
}
