//! API keys with quotas.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::fake_google::Reply;
use crate::harness::*;

async fn create_key(app: &TestApp, token: &str, body: Value) -> String {
    app.create_key(token, body).await["api_key"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn key_info(app: &TestApp, token: &str, key: &str) -> Value {
    let req = app
        .client
        .get(app.url(&format!("/auth/keys/{key}")))
        .bearer_auth(token);
    app.send(req, None).await.json()
}

#[actix_rt::test]
async fn create_list_get_delete() {
    let app = spawn_app().await;
    let token = app.login().await;
    let key = create_key(
        &app,
        &token,
        json!({"total_quota": 100, "description": "alice"}),
    )
    .await;
    assert!(key.starts_with("sk-") && key.len() == 46, "{key}");
    let list = app
        .send(
            app.client.get(app.url("/auth/keys")).bearer_auth(&token),
            None,
        )
        .await
        .json();
    assert_eq!(list["total_keys"], 1);
    assert_eq!(list["keys"][0]["description"], "alice");
    assert_eq!(list["keys"][0]["remaining_quota"], 100);
    assert_eq!(key_info(&app, &token, &key).await["total_quota"], 100);
    let bad = app
        .send(
            app.client.post(app.url("/auth/keys")).bearer_auth(&token),
            Some(&json!({"total_quota": 0})),
        )
        .await;
    assert_eq!(bad.status, 400);
    let del = app
        .send(
            app.client
                .delete(app.url(&format!("/auth/keys/{key}")))
                .bearer_auth(&token),
            None,
        )
        .await;
    assert_eq!(del.status, 200);
    let again = app
        .send(
            app.client
                .delete(app.url(&format!("/auth/keys/{key}")))
                .bearer_auth(&token),
            None,
        )
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(app.chat_as(&key, "gemini-2.5-flash").await.status, 403);
    app.stop().await;
}

#[actix_rt::test]
async fn keys_pay_per_model_on_both_route_families() {
    let app = spawn_app().await;
    let token = app.login().await;
    let key = create_key(&app, &token, json!({"total_quota": 100})).await;
    assert_eq!(app.chat_as(&key, "gemini-2.5-pro").await.status, 200);
    assert_eq!(
        app.chat_as(&key, "gemini-2.5-flash-maxthinking")
            .await
            .status,
        200
    );
    let native = app
        .client
        .post(app.url("/v1beta/models/gemini-2.5-flash:generateContent"))
        .insert_header(("x-goog-api-key", key.as_str()));
    let answer = app
        .send(
            native,
            Some(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let stream = app.client.post(app.url(&format!(
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key={key}"
    )));
    assert_eq!(
        app.send(
            stream,
            Some(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}))
        )
        .await
        .status,
        200
    );
    let anti = app
        .client
        .post(app.url("/v1/chat/completions"))
        .insert_header(("x-api-key", key.as_str()));
    app.google
        .enqueue("p1", Reply::stream_chunks(["done [done]"]));
    let answer = app
        .send(anti, Some(&json!({"model": "流式抗截断/gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "hi"}]})))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let info = key_info(&app, &token, &key).await;
    // pro 10 + flash 2 + native flash 2 + stream flash 2 + anti-truncation flash 4
    assert_eq!(info["used_quota"], 20, "{info}");
    assert_eq!(info["model_stats"]["gemini-2.5-pro"], 10, "{info}");
    let own = app
        .send(
            app.client.get(app.url("/auth/quota")).bearer_auth(&key),
            None,
        )
        .await
        .json();
    assert_eq!(own["remaining_quota"], 80);
    assert!(!own["api_key"].as_str().unwrap().contains(&key[10..40]));
    app.stop().await;
}

#[actix_rt::test]
async fn exhausted_keys_get_429_and_failures_are_refunded() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("RETRY_429_ENABLED", "false"),
    )
    .await;
    let token = app.login().await;
    let key = create_key(&app, &token, json!({"total_quota": 12})).await;
    app.google.enqueue("p1", Reply::internal_error());
    assert_eq!(app.chat_as(&key, "gemini-2.5-pro").await.status, 500);
    app.eventually_async("refund applied", || async {
        key_info(&app, &token, &key).await["used_quota"] == 0
    })
    .await;
    assert_eq!(app.chat_as(&key, "gemini-2.5-pro").await.status, 200);
    let spent = app.chat_as(&key, "gemini-2.5-pro").await;
    assert_eq!(spent.status, 429);
    assert_eq!(spent.json()["error"]["type"], "insufficient_quota");
    assert!(spent.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("quota"));
    // Two units left: a flash call (cost 2) still fits.
    assert_eq!(app.chat_as(&key, "gemini-2.5-flash").await.status, 200);
    let native = app
        .client
        .post(app.url("/v1beta/models/gemini-2.5-flash:generateContent"))
        .insert_header(("x-goog-api-key", key.as_str()));
    let answer = app
        .send(
            native,
            Some(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})),
        )
        .await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.json()["error"]["status"], "RESOURCE_EXHAUSTED");
    app.stop().await;
}

#[actix_rt::test]
async fn concurrent_debits_never_overspend() {
    let app = spawn_app().await;
    let token = app.login().await;
    let key = create_key(&app, &token, json!({"total_quota": 50})).await;
    let calls = (0..200).map(|_| app.chat_as(&key, "gemma-3-27b"));
    let answers = join_all(calls).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let refused = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!((ok, refused), (50, 150));
    assert_eq!(app.upstream_calls().len(), 50);
    assert_eq!(key_info(&app, &token, &key).await["used_quota"], 50);
    app.stop().await;
}

#[actix_rt::test]
async fn allow_list_and_public_lookup() {
    let app = spawn_app().await;
    let token = app.login().await;
    let key = create_key(
        &app,
        &token,
        json!({"total_quota": 50, "allowed_models": ["gemini-2.5-flash"]}),
    )
    .await;
    assert_eq!(app.chat_as(&key, "gemini-2.5-pro").await.status, 403);
    assert_eq!(app.chat_as(&key, "gemini-2.5-flash-low").await.status, 200);
    let query = app
        .send(
            app.client.post(app.url("/auth/query")),
            Some(&json!({"api_key": key})),
        )
        .await;
    assert_eq!(query.status, 200);
    let body = query.json();
    assert_eq!(body["used_quota"], 2);
    assert_eq!(body["remaining_quota"], 48);
    assert_eq!(body["usage_percentage"], 4.0);
    // The store keeps the key hashed: the answer shows its first characters only.
    let shown = body["api_key"].as_str().unwrap();
    assert_eq!(shown, gcli2api::key_id::display_prefix(&key));
    assert!(!query.text().contains(&key));
    let unknown = app
        .send(
            app.client.post(app.url("/auth/query")),
            Some(&json!({"api_key": "sk-nope"})),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let missing = app
        .send(app.client.post(app.url("/auth/query")), Some(&json!({})))
        .await;
    assert_eq!(missing.status, 400);
    app.stop().await;
}

#[actix_rt::test]
async fn model_costs_are_editable() {
    let app = spawn_app().await;
    let token = app.login().await;
    let public = app
        .send(
            app.client
                .get(app.url("/auth/models/gemini-2.5-flash/cost")),
            None,
        )
        .await
        .json();
    assert_eq!(
        public,
        json!({"model_name": "gemini-2.5-flash", "cost": 2, "is_default": true})
    );
    let set = app
        .send(
            app.client
                .post(app.url("/auth/models/costs"))
                .bearer_auth(&token),
            Some(&json!({"model_name": "gemini-2.5-flash", "cost": 5})),
        )
        .await;
    assert_eq!(set.status, 200);
    let costs = app
        .send(
            app.client
                .get(app.url("/auth/models/costs"))
                .bearer_auth(&token),
            None,
        )
        .await
        .json();
    assert_eq!(costs["model_costs"]["gemini-2.5-flash"], 5);
    assert_eq!(costs["default_cost"], 1);
    let prefixed = app
        .send(app.client.get(app.url("/auth/models/%E6%B5%81%E5%BC%8F%E6%8A%97%E6%88%AA%E6%96%AD%2Fgemini-2.5-flash/cost")), None)
        .await
        .json();
    assert_eq!(prefixed["cost"], 10);
    let del = app
        .send(
            app.client
                .delete(app.url("/auth/models/costs/gemini-2.5-flash"))
                .bearer_auth(&token),
            None,
        )
        .await;
    assert_eq!(del.status, 200);
    let del = app
        .send(
            app.client
                .delete(app.url("/auth/models/costs/gemini-2.5-flash"))
                .bearer_auth(&token),
            None,
        )
        .await;
    assert_eq!(del.status, 404);
    app.stop().await;
}

#[actix_rt::test]
async fn concurrency_limit_and_expiry_per_key() {
    let app = spawn_app().await;
    let token = app.login().await;
    let key = create_key(
        &app,
        &token,
        json!({"total_quota": 100, "max_concurrent": 1}),
    )
    .await;
    app.google.enqueue("p1", Reply::text("slow").delay_ms(500));
    let (first, second) =
        futures_util::future::join(app.chat_as(&key, "gemini-2.5-flash"), async {
            // The first request is in flight once Google has it (the debit comes before the call).
            app.eventually("the first request reached Google", || {
                app.upstream_calls().len() == 1
            })
            .await;
            app.chat_as(&key, "gemini-2.5-flash").await
        })
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(second.status, 429, "{}", second.text());
    assert!(second.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("in flight"));
    assert_eq!(
        app.chat_as(&key, "gemini-2.5-flash").await.status,
        200,
        "the slot was released"
    );
    assert_eq!(
        key_info(&app, &token, &key).await["used_quota"],
        4,
        "the refused request paid nothing"
    );

    let soon = chrono::Utc::now().timestamp() + 60;
    let expiring = create_key(
        &app,
        &token,
        json!({"total_quota": 100, "expires_at": soon}),
    )
    .await;
    assert_eq!(app.chat_as(&expiring, "gemini-2.5-flash").await.status, 200);
    app.clock.advance(120);
    let expired = app.chat_as(&expiring, "gemini-2.5-flash").await;
    assert_eq!(expired.status, 403);
    assert!(expired.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
    app.stop().await;
}
