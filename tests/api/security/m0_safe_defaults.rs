//! M-0: with the built-in password the gateway serves this machine only, unless `HOST` is named and
//! `ALLOW_DEFAULT_PASSWORD=true`; it says in one start-up line how to set a password, and a panel
//! login with it is flagged so the panel's first screen asks for a new one.
//!
//! A socket bound to 127.0.0.1 refuses connections to 127.0.0.2 (also this machine, on Linux); one
//! bound to every interface accepts them: that tells the two apart without a second network.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

struct Process {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary with only `extra` set (besides port, directory and log file): no PASSWORD, no HOST
/// unless given.
async fn start(extra: &[(&str, &str)]) -> Process {
    let dir = tempfile::tempdir().unwrap();
    // Port 0 and `--port-file`: the gateway binds a free port itself and says which, so no other
    // process can take the port between a pick and the bind.
    let port_file = dir.path().join("port");
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("PORT".into(), "0".into());
    env.insert("CREDENTIALS_DIR".into(), dir.path().display().to_string());
    env.insert(
        "LOG_FILE".into(),
        dir.path().join("log.txt").display().to_string(),
    );
    env.insert("WORKERS".into(), "1".into());
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    let child = Command::new(env!("CARGO_BIN_EXE_gcli2api"))
        .arg("serve")
        .arg("--port-file")
        .arg(&port_file)
        .env_clear()
        .envs(&env)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut process = Process {
        child,
        port: 0,
        dir,
    };
    // A loaded machine can take seconds to start a debug binary: up to a minute.
    for _ in 0..1200 {
        if let Ok(Some(status)) = process.child.try_wait() {
            panic!("gateway exited early: {status}");
        }
        if process.port == 0 {
            process.port = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|text| text.trim().parse().ok())
                .unwrap_or(0);
        }
        if process.port != 0 && reachable("127.0.0.1", process.port).await {
            return process;
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = process.child.kill();
    panic!("gateway did not start");
}

async fn reachable(host: &str, port: u16) -> bool {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(5))
        .finish();
    client
        .get(format!("http://{host}:{port}/keepalive"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

impl Process {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log.txt")).unwrap_or_default()
    }

    async fn wait_log(&self, text: &str) -> String {
        // The log file is written by its own task, a moment after the line: up to 20 s when loaded.
        for _ in 0..400 {
            let log = self.log();
            if log.contains(text) {
                return log;
            }
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{text:?} not logged: {}", self.log());
    }

    async fn login(&self, password: &str) -> Value {
        let mut resp = awc::Client::new()
            .post(format!("http://127.0.0.1:{}/auth/login", self.port))
            .send_json(&json!({"password": password}))
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.unwrap()
    }
}

#[actix_rt::test]
async fn m0_the_built_in_password_listens_on_loopback_and_says_how_to_set_one() {
    let fresh = start(&[]).await;
    assert!(
        !reachable("127.0.0.2", fresh.port).await,
        "a fresh install with `pwd` answered beyond 127.0.0.1"
    );
    let log = fresh.wait_log("listening on 127.0.0.1").await;
    let notices: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("set PASSWORD="))
        .collect();
    assert_eq!(notices.len(), 1, "one start-up line says how: {log}");
    assert!(notices[0].contains("127.0.0.1 only"), "{}", notices[0]);
    let login = fresh.login("pwd").await;
    assert_eq!(login["default_password"], true, "{login}");
    assert_eq!(login["password_key"], "password");
    drop(fresh);

    // Naming HOST is not enough...
    let named = start(&[("HOST", "0.0.0.0")]).await;
    assert!(!reachable("127.0.0.2", named.port).await);
    drop(named);
    // ...ALLOW_DEFAULT_PASSWORD alone neither...
    let allowed_only = start(&[("ALLOW_DEFAULT_PASSWORD", "true")]).await;
    assert!(!reachable("127.0.0.2", allowed_only.port).await);
    drop(allowed_only);
    // ...both together are the operator's explicit choice.
    let both = start(&[("HOST", "0.0.0.0"), ("ALLOW_DEFAULT_PASSWORD", "true")]).await;
    assert!(reachable("127.0.0.2", both.port).await);
    both.wait_log("ALLOW_DEFAULT_PASSWORD=true").await;
    drop(both);

    // A real password listens where HOST says (every interface by default), and no screen asks.
    let set = start(&[("PASSWORD", "a-real-secret")]).await;
    assert!(reachable("127.0.0.2", set.port).await);
    assert!(!set.log().contains("set PASSWORD="), "{}", set.log());
    let login = set.login("a-real-secret").await;
    assert_eq!(login["default_password"], false);
}
