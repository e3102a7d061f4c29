//! The pool sees its quota: Code Assist `retrieveUserQuota` snapshots per credential and model, routing
//! by what is left, cooldowns that heal through a half-open probe, requests Google refuses for their
//! content told apart from spent accounts, and Google One AI credits.

use serde_json::{json, Value};

use crate::fake_google::{quota_bucket, Reply, CREDIT_TYPE};
use crate::harness::*;
use crate::rate_limits::{ask, creds, google_body, start, status_of};

const PRO: &str = "gemini-2.5-pro";
const FLASH: &str = "gemini-2.5-flash";

/// RFC 3339 text `secs` from now.
fn in_secs(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339()
}

fn bucket(model: &str, fraction: f64, reset_in: i64) -> Value {
    let amount = (fraction * 100.0).round() as i64;
    quota_bucket(model, "REQUESTS", amount, fraction, &in_secs(reset_in))
}

/// Waits until `file`'s status lists a bucket for `model` that satisfies `ok`.
async fn until_bucket(app: &TestApp, file: &str, model: &str, ok: impl Fn(&Value) -> bool) {
    app.eventually_async("the quota snapshot", || async {
        let item = status_of(app, file).await;
        item["quota"]
            .as_array()
            .is_some_and(|q| q.iter().any(|b| b["model"] == model && ok(b)))
    })
    .await;
}

fn calls_to(app: &TestApp, project: &str) -> usize {
    app.upstream_calls()
        .iter()
        .filter(|c| c.project.as_deref() == Some(project))
        .count()
}

#[actix_rt::test]
async fn status_shows_each_credentials_buckets_after_start_and_after_a_refresh() {
    let google = crate::fake_google::FakeGoogle::start().await;
    google.set_quota_buckets(
        "pa",
        vec![bucket(PRO, 0.25, 3600), bucket(FLASH, 1.0, 7200)],
    );
    google.set_quota_buckets("pb", vec![bucket(PRO, 0.5, 600)]);
    let opts = TestOptions {
        google: Some(google),
        ..creds(&["a", "b"], 1)
    };
    let app = start(opts, 2).await;
    until_bucket(&app, "a.json", PRO, |b| b["remaining_fraction"] == 0.25).await;
    until_bucket(&app, "b.json", PRO, |b| b["remaining_fraction"] == 0.5).await;
    let a = status_of(&app, "a.json").await;
    let pro = a["quota"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["model"] == PRO)
        .unwrap()
        .clone();
    assert_eq!(pro["remaining"], 25, "{pro}");
    assert_eq!(pro["limit"], 100, "{pro}");
    assert!(pro["reset_time"].as_str().unwrap().contains('T'), "{pro}");
    assert!(pro["fetched_at"].as_str().is_some(), "{pro}");
    assert_eq!(a["quota_error"], Value::Null);

    // Google's numbers change; the panel asks for them now.
    app.google
        .set_quota_buckets("pa", vec![bucket(PRO, 0.1, 3600)]);
    let refreshed = app
        .post("/creds/quota/refresh", &json!({"names": ["a.json"]}))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    let body = refreshed.json();
    let listed = body["credentials"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["name"], "a.json");
    assert_eq!(listed[0]["quota"][0]["remaining_fraction"], 0.1, "{body}");
    let a = status_of(&app, "a.json").await;
    assert_eq!(a["quota"].as_array().unwrap().len(), 1, "{a}");
    assert_eq!(a["quota"][0]["remaining_fraction"], 0.1);

    // A failing quota call keeps the last snapshot and says why.
    app.google.set_quota_failure("pa", Some(500));
    let all = app.post("/creds/quota/refresh", &json!({})).await;
    assert_eq!(all.status, 200, "{}", all.text());
    assert_eq!(all.json()["credentials"].as_array().unwrap().len(), 2);
    let a = status_of(&app, "a.json").await;
    assert_eq!(a["quota"][0]["remaining_fraction"], 0.1, "{a}");
    assert!(a["quota_error"].as_str().is_some(), "{a}");
    // Serving is not affected.
    assert_eq!(app.chat(ask(PRO)).await.status, 200);
    let bad = app
        .post("/creds/quota/refresh", &json!({"names": "a"}))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text());
    app.stop().await;
}

#[actix_rt::test]
async fn most_remaining_sends_most_requests_to_the_fuller_credential() {
    let google = crate::fake_google::FakeGoogle::start().await;
    google.set_quota_buckets("pa", vec![bucket(FLASH, 0.9, 3600)]);
    google.set_quota_buckets("pb", vec![bucket(FLASH, 0.1, 3600)]);
    let opts = TestOptions {
        google: Some(google),
        ..creds(&["a", "b"], 1).env("ROTATION_POLICY", "most_remaining")
    };
    let app = start(opts, 2).await;
    until_bucket(&app, "a.json", FLASH, |_| true).await;
    until_bucket(&app, "b.json", FLASH, |_| true).await;
    app.google.clear_requests();
    for _ in 0..20 {
        assert_eq!(app.chat(ask(FLASH)).await.status, 200);
    }
    let to_a = calls_to(&app, "pa");
    assert!(to_a >= 16, "{to_a} of 20 went to the fuller credential");
    app.stop().await;
}

#[actix_rt::test]
async fn earliest_reset_spends_the_quota_that_expires_first() {
    let google = crate::fake_google::FakeGoogle::start().await;
    google.set_quota_buckets("pa", vec![bucket(FLASH, 0.5, 5 * 3600)]);
    google.set_quota_buckets("pb", vec![bucket(FLASH, 0.5, 600)]);
    let opts = TestOptions {
        google: Some(google),
        ..creds(&["a", "b"], 1).env("ROTATION_POLICY", "earliest_reset")
    };
    let app = start(opts, 2).await;
    until_bucket(&app, "a.json", FLASH, |_| true).await;
    until_bucket(&app, "b.json", FLASH, |_| true).await;
    app.google.clear_requests();
    for _ in 0..5 {
        assert_eq!(app.chat(ask(FLASH)).await.status, 200);
    }
    assert_eq!(
        calls_to(&app, "pb"),
        5,
        "the bucket resetting soonest first"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn a_credential_with_nothing_left_for_a_model_is_not_called_for_it() {
    let google = crate::fake_google::FakeGoogle::start().await;
    google.set_quota_buckets("pa", vec![bucket(PRO, 0.0, 7200), bucket(FLASH, 1.0, 7200)]);
    google.set_quota_buckets("pb", vec![bucket(PRO, 0.6, 7200), bucket(FLASH, 1.0, 7200)]);
    let app = start(creds_with(google, &["a", "b"], &[]), 2).await;
    until_bucket(&app, "a.json", PRO, |b| b["remaining_fraction"] == 0.0).await;
    until_bucket(&app, "b.json", PRO, |_| true).await;
    app.google.clear_requests();
    for _ in 0..6 {
        assert_eq!(app.chat(ask(PRO)).await.status, 200);
    }
    assert_eq!(
        calls_to(&app, "pa"),
        0,
        "a has nothing left for the pro model"
    );
    for _ in 0..6 {
        assert_eq!(app.chat(ask(FLASH)).await.status, 200);
    }
    assert!(calls_to(&app, "pa") >= 2, "other models still use a");
    app.stop().await;
}

fn creds_with(
    google: crate::fake_google::FakeGoogle,
    names: &[&str],
    env: &[(&'static str, &str)],
) -> TestOptions {
    let mut opts = creds(names, 1);
    for (k, v) in env {
        opts = opts.env(k, *v);
    }
    TestOptions {
        google: Some(google),
        ..opts
    }
}

#[actix_rt::test]
async fn a_daily_rest_ends_through_one_probe_once_the_snapshot_shows_quota_again() {
    // A daily rest lasts until the next 07:00 UTC boundary: a run in the last minute before it would
    // see the rest end by itself, so such a run waits for the boundary first.
    let day = 86_400;
    let boundary = |now: i64| (now - 7 * 3600).div_euclid(day) * day + day + 7 * 3600;
    let now = chrono::Utc::now().timestamp();
    if boundary(now) - now < 60 {
        actix_rt::time::sleep(std::time::Duration::from_secs(
            (boundary(now) - now + 1) as u64,
        ))
        .await;
    }
    let google = crate::fake_google::FakeGoogle::start().await;
    google.set_quota_buckets("pa", vec![bucket(PRO, 0.3, 20 * 3600)]);
    let app = start(
        creds_with(google, &["a"], &[("QUOTA_REFRESH_SECONDS", "2")]),
        1,
    )
    .await;
    until_bucket(&app, "a.json", PRO, |_| true).await;
    // Google says the daily quota is spent (and its next snapshot agrees): the credential rests for
    // hours.
    app.google
        .set_quota_buckets("pa", vec![bucket(PRO, 0.0, 20 * 3600)]);
    app.google
        .enqueue("pa", Reply::error(429, google_body("429_daily_quota")));
    let refused = app.chat(ask(PRO)).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    let rest = status_of(&app, "a.json").await["cooldowns"][0].clone();
    assert_eq!(rest["kind"], "daily_quota", "{rest}");
    let now = chrono::Utc::now().timestamp();
    assert_eq!(rest["until"].as_i64(), Some(boundary(now)), "{rest}");
    assert!(rest["seconds_left"].as_i64().unwrap() > 30, "{rest}");
    // Its quota comes back (a reset, a grant): within one refresh interval the rest ends.
    app.google
        .set_quota_buckets("pa", vec![bucket(PRO, 0.8, 20 * 3600)]);
    app.eventually_async("the snapshot heals the rest", || async {
        let item = status_of(&app, "a.json").await;
        item["cooldowns"].as_array().unwrap().is_empty()
    })
    .await;
    // The first request is the probe; its success ends the rest for good.
    app.google.clear_requests();
    let probe = app.chat(ask(PRO)).await;
    assert_eq!(probe.status, 200, "{}", probe.text());
    assert_eq!(calls_to(&app, "pa"), 1);
    app.eventually("the probe's success ends the rest", || {
        app.state
            .fleet
            .snapshot()
            .get("a.json")
            .is_some_and(|slot| slot.live.status().cooldowns.is_empty())
    })
    .await;
    app.stop().await;
}

#[actix_rt::test]
async fn a_request_google_refuses_for_its_content_cools_nothing() {
    let google = crate::fake_google::FakeGoogle::start().await;
    google.set_quota_buckets("pa", vec![bucket(FLASH, 0.8, 3600)]);
    google.set_quota_buckets("pb", vec![bucket(FLASH, 0.7, 3600)]);
    google.refuse_pattern(Some("POISON"));
    let app = start(creds_with(google, &["a", "b"], &[]), 2).await;
    until_bucket(&app, "a.json", FLASH, |_| true).await;
    until_bucket(&app, "b.json", FLASH, |_| true).await;
    let poisoned =
        json!({"model": FLASH, "messages": [{"role": "user", "content": "POISON pill"}]});
    for round in 0..3 {
        app.google.clear_requests();
        let answer = app.chat(poisoned.clone()).await;
        assert_eq!(answer.status, 429, "{}", answer.text());
        let body = answer.json();
        assert_eq!(body["error"]["code"], "upstream_rejected_content", "{body}");
        assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
        assert!(answer.headers.contains_key("retry-after"));
        let attempts = app.upstream_calls().len();
        assert!(attempts <= 2, "round {round}: {attempts} upstream attempts");
    }
    // Nothing rests: the next 20 ordinary requests are all served at once.
    let ordinary = (0..20).map(|_| app.chat(ask(FLASH)));
    let statuses: Vec<u16> = futures_util::future::join_all(ordinary)
        .await
        .iter()
        .map(|a| a.status)
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    for file in ["a.json", "b.json"] {
        let item = status_of(&app, file).await;
        assert_eq!(item["cooldowns"], json!([]), "{file}: {item}");
    }
    // Gemini routes say it Google's way; /metrics counts each rejection.
    let native = app
        .post(
            &format!("/v1beta/models/{FLASH}:generateContent"),
            &json!({"contents": [{"role": "user", "parts": [{"text": "POISON"}]}]}),
        )
        .await;
    assert_eq!(native.status, 429, "{}", native.text());
    assert_eq!(native.json()["error"]["status"], "RESOURCE_EXHAUSTED");
    let metrics = app.get("/metrics").await.text();
    assert!(
        metrics.contains(&format!(
            "gcli2api_content_rejections_total{{model=\"{FLASH}\"}} 4"
        )),
        "{metrics}"
    );
    // The decision is in the request history, the prompt is not in the log.
    let history = app.get("/auth/requests?limit=50").await.json();
    let rejected = history["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == 429)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let detail = app.get(&format!("/auth/requests/{rejected}")).await.text();
    assert!(detail.contains("content_rejected"), "{detail}");
    assert!(!detail.contains("POISON"), "{detail}");
    let log = std::fs::read_to_string(app.dir.path().join("log.txt")).unwrap_or_default();
    assert!(
        !log.contains("POISON pill"),
        "the body stays out of the log"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn with_overage_on_requests_offer_credits_and_the_balance_shows() {
    let google = crate::fake_google::FakeGoogle::start().await;
    google.set_quota_buckets("pa", vec![bucket(PRO, 0.5, 3600)]);
    google.set_credits("pa", 100);
    let app = start(
        creds_with(google, &["a"], &[("CREDITS_OVERAGE", "always")]),
        1,
    )
    .await;
    app.eventually_async("credits read from loadCodeAssist", || async {
        status_of(&app, "a.json").await["credits"] == json!([{"type": CREDIT_TYPE, "amount": 100}])
    })
    .await;
    app.google.clear_requests();
    assert_eq!(app.chat(ask(PRO)).await.status, 200);
    let sent = &app.upstream_calls()[0];
    assert_eq!(
        sent.body["enabled_credit_types"],
        json!([CREDIT_TYPE]),
        "{}",
        sent.body
    );
    // Google's free quota is out: the credits pay, and the answer's remainingCredits shows.
    app.google
        .enqueue("pa", Reply::error(429, google_body("429_daily_quota")));
    let paid = app
        .chat(
            json!({"model": PRO, "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text());
    assert_eq!(app.google.credits("pa"), Some(98));
    app.eventually_async("the balance an answer reported", || async {
        status_of(&app, "a.json").await["credits"][0]["amount"] == 98
    })
    .await;
    app.stop().await;
}

#[actix_rt::test]
async fn without_overage_no_request_offers_credits() {
    let google = crate::fake_google::FakeGoogle::start().await;
    google.set_credits("pa", 100);
    let app = start(creds_with(google, &["a"], &[]), 1).await;
    app.eventually_async("credits read at the first fetch", || async {
        status_of(&app, "a.json").await["credits"][0]["amount"] == 100
    })
    .await;
    app.google.clear_requests();
    assert_eq!(app.chat(ask(PRO)).await.status, 200);
    assert!(app.upstream_calls()[0]
        .body
        .get("enabled_credit_types")
        .is_none());
    app.stop().await;
}

#[actix_rt::test]
async fn the_panel_clears_one_models_rest() {
    let app = start(creds(&["a"], 1), 1).await;
    for model in [PRO, FLASH] {
        app.google
            .enqueue("pa", Reply::error(429, google_body("429_daily_quota")));
        assert_eq!(app.chat(ask(model)).await.status, 429);
    }
    assert_eq!(
        status_of(&app, "a.json").await["cooldowns"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let cleared = app
        .post(
            "/creds/action",
            &json!({"filename": "a.json", "action": "clear_cooldown", "model": PRO}),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.text());
    let left = status_of(&app, "a.json").await["cooldowns"].clone();
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    assert_eq!(left[0]["model"], FLASH);
    assert_eq!(app.chat(ask(PRO)).await.status, 200);
    app.stop().await;
}
