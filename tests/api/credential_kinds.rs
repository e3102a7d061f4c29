//! Gemini API keys (AI Studio) and Vertex AI (service account, express key) in the same pool as Code
//! Assist logins, through the real gateway against the fake's Generative Language and Vertex paths.

use serde_json::{json, Value};

use crate::fake_google::{FakeGoogle, Reply};
use crate::harness::*;
use crate::rate_limits::google_body;

const FLASH: &str = "gemini-2.5-flash";
const PRO: &str = "gemini-2.5-pro";
const KEY_A: &str = "AIzaSyTestKeyAlpha0001";
const KEY_B: &str = "AIzaSyTestKeyBravo0002";
const SA_EMAIL: &str = "gateway@vproj.iam.gserviceaccount.com";
const SA_PRIVATE: &str = include_str!("../fixtures/vertex_test_sa_private.pem");
const SA_PUBLIC: &str = include_str!("../fixtures/vertex_test_sa_public.pem");

fn ask(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

fn service_account(location: &str) -> Value {
    json!({
        "type": "service_account",
        "project_id": "vproj",
        "private_key_id": "0123456789abcdef",
        "private_key": SA_PRIVATE,
        "client_email": SA_EMAIL,
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
        "location": location,
    })
}

/// The fake with keys accepted and the test service account registered.
async fn google() -> FakeGoogle {
    let google = FakeGoogle::start().await;
    google.add_api_key(KEY_A);
    google.add_api_key(KEY_B);
    google.register_service_account(SA_EMAIL, SA_PUBLIC);
    google
}

async fn app_with(opts: TestOptions) -> TestApp {
    let google = google().await;
    let url = google.url();
    spawn_app_with(
        TestOptions {
            google: Some(google),
            ..opts
        }
        .env("GEMINI_API_ENDPOINT", url.clone())
        .env("VERTEX_ENDPOINT", url),
    )
    .await
}

fn generate_calls(app: &TestApp) -> Vec<crate::fake_google::RecordedRequest> {
    app.upstream_calls()
}

async fn records(app: &TestApp) -> Vec<gcli2api::store::CredentialRecord> {
    app.state
        .supervisor
        .send(gcli2api::actors::credentials::messages::ListCredentials)
        .await
        .unwrap()
}

#[actix_rt::test]
async fn an_api_key_alone_serves_every_route_without_the_envelope() {
    let app = app_with(TestOptions::default().env("GEMINI_API_KEYS", KEY_A)).await;

    let answer = app.chat(ask(FLASH)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json()["choices"][0]["message"]["content"],
        "Hello from gemini-2.5-flash"
    );
    let mut streamed = ask(FLASH);
    streamed["stream"] = json!(true);
    let answer = app.chat(streamed).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer.text().contains("Hello"), "{}", answer.text());
    let contents =
        json!({"contents": [{"role": "user", "parts": [{"text": "count these words"}]}]});
    let answer = app
        .post("/v1beta/models/gemini-2.5-flash:generateContent", &contents)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json()["candidates"][0]["content"]["parts"][0]["text"],
        "Hello from gemini-2.5-flash"
    );
    let answer = app
        .post("/v1beta/models/gemini-2.5-flash:countTokens", &contents)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["totalTokens"], 3);

    let calls = app.google.requests_to("/v1beta/models/gemini-2.5-flash:");
    assert_eq!(calls.len(), 4, "{calls:?}");
    for call in &calls {
        assert_eq!(call.header("x-goog-api-key"), Some(KEY_A));
        assert_eq!(call.access_token, None, "no bearer token on a key call");
        assert!(
            call.body.get("request").is_none(),
            "bare body: {}",
            call.body
        );
        assert!(call.body.get("contents").is_some());
    }
    assert!(calls[1].path.ends_with(":streamGenerateContent"));
    assert_eq!(calls[1].query, "alt=sse");
    assert!(app.google.requests_to("v1internal").is_empty());

    // The key is masked in the panel and never written to the log.
    let token = app.login().await;
    let req = app
        .client
        .get(app.url("/creds/status?kind_filter=gemini_api_key"))
        .bearer_auth(&token);
    let status = app.send(req, None).await.json();
    assert_eq!(status["total"], 1);
    let item = &status["items"][0];
    assert_eq!(item["kind"], "gemini_api_key");
    assert_ne!(item["api_key"], KEY_A);
    assert!(item["api_key"].as_str().unwrap().starts_with("AIzaSy"));
    assert!(!status.to_string().contains(KEY_A));
    let log = std::fs::read_to_string(app.dir.path().join("log.txt")).unwrap_or_default();
    assert!(!log.contains(KEY_A), "the key reached the log");
}

#[actix_rt::test]
async fn vertex_service_account_token_is_minted_cached_and_refreshed() {
    let sa = service_account("us-east5").to_string();
    let app = app_with(TestOptions::default().env("VERTEX_CREDENTIALS_MAIN", sa)).await;

    for _ in 0..2 {
        let answer = app.chat(ask(PRO)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    assert_eq!(app.google.jwt_grants(SA_EMAIL), 1, "the token is cached");
    let path = "/v1/projects/vproj/locations/us-east5/publishers/google/models/gemini-2.5-pro:generateContent";
    let calls = app.google.requests_to(path);
    assert_eq!(calls.len(), 2);
    let first_token = calls[0].access_token.clone().expect("bearer token");
    assert_eq!(calls[1].access_token.as_deref(), Some(first_token.as_str()));
    assert!(calls[0].header("x-goog-api-key").is_none());
    assert!(calls[0].body.get("contents").is_some() && calls[0].body.get("request").is_none());

    // An hour later the token is due: the next call mints a new one first.
    app.clock.advance(3600);
    let answer = app.chat(ask(PRO)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(app.google.jwt_grants(SA_EMAIL), 2);
    let calls = app.google.requests_to(path);
    assert_ne!(calls[2].access_token.as_deref(), Some(first_token.as_str()));

    // The private key never leaves the gateway, not even masked in the panel listing.
    let token = app.login().await;
    let req = app.client.get(app.url("/creds/status")).bearer_auth(&token);
    let status = app.send(req, None).await.json();
    assert_eq!(status["items"][0]["kind"], "vertex");
    assert_eq!(status["items"][0]["location"], "us-east5");
    assert!(!status.to_string().contains("PRIVATE KEY"));
}

#[actix_rt::test]
async fn vertex_tokens_are_renewed_ahead_of_expiry() {
    let google = google().await;
    // 302 s: the renewal, due 300 s before expiry, comes 2 s after the first mint.
    google.set_service_account_token_secs(302);
    let url = google.url();
    let sa = service_account("global").to_string();
    let app = spawn_app_with(TestOptions {
        google: Some(google),
        ..TestOptions::default()
            .env("VERTEX_CREDENTIALS_MAIN", sa)
            .env("VERTEX_ENDPOINT", url)
    })
    .await;
    let answer = app.chat(ask(FLASH)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let google = &app.google;
    app.eventually("a renewal ahead of expiry", || {
        google.jwt_grants(SA_EMAIL) >= 2
    })
    .await;
}

#[actix_rt::test]
async fn vertex_express_key_calls_the_publisher_path() {
    let express = json!({"api_key": KEY_B}).to_string();
    let app = app_with(TestOptions::default().env("VERTEX_CREDENTIALS_EXPRESS", express)).await;
    let answer = app.chat(ask(FLASH)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let calls = app
        .google
        .requests_to("/v1/publishers/google/models/gemini-2.5-flash:generateContent");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].header("x-goog-api-key"), Some(KEY_B));
}

#[actix_rt::test]
async fn a_mixed_pool_rotates_across_kinds() {
    let express = json!({"api_key": KEY_B}).to_string();
    let app = app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("GEMINI_API_KEYS", KEY_A)
            .env(
                "VERTEX_CREDENTIALS_SA",
                service_account("us-central1").to_string(),
            )
            .env("VERTEX_CREDENTIALS_EXPRESS", express)
            .env("CALLS_PER_ROTATION", "1"),
    )
    .await;
    for _ in 0..8 {
        let answer = app.chat(ask(FLASH)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    let calls = generate_calls(&app);
    let used = |needle: &str| calls.iter().filter(|c| c.path.contains(needle)).count();
    assert_eq!(used("/v1internal:"), 2, "{calls:?}");
    assert_eq!(used("/v1beta/models/"), 2);
    assert_eq!(used("/v1/projects/vproj/"), 2);
    assert_eq!(used("/v1/publishers/"), 2);
    // Usage is counted per credential whatever its kind.
    let all = records(&app).await;
    assert_eq!(all.len(), 4);
    for record in &all {
        assert_eq!(record.state.usage.total_calls, 2, "{}", record.name);
    }
}

#[actix_rt::test]
async fn a_rate_limited_key_fails_over_to_a_code_assist_credential() {
    let app = app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("GEMINI_API_KEYS", KEY_A)
            .env("UPSTREAM_PREFERENCE", "gemini_api_key,code_assist"),
    )
    .await;
    app.google
        .enqueue(KEY_A, Reply::error(429, google_body("429_plain")));
    let answer = app.chat(ask(FLASH)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let calls = generate_calls(&app);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].path.starts_with("/v1beta/models/"));
    assert_eq!(calls[0].api_key.as_deref(), Some(KEY_A));
    assert!(calls[1].path.starts_with("/v1internal:"));
    assert_eq!(calls[1].project.as_deref(), Some("p1"));
    // The key rests for the model; the preferred kind is back once its rest ends.
    let key = records(&app)
        .await
        .into_iter()
        .find(|r| r.kind == gcli2api::store::CredentialKind::GeminiApiKey)
        .unwrap();
    assert!(key.state.model_cooldowns.contains_key(FLASH));
    app.google.clear_requests();
    let answer = app.chat(ask(FLASH)).await;
    assert_eq!(answer.status, 200);
    assert!(generate_calls(&app)[0].path.starts_with("/v1internal:"));
}

#[actix_rt::test]
async fn an_invalid_key_is_disabled_with_its_reason() {
    let bad = "AIzaSyUnknownKeyZulu9999";
    let app = app_with(
        TestOptions::default()
            .env("GEMINI_API_KEYS", format!("{bad},{KEY_A}"))
            .env("CALLS_PER_ROTATION", "1"),
    )
    .await;
    for _ in 0..3 {
        let answer = app.chat(ask(FLASH)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    let refused: Vec<_> = generate_calls(&app)
        .into_iter()
        .filter(|c| c.api_key.as_deref() == Some(bad))
        .collect();
    assert_eq!(refused.len(), 1, "a disabled key is not tried again");
    let all = records(&app).await;
    let dead = all.iter().find(|r| r.credential["api_key"] == bad).unwrap();
    assert!(dead.state.disabled);
    let reason = dead.state.disabled_reason.clone().unwrap_or_default();
    assert!(reason.starts_with("invalid API key:"), "{reason}");
    assert!(reason.contains("API key not valid"), "{reason}");
    let live = all
        .iter()
        .find(|r| r.credential["api_key"] == KEY_A)
        .unwrap();
    assert!(!live.state.disabled);
}

#[actix_rt::test]
async fn a_model_only_one_kind_serves_goes_to_that_kind() {
    let app = app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("GEMINI_API_KEYS", KEY_A)
            .env("CODE_ASSIST_MODELS", "gemini-2.5-pro")
            .env("GEMINI_API_KEY_MODELS", "gemini-2.5-flash*")
            .env("CALLS_PER_ROTATION", "1"),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(app.chat(ask(FLASH)).await.status, 200);
        assert_eq!(app.chat(ask(PRO)).await.status, 200);
    }
    for call in generate_calls(&app) {
        let model = call.model.clone().unwrap_or_default();
        if call.path.starts_with("/v1internal:") {
            assert_eq!(model, PRO);
        } else {
            assert_eq!(model, FLASH, "{}", call.path);
        }
    }
    let answer = app.chat(ask("gemini-1.0-ultra")).await;
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert_eq!(answer.json()["error"]["code"], "model_not_found");
    assert!(
        answer.text().contains("`gemini-1.0-ultra`"),
        "{}",
        answer.text()
    );
}

#[actix_rt::test]
async fn the_panel_adds_pasted_keys_and_a_vertex_key_file() {
    let app = app_with(TestOptions::default()).await;
    let token = app.login().await;
    let req = app
        .client
        .post(app.url("/creds/api-keys"))
        .bearer_auth(&token);
    let answer = app
        .send(
            req,
            Some(&json!({"keys": format!("{KEY_A}\n{KEY_B}, {KEY_A}")})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["count"], 2);
    assert!(!body.to_string().contains(KEY_A), "answered masked");

    let req = app
        .client
        .post(app.url("/creds/vertex"))
        .bearer_auth(&token);
    let sa = service_account("europe-west4");
    let answer = app
        .send(req, Some(&json!({"service_account": sa.to_string()})))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["project_id"], "vproj");

    for bad in [
        json!({"keys": ""}),
        json!({"keys": "short"}),
        json!({"keys": [KEY_A], "kind": "code_assist"}),
        json!({"nothing": 1}),
    ] {
        let req = app
            .client
            .post(app.url("/creds/api-keys"))
            .bearer_auth(&token);
        let answer = app.send(req, Some(&bad)).await;
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text());
        assert!(answer.json()["error"]["message"].is_string());
    }
    let mut no_key = sa.clone();
    no_key.as_object_mut().unwrap().remove("private_key");
    let req = app
        .client
        .post(app.url("/creds/vertex"))
        .bearer_auth(&token);
    let answer = app
        .send(req, Some(&json!({"service_account": no_key})))
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(answer.text().contains("private_key"));

    let kinds: Vec<_> = records(&app)
        .await
        .into_iter()
        .map(|r| r.kind.as_str())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "gemini_api_key").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "vertex").count(), 1);
    for _ in 0..3 {
        assert_eq!(app.chat(ask(FLASH)).await.status, 200);
    }
}
