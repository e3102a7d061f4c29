//! The credential fleet: rotation, cooldowns, retries, auto-ban, refresh, usage.

use serde_json::json;

use crate::fake_google::{Reply, TokenReply};
use crate::harness::*;

fn ask(model: &str) -> serde_json::Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

fn three_creds() -> TestOptions {
    TestOptions::default()
        .cred("a.json", credential("rt-a", Some("pa"), None))
        .cred("b.json", credential("rt-b", Some("pb"), None))
        .cred("c.json", credential("rt-c", Some("pc"), None))
}

fn projects(app: &TestApp) -> Vec<String> {
    app.upstream_calls()
        .iter()
        .map(|c| c.project.clone().unwrap_or_default())
        .collect()
}

async fn wait_ready(app: &TestApp, n: usize) {
    // Tokens are refreshed in the background at start; wait until every credential actor holds the one
    // the fake issued (it publishes its status for the choice before it answers for its record).
    app.eventually_async("all credentials refreshed", || async {
        let tokens = app.credential_tokens().await;
        tokens.len() == n
            && tokens
                .iter()
                .all(|t| t.as_deref().is_some_and(|t| t.starts_with("at-")))
    })
    .await;
}

#[actix_rt::test]
async fn each_credential_serves_calls_per_rotation_calls() {
    let app = spawn_app_with(three_creds().env("CALLS_PER_ROTATION", "2")).await;
    wait_ready(&app, 3).await;
    for _ in 0..6 {
        assert_eq!(app.chat(ask("gemini-2.5-flash")).await.status, 200);
    }
    assert_eq!(projects(&app), ["pa", "pa", "pb", "pb", "pc", "pc"]);
    app.stop().await;
}

#[actix_rt::test]
async fn a_429_with_reset_hint_cools_the_credential_for_that_model() {
    let app = spawn_app_with(three_creds().env("CALLS_PER_ROTATION", "100")).await;
    wait_ready(&app, 3).await;
    let reset = (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339();
    app.google
        .enqueue("pa", Reply::quota_exhausted_until(&reset));
    let answer = app.chat(ask("gemini-2.5-pro")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(projects(&app), ["pa", "pb"]);
    let status = app.get("/creds/status").await.json();
    let pa = status["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["filename"] == "a.json")
        .unwrap()
        .clone();
    let cooling: Vec<&String> = pa["model_cooldowns"].as_object().unwrap().keys().collect();
    assert_eq!(cooling, ["gemini-2.5-pro"]);
    assert_eq!(pa["disabled"], false);
    // With the others out of the way: pa still serves other models, but not the cooling one…
    for name in ["b.json", "c.json"] {
        app.post(
            "/creds/action",
            &json!({"filename": name, "action": "disable"}),
        )
        .await;
    }
    app.google.clear_requests();
    assert_eq!(app.chat(ask("gemini-2.5-flash")).await.status, 200);
    assert_eq!(projects(&app), ["pa"]);
    let cooling = app.chat(ask("gemini-2.5-pro")).await;
    assert_eq!(cooling.status, 429, "{}", cooling.text());
    assert_eq!(cooling.json()["error"]["code"], "model_cooldown");
    let wait: i64 = cooling
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((590..=600).contains(&wait), "{wait}");
    // …until the reset time has passed.
    app.clock.advance(11 * 60);
    app.google.clear_requests();
    assert_eq!(app.chat(ask("gemini-2.5-pro")).await.status, 200);
    assert_eq!(projects(&app), ["pa"]);
    app.stop().await;
}

#[actix_rt::test]
async fn retries_exhausted_hand_the_429_to_the_client() {
    let app = spawn_app_with(three_creds().env("RETRY_429_MAX_RETRIES", "2")).await;
    wait_ready(&app, 3).await;
    app.google
        .set_default_reply(None, Reply::resource_exhausted());
    let answer = app.chat(ask("gemini-2.5-flash")).await;
    assert_eq!(answer.status, 429, "{}", answer.text());
    assert_eq!(answer.json()["error"]["type"], "rate_limit_error");
    let used = projects(&app);
    assert_eq!(used.len(), 3, "first try and two retries: {used:?}");
    let mut distinct = used.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "each retry on another credential");
    app.stop().await;
}

#[actix_rt::test]
async fn auto_ban_disables_on_403_and_retries_elsewhere() {
    let app = spawn_app_with(three_creds().env("CALLS_PER_ROTATION", "100")).await;
    wait_ready(&app, 3).await;
    app.google.enqueue("pa", Reply::forbidden());
    let answer = app.chat(ask("gemini-2.5-flash")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(projects(&app), ["pa", "pb"]);
    let status = app.get("/creds/status?status_filter=disabled").await.json();
    let items = status["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["filename"], "a.json");
    assert!(items[0]["disabled_reason"]
        .as_str()
        .unwrap()
        .contains("403"));
    assert_eq!(items[0]["error_codes"], json!([403]));
    app.stop().await;
}

#[actix_rt::test]
async fn invalid_grant_disables_the_credential() {
    let google = crate::fake_google::FakeGoogle::start().await;
    google.set_token_reply("rt-a", TokenReply::InvalidGrant);
    let app = spawn_app_with(TestOptions {
        google: Some(google),
        ..three_creds()
    })
    .await;
    let answer = app.chat(ask("gemini-2.5-flash")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(!projects(&app).contains(&"pa".to_string()));
    app.eventually_async("a.json disabled for invalid_grant", || async {
        let s = app.get("/creds/status?status_filter=disabled").await.json();
        s["items"].as_array().is_some_and(|items| {
            items.iter().any(|i| {
                i["filename"] == "a.json"
                    && i["disabled_reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("invalid_grant"))
            })
        })
    })
    .await;
    app.stop().await;
}

#[actix_rt::test]
async fn transient_refresh_failure_recovers_by_itself() {
    let google = crate::fake_google::FakeGoogle::start().await;
    google.set_token_reply("rt-a", TokenReply::Status(503));
    let app = spawn_app_with(
        TestOptions {
            google: Some(google),
            ..TestOptions::default()
        }
        .cred("a.json", credential("rt-a", Some("pa"), None)),
    )
    .await;
    let google = &app.google;
    app.eventually("a refresh failed", || google.token_refreshes("rt-a") >= 1)
        .await;
    // The endpoint recovers; the credential comes back without anyone touching it.
    app.google.set_token_reply("rt-a", TokenReply::Ok);
    app.eventually("refresh retried", || google.token_refreshes("rt-a") >= 2)
        .await;
    let answer = app.chat(ask("gemini-2.5-flash")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let status = app.get("/creds/status").await.json();
    assert_eq!(status["items"][0]["disabled"], false);
    app.stop().await;
}

#[actix_rt::test]
async fn tokens_are_refreshed_in_the_background_before_expiry() {
    let mut cred = credential("rt-a", Some("pa"), Some("old-token"));
    // Four minutes left: inside the five-minute refresh window.
    cred["expiry"] = json!((chrono::Utc::now() + chrono::Duration::minutes(4)).to_rfc3339());
    let app = spawn_app_with(TestOptions::default().cred("a.json", cred)).await;
    let google = &app.google;
    app.eventually("background refresh", || google.token_refreshes("rt-a") == 1)
        .await;
    app.eventually_async("the refreshed token is in use", || async {
        app.credential_tokens().await[0]
            .as_deref()
            .is_some_and(|t| t.starts_with("at-rt-a"))
    })
    .await;
    let answer = app.chat(ask("gemini-2.5-flash")).await;
    assert_eq!(answer.status, 200);
    let token = app.upstream_calls()[0].access_token.clone().unwrap();
    assert!(token.starts_with("at-rt-a"), "{token}");
    assert_eq!(
        app.google.token_refreshes("rt-a"),
        1,
        "the request did not trigger a refresh"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn usage_survives_a_restart_and_resets_at_seven_utc() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let app = spawn_app_with(
        TestOptions {
            dir: Some(dir),
            ..TestOptions::default()
        }
        .cred("a.json", credential("rt-a", Some("pa"), None)),
    )
    .await;
    for model in ["gemini-2.5-pro", "gemini-2.5-pro", "gemini-2.5-flash"] {
        assert_eq!(app.chat(ask(model)).await.status, 200);
    }
    let stats = app.get("/usage/stats").await.json();
    assert_eq!(stats["data"]["a.json"]["total_calls"], 3);
    assert_eq!(stats["data"]["a.json"]["gemini_2_5_pro_calls"], 2);
    let (dir, _google) = app.shutdown().await;
    let _ = path;

    let app = spawn_app_with(TestOptions {
        dir: Some(dir),
        ..TestOptions::default()
    })
    .await;
    let stats = app.get("/usage/stats").await.json();
    assert_eq!(stats["data"]["a.json"]["total_calls"], 3, "{stats}");
    // Move the clock past the next 07:00 UTC boundary.
    let next = chrono::DateTime::parse_from_rfc3339(
        stats["data"]["a.json"]["next_reset_time"].as_str().unwrap(),
    )
    .unwrap()
    .timestamp();
    app.clock.advance(next - chrono::Utc::now().timestamp() + 1);
    let stats = app.get("/usage/stats").await.json();
    assert_eq!(stats["data"]["a.json"]["total_calls"], 0);
    assert_eq!(stats["data"]["a.json"]["success_total"], 3);
    app.stop().await;
}

/// Successes are tallied on the request workers and folded into the usage counters by each credential's
/// actor; whatever the interleaving, the panel counts every answered call once, on the credential that
/// answered it.
#[actix_rt::test]
async fn concurrent_successes_are_each_counted_once_on_their_credential() {
    let app = spawn_app_with(three_creds()).await;
    wait_ready(&app, 3).await;
    let calls = (0..60).map(|_| app.chat(ask("gemini-2.5-flash")));
    let answers = futures_util::future::join_all(calls).await;
    assert!(answers.iter().all(|a| a.status == 200));
    let stats = app.get("/usage/stats").await.json();
    let upstream = projects(&app);
    let mut total = 0;
    for (name, project) in [("a.json", "pa"), ("b.json", "pb"), ("c.json", "pc")] {
        let served = upstream.iter().filter(|p| *p == project).count() as u64;
        assert_eq!(
            stats["data"][name]["total_calls"].as_u64(),
            Some(served),
            "{name}: {stats}"
        );
        total += served;
    }
    assert_eq!(total, 60);
    app.stop().await;
}
