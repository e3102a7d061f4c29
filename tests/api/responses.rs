//! OpenAI Responses API (`/v1/responses`) through the real gateway and the fake Google.

use serde_json::{json, Value};

use crate::fake_google::Reply;
use crate::harness::*;

/// The events of a Responses SSE body, in order; each frame has an `event:` name equal to its type.
fn sse_events(answer: &Answer) -> Vec<Value> {
    let text = answer.text();
    let mut out = Vec::new();
    for frame in text.split("\n\n").filter(|f| !f.trim().is_empty()) {
        let mut name = None;
        let mut data = None;
        for line in frame.lines() {
            if let Some(rest) = line.strip_prefix("event: ") {
                name = Some(rest.to_owned());
            } else if let Some(rest) = line.strip_prefix("data: ") {
                data = Some(serde_json::from_str::<Value>(rest).unwrap());
            }
        }
        let data = data.unwrap_or_else(|| panic!("frame without data: {frame:?}"));
        let name = name.unwrap_or_else(|| panic!("frame without an event name: {frame:?}"));
        assert_eq!(data["type"], json!(name), "{frame}");
        out.push(data);
    }
    out
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn responses(app: &TestApp, body: Value) -> Answer {
    app.post("/v1/responses", &body).await
}

#[actix_rt::test]
async fn non_stream_text_answer_has_output_and_full_usage() {
    let app = spawn_app().await;
    let answer = responses(
        &app,
        json!({"model": "gemini-2.5-pro", "instructions": "be brief", "input": "hi"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["model"], "gemini-2.5-pro");
    assert!(body["id"].as_str().unwrap().starts_with("resp_"));
    let message = body["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "message")
        .unwrap();
    assert_eq!(message["content"][0]["text"], "Hello from gemini-2.5-pro");
    assert_eq!(message["content"][0]["type"], "output_text");
    assert!(body["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(body["usage"]["input_tokens_details"]["cached_tokens"].is_u64());
    assert!(body["usage"]["output_tokens_details"]["reasoning_tokens"].is_u64());
    let calls = app.upstream_calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].path.ends_with(":generateContent"));
    let request = &calls[0].body["request"];
    assert_eq!(request["systemInstruction"]["parts"][0]["text"], "be brief");
    assert_eq!(request["contents"][0]["parts"][0]["text"], "hi");
    app.stop().await;
}

#[actix_rt::test]
async fn stream_sends_named_events_in_order_with_sequence_numbers() {
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        Reply::stream_chunks(["Hel", "lo"]).with_thought("thinking it over"),
    );
    let answer = responses(
        &app,
        json!({"model": "gemini-2.5-flash", "input": "hi", "stream": true, "reasoning": {"effort": "low", "summary": "auto"}}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let events = sse_events(&answer);
    assert_eq!(
        types(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["sequence_number"], json!(i));
    }
    assert_eq!(events[4]["delta"], "thinking it over");
    assert_eq!(events[12]["text"], "Hello");
    let done = &events[15]["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(done["output"][0]["type"], "reasoning");
    assert_eq!(done["output"][1]["content"][0]["text"], "Hello");
    assert!(done["usage"]["output_tokens_details"]["reasoning_tokens"].is_u64());
    let request = &app.upstream_calls()[0].body["request"];
    assert_eq!(
        request["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 1024, "includeThoughts": true})
    );
    app.stop().await;
}

#[actix_rt::test]
async fn function_tool_round_trip_sends_the_signature_back_upstream() {
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        Reply::function_call("exec_command", json!({"cmd": "ls"}), Some("c2lnLTE=")),
    );
    let tools = json!([
        {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"], "additionalProperties": false}},
        {"type": "custom", "name": "apply_patch", "description": "edit files"},
        {"type": "namespace", "name": "agents", "tools": [{"type": "function", "name": "spawn"}]}
    ]);
    let input =
        json!([{"role": "user", "content": [{"type": "input_text", "text": "list files"}]}]);
    let first = responses(
        &app,
        json!({"model": "gemini-3-pro-preview", "input": input, "tools": tools, "stream": true, "store": false}),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text());
    let events = sse_events(&first);
    let done = events.last().unwrap();
    assert_eq!(done["type"], "response.completed");
    let output = done["response"]["output"].as_array().unwrap().clone();
    assert_eq!(output.len(), 2, "{output:?}");
    assert_eq!(output[0]["type"], "reasoning");
    assert_eq!(
        output[0]["encrypted_content"],
        "gemini-thought-signature:c2lnLTE="
    );
    assert_eq!(output[1]["type"], "function_call");
    assert_eq!(output[1]["name"], "exec_command");
    assert_eq!(output[1]["arguments"], "{\"cmd\":\"ls\"}");
    let call_id = output[1]["call_id"].as_str().unwrap().to_owned();
    let kinds = types(&events);
    assert!(kinds.contains(&"response.function_call_arguments.delta".to_owned()));
    assert!(kinds.contains(&"response.function_call_arguments.done".to_owned()));
    let declared = &app.upstream_calls()[0].body["request"]["tools"][0]["functionDeclarations"];
    let names: Vec<&str> = declared
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["exec_command", "apply_patch", "agents__spawn"]);

    // Turn two: the client replays the output items (as Codex does with store: false) plus the result.
    let mut second_input = input.as_array().unwrap().clone();
    second_input.extend(output);
    second_input.push(
        json!({"type": "function_call_output", "call_id": call_id, "output": "a.txt\nb.txt"}),
    );
    app.google
        .enqueue("p1", Reply::text("Two files: a.txt and b.txt."));
    let second = responses(
        &app,
        json!({"model": "gemini-3-pro-preview", "input": second_input, "tools": tools, "store": false}),
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(
        second.json()["output"][0]["content"][0]["text"],
        "Two files: a.txt and b.txt."
    );
    let contents = &app.upstream_calls()[1].body["request"]["contents"];
    assert_eq!(
        contents[1],
        json!({"role": "model", "parts": [{
            "functionCall": {"id": call_id, "name": "exec_command", "args": {"cmd": "ls"}},
            "thoughtSignature": "c2lnLTE="
        }]})
    );
    assert_eq!(
        contents[2],
        json!({"role": "user", "parts": [{
            "functionResponse": {"id": call_id, "name": "exec_command", "response": {"result": "a.txt\nb.txt"}}
        }]})
    );
    app.stop().await;
}

#[actix_rt::test]
async fn custom_and_namespaced_calls_are_reported_under_the_client_names() {
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        Reply::function_call("apply_patch", json!({"input": "*** Begin Patch"}), None)
            .with_function_call("agents__spawn", json!({"task": "x"}), None),
    );
    let answer = responses(
        &app,
        json!({"model": "gemini-2.5-flash", "input": "go", "tools": [
            {"type": "custom", "name": "apply_patch"},
            {"type": "namespace", "name": "agents", "tools": [{"type": "function", "name": "spawn"}]}
        ]}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let output = answer.json()["output"].clone();
    assert_eq!(output[0]["type"], "custom_tool_call");
    assert_eq!(output[0]["name"], "apply_patch");
    assert_eq!(output[0]["input"], "*** Begin Patch");
    assert_eq!(output[1]["type"], "function_call");
    assert_eq!(output[1]["name"], "spawn");
    assert_eq!(output[1]["namespace"], "agents");
    app.stop().await;
}

#[actix_rt::test]
async fn previous_response_id_continues_a_stored_conversation() {
    let app = spawn_app().await;
    app.google.enqueue("p1", Reply::text("Paris."));
    let first = responses(
        &app,
        json!({"model": "gemini-2.5-flash", "instructions": "answer briefly", "input": "Capital of France?"}),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text());
    let id = first.json()["id"].as_str().unwrap().to_owned();

    let fetched = app.get(&format!("/v1/responses/{id}")).await;
    assert_eq!(fetched.status, 200, "{}", fetched.text());
    assert_eq!(fetched.json()["output"], first.json()["output"]);

    app.google.enqueue("p1", Reply::text("About 2 million."));
    let second = responses(
        &app,
        json!({"model": "gemini-2.5-flash", "input": "Population?", "previous_response_id": id, "stream": true}),
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.text());
    let done = sse_events(&second).pop().unwrap();
    assert_eq!(done["response"]["previous_response_id"], json!(id));
    let second_id = done["response"]["id"].as_str().unwrap().to_owned();
    let request = &app.upstream_calls()[1].body["request"];
    assert_eq!(
        request["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Capital of France?"}]},
            {"role": "model", "parts": [{"text": "Paris."}]},
            {"role": "user", "parts": [{"text": "Population?"}]}
        ])
    );
    // Instructions are not carried over, as in OpenAI's API.
    assert!(request.get("systemInstruction").is_none());

    // The streamed answer was stored too, so the chain goes on.
    app.eventually_async("second response stored", || async {
        app.get(&format!("/v1/responses/{second_id}")).await.status == 200
    })
    .await;
    app.google.enqueue("p1", Reply::text("Yes."));
    let third = responses(
        &app,
        json!({"model": "gemini-2.5-flash", "input": "Sure?", "previous_response_id": second_id}),
    )
    .await;
    assert_eq!(third.status, 200, "{}", third.text());
    let contents = &app.upstream_calls()[2].body["request"]["contents"];
    assert_eq!(contents.as_array().unwrap().len(), 5);
    assert_eq!(contents[3]["parts"][0]["text"], "About 2 million.");
    app.stop().await;
}

#[actix_rt::test]
async fn unknown_and_unstored_responses_are_404() {
    let app = spawn_app().await;
    let missing = responses(
        &app,
        json!({"model": "gemini-2.5-flash", "input": "x", "previous_response_id": "resp_nope"}),
    )
    .await;
    assert_eq!(missing.status, 404, "{}", missing.text());
    let error = &missing.json()["error"];
    assert_eq!(error["code"], "previous_response_not_found");
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["param"], "previous_response_id");
    assert!(app.upstream_calls().is_empty());

    let unstored = responses(
        &app,
        json!({"model": "gemini-2.5-flash", "input": "x", "store": false}),
    )
    .await;
    assert_eq!(unstored.status, 200);
    let id = unstored.json()["id"].as_str().unwrap().to_owned();
    let fetched = app.get(&format!("/v1/responses/{id}")).await;
    assert_eq!(fetched.status, 404);
    assert_eq!(fetched.json()["error"]["code"], "response_not_found");

    // Another caller cannot read a stored response; a made-up key reads nothing at all.
    let stored = responses(&app, json!({"model": "gemini-2.5-flash", "input": "x"})).await;
    let id = stored.json()["id"].as_str().unwrap().to_owned();
    let somebody_else = app.post("/auth/keys", &json!({"total_quota": 10})).await;
    let somebody_else = somebody_else.json()["api_key"].as_str().unwrap().to_owned();
    let read_as = |key: &'static str| {
        app.client
            .get(app.url(&format!("/v1/responses/{id}")))
            .bearer_auth(key)
    };
    let other = app
        .send(
            app.client
                .get(app.url(&format!("/v1/responses/{id}")))
                .bearer_auth(&somebody_else),
            None,
        )
        .await;
    assert_eq!(other.status, 404);
    let made_up = app.send(read_as("sk-somebody-else"), None).await;
    assert_eq!(made_up.status, 403);
    app.stop().await;
}

#[actix_rt::test]
async fn json_schema_output_and_image_input_reach_google() {
    let app = spawn_app().await;
    app.google
        .enqueue("p1", Reply::text("{\"colour\":\"red\"}"));
    let answer = responses(
        &app,
        json!({
            "model": "gemini-2.5-flash",
            "input": [{"role": "user", "content": [
                {"type": "input_text", "text": "What colour?"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}
            ]}],
            "text": {"format": {"type": "json_schema", "name": "colour", "strict": true, "schema": {
                "type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"], "additionalProperties": false
            }}}
        }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json()["output"][0]["content"][0]["text"],
        "{\"colour\":\"red\"}"
    );
    let request = &app.upstream_calls()[0].body["request"];
    assert_eq!(
        request["contents"][0]["parts"][1],
        json!({"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}})
    );
    assert_eq!(
        request["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(
        request["generationConfig"]["responseSchema"],
        json!({"type": "OBJECT", "properties": {"colour": {"type": "STRING"}}, "required": ["colour"]})
    );
    app.stop().await;
}

#[actix_rt::test]
async fn errors_use_the_openai_envelope() {
    let app = spawn_app().await;
    let bad = responses(
        &app,
        json!({"model": "gemini-2.5-flash", "input": "x", "temperature": 9}),
    )
    .await;
    assert_eq!(bad.status, 400);
    let error = &bad.json()["error"];
    assert_eq!(error["type"], "invalid_request_error");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .starts_with("temperature: "));

    let tool = responses(
        &app,
        json!({"model": "gemini-2.5-flash", "input": "x", "tools": [{"type": "file_search"}]}),
    )
    .await;
    assert_eq!(tool.status, 400);
    assert!(tool.json()["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("tools[0].type: "));

    let anonymous = app
        .send(
            app.client.post(app.url("/v1/responses")),
            Some(&json!({"model": "gemini-2.5-flash", "input": "x"})),
        )
        .await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.json()["error"]["message"].is_string());

    let compact = app
        .post("/v1/responses/compact", &json!({"model": "m", "input": []}))
        .await;
    // An empty input has nothing to compact (the compaction itself: tests/api/responses_compact.rs).
    assert_eq!(compact.status, 400);
    assert!(compact.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("input"));
    let wrong_method = app
        .send(
            app.client
                .put(app.url("/v1/responses"))
                .bearer_auth(PASSWORD),
            None,
        )
        .await;
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.json()["error"]["message"].is_string());
    assert!(app.upstream_calls().is_empty());

    app.google
        .set_default_reply(None, Reply::resource_exhausted());
    let limited = responses(&app, json!({"model": "gemini-2.5-flash", "input": "x"})).await;
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert_eq!(limited.json()["error"]["type"], "rate_limit_error");
    let wait: u64 = limited
        .headers
        .get("retry-after")
        .expect("a 429 carries Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0);
    app.stop().await;
}

#[actix_rt::test]
async fn failure_after_the_stream_began_is_response_failed() {
    let app = spawn_app().await;
    app.google.enqueue(
        "p1",
        Reply::stream_chunks(["one ", "two ", "three"]).cut_after(1),
    );
    let answer = responses(
        &app,
        json!({"model": "gemini-2.5-flash", "input": "count", "stream": true}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let events = sse_events(&answer);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.failed", "{events:?}");
    assert_eq!(last["response"]["status"], "failed");
    assert!(last["response"]["error"]["message"].is_string());
    app.stop().await;
}

#[actix_rt::test]
async fn fake_streaming_and_anti_truncation_prefixes_work() {
    let app = spawn_app().await;
    app.google
        .enqueue("p1", Reply::text("slow answer").delay_ms(700));
    let fake = responses(
        &app,
        json!({"model": "假流式/gemini-2.5-flash", "input": "hi", "stream": true}),
    )
    .await;
    assert_eq!(fake.status, 200, "{}", fake.text());
    let events = sse_events(&fake);
    let kinds = types(&events);
    assert_eq!(kinds[0], "response.created");
    assert_eq!(kinds[1], "response.in_progress");
    assert_eq!(kinds.last().unwrap(), "response.completed");
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["sequence_number"], json!(i));
    }
    assert_eq!(
        events.last().unwrap()["response"]["model"],
        "gemini-2.5-flash"
    );
    assert_eq!(
        events.last().unwrap()["response"]["output"][0]["content"][0]["text"],
        "slow answer"
    );
    assert!(app.upstream_calls()[0].path.ends_with(":generateContent"));

    app.google
        .enqueue("p1", Reply::stream_chunks(["First half, ", "cut"]));
    app.google
        .enqueue("p1", Reply::stream_chunks([" and the rest.", "\n[done]"]));
    let anti = responses(
        &app,
        json!({"model": "流式抗截断/gemini-2.5-flash", "input": "tell", "stream": true}),
    )
    .await;
    assert_eq!(anti.status, 200, "{}", anti.text());
    let events = sse_events(&anti);
    let done = events.last().unwrap();
    assert_eq!(done["type"], "response.completed");
    assert_eq!(
        done["response"]["output"][0]["content"][0]["text"],
        "First half, cut and the rest."
    );
    assert_eq!(app.upstream_calls().len(), 3);
    app.stop().await;
}

#[actix_rt::test]
async fn keys_pay_and_allow_lists_apply() {
    let app = spawn_app().await;
    let login = app
        .send(
            app.client.post(app.url("/auth/login")),
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    let token = login.json()["token"].as_str().unwrap().to_owned();
    let created = app
        .send(
            app.client.post(app.url("/auth/keys")).bearer_auth(&token),
            Some(&json!({"total_quota": 10, "allowed_models": ["gemini-2.5-flash"]})),
        )
        .await;
    let key = created.json()["api_key"].as_str().unwrap().to_owned();
    let ask = |model: &str| json!({"model": model, "input": "hi"});
    let ok = app
        .send(
            app.client.post(app.url("/v1/responses")).bearer_auth(&key),
            Some(&ask("gemini-2.5-flash")),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let denied = app
        .send(
            app.client.post(app.url("/v1/responses")).bearer_auth(&key),
            Some(&ask("gemini-2.5-pro")),
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.text());
    assert!(denied.json()["error"]["message"].is_string());
    let info = app
        .send(
            app.client
                .get(app.url(&format!("/auth/keys/{key}")))
                .bearer_auth(&token),
            None,
        )
        .await
        .json();
    // One paid call at the flash price; the refused one cost nothing.
    assert_eq!(info["used_quota"], 2, "{info}");
    assert_eq!(info["model_stats"], json!({"gemini-2.5-flash": 2}));
    app.stop().await;
}

#[actix_rt::test]
async fn scripted_agent_loop_runs_a_tool_and_quotes_its_output() {
    let app = spawn_app().await;
    app.google.add_tool_script(crate::fake_google::ToolScript {
        function: "exec_command".into(),
        args: json!({"cmd": "echo hi"}),
    });
    let tools = json!([{"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}]);
    let input = json!([{"role": "user", "content": "run it"}]);
    let first = responses(
        &app,
        json!({"model": "gemini-2.5-pro", "input": input, "tools": tools, "stream": true, "store": false,
               "include": ["reasoning.encrypted_content"]}),
    )
    .await;
    let output = sse_events(&first).pop().unwrap()["response"]["output"].clone();
    let call = output
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call")
        .unwrap()
        .clone();
    assert_eq!(call["arguments"], "{\"cmd\":\"echo hi\"}");
    let mut replay = input.as_array().unwrap().clone();
    replay.extend(output.as_array().unwrap().iter().cloned());
    replay.push(
        json!({"type": "function_call_output", "call_id": call["call_id"], "output": "hi\n"}),
    );
    let second = responses(
        &app,
        json!({"model": "gemini-2.5-pro", "input": replay, "tools": tools, "store": false}),
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(
        second.json()["output"][0]["content"][0]["text"],
        "The exec_command tool returned: hi"
    );
    // Without the reasoning item the signature is lost and the fake refuses, as Gemini 3 does.
    let unsigned: Vec<Value> = replay
        .into_iter()
        .filter(|i| i["type"] != "reasoning")
        .collect();
    let refused = responses(
        &app,
        json!({"model": "gemini-2.5-pro", "input": unsigned, "tools": tools, "store": false}),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    app.stop().await;
}

#[actix_rt::test]
async fn prompt_cache_key_keeps_a_conversation_on_one_credential() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("a.json", credential("rt-a", Some("pa"), None))
            .cred("b.json", credential("rt-b", Some("pb"), None))
            .env("CALLS_PER_ROTATION", "1"),
    )
    .await;
    app.eventually_async("both credentials have a token", || async {
        let records = app
            .state
            .supervisor
            .send(gcli2api::actors::credentials::messages::ListCredentials)
            .await
            .unwrap();
        records.len() == 2
            && records
                .iter()
                .all(|r| r.credential.get("token").is_some_and(|t| t.is_string()))
    })
    .await;
    let mut used = Vec::new();
    for turn in 0..4 {
        // Three sessions over two credentials: without affinity plain rotation would move each of them.
        for session in ["codex-session-1", "codex-session-2", "codex-session-3"] {
            let body = json!({"model": "gemini-2.5-pro", "input": format!("turn {turn}"),
                "prompt_cache_key": session, "store": false});
            assert_eq!(responses(&app, body).await.status, 200);
            let project = app
                .upstream_calls()
                .last()
                .unwrap()
                .project
                .clone()
                .unwrap();
            used.push((session, project));
        }
    }
    for session in ["codex-session-1", "codex-session-2", "codex-session-3"] {
        let projects: Vec<&String> = used
            .iter()
            .filter(|(s, _)| *s == session)
            .map(|(_, p)| p)
            .collect();
        assert!(
            projects.iter().all(|p| *p == projects[0]),
            "{session} moved: {projects:?}"
        );
    }
    let firsts: Vec<&str> = used.iter().take(3).map(|(_, p)| p.as_str()).collect();
    assert_eq!(firsts, ["pa", "pb", "pa"], "new sessions still rotate");
    app.stop().await;
}
