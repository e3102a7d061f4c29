use super::*;
use crate::convert::anthropic::model::default_model_map;
use crate::convert::anthropic::signature::{encode_part, encode_thought};
use crate::convert::gemini::features::default_safety_settings;
use crate::convert::gemini::model_name::StreamMode;
use crate::convert::gemini::turns::SKIP_SIGNATURE_SENTINEL;

fn models() -> ModelMap {
    ModelMap::parse(&default_model_map())
}

fn convert_with(body: Value, opts: ConvertOptions) -> Result<MessagesRequest, ConvertError> {
    let body = AnthropicMessagesBody::from_value(body)?;
    anthropic_to_gemini(&body, &HashMap::new(), &opts, &models())
}

fn convert(body: Value) -> MessagesRequest {
    convert_with(body, ConvertOptions::default()).unwrap()
}

fn without_safety(mut gemini: Value) -> Value {
    let safety = gemini
        .as_object_mut()
        .unwrap()
        .remove("safetySettings")
        .unwrap();
    assert_eq!(safety, default_safety_settings());
    gemini
}

#[test]
fn minimal_claude_request_golden() {
    let out = convert(json!({
        "model": "claude-opus-4-8[1m]", "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Hello"}],
        "metadata": {"user_id": "u"}, "service_tier": "auto"
    }));
    assert_eq!(out.spec.base, "gemini-2.5-pro");
    assert_eq!(out.spec.requested, "gemini-2.5-pro");
    assert_eq!(out.client_model, "claude-opus-4-8[1m]");
    assert!(!out.stream);
    assert!(out.show_thinking);
    assert_eq!(
        without_safety(out.gemini),
        json!({
            "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
            "generationConfig": {"maxOutputTokens": 1024, "thinkingConfig": {"includeThoughts": true}}
        })
    );
}

#[test]
fn claude_code_shape_is_understood() {
    let out = convert(json!({
        "model": "claude-sonnet-4-5", "max_tokens": 128000, "stream": true,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332; cc_entrypoint=sdk-cli;"},
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "<system-reminder>r</system-reminder>"}, {"type": "text", "text": "say hi"}]},
            {"role": "system", "content": [{"type": "text", "text": "# Environment", "cache_control": {"type": "ephemeral"}}]}
        ],
        "tools": [{"name": "Read", "description": "Reads a file", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}},
                  {"name": "Hidden", "input_schema": {"type": "object"}, "defer_loading": true}],
        "thinking": {"type": "adaptive", "display": "omitted"},
        "output_config": {"effort": "medium"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": "{\"session_id\":\"s\"}"}
    }));
    assert!(out.stream);
    assert!(!out.show_thinking);
    let gemini = without_safety(out.gemini);
    // The system message after the first turn stays at its place, as a note in a user turn.
    assert_eq!(
        gemini["systemInstruction"],
        json!({"parts": [{"text": "You are Claude Code."}]})
    );
    assert_eq!(
        gemini["contents"],
        json!([{"role": "user", "parts": [
            {"text": "<system-reminder>r</system-reminder>"}, {"text": "say hi"},
            {"text": "<system>\n# Environment\n</system>"}
        ]}])
    );
    assert_eq!(
        gemini["generationConfig"],
        json!({"maxOutputTokens": 128000, "thinkingConfig": {"thinkingBudget": 8192, "includeThoughts": false}})
    );
    assert_eq!(
        gemini["tools"][0]["functionDeclarations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn tool_round_trip_history_puts_every_signature_back() {
    let out = convert(json!({
        "model": "gemini-3-pro-preview", "max_tokens": 100,
        "tools": [{"name": "get weather", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "plan", "signature": encode_thought("VEg=")},
                {"type": "text", "text": "Checking."},
                {"type": "thinking", "thinking": "", "signature": encode_part("VFg=")},
                {"type": "thinking", "thinking": "from claude", "signature": "ErUBCkYIBxgC"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy"},
                {"type": "tool_use", "id": "toolu_1__sig__Q0E=", "name": "get weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get weather", "input": "{\"city\": \"Rome\"} trailing"}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1__sig__Q0E=", "content": "21C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true,
                 "content": [{"type": "text", "text": "no data"},
                             {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}]},
                {"type": "text", "text": "and?"}
            ]}
        ]
    }));
    assert_eq!(
        out.gemini["contents"],
        json!([
            {"role": "user", "parts": [{"text": "weather?"}]},
            {"role": "model", "parts": [
                {"text": "plan", "thought": true, "thoughtSignature": "VEg="},
                {"text": "Checking.", "thoughtSignature": "VFg="},
                {"functionCall": {"id": "toolu_1", "name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "Q0E="},
                {"functionCall": {"id": "toolu_2", "name": "get_weather", "args": {"city": "Rome"}}, "thoughtSignature": SKIP_SIGNATURE_SENTINEL}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"id": "toolu_1", "name": "get_weather", "response": {"result": "21C"}}},
                {"functionResponse": {"id": "toolu_2", "name": "get_weather", "response": {"error": "no data"}}},
                {"inlineData": {"mimeType": "image/png", "data": "iVBO"}},
                {"text": "and?"}
            ]}
        ])
    );
    assert_eq!(
        out.tool_names.get("get_weather").map(String::as_str),
        Some("get weather")
    );
}

#[test]
fn no_sentinel_before_gemini_3_and_a_lone_part_signature_keeps_its_own_part() {
    let out = convert(json!({
        "model": "claude-haiku-4-5", "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "t1", "name": "f", "input": {}},
                {"type": "thinking", "thinking": "", "signature": encode_part("UA==")}
            ]}
        ]
    }));
    assert_eq!(out.spec.base, "gemini-2.5-flash");
    assert_eq!(
        out.gemini["contents"][1],
        json!({"role": "model", "parts": [
            {"functionCall": {"id": "t1", "name": "f", "args": {}}},
            {"text": "", "thoughtSignature": "UA=="}
        ]})
    );
}

#[test]
fn thinking_settings_map_to_budgets_and_levels() {
    let config = |model: &str, extra: Value| {
        let mut body = json!({"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        convert(body).gemini["generationConfig"]["thinkingConfig"].clone()
    };
    assert_eq!(
        config(
            "gemini-2.5-flash",
            json!({"thinking": {"type": "enabled", "budget_tokens": 50000}})
        ),
        json!({"thinkingBudget": 24576, "includeThoughts": true})
    );
    assert_eq!(
        config(
            "claude-opus-4",
            json!({"thinking": {"type": "enabled", "budget_tokens": 10}})
        ),
        json!({"thinkingBudget": 128, "includeThoughts": true})
    );
    assert_eq!(
        config(
            "gemini-2.5-flash",
            json!({"thinking": {"type": "disabled"}})
        ),
        json!({"thinkingBudget": 0, "includeThoughts": false})
    );
    assert_eq!(
        config(
            "gemini-3-flash-preview",
            json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}})
        ),
        json!({"thinkingLevel": "low", "includeThoughts": true})
    );
    assert_eq!(
        config(
            "gemini-3-pro-preview",
            json!({"output_config": {"effort": "max"}})
        ),
        json!({"thinkingLevel": "high", "includeThoughts": true})
    );
    // Every effort Claude Code sends with adaptive thinking.
    let adaptive = |model: &str, effort: &str| {
        config(
            model,
            json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": effort}}),
        )
    };
    let budgets: Vec<Value> = ["low", "medium", "high", "xhigh", "max"]
        .iter()
        .map(|e| adaptive("claude-opus-4-8", e)["thinkingBudget"].clone())
        .collect();
    assert_eq!(
        budgets,
        [
            json!(1024),
            json!(8192),
            json!(24576),
            json!(32768),
            json!(32768)
        ]
    );
    assert_eq!(
        adaptive("gemini-3-flash-preview", "xhigh"),
        json!({"thinkingLevel": "high", "includeThoughts": true})
    );
    assert_eq!(
        adaptive("gemini-3-flash-preview", "medium"),
        json!({"thinkingLevel": "medium", "includeThoughts": true})
    );
    // Adaptive without an effort leaves the budget to Gemini.
    assert_eq!(
        config("claude-opus-4-8", json!({"thinking": {"type": "adaptive"}})),
        json!({"includeThoughts": true})
    );
    // The model name's suffix wins over the body.
    assert_eq!(
        config(
            "gemini-2.5-flash-low",
            json!({"thinking": {"type": "enabled", "budget_tokens": 9000}})
        ),
        json!({"thinkingBudget": 1024, "includeThoughts": true})
    );
}

#[test]
fn system_messages_before_the_first_turn_are_the_prompt_and_later_ones_stay_in_order() {
    let out = convert(json!({
        "model": "gemini-2.5-flash", "max_tokens": 10,
        "messages": [
            {"role": "system", "content": "lead"},
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}]},
            {"role": "system", "content": "between"},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "file"},
                                         {"type": "text", "text": "two"}]},
            {"role": "assistant", "content": "ok"},
            {"role": "system", "content": [{"type": "text", "text": "last"}]}
        ]
    }));
    let gemini = out.gemini;
    assert_eq!(
        gemini["systemInstruction"],
        json!({"parts": [{"text": "lead"}]})
    );
    assert_eq!(
        gemini["contents"],
        json!([
            {"role": "user", "parts": [{"text": "one"}]},
            {"role": "model", "parts": [{"functionCall": {"id": "t1", "name": "Read", "args": {}}}]},
            {"role": "user", "parts": [
                {"functionResponse": {"id": "t1", "name": "Read", "response": {"result": "file"}}},
                {"text": "<system>\nbetween\n</system>"},
                {"text": "two"}
            ]},
            {"role": "model", "parts": [{"text": "ok"}]},
            {"role": "user", "parts": [{"text": "<system>\nlast\n</system>"}]}
        ])
    );
}

#[test]
fn compaction_summaries_and_tool_references_reach_gemini_as_text() {
    let out = convert(json!({
        "model": "gemini-2.5-flash", "max_tokens": 10,
        "tools": [{"name": "Grep", "input_schema": {"type": "object"}, "defer_loading": true},
                  {"name": "ToolSearch", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "assistant", "content": [
                {"type": "compaction", "content": "We renamed parse() to read()."},
                {"type": "text", "text": "Continuing."},
                {"type": "tool_use", "id": "s1", "name": "ToolSearch", "input": {"query": "grep"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "s1", "content": [{"type": "tool_reference", "tool_name": "Grep"}]}
            ]},
            {"role": "assistant", "content": [{"type": "compaction", "content": null},
                                              {"type": "mcp_tool_use", "id": "m", "name": "x", "server_name": "s", "input": {}},
                                              {"type": "text", "text": "Found it."}]},
            {"role": "user", "content": "next"}
        ]
    }));
    let gemini = out.gemini;
    assert_eq!(
        gemini["contents"],
        json!([
            {"role": "user", "parts": [{"text": "<conversation_summary>\nWe renamed parse() to read().\n</conversation_summary>"}]},
            {"role": "model", "parts": [{"text": "Continuing."},
                {"functionCall": {"id": "s1", "name": "ToolSearch", "args": {"query": "grep"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"id": "s1", "name": "ToolSearch",
                "response": {"result": "Tool Grep is now available."}}}]},
            {"role": "model", "parts": [{"text": "Found it."}]},
            {"role": "user", "parts": [{"text": "next"}]}
        ])
    );
    // The deferred tool named by the reference is declared.
    let declared: Vec<&str> = gemini["tools"][0]["functionDeclarations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(declared, ["Grep", "ToolSearch"]);
}

#[test]
fn fallbacks_default_is_accepted_and_other_values_are_named() {
    let body = |fallbacks: Value| {
        json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "fallbacks": fallbacks,
               "messages": [{"role": "user", "content": "x"}]})
    };
    assert!(convert(body(json!("default"))).fallbacks);
    assert!(!convert(body(Value::Null)).fallbacks);
    let err =
        convert_with(body(json!(["gemini-2.5-flash"])), ConvertOptions::default()).unwrap_err();
    assert_eq!(err.field(), "fallbacks");
}

#[test]
fn sampling_parameters_and_stop_sequences() {
    let out = convert(json!({
        "model": "假流式/claude-haiku-4-5", "max_tokens": 5, "temperature": 0.3, "top_p": 0.9, "top_k": 20,
        "stop_sequences": ["END", "###"], "messages": [{"role": "user", "content": "x"}]
    }));
    assert_eq!(out.spec.mode, StreamMode::Fake);
    assert_eq!(out.stop_sequences, vec!["END".to_owned(), "###".to_owned()]);
    assert_eq!(
        out.gemini["generationConfig"],
        json!({"maxOutputTokens": 5, "temperature": 0.3, "topP": 0.9, "topK": 20})
    );
}

#[test]
fn compatibility_mode_sends_the_system_prompt_as_user_text() {
    let out = convert_with(
        json!({"model": "gemini-2.5-flash", "max_tokens": 5, "system": "rules",
               "messages": [{"role": "user", "content": "hi"}]}),
        ConvertOptions {
            compatibility_mode: true,
            return_thoughts: true,
        },
    )
    .unwrap();
    assert_eq!(out.gemini.get("systemInstruction"), None);
    assert_eq!(
        out.gemini["contents"],
        json!([{"role": "user", "parts": [{"text": "rules"}]}, {"role": "user", "parts": [{"text": "hi"}]}])
    );
}

#[test]
fn count_tokens_counts_system_and_tools_as_a_leading_turn() {
    let body = json!({
        "model": "claude-sonnet-4-5", "system": "sys",
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "hi"}]
    });
    let (spec, request) = count_tokens_to_gemini(
        &AnthropicMessagesBody::from_value(body).unwrap(),
        &HashMap::new(),
        &ConvertOptions::default(),
        &models(),
    )
    .unwrap();
    assert_eq!(spec.base, "gemini-2.5-pro");
    assert_eq!(
        request,
        json!({"request": {"model": "models/gemini-2.5-pro", "contents": [
            {"role": "user", "parts": [{"text": "sys"}, {"text": "[{\"functionDeclarations\":[{\"name\":\"f\",\"description\":\"\",\"parametersJsonSchema\":{\"type\":\"object\"}}]}]"}]},
            {"role": "user", "parts": [{"text": "hi"}]}
        ]}})
    );
}

/// A valid body with `key` set to `value`.
fn with(key: &str, value: Value) -> Value {
    let mut body = json!({"model": "claude-opus-4", "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}]});
    body[key] = value;
    body
}

#[test]
fn validation_errors_name_the_field() {
    let user = json!([{"role": "user", "content": "x"}]);
    let cases = [
        (json!([]), "body"),
        (json!({"max_tokens": 1, "messages": user.clone()}), "model"),
        (
            json!({"model": "m", "messages": user.clone()}),
            "max_tokens",
        ),
        (with("max_tokens", json!(0)), "max_tokens"),
        (with("messages", json!([])), "messages"),
        (with("messages", json!("hi")), "messages"),
        (
            with("messages", json!([{"role": "robot", "content": "x"}])),
            "messages.0.role",
        ),
        (
            with("messages", json!([{"role": "user"}])),
            "messages.0.content",
        ),
        (
            with(
                "messages",
                json!([{"role": "user", "content": [{"type": "video"}]}]),
            ),
            "messages.0.content.0.type",
        ),
        (
            with(
                "messages",
                json!([{"role": "user", "content": [{"text": "x"}]}]),
            ),
            "messages.0.content.0.type",
        ),
        (
            with(
                "messages",
                json!([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "nope", "content": "r"}]}]),
            ),
            "messages.0.content.0.tool_use_id",
        ),
        (
            with(
                "messages",
                json!([{"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": {}}]}]),
            ),
            "messages.0.content.0.id",
        ),
        (
            with("messages", json!([{"role": "user", "content": ""}])),
            "messages",
        ),
        (
            with(
                "messages",
                json!([{"role": "user", "content": "x"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "{\"cut"}]}]),
            ),
            "messages.1.content.0.input",
        ),
        (with("temperature", json!(1.5)), "temperature"),
        (with("top_p", json!("x")), "top_p"),
        (with("top_k", json!(-1)), "top_k"),
        (with("stream", json!("yes")), "stream"),
        (with("stop_sequences", json!("END")), "stop_sequences"),
        (with("stop_sequences", json!([""])), "stop_sequences.0"),
        (with("system", json!(5)), "system"),
        (
            with("thinking", json!({"type": "enabled"})),
            "thinking.budget_tokens",
        ),
        (
            with("thinking", json!({"type": "sometimes"})),
            "thinking.type",
        ),
        (
            with("thinking", json!({"type": "adaptive", "display": "loud"})),
            "thinking.display",
        ),
        (
            with("output_config", json!({"effort": "huge"})),
            "output_config.effort",
        ),
        (with("tool_choice", json!("auto")), "tool_choice"),
        (
            with("tools", json!([{"name": "f"}])),
            "tools.0.input_schema",
        ),
    ];
    for (body, field) in cases {
        let err = convert_with(body.clone(), ConvertOptions::default()).unwrap_err();
        assert_eq!(err.field(), field, "{body}");
        assert!(err.to_string().starts_with(&format!("{field}: ")), "{err}");
    }
}

#[test]
fn unknown_top_level_keys_change_nothing() {
    let plain = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 100, "system": "sys",
        "messages": [{"role": "user", "content": "hi"}]
    });
    let mut decorated = plain.clone();
    for (key, value) in [
        ("service_tier", json!("auto")),
        ("context_management", json!({"edits": []})),
        ("container", Value::Null),
        ("mcp_servers", json!([{"type": "url"}])),
        ("metadata", json!({"user_id": "u"})),
    ] {
        decorated[key] = value;
    }
    assert_eq!(convert(decorated), convert(plain));
}

#[test]
fn wrong_typed_fields_are_refused_in_the_messages_api_words() {
    let cases = [
        (json!("body"), "body: must be a JSON object"),
        (with("model", json!(3)), "model: must be a string"),
        (with("model", Value::Null), "model: Field required"),
        (with("stream", json!("yes")), "stream: must be a boolean"),
        (
            with("max_tokens", json!("10")),
            "max_tokens: must be a positive integer",
        ),
        (
            with("max_tokens", Value::Null),
            "max_tokens: Field required",
        ),
        (with("messages", json!({})), "messages: must be an array"),
        (
            with("system", json!(5)),
            "system: must be a string or an array of text blocks",
        ),
        (
            with("temperature", json!("hot")),
            "temperature: must be a number between 0 and 1",
        ),
        (
            with("top_p", json!(true)),
            "top_p: must be a number between 0 and 1",
        ),
        (
            with("top_k", json!(1.5)),
            "top_k: must be a non-negative integer",
        ),
        (
            with("stop_sequences", json!("END")),
            "stop_sequences: must be an array of strings",
        ),
        (
            with("fallbacks", json!(true)),
            "fallbacks: must be \"default\" (or left out)",
        ),
        (with("thinking", json!("on")), "thinking: must be an object"),
        (
            with("output_config", json!({"effort": 1})),
            "output_config.effort: must be a string",
        ),
        (with("tools", json!({})), "tools: must be an array"),
        (
            with("tool_choice", json!("auto")),
            "tool_choice: must be an object",
        ),
    ];
    for (body, message) in cases {
        let err = convert_with(body.clone(), ConvertOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), message, "{body}");
    }
}
