//! Model-name features and defaults applied to every Gemini request, whichever API it came from.
//!
//! Client values win wherever the model name is silent: generation parameters are never forced,
//! safety settings are only filled in for categories the client left out, and a client's own
//! thinking budget or level is kept unless the name sets one.

use serde_json::{json, Map, Value};

use crate::convert::gemini::model_name::{ModelFamily, ModelSpec, Thinking};
use crate::convert::ConvertOptions;

/// Every harm category Code Assist accepts, all defaulted to `BLOCK_NONE` as the Gemini CLI does.
const SAFETY_CATEGORIES: [&str; 10] = [
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
    "HARM_CATEGORY_IMAGE_HATE",
    "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
    "HARM_CATEGORY_IMAGE_HARASSMENT",
    "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_JAILBREAK",
];

/// 2.5 flash-lite rejects the image and jailbreak categories.
const TEXT_SAFETY_CATEGORIES: [&str; 5] = [
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
];

/// Apply thinking, search, safety defaults and contents cleanup to a Gemini `request` object.
/// Non-object values are left alone (callers validate the shape first).
pub fn apply_model_features(request: &mut Value, spec: &ModelSpec, opts: &ConvertOptions) {
    let Some(obj) = request.as_object_mut() else {
        return;
    };
    apply_thinking(obj, spec, opts);
    if spec.search {
        add_search_tool(obj);
    }
    fill_safety_defaults(obj, &spec.base);
    clean_contents(obj);
    if obj
        .get("generationConfig")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        obj.remove("generationConfig");
    }
}

/// The Code Assist envelope: exactly `model`, `project` and `request`.
pub fn wrap_envelope(base_model: &str, project: &str, request: Value) -> Value {
    json!({"model": base_model, "project": project, "request": request})
}

/// The same envelope borrowing its parts, serialised straight from the caller's request: a retry
/// loop sends one request per attempt and need not copy it each time.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct EnvelopeRef<'a> {
    pub model: &'a str,
    pub project: &'a str,
    pub request: &'a Value,
    /// Credit types Google may spend once the free quota is out (`CREDITS_OVERAGE=always`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled_credit_types: Option<&'a [&'a str]>,
}

fn apply_thinking(obj: &mut Map<String, Value>, spec: &ModelSpec, opts: &ConvertOptions) {
    let family = spec.family();
    let generation = obj
        .entry("generationConfig")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(generation) = generation.as_object_mut() else {
        return;
    };

    let mut config = take_client_thinking_config(generation);
    let client_sent_config = !config.is_empty();
    match &spec.thinking {
        Thinking::Budget(budget) => {
            config.remove("thinkingLevel");
            config.insert("thinkingBudget".into(), json!(budget));
        }
        Thinking::Level(level) => {
            config.remove("thinkingBudget");
            config.insert("thinkingLevel".into(), json!(level));
        }
        Thinking::Unset => {}
    }

    let budget = config.get("thinkingBudget").and_then(Value::as_i64);
    let has_level = config.get("thinkingLevel").is_some_and(Value::is_string);
    let include = if !opts.return_thoughts || budget == Some(0) {
        // Upstream rejects includeThoughts when thinking is switched off.
        false
    } else if let Some(client_choice) = config.get("includeThoughts").and_then(Value::as_bool) {
        client_choice
    } else {
        thinks_by_request_or_nature(family, budget, has_level)
    };

    if family.always_thinks() || budget.is_some() || has_level || client_sent_config {
        config.insert("includeThoughts".into(), Value::Bool(include));
        generation.insert("thinkingConfig".into(), Value::Object(config));
    }
}

/// Whether thinking is surely on: pro models always think; flash models only when a non-zero
/// budget or a level asks for it (flash-lite does not think by default).
fn thinks_by_request_or_nature(family: ModelFamily, budget: Option<i64>, has_level: bool) -> bool {
    family.always_thinks() || budget.is_some_and(|b| b != 0) || has_level
}

/// The client's thinking config, with snake_case spellings folded into camelCase so the merged
/// config never carries both.
fn take_client_thinking_config(generation: &mut Map<String, Value>) -> Map<String, Value> {
    let mut config = Map::new();
    for key in ["thinking_config", "thinkingConfig"] {
        if let Some(Value::Object(part)) = generation.remove(key) {
            config.extend(part);
        }
    }
    for (snake, camel) in [
        ("thinking_budget", "thinkingBudget"),
        ("thinking_level", "thinkingLevel"),
        ("include_thoughts", "includeThoughts"),
    ] {
        if let Some(value) = config.remove(snake) {
            config.entry(camel).or_insert(value);
        }
    }
    config
}

fn add_search_tool(obj: &mut Map<String, Value>) {
    let tools = obj
        .entry("tools")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(tools) = tools.as_array_mut() else {
        return;
    };
    let present = tools.iter().any(|tool| {
        ["googleSearch", "google_search"]
            .iter()
            .any(|key| tool.get(key).is_some_and(|v| !v.is_null()))
    });
    if !present {
        tools.push(json!({"googleSearch": {}}));
    }
}

fn fill_safety_defaults(obj: &mut Map<String, Value>, base_model: &str) {
    let categories: &[&str] = if base_model.contains("2.5-flash-lite") {
        &TEXT_SAFETY_CATEGORIES
    } else {
        &SAFETY_CATEGORIES
    };
    let settings = obj
        .entry("safetySettings")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !settings.is_array() {
        *settings = Value::Array(Vec::new());
    }
    let Some(settings) = settings.as_array_mut() else {
        return;
    };
    let chosen: Vec<String> = settings
        .iter()
        .filter_map(|s| s.get("category").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    for category in categories {
        if !chosen.iter().any(|c| c == category) {
            settings.push(block_none(category));
        }
    }
}

fn block_none(category: &str) -> Value {
    json!({"category": category, "threshold": "BLOCK_NONE"})
}

/// The `safetySettings` a request that names none gets on every model but 2.5 flash-lite: what the
/// golden conversions of every dialect expect.
#[cfg(test)]
pub fn default_safety_settings() -> Value {
    safety(&SAFETY_CATEGORIES)
}

/// What 2.5 flash-lite gets instead (see `TEXT_SAFETY_CATEGORIES`).
#[cfg(test)]
pub fn text_safety_settings() -> Value {
    safety(&TEXT_SAFETY_CATEGORIES)
}

#[cfg(test)]
fn safety(categories: &[&str]) -> Value {
    Value::Array(categories.iter().map(|c| block_none(c)).collect())
}

/// Upstream rejects empty parts and contents without parts; text is otherwise sent untouched.
fn clean_contents(obj: &mut Map<String, Value>) {
    if let Some(Value::Array(contents)) = obj.get_mut("contents") {
        for content in contents.iter_mut() {
            if let Some(Value::Array(parts)) = content.get_mut("parts") {
                parts.retain(|part| !is_empty_part(part));
            }
        }
        contents.retain(has_parts);
    }
    if let Some(Value::Object(system)) = obj.get_mut("systemInstruction") {
        if let Some(Value::Array(parts)) = system.get_mut("parts") {
            parts.retain(|part| !is_empty_part(part));
        }
    }
    if obj.get("systemInstruction").is_some_and(|s| !has_parts(s)) {
        obj.remove("systemInstruction");
    }
}

fn has_parts(content: &Value) -> bool {
    content
        .get("parts")
        .and_then(Value::as_array)
        .is_some_and(|parts| !parts.is_empty())
}

fn is_empty_part(part: &Value) -> bool {
    match part {
        Value::Null => true,
        Value::Object(map) => map
            .iter()
            .filter(|(key, _)| key.as_str() != "thought")
            .all(|(_, value)| is_blank(value)),
        _ => false,
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_text(text: &str) -> Value {
        json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
    }

    fn apply(model: &str, mut request: Value, opts: ConvertOptions) -> Value {
        let spec = ModelSpec::parse(model).unwrap();
        apply_model_features(&mut request, &spec, &opts);
        request
    }

    fn thinking_of(model: &str, request: Value, opts: ConvertOptions) -> Value {
        let out = apply(model, request, opts);
        out.pointer("/generationConfig/thinkingConfig")
            .cloned()
            .unwrap_or(Value::Null)
    }

    #[test]
    fn pro_without_suffix_asks_for_thoughts_and_gets_default_safety() {
        let out = apply("gemini-2.5-pro", user_text("x"), ConvertOptions::default());
        assert_eq!(
            out,
            json!({
                "contents": [{"role": "user", "parts": [{"text": "x"}]}],
                "generationConfig": {"thinkingConfig": {"includeThoughts": true}},
                "safetySettings": default_safety_settings()
            })
        );
    }

    #[test]
    fn generation_parameters_are_never_forced() {
        let request = json!({
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "generationConfig": {"maxOutputTokens": 100, "topK": 5}
        });
        let out = apply("gemini-2.5-flash", request, ConvertOptions::default());
        assert_eq!(
            out["generationConfig"],
            json!({"maxOutputTokens": 100, "topK": 5})
        );
        let out = apply(
            "gemini-2.5-flash",
            user_text("x"),
            ConvertOptions::default(),
        );
        assert!(out.get("generationConfig").is_none());
    }

    #[test]
    fn budget_suffixes_on_25() {
        let opts = ConvertOptions::default();
        assert_eq!(
            thinking_of("gemini-2.5-pro-high", user_text("x"), opts),
            json!({"thinkingBudget": 16000, "includeThoughts": true})
        );
        assert_eq!(
            thinking_of("gemini-2.5-flash-minimal", user_text("x"), opts),
            json!({"thinkingBudget": 0, "includeThoughts": false})
        );
        assert_eq!(
            thinking_of("gemini-2.5-flash-low", user_text("x"), opts),
            json!({"thinkingBudget": 1024, "includeThoughts": true})
        );
    }

    #[test]
    fn levels_on_gemini_3_include_thoughts_for_every_flash_model() {
        let opts = ConvertOptions::default();
        for model in [
            "gemini-3-flash-preview-high",
            "gemini-3.1-flash-lite-high",
            "gemini-3.5-flash-high",
        ] {
            assert_eq!(
                thinking_of(model, user_text("x"), opts),
                json!({"thinkingLevel": "high", "includeThoughts": true}),
                "{model}"
            );
        }
        assert_eq!(
            thinking_of("gemini-3-pro-preview-low", user_text("x"), opts),
            json!({"thinkingLevel": "low", "includeThoughts": true})
        );
        assert_eq!(
            thinking_of("gemini-3-flash-preview", user_text("x"), opts),
            Value::Null
        );
    }

    #[test]
    fn return_thoughts_off_never_asks_for_thoughts() {
        let opts = ConvertOptions {
            return_thoughts: false,
            ..ConvertOptions::default()
        };
        assert_eq!(
            thinking_of("gemini-2.5-pro", user_text("x"), opts),
            json!({"includeThoughts": false})
        );
        assert_eq!(
            thinking_of("gemini-3-flash-preview-high", user_text("x"), opts),
            json!({"thinkingLevel": "high", "includeThoughts": false})
        );
    }

    #[test]
    fn client_thinking_is_kept_when_the_name_sets_none() {
        let request = json!({
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "generationConfig": {"thinkingConfig": {"thinkingBudget": 2048}}
        });
        assert_eq!(
            thinking_of("gemini-2.5-flash", request, ConvertOptions::default()),
            json!({"thinkingBudget": 2048, "includeThoughts": true})
        );
    }

    #[test]
    fn name_thinking_replaces_client_budget_and_level() {
        let request = json!({
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "generationConfig": {"thinkingConfig": {"thinkingBudget": 2048}}
        });
        assert_eq!(
            thinking_of(
                "gemini-3-flash-preview-low",
                request,
                ConvertOptions::default()
            ),
            json!({"thinkingLevel": "low", "includeThoughts": true})
        );
        let request = json!({
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "generationConfig": {"thinking_config": {"thinking_level": "high", "include_thoughts": true}}
        });
        let out = apply(
            "gemini-2.5-flash-nothinking",
            request,
            ConvertOptions::default(),
        );
        assert_eq!(
            out["generationConfig"],
            json!({"thinkingConfig": {"thinkingBudget": 0, "includeThoughts": false}})
        );
    }

    #[test]
    fn client_include_thoughts_with_zero_budget_is_switched_off() {
        let request = json!({
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "generationConfig": {"thinkingConfig": {"thinkingBudget": 0, "includeThoughts": true}}
        });
        assert_eq!(
            thinking_of("gemini-2.5-flash", request, ConvertOptions::default()),
            json!({"thinkingBudget": 0, "includeThoughts": false})
        );
    }

    #[test]
    fn search_suffix_adds_google_search_once() {
        let request = json!({
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "tools": [{"functionDeclarations": [{"name": "f"}]}]
        });
        let out = apply(
            "gemini-2.5-flash-search",
            request,
            ConvertOptions::default(),
        );
        assert_eq!(
            out["tools"],
            json!([{"functionDeclarations": [{"name": "f"}]}, {"googleSearch": {}}])
        );
        let again = apply("gemini-2.5-flash-search", out, ConvertOptions::default());
        assert_eq!(again["tools"].as_array().map(Vec::len), Some(2));
        let plain = apply(
            "gemini-2.5-flash",
            user_text("x"),
            ConvertOptions::default(),
        );
        assert!(plain.get("tools").is_none());
    }

    #[test]
    fn client_safety_settings_win_and_missing_categories_are_filled() {
        let request = json!({
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_LOW_AND_ABOVE"}]
        });
        let out = apply("gemini-2.5-flash", request, ConvertOptions::default());
        let settings = out["safetySettings"].as_array().unwrap();
        assert_eq!(settings.len(), 10);
        assert_eq!(
            settings[0],
            json!({"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_LOW_AND_ABOVE"})
        );
        assert_eq!(
            settings
                .iter()
                .filter(|s| s["category"] == "HARM_CATEGORY_HARASSMENT")
                .count(),
            1
        );
    }

    #[test]
    fn flash_lite_gets_text_categories_only() {
        let out = apply(
            "gemini-2.5-flash-lite",
            user_text("x"),
            ConvertOptions::default(),
        );
        assert_eq!(out["safetySettings"], text_safety_settings());
    }

    #[test]
    fn contents_cleanup_drops_empty_parts_but_keeps_whitespace() {
        let request = json!({
            "contents": [
                {"role": "user", "parts": [{"text": "keep  \n"}, {"text": ""}, {}, {"inlineData": null}]},
                {"role": "model", "parts": [{"text": "", "thought": true}]},
                {"role": "model", "parts": [{"text": "", "thoughtSignature": "sig"}]},
                {"role": "user", "parts": []},
                {"role": "user"}
            ],
            "systemInstruction": {"parts": [{"text": ""}]}
        });
        let out = apply("gemini-2.5-flash", request, ConvertOptions::default());
        assert_eq!(
            out["contents"],
            json!([
                {"role": "user", "parts": [{"text": "keep  \n"}]},
                {"role": "model", "parts": [{"text": "", "thoughtSignature": "sig"}]}
            ])
        );
        assert!(out.get("systemInstruction").is_none());
    }

    #[test]
    fn envelope_has_exactly_three_keys() {
        assert_eq!(
            wrap_envelope("gemini-2.5-pro", "proj-1", json!({"contents": []})),
            json!({"model": "gemini-2.5-pro", "project": "proj-1", "request": {"contents": []}})
        );
    }

    #[test]
    fn borrowed_envelope_serialises_like_the_owned_one() {
        let request = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
        let borrowed = EnvelopeRef {
            model: "gemini-2.5-pro",
            project: "proj-1",
            request: &request,
            enabled_credit_types: None,
        };
        assert_eq!(
            serde_json::to_string(&borrowed).unwrap(),
            wrap_envelope("gemini-2.5-pro", "proj-1", request.clone()).to_string()
        );
    }
}
