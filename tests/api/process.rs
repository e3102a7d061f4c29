//! Real gateway processes (the built binary), for what an in-process server cannot show: `kill -9`
//! and several instances sharing one store.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{Answer, PASSWORD};

pub struct Gateway {
    child: Child,
    pub base: String,
    env: HashMap<String, String>,
    client: awc::Client,
}

impl Gateway {
    /// Starts the binary with `env` on a port it picks while binding (`serve --port-file`: no other
    /// process can take the port in between) and waits until it answers.
    pub async fn start(env: &HashMap<String, String>) -> Gateway {
        let mut env = env.clone();
        env.insert("HOST".into(), "127.0.0.1".into());
        env.insert("PORT".into(), "0".into());
        env.entry("PASSWORD".into())
            .or_insert_with(|| PASSWORD.into());
        env.entry("LOG_LEVEL".into())
            .or_insert_with(|| "warn".into());
        env.entry("LOG_FILE".into()).or_default();
        env.entry("WORKERS".into()).or_insert_with(|| "2".into());
        let port_file = tempfile::NamedTempFile::new().unwrap();
        let mut child = spawn(&env, Some(port_file.path()));
        let port = bound_port(&mut child, port_file.path()).await;
        // A restart binds the same port again.
        env.insert("PORT".into(), port.to_string());
        let mut gateway = Gateway {
            child,
            base: format!("http://127.0.0.1:{port}"),
            env,
            client: awc::Client::builder()
                .timeout(Duration::from_secs(30))
                // Under actix's 5 s server keep-alive, so a burst never reuses a connection the
                // gateway is closing (the request would fail with a reset, not an answer).
                .connector(awc::Connector::new().conn_keep_alive(Duration::from_secs(3)))
                .finish(),
        };
        gateway.wait_ready().await;
        gateway
    }

    async fn wait_ready(&mut self) {
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("gateway exited early: {status}");
            }
            if self
                .client
                .get(format!("{}/v1/models", self.base))
                .bearer_auth(PASSWORD)
                .send()
                .await
                .is_ok()
            {
                return;
            }
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("gateway did not start");
    }

    /// SIGKILL: no shutdown hooks, no flush.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the same configuration again (same port and directory).
    pub async fn restart(&mut self) {
        self.kill9();
        self.child = spawn(&self.env, None);
        self.wait_ready().await;
    }

    /// `None` when the gateway did not answer (e.g. it was killed mid-request).
    pub async fn try_send(
        &self,
        method: &str,
        path: &str,
        bearer: &str,
        body: Option<&Value>,
    ) -> Option<Answer> {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(bearer);
        let result = match body {
            Some(b) => req.send_json(b).await,
            None => req.send().await,
        };
        let mut resp = result.ok()?;
        let body = resp.body().limit(16 * 1024 * 1024).await.ok()?.to_vec();
        Some(Answer {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body,
        })
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        bearer: &str,
        body: Option<&Value>,
    ) -> Answer {
        self.try_send(method, path, bearer, body)
            .await
            .expect("gateway answers")
    }

    /// The status of a chat request, 0 when the gateway did not answer.
    pub async fn chat(&self, key: &str, model: &str) -> u16 {
        let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
        self.try_send("POST", "/v1/chat/completions", key, Some(&body))
            .await
            .map_or(0, |a| a.status)
    }

    /// The new key, `None` unless the creation was acknowledged.
    pub async fn create_key(&self, quota: u64) -> Option<String> {
        let answer = self
            .try_send(
                "POST",
                "/auth/keys",
                PASSWORD,
                Some(&json!({"total_quota": quota})),
            )
            .await?;
        (answer.status == 200).then(|| answer.json()["api_key"].as_str().unwrap().to_string())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`TERM`, `INT`) to the process.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} {} failed", self.pid());
    }

    /// Waits for the process to exit by itself (at most `limit`) and answers its exit code.
    pub async fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the gateway did not exit within {limit:?}"
            );
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the same configuration again after the process exited by itself.
    pub async fn start_again(&mut self) {
        self.child = spawn(&self.env, None);
        self.wait_ready().await;
    }

    pub async fn key(&self, key: &str) -> Answer {
        self.send("GET", &format!("/auth/keys/{key}"), PASSWORD, None)
            .await
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The port the gateway wrote to `port_file` once listening (the file starts empty).
async fn bound_port(child: &mut Child, port_file: &Path) -> u16 {
    for _ in 0..600 {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("gateway exited early: {status}");
        }
        let written = std::fs::read_to_string(port_file).unwrap_or_default();
        if let Ok(port) = written.trim().parse() {
            return port;
        }
        actix_rt::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("gateway did not write its port");
}

fn spawn(env: &HashMap<String, String>, port_file: Option<&Path>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gcli2api"));
    if let Some(path) = port_file {
        command.arg("serve").arg("--port-file").arg(path);
    }
    command
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the gateway binary")
}

/// The environment of a gateway on `store_env` talking to the fake at `google`.
pub fn gateway_env(google: &str, store_env: &[(&str, String)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        "CODE_ASSIST_ENDPOINT",
        "OAUTH_PROXY_URL",
        "GOOGLEAPIS_PROXY_URL",
        "RESOURCE_MANAGER_API_URL",
        "SERVICE_USAGE_API_URL",
    ]
    .iter()
    .map(|k| (k.to_string(), google.to_string()))
    .collect();
    env.insert("RETRY_429_INTERVAL".into(), "0".into());
    for (k, v) in store_env {
        env.insert(k.to_string(), v.clone());
    }
    env
}
