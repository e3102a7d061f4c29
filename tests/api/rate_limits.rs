//! Google's real 429 bodies (tests/fixtures/google_errors) through the real gateway: each kind benches a
//! credential only as long as it deserves, and "everyone is limited" is a 429 with `Retry-After`, never
//! a 5xx. Waiting is done by moving the injected clock, not by sleeping.

use serde_json::{json, Value};

use crate::fake_google::Reply;
use crate::harness::*;

const PRO: &str = "gemini-2.5-pro";
const FLASH: &str = "gemini-2.5-flash";

/// One of Google's error bodies, as stored under tests/fixtures/google_errors.
pub(crate) fn google_body(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/google_errors/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn google_429(name: &str) -> Reply {
    Reply::error(429, google_body(name))
}

pub(crate) fn ask(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

/// Credentials `a`, `b`, … (projects `pa`, `pb`, …) rotating every `rotation` calls.
pub(crate) fn creds(names: &[&str], rotation: u32) -> TestOptions {
    let mut opts = TestOptions::default().env("CALLS_PER_ROTATION", rotation.to_string());
    for n in names {
        let cred = credential(&format!("rt-{n}"), Some(&format!("p{n}")), None);
        opts = opts.cred(&format!("{n}.json"), cred);
    }
    opts
}

/// Starts the gateway and waits until every credential holds the token the fake issued, so no refresh
/// races the first request.
pub(crate) async fn start(opts: TestOptions, n: usize) -> TestApp {
    let app = spawn_app_with(opts).await;
    app.eventually_async("credentials refreshed", || async {
        let tokens = app.credential_tokens().await;
        tokens.len() == n
            && tokens
                .iter()
                .all(|t| t.as_deref().is_some_and(|t| t.starts_with("at-")))
    })
    .await;
    app
}

fn projects(app: &TestApp) -> Vec<String> {
    app.upstream_calls()
        .iter()
        .map(|c| c.project.clone().unwrap_or_default())
        .collect()
}

pub(crate) async fn status_of(app: &TestApp, file: &str) -> Value {
    let status = app.get("/creds/status").await.json();
    status["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["filename"] == file)
        .cloned()
        .unwrap_or_else(|| panic!("{file} not listed: {status}"))
}

/// The one cooldown `file` shows for `model`, if any.
async fn cooldown_of(app: &TestApp, file: &str, model: &str) -> Option<Value> {
    let item = status_of(app, file).await;
    item["cooldowns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["model"] == model)
        .cloned()
}

fn retry_after(answer: &Answer) -> i64 {
    answer
        .headers
        .get("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After on {}: {}", answer.status, answer.text()))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn disable(app: &TestApp, file: &str) {
    let answer = app
        .post(
            "/creds/action",
            &json!({"filename": file, "action": "disable"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[actix_rt::test]
async fn one_plain_429_benches_for_seconds_and_repeats_double_until_a_success() {
    let app = start(creds(&["a"], 100), 1).await;
    let t0 = app.clock.now();
    app.google.enqueue("pa", google_429("429_plain"));
    let first = app.chat(ask(FLASH)).await;
    assert_eq!(first.status, 429, "{}", first.text());
    assert!(
        (1..=2).contains(&retry_after(&first)),
        "{:?}",
        first.headers
    );
    let rest = cooldown_of(&app, "a.json", FLASH).await;
    if let Some(rest) = &rest {
        // Read before the two seconds ran out: kind, Google's words, a short wait.
        assert_eq!(rest["kind"], "rate_limited");
        assert_eq!(
            rest["message"],
            "Resource has been exhausted (e.g. check quota)."
        );
        assert!(rest["until"].as_i64().unwrap() <= t0 + 3, "{rest}");
    }
    // Within ten seconds the credential serves again.
    app.clock.advance(10);
    app.google.clear_requests();
    let again = app.chat(ask(FLASH)).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(projects(&app), ["pa"]);
    // Two plain 429s in a row: the second rest is twice the first; a success resets the streak.
    app.google.enqueue("pa", google_429("429_plain"));
    app.google.enqueue("pa", google_429("429_plain"));
    app.chat(ask(PRO)).await;
    app.clock.advance(10);
    let t1 = app.clock.now();
    let doubled = app.chat(ask(PRO)).await;
    assert_eq!(doubled.status, 429);
    assert!(
        (3..=4).contains(&retry_after(&doubled)),
        "{:?}",
        doubled.headers
    );
    let second = cooldown_of(&app, "a.json", PRO).await;
    if let Some(second) = second {
        assert_eq!(second["streak"], 2, "{second}");
        let wait = second["until"].as_i64().unwrap() - t1;
        assert!((4..=5).contains(&wait), "doubled to 4 s: {second}");
    }
    app.clock.advance(10);
    assert_eq!(app.chat(ask(PRO)).await.status, 200);
    app.google.enqueue("pa", google_429("429_plain"));
    let t2 = app.clock.now();
    let reset = app.chat(ask(PRO)).await;
    assert_eq!(reset.status, 429);
    assert!(
        (1..=2).contains(&retry_after(&reset)),
        "{:?}",
        reset.headers
    );
    if let Some(third) = cooldown_of(&app, "a.json", PRO).await {
        assert_eq!(third["streak"], 1, "the success reset the streak");
        assert!(third["until"].as_i64().unwrap() - t2 <= 3, "{third}");
    }
    // Each failed attempt's log line names the kind.
    let log = app.get("/auth/logs/download").await.text();
    assert!(
        log.contains(&format!("failed for {FLASH} (rate_limited)")),
        "{log}"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn retry_info_3s_keeps_the_credential_out_for_3_seconds_only() {
    let app = start(creds(&["a", "b"], 1), 2).await;
    app.google.enqueue("pa", google_429("429_retry_info_3s"));
    let t0 = app.clock.now();
    let answer = app.chat(ask(PRO)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(projects(&app), ["pa", "pb"], "answered by the other one");
    let rest = cooldown_of(&app, "a.json", PRO)
        .await
        .expect("a.json rests for 3 s");
    assert_eq!(rest["kind"], "rate_limited");
    let until = rest["until"].as_i64().unwrap();
    assert!((t0 + 3..=t0 + 4).contains(&until), "{rest}");
    // Inside the 3 s only b serves, though rotation would alternate.
    app.google.clear_requests();
    for _ in 0..3 {
        assert_eq!(app.chat(ask(PRO)).await.status, 200);
    }
    if app.clock.now() < until {
        assert_eq!(projects(&app), ["pb", "pb", "pb"]);
    }
    // After them, a is used again.
    app.clock.advance(4);
    app.google.clear_requests();
    for _ in 0..2 {
        assert_eq!(app.chat(ask(PRO)).await.status, 200);
    }
    assert!(
        projects(&app).contains(&"pa".to_string()),
        "{:?}",
        projects(&app)
    );
    app.stop().await;
}

#[actix_rt::test]
async fn a_capacity_429_goes_to_another_credential_without_benching_the_first() {
    let app = start(creds(&["a", "b"], 100), 2).await;
    app.google.enqueue("pa", google_429("429_capacity"));
    let t0 = app.clock.now();
    let answer = app.chat(ask(PRO)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(projects(&app), ["pa", "pb"]);
    if let Some(rest) = cooldown_of(&app, "a.json", PRO).await {
        assert_eq!(rest["kind"], "capacity");
        assert_eq!(
            rest["message"],
            "No capacity available for model gemini-2.5-pro on the server"
        );
        assert!(rest["until"].as_i64().unwrap() <= t0 + 5, "{rest}");
    }
    let a = status_of(&app, "a.json").await;
    assert_eq!(a["disabled"], false);
    // Within ten seconds a serves the same model again (b out of the way).
    disable(&app, "b.json").await;
    app.clock.advance(10);
    app.google.clear_requests();
    let answer = app.chat(ask(PRO)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(projects(&app), ["pa"]);
    app.stop().await;
}

#[actix_rt::test]
async fn a_daily_quota_benches_one_model_until_the_reset_and_an_admin_can_clear_it() {
    let app = start(creds(&["a", "b"], 100), 2).await;
    app.google.enqueue("pa", google_429("429_daily_quota"));
    let answer = app.chat(ask(PRO)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(projects(&app), ["pa", "pb"]);
    let rest = cooldown_of(&app, "a.json", PRO)
        .await
        .expect("a.json rests for the pro model");
    assert_eq!(rest["kind"], "daily_quota");
    assert!(rest["message"]
        .as_str()
        .unwrap()
        .starts_with("Quota exceeded for metric"));
    let now = app.clock.now();
    let until = rest["until"].as_i64().unwrap();
    let left = rest["seconds_left"].as_i64().unwrap();
    assert!(left > 0 && left <= 24 * 3600, "{rest}");
    let reset = chrono::DateTime::from_timestamp(until, 0).unwrap();
    assert_eq!(
        reset.format("%H:%M").to_string(),
        "07:00",
        "the daily reset"
    );
    assert!(until > now);
    // Alone, a does not serve that model, but still serves another.
    disable(&app, "b.json").await;
    app.google.clear_requests();
    let pro = app.chat(ask(PRO)).await;
    assert_eq!(pro.status, 429, "{}", pro.text());
    assert_eq!(pro.json()["error"]["code"], "model_cooldown");
    let wait = retry_after(&pro);
    assert!(
        (until - app.clock.now() - 2..=until - now).contains(&wait),
        "{wait}"
    );
    let flash = app.chat(ask(FLASH)).await;
    assert_eq!(flash.status, 200, "{}", flash.text());
    assert_eq!(projects(&app), ["pa"], "only the flash call went upstream");
    // The panel's clear ends the rest at once.
    let cleared = app
        .post(
            "/creds/action",
            &json!({"filename": "a.json", "action": "clear_cooldown"}),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.text());
    assert_eq!(status_of(&app, "a.json").await["cooldowns"], json!([]));
    assert_eq!(app.chat(ask(PRO)).await.status, 200);
    app.stop().await;
}

#[actix_rt::test]
async fn everyone_limited_is_a_429_with_retry_after_on_both_apis() {
    let app = start(creds(&["a", "b"], 100), 2).await;
    for project in ["pa", "pb"] {
        app.google
            .set_default_reply(Some(project), google_429("429_per_minute"));
    }
    // Both credentials tried: Google's own 429 reaches the client, with when to come back.
    let first = app.chat(ask(PRO)).await;
    assert_eq!(first.status, 429, "{}", first.text());
    assert_eq!(first.json()["error"]["type"], "rate_limit_error");
    let wait = retry_after(&first);
    assert!((55..=61).contains(&wait), "{wait}");
    assert_eq!(projects(&app).len(), 2);
    // The next requests do not reach Google: every credential is cooling down for the model.
    app.google.clear_requests();
    let next = app.chat(ask(PRO)).await;
    assert_eq!(next.status, 429, "{}", next.text());
    let body = next.json();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(body["error"]["code"], "model_cooldown");
    let wait = retry_after(&next);
    assert!((55..=61).contains(&wait), "{wait}");
    let gemini = app
        .post(
            &format!("/v1beta/models/{PRO}:generateContent"),
            &json!({
                "contents": [{"role": "user", "parts": [{"text": "hi"}]}]
            }),
        )
        .await;
    assert_eq!(gemini.status, 429, "{}", gemini.text());
    assert_eq!(gemini.json()["error"]["status"], "RESOURCE_EXHAUSTED");
    assert!((55..=61).contains(&retry_after(&gemini)));
    let streamed = app
        .chat(
            json!({"model": PRO, "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(streamed.status, 429, "{}", streamed.text());
    assert!((55..=61).contains(&retry_after(&streamed)));
    // Fake streaming answers before its first heartbeat, so the client still gets the status.
    let fake = app
        .chat(json!({"model": format!("假流式/{PRO}"), "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(fake.status, 429, "{}", fake.text());
    assert!((55..=61).contains(&retry_after(&fake)));
    assert!(app.upstream_calls().is_empty(), "nobody asked Google");
    // Another model is not affected; after the minute the pro model is served again.
    app.google.set_default_reply(Some("pa"), Reply::text("ok"));
    app.google.set_default_reply(Some("pb"), Reply::text("ok"));
    assert_eq!(app.chat(ask(FLASH)).await.status, 200);
    app.clock.advance(61);
    assert_eq!(app.chat(ask(PRO)).await.status, 200);
    app.stop().await;
}

#[actix_rt::test]
async fn plain_429s_everywhere_still_answer_429_with_retry_after() {
    let app = start(creds(&["a", "b"], 100), 2).await;
    app.google.set_default_reply(None, google_429("429_plain"));
    for _ in 0..2 {
        let answer = app.chat(ask(FLASH)).await;
        assert_eq!(answer.status, 429, "{}", answer.text());
        let wait = retry_after(&answer);
        assert!(
            (1..=4).contains(&wait),
            "a few seconds, not minutes: {wait}"
        );
    }
    let gemini = app
        .post(
            &format!("/v1/models/{FLASH}:generateContent"),
            &json!({
                "contents": [{"role": "user", "parts": [{"text": "hi"}]}]
            }),
        )
        .await;
    assert_eq!(gemini.status, 429, "{}", gemini.text());
    assert!((1..=8).contains(&retry_after(&gemini)));
    app.stop().await;
}

#[actix_rt::test]
async fn no_credits_benches_the_credential_with_that_reason() {
    let app = start(creds(&["a", "b"], 100), 2).await;
    app.google.enqueue("pa", google_429("429_no_credits"));
    let answer = app.chat(ask(PRO)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let a = status_of(&app, "a.json").await;
    assert_eq!(a["disabled"], true);
    assert!(a["disabled_reason"]
        .as_str()
        .unwrap()
        .starts_with("no credits:"));
    // Re-enabling puts it back.
    let enabled = app
        .post(
            "/creds/action",
            &json!({"filename": "a.json", "action": "enable"}),
        )
        .await;
    assert_eq!(enabled.status, 200);
    disable(&app, "b.json").await;
    app.google.clear_requests();
    assert_eq!(app.chat(ask(FLASH)).await.status, 200);
    assert_eq!(projects(&app), ["pa"]);
    app.stop().await;
}

#[actix_rt::test]
async fn a_preview_model_is_cooling_when_every_credential_with_access_rests() {
    let app = start(creds(&["a", "b"], 100), 2).await;
    let preview = "gemini-3-pro-preview";
    app.google
        .enqueue("pa", Reply::error(404, google_body("404_not_found")));
    app.google.enqueue("pb", google_429("429_per_minute"));
    // One credential lacks preview access, the other is rate-limited for the model…
    let first = app.chat(ask(preview)).await;
    assert_eq!(first.status, 429, "{}", first.text());
    assert_eq!(status_of(&app, "a.json").await["preview"], false);
    assert_eq!(
        cooldown_of(&app, "b.json", preview).await.unwrap()["kind"],
        "rate_limited"
    );
    // …so the next request is told to wait for it, not that the gateway is down.
    let next = app.chat(ask(preview)).await;
    assert_eq!(next.status, 429, "{}", next.text());
    assert_eq!(next.json()["error"]["code"], "model_cooldown");
    assert!((55..=61).contains(&retry_after(&next)));
    app.stop().await;
}
