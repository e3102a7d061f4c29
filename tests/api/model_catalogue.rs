//! The live model catalogue through the real gateway and the fake Google: the credential scout fetches
//! each credential's model list (Gemini API keys: `GET /v1beta/models`; Code Assist: the
//! `retrieveUserQuota` buckets) and the catalogue is rebuilt from it. Model lists read it, routing
//! follows what each credential lists, capabilities shape the request.

use serde_json::{json, Value};

use crate::anthropic::{messages, VERSION};
use crate::fake_google::{quota_bucket, FakeGoogle, Reply};
use crate::harness::*;
use crate::rate_limits::{ask, creds, start};

const NEW: &str = "gemini-9-flash";
const KEY: &str = "AIzaSyCatalogueKey0001";

/// A Gemini API model entry as Google writes it.
fn listed(id: &str, output: Option<u64>) -> Value {
    let mut entry = json!({
        "name": format!("models/{id}"),
        "displayName": format!("Display {id}"),
        "supportedGenerationMethods": ["generateContent", "countTokens"],
        "thinking": true,
    });
    if let Some(output) = output {
        entry["outputTokenLimit"] = json!(output);
        entry["inputTokenLimit"] = json!(output * 8);
    }
    entry
}

/// One Gemini API key whose model list is `models`, fetched by the scout before this answers.
async fn key_app(models: Vec<Value>, env: &[(&'static str, &str)]) -> TestApp {
    let google = FakeGoogle::start().await;
    google.add_api_key(KEY);
    google.set_api_key_models(KEY, models);
    let url = google.url();
    let mut opts = TestOptions {
        google: Some(google),
        ..TestOptions::default()
    }
    .env("GEMINI_API_KEYS", KEY)
    .env("GEMINI_API_ENDPOINT", url.clone())
    .env("VERTEX_ENDPOINT", url);
    for (key, value) in env {
        opts = opts.env(key, *value);
    }
    let app = spawn_app_with(opts).await;
    until_fetched(&app, 1).await;
    app
}

/// Waits until `n` credentials have a model list the scout fetched (and the catalogue was rebuilt).
async fn until_fetched(app: &TestApp, n: usize) {
    let fleet = app.state.fleet.clone();
    app.eventually("the model lists are fetched", || {
        let snapshot = fleet.snapshot();
        let fetched = snapshot
            .slots()
            .iter()
            .filter(|slot| slot.live.insight().is_some_and(|i| i.models.is_some()))
            .count();
        fetched == n
    })
    .await;
    // The rebuild runs on the scout's thread right after it publishes; wait for it to show.
    let catalogue = app.state.catalogue.clone();
    app.eventually("the catalogue is rebuilt", || {
        catalogue
            .snapshot()
            .models()
            .iter()
            .any(|m| m.source == gcli2api::fleet::catalogue::Source::Live)
    })
    .await;
}

fn bucket(model: &str, fraction: f64) -> Value {
    let reset = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    quota_bucket(
        model,
        "REQUESTS",
        (fraction * 100.0) as i64,
        fraction,
        &reset,
    )
}

/// Code Assist credentials `a` and `b` (projects `pa`, `pb`) whose quota buckets name `a_models` and
/// `b_models`, with both lists fetched.
async fn code_assist_app(a_models: &[&str], b_models: &[&str]) -> TestApp {
    let google = FakeGoogle::start().await;
    google.set_quota_buckets("pa", a_models.iter().map(|m| bucket(m, 0.5)).collect());
    google.set_quota_buckets("pb", b_models.iter().map(|m| bucket(m, 1.0)).collect());
    let opts = TestOptions {
        google: Some(google),
        ..creds(&["a", "b"], 1)
    };
    let app = start(opts, 2).await;
    until_fetched(&app, 2).await;
    app
}

fn ids(list: &Value, field: &str, key: &str) -> Vec<String> {
    list[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[key].as_str().unwrap().to_string())
        .collect()
}

/// The calls the fake received for `model` on the Gemini API.
fn key_calls(app: &TestApp, model: &str) -> Vec<crate::fake_google::RecordedRequest> {
    app.google.requests_to(&format!("/v1beta/models/{model}:"))
}

#[actix_rt::test]
async fn a_model_never_heard_of_is_listed_everywhere_and_served_by_every_api() {
    let app = key_app(
        vec![listed(NEW, Some(8192)), listed("gemini-2.5-flash", None)],
        &[],
    )
    .await;

    let openai = app.get("/v1/models").await.json();
    let names = ids(&openai, "data", "id");
    assert!(names.contains(&NEW.to_string()), "{names:?}");
    assert!(names.contains(&format!("{NEW}-high")), "{names:?}");
    assert!(names.contains(&format!("假流式/{NEW}-search")), "{names:?}");
    // The one credential has a list, so the built-in models it does not name are gone.
    assert!(!names.contains(&"gemini-3-pro-preview".to_string()));

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
    assert_eq!(key_calls(&app, NEW).len(), 4);
}

#[actix_rt::test]
async fn a_model_nobody_lists_is_a_404_naming_the_closest_ids() {
    let app = key_app(vec![listed(NEW, None)], &[]).await;
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

fn projects(app: &TestApp) -> Vec<Option<String>> {
    app.upstream_calls()
        .into_iter()
        .map(|c| c.project)
        .collect()
}

#[actix_rt::test]
async fn a_model_only_one_credential_lists_goes_only_to_it() {
    let app = code_assist_app(&["gemini-2.5-flash", NEW], &["gemini-2.5-flash"]).await;
    for _ in 0..4 {
        let answer = app.chat(ask(NEW)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    assert_eq!(projects(&app), vec![Some("pa".to_string()); 4]);
    let new = app.state.catalogue.snapshot().get(NEW).cloned().unwrap();
    assert_eq!(new.credential_count, 1);
    // The model both list still rotates over both.
    app.google.clear_requests();
    for i in 0..4 {
        let mut body = ask("gemini-2.5-flash");
        body["messages"][0]["content"] = json!(format!("question {i}"));
        assert_eq!(app.chat(body).await.status, 200);
    }
    assert!(
        projects(&app).contains(&Some("pb".to_string())),
        "{:?}",
        projects(&app)
    );
}

#[actix_rt::test]
async fn max_tokens_above_the_model_limit_is_clamped() {
    let app = key_app(
        vec![listed(NEW, Some(8192)), listed("gemini-9-pro", None)],
        &[],
    )
    .await;
    let mut body = ask(NEW);
    body["max_tokens"] = json!(100_000);
    assert_eq!(app.chat(body).await.status, 200);
    let mut body = ask(NEW);
    body["max_tokens"] = json!(100);
    assert_eq!(app.chat(body).await.status, 200);
    let claude = |model: &str| json!({"model": model, "max_tokens": 128000, "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(messages(&app, &claude(NEW)).await.status, 200);
    let asked: Vec<Value> = key_calls(&app, NEW)
        .into_iter()
        .map(|c| c.body["generationConfig"]["maxOutputTokens"].clone())
        .collect();
    assert_eq!(asked, vec![json!(8192), json!(100), json!(8192)]);
    // No limit known: the Anthropic route's fallback.
    assert_eq!(messages(&app, &claude("gemini-9-pro")).await.status, 200);
    let calls = key_calls(&app, "gemini-9-pro");
    assert_eq!(calls[0].body["generationConfig"]["maxOutputTokens"], 65536);
}

#[actix_rt::test]
async fn with_refresh_off_the_fallback_list_serves() {
    let app = key_app(vec![listed(NEW, None)], &[("BASE_MODELS", "gemini-extra")]).await;
    let listed_before = ids(&app.get("/v1/models").await.json(), "data", "id");
    assert!(listed_before.contains(&NEW.to_string()));

    let token = panel_login(&app).await;
    let req = app.client.post(app.url("/config/save")).bearer_auth(&token);
    let saved = app
        .send(req, Some(&json!({"config": {"model_refresh_seconds": 0}})))
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    let names = ids(&app.get("/v1/models").await.json(), "data", "id");
    for fallback in [
        "gemini-2.5-pro",
        "gemini-3.1-pro-preview",
        "gemini-3.5-flash",
        "gemini-extra",
    ] {
        assert!(
            names.contains(&fallback.to_string()),
            "{fallback}: {names:?}"
        );
    }
    assert!(!names.contains(&NEW.to_string()));
    let answer = app.chat(ask("gemini-2.5-pro")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(key_calls(&app, "gemini-2.5-pro").len(), 1);
}

fn thinking_levels(app: &TestApp) -> Vec<Value> {
    app.upstream_calls()
        .into_iter()
        .map(|c| c.body["request"]["generationConfig"]["thinkingConfig"]["thinkingLevel"].clone())
        .collect()
}

async fn panel_login(app: &TestApp) -> String {
    let req = app.client.post(app.url("/auth/login"));
    let answer = app.send(req, Some(&json!({"password": PASSWORD}))).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["token"].as_str().unwrap().to_string()
}

async fn panel_catalogue(app: &TestApp) -> Value {
    let token = panel_login(app).await;
    let req = app
        .client
        .get(app.url("/models/catalogue"))
        .bearer_auth(&token);
    let answer = app.send(req, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

#[actix_rt::test]
async fn a_refused_thinking_level_is_retried_once_and_remembered() {
    let app = spawn_app().await;
    app.google
        .refuse_thinking_level("gemini-3-flash-preview", "MINIMAL");
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
    let catalogue = panel_catalogue(&app).await;
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

#[actix_rt::test]
async fn the_code_assist_alias_sends_the_target_and_the_panel_shows_the_catalogue() {
    let app = code_assist_app(&["gemini-3-flash"], &["gemini-2.5-pro"]).await;
    let answer = app.chat(ask("gemini-3.5-flash")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let calls = app.upstream_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].model.as_deref(), Some("gemini-3-flash"));
    assert_eq!(calls[0].project.as_deref(), Some("pa"));

    let anonymous = app
        .send(app.client.get(app.url("/models/catalogue")), None)
        .await;
    assert_eq!(anonymous.status, 401);
    let catalogue = panel_catalogue(&app).await;
    assert_eq!(catalogue["refresh_seconds"], 3600);
    let models = catalogue["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["gemini-2.5-pro", "gemini-3.5-flash"]);
    let flash = &models[1];
    assert_eq!(flash["source"], "live");
    assert_eq!(flash["kinds"], json!(["code_assist"]));
    assert_eq!(flash["credentials"], json!(["a.json"]));
    assert_eq!(flash["credential_count"], 1);
    assert_eq!(flash["output_token_limit"], 65536);
    assert_eq!(flash["aliases"], json!({"code_assist": "gemini-3-flash"}));
    assert_eq!(flash["cost"], 2);
    assert!(flash["first_seen"].as_i64().unwrap() > 0);
    assert_eq!(flash["quota"]["known"], 1);
    assert_eq!(flash["quota"]["with_quota"], 1);
    assert_eq!(flash["quota"]["mean_remaining_fraction"], 0.5);
    assert!(flash["quota"]["next_reset"].as_i64().unwrap() > chrono::Utc::now().timestamp());
    assert_eq!(models[0]["cost"], 10);
    assert_eq!(models[0]["thinking_level"], Value::Null);
}

#[actix_rt::test]
async fn a_model_google_ships_later_is_listed_after_the_panels_refresh() {
    let app = key_app(vec![listed("gemini-2.5-pro", None)], &[]).await;
    let before = app.get("/v1/models").await.json();
    assert!(
        !ids(&before, "data", "id").contains(&NEW.to_string()),
        "{before}"
    );
    // Google ships a model; the operator refreshes instead of waiting for the hourly fetch.
    app.google.set_api_key_models(
        KEY,
        vec![listed("gemini-2.5-pro", None), listed(NEW, Some(32_768))],
    );
    let token = panel_login(&app).await;
    let req = app
        .client
        .post(app.url("/models/refresh"))
        .bearer_auth(&token);
    let answer = app.send(req, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let refreshed = answer.json();
    let entry = refreshed["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == NEW)
        .cloned()
        .unwrap_or_else(|| panic!("{NEW} not in the refreshed catalogue: {refreshed}"));
    assert_eq!(entry["output_token_limit"], 32_768, "{entry}");
    let after = app.get("/v1/models").await.json();
    assert!(
        ids(&after, "data", "id").contains(&NEW.to_string()),
        "{after}"
    );
    assert_eq!(app.chat(ask(NEW)).await.status, 200);
    let anonymous = app.client.post(app.url("/models/refresh"));
    assert_eq!(app.send(anonymous, None).await.status, 401);
}
