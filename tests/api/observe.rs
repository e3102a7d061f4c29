//! Observability over real HTTP: request ids, `/metrics` after scripted traffic, the decision trace and
//! request history, daily token counts, and the health probes.

use serde_json::{json, Value};

use crate::fake_google::Reply;
use crate::harness::*;

const METRICS_TOKEN: &str = "scrape-me-0123456789";

fn two_creds() -> TestOptions {
    TestOptions::default()
        .cred("a.json", credential("rt-a", Some("pa"), None))
        .cred("b.json", credential("rt-b", Some("pb"), None))
        .env("CALLS_PER_ROTATION", "100")
        .env("METRICS_TOKEN", METRICS_TOKEN)
}

async fn wait_ready(app: &TestApp, n: usize) {
    let google = &app.google;
    app.eventually("all credentials refreshed", || {
        google.requests_to("/token").len() >= n
    })
    .await;
    let state = app.state.clone();
    app.eventually_async("credentials listed", || {
        let state = state.clone();
        async move {
            state
                .supervisor
                .send(gcli2api::actors::credentials::messages::ListCredentials)
                .await
                .map(|r| r.len() >= n)
                .unwrap_or(false)
        }
    })
    .await;
}

async fn scrape(app: &TestApp) -> String {
    let req = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN);
    let answer = app.send(req, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.text()
}

/// The value of the sample whose name and labels are exactly `series` (labels in sorted order).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

fn request_id(answer: &Answer) -> String {
    answer
        .headers
        .get("x-request-id")
        .expect("x-request-id header")
        .to_str()
        .unwrap()
        .to_string()
}

async fn trace(app: &TestApp, token: &str, id: &str) -> Value {
    let req = app
        .client
        .get(app.url(&format!("/auth/requests/{id}")))
        .bearer_auth(token);
    let answer = app.send(req, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

async fn history(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let req = app
        .client
        .get(app.url(&format!("/auth/requests?{query}")))
        .bearer_auth(token);
    let answer = app.send(req, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["requests"].as_array().unwrap().clone()
}

#[actix_rt::test]
async fn every_answer_carries_a_request_id() {
    let app = spawn_app().await;
    let fresh = app.send(app.client.get(app.url("/healthz")), None).await;
    let id = request_id(&fresh);
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    let kept = app
        .send(
            app.client
                .get(app.url("/healthz"))
                .insert_header(("x-request-id", "client-id-42")),
            None,
        )
        .await;
    assert_eq!(request_id(&kept), "client-id-42");
    let unsafe_id = app
        .send(
            app.client
                .get(app.url("/healthz"))
                .insert_header(("x-request-id", "a b <script>")),
            None,
        )
        .await;
    assert_ne!(request_id(&unsafe_id), "a b <script>");
    // Errors, unknown routes and refused callers get one too.
    let missing = app
        .send(app.client.get(app.url("/no/such/page")), None)
        .await;
    assert_eq!(missing.status, 404);
    request_id(&missing);
    let refused = app
        .send(
            app.client.post(app.url("/v1/chat/completions")),
            Some(&json!({})),
        )
        .await;
    assert_eq!(refused.status, 401);
    request_id(&refused);
    app.stop().await;
}

#[actix_rt::test]
async fn metrics_need_a_token_or_the_panel_password() {
    let app = spawn_app_with(two_creds()).await;
    let anonymous = app.send(app.client.get(app.url("/metrics")), None).await;
    assert_eq!(anonymous.status, 401);
    let wrong = app
        .send(
            app.client.get(app.url("/metrics")).bearer_auth("nope"),
            None,
        )
        .await;
    assert_eq!(wrong.status, 401);
    let panel = app.get("/metrics").await;
    assert_eq!(panel.status, 200);
    assert!(panel
        .text()
        .contains("# TYPE gcli2api_requests_total counter"));
    let session = app.login().await;
    let req = app.client.get(app.url("/metrics")).bearer_auth(&session);
    assert_eq!(app.send(req, None).await.status, 200);
    assert!(scrape(&app).await.contains("gcli2api_credentials"));
    app.stop().await;
}

#[actix_rt::test]
async fn scripted_traffic_shows_in_metrics_trace_history_and_token_counts() {
    let app = spawn_app_with(two_creds()).await;
    wait_ready(&app, 2).await;
    let token = app.login().await;
    let create = app
        .send(
            app.client.post(app.url("/auth/keys")).bearer_auth(&token),
            Some(&json!({"total_quota": 100})),
        )
        .await;
    let key = create.json()["api_key"].as_str().unwrap().to_string();
    let model = "gemini-2.5-pro";

    // 1. A plain success on a.json.
    app.google.enqueue(
        "pa",
        Reply::text("first answer").usage(json!({
            "promptTokenCount": 11, "candidatesTokenCount": 7, "thoughtsTokenCount": 3,
            "cachedContentTokenCount": 2, "totalTokenCount": 21})),
    );
    let ok = app.chat_as(&key, model).await;
    assert_eq!(ok.status, 200, "{}", ok.text());

    // 2. a.json's model quota is spent (429): the request fails over to b.json.
    let reset = (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339();
    app.google
        .enqueue("pa", Reply::quota_exhausted_until(&reset));
    app.google.enqueue(
        "pb",
        Reply::text("second answer").usage(json!({
            "promptTokenCount": 5, "candidatesTokenCount": 4, "totalTokenCount": 9})),
    );
    let failover = app.chat_as(&key, model).await;
    assert_eq!(failover.status, 200, "{}", failover.text());
    let failover_id = request_id(&failover);

    // 3. Google refuses the request outright: no answer, so the debit is refunded.
    app.google.set_default_reply(
        None,
        Reply::google_error(
            400,
            "INVALID_ARGUMENT",
            "Request contains an invalid argument.",
        ),
    );
    let refused = app.chat_as(&key, model).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    let refused_id = request_id(&refused);

    // A request is recorded when its body has been sent: wait until all three are.
    let state = app.state.clone();
    app.eventually_async("three requests recorded", || {
        let state = state.clone();
        async move {
            let all = state
                .history
                .send(gcli2api::actors::request_history::ListRequests(
                    Default::default(),
                ))
                .await;
            all.is_ok_and(|l| l.len() == 3)
        }
    })
    .await;

    // The trace of the failover names both credentials, in order, and the 429's kind.
    let t = trace(&app, &token, &failover_id).await;
    assert_eq!(t["model"], model);
    assert_eq!(t["status"], 200);
    let attempts = t["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{t}");
    assert_eq!(attempts[0]["credential"], "a.json");
    assert_eq!(attempts[0]["status"], 429);
    assert_eq!(attempts[0]["kind"], "daily_quota");
    assert_eq!(
        attempts[0]["reason"],
        "RESOURCE_EXHAUSTED / QUOTA_EXHAUSTED"
    );
    assert_eq!(attempts[0]["decision"], "retried");
    // Cooling until Google's reset time, ten minutes from now.
    let cooldown = attempts[0]["cooldown_secs"].as_u64().unwrap();
    assert!((590..=600).contains(&cooldown), "{cooldown}");
    assert_eq!(attempts[1]["credential"], "b.json");
    assert_eq!(attempts[1]["decision"], "answered");
    assert_eq!(
        t["tokens"],
        json!({"input": 5, "output": 4, "thinking": 0, "cached": 0})
    );
    assert_eq!(t["quota"]["cost"], 10);
    assert_eq!(t["quota"]["refunded"], false);
    assert!(t["ttft_ms"].is_u64());
    let key_label = t["key"].as_str().unwrap().to_string();
    assert!(key_label.starts_with("k-") && !t.to_string().contains(&key));

    let r = trace(&app, &token, &refused_id).await;
    assert_eq!(r["status"], 400);
    assert_eq!(r["quota"]["refunded"], true);
    assert_eq!(r["attempts"][0]["decision"], "gave_up");

    // The trace is one structured log line too (the key never in it).
    let log_path = app.dir.path().join("log.txt");
    app.eventually("trace logged", || {
        std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains(&format!("trace {{\"id\":\"{failover_id}\"")))
    })
    .await;
    assert!(!std::fs::read_to_string(&log_path).unwrap().contains(&key));

    // History: newest first, filterable.
    let all = history(&app, &token, "").await;
    let ids: Vec<&str> = all.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "{all:?}");
    assert_eq!(ids[0], refused_id);
    assert_eq!(ids[1], failover_id);
    assert_eq!(history(&app, &token, "status=4xx").await.len(), 1);
    assert_eq!(history(&app, &token, "status=200").await.len(), 2);
    assert_eq!(history(&app, &token, "credential=a.json").await.len(), 2);
    assert_eq!(
        history(&app, &token, &format!("key={key_label}&model={model}"))
            .await
            .len(),
        3
    );
    assert_eq!(
        history(&app, &token, "model=gemini-2.5-flash").await.len(),
        0
    );
    let anonymous = app
        .send(app.client.get(app.url("/auth/requests")), None)
        .await;
    assert_eq!(anonymous.status, 401);
    let unknown = app.get("/auth/requests/no-such-id").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(app.get("/auth/requests?limit=0").await.status, 400);
    let bad = app.get("/auth/requests?limit=many").await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"]["message"].is_string(), "{}", bad.text());
    assert_eq!(app.get("/usage/tokens?days=x").await.status, 400);

    // Metrics after the three requests.
    let text = scrape(&app).await;
    let route = "/v1/chat/completions";
    let series = |s: &str| sample(&text, s);
    assert_eq!(
        series(&format!(
            "gcli2api_requests_total{{model=\"{model}\",route=\"{route}\",status=\"200\"}}"
        )),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        series(&format!(
            "gcli2api_requests_total{{model=\"{model}\",route=\"{route}\",status=\"400\"}}"
        )),
        Some(1.0)
    );
    assert_eq!(
        series(&format!("gcli2api_upstream_requests_total{{credential=\"a.json\",kind=\"daily_quota\",model=\"{model}\",status=\"429\"}}")),
        Some(1.0)
    );
    assert_eq!(
        series(&format!("gcli2api_upstream_requests_total{{credential=\"a.json\",kind=\"ok\",model=\"{model}\",status=\"\"}}")),
        Some(1.0)
    );
    assert_eq!(
        series(&format!("gcli2api_upstream_requests_total{{credential=\"b.json\",kind=\"client_error\",model=\"{model}\",status=\"400\"}}")),
        Some(1.0)
    );
    assert_eq!(
        series("gcli2api_retries_total{reason=\"daily_quota\"}"),
        Some(1.0)
    );
    assert_eq!(
        series(&format!(
            "gcli2api_tokens_total{{model=\"{model}\",type=\"input\"}}"
        )),
        Some(16.0)
    );
    assert_eq!(
        series(&format!(
            "gcli2api_tokens_total{{model=\"{model}\",type=\"output\"}}"
        )),
        Some(11.0)
    );
    assert_eq!(
        series(&format!(
            "gcli2api_tokens_total{{model=\"{model}\",type=\"thinking\"}}"
        )),
        Some(3.0)
    );
    assert_eq!(
        series(&format!(
            "gcli2api_tokens_total{{model=\"{model}\",type=\"cached\"}}"
        )),
        Some(2.0)
    );
    assert_eq!(
        series(&format!("gcli2api_quota_debits_total{{model=\"{model}\"}}")),
        Some(30.0)
    );
    assert_eq!(
        series(&format!(
            "gcli2api_quota_refunds_total{{model=\"{model}\"}}"
        )),
        Some(10.0)
    );
    assert_eq!(
        series(&format!(
            "gcli2api_request_duration_seconds_count{{model=\"{model}\",route=\"{route}\"}}"
        )),
        Some(3.0)
    );
    assert_eq!(
        series(&format!(
            "gcli2api_time_to_first_token_seconds_count{{model=\"{model}\",route=\"{route}\"}}"
        )),
        Some(2.0)
    );
    assert!(
        series(&format!(
            "gcli2api_upstream_duration_seconds_count{{credential=\"a.json\",model=\"{model}\"}}"
        )) == Some(2.0)
    );
    assert_eq!(series("gcli2api_credentials{state=\"cooling\"}"), Some(1.0));
    assert_eq!(series("gcli2api_credentials{state=\"usable\"}"), Some(1.0));
    assert_eq!(
        series("gcli2api_credentials{state=\"disabled\"}"),
        Some(0.0)
    );
    let cooldown = text
        .lines()
        .find(|l| l.starts_with("gcli2api_cooldowns{credential=\"a.json\""))
        .expect("a.json's cooldown is exported");
    assert!(
        cooldown.contains(&format!("model=\"{model}\"")),
        "{cooldown}"
    );
    assert!(cooldown.contains("kind=\"daily_quota\""), "{cooldown}");
    let left: f64 = cooldown.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((590.0..=600.0).contains(&left), "{cooldown}");
    // 100 - 10 - 10 (the third was refunded).
    assert_eq!(
        series(&format!(
            "gcli2api_api_key_remaining{{key=\"{key_label}\"}}"
        )),
        Some(80.0)
    );
    assert!(!text.contains(&key));

    // Tokens per day, per model and per key, from the store (after a restart too).
    let tokens = app.get("/usage/tokens?days=7").await.json();
    let today = tokens["days"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        today["date"],
        chrono::Utc::now().format("%Y-%m-%d").to_string()
    );
    assert_eq!(today["models"][model]["input"], 16);
    assert_eq!(today["models"][model]["output"], 11);
    assert_eq!(today["keys"][&key_label]["requests"], 2);
    assert!(tokens["key_names"][&key_label]
        .as_str()
        .unwrap()
        .starts_with("sk-"));
    assert_eq!(app.get("/usage/tokens?days=0").await.status, 400);
    let (dir, google) = app.shutdown().await;
    let again = spawn_app_with(TestOptions {
        dir: Some(dir),
        google: Some(google),
        ..TestOptions::default()
    })
    .await;
    let tokens = again.get("/usage/tokens").await.json();
    let today = tokens["days"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(today["models"][model]["input"], 16, "{tokens}");
    again.stop().await;
}

#[actix_rt::test]
async fn readyz_turns_503_when_the_last_credential_is_disabled() {
    let app = spawn_app().await;
    let health = app.send(app.client.get(app.url("/healthz")), None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let ready = app.send(app.client.get(app.url("/readyz")), None).await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(ready.json()["credentials"]["usable"], 1);
    let disable = app
        .post(
            "/creds/action",
            &json!({"filename": "p1.json", "action": "disable"}),
        )
        .await;
    assert_eq!(disable.status, 200, "{}", disable.text());
    let probe = app.client.clone();
    let url = app.url("/readyz");
    app.eventually_async("readyz answers 503", || {
        let probe = probe.clone();
        let url = url.clone();
        async move { probe.get(url).send().await.is_ok_and(|r| r.status() == 503) }
    })
    .await;
    let not_ready = app.send(app.client.get(app.url("/readyz")), None).await;
    assert_eq!(not_ready.json()["reason"], "every credential is disabled");
    app.stop().await;
}

#[actix_rt::test]
async fn readyz_without_credentials_says_so() {
    let app = spawn_app_with(TestOptions::default()).await;
    let probe = app.send(app.client.get(app.url("/readyz")), None).await;
    assert_eq!(probe.status, 503);
    assert_eq!(probe.json()["reason"], "no credentials are loaded");
    app.stop().await;
}

#[actix_rt::test]
async fn a_streamed_answer_is_traced_when_the_stream_ends() {
    let app = spawn_app_with(two_creds()).await;
    wait_ready(&app, 2).await;
    let token = app.login().await;
    app.google.enqueue(
        "pa",
        Reply::text("one two three four").chunks(4).usage(
            json!({"promptTokenCount": 9, "candidatesTokenCount": 4, "totalTokenCount": 13}),
        ),
    );
    let answer = app
        .post(
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            &json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let id = request_id(&answer);
    let state = app.state.clone();
    let wanted = id.clone();
    app.eventually_async("the stream's trace recorded", || {
        let state = state.clone();
        let wanted = wanted.clone();
        async move {
            state
                .history
                .send(gcli2api::actors::request_history::GetRequest(wanted))
                .await
                .is_ok_and(|r| r.is_some())
        }
    })
    .await;
    let t = trace(&app, &token, &id).await;
    assert_eq!(t["model"], "gemini-2.5-flash");
    assert_eq!(t["key"], "password");
    assert_eq!(t["attempts"][0]["credential"], "a.json");
    assert_eq!(t["tokens"]["input"], 9);
    assert_eq!(t["tokens"]["output"], 4);
    assert!(t["ttft_ms"].as_u64().unwrap() <= t["duration_ms"].as_u64().unwrap());
    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            "gcli2api_tokens_total{model=\"gemini-2.5-flash\",type=\"output\"}"
        ),
        Some(4.0)
    );
    app.stop().await;
}

#[actix_rt::test]
async fn fake_streaming_runs_google_inside_the_body_and_is_still_traced() {
    let app = spawn_app_with(two_creds().env("FAKE_STREAM_HEARTBEAT_INTERVAL", "0.1")).await;
    wait_ready(&app, 2).await;
    let token = app.login().await;
    app.google.enqueue(
        "pa",
        Reply::text("slow whole answer")
            .delay_ms(250)
            .usage(json!({"promptTokenCount": 6, "candidatesTokenCount": 3, "totalTokenCount": 9})),
    );
    let answer = app
        .chat(json!({"model": "假流式/gemini-2.5-flash", "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let id = request_id(&answer);
    let state = app.state.clone();
    let wanted = id.clone();
    app.eventually_async("the fake stream's trace recorded", || {
        let state = state.clone();
        let wanted = wanted.clone();
        async move {
            state
                .history
                .send(gcli2api::actors::request_history::GetRequest(wanted))
                .await
                .is_ok_and(|r| r.is_some())
        }
    })
    .await;
    let t = trace(&app, &token, &id).await;
    assert_eq!(t["model"], "gemini-2.5-flash");
    assert_eq!(t["attempts"].as_array().unwrap().len(), 1, "{t}");
    assert_eq!(t["attempts"][0]["decision"], "answered");
    assert_eq!(t["tokens"]["input"], 6);
    assert_eq!(t["tokens"]["output"], 3);
    app.stop().await;
}
