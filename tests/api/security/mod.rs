//! What a hostile client could do, one test per finding: each failed before the hardening and passes
//! now. Raw TCP is used where the point is what the gateway does before the body arrives.

mod h1_forwarded;
mod h2_image_parts;
mod h3_schema_expansion;
mod h4_model_names;
mod hostile_bodies_rss;
mod json_containers;
mod l7_user_agent;
mod l8_log_lines;
mod m4_images_after_admission;
mod m5_upstream_urls;

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::*;

// One file per finding of the second round (issue 28).
mod l11_sa_location;
mod l12_project_id;
mod l1_flow_table;
mod l2_store_url_mask;
mod l3_panel_origin;
mod l4_log_socket_origin;
mod l5_revoked_key_responses;
mod l6_key_guesses;
mod l9_l10_setting_bounds;
mod m0_safe_defaults;
mod m1_body_timeouts;
mod m2_caller_budget;
mod m3_responses_bytes;

async fn login(app: &TestApp) -> String {
    app.login().await
}

async fn create_key(app: &TestApp, body: Value) -> String {
    let token = login(app).await;
    let req = app.client.post(app.url("/auth/keys")).bearer_auth(token);
    let answer = app.send(req, Some(&body)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["api_key"].as_str().unwrap().to_string()
}

async fn used_quota(app: &TestApp, key: &str) -> u64 {
    let req = app
        .client
        .get(app.url(&format!("/auth/keys/{key}")))
        .bearer_auth(PASSWORD);
    app.send(req, None).await.json()["used_quota"]
        .as_u64()
        .unwrap()
}

fn with_proxy_trust() -> TestOptions {
    TestOptions::default()
        .cred("p1.json", credential("rt-1", Some("p1"), None))
        .env("TRUSTED_PROXIES", "127.0.0.1/32")
}

/// Sends `head` (and `body`) on a fresh connection and reads the status line, waiting at most 10 s.
async fn raw_status(app: &TestApp, head: &str, body: &[u8]) -> (u16, String) {
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    if !body.is_empty() {
        stream.write_all(body).await.unwrap();
    }
    read_response(&mut stream).await
}

/// A credentials folder holding one Code Assist login (`p1.json`, project `p1`), and the
/// environment of a real gateway binary over it against `google`, plus `extra` settings. Keep the
/// folder alive as long as the gateway.
fn one_login_binary_env(
    google: &crate::fake_google::FakeGoogle,
    extra: &[(&str, String)],
) -> (tempfile::TempDir, std::collections::HashMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p1.json"),
        serde_json::to_vec(&credential("rt-1", Some("p1"), None)).unwrap(),
    )
    .unwrap();
    let mut settings = vec![("CREDENTIALS_DIR", dir.path().display().to_string())];
    settings.extend(extra.iter().cloned());
    let env = crate::process::gateway_env(&google.url(), &settings);
    (dir, env)
}

async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("\r\n\r\n") {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("the gateway answered in time")
            .unwrap();
        assert!(n > 0, "connection closed without an answer: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    (status, text)
}

fn post_head(app: &TestApp, path: &str, auth: Option<&str>, length: usize) -> String {
    let host = app.base.trim_start_matches("http://");
    let auth = auth
        .map(|a| format!("Authorization: Bearer {a}\r\n"))
        .unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{auth}Content-Length: {length}\r\n\r\n"
    )
}

// 1. Panel password brute force through Bearer / token.

#[actix_rt::test]
async fn panel_bearer_guesses_share_the_login_limiter() {
    let app = spawn_app().await;
    for i in 0..5 {
        let guess = format!("guess-{i}");
        let req = app.client.get(app.url("/config/get")).bearer_auth(&guess);
        assert_eq!(app.send(req, None).await.status, 401);
    }
    let req = app
        .client
        .get(app.url("/config/get"))
        .bearer_auth("guess-6");
    let blocked = app.send(req, None).await;
    assert_eq!(blocked.status, 429, "{}", blocked.text());
    assert!(blocked.headers.get("retry-after").is_some());
    // The right password waits too, on every route, login included.
    let req = app.client.get(app.url("/config/get")).bearer_auth(PASSWORD);
    assert_eq!(app.send(req, None).await.status, 429);
    let login = app
        .send(
            app.client.post(app.url("/auth/login")),
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(login.status, 429);
    // Each failure is logged with the address, never with the guess.
    let log_path = app.dir.path().join("log.txt");
    app.eventually("failures logged", || {
        std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .matches("failed panel authentication from 127.0.0.1")
            .count()
            >= 5
    })
    .await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains("guess-"), "a guessed secret reached the log");
    app.clock.advance(301);
    let req = app.client.get(app.url("/config/get")).bearer_auth(PASSWORD);
    assert_eq!(
        app.send(req, None).await.status,
        200,
        "the raw password still works for scripts"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn panel_token_in_the_query_only_opens_the_log_socket() {
    let app = spawn_app().await;
    let token = login(&app).await;
    let query = app
        .send(
            app.client
                .get(app.url(&format!("/config/get?token={token}"))),
            None,
        )
        .await;
    assert_eq!(query.status, 401, "{}", query.text());
    let download = app
        .send(
            app.client
                .get(app.url(&format!("/auth/logs/download?token={PASSWORD}"))),
            None,
        )
        .await;
    assert_eq!(download.status, 401);
    let (socket, _) = awc::Client::new()
        .ws(app.url(&format!("/auth/logs/stream?token={token}")))
        .connect()
        .await
        .expect("the log socket accepts ?token=");
    assert_eq!(socket.status().as_u16(), 101);
    app.stop().await;
}

#[actix_rt::test]
async fn a_trusted_proxy_names_the_client_and_others_cannot() {
    let app = spawn_app_with(with_proxy_trust()).await;
    for _ in 0..5 {
        let req = app
            .client
            .get(app.url("/config/get"))
            .insert_header(("x-forwarded-for", "198.51.100.1"))
            .bearer_auth("wrong");
        assert_eq!(app.send(req, None).await.status, 401);
    }
    let req = app
        .client
        .get(app.url("/config/get"))
        .insert_header(("x-forwarded-for", "198.51.100.1"))
        .bearer_auth(PASSWORD);
    assert_eq!(app.send(req, None).await.status, 429);
    // Someone else behind the same proxy is not locked out by that attacker.
    let req = app
        .client
        .get(app.url("/config/get"))
        .insert_header(("forwarded", "for=198.51.100.2;proto=https"))
        .bearer_auth(PASSWORD);
    assert_eq!(app.send(req, None).await.status, 200);
    app.stop().await;

    // Without TRUSTED_PROXIES the header is the client's own claim and changes nothing.
    let app = spawn_app().await;
    for i in 0..6 {
        let req = app
            .client
            .get(app.url("/config/get"))
            .insert_header(("x-forwarded-for", format!("203.0.113.{i}")))
            .bearer_auth("wrong");
        let status = app.send(req, None).await.status;
        assert_eq!(status, if i < 5 { 401 } else { 429 });
    }
    app.stop().await;
}

// 2. CORS only on the client API.

#[actix_rt::test]
async fn cross_origin_access_is_for_the_client_api_only() {
    let app = spawn_app().await;
    let preflight = |path: &str| {
        app.client
            .request(awc::http::Method::OPTIONS, app.url(path))
            .insert_header(("origin", "https://evil.example"))
            .insert_header(("access-control-request-method", "POST"))
            .insert_header(("access-control-request-headers", "authorization"))
    };
    let api = app.send(preflight("/v1/chat/completions"), None).await;
    assert_eq!(api.status, 200);
    assert_eq!(
        api.headers.get("access-control-allow-origin").unwrap(),
        "https://evil.example"
    );
    for path in [
        "/config/get",
        "/auth/login",
        "/auth/keys",
        "/auth/start",
        "/auth/query",
        "/creds/status",
    ] {
        let refused = app.send(preflight(path), None).await;
        assert!(
            !(200..300).contains(&refused.status),
            "{path} preflight: {}",
            refused.status
        );
        assert!(refused.headers.get("access-control-allow-origin").is_none());
    }
    for origin in ["https://evil.example", "null"] {
        let panel = app
            .send(
                app.client
                    .get(app.url("/config/get"))
                    .insert_header(("origin", origin))
                    .bearer_auth(PASSWORD),
                None,
            )
            .await;
        assert!(panel.headers.get("access-control-allow-origin").is_none());
        let models = app
            .send(
                app.client
                    .get(app.url("/v1/models"))
                    .insert_header(("origin", origin))
                    .bearer_auth(PASSWORD),
                None,
            )
            .await;
        assert_eq!(models.status, 200);
        assert!(models.headers.get("access-control-allow-origin").is_some());
    }
    app.stop().await;
}

// 3. Keys validated on every client route.

#[actix_rt::test]
async fn made_up_keys_reach_nothing_upstream() {
    let app = spawn_app().await;
    let count = "/v1beta/models/gemini-2.5-flash:countTokens";
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let forged = app
        .send(
            app.client
                .post(app.url(&format!("{count}?key=sk-anything"))),
            Some(&body),
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.text());
    for path in [
        "/v1/models",
        "/v1beta/models",
        "/v1beta/models/gemini-2.5-flash",
    ] {
        let listed = app
            .send(
                app.client.get(app.url(path)).bearer_auth("sk-anything"),
                None,
            )
            .await;
        assert_eq!(listed.status, 403, "{path}");
    }
    assert!(
        app.google.requests_to("countTokens").is_empty(),
        "nothing was forwarded"
    );

    // A real key counts tokens for free, but only for the models it may use.
    let key = create_key(
        &app,
        json!({"total_quota": 10, "allowed_models": ["gemini-2.5-flash"]}),
    )
    .await;
    let ok = app
        .send(
            app.client.post(app.url(&format!("{count}?key={key}"))),
            Some(&body),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let other = app
        .send(
            app.client.post(app.url(&format!(
                "/v1beta/models/gemini-2.5-pro:countTokens?key={key}"
            ))),
            Some(&body),
        )
        .await;
    assert_eq!(other.status, 403, "{}", other.text());
    assert_eq!(app.google.requests_to("countTokens").len(), 1);
    assert_eq!(used_quota(&app, &key).await, 0, "countTokens costs nothing");
    let models = app
        .send(
            app.client.get(app.url("/v1/models")).bearer_auth(&key),
            None,
        )
        .await;
    assert_eq!(models.status, 200);
    app.stop().await;
}

// 4. OAuth flows: state required, owner only, onboarding switch (a full table: l1_flow_table).

async fn start_from(app: &TestApp, address: &str) -> Answer {
    app.send(
        app.client
            .post(app.url("/auth/start"))
            .insert_header(("x-forwarded-for", address.to_string())),
        Some(&json!({"project_id": "proj-x"})),
    )
    .await
}

async fn credential_count(app: &TestApp) -> usize {
    app.get("/creds/status").await.json()["items"]
        .as_array()
        .unwrap()
        .len()
}

#[actix_rt::test]
async fn oauth_completion_needs_the_state_and_the_client_that_started_it() {
    let app = spawn_app_with(with_proxy_trust()).await;
    app.google.set_auth_code("code-v", "rt-victim");
    let started = start_from(&app, "192.0.2.10").await;
    assert_eq!(started.status, 200, "{}", started.text());
    let state = started.json()["state"].as_str().unwrap().to_string();
    let back = app
        .send(
            app.client
                .get(app.url(&format!("/oauth2callback?state={state}&code=code-v"))),
            None,
        )
        .await;
    assert_eq!(back.status, 200);
    let before = credential_count(&app).await;
    let callback = |address: &'static str, body: Value| {
        let req = app
            .client
            .post(app.url("/auth/callback"))
            .insert_header(("x-forwarded-for", address));
        let app = &app;
        async move { app.send(req, Some(&body)).await }
    };
    let no_state = callback("192.0.2.66", json!({"project_id": "attacker"})).await;
    assert_eq!(no_state.status, 400, "{}", no_state.text());
    assert!(no_state.text().contains("state"));
    let stranger = callback(
        "192.0.2.66",
        json!({"state": state, "project_id": "attacker"}),
    )
    .await;
    assert_eq!(stranger.status, 400, "{}", stranger.text());
    let pasted = format!("http://localhost:7861/oauth2callback?state={state}&code=code-v");
    let stranger_url = app
        .send(
            app.client
                .post(app.url("/auth/callback-url"))
                .insert_header(("x-forwarded-for", "192.0.2.66")),
            Some(&json!({"callback_url": pasted, "project_id": "attacker"})),
        )
        .await;
    assert_eq!(stranger_url.status, 400, "{}", stranger_url.text());
    assert_eq!(credential_count(&app).await, before, "nothing was saved");
    let owner = callback("192.0.2.10", json!({"state": state})).await;
    assert_eq!(owner.status, 200, "{}", owner.text());
    assert_eq!(owner.json()["project_id"], "proj-x");
    let replay = callback("192.0.2.10", json!({"state": state})).await;
    assert_eq!(replay.status, 400, "a flow completes once");

    // The panel may complete a flow that a visitor started.
    app.google.set_auth_code("code-p", "rt-panel");
    let started = start_from(&app, "192.0.2.11").await;
    let state = started.json()["state"].as_str().unwrap().to_string();
    let pasted = format!("http://localhost:7861/oauth2callback?state={state}&code=code-p");
    let panel = app
        .send(
            app.client
                .post(app.url("/auth/callback-url"))
                .insert_header(("x-forwarded-for", "192.0.2.99"))
                .bearer_auth(PASSWORD),
            Some(&json!({"callback_url": pasted})),
        )
        .await;
    assert_eq!(panel.status, 200, "{}", panel.text());
    app.stop().await;
}

#[actix_rt::test]
async fn public_onboarding_can_be_turned_off_and_the_panel_keeps_oauth() {
    let open = spawn_app().await;
    let page = open.send(open.client.get(open.url("/auth")), None).await;
    assert_eq!(page.status, 200);
    let anonymous = open
        .send(open.client.post(open.url("/auth/start")), Some(&json!({})))
        .await;
    assert_eq!(anonymous.status, 200, "on by default, as in the original");
    open.stop().await;

    let closed = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("PUBLIC_ONBOARDING", "false"),
    )
    .await;
    let page = closed
        .send(closed.client.get(closed.url("/auth")), None)
        .await;
    assert_eq!(page.status, 404);
    let anonymous = closed
        .send(
            closed.client.post(closed.url("/auth/start")),
            Some(&json!({})),
        )
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    let anonymous_status = closed
        .send(closed.client.get(closed.url("/auth/status/x")), None)
        .await;
    assert_eq!(anonymous_status.status, 401);
    closed.google.set_auth_code("code-c", "rt-closed");
    let token = login(&closed).await;
    let started = closed
        .send(
            closed
                .client
                .post(closed.url("/auth/start"))
                .bearer_auth(&token),
            Some(&json!({"project_id": "proj-c"})),
        )
        .await;
    assert_eq!(started.status, 200, "{}", started.text());
    let state = started.json()["state"].as_str().unwrap().to_string();
    let pasted = format!("http://localhost:7861/oauth2callback?state={state}&code=code-c");
    let anonymous_finish = closed
        .send(
            closed.client.post(closed.url("/auth/callback-url")),
            Some(&json!({"callback_url": pasted})),
        )
        .await;
    assert_eq!(anonymous_finish.status, 401);
    let done = closed
        .send(
            closed
                .client
                .post(closed.url("/auth/callback-url"))
                .bearer_auth(&token),
            Some(&json!({"callback_url": pasted})),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(done.json()["project_id"], "proj-c");
    closed.stop().await;
}

// 5. Bodies: authenticate first, size limits, read timeout, in-flight budget.

#[actix_rt::test]
async fn unauthenticated_bodies_are_refused_before_a_byte_is_read() {
    let app = spawn_app().await;
    // Only the headers are sent: the answer comes without waiting for the 60 MB.
    let head = post_head(&app, "/v1/chat/completions", None, 60_000_000);
    let (status, text) = raw_status(&app, &head, b"").await;
    assert_eq!(status, 401, "{text}");
    let head = post_head(
        &app,
        "/v1beta/models/gemini-2.5-flash:generateContent",
        Some("sk-made-up"),
        60_000_000,
    );
    let (status, text) = raw_status(&app, &head, b"").await;
    assert_eq!(status, 403, "{text}");
    // Panel and OAuth routes buffer at most a small body, whoever sends it.
    let head = post_head(&app, "/auth/login", None, 60_000_000);
    let (status, text) = raw_status(&app, &head, b"").await;
    assert_eq!(status, 413, "{text}");
    assert!(app.upstream_calls().is_empty());
    app.stop().await;
}

#[actix_rt::test]
async fn oversized_bodies_are_refused_at_once_in_the_route_style() {
    let app = spawn_app().await;
    let head = post_head(
        &app,
        "/v1/chat/completions",
        Some(PASSWORD),
        21 * 1024 * 1024,
    );
    let (status, text) = raw_status(&app, &head, b"").await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("MAX_REQUEST_BODY_MB"), "{text}");
    assert!(
        text.contains("invalid_request_error"),
        "OpenAI style: {text}"
    );
    let head = post_head(
        &app,
        "/v1beta/models/gemini-2.5-flash:generateContent",
        Some(PASSWORD),
        21 * 1024 * 1024,
    );
    let (status, text) = raw_status(&app, &head, b"").await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("PAYLOAD_TOO_LARGE"), "Google style: {text}");
    assert!(app.upstream_calls().is_empty());
    app.stop().await;
}

#[actix_rt::test]
async fn chunked_bodies_are_cut_at_the_limit() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("MAX_REQUEST_BODY_MB", "1"),
    )
    .await;
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = (0..40)
        .map(|_| Ok(bytes::Bytes::from(vec![b' '; 64 * 1024])))
        .collect();
    let mut resp = app
        .client
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(PASSWORD)
        .send_stream(futures_util::stream::iter(chunks))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("1 MiB"));
    assert!(app.upstream_calls().is_empty());
    app.stop().await;
}

#[actix_rt::test]
async fn a_body_that_never_arrives_times_out() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("CLIENT_BODY_TIMEOUT", "1"),
    )
    .await;
    let head = post_head(&app, "/v1/chat/completions", Some(PASSWORD), 1000);
    let started = std::time::Instant::now();
    let (status, text) = raw_status(&app, &head, b"{\"model\":").await;
    assert_eq!(status, 408, "{text}");
    assert!(started.elapsed() < Duration::from_secs(8));
    app.stop().await;
}

#[actix_rt::test]
async fn in_flight_body_bytes_are_bounded() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("MAX_INFLIGHT_BODY_MB", "1"),
    )
    .await;
    // A slow client holds 900 KB of budget while it sends. A small request already in flight when its
    // head arrives can make the gateway refuse the slow one instead (both cannot fit); then it
    // answers on the slow connection at once, and the slow client starts over.
    let addr = app.base.trim_start_matches("http://").to_string();
    let open_slow = || async {
        let mut slow = TcpStream::connect(&addr).await.unwrap();
        let head = post_head(&app, "/v1/chat/completions", Some(PASSWORD), 900 * 1024);
        slow.write_all(head.as_bytes()).await.unwrap();
        slow.write_all(b"{").await.unwrap();
        slow
    };
    let mut slow = open_slow().await;
    let small = vec![b' '; 300 * 1024];
    let mut refused = None;
    for _ in 0..250 {
        let head = post_head(&app, "/v1/chat/completions", Some(PASSWORD), small.len());
        let (status, text) = raw_status(&app, &head, &small).await;
        if status == 503 {
            refused = Some(text);
            break;
        }
        assert_eq!(status, 400, "{text}");
        let mut answer = [0u8; 64];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(20), slow.read(&mut answer)).await
        {
            assert!(
                String::from_utf8_lossy(&answer[..n]).contains(" 503 ") || n == 0,
                "the slow client was answered: {}",
                String::from_utf8_lossy(&answer[..n])
            );
            slow = open_slow().await;
        }
    }
    let refused = refused.expect("a request past the budget is refused");
    assert!(
        refused.to_ascii_lowercase().contains("retry-after: 1"),
        "{refused}"
    );
    drop(slow);
    // The budget comes back when the slow client goes away.
    let mut accepted = false;
    for _ in 0..250 {
        let head = post_head(&app, "/v1/chat/completions", Some(PASSWORD), small.len());
        if raw_status(&app, &head, &small).await.0 == 400 {
            accepted = true;
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(accepted, "the budget was given back");
    app.stop().await;
}

// 6. Secrets and files.

#[actix_rt::test]
async fn url_credentials_are_masked_in_the_config() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("PROXY", "http://bob:hunter2@127.0.0.1:3128"),
    )
    .await;
    let endpoint = "http://svc:s3cret@localhost:7861/oauth2callback".to_string();
    let saved = app
        .post(
            "/config/save",
            &json!({"config": {"oauth_redirect_uri": endpoint}}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    assert!(!saved.text().contains("s3cret"), "{}", saved.text());
    let config = app.get("/config/get").await;
    assert!(!config.text().contains("hunter2"), "{}", config.text());
    assert!(!config.text().contains("s3cret"), "{}", config.text());
    let shown = config.json()["config"]["oauth_redirect_uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(shown.starts_with("http://********@"), "{shown}");
    assert_eq!(
        config.json()["config"]["proxy"],
        "http://********@127.0.0.1:3128"
    );
    // Saving the page back as shown keeps the real value.
    let again = app
        .post(
            "/config/save",
            &json!({"config": {"oauth_redirect_uri": shown}}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(
        app.state.settings.current().oauth_redirect_uri.as_deref(),
        Some(endpoint.as_str())
    );
    app.stop().await;
}

#[cfg(unix)]
#[actix_rt::test]
async fn everything_written_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let loose = dir.path().join("loose.json");
    std::fs::write(
        &loose,
        serde_json::to_vec(&credential("rt-l", Some("pl"), None)).unwrap(),
    )
    .unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let app = spawn_app_with(TestOptions {
        dir: Some(dir),
        ..TestOptions::default()
    })
    .await;
    let mode = |name: &str| {
        std::fs::metadata(app.dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "CREDENTIALS_DIR");
    assert_eq!(mode(".lock"), 0o600);
    assert_eq!(mode("log.txt"), 0o600);
    assert_eq!(mode("journal.jsonl"), 0o600);
    assert_eq!(mode("loose.json.imported"), 0o600, "the imported file");
    app.stop().await;
}

// 7. Gemini-native validation.

#[actix_rt::test]
async fn malformed_gemini_bodies_are_refused_before_google_and_cost_nothing() {
    let app = spawn_app().await;
    let key = create_key(&app, json!({"total_quota": 10})).await;
    let text = json!([{"role": "user", "parts": [{"text": "hi"}]}]);
    let cases = [
        (
            json!({"contents": text, "tools": [{"functionDeclarations": [{"name": "f", "parameters": "not an object"}]}]}),
            "tools[0].functionDeclarations[0].parameters",
        ),
        (
            json!({"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png"}}]}]}),
            "contents[0].parts[0].inlineData.data",
        ),
        (
            json!({"contents": [{"role": "user", "parts": [{"nothing": true}]}]}),
            "contents[0].parts[0]",
        ),
        (
            json!({"contents": [{"role": "user", "parts": "hi"}]}),
            "contents[0].parts",
        ),
        (
            json!({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}),
            "contents[0].role",
        ),
        (
            json!({"contents": text, "generationConfig": {"temperature": "warm"}}),
            "generationConfig.temperature",
        ),
        (
            json!({"contents": text, "generationConfig": {"maxOutputTokens": "many"}}),
            "generationConfig.maxOutputTokens",
        ),
    ];
    for method in ["generateContent", "streamGenerateContent"] {
        for (body, field) in &cases {
            let path = format!("/v1beta/models/gemini-2.5-flash:{method}?key={key}");
            let answer = app.send(app.client.post(app.url(&path)), Some(body)).await;
            assert_eq!(answer.status, 400, "{body}: {}", answer.text());
            let message = answer.json()["error"]["message"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(message.contains(field), "{message} should name {field}");
        }
    }
    let count = app
        .send(
            app.client.post(app.url(&format!(
                "/v1beta/models/gemini-2.5-flash:countTokens?key={key}"
            ))),
            Some(&json!({"contents": [{"parts": [{"text": 1}]}]})),
        )
        .await;
    assert_eq!(count.status, 400, "{}", count.text());
    assert!(app.google.requests_to("countTokens").is_empty());
    assert!(app.upstream_calls().is_empty(), "nothing went upstream");
    assert_eq!(used_quota(&app, &key).await, 0, "nothing was debited");
    app.stop().await;
}

// 9. One store selection for `serve` and `migrate`.

#[actix_rt::test]
async fn serve_and_migrate_use_the_same_redis_database() {
    use gcli2api::store::{open_store, StoreUrl};
    let prefix = format!("sec_{}", uuid::Uuid::new_v4().simple());
    let uri = "redis://127.0.0.1:6379/3";
    let app = spawn_app_with(
        TestOptions::default()
            .env("REDIS_URI", uri)
            .env("STORAGE_PREFIX", prefix.clone()),
    )
    .await;
    let key = create_key(&app, json!({"total_quota": 5})).await;
    app.stop().await;
    // `migrate --from redis://127.0.0.1:6379/3` opens the store this way.
    let migrate_view = open_store(&StoreUrl::parse(uri).unwrap(), &prefix)
        .await
        .unwrap();
    assert!(
        migrate_view
            .get_key(&gcli2api::key_id::hash_key(&key))
            .await
            .unwrap()
            .is_some(),
        "serve wrote to database 3"
    );
    let database_zero = open_store(
        &StoreUrl::parse("redis://127.0.0.1:6379/0").unwrap(),
        &prefix,
    )
    .await
    .unwrap();
    assert!(database_zero.get_key(&key).await.unwrap().is_none());
    migrate_view.delete_key(&key).await.unwrap();
    migrate_view.close().await.unwrap();
    database_zero.close().await.unwrap();
}
