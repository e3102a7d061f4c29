//! Property fuzzing on stable Rust (`proptest`): the request converters of every dialect (OpenAI chat,
//! Gemini, Anthropic Messages, Responses) with the edge's input limits, the response converters, the
//! schema cleaner, the model-name parser and check, the SSE parser and the WebSocket frame parser get
//! generated hostile input and must not panic, must keep their output bounded by their input, and
//! must only produce valid JSON.
//!
//! The normal test run does a short pass (`FUZZ_CASES`, default 64 cases per target, fresh random seeds
//! each run). `scripts/fuzz.sh N` runs every target for N minutes (`FUZZ_SECONDS`). A failure prints
//! the shrunk input.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gcli2api::convert::anthropic::body::AnthropicMessagesBody;
use gcli2api::convert::anthropic::model::{default_model_map, ModelMap};
use gcli2api::convert::anthropic::request::{anthropic_to_gemini, count_tokens_to_gemini};
use gcli2api::convert::gemini::model_name::ModelSpec;
use gcli2api::convert::gemini::model_name_check::{check_model_name, MAX_MODEL_NAME_BYTES};
use gcli2api::convert::gemini::request::{count_tokens_request, prepare_native_request};
use gcli2api::convert::gemini::schema::{clean_json_schema, to_openapi_schema, SchemaBudget};
use gcli2api::convert::input_limits::check_input_limits;
use gcli2api::convert::openai_chat::detect::{gemini_body_as_chat, is_gemini_body};
use gcli2api::convert::openai_chat::request::openai_to_gemini;
use gcli2api::convert::openai_chat::response::{
    gemini_to_openai_completion, OpenAiStreamConverter, ResponseOptions,
};
use gcli2api::convert::responses::body::ResponsesBody;
use gcli2api::convert::responses::request::responses_to_gemini;
use gcli2api::convert::ConvertOptions;
use gcli2api::upstream::sse::SseParser;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

#[path = "support/hostile_bodies.rs"]
mod hostile_bodies;
use hostile_bodies::*;

/// Output may grow with input (names, wrappers, defaults), but only by a factor and a constant.
const GROWTH: usize = 8;
const SLACK: usize = 64 * 1024;

fn fuzz<S, F>(strategy: S, check: F)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(S::Value) -> Result<(), TestCaseError>,
{
    let seconds: Option<u64> = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok());
    let cases: u32 = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if seconds.is_some() { 1000 } else { 64 });
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    loop {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        if let Err(failure) = runner.run(&strategy, &check) {
            panic!("{failure}");
        }
        match deadline {
            Some(d) if Instant::now() < d => {}
            _ => break,
        }
    }
}

fn size(value: &Value) -> usize {
    serde_json::to_string(value).map(|s| s.len()).unwrap_or(0)
}

/// Valid JSON that survives a round trip, and not larger than the bound.
fn valid_and_bounded(out: &Value, input_size: usize) -> Result<(), TestCaseError> {
    let text = serde_json::to_string(out).map_err(|e| TestCaseError::fail(e.to_string()))?;
    // Parsed back, not compared: floats may move by one unit in the last place on the way.
    let back: Value =
        serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(back.is_object(), out.is_object());
    prop_assert!(
        text.len() <= input_size * GROWTH + SLACK,
        "output {} bytes from {} bytes of input",
        text.len(),
        input_size
    );
    Ok(())
}

fn gemini_response() -> impl Strategy<Value = Value> {
    let part = prop_oneof![
        "\\PC{0,32}".prop_map(|t| json!({"text": t})),
        ("\\PC{0,16}", value()).prop_map(|(t, v)| json!({"text": t, "thought": v})),
        ("\\PC{0,12}", value()).prop_map(|(n, a)| json!({"functionCall": {"name": n, "args": a}})),
        value(),
    ];
    let candidate = (
        proptest::collection::vec(part, 0..4),
        proptest::option::of(leaf()),
    )
        .prop_map(|(parts, reason)| {
            let mut c = json!({"content": {"role": "model", "parts": parts}});
            if let Some(reason) = reason {
                c["finishReason"] = reason;
            }
            c
        });
    (
        proptest::collection::vec(candidate, 0..3),
        proptest::option::of(value()),
        any::<bool>(),
    )
        .prop_map(|(candidates, usage, wrapped)| {
            let mut r = json!({"candidates": candidates});
            if let Some(usage) = usage {
                r["usageMetadata"] = usage;
            }
            if wrapped {
                json!({"response": r})
            } else {
                r
            }
        })
}

#[test]
fn openai_request_converter() {
    let opts = ConvertOptions::default();
    fuzz(prop_oneof![chat_body(), value()], |body| {
        let input = size(&body);
        if let Ok(chat) = openai_to_gemini(&body, &HashMap::new(), &opts) {
            valid_and_bounded(&chat.gemini, input)?;
        }
        if is_gemini_body(&body) {
            if let Ok(chat) = gemini_body_as_chat(&body, &opts) {
                valid_and_bounded(&chat.gemini, input)?;
            }
        }
        Ok(())
    });
}

#[test]
fn gemini_request_converter() {
    let opts = ConvertOptions::default();
    fuzz(
        (prop_oneof![gemini_body(), value()], model_name()),
        |(body, model)| {
            let input = size(&body) + model.len();
            if let Ok(spec) = ModelSpec::parse(&model) {
                if let Ok(request) = prepare_native_request(body.clone(), &spec, &opts) {
                    valid_and_bounded(&request, input)?;
                }
                if let Ok(request) = count_tokens_request(&body, &spec.base) {
                    valid_and_bounded(&request, input)?;
                }
            }
            Ok(())
        },
    );
}

#[test]
fn response_converter() {
    let opts = ResponseOptions {
        return_thoughts: true,
    };
    fuzz(
        (
            proptest::collection::vec(prop_oneof![gemini_response(), value()], 1..5),
            model_name(),
        ),
        |(events, model)| {
            let input: usize = events.iter().map(size).sum::<usize>() + model.len();
            for event in &events {
                valid_and_bounded(&gemini_to_openai_completion(event, &model, &opts), input)?;
            }
            let mut stream = OpenAiStreamConverter::new(&model, opts, true);
            let mut out = Vec::new();
            for event in &events {
                out.extend(stream.on_event(event));
            }
            out.extend(stream.finish());
            valid_and_bounded(&Value::Array(out), input * (events.len() + 1))?;
            Ok(())
        },
    );
}

#[test]
fn schema_cleaner() {
    fuzz(value(), |schema| {
        let input = size(&schema);
        // A schema past the budget is refused (a 400); whatever is accepted is bounded.
        if let Ok(cleaned) = clean_json_schema(&schema, &mut SchemaBudget::default()) {
            valid_and_bounded(&cleaned, input)?;
        }
        if let Ok(cleaned) = to_openapi_schema(&schema, &mut SchemaBudget::default()) {
            valid_and_bounded(&cleaned, input)?;
        }
        Ok(())
    });
}

#[test]
fn model_name_parser() {
    fuzz(model_name(), |name| {
        if let Ok(spec) = ModelSpec::parse(&name) {
            prop_assert!(!spec.base.is_empty(), "{name:?} parsed to an empty base");
            prop_assert!(spec.base.len() <= name.len() + 64);
            prop_assert!(spec.display.len() <= name.len() + 64);
        }
        Ok(())
    });
}

#[test]
fn anthropic_request_converter() {
    let opts = ConvertOptions::default();
    let models = ModelMap::parse(&default_model_map());
    fuzz(prop_oneof![anthropic_body(), value()], |body| {
        let input = size(&body);
        let _ = check_input_limits(&body);
        let Ok(body) = AnthropicMessagesBody::from_value(body) else {
            return Ok(());
        };
        if let Ok(converted) = anthropic_to_gemini(&body, &HashMap::new(), &opts, &models) {
            valid_and_bounded(&converted.gemini, input)?;
            prop_assert!(converted.client_model.len() <= MAX_MODEL_NAME_BYTES);
        }
        if let Ok((_, request)) = count_tokens_to_gemini(&body, &HashMap::new(), &opts, &models) {
            valid_and_bounded(&request, input)?;
        }
        Ok(())
    });
}

#[test]
fn responses_request_converter() {
    let opts = ConvertOptions::default();
    fuzz(
        (
            prop_oneof![responses_body(), value()],
            proptest::collection::vec(value(), 0..3),
        ),
        |(body, history)| {
            let input = size(&body) + history.iter().map(size).sum::<usize>();
            let _ = check_input_limits(&body);
            let Ok(body) = ResponsesBody::from_value(body) else {
                return Ok(());
            };
            if let Ok(request) = responses_to_gemini(&body, &history, &HashMap::new(), &opts) {
                valid_and_bounded(&request.gemini, input)?;
            }
            Ok(())
        },
    );
}

#[test]
fn model_name_check() {
    fuzz(
        prop_oneof![model_name(), "\\PC{0,200}", "[ -~]{0,140}"],
        |name| {
            if check_model_name(&name, false).is_ok() {
                prop_assert!(name.len() <= MAX_MODEL_NAME_BYTES);
                prop_assert!(!name.chars().any(|c| c.is_control() || c.is_whitespace()));
                prop_assert!(!name.contains(['%', '?', '#']));
            }
            Ok(())
        },
    );
}

/// A WebSocket frame as a client sends it (masked), with any opcode, flags and length field, cut
/// or padded anywhere: the frame parser behind the live-log socket must refuse or bound it.
fn ws_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..10),
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(first, second, extended, payload)| {
            let mut frame = vec![first, second];
            frame.extend(extended);
            frame.extend(payload);
            frame
        })
}

#[test]
fn websocket_frames() {
    use actix_http::ws::Parser;
    use bytes::BytesMut;
    let max = 1024;
    fuzz(proptest::collection::vec(ws_frame(), 1..6), |frames| {
        let mut buffer = BytesMut::new();
        for frame in &frames {
            buffer.extend_from_slice(frame);
            while let Ok(Some((_, _, payload))) = Parser::parse(&mut buffer, true, max) {
                prop_assert!(payload.map_or(0, |p| p.len()) <= max);
            }
        }
        Ok(())
    });
}

#[test]
fn sse_parser() {
    let limit = 4096;
    let chunk = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        "(data: \\PC{0,40}|event: \\PC{0,8}|: ping|data:|\r|\n|\r\n){1,6}"
            .prop_map(String::into_bytes),
    ];
    fuzz(proptest::collection::vec(chunk, 0..24), |chunks| {
        let mut parser = SseParser::with_limit(limit);
        let mut events = Vec::new();
        for chunk in &chunks {
            match parser.push(chunk) {
                Ok(more) => events.extend(more),
                Err(_) => break,
            }
        }
        events.extend(parser.finish());
        let input: usize = chunks.iter().map(Vec::len).sum();
        for event in &events {
            prop_assert!(event.data.len() <= limit.max(input));
            prop_assert!(event.event.as_ref().map_or(0, String::len) <= limit);
        }
        Ok(())
    });
}
