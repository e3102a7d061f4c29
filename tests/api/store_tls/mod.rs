//! TLS to the stores, through the real binary: each test makes its own CA and certificates
//! ([`pki`]), starts its own PostgreSQL 15 or Redis 7 with TLS on a free port, and starts the gateway
//! against it. A gateway that is refused must stop at start-up with a message that names the
//! certificate problem.
//!
//! The PostgreSQL tests exist with the `postgres-tests` feature and need PostgreSQL 15's `initdb`
//! and `postgres` (`/usr/lib/postgresql/15/bin`, or `PG_BIN`); the Redis tests exist with
//! `redis-tests` and need a `redis-server` built with TLS. A machine built with a feature but
//! without the binaries fails those tests, it does not skip them.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::harness::PASSWORD;
use crate::process::Gateway;

mod pki;
#[cfg(feature = "postgres-tests")]
mod postgres;
#[cfg(feature = "redis-tests")]
mod redis;

/// Starts a store server may take. PostgreSQL and Redis cannot bind port 0 and report the port they
/// got, so the test picks a free port first ([`free_port`]) and hands it over; another process may
/// bind it in between, so a server that exits on "Address already in use" is started again on
/// another port.
pub(crate) const BIND_ATTEMPTS: usize = 5;

/// Whether a store server's output says it exited because its port was taken meanwhile.
pub(crate) fn lost_its_port(output: &str) -> bool {
    output.contains("Address already in use")
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the gateway with `env`, expects it to refuse to start, and returns what it printed.
pub(crate) async fn refused_start(env: &HashMap<String, String>) -> String {
    let mut env = env.clone();
    env.insert("HOST".into(), "127.0.0.1".into());
    env.insert("PORT".into(), free_port().to_string());
    env.insert("PASSWORD".into(), PASSWORD.into());
    env.insert("LOG_LEVEL".into(), "warn".into());
    env.insert("LOG_FILE".into(), String::new());
    let mut child = Command::new(env!("CARGO_BIN_EXE_gcli2api"))
        .env_clear()
        .envs(&env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the gateway binary");
    // Bounded so a gateway that wrongly starts fails the test instead of hanging it.
    let mut status = None;
    for _ in 0..1200 {
        if let Some(exited) = child.try_wait().unwrap() {
            status = Some(exited);
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the gateway started although its store should have been refused");
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "exit {status}, printed: {stderr}");
    stderr
}

/// The store answers through the gateway: a key created is read back with its quota.
pub(crate) async fn store_serves(gateway: &Gateway) {
    let key = gateway
        .create_key(77)
        .await
        .expect("the gateway creates a key in its store");
    let answer = gateway.key(&key).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["total_quota"], json!(77), "{}", answer.text());
}
