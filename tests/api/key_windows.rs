//! A key's limits per time window (`limits`, `rpm`, `tpm`, `model_rpm`), its source addresses
//! (`allowed_ips`) and `PATCH /auth/keys/{key}`, through the gateway in process (files store, test
//! clock).

use serde_json::{json, Value};

use crate::fake_google::Reply;
use crate::harness::*;

const FLASH: &str = "gemini-2.5-flash";
const PRO: &str = "gemini-2.5-pro";

async fn new_key(app: &TestApp, token: &str, body: Value) -> String {
    app.create_key(token, body).await["api_key"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn patch(app: &TestApp, token: &str, key: &str, body: Value) -> Answer {
    let req = app
        .client
        .patch(app.url(&format!("/auth/keys/{key}")))
        .bearer_auth(token);
    app.send(req, Some(&body)).await
}

async fn key_view(app: &TestApp, token: &str, key: &str) -> Value {
    let req = app
        .client
        .get(app.url(&format!("/auth/keys/{key}")))
        .bearer_auth(token);
    let answer = app.send(req, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

fn retry_after(answer: &Answer) -> u64 {
    answer
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After on a window refusal")
}

fn assert_window_refusal(answer: &Answer, window: &str) {
    assert_eq!(answer.status, 429, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["error"]["code"], "key_window_exhausted", "{body}");
    assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(window), "{message}");
}

#[actix_rt::test]
async fn a_request_limit_refuses_in_every_dialect_and_renews_with_the_window() {
    let app = spawn_app().await;
    let token = app.login().await;
    let key = new_key(&app, &token, json!({"rpm": 1})).await;
    assert_eq!(app.chat_as(&key, FLASH).await.status, 200);

    let chat = app.chat_as(&key, FLASH).await;
    assert_window_refusal(&chat, "1m");
    let wait = retry_after(&chat);
    assert!((1..=60).contains(&wait), "{wait}");

    let app = &app;
    let send = |path: &str, body: Value| {
        let req = app.client.post(app.url(path)).bearer_auth(&key);
        let body = body.clone();
        async move { app.send(req, Some(&body)).await }
    };
    let anthropic = send(
        "/v1/messages",
        json!({"model": FLASH, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(anthropic.status, 429, "{}", anthropic.text());
    assert_eq!(anthropic.json()["type"], "error");
    assert_eq!(anthropic.json()["error"]["type"], "rate_limit_error");
    assert!(anthropic.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("1m"));
    assert!(retry_after(&anthropic) >= 1);

    let gemini = send(
        &format!("/v1beta/models/{FLASH}:generateContent"),
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
    )
    .await;
    assert_eq!(gemini.status, 429, "{}", gemini.text());
    assert_eq!(gemini.json()["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(gemini.json()["error"]["code"], 429);
    assert!(retry_after(&gemini) >= 1);

    let responses = send("/v1/responses", json!({"model": FLASH, "input": "hi"})).await;
    assert_window_refusal(&responses, "1m");

    // The refusals counted nothing, and the window moves on with the clock.
    app.clock.advance(i64::try_from(wait).unwrap());
    assert_eq!(app.chat_as(&key, FLASH).await.status, 200);
    assert_eq!(app.chat_as(&key, FLASH).await.status, 429);
}

#[actix_rt::test]
async fn a_token_limit_refuses_the_next_request_once_crossed() {
    let app = spawn_app().await;
    app.google.set_default_reply(
        None,
        Reply::text("hello").usage(json!({
            "promptTokenCount": 20,
            "candidatesTokenCount": 30,
            "totalTokenCount": 50
        })),
    );
    let token = app.login().await;
    let key = new_key(
        &app,
        &token,
        json!({"limits": [{"window": "1h", "tokens": 60}]}),
    )
    .await;
    assert_eq!(app.chat_as(&key, FLASH).await.status, 200);
    app.eventually_async("the first answer's tokens are counted", || async {
        key_view(&app, &token, &key).await["windows"][0]["used"]["tokens"] == 50
    })
    .await;
    // 50 of 60: still room, and this answer takes the key over its limit.
    assert_eq!(app.chat_as(&key, FLASH).await.status, 200);
    app.eventually_async("the second answer's tokens are counted", || async {
        key_view(&app, &token, &key).await["windows"][0]["used"]["tokens"] == 100
    })
    .await;
    assert_window_refusal(&app.chat_as(&key, FLASH).await, "1h");
    let view = key_view(&app, &token, &key).await;
    assert_eq!(view["windows"][0]["window"], "1h");
    assert_eq!(view["windows"][0]["limit"]["tokens"], 60);
    assert_eq!(view["windows"][0]["used"]["requests"], 2);
}

#[actix_rt::test]
async fn a_model_limit_counts_only_that_model() {
    let app = spawn_app().await;
    let token = app.login().await;
    let key = new_key(&app, &token, json!({"model_rpm": {PRO: 1}})).await;
    assert_eq!(app.chat_as(&key, PRO).await.status, 200);
    assert_window_refusal(&app.chat_as(&key, PRO).await, "1m");
    // A variant of the model counts as the model (matched as allowed_models are).
    assert_window_refusal(&app.chat_as(&key, "gemini-2.5-pro-search").await, "1m");
    for _ in 0..3 {
        assert_eq!(app.chat_as(&key, FLASH).await.status, 200);
    }
    let view = key_view(&app, &token, &key).await;
    assert_eq!(view["model_rpm"][PRO], 1, "answered as written: {view}");
    assert_eq!(view["windows"][0]["model"], PRO);
    assert_eq!(view["windows"][0]["used"]["requests"], 1);
}

#[actix_rt::test]
async fn a_calendar_day_renews_at_midnight_in_the_configured_zone() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("KEYS_TIMEZONE", "Asia/Tokyo"),
    )
    .await;
    let token = app.login().await;
    let key = new_key(
        &app,
        &token,
        json!({"limits": [{"window": "day", "requests": 1, "cost": 100}]}),
    )
    .await;
    assert_eq!(app.chat_as(&key, FLASH).await.status, 200);
    let refusal = app.chat_as(&key, FLASH).await;
    assert_window_refusal(&refusal, "day");
    // Tokyo is UTC+9 all year: its next midnight is 15:00 UTC.
    let now = app.clock.now();
    let next_midnight = (now + 9 * 3600).div_euclid(86_400) * 86_400 + 86_400 - 9 * 3600;
    let wait = retry_after(&refusal);
    assert!(
        (next_midnight - now - 2..=next_midnight - now).contains(&i64::try_from(wait).unwrap()),
        "{wait} vs {}",
        next_midnight - now
    );
    let own = app
        .send(
            app.client.get(app.url("/auth/quota")).bearer_auth(&key),
            None,
        )
        .await
        .json();
    let renews =
        chrono::DateTime::parse_from_rfc3339(own["windows"][0]["renews_at"].as_str().unwrap())
            .unwrap()
            .timestamp();
    assert_eq!(renews, next_midnight, "{own}");
    assert_eq!(own["windows"][0]["used"]["requests"], 1);
    assert_eq!(own["windows"][0]["limit"]["cost"], 100);
    let queried = app
        .send(
            app.client.post(app.url("/auth/query")),
            Some(&json!({"api_key": key})),
        )
        .await
        .json();
    assert_eq!(queried["windows"][0]["window"], "day", "{queried}");
    app.clock.advance(i64::try_from(wait).unwrap());
    assert_eq!(app.chat_as(&key, FLASH).await.status, 200);
}

#[actix_rt::test]
async fn allowed_ips_admit_the_listed_network_only() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("TRUSTED_PROXIES", "127.0.0.1/32"),
    )
    .await;
    let token = app.login().await;
    let key = new_key(
        &app,
        &token,
        json!({"allowed_ips": ["10.1.2.0/24", "::1/128"]}),
    )
    .await;
    let app = &app;
    let from = |address: &str| {
        let req = app
            .client
            .post(app.url("/v1/chat/completions"))
            .bearer_auth(&key)
            .insert_header(("X-Forwarded-For", address.to_string()));
        async move {
            let body = json!({"model": FLASH, "messages": [{"role": "user", "content": "hi"}]});
            app.send(req, Some(&body)).await
        }
    };
    let outside = from("10.9.9.9").await;
    assert_eq!(outside.status, 403, "{}", outside.text());
    assert!(outside.text().contains("address"), "{}", outside.text());
    assert_eq!(from("10.1.2.3").await.status, 200);
    // The proxy itself (127.0.0.1, no forwarded address) is not listed either.
    assert_eq!(app.chat_as(&key, FLASH).await.status, 403);
}

#[actix_rt::test]
async fn patch_changes_the_limits_the_next_request_obeys_and_is_audited() {
    let app = spawn_app().await;
    let token = app.login().await;
    let key = new_key(&app, &token, json!({"description": "team"})).await;
    for _ in 0..3 {
        assert_eq!(app.chat_as(&key, FLASH).await.status, 200);
    }
    let used = key_view(&app, &token, &key).await["used_quota"].clone();
    let answer = patch(
        &app,
        &token,
        &key,
        json!({"limits": [{"window": "1m", "requests": 1}], "description": "team a", "expires_at": null}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let view = answer.json();
    assert_eq!(view["description"], "team a");
    assert_eq!(view["limits"][0]["window"], "1m");
    assert_eq!(view["used_quota"], used, "the key's use stays: {view}");
    assert_ne!(view["api_key"], key, "the answer masks the key");
    assert_eq!(app.chat_as(&key, FLASH).await.status, 200);
    assert_window_refusal(&app.chat_as(&key, FLASH).await, "1m");

    // Lifting the limit lets the next request through.
    let lifted = patch(&app, &token, &key, json!({"limits": null})).await;
    assert_eq!(lifted.status, 200, "{}", lifted.text());
    assert_eq!(app.chat_as(&key, FLASH).await.status, 200);

    app.eventually_async("two key_updated entries", || async {
        let entries = app.get("/audit?action=key_updated").await.json()["entries"]
            .as_array()
            .map_or(0, Vec::len);
        entries >= 2
    })
    .await;
    let entries = app.get("/audit?action=key_updated").await.json()["entries"].clone();
    let first = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["changes"]["description"].is_object())
        .expect("the change of the description")
        .clone();
    assert_eq!(first["changes"]["description"]["from"], "team");
    assert_eq!(first["changes"]["description"]["to"], "team a");
    assert!(first["changes"]["limits"].is_object(), "{first}");
    assert!(
        first["changes"].get("total_quota").is_none(),
        "only what changed: {first}"
    );
    assert!(!first.to_string().contains(&key), "no key in the audit log");
}

#[actix_rt::test]
async fn bad_bodies_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let token = app.login().await;
    let app = &app;
    let token = &token;
    let post = |body: Value| {
        let req = app.client.post(app.url("/auth/keys")).bearer_auth(token);
        async move { app.send(req, Some(&body)).await }
    };
    for (body, field) in [
        (
            json!({"limits": [{"window": "2m", "requests": 1}]}),
            "limits[0].window",
        ),
        (json!({"limits": [{"window": "1m"}]}), "limits[0]"),
        (
            json!({"limits": [{"window": "1m", "requests": 0}]}),
            "limits[0].requests",
        ),
        (json!({"limits": "1m"}), "limits"),
        (json!({"rpm": 0}), "rpm"),
        (json!({"tpm": "many"}), "tpm"),
        (json!({"model_rpm": {PRO: 0}}), "model_rpm"),
        (json!({"allowed_ips": ["10.0.0.0/33"]}), "allowed_ips[0]"),
        (
            json!({"limits": (0..33).map(|_| json!({"window": "1h", "requests": 5})).collect::<Vec<_>>()}),
            "limits",
        ),
    ] {
        let answer = post(body.clone()).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text());
        assert!(answer.text().contains(field), "{body}: {}", answer.text());
    }
    let key = new_key(app, token, json!({})).await;
    for (body, field) in [
        (json!({"rpm": -1}), "rpm"),
        (json!({"allowed_ips": ["nowhere"]}), "allowed_ips[0]"),
        (json!({"api_key": "sk-other"}), "api_key"),
        (json!({"total_quota": 0}), "total_quota"),
        (json!({}), "nothing"),
        (json!([1]), "object"),
    ] {
        let answer = patch(app, token, &key, body.clone()).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text());
        assert!(answer.text().contains(field), "{body}: {}", answer.text());
    }
    let missing = patch(app, token, "sk-missing", json!({"rpm": 5})).await;
    assert_eq!(missing.status, 404);
    let anonymous = app
        .send(
            app.client.patch(app.url(&format!("/auth/keys/{key}"))),
            Some(&json!({"rpm": 5})),
        )
        .await;
    assert_eq!(anonymous.status, 401);
}
