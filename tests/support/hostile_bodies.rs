//! Generators of hostile request bodies, shared by the property fuzzing (tests/fuzz.rs) and the
//! memory check through the real binary (tests/api/security/hostile_bodies_rss.rs): mostly the right
//! shape for each dialect (OpenAI chat, Gemini, Anthropic Messages, Responses), arbitrary JSON in
//! every slot, model names both plausible and not.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

pub const KEYS: &[&str] = &[
    "model",
    "messages",
    "role",
    "content",
    "type",
    "text",
    "image_url",
    "url",
    "tools",
    "tool_calls",
    "tool_call_id",
    "function",
    "name",
    "arguments",
    "parameters",
    "properties",
    "items",
    "required",
    "enum",
    "anyOf",
    "oneOf",
    "allOf",
    "$ref",
    "$defs",
    "definitions",
    "additionalProperties",
    "description",
    "format",
    "default",
    "const",
    "nullable",
    "stream",
    "stream_options",
    "include_usage",
    "temperature",
    "max_tokens",
    "response_format",
    "json_schema",
    "schema",
    "reasoning_effort",
    "stop",
    "n",
    "contents",
    "parts",
    "functionCall",
    "functionResponse",
    "inlineData",
    "mimeType",
    "data",
    "args",
    "response",
    "systemInstruction",
    "generationConfig",
    "thinkingConfig",
    "functionDeclarations",
    "candidates",
    "finishReason",
    "usageMetadata",
    "promptTokenCount",
    "candidatesTokenCount",
    "thought",
    "thoughtSignature",
    "index",
];

pub const WORDS: &[&str] = &[
    "user",
    "assistant",
    "system",
    "tool",
    "model",
    "function",
    "developer",
    "text",
    "image_url",
    "object",
    "string",
    "array",
    "integer",
    "number",
    "boolean",
    "null",
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "假流式/gemini-2.5-flash",
    "流式抗截断/gemini-2.5-pro-search",
    "gemini-2.5-flash-maxthinking",
    "gemini-3-pro-preview-nothinking",
    "data:image/png;base64,iVBORw0KGgo=",
    "#/$defs/a",
    "{\"a\":1}",
    "{not json",
    "high",
    "low",
];

pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_string),
        1 => "\\PC{0,8}",
    ]
}

pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => (-1e6f64..1e6).prop_map(|f| json!(f)),
        3 => proptest::sample::select(WORDS).prop_map(|w| json!(w)),
        2 => "\\PC{0,24}".prop_map(Value::String),
    ]
}

pub fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 96, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

pub fn model_name() -> impl Strategy<Value = String> {
    let prefix = proptest::sample::select(vec!["", "假流式/", "流式抗截断/", "x/"]);
    let base = proptest::sample::select(vec![
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gemini-3-pro-preview",
        "",
    ]);
    let suffix = proptest::sample::select(vec![
        "",
        "-search",
        "-maxthinking",
        "-nothinking",
        "-low",
        "-high",
        "-search-maxthinking",
        "-",
    ]);
    prop_oneof![
        3 => (prefix, base, suffix).prop_map(|(p, b, s)| format!("{p}{b}{s}")),
        1 => "\\PC{0,40}",
    ]
}

/// A chat body: mostly the right shape, with arbitrary values in every slot.
pub fn chat_body() -> impl Strategy<Value = Value> {
    let message = (
        proptest::sample::select(vec![
            "user",
            "assistant",
            "system",
            "tool",
            "developer",
            "x",
        ]),
        value(),
        proptest::option::of(value()),
    )
        .prop_map(|(role, content, extra)| {
            let mut m = json!({"role": role, "content": content});
            if let Some(extra) = extra {
                m["tool_calls"] = extra;
            }
            m
        });
    (
        model_name(),
        proptest::collection::vec(message, 0..6),
        proptest::option::of(value()),
        proptest::option::of(value()),
    )
        .prop_map(|(model, messages, tools, extra)| {
            let mut body = json!({"model": model, "messages": messages});
            if let Some(tools) = tools {
                body["tools"] = tools;
            }
            if let Some(extra) = extra {
                body["response_format"] = extra;
            }
            body
        })
}

pub fn gemini_body() -> impl Strategy<Value = Value> {
    let content = (
        proptest::sample::select(vec!["user", "model", "function", "system"]),
        proptest::collection::vec(value(), 0..4),
    )
        .prop_map(|(role, parts)| json!({"role": role, "parts": parts}));
    (
        proptest::collection::vec(content, 0..4),
        proptest::option::of(value()),
        proptest::option::of(value()),
    )
        .prop_map(|(contents, tools, config)| {
            let mut body = json!({"contents": contents});
            if let Some(tools) = tools {
                body["tools"] = tools;
            }
            if let Some(config) = config {
                body["generationConfig"] = config;
            }
            body
        })
}

/// An Anthropic Messages body: mostly the right shape, arbitrary values in every slot.
pub fn anthropic_body() -> impl Strategy<Value = Value> {
    let block = prop_oneof![
        "\\PC{0,24}".prop_map(|t| json!({"type": "text", "text": t})),
        value().prop_map(|s| json!({"type": "image", "source": s})),
        (value(), value()).prop_map(
            |(id, input)| json!({"type": "tool_use", "id": id, "name": "f", "input": input})
        ),
        value().prop_map(|c| json!({"type": "tool_result", "tool_use_id": "t", "content": c})),
        value(),
    ];
    let message = (
        proptest::sample::select(vec!["user", "assistant", "system", "x"]),
        prop_oneof![
            proptest::collection::vec(block, 0..4).prop_map(Value::Array),
            value()
        ],
    )
        .prop_map(|(role, content)| json!({"role": role, "content": content}));
    (
        prop_oneof![model_name(), Just("claude-opus-4-8[1m]".to_string())],
        proptest::collection::vec(message, 0..5),
        proptest::option::of(value()),
        proptest::option::of(value()),
        proptest::option::of(value()),
    )
        .prop_map(|(model, messages, tools, system, thinking)| {
            let mut body = json!({"model": model, "max_tokens": 100, "messages": messages});
            if let Some(tools) = tools {
                body["tools"] = tools;
            }
            if let Some(system) = system {
                body["system"] = system;
            }
            if let Some(thinking) = thinking {
                body["thinking"] = thinking;
            }
            body
        })
}

/// A Responses body: `input` items of every kind, tools, `text.format`.
pub fn responses_body() -> impl Strategy<Value = Value> {
    let part = prop_oneof![
        "\\PC{0,24}".prop_map(|t| json!({"type": "input_text", "text": t})),
        value().prop_map(|u| json!({"type": "input_image", "image_url": u})),
        value(),
    ];
    let item = prop_oneof![
        (
            proptest::sample::select(vec!["user", "assistant", "system", "developer", "x"]),
            proptest::collection::vec(part, 0..4)
        )
            .prop_map(|(role, content)| json!({"type": "message", "role": role, "content": content})),
        (value(), value()).prop_map(|(call, args)| json!({"type": "function_call", "call_id": call, "name": "f", "arguments": args})),
        value().prop_map(|out| json!({"type": "function_call_output", "call_id": "c", "output": out})),
        value().prop_map(|r| json!({"type": "reasoning", "encrypted_content": r})),
        value(),
    ];
    (
        model_name(),
        prop_oneof![
            proptest::collection::vec(item, 0..5).prop_map(Value::Array),
            value()
        ],
        proptest::option::of(value()),
        proptest::option::of(value()),
    )
        .prop_map(|(model, input, tools, text)| {
            let mut body = json!({"model": model, "input": input});
            if let Some(tools) = tools {
                body["tools"] = tools;
            }
            if let Some(text) = text {
                body["text"] = json!({"format": text});
            }
            body
        })
}
