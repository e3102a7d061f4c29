//! Tool-call arguments replayed from conversation history, read leniently.
//!
//! Some clients once merged two parallel tool calls under one index and now send their arguments back
//! as `{"city": "Beijing"}{"city": "Shanghai"}`. That turn stays in the history of every later
//! request, so refusing it would kill the whole conversation. For *history* the rule is: take the first
//! complete JSON object in the text, else send `{}`, and keep the `functionCall` so its
//! `functionResponse` is never orphaned.
//!
//! What counts as history (the same rule for every client dialect): a message or input item that is
//! followed by another one in the same request. The client is replaying what it received earlier and
//! usually cannot repair it. The *last* message or input item is new content the client just wrote;
//! malformed arguments there are still answered with 400 so the client can fix them.

use serde_json::{Map, Value};

/// How history arguments had to be repaired (for the warning the caller logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// The text held more than one value or trailing garbage; the first object was kept.
    FirstObject,
    /// No complete JSON object could be found; `{}` is sent instead.
    Empty,
}

/// Arguments as the object Gemini's `functionCall.args` wants, and whether they were repaired.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryArguments {
    pub args: Value,
    pub repair: Option<Repair>,
}

/// Reads a history tool call's arguments: a JSON object as is, a JSON string holding one object
/// (OpenAI, Responses), otherwise the first complete object found in the text, otherwise `{}`.
/// Missing, null or blank arguments are an empty object and need no repair.
pub fn history_arguments(arguments: Option<&Value>) -> HistoryArguments {
    let intact = |args: Value| HistoryArguments { args, repair: None };
    match arguments {
        None | Some(Value::Null) => intact(Value::Object(Map::new())),
        Some(Value::Object(map)) => intact(Value::Object(map.clone())),
        Some(Value::String(text)) if text.trim().is_empty() => intact(Value::Object(Map::new())),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(parsed @ Value::Object(_)) => intact(parsed),
            _ => repaired(first_json_object(text)),
        },
        Some(_) => repaired(None),
    }
}

fn repaired(found: Option<Map<String, Value>>) -> HistoryArguments {
    match found {
        Some(object) => HistoryArguments {
            args: Value::Object(object),
            repair: Some(Repair::FirstObject),
        },
        None => HistoryArguments {
            args: Value::Object(Map::new()),
            repair: Some(Repair::Empty),
        },
    }
}

/// The first complete JSON object in `text`: parsing starts at the first `{` and stops after the
/// value it opens, so whatever follows (a second object, a comma, garbage) is ignored. A JSON string
/// that itself holds an object (double-encoded arguments) is unwrapped once. Linear in the text.
pub fn first_json_object(text: &str) -> Option<Map<String, Value>> {
    if let Ok(Value::String(inner)) = serde_json::from_str::<Value>(text) {
        return object_at_first_brace(&inner);
    }
    object_at_first_brace(text)
}

fn object_at_first_brace(text: &str) -> Option<Map<String, Value>> {
    let start = text.find('{')?;
    let rest = text.get(start..)?;
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
    match values.next() {
        Some(Ok(Value::Object(object))) => Some(object),
        _ => None,
    }
}

/// Logs the repair of one history tool call. `call` names it (`tool call "call_1" (get_weather)`),
/// `field` is its JSON path in the client request. The arguments themselves are not logged: they are
/// user data.
pub fn warn_repaired(repair: Repair, call: &str, field: &str) {
    match repair {
        Repair::FirstObject => log::warn!(
            "{call} at {field} in the conversation history has arguments that are not one JSON \
             object; sending the first complete object"
        ),
        Repair::Empty => log::warn!(
            "{call} at {field} in the conversation history has arguments with no complete JSON \
             object; sending {{}}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first(text: &str) -> Option<Value> {
        first_json_object(text).map(Value::Object)
    }

    #[test]
    fn two_concatenated_objects_keep_the_first() {
        assert_eq!(
            first(r#"{"city": "Beijing"}{"city": "Shanghai"}"#),
            Some(json!({"city": "Beijing"}))
        );
        assert_eq!(
            first(r#"{"a": {"b": "}{"}}, {"c": 1}"#),
            Some(json!({"a": {"b": "}{"}}))
        );
    }

    #[test]
    fn leading_and_trailing_garbage_is_ignored() {
        assert_eq!(
            first(r#"Arguments: {"q": "x"} (end"#),
            Some(json!({"q": "x"}))
        );
        assert_eq!(first(r#"[{"q": 1}, {"q": 2}]"#), Some(json!({"q": 1})));
    }

    #[test]
    fn double_encoded_objects_are_unwrapped_once() {
        assert_eq!(first(r#""{\"q\": 1}""#), Some(json!({"q": 1})));
    }

    #[test]
    fn no_complete_object_is_none() {
        assert_eq!(first(r#"{"city": "Bei"#), None);
        assert_eq!(first("not json at all"), None);
        assert_eq!(first(""), None);
        assert_eq!(first("}{"), None);
    }

    #[test]
    fn history_arguments_repair_only_when_needed() {
        let read = |v: Value| history_arguments(Some(&v));
        assert_eq!(read(json!("{\"a\":1}")).args, json!({"a": 1}));
        assert_eq!(read(json!("{\"a\":1}")).repair, None);
        assert_eq!(read(json!({"a": 1})).repair, None);
        assert_eq!(read(json!("  ")).args, json!({}));
        assert_eq!(read(json!("  ")).repair, None);
        assert_eq!(history_arguments(None).args, json!({}));

        let merged = read(json!(r#"{"city": "Beijing"}{"city": "Shanghai"}"#));
        assert_eq!(merged.args, json!({"city": "Beijing"}));
        assert_eq!(merged.repair, Some(Repair::FirstObject));

        for broken in [
            json!("{oops"),
            json!("[1, 2]"),
            json!(42),
            json!([{"a": 1}]),
        ] {
            let out = read(broken.clone());
            assert_eq!(out.args, json!({}), "{broken}");
            assert_eq!(out.repair, Some(Repair::Empty), "{broken}");
        }
        // A JSON array text holding an object: its first object is taken.
        let out = read(json!(r#"[{"a": 1}]"#));
        assert_eq!(out.args, json!({"a": 1}));
    }
}
