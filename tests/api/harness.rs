//! `spawn_app()`: the real gateway on port 0 with every Google base URL pointed at an in-process fake,
//! a temporary credentials directory, and typed helpers for calling it.

use std::collections::HashMap;
use std::time::Duration;

use gcli2api::clock::Clock;
use gcli2api::config::ConfigLayers;
use gcli2api::startup::{Application, StartOptions};
use gcli2api::state::AppState;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::fake_google::FakeGoogle;

pub const PASSWORD: &str = "test-password";

pub struct TestApp {
    pub base: String,
    pub google: FakeGoogle,
    pub dir: TempDir,
    pub clock: Clock,
    pub state: AppState,
    pub handle: actix_web::dev::ServerHandle,
    pub client: awc::Client,
    task: actix_rt::task::JoinHandle<()>,
}

/// A credential file as Google tools write it. `token` None → the gateway must refresh first.
pub fn credential(refresh: &str, project: Option<&str>, token: Option<&str>) -> Value {
    let mut cred = json!({
        "client_id": "test-client.apps.googleusercontent.com",
        "client_secret": "test-secret",
        "refresh_token": refresh,
        "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    if let Some(p) = project {
        cred["project_id"] = json!(p);
    }
    if let Some(t) = token {
        cred["token"] = json!(t);
        let expiry = chrono::Utc::now() + chrono::Duration::hours(1);
        cred["expiry"] = json!(expiry.to_rfc3339());
    }
    cred
}

#[derive(Default)]
pub struct TestOptions {
    pub env: Vec<(&'static str, String)>,
    /// (file name, JSON) written into the credentials directory before start.
    pub creds: Vec<(String, Value)>,
    pub dir: Option<TempDir>,
    pub google: Option<FakeGoogle>,
}

impl TestOptions {
    pub fn env(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.env.push((key, value.into()));
        self
    }

    pub fn cred(mut self, name: &str, value: Value) -> Self {
        self.creds.push((name.to_string(), value));
        self
    }
}

/// One ready credential (`p1`, refresh token `rt-1`) unless options say otherwise.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestOptions::default().cred("p1.json", credential("rt-1", Some("p1"), None)))
        .await
}

pub async fn spawn_app_with(opts: TestOptions) -> TestApp {
    let google = match opts.google {
        Some(g) => g,
        None => FakeGoogle::start().await,
    };
    let dir = opts.dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
    for (name, value) in &opts.creds {
        std::fs::write(
            dir.path().join(name),
            serde_json::to_vec_pretty(value).unwrap(),
        )
        .unwrap();
    }
    let url = google.url();
    let mut env: HashMap<String, String> = [
        ("HOST", "127.0.0.1".to_string()),
        ("PORT", "0".to_string()),
        ("WORKERS", "2".to_string()),
        ("PASSWORD", PASSWORD.to_string()),
        ("CREDENTIALS_DIR", dir.path().display().to_string()),
        ("LOG_FILE", dir.path().join("log.txt").display().to_string()),
        ("LOG_LEVEL", "debug".to_string()),
        ("CODE_ASSIST_ENDPOINT", url.clone()),
        ("OAUTH_PROXY_URL", url.clone()),
        ("GOOGLEAPIS_PROXY_URL", url.clone()),
        ("RESOURCE_MANAGER_API_URL", url.clone()),
        ("SERVICE_USAGE_API_URL", url.clone()),
        ("OAUTH_AUTH_URL", format!("{url}/o/oauth2/auth")),
        ("RETRY_429_INTERVAL", "0".to_string()),
        ("IMAGE_FETCH_ALLOW_PRIVATE", "true".to_string()),
        ("FAKE_STREAM_HEARTBEAT_INTERVAL", "0.2".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in opts.env {
        env.insert(k.to_string(), v);
    }
    gcli2api::logging::init("debug");
    let layers = ConfigLayers::load(None, &env).expect("config");
    let clock = Clock::default();
    let app = Application::build(
        layers,
        StartOptions {
            clock: clock.clone(),
            onboarding_poll: Duration::from_millis(20),
            env: env.clone(),
        },
    )
    .await
    .expect("gateway starts");
    let port = app.port();
    let state = app.state.clone();
    let handle = app.server_handle();
    let task = actix_rt::spawn(async move {
        let _ = app.run().await;
    });
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    TestApp {
        base: format!("http://127.0.0.1:{port}"),

        google,
        dir,
        clock,
        state,
        handle,
        client,
        task,
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `data:` payloads of an SSE body, `[DONE]` included as a string.
    pub fn sse_data(&self) -> Vec<String> {
        self.text()
            .split("\n\n")
            .filter_map(|frame| frame.strip_prefix("data: ").map(str::to_string))
            .collect()
    }

    pub fn sse_json(&self) -> Vec<Value> {
        self.sse_data()
            .iter()
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, req: awc::ClientRequest, body: Option<&Value>) -> Answer {
        let result = match body {
            Some(b) => req.send_json(b).await,
            None => req.send().await,
        };
        let mut resp = result.expect("gateway answers");
        let body = resp
            .body()
            .limit(64 * 1024 * 1024)
            .await
            .expect("body")
            .to_vec();
        Answer {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body,
        }
    }

    /// A panel session token, from the password login.
    pub async fn login(&self) -> String {
        let req = self.client.post(self.url("/auth/login"));
        let answer = self.send(req, Some(&json!({"password": PASSWORD}))).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()["token"].as_str().unwrap().to_string()
    }

    /// Creates an `sk-` key with the panel session `token`; answers the creation's JSON (it holds
    /// `api_key`, the only time the full key is shown).
    pub async fn create_key(&self, token: &str, body: Value) -> Value {
        let req = self.client.post(self.url("/auth/keys")).bearer_auth(token);
        let answer = self.send(req, Some(&body)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()
    }

    /// One non-streaming chat completion ("hi") to `model` with the key `key`.
    pub async fn chat_as(&self, key: &str, model: &str) -> Answer {
        let req = self
            .client
            .post(self.url("/v1/chat/completions"))
            .bearer_auth(key);
        let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
        self.send(req, Some(&body)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        let req = self.client.post(self.url(path)).bearer_auth(PASSWORD);
        self.send(req, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        let req = self.client.get(self.url(path)).bearer_auth(PASSWORD);
        self.send(req, None).await
    }

    pub async fn chat(&self, body: Value) -> Answer {
        self.post("/v1/chat/completions", &body).await
    }

    /// Code Assist calls the fake received (generate and stream).
    pub fn upstream_calls(&self) -> Vec<crate::fake_google::RecordedRequest> {
        self.google
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("GenerateContent") || r.path.contains("generateContent"))
            .collect()
    }

    /// The access token each credential actor holds now, in rotation order (`None`: no token yet).
    pub async fn credential_tokens(&self) -> Vec<Option<String>> {
        let records = self
            .state
            .supervisor
            .send(gcli2api::actors::credentials::messages::ListCredentials)
            .await
            .expect("the credential supervisor answers");
        records
            .iter()
            .map(|r| {
                r.credential
                    .get("token")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect()
    }

    /// Polls `cond` for up to 5 s (actors work asynchronously).
    pub async fn eventually<F: FnMut() -> bool>(&self, what: &str, mut cond: F) {
        for _ in 0..250 {
            if cond() {
                return;
            }
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for: {what}");
    }

    /// Like [`eventually`] for conditions that need the gateway.
    pub async fn eventually_async<F, Fut>(&self, what: &str, mut cond: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..250 {
            if cond().await {
                return;
            }
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for: {what}");
    }

    pub async fn stop(self) {
        self.shutdown().await;
    }

    /// Stops the gateway gracefully (pending writes flushed) and hands back the directory and the fake.
    pub async fn shutdown(self) -> (tempfile::TempDir, FakeGoogle) {
        self.handle.stop(true).await;
        let _ = self.task.await;
        self.google.stop().await;
        (self.dir, self.google)
    }
}
