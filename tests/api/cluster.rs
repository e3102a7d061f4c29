//! Durability and several instances, with real gateway processes: `kill -9` loses no acknowledged write
//! (files, Redis, PostgreSQL), and three instances on one Redis or one PostgreSQL share quotas, bans and
//! configuration. The Redis and PostgreSQL variants exist only with the `redis-tests` /
//! `postgres-tests` features (see `scripts/test.sh`) and then require `REDIS_URI` / `POSTGRES_DSN`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
use serde_json::json;

use crate::fake_google::FakeGoogle;
#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
use crate::fake_google::Reply;
use crate::harness::{credential, PASSWORD};
use crate::onboarding::multipart;
use crate::process::{gateway_env, Gateway};

/// A shared backend for one test: its settings and how to clean up after it.
pub(crate) struct Backend {
    pub(crate) env: Vec<(&'static str, String)>,
    cleanup: Option<Cleanup>,
    _dir: tempfile::TempDir,
}

enum Cleanup {
    Redis { uri: String, prefix: String },
    Postgres { dsn: String, prefix: String },
}

fn unique_prefix() -> String {
    format!("t{}", uuid::Uuid::new_v4().simple())
}

/// The backend named by `kind`. A service backend's tests are compiled only with its feature, so its
/// settings must be there.
pub(crate) fn backend(kind: &str) -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique_prefix();
    let files = ("CREDENTIALS_DIR", dir.path().display().to_string());
    let from_env = |var: &str| match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{var} must be set: this test binary was built to run against that service"),
    };
    match kind {
        "files" => Backend {
            env: vec![files],
            cleanup: None,
            _dir: dir,
        },
        "redis" => {
            let uri = from_env("REDIS_URI");
            Backend {
                env: vec![
                    files,
                    ("REDIS_URI", uri.clone()),
                    ("STORAGE_PREFIX", prefix.clone()),
                ],
                cleanup: Some(Cleanup::Redis { uri, prefix }),
                _dir: dir,
            }
        }
        "postgres" => {
            let dsn = from_env("POSTGRES_DSN");
            Backend {
                env: vec![
                    files,
                    ("POSTGRES_DSN", dsn.clone()),
                    ("STORAGE_PREFIX", prefix.clone()),
                ],
                cleanup: Some(Cleanup::Postgres { dsn, prefix }),
                _dir: dir,
            }
        }
        other => panic!("no backend {other}"),
    }
}

impl Backend {
    pub(crate) async fn clean(self) {
        match self.cleanup {
            Some(Cleanup::Redis { uri, prefix }) => {
                let client = redis::Client::open(uri).unwrap();
                let mut conn = client.get_multiplexed_async_connection().await.unwrap();
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{prefix}:*"))
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                if !keys.is_empty() {
                    let _: () = redis::cmd("DEL")
                        .arg(keys)
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                }
            }
            Some(Cleanup::Postgres { dsn, prefix }) => {
                let (client, conn) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                actix_rt::spawn(conn);
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{prefix}\" CASCADE"))
                    .await
                    .unwrap();
            }
            None => {}
        }
    }
}

pub(crate) async fn upload_creds(gw: &Gateway, creds: &[(&str, &str, &str)]) {
    let files: Vec<(String, Vec<u8>)> = creds
        .iter()
        .map(|(name, rt, project)| {
            (
                name.to_string(),
                serde_json::to_vec(&credential(rt, Some(project), None)).unwrap(),
            )
        })
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    let (content_type, body) = multipart(&refs);
    let client = awc::Client::default();
    let resp = client
        .post(format!("{}/auth/upload", gw.base))
        .bearer_auth(PASSWORD)
        .insert_header(("content-type", content_type))
        .send_body(body)
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

pub(crate) async fn credential_names(gw: &Gateway) -> Vec<String> {
    let status = gw.send("GET", "/creds/status", PASSWORD, None).await.json();
    status["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["filename"].as_str().unwrap().to_string())
        .collect()
}

/// Two gateways on one store, credentials `a.json` (project `pa`) and `b.json` (`pb`) uploaded to the
/// first and seen by the second.
#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
pub(crate) async fn two_instances_with_a_and_b(
    env: &std::collections::HashMap<String, String>,
) -> (Gateway, Gateway) {
    let mut instances = instances_with_a_and_b(env, 2).await.into_iter();
    match (instances.next(), instances.next()) {
        (Some(first), Some(second)) => (first, second),
        _ => unreachable!("two instances were started"),
    }
}

/// `count` gateways on one store; the first imports a.json and b.json and every other has seen them.
pub(crate) async fn instances_with_a_and_b(
    env: &std::collections::HashMap<String, String>,
    count: usize,
) -> Vec<Gateway> {
    let mut instances = Vec::new();
    for _ in 0..count {
        instances.push(Gateway::start(env).await);
    }
    upload_creds(
        &instances[0],
        &[("a.json", "rt-a", "pa"), ("b.json", "rt-b", "pb")],
    )
    .await;
    for gw in &instances[1..] {
        until("credentials reach every instance", || async {
            credential_names(gw).await.len() == 2
        })
        .await;
    }
    instances
}

pub(crate) async fn until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if cond().await {
            return;
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn kill9_keeps_acknowledged_writes(kind: &str) {
    let backend = backend(kind);
    let google = FakeGoogle::start().await;
    let env = gateway_env(&google.url(), &backend.env);
    let mut gw = Gateway::start(&env).await;
    upload_creds(&gw, &[("a.json", "rt-a", "pa")]).await;
    let payer = gw.create_key(1_000_000).await.unwrap();
    let doomed = gw.create_key(5).await.unwrap();
    assert_eq!(
        gw.send("DELETE", &format!("/auth/keys/{doomed}"), PASSWORD, None)
            .await
            .status,
        200
    );

    // A burst of creations and debits in a few sequential lanes (so it lasts), with a SIGKILL as
    // soon as some writes were acknowledged.
    let pid = gw.pid();
    let acked = AtomicUsize::new(0);
    let unanswered = AtomicUsize::new(0);
    let killer = async {
        until("some writes acknowledged before the kill", || async {
            acked.load(Ordering::SeqCst) >= 5
        })
        .await;
        let killed = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success(), "kill -9 {pid} failed");
    };
    let creations = join_all((0..4).map(|_| async {
        let mut keys = Vec::new();
        for _ in 0..25 {
            match gw.create_key(7).await {
                Some(key) => {
                    acked.fetch_add(1, Ordering::SeqCst);
                    keys.push(key);
                }
                None => {
                    unanswered.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        keys
    }));
    let debits = join_all((0..4).map(|_| async {
        let mut ok = 0u64;
        for _ in 0..25 {
            match gw.chat(&payer, "gemma-3").await {
                200 => {
                    acked.fetch_add(1, Ordering::SeqCst);
                    ok += 1;
                }
                0 => {
                    unanswered.fetch_add(1, Ordering::SeqCst);
                }
                _ => {}
            }
        }
        ok
    }));
    let ((created, debited), ()) =
        futures_util::future::join(futures_util::future::join(creations, debits), killer).await;
    let unanswered = unanswered.load(Ordering::SeqCst);
    assert!(
        unanswered > 0,
        "{kind}: the SIGKILL did not interrupt the burst (every request was answered)"
    );
    gw.restart().await;
    let acked_keys: Vec<String> = created.into_iter().flatten().collect();
    let acked_debits: u64 = debited.iter().sum();
    assert!(
        !acked_keys.is_empty() || acked_debits > 0,
        "{kind}: nothing was acknowledged before the kill"
    );
    for key in &acked_keys {
        assert_eq!(
            gw.key(key).await.status,
            200,
            "{kind}: acknowledged key {key} lost"
        );
    }
    let used = gw.key(&payer).await.json()["used_quota"].as_u64().unwrap();
    assert!(
        used >= acked_debits,
        "{kind}: {acked_debits} debits acknowledged, {used} stored"
    );
    assert_eq!(
        gw.key(&doomed).await.status,
        404,
        "{kind}: the deletion was lost"
    );
    drop(gw);
    google.stop().await;
    backend.clean().await;
}

#[actix_rt::test]
async fn kill9_keeps_acknowledged_writes_files() {
    kill9_keeps_acknowledged_writes("files").await;
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn kill9_keeps_acknowledged_writes_redis() {
    kill9_keeps_acknowledged_writes("redis").await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn kill9_keeps_acknowledged_writes_postgres() {
    kill9_keeps_acknowledged_writes("postgres").await;
}

#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
async fn three_instances_share_one_store(kind: &str) {
    let backend = backend(kind);
    let google = FakeGoogle::start().await;
    let mut env = gateway_env(&google.url(), &backend.env);
    // Rotate on every call, so a ban is hit within two requests.
    env.insert("CALLS_PER_ROTATION".into(), "1".into());
    let instances = instances_with_a_and_b(&env, 3).await;

    // Quota: 1,000 concurrent requests across the instances against a key worth 300.
    let key = instances[0].create_key(300).await.unwrap();
    google.clear_requests();
    let calls = (0..1000).map(|i| instances[i % 3].chat(&key, "gemma-3"));
    let statuses = join_all(calls).await;
    let served = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    // The test client's own transport under a 1,000-socket burst on a busy machine: no answer, or
    // actix's 408 for a request head that did not arrive within 5 s. Neither reaches the quota.
    let unsent = statuses.iter().filter(|s| **s == 0 || **s == 408).count();
    let mut seen = std::collections::BTreeMap::new();
    for s in &statuses {
        *seen.entry(*s).or_insert(0) += 1;
    }
    assert_eq!(served, 300, "{kind}: statuses {seen:?}");
    assert_eq!(refused + unsent, 700, "{kind}: statuses {seen:?}");
    let upstream = google
        .requests()
        .iter()
        .filter(|r| r.path.contains("generateContent"))
        .count();
    assert_eq!(
        upstream, 300,
        "{kind}: exactly the paid requests reached Google"
    );
    assert_eq!(instances[2].key(&key).await.json()["used_quota"], 300);

    // A ban on one instance is seen by the others.
    google.set_default_reply(Some("pa"), Reply::forbidden());
    for _ in 0..2 {
        assert_eq!(instances[0].chat(PASSWORD, "gemini-2.5-flash").await, 200);
    }
    let on_a = instances[0]
        .send(
            "GET",
            "/creds/status?status_filter=disabled",
            PASSWORD,
            None,
        )
        .await
        .json();
    assert_eq!(on_a["items"][0]["filename"], "a.json", "{on_a}");
    for gw in &instances[1..] {
        until("the ban reaches the other instances", || async {
            let status = gw
                .send(
                    "GET",
                    "/creds/status?status_filter=disabled",
                    PASSWORD,
                    None,
                )
                .await
                .json();
            status["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["filename"] == "a.json")
        })
        .await;
    }
    google.clear_requests();
    for gw in &instances {
        for _ in 0..3 {
            assert_eq!(gw.chat(PASSWORD, "gemini-2.5-flash").await, 200);
        }
    }
    assert!(
        google
            .requests()
            .iter()
            .all(|r| r.project.as_deref() != Some("pa")),
        "{kind}: a banned credential was used"
    );

    // Config saved on one instance reaches the others; env-locked keys stay locked.
    let saved = instances[1]
        .send(
            "POST",
            "/config/save",
            PASSWORD,
            Some(&json!({"config": {"retry_429_max_retries": 7, "calls_per_rotation": 50}})),
        )
        .await
        .json();
    assert_eq!(saved["env_locked_skipped"], json!(["calls_per_rotation"]));
    for gw in [&instances[0], &instances[2]] {
        until("config reaches the other instances", || async {
            let config = gw.send("GET", "/config/get", PASSWORD, None).await.json();
            config["config"]["retry_429_max_retries"] == 7
                && config["config"]["calls_per_rotation"] == 1
        })
        .await;
    }
    drop(instances);
    google.stop().await;
    backend.clean().await;
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn three_instances_share_one_redis() {
    three_instances_share_one_store("redis").await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn three_instances_share_one_postgres() {
    three_instances_share_one_store("postgres").await;
}

#[actix_rt::test]
async fn an_unreachable_store_stops_start_up() {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert(
        "POSTGRES_DSN".into(),
        "postgres://nobody@127.0.0.1:1/none".into(),
    );
    env.insert("PORT".into(), "0".into());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gcli2api"))
        .env_clear()
        .envs(&env)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot start") && stderr.to_lowercase().contains("unreachable"),
        "{stderr}"
    );
}

#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
async fn one_refresh_across_instances(kind: &str) {
    let backend = backend(kind);
    let google = FakeGoogle::start().await;
    // A slow token endpoint widens the window in which every instance wants to refresh.
    google.set_token_reply("rt-shared", crate::fake_google::TokenReply::Delay(400));
    let env = gateway_env(&google.url(), &backend.env);
    // Seed the shared store with a credential that has no token yet, as a restart would find it.
    let url = if kind == "redis" {
        gcli2api::store::StoreUrl::Redis {
            uri: env["REDIS_URI"].clone(),
            database: 0,
        }
    } else {
        gcli2api::store::StoreUrl::Postgres(env["POSTGRES_DSN"].clone())
    };
    let store = gcli2api::store::open_store(&url, &env["STORAGE_PREFIX"])
        .await
        .unwrap();
    let record = gcli2api::store::CredentialRecord {
        name: "shared.json".into(),
        kind: Default::default(),
        credential: credential("rt-shared", Some("pshared"), None)
            .as_object()
            .cloned()
            .unwrap(),
        state: Default::default(),
    };
    store.put_credential(&record).await.unwrap();
    let instances = join_all((0..3).map(|_| Gateway::start(&env))).await;
    for gw in &instances {
        assert_eq!(gw.chat(PASSWORD, "gemini-2.5-flash").await, 200);
    }
    assert_eq!(
        google.token_refreshes("rt-shared"),
        1,
        "{kind}: one refresh for the whole cluster"
    );
    let tokens: std::collections::HashSet<Option<String>> = google
        .requests()
        .iter()
        .filter(|r| r.path.contains("generateContent"))
        .map(|r| r.access_token.clone())
        .collect();
    assert_eq!(
        tokens.len(),
        1,
        "{kind}: every instance used the same token"
    );
    drop(instances);
    store.close().await.unwrap();
    google.stop().await;
    backend.clean().await;
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn one_refresh_across_instances_redis() {
    one_refresh_across_instances("redis").await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn one_refresh_across_instances_postgres() {
    one_refresh_across_instances("postgres").await;
}
