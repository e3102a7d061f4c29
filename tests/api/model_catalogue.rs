//! The live model catalogue through the real gateway: model lists read it, routing follows what each
//! credential lists, capabilities shape the request. The credential scout is not part of these tests:
//! they publish each credential's insight on its `LiveCredential` directly and rebuild the catalogue,
//! which is what the scout does after a fetch.

use std::sync::Arc;

use gcli2api::store::{CredentialInsight, ModelInfo, QuotaBucket};
use serde_json::{json, Value};

use crate::anthropic::{messages, VERSION};
use crate::fake_google::Reply;
use crate::harness::*;

const NEW: &str = "gemini-9-flash";

fn model(id: &str, output: Option<u64>) -> ModelInfo {
    ModelInfo {
        id: id.to_string(),
        display_name: Some(format!("Display {id}")),
        input_token_limit: output.map(|o| o * 8),
        output_token_limit: output,
        methods: vec!["generateContent".into(), "countTokens".into()],
        thinking: Some(true),
    }
}

fn listing(models: Vec<ModelInfo>) -> CredentialInsight {
    CredentialInsight {
        models: Some(models),
        models_fetched_at: Some(1),
        ..CredentialInsight::default()
    }
}

/// Two Code Assist credentials, `p1` and `p2`, with the fleet published.
async fn two_credentials(env: &[(&'static str, &str)]) -> TestApp {
    let mut opts = TestOptions::default()
        .cred("p1.json", credential("rt-1", Some("p1"), None))
        .cred("p2.json", credential("rt-2", Some("p2"), None));
    for (key, value) in env {
        opts = opts.env(key, *value);
    }
    let app = spawn_app_with(opts).await;
    let fleet = app.state.fleet.clone();
    app.eventually("the fleet is published", || fleet.snapshot().len() == 2)
        .await;
    app
}

/// Publishes `insight` for credential `name` (a file name) and rebuilds, as the scout does.
fn publish(app: &TestApp, name: &str, insight: CredentialInsight) {
    let fleet = app.state.fleet.snapshot();
    let slot = fleet.get(name).expect("credential loaded");
    slot.live.publish_insight(Arc::new(insight));
    rebuild(app);
}

/// The same model list for both credentials.
fn publish_both(app: &TestApp, models: Vec<ModelInfo>) {
    for name in ["p1.json", "p2.json"] {
        publish(app, name, listing(models.clone()));
    }
}

fn rebuild(app: &TestApp) {
    app.state.catalogue.rebuild(
        &app.state.fleet.snapshot(),
        &app.state.settings.current(),
        app.state.clock.now(),
    );
}

fn ids(list: &Value, field: &str, key: &str) -> Vec<String> {
    list[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[key].as_str().unwrap().to_string())
        .collect()
}

fn ask(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

#[actix_rt::test]
async fn a_model_never_heard_of_is_listed_everywhere_and_served_by_every_api() {
    let app = two_credentials(&[]).await;
    publish_both(
        &app,
        vec![model(NEW, Some(8192)), model("gemini-2.5-flash", None)],
    );

    let openai = app.get("/v1/models").await.json();
    let listed = ids(&openai, "data", "id");
    assert!(listed.contains(&NEW.to_string()), "{listed:?}");
    assert!(listed.contains(&format!("{NEW}-high")), "{listed:?}");
    assert!(
        listed.contains(&format!("假流式/{NEW}-search")),
        "{listed:?}"
    );
    // Every credential has a list, so the fallback's models nobody lists are gone.
    assert!(!listed.contains(&"gemini-3-pro-preview".to_string()));

    let req = app
        .client
        .get(app.url("/v1/models"))
        .insert_header(("x-api-key", PASSWORD))
        .insert_header(VERSION);
    let anthropic = app.send(req, None).await.json();
    assert!(ids(&anthropic, "data", "id").contains(&NEW.to_string()));

    let gemini = app.get("/v1beta/models").await.json();
    let entry = gemini["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == format!("models/{NEW}"))
        .cloned()
        .expect("listed in the Gemini form");
    assert_eq!(entry["outputTokenLimit"], 8192);
    assert_eq!(entry["inputTokenLimit"], 65536);
    assert_eq!(entry["thinking"], true);
    assert_eq!(entry["displayName"], format!("Display {NEW}"));
    assert_eq!(
        entry["supportedGenerationMethods"],
        json!(["generateContent", "countTokens"])
    );
    let one = app.get(&format!("/v1beta/models/{NEW}")).await;
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.json()["outputTokenLimit"], 8192);

    let chat = app.chat(ask(NEW)).await;
    assert_eq!(chat.status, 200, "{}", chat.text());
    assert_eq!(
        chat.json()["choices"][0]["message"]["content"],
        format!("Hello from {NEW}")
    );
    let contents = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let native = app
        .post(&format!("/v1beta/models/{NEW}:generateContent"), &contents)
        .await;
    assert_eq!(native.status, 200, "{}", native.text());
    let claude = messages(
        &app,
        &json!({"model": NEW, "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(claude.status, 200, "{}", claude.text());
    assert_eq!(
        claude.json()["content"][0]["text"],
        format!("Hello from {NEW}")
    );
    let responses = app
        .post("/v1/responses", &json!({"model": NEW, "input": "hi"}))
        .await;
    assert_eq!(responses.status, 200, "{}", responses.text());
    assert_eq!(responses.json()["status"], "completed");
    let sent: Vec<Option<String>> = app.upstream_calls().into_iter().map(|c| c.model).collect();
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|m| m.as_deref() == Some(NEW)), "{sent:?}");
}

#[actix_rt::test]
async fn a_model_nobody_lists_is_a_404_naming_the_closest_ids() {
    let app = two_credentials(&[]).await;
    publish_both(&app, vec![model(NEW, None)]);
    let answer = app.chat(ask("gemini-9-flsh")).await;
    assert_eq!(answer.status, 404, "{}", answer.text());
    let error = &answer.json()["error"];
    assert_eq!(error["code"], "model_not_found");
    assert!(error["message"].as_str().unwrap().contains(NEW), "{error}");
    let contents = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let native = app
        .post("/v1beta/models/gemini-2.5-pro:generateContent", &contents)
        .await;
    assert_eq!(native.status, 404, "{}", native.text());
    assert_eq!(native.json()["error"]["status"], "NOT_FOUND");
    let info = app.get("/v1beta/models/gemini-2.5-pro").await;
    assert_eq!(info.status, 404, "{}", info.text());
    let claude = messages(
        &app,
        &json!({"model": "gemini-2.5-pro", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(claude.status, 404, "{}", claude.text());
    assert_eq!(claude.json()["error"]["type"], "not_found_error");
    assert!(app.upstream_calls().is_empty());
}

#[actix_rt::test]
async fn a_model_only_one_credential_lists_goes_only_to_it() {
    let app = two_credentials(&[("CALLS_PER_ROTATION", "1")]).await;
    publish(
        &app,
        "p1.json",
        listing(vec![model("gemini-2.5-flash", None), model(NEW, None)]),
    );
    publish(
        &app,
        "p2.json",
        listing(vec![model("gemini-2.5-flash", None)]),
    );
    for _ in 0..4 {
        let answer = app.chat(ask(NEW)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    let projects: Vec<Option<String>> = app
        .upstream_calls()
        .into_iter()
        .map(|c| c.project)
        .collect();
    assert_eq!(projects, vec![Some("p1".to_string()); 4]);
    // The model both list still rotates over both.
    app.google.clear_requests();
    for _ in 0..4 {
        let mut body = ask("gemini-2.5-flash");
        body["user"] = json!(format!("{:?}", std::time::Instant::now()));
        assert_eq!(app.chat(body).await.status, 200);
    }
    let projects: Vec<Option<String>> = app
        .upstream_calls()
        .into_iter()
        .map(|c| c.project)
        .collect();
    assert!(projects.contains(&Some("p2".to_string())), "{projects:?}");
}

#[actix_rt::test]
async fn max_tokens_above_the_model_limit_is_clamped() {
    let app = two_credentials(&[]).await;
    publish_both(
        &app,
        vec![model(NEW, Some(8192)), model("gemini-9-pro", None)],
    );
    let mut body = ask(NEW);
    body["max_tokens"] = json!(100_000);
    assert_eq!(app.chat(body).await.status, 200);
    let mut body = ask(NEW);
    body["max_tokens"] = json!(100);
    assert_eq!(app.chat(body).await.status, 200);
    let claude = |model: &str| json!({"model": model, "max_tokens": 128000, "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(messages(&app, &claude(NEW)).await.status, 200);
    // No limit known: the Anthropic route's fallback.
    assert_eq!(messages(&app, &claude("gemini-9-pro")).await.status, 200);
    let asked: Vec<Value> = app
        .upstream_calls()
        .into_iter()
        .map(|c| c.body["request"]["generationConfig"]["maxOutputTokens"].clone())
        .collect();
    assert_eq!(
        asked,
        vec![json!(8192), json!(100), json!(8192), json!(65536)]
    );
}

#[actix_rt::test]
async fn with_refresh_off_the_fallback_list_serves() {
    let app = two_credentials(&[("MODEL_REFRESH_SECONDS", "0"), ("BASE_MODELS", "my-extra")]).await;
    publish_both(&app, vec![model(NEW, None)]);
    let listed = ids(&app.get("/v1/models").await.json(), "data", "id");
    for fallback in [
        "gemini-2.5-pro",
        "gemini-3.1-pro-preview",
        "gemini-3.5-flash",
        "my-extra",
    ] {
        assert!(
            listed.contains(&fallback.to_string()),
            "{fallback}: {listed:?}"
        );
    }
    assert!(!listed.contains(&NEW.to_string()));
    let answer = app.chat(ask("gemini-2.5-pro")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
}

fn thinking_levels(app: &TestApp) -> Vec<Value> {
    app.upstream_calls()
        .into_iter()
        .map(|c| c.body["request"]["generationConfig"]["thinkingConfig"]["thinkingLevel"].clone())
        .collect()
}

#[actix_rt::test]
async fn a_refused_thinking_level_is_retried_once_and_remembered() {
    let app = spawn_app().await;
    let refusal = json!({"error": {
        "code": 400,
        "message": "Thinking level MINIMAL is not supported for this model. Supported thinking levels are: LOW, MEDIUM, HIGH.",
        "status": "INVALID_ARGUMENT",
    }});
    app.google.enqueue("p1", Reply::error(400, refusal.clone()));
    let mut body = ask("gemini-3-flash-preview");
    body["reasoning_effort"] = json!("minimal");
    body["stream"] = json!(true);
    let answer = app.chat(body.clone()).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer.text().contains("Hello"), "{}", answer.text());
    assert_eq!(thinking_levels(&app), vec![json!("minimal"), json!("low")]);

    app.google.clear_requests();
    body["stream"] = json!(false);
    let answer = app.chat(body).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(thinking_levels(&app), vec![json!("low")]);

    // The panel shows what the model taught.
    let token = panel_login(&app).await;
    let req = app
        .client
        .get(app.url("/models/catalogue"))
        .bearer_auth(&token);
    let catalogue = app.send(req, None).await.json();
    let flash = catalogue["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "gemini-3-flash-preview")
        .cloned()
        .unwrap();
    assert_eq!(
        flash["thinking_level"],
        json!({"supported": ["LOW", "MEDIUM", "HIGH"], "substitutes": {"MINIMAL": "LOW"}})
    );
}

#[actix_rt::test]
async fn a_refusal_the_retry_cannot_fix_reaches_the_client_once() {
    let app = spawn_app().await;
    let refusal = json!({"error": {"code": 400, "message": "Thinking level LOW is not supported.", "status": "INVALID_ARGUMENT"}});
    app.google.enqueue("p1", Reply::error(400, refusal.clone()));
    app.google.enqueue("p1", Reply::error(400, refusal));
    let mut body = ask("gemini-3-flash-preview");
    body["reasoning_effort"] = json!("low");
    let answer = app.chat(body).await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(thinking_levels(&app), vec![json!("low"), json!("medium")]);
}

async fn panel_login(app: &TestApp) -> String {
    let req = app.client.post(app.url("/auth/login"));
    let answer = app.send(req, Some(&json!({"password": PASSWORD}))).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["token"].as_str().unwrap().to_string()
}

#[actix_rt::test]
async fn the_code_assist_alias_sends_the_target_and_the_panel_shows_the_catalogue() {
    let app = two_credentials(&[]).await;
    let mut insight = listing(vec![model("gemini-3-flash", Some(4096))]);
    insight.quota = vec![QuotaBucket {
        model: "gemini-3-flash".into(),
        token_type: Some("REQUESTS".into()),
        remaining_fraction: Some(0.5),
        remaining: Some(50),
        limit: Some(100),
        reset_time: Some(4_102_444_800),
    }];
    publish(&app, "p1.json", insight);
    publish(
        &app,
        "p2.json",
        listing(vec![model("gemini-2.5-pro", None)]),
    );
    let answer = app.chat(ask("gemini-3.5-flash")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let calls = app.upstream_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].model.as_deref(), Some("gemini-3-flash"));
    assert_eq!(calls[0].project.as_deref(), Some("p1"));

    let anonymous = app
        .send(app.client.get(app.url("/models/catalogue")), None)
        .await;
    assert_eq!(anonymous.status, 401);
    let token = panel_login(&app).await;
    let req = app
        .client
        .get(app.url("/models/catalogue"))
        .bearer_auth(&token);
    let catalogue = app.send(req, None).await.json();
    assert_eq!(catalogue["refresh_seconds"], 3600);
    let models = catalogue["models"].as_array().unwrap();
    let listed: Vec<&str> = models.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(listed, vec!["gemini-2.5-pro", "gemini-3.5-flash"]);
    let flash = &models[1];
    assert_eq!(flash["source"], "live");
    assert_eq!(flash["kinds"], json!(["code_assist"]));
    assert_eq!(flash["credentials"], json!(["p1.json"]));
    assert_eq!(flash["credential_count"], 1);
    assert_eq!(flash["output_token_limit"], 4096);
    assert_eq!(flash["aliases"], json!({"code_assist": "gemini-3-flash"}));
    assert_eq!(flash["cost"], 2);
    assert!(flash["first_seen"].as_i64().unwrap() > 0);
    assert_eq!(
        flash["quota"],
        json!({"known": 1, "with_quota": 1, "mean_remaining_fraction": 0.5, "next_reset": 4_102_444_800_i64})
    );
    assert_eq!(models[0]["cost"], 10);
    assert_eq!(models[0]["thinking_level"], Value::Null);
}
