use serde_json::json;

use crate::fake_google::Reply;
use crate::harness::*;

fn contents() -> serde_json::Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
}

#[actix_rt::test]
async fn generate_content_unwraps_the_envelope() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1beta/models/gemini-2.5-flash:generateContent",
            &contents(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert!(body.get("response").is_none());
    assert_eq!(
        body["candidates"][0]["content"]["parts"][0]["text"],
        "Hello from gemini-2.5-flash"
    );
    let call = &app.upstream_calls()[0];
    assert_eq!(call.body["model"], "gemini-2.5-flash");
    assert_eq!(
        call.body["request"]["contents"][0]["parts"][0]["text"],
        "hi"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn stream_generate_content_is_sse_without_done() {
    let app = spawn_app().await;
    app.google.enqueue("p1", Reply::stream_chunks(["a", "b"]));
    let req = app
        .client
        .post(app.url("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"))
        .insert_header(("x-goog-api-key", PASSWORD));
    let answer = app.send(req, Some(&contents())).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(!answer.sse_data().iter().any(|d| d == "[DONE]"));
    let events = answer.sse_json();
    let text: String = events
        .iter()
        .filter_map(|e| e["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "ab");
    assert!(events.iter().all(|e| e.get("response").is_none()));
    app.stop().await;
}

#[actix_rt::test]
async fn every_auth_style_works_on_gemini_routes() {
    let app = spawn_app().await;
    let path = "/v1beta/models/gemini-2.5-flash:generateContent";
    let bearer = app
        .send(
            app.client.post(app.url(path)).bearer_auth(PASSWORD),
            Some(&contents()),
        )
        .await;
    assert_eq!(bearer.status, 200);
    let header = app
        .send(
            app.client
                .post(app.url(path))
                .insert_header(("x-goog-api-key", PASSWORD)),
            Some(&contents()),
        )
        .await;
    assert_eq!(header.status, 200);
    let query = app
        .send(
            app.client.post(app.url(&format!("{path}?key={PASSWORD}"))),
            Some(&contents()),
        )
        .await;
    assert_eq!(query.status, 200);
    let missing = app
        .send(app.client.post(app.url(path)), Some(&contents()))
        .await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json()["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(missing.json()["error"]["code"], 401);
    let wrong = app
        .send(
            app.client
                .post(app.url(path))
                .insert_header(("x-goog-api-key", "bad")),
            Some(&contents()),
        )
        .await;
    assert_eq!(wrong.status, 403);
    assert_eq!(wrong.json()["error"]["status"], "PERMISSION_DENIED");
    app.stop().await;
}

#[actix_rt::test]
async fn prefixed_model_names_are_percent_decoded() {
    let app = spawn_app().await;
    let encoded = "%E5%81%87%E6%B5%81%E5%BC%8F%2Fgemini-2.5-flash";
    let answer = app
        .post(
            &format!("/v1beta/models/{encoded}:generateContent"),
            &contents(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(app.upstream_calls()[0].body["model"], "gemini-2.5-flash");
    app.stop().await;
}

#[actix_rt::test]
async fn upstream_429_reaches_gemini_client_in_google_shape() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("RETRY_429_ENABLED", "false"),
    )
    .await;
    app.google
        .enqueue("p1", Reply::quota_exhausted_until("2099-01-01T00:00:00Z"));
    let answer = app
        .post(
            "/v1beta/models/gemini-2.5-flash:generateContent",
            &contents(),
        )
        .await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.json()["error"]["status"], "RESOURCE_EXHAUSTED");
    app.stop().await;
}

#[actix_rt::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn_app().await;
    let missing = app.get("/nope").await;
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"]["message"].is_string());
    let wrong_method = app.get("/v1/chat/completions").await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(
        wrong_method.json()["error"]["type"],
        "invalid_request_error"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn browser_clients_get_cors_headers() {
    let app = spawn_app().await;
    let preflight = app
        .send(
            app.client
                .request(awc::http::Method::OPTIONS, app.url("/v1/chat/completions"))
                .insert_header(("Origin", "https://chat.example"))
                .insert_header(("Access-Control-Request-Method", "POST"))
                .insert_header((
                    "Access-Control-Request-Headers",
                    "authorization, content-type",
                )),
            None,
        )
        .await;
    assert!(preflight.status < 300, "{}", preflight.status);
    assert!(preflight
        .headers
        .get("access-control-allow-origin")
        .is_some());
    let models = app
        .send(
            app.client
                .get(app.url("/v1/models"))
                .bearer_auth(PASSWORD)
                .insert_header(("Origin", "https://chat.example")),
            None,
        )
        .await;
    assert_eq!(models.status, 200);
    assert!(models.headers.get("access-control-allow-origin").is_some());
    let probe = app.send(app.client.head(app.url("/keepalive")), None).await;
    assert_eq!(probe.status, 200);
    app.stop().await;
}
