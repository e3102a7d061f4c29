//! Function names as Gemini accepts them (`[A-Za-z_][A-Za-z0-9_.-]{0,63}`): the per-request mapping
//! every dialect declares its tools through, and the renaming of calls in answers back to the client's names.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// Gemini's limit on function-name length.
const MAX_NAME_LEN: usize = 64;

/// Gemini function names must match `[A-Za-z_][A-Za-z0-9_.-]{0,63}`. Client names are mapped once
/// per request and kept unique, so declarations, history calls and results all agree.
#[derive(Debug, Default)]
pub struct ToolNames {
    to_gemini: HashMap<String, String>,
    taken: HashSet<String>,
}

impl ToolNames {
    /// The Gemini name for a client name; the same client name always gets the same answer.
    pub fn gemini_name(&mut self, original: &str) -> String {
        if let Some(known) = self.to_gemini.get(original) {
            return known.clone();
        }
        let base = normalise_function_name(original);
        let mut candidate = base.clone();
        let mut counter = 2;
        while self.taken.contains(&candidate) {
            let suffix = format!("_{counter}");
            let mut stem = base.clone();
            stem.truncate(MAX_NAME_LEN.saturating_sub(suffix.len()));
            candidate = stem + &suffix;
            counter += 1;
        }
        self.taken.insert(candidate.clone());
        self.to_gemini
            .insert(original.to_owned(), candidate.clone());
        candidate
    }

    pub fn known(&self, original: &str) -> Option<&String> {
        self.to_gemini.get(original)
    }

    /// Gemini name → client name, only for names that had to change.
    pub fn restore_map(&self) -> HashMap<String, String> {
        self.to_gemini
            .iter()
            .filter(|(original, gemini)| original != gemini)
            .map(|(original, gemini)| (gemini.clone(), original.clone()))
            .collect()
    }
}

/// Characters outside `[A-Za-z0-9_.-]` become `_`; a leading character that is not a letter or
/// underscore gets a `_` in front; the result is cut to 64 characters.
pub fn normalise_function_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        return "_unnamed_function".into();
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    // Only ASCII remains, so byte truncation cannot split a character.
    out.truncate(MAX_NAME_LEN);
    out
}

/// Renames function calls in a Gemini response back to the names the client declared (some names had
/// to be changed for Gemini).
pub fn restore_tool_names(response: &mut Value, names: &HashMap<String, String>) {
    if names.is_empty() {
        return;
    }
    let Some(candidates) = response.get_mut("candidates").and_then(Value::as_array_mut) else {
        return;
    };
    for candidate in candidates {
        let Some(parts) = candidate
            .pointer_mut("/content/parts")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for part in parts {
            let Some(name) = part.pointer_mut("/functionCall/name") else {
                continue;
            };
            if let Some(original) = name.as_str().and_then(|n| names.get(n)) {
                *name = Value::String(original.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_normalised_to_gemini_rules() {
        assert_eq!(normalise_function_name("get_weather"), "get_weather");
        assert_eq!(normalise_function_name("get weather!"), "get_weather_");
        assert_eq!(normalise_function_name("1st.tool-x"), "_1st.tool-x");
        assert_eq!(normalise_function_name("搜索"), "__");
        assert_eq!(normalise_function_name(""), "_unnamed_function");
        assert_eq!(normalise_function_name(&"a".repeat(100)).len(), 64);
    }

    #[test]
    fn function_call_names_are_restored() {
        let mut names = HashMap::new();
        names.insert("get_weather_".to_string(), "get weather!".to_string());
        let mut resp = json!({"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather_","args":{}}},{"text":"x"}]}}]});
        restore_tool_names(&mut resp, &names);
        assert_eq!(
            resp["candidates"][0]["content"]["parts"][0]["functionCall"]["name"],
            "get weather!"
        );
    }
}
