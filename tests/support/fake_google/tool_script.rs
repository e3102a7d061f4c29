//! Tool scripts: a tiny agent loop, so real agent clients (Codex, Claude Code) can be driven end to end.
//!
//! A script names a function and the arguments to call it with. For a generate / stream call that
//! declares that function:
//! - when the conversation's last turn holds no `functionResponse`, the answer is a `functionCall` of
//!   the function with the scripted arguments, carrying the thought signature [`SCRIPT_SIGNATURE`];
//! - when the last turn holds its `functionResponse`, the answer is text quoting the tool's output
//!   (`The <name> tool returned: …`), so a test can see that the client really ran the tool. If the
//!   replayed `functionCall` lost its thought signature the call is refused with 400, as Gemini 3 does.
//!
//! Scripts are consulted before the reply queues; requests that declare none of the functions fall
//! through to the usual replies.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::reply::{google_error_body, Reply};
use super::state::Shared;

/// The thought signature put on scripted calls and required on their replay.
pub const SCRIPT_SIGNATURE: &str = "c2NyaXB0ZWQtc2lnbmF0dXJl";

/// Call `function` with `args` when it is declared.
#[derive(Clone, Debug)]
pub struct ToolScript {
    pub function: String,
    pub args: Value,
}

/// Parses `NAME=JSON` (the example server's `--tool-call` option).
pub fn parse_tool_script(text: &str) -> Option<ToolScript> {
    let (function, args) = text.split_once('=')?;
    let args: Value = serde_json::from_str(args).ok()?;
    (!function.is_empty() && args.is_object()).then(|| ToolScript {
        function: function.to_owned(),
        args,
    })
}

fn declared_functions(request: &Value) -> Vec<&str> {
    let tools = request.get("tools").and_then(Value::as_array);
    tools
        .into_iter()
        .flatten()
        .filter_map(|tool| tool.get("functionDeclarations").and_then(Value::as_array))
        .flatten()
        .filter_map(|declaration| declaration.get("name").and_then(Value::as_str))
        .collect()
}

/// The scripted answer for a Code Assist envelope, if a script applies.
pub(crate) fn scripted_reply(scripts: &[ToolScript], envelope: &Value) -> Option<Reply> {
    let request = envelope.get("request")?;
    let declared = declared_functions(request);
    let script = scripts
        .iter()
        .find(|script| declared.contains(&script.function.as_str()))?;
    let contents = request.get("contents").and_then(Value::as_array)?;
    let last_parts = contents
        .last()
        .and_then(|turn| turn.get("parts"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let result = last_parts.iter().find_map(|part| {
        part.get("functionResponse")
            .filter(|r| r.get("name").and_then(Value::as_str) == Some(&script.function))
    });
    let Some(result) = result else {
        return Some(Reply::function_call(
            &script.function,
            script.args.clone(),
            Some(SCRIPT_SIGNATURE),
        ));
    };
    let signed = contents.iter().rev().skip(1).any(|turn| {
        turn.get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|part| {
                part.pointer("/functionCall/name").and_then(Value::as_str) == Some(&script.function)
                    && part.get("thoughtSignature").and_then(Value::as_str)
                        == Some(SCRIPT_SIGNATURE)
            })
    });
    if !signed {
        return Some(Reply::error(
            400,
            google_error_body(
                400,
                "INVALID_ARGUMENT",
                "Function call is missing a thought_signature in functionCall parts.",
            ),
        ));
    }
    let response = result.get("response").cloned().unwrap_or(Value::Null);
    let output = ["result", "output", "content"]
        .iter()
        .find_map(|key| response.get(*key).and_then(Value::as_str))
        .map_or_else(|| response.to_string(), str::to_owned);
    Some(Reply::text(format!(
        "The {} tool returned: {}",
        script.function,
        output.trim()
    )))
}

#[derive(Deserialize)]
struct ScriptsBody {
    scripts: Vec<ScriptSpec>,
}

#[derive(Deserialize)]
struct ScriptSpec {
    function: String,
    args: serde_json::Map<String, Value>,
}

/// `POST /__fake/tool-scripts`: replaces the scripts.
pub(crate) async fn set_tool_scripts(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let parsed: ScriptsBody = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(error) => {
            return HttpResponse::BadRequest()
                .json(json!({"error": format!("invalid control body: {error}")}))
        }
    };
    let scripts: Vec<ToolScript> = parsed
        .scripts
        .into_iter()
        .map(|spec| ToolScript {
            function: spec.function,
            args: Value::Object(spec.args),
        })
        .collect();
    let count = scripts.len();
    shared.lock().tool_scripts = scripts;
    HttpResponse::Ok().json(json!({"scripts": count}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_and_json_arguments() {
        let script = parse_tool_script(r#"exec_command={"cmd":"echo hi"}"#).unwrap();
        assert_eq!(script.function, "exec_command");
        assert_eq!(script.args, json!({"cmd": "echo hi"}));
        assert!(parse_tool_script("exec_command").is_none());
        assert!(parse_tool_script("f=[1]").is_none());
    }
}
