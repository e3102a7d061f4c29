//! One contract, every backend. Files always run (in a temp dir); the Redis, PostgreSQL and MongoDB
//! tests exist only when built with the features `redis-tests`, `postgres-tests`, `mongodb-tests`,
//! and then need `REDIS_URI`, `POSTGRES_DSN`, `MONGODB_URI`: a missing service fails them, so a test
//! that did not run is never counted as passed. `scripts/test.sh` turns on the features of the
//! services that answer.
//!
//! Each test works under its own prefix (`t_<random>`) and removes it afterwards, also on failure.
//!
//!     REDIS_URI=redis://127.0.0.1:6379 POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test \
//!         cargo nextest run --features redis-tests,postgres-tests --test store_contract

// Without every service feature some backends and helpers are unused.
#![cfg_attr(
    not(all(
        feature = "redis-tests",
        feature = "postgres-tests",
        feature = "mongodb-tests"
    )),
    allow(dead_code)
)]

use std::future::Future;
use std::sync::Arc;

use gcli2api::store::{open_store, Store, StoreUrl};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Files,
    Redis,
    Postgres,
    Mongo,
}

/// Where a test's data lives, so it can be removed.
enum Cleanup {
    TempDir(tempfile::TempDir),
    Redis { uri: String, prefix: String },
    Postgres { dsn: String, prefix: String },
    Mongo { url: StoreUrl, prefix: String },
}

/// The URL of a service whose tests were compiled in: it must be there.
fn service(var: &str) -> String {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => value,
        _ => panic!("{var} must be set: this test binary was built to run against that service"),
    }
}

fn unique_prefix() -> String {
    format!("t_{}", uuid::Uuid::new_v4().simple())
}

async fn open(backend: Backend) -> (Arc<dyn Store>, Cleanup) {
    let prefix = unique_prefix();
    let (url, cleanup) = match backend {
        Backend::Files => {
            let dir = tempfile::tempdir().unwrap();
            let url = StoreUrl::Files(dir.path().to_path_buf());
            (url, Cleanup::TempDir(dir))
        }
        Backend::Redis => {
            let uri = service("REDIS_URI");
            let url = StoreUrl::parse(&uri).unwrap();
            (
                url,
                Cleanup::Redis {
                    uri,
                    prefix: prefix.clone(),
                },
            )
        }
        Backend::Postgres => {
            let dsn = service("POSTGRES_DSN");
            let url = StoreUrl::parse(&dsn).unwrap();
            (
                url,
                Cleanup::Postgres {
                    dsn,
                    prefix: prefix.clone(),
                },
            )
        }
        Backend::Mongo => {
            let uri = service("MONGODB_URI");
            let url = StoreUrl::parse(&uri).unwrap();
            (
                url.clone(),
                Cleanup::Mongo {
                    url,
                    prefix: prefix.clone(),
                },
            )
        }
    };
    let store = open_store(&url, &prefix).await.unwrap();
    assert_eq!(store.backend_name(), url.backend_name());
    (store, cleanup)
}

async fn clean(cleanup: Cleanup) {
    match cleanup {
        Cleanup::TempDir(dir) => drop(dir),
        Cleanup::Redis { uri, prefix } => {
            let client = ::redis::Client::open(uri.as_str()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let keys: Vec<String> = ::redis::cmd("KEYS")
                .arg(format!("{prefix}:*"))
                .query_async(&mut conn)
                .await
                .unwrap();
            if !keys.is_empty() {
                let _: () = ::redis::cmd("DEL")
                    .arg(&keys)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
        }
        Cleanup::Postgres { dsn, prefix } => {
            let (client, connection) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
                .await
                .unwrap();
            let driver = tokio::spawn(connection);
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{prefix}\" CASCADE"))
                .await
                .unwrap();
            drop(client);
            let _ = driver.await;
        }
        Cleanup::Mongo { url, prefix } => {
            let StoreUrl::Mongo { uri, database } = url else {
                return;
            };
            let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
            let db = client.database(&database);
            for name in db.list_collection_names().await.unwrap() {
                if name.starts_with(&format!("{prefix}_")) {
                    db.collection::<mongodb::bson::Document>(&name)
                        .drop()
                        .await
                        .unwrap();
                }
            }
        }
    }
}

/// Runs one behaviour against one backend and always cleans up, re-raising a failure afterwards.
async fn run<F, Fut>(backend: Backend, behaviour: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (store, cleanup) = open(backend).await;
    let outcome = tokio::spawn(behaviour(store.clone())).await;
    finish(outcome, vec![store], cleanup).await;
}

/// Closes a test's stores and removes its data, then re-raises the behaviour's failure.
async fn finish(
    outcome: Result<(), tokio::task::JoinError>,
    stores: Vec<Arc<dyn Store>>,
    cleanup: Cleanup,
) {
    for store in stores {
        store.close().await.unwrap();
    }
    clean(cleanup).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// A second handle on the data `open` gave a test, as another gateway instance would open it.
/// `None` for the files backend: its directory belongs to one process.
async fn open_peer(cleanup: &Cleanup) -> Option<Arc<dyn Store>> {
    let (url, prefix) = match cleanup {
        Cleanup::TempDir(_) => return None,
        Cleanup::Redis { uri, prefix } => (StoreUrl::parse(uri).unwrap(), prefix),
        Cleanup::Postgres { dsn, prefix } => (StoreUrl::parse(dsn).unwrap(), prefix),
        Cleanup::Mongo { url, prefix } => (url.clone(), prefix),
    };
    Some(open_store(&url, prefix).await.unwrap())
}

/// [`run`] for a behaviour of two instances sharing one store: the behaviour gets both handles.
async fn run_pair<F, Fut>(backend: Backend, behaviour: F)
where
    F: FnOnce(Arc<dyn Store>, Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (store, cleanup) = open(backend).await;
    let Some(peer) = open_peer(&cleanup).await else {
        panic!("{backend:?} is not shared: there is no second handle to open");
    };
    let outcome = tokio::spawn(behaviour(store.clone(), peer.clone())).await;
    finish(outcome, vec![peer, store], cleanup).await;
}

/// One test per behaviour, each run against `$backend` by `$runner` (`run`, or `run_pair`).
macro_rules! backend_tests {
    ($module:ident, $runner:ident, $backend:expr, [$($behaviour:ident),*]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $behaviour() {
                    crate::$runner($backend, crate::behaviours::$behaviour).await;
                }
            )*
        }
    };
}

/// The tests of the shared backends whose features are on, in modules named `$redis`, `$postgres`,
/// `$mongo`.
macro_rules! shared_backends {
    ($runner:ident, $redis:ident, $postgres:ident, $mongo:ident, $behaviours:tt) => {
        #[cfg(feature = "redis-tests")]
        backend_tests!($redis, $runner, crate::Backend::Redis, $behaviours);
        #[cfg(feature = "postgres-tests")]
        backend_tests!($postgres, $runner, crate::Backend::Postgres, $behaviours);
        #[cfg(feature = "mongodb-tests")]
        backend_tests!($mongo, $runner, crate::Backend::Mongo, $behaviours);
    };
}

macro_rules! contract {
    ($($behaviour:ident),* $(,)?) => {
        backend_tests!(files, run, crate::Backend::Files, [$($behaviour),*]);
        shared_backends!(run, redis, postgres, mongo, [$($behaviour),*]);
    };
}

/// Behaviours of two instances on one store: the shared backends only (the files backend refuses a
/// second process, see `store_files.rs`).
macro_rules! shared_contract {
    ($($behaviour:ident),* $(,)?) => {
        shared_backends!(run_pair, redis_shared, postgres_shared, mongo_shared, [$($behaviour),*]);
    };
}

contract!(
    credentials_round_trip_keeps_unknown_fields,
    credential_kinds_round_trip,
    generation_moves_on_credential_writes,
    config_merges_and_null_deletes,
    keys_insert_conflict_list_delete,
    debit_outcomes_and_model_stats,
    refund_never_goes_below_zero,
    concurrent_debits_take_exactly_the_quota,
    debit_batches_apply_in_order,
    concurrent_debit_batches_take_exactly_the_quota,
    leases_are_exclusive_reentrant_and_expire,
    model_costs_round_trip,
    migrate_from_files_copies_everything,
    insights_round_trip_every_field,
    insights_are_replaced_and_deleted,
    counters_add_up_and_are_removed,
    audit_entries_are_listed_filtered_and_pruned,
    key_updates_keep_the_use_and_round_trip_the_policy,
);

// Window counters: MongoDB does not enforce them (its default counts nothing).
backend_tests!(
    files_windows,
    run,
    crate::Backend::Files,
    [concurrent_window_charges_take_exactly_the_limit]
);
#[cfg(feature = "redis-tests")]
backend_tests!(
    redis_windows,
    run,
    crate::Backend::Redis,
    [concurrent_window_charges_take_exactly_the_limit]
);
#[cfg(feature = "postgres-tests")]
backend_tests!(
    postgres_windows,
    run,
    crate::Backend::Postgres,
    [concurrent_window_charges_take_exactly_the_limit]
);

shared_contract!(
    insights_written_by_one_instance_are_read_by_another,
    counters_of_two_instances_add_up,
);

// Panel sessions are shared by Redis and PostgreSQL only (MongoDB keeps them per instance).
#[cfg(feature = "redis-tests")]
backend_tests!(
    redis_sessions,
    run_pair,
    crate::Backend::Redis,
    [login_failures_and_logouts_reach_another_instance]
);
#[cfg(feature = "postgres-tests")]
backend_tests!(
    postgres_sessions,
    run_pair,
    crate::Backend::Postgres,
    [login_failures_and_logouts_reach_another_instance]
);

mod behaviours {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;
    use std::time::Duration;

    use gcli2api::store::{
        migrate, ApiKeyRecord, CooldownRecord, CredentialInsight, CredentialKind, CredentialRecord,
        CredentialState, CreditBalance, DebitOutcome, DebitRequest, ErrorRecord, FileStore,
        KeyLimit, KeyPolicy, ModelInfo, QuotaBucket, Store, StoreError, WindowCharge,
        WindowVerdict,
    };
    use serde_json::{json, Map, Value};

    pub async fn key_updates_keep_the_use_and_round_trip_the_policy(store: Arc<dyn Store>) {
        let upd = key("sk-upd", 100);
        store.insert_key(&upd).await.unwrap();
        store.debit_key(&upd.key_hash, "m", 7, now()).await.unwrap();
        let mut changed = key("sk-upd", 200);
        changed.description = Some("team".into());
        changed.policy = KeyPolicy {
            limits: vec![KeyLimit {
                window: "1m".into(),
                requests: Some(5),
                model: Some("m".into()),
                ..KeyLimit::default()
            }],
            rpm: Some(3),
            model_tpm: [("m".to_string(), 9)].into(),
            allowed_ips: vec!["10.0.0.0/8".into()],
            ..KeyPolicy::default()
        };
        assert!(store.update_key(&changed).await.unwrap());
        let stored = store.get_key(&upd.key_hash).await.unwrap().unwrap();
        assert_eq!(stored.policy, changed.policy);
        assert_eq!(stored.total_quota, 200);
        assert_eq!(stored.description.as_deref(), Some("team"));
        assert_eq!(stored.used_quota, 7, "the use stays");
        assert_eq!(stored.model_stats.get("m"), Some(&7));
        let none = key("sk-none", 1);
        assert!(!store.update_key(&none).await.unwrap());
        assert!(store.get_key(&none.key_hash).await.unwrap().is_none());
    }

    pub async fn concurrent_window_charges_take_exactly_the_limit(store: Arc<dyn Store>) {
        let bucket = now();
        let charge = WindowCharge {
            slot: "1m|*".into(),
            bucket,
            from: bucket - 59,
            ttl_secs: 120,
            requests: Some(25),
            cost: None,
            tokens: Some(1_000),
        };
        let tries = (0..60).map(|_| {
            let store = store.clone();
            let charge = charge.clone();
            tokio::spawn(async move {
                store
                    .charge_windows("sk-win", std::slice::from_ref(&charge), 2)
                    .await
                    .unwrap()
            })
        });
        let verdicts: Vec<WindowVerdict> = futures_util::future::join_all(tries)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let charged = verdicts
            .iter()
            .filter(|v| **v == WindowVerdict::Charged)
            .count();
        assert_eq!(charged, 25, "{verdicts:?}");
        assert!(verdicts.iter().all(|v| matches!(
            v,
            WindowVerdict::Charged | WindowVerdict::Refused { index: 0, .. }
        )));
        let used = store
            .window_usage("sk-win", std::slice::from_ref(&charge))
            .await
            .unwrap();
        assert_eq!((used[0].requests, used[0].cost), (25, 50));
        assert_eq!(used[0].oldest, Some(bucket));
        // A charge given back makes room for one more; tokens at the limit refuse again.
        store
            .uncharge_windows("sk-win", std::slice::from_ref(&charge), 2)
            .await
            .unwrap();
        let again = store
            .charge_windows("sk-win", std::slice::from_ref(&charge), 2)
            .await
            .unwrap();
        assert_eq!(again, WindowVerdict::Charged);
        store
            .add_window_tokens("sk-win", std::slice::from_ref(&charge), 1_000)
            .await
            .unwrap();
        let later = WindowCharge {
            requests: None,
            ..charge.clone()
        };
        assert_eq!(
            store
                .charge_windows("sk-win", std::slice::from_ref(&later), 2)
                .await
                .unwrap(),
            WindowVerdict::Refused {
                index: 0,
                frees_at: None
            }
        );
        let used = store
            .window_usage("sk-win", std::slice::from_ref(&later))
            .await
            .unwrap();
        assert_eq!((used[0].requests, used[0].tokens), (25, 1_000));
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn credential(name: &str, project: &str) -> CredentialRecord {
        let mut state = CredentialState::default();
        state.errors.push(ErrorRecord {
            code: 429,
            message: "Resource has been exhausted".into(),
            at: 1_751_713_000,
        });
        state
            .model_cooldowns
            .insert("gemini-2.5-pro".into(), 1_751_720_000);
        // Why it rests (kind, Google's message) travels with the record, so every instance shows it.
        state.cooldowns.insert(
            "gemini-2.5-pro".into(),
            CooldownRecord {
                until: 1_751_720_000,
                kind: "daily_quota".into(),
                message: "Quota exceeded for metric: generate_content_free_tier_requests".into(),
                streak: 2,
                at: 1_751_713_000_123,
            },
        );
        state.cooldowns.insert(
            "gemini-2.5-flash".into(),
            CooldownRecord {
                at: 1_751_713_000_456,
                ..CooldownRecord::default()
            },
        );
        state
            .usage
            .calls_per_model
            .insert("gemini-2.5-flash".into(), 12);
        state.usage.history.insert("2025-07-05".into(), 40);
        state.user_email = Some("someone@example.com".into());
        state.revision = 3;
        CredentialRecord {
            name: name.into(),
            kind: Default::default(),
            credential: object(json!({
                "client_id": "123.apps.googleusercontent.com",
                "client_secret": "GOCSPX-secret",
                "refresh_token": "1//refresh",
                "token": "ya29.token",
                "expiry": "2025-07-05T12:00:00Z",
                "project_id": project,
                "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                "quota_project_id": null,
                "universe_domain": "googleapis.com",
                "extra": {"nested": {"list": [1, 2.5, true, "x"]}, "n": -7},
            })),
            state,
        }
    }

    /// A record as the gateway stores it: named by the key's hash.
    fn hash(api_key: &str) -> String {
        gcli2api::key_id::hash_key(api_key)
    }

    fn key(api_key: &str, total: u64) -> ApiKeyRecord {
        ApiKeyRecord {
            key_hash: gcli2api::key_id::hash_key(api_key),
            prefix: gcli2api::key_id::display_prefix(api_key),
            total_quota: total,
            used_quota: 0,
            created_at: 1_751_700_000,
            description: None,
            model_stats: BTreeMap::new(),
            allowed_models: vec![],
            max_concurrent: None,
            expires_at: None,
            policy: Default::default(),
        }
    }

    fn by_name(mut records: Vec<CredentialRecord>) -> Vec<CredentialRecord> {
        records.sort_by(|a, b| a.name.cmp(&b.name));
        records
    }

    fn by_key(mut keys: Vec<ApiKeyRecord>) -> Vec<ApiKeyRecord> {
        keys.sort_by(|a, b| a.key_hash.cmp(&b.key_hash));
        keys
    }

    pub async fn credentials_round_trip_keeps_unknown_fields(store: Arc<dyn Store>) {
        assert!(store.load_credentials().await.unwrap().is_empty());
        let a = credential("proj-a-1751713012.json", "proj-a");
        let b = credential("proj-b-1751713013.json", "proj-b");
        store.put_credential(&a).await.unwrap();
        store.put_credential(&b).await.unwrap();

        assert_eq!(
            store.get_credential(&a.name).await.unwrap(),
            Some(a.clone())
        );
        // Sorted by name.
        assert_eq!(
            store.load_credentials().await.unwrap(),
            vec![a.clone(), b.clone()]
        );

        let mut changed = a.clone();
        changed.state.disabled = true;
        changed.state.disabled_reason = Some("invalid_grant".into());
        changed.credential.insert("token".into(), json!("ya29.new"));
        changed.credential.remove("universe_domain");
        store.put_credential(&changed).await.unwrap();
        assert_eq!(store.get_credential(&a.name).await.unwrap(), Some(changed));

        assert!(store.delete_credential(&a.name).await.unwrap());
        assert!(!store.delete_credential(&a.name).await.unwrap());
        assert_eq!(store.get_credential(&a.name).await.unwrap(), None);
        assert_eq!(store.load_credentials().await.unwrap(), vec![b]);
    }

    /// Every kind comes back as written, a credential field named `kind` included; a record written
    /// without a kind reads as Code Assist.
    pub async fn credential_kinds_round_trip(store: Arc<dyn Store>) {
        let mut key = credential("key-1.json", "");
        key.kind = CredentialKind::GeminiApiKey;
        key.credential = object(json!({"api_key": "AIzaSyTest", "kind": "note"}));
        let mut vertex = credential("vertex-sa.json", "vproj");
        vertex.kind = CredentialKind::Vertex;
        vertex.credential = object(json!({
            "type": "service_account",
            "project_id": "vproj",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n",
            "client_email": "sa@vproj.iam.gserviceaccount.com",
            "location": "us-central1",
        }));
        let oauth = credential("oauth.json", "p");
        for record in [&key, &vertex, &oauth] {
            store.put_credential(record).await.unwrap();
        }
        assert_eq!(
            store.get_credential("key-1.json").await.unwrap(),
            Some(key.clone())
        );
        assert_eq!(
            by_name(store.load_credentials().await.unwrap()),
            by_name(vec![key.clone(), vertex.clone(), oauth.clone()])
        );
        let old: CredentialRecord = serde_json::from_value(json!({
            "name": "old.json",
            "credential": {"refresh_token": "r"},
        }))
        .unwrap();
        assert_eq!(old.kind, CredentialKind::CodeAssist);
    }

    pub async fn generation_moves_on_credential_writes(store: Arc<dyn Store>) {
        let g0 = store.credentials_generation().await.unwrap();
        assert_eq!(store.credentials_generation().await.unwrap(), g0);
        let record = credential("gen.json", "p");
        store.put_credential(&record).await.unwrap();
        let g1 = store.credentials_generation().await.unwrap();
        assert_ne!(g1, g0);
        store.put_credential(&record).await.unwrap();
        let g2 = store.credentials_generation().await.unwrap();
        assert_ne!(g2, g1);
        // Writes elsewhere do not count.
        store
            .save_config(&object(json!({"calls_per_rotation": 10})))
            .await
            .unwrap();
        assert_eq!(store.credentials_generation().await.unwrap(), g2);
        assert!(store.delete_credential("gen.json").await.unwrap());
        assert_ne!(store.credentials_generation().await.unwrap(), g2);
    }

    pub async fn config_merges_and_null_deletes(store: Arc<dyn Store>) {
        assert!(store.load_config().await.unwrap().is_empty());
        let first = object(json!({
            "calls_per_rotation": 100,
            "proxy": "http://127.0.0.1:8080",
            "auto_ban_enabled": true,
            "auto_ban_error_codes": [400, 403],
            "nested": {"a": 1, "b": "two"},
        }));
        store.save_config(&first).await.unwrap();
        assert_eq!(store.load_config().await.unwrap(), first);

        store
            .save_config(&object(
                json!({"proxy": null, "calls_per_rotation": 5, "new_key": 1.5}),
            ))
            .await
            .unwrap();
        let expected = object(json!({
            "calls_per_rotation": 5,
            "auto_ban_enabled": true,
            "auto_ban_error_codes": [400, 403],
            "nested": {"a": 1, "b": "two"},
            "new_key": 1.5,
        }));
        assert_eq!(store.load_config().await.unwrap(), expected);

        store.save_config(&Map::new()).await.unwrap();
        store
            .save_config(&object(json!({"never_stored": null})))
            .await
            .unwrap();
        assert_eq!(store.load_config().await.unwrap(), expected);
    }

    pub async fn keys_insert_conflict_list_delete(store: Arc<dyn Store>) {
        let mut first = key("sk-first-0000000000000000", 1000);
        first.description = Some("team A".into());
        first.allowed_models = vec!["gemini-2.5-pro".into(), "gemini-2.5-flash".into()];
        first.max_concurrent = Some(4);
        first.expires_at = Some(now() + 86_400);
        first.used_quota = 30;
        first.model_stats = BTreeMap::from([("gemini-2.5-pro".into(), 30)]);
        let mut second = key("sk-second-000000000000000", 5);
        second.created_at = first.created_at - 10;

        store.insert_key(&first).await.unwrap();
        store.insert_key(&second).await.unwrap();
        let mut duplicate = first.clone();
        duplicate.total_quota = 1;
        match store.insert_key(&duplicate).await {
            Err(StoreError::Conflict(message)) => {
                assert!(!message.contains(&first.key_hash), "key leaked: {message}")
            }
            other => panic!("expected a conflict, got {other:?}"),
        }

        assert_eq!(
            store.get_key(&first.key_hash).await.unwrap(),
            Some(first.clone())
        );
        // Oldest first.
        assert_eq!(
            store.list_keys().await.unwrap(),
            vec![second.clone(), first.clone()]
        );

        assert!(store.delete_key(&first.key_hash).await.unwrap());
        assert!(!store.delete_key(&first.key_hash).await.unwrap());
        assert_eq!(store.get_key(&first.key_hash).await.unwrap(), None);
        assert_eq!(store.list_keys().await.unwrap(), vec![second]);
        // A deleted key can be created again from scratch.
        store
            .insert_key(&key("sk-first-0000000000000000", 7))
            .await
            .unwrap();
        assert_eq!(
            store.get_key(&first.key_hash).await.unwrap(),
            Some(key("sk-first-0000000000000000", 7))
        );
    }

    pub async fn debit_outcomes_and_model_stats(store: Arc<dyn Store>) {
        let now = now();
        let mut live = key("sk-live-00000000000000000", 10);
        live.expires_at = Some(now + 3600);
        store.insert_key(&live).await.unwrap();
        let pro = "gemini-2.5-pro";
        let odd = "$odd.model-name";

        let d = |used, total| DebitOutcome::Debited {
            used_quota: used,
            total_quota: total,
        };
        assert_eq!(
            store.debit_key(&live.key_hash, pro, 3, now).await.unwrap(),
            d(3, 10)
        );
        assert_eq!(
            store.debit_key(&live.key_hash, odd, 4, now).await.unwrap(),
            d(7, 10)
        );
        assert_eq!(
            store.debit_key(&live.key_hash, pro, 4, now).await.unwrap(),
            DebitOutcome::Exhausted {
                used_quota: 7,
                total_quota: 10
            }
        );
        assert_eq!(
            store.debit_key(&live.key_hash, pro, 3, now).await.unwrap(),
            d(10, 10)
        );
        assert_eq!(
            store.debit_key(&live.key_hash, pro, 0, now).await.unwrap(),
            d(10, 10)
        );
        assert_eq!(
            store.debit_key(&live.key_hash, pro, 1, now).await.unwrap(),
            DebitOutcome::Exhausted {
                used_quota: 10,
                total_quota: 10
            }
        );
        let stored = store.get_key(&live.key_hash).await.unwrap().unwrap();
        assert_eq!(stored.used_quota, 10);
        assert_eq!(
            stored.model_stats,
            BTreeMap::from([(pro.to_string(), 6), (odd.to_string(), 4)])
        );

        let mut expired = key("sk-expired-0000000000000", 10);
        expired.expires_at = Some(now);
        store.insert_key(&expired).await.unwrap();
        assert_eq!(
            store
                .debit_key(&expired.key_hash, pro, 1, now)
                .await
                .unwrap(),
            DebitOutcome::Expired
        );
        assert_eq!(
            store
                .debit_key(&expired.key_hash, pro, 1, now - 1)
                .await
                .unwrap(),
            d(1, 10)
        );
        assert_eq!(
            store
                .debit_key(&expired.key_hash, pro, 1, now + 10)
                .await
                .unwrap(),
            DebitOutcome::Expired
        );
        assert_eq!(
            store
                .get_key(&expired.key_hash)
                .await
                .unwrap()
                .unwrap()
                .used_quota,
            1
        );

        assert_eq!(
            store
                .debit_key("sk-missing-0000000000000", pro, 1, now)
                .await
                .unwrap(),
            DebitOutcome::NotFound
        );
    }

    pub async fn refund_never_goes_below_zero(store: Arc<dyn Store>) {
        let now = now();
        let record = key("sk-refund-000000000000000", 100);
        store.insert_key(&record).await.unwrap();
        let model = "gemini-2.5-flash";
        store
            .debit_key(&record.key_hash, model, 5, now)
            .await
            .unwrap();
        store
            .debit_key(&record.key_hash, "other", 2, now)
            .await
            .unwrap();

        store.refund_key(&record.key_hash, model, 3).await.unwrap();
        let stored = store.get_key(&record.key_hash).await.unwrap().unwrap();
        assert_eq!(stored.used_quota, 4);
        assert_eq!(stored.model_stats[model], 2);

        store.refund_key(&record.key_hash, model, 50).await.unwrap();
        let stored = store.get_key(&record.key_hash).await.unwrap().unwrap();
        assert_eq!(stored.used_quota, 0);
        assert_eq!(stored.model_stats[model], 0);
        assert_eq!(stored.model_stats["other"], 2);

        store
            .refund_key(&record.key_hash, "never-used", 1)
            .await
            .unwrap();
        let stored = store.get_key(&record.key_hash).await.unwrap().unwrap();
        assert_eq!(stored.used_quota, 0);
        assert!(!stored.model_stats.contains_key("never-used"));

        store
            .refund_key("sk-missing-0000000000000", model, 1)
            .await
            .unwrap();
        assert_eq!(
            store.get_key("sk-missing-0000000000000").await.unwrap(),
            None
        );
    }

    /// A debit of the key `api_key`, by its hash as the gateway sends it.
    fn debit(api_key: &str, cost: u64, now: i64) -> DebitRequest {
        DebitRequest {
            api_key: hash(api_key),
            model: "gemini-2.5-pro".into(),
            cost,
            now,
        }
    }

    pub async fn debit_batches_apply_in_order(store: Arc<dyn Store>) {
        let now = now();
        let (a, b) = ("sk-batch-a-00000000000000", "sk-batch-b-00000000000000");
        let (gone, old) = ("sk-batch-gone-00000000000", "sk-batch-old-000000000000");
        store.insert_key(&key(a, 10)).await.unwrap();
        store.insert_key(&key(b, 2)).await.unwrap();
        let mut expired = key(old, 10);
        expired.expires_at = Some(now - 5);
        store.insert_key(&expired).await.unwrap();
        assert!(store.debit_keys(&[]).await.is_empty());

        let batch = [
            debit(a, 4, now),
            debit(b, 1, now),
            debit(a, 4, now),
            debit(a, 4, now),
            debit(gone, 1, now),
            debit(b, 1, now),
            debit(a, 1, now),
            debit(old, 1, now),
            debit(b, 1, now),
            debit(a, 1, now),
        ];
        let outcomes: Vec<DebitOutcome> = store
            .debit_keys(&batch)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let debited = |used, total| DebitOutcome::Debited {
            used_quota: used,
            total_quota: total,
        };
        let exhausted = |used, total| DebitOutcome::Exhausted {
            used_quota: used,
            total_quota: total,
        };
        assert_eq!(
            outcomes,
            vec![
                debited(4, 10),
                debited(1, 2),
                debited(8, 10),
                // 4 more would overspend; the smaller debits after it still fit.
                exhausted(8, 10),
                DebitOutcome::NotFound,
                debited(2, 2),
                debited(9, 10),
                DebitOutcome::Expired,
                exhausted(2, 2),
                debited(10, 10),
            ]
        );
        let stored = store.get_key(&hash(a)).await.unwrap().unwrap();
        assert_eq!(stored.used_quota, 10);
        assert_eq!(stored.model_stats["gemini-2.5-pro"], 10);
        assert_eq!(
            store.get_key(&hash(b)).await.unwrap().unwrap().used_quota,
            2
        );
        assert_eq!(
            store.get_key(&hash(old)).await.unwrap().unwrap().used_quota,
            0
        );
    }

    /// 40 batches at once over 20 keys worth 5 (20 debits each, in opposite orders in alternate
    /// batches, so row locks would cross) and a hot key worth 50 that every batch debits 3 times.
    pub async fn concurrent_debit_batches_take_exactly_the_quota(store: Arc<dyn Store>) {
        let now = now();
        let keys: Vec<String> = (0..20)
            .map(|i| format!("sk-many-{i:02}-0000000000000"))
            .collect();
        let hot = "sk-hot-000000000000000000";
        for k in &keys {
            store.insert_key(&key(k, 5)).await.unwrap();
        }
        store.insert_key(&key(hot, 50)).await.unwrap();
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let mut batch: Vec<DebitRequest> = (0..10)
                    .map(|j| debit(&keys[(i * 10 + j) % 20], 1, now))
                    .collect();
                if i % 2 == 1 {
                    batch.reverse();
                }
                for at in [0, 5, 10] {
                    batch.insert(at, debit(hot, 1, now));
                }
                let store = store.clone();
                tokio::spawn(async move {
                    let outcomes = store.debit_keys(&batch).await;
                    batch
                        .into_iter()
                        .zip(outcomes)
                        .map(|(r, o)| (r.api_key, o.unwrap()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut served: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        for task in tasks {
            for (api_key, outcome) in task.await.unwrap() {
                match outcome {
                    DebitOutcome::Debited { used_quota, .. } => assert!(
                        served.entry(api_key).or_default().insert(used_quota),
                        "balance {used_quota} seen twice"
                    ),
                    DebitOutcome::Exhausted { .. } => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        for k in &keys {
            assert_eq!(served[&hash(k)], (1..=5).collect::<BTreeSet<u64>>(), "{k}");
            assert_eq!(
                store.get_key(&hash(k)).await.unwrap().unwrap().used_quota,
                5
            );
        }
        assert_eq!(served[&hash(hot)], (1..=50).collect::<BTreeSet<u64>>());
        assert_eq!(
            store.get_key(&hash(hot)).await.unwrap().unwrap().used_quota,
            50
        );
    }

    pub async fn concurrent_debits_take_exactly_the_quota(store: Arc<dyn Store>) {
        let record = key("sk-race-00000000000000000", 50);
        store.insert_key(&record).await.unwrap();
        let now = now();
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let store = store.clone();
                let api_key = record.key_hash.clone();
                tokio::spawn(
                    async move { store.debit_key(&api_key, "gemini-2.5-pro", 1, now).await },
                )
            })
            .collect();
        let mut debited = BTreeSet::new();
        let mut exhausted = 0;
        for task in tasks {
            match task.await.unwrap().unwrap() {
                DebitOutcome::Debited { used_quota, .. } => {
                    assert!(
                        debited.insert(used_quota),
                        "balance {used_quota} seen twice"
                    );
                }
                DebitOutcome::Exhausted { used_quota, .. } => {
                    assert_eq!(used_quota, 50);
                    exhausted += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(debited, (1..=50).collect::<BTreeSet<u64>>());
        assert_eq!(exhausted, 150);
        let stored = store.get_key(&record.key_hash).await.unwrap().unwrap();
        assert_eq!(stored.used_quota, 50);
        assert_eq!(stored.model_stats["gemini-2.5-pro"], 50);
    }

    pub async fn leases_are_exclusive_reentrant_and_expire(store: Arc<dyn Store>) {
        let ttl = 400;
        assert!(store
            .try_lease("refresh:a.json", "alpha", ttl)
            .await
            .unwrap());
        assert!(!store
            .try_lease("refresh:a.json", "beta", ttl)
            .await
            .unwrap());
        assert!(store
            .try_lease("refresh:a.json", "alpha", ttl)
            .await
            .unwrap());
        // Another lease name is independent.
        assert!(store
            .try_lease("refresh:b.json", "beta", ttl)
            .await
            .unwrap());
        // Only the holder can release.
        store.release_lease("refresh:a.json", "beta").await.unwrap();
        assert!(!store
            .try_lease("refresh:a.json", "beta", ttl)
            .await
            .unwrap());

        // Wait for the lease to expire: another holder gets it once `ttl` has passed.
        let deadline = std::time::Instant::now() + Duration::from_millis(ttl + 5_000);
        while !store
            .try_lease("refresh:a.json", "beta", 10_000)
            .await
            .unwrap()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the lease never expired"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!store
            .try_lease("refresh:a.json", "alpha", ttl)
            .await
            .unwrap());
        store.release_lease("refresh:a.json", "beta").await.unwrap();
        assert!(store
            .try_lease("refresh:a.json", "alpha", ttl)
            .await
            .unwrap());
    }

    pub async fn model_costs_round_trip(store: Arc<dyn Store>) {
        assert!(store.load_model_costs().await.unwrap().is_empty());
        store.set_model_cost("gemini-2.5-pro", 5).await.unwrap();
        store.set_model_cost("gemini-2.5-flash", 1).await.unwrap();
        store.set_model_cost("gemini-2.5-pro", 7).await.unwrap();
        assert_eq!(
            store.load_model_costs().await.unwrap(),
            BTreeMap::from([
                ("gemini-2.5-flash".to_string(), 1),
                ("gemini-2.5-pro".to_string(), 7)
            ])
        );
        assert!(store.delete_model_cost("gemini-2.5-flash").await.unwrap());
        assert!(!store.delete_model_cost("gemini-2.5-flash").await.unwrap());
        assert_eq!(
            store.load_model_costs().await.unwrap(),
            BTreeMap::from([("gemini-2.5-pro".to_string(), 7)])
        );
    }

    /// Every field set, none at its default, so a field a backend drops or mangles shows.
    fn insight() -> CredentialInsight {
        CredentialInsight {
            quota: vec![
                QuotaBucket {
                    model: "gemini-2.5-pro".into(),
                    token_type: Some("REQUESTS".into()),
                    remaining_fraction: Some(0.37),
                    remaining: Some(37),
                    limit: Some(100),
                    reset_time: Some(1_751_760_000),
                },
                // Beyond 2^53: an integer that went through a float would come back changed.
                QuotaBucket {
                    model: "gemini-2.5-flash".into(),
                    token_type: Some("INPUT_TOKENS".into()),
                    remaining_fraction: Some(1.0),
                    remaining: Some(9_007_199_254_740_993),
                    limit: Some(9_007_199_254_740_993),
                    reset_time: Some(1_751_760_001),
                },
                QuotaBucket {
                    model: "gemini-2.0-flash".into(),
                    remaining_fraction: Some(0.0),
                    ..QuotaBucket::default()
                },
            ],
            quota_fetched_at: Some(1_751_713_000_123),
            quota_error: Some("429 RESOURCE_EXHAUSTED on the previous fetch".into()),
            credits: vec![CreditBalance {
                credit_type: "GOOGLE_ONE_AI".into(),
                amount: 2_500,
            }],
            models: Some(vec![ModelInfo {
                id: "gemini-2.5-pro".into(),
                display_name: Some("Gemini 2.5 Pro".into()),
                input_token_limit: Some(1_048_576),
                output_token_limit: Some(65_536),
                methods: vec!["generateContent".into(), "countTokens".into()],
                thinking: Some(true),
            }]),
            models_fetched_at: Some(1_751_713_004_567),
        }
    }

    pub async fn insights_round_trip_every_field(store: Arc<dyn Store>) {
        // Names as credentials have them, and characters the backends use as separators.
        let names = ["proj-a-1751713012.json", "odd: name.with $dots/and:colons"];
        for name in names {
            assert_eq!(store.get_insight(name).await.unwrap(), None);
        }
        let full = insight();
        store.put_insight(names[0], &full).await.unwrap();
        store
            .put_insight(names[1], &CredentialInsight::default())
            .await
            .unwrap();
        assert_eq!(store.get_insight(names[0]).await.unwrap(), Some(full));
        assert_eq!(
            store.get_insight(names[1]).await.unwrap(),
            Some(CredentialInsight::default())
        );
        // A credential of that name is another record: the insight is neither it nor in its list.
        assert_eq!(store.get_credential(names[0]).await.unwrap(), None);
        assert!(store.load_credentials().await.unwrap().is_empty());
    }

    pub async fn insights_are_replaced_and_deleted(store: Arc<dyn Store>) {
        let name = "replaced.json";
        let first = insight();
        store.put_insight(name, &first).await.unwrap();
        store.put_insight("other.json", &first).await.unwrap();

        // The second put replaces the whole snapshot: nothing of the first survives.
        let second = CredentialInsight {
            quota_error: Some("403 PERMISSION_DENIED".into()),
            ..CredentialInsight::default()
        };
        store.put_insight(name, &second).await.unwrap();
        assert_eq!(store.get_insight(name).await.unwrap(), Some(second));

        store.delete_insight(name).await.unwrap();
        assert_eq!(store.get_insight(name).await.unwrap(), None);
        store.delete_insight(name).await.unwrap();
        store.delete_insight("never-written.json").await.unwrap();
        // Another credential's insight is untouched.
        assert_eq!(store.get_insight("other.json").await.unwrap(), Some(first));
        // Put again after a delete, as when a credential of the same name is added back.
        store.put_insight(name, &insight()).await.unwrap();
        assert_eq!(store.get_insight(name).await.unwrap(), Some(insight()));
    }

    /// One instance's scout fetched it, so the other need not: each sees the other's writes.
    pub async fn insights_written_by_one_instance_are_read_by_another(
        one: Arc<dyn Store>,
        other: Arc<dyn Store>,
    ) {
        let name = "shared.json";
        assert_eq!(other.get_insight(name).await.unwrap(), None);
        let first = insight();
        one.put_insight(name, &first).await.unwrap();
        assert_eq!(other.get_insight(name).await.unwrap(), Some(first));

        let newer = CredentialInsight {
            quota_fetched_at: Some(1_751_713_300_000),
            ..insight()
        };
        other.put_insight(name, &newer).await.unwrap();
        assert_eq!(one.get_insight(name).await.unwrap(), Some(newer));

        one.delete_insight(name).await.unwrap();
        assert_eq!(other.get_insight(name).await.unwrap(), None);
    }

    pub async fn counters_add_up_and_are_removed(store: Arc<dyn Store>) {
        assert!(store.load_counters("s").await.unwrap().is_empty());
        let deltas = BTreeMap::from([("[\"a\",1]".to_string(), 1u64), ("b".to_string(), 2)]);
        store.add_counters("s", &deltas).await.unwrap();
        store.add_counters("s", &deltas).await.unwrap();
        store
            .add_counters("other", &BTreeMap::from([("b".to_string(), 7)]))
            .await
            .unwrap();
        let counters = store.load_counters("s").await.unwrap();
        assert_eq!(counters["[\"a\",1]"], 2);
        assert_eq!(counters["b"], 4);
        store
            .remove_counters("s", &["[\"a\",1]".to_string()])
            .await
            .unwrap();
        assert_eq!(
            store.load_counters("s").await.unwrap(),
            BTreeMap::from([("b".to_string(), 4)])
        );
        assert_eq!(store.load_counters("other").await.unwrap()["b"], 7);
    }

    pub async fn counters_of_two_instances_add_up(one: Arc<dyn Store>, other: Arc<dyn Store>) {
        let one_each = BTreeMap::from([("calls".to_string(), 1u64)]);
        let adds = (0..40).map(|i| {
            let store = if i % 2 == 0 {
                one.clone()
            } else {
                other.clone()
            };
            let deltas = one_each.clone();
            async move { store.add_counters("s", &deltas).await.unwrap() }
        });
        futures_util::future::join_all(adds).await;
        assert_eq!(other.load_counters("s").await.unwrap()["calls"], 40);
    }

    pub async fn login_failures_and_logouts_reach_another_instance(
        one: Arc<dyn Store>,
        other: Arc<dyn Store>,
    ) {
        let now = chrono::Utc::now().timestamp();
        for i in 0..3 {
            let seen = one
                .add_login_failure("10.0.0.1", now + i, 300)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(seen.count, i as usize + 1);
        }
        let there = other
            .login_failures("10.0.0.1", now + 3, 300)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((there.count, there.oldest), (3, now));
        // The window moves on: the oldest failure leaves it.
        let later = other
            .login_failures("10.0.0.1", now + 300, 300)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(later.count, 2);
        other.clear_login_failures("10.0.0.1").await.unwrap();
        assert_eq!(
            one.login_failures("10.0.0.1", now + 3, 300)
                .await
                .unwrap()
                .unwrap()
                .count,
            0
        );

        assert!(!other.is_session_revoked("jti-1", now).await.unwrap());
        one.revoke_session("jti-1", now + 3600).await.unwrap();
        assert!(other.is_session_revoked("jti-1", now).await.unwrap());
        assert!(!other.is_session_revoked("jti-2", now).await.unwrap());
    }

    pub async fn migrate_from_files_copies_everything(target: Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let source = FileStore::open(dir.path()).await.unwrap();
        let creds = vec![credential("m-1.json", "m1"), credential("m-2.json", "m2")];
        for record in &creds {
            source.put_credential(record).await.unwrap();
        }
        let config = object(json!({"calls_per_rotation": 3, "proxy": "socks5://h:1"}));
        source.save_config(&config).await.unwrap();
        let mut used = key("sk-used-00000000000000000", 100);
        used.description = Some("migrated".into());
        used.allowed_models = vec!["gemini-2.5-pro".into()];
        used.expires_at = Some(now() + 1000);
        source.insert_key(&used).await.unwrap();
        source
            .debit_key(&used.key_hash, "gemini-2.5-pro", 9, now())
            .await
            .unwrap();
        source
            .insert_key(&key("sk-fresh-0000000000000000", 3))
            .await
            .unwrap();
        source.set_model_cost("gemini-2.5-pro", 3).await.unwrap();
        for time in [10, 20] {
            let entry = gcli2api::store::AuditEntry {
                id: format!("m-{time}"),
                time,
                actor: "password".into(),
                address: "127.0.0.1".into(),
                action: gcli2api::store::AuditAction::KeyCreated,
                target: "sk-abc...wxyz".into(),
                changes: json!({"total_quota": 5}),
            };
            source.append_audit(&entry).await.unwrap();
        }

        // A key already in the target is replaced by the source's.
        target
            .insert_key(&key("sk-fresh-0000000000000000", 999))
            .await
            .unwrap();

        let report = migrate(&source, target.as_ref()).await.unwrap();
        assert_eq!(report.credentials, 2);
        assert_eq!(report.config_keys, 2);
        assert_eq!(report.api_keys, 2);
        assert_eq!(report.api_keys_replaced, 1);
        assert_eq!(report.model_costs, 1);
        assert_eq!(report.audit_entries, 2);
        let everything = gcli2api::store::AuditQuery {
            limit: 100,
            before: None,
            action: None,
        };
        assert_eq!(
            target.list_audit(&everything).await.unwrap(),
            source.list_audit(&everything).await.unwrap()
        );

        assert_eq!(by_name(target.load_credentials().await.unwrap()), creds);
        assert_eq!(target.load_config().await.unwrap(), config);
        let source_keys = by_key(source.list_keys().await.unwrap());
        let migrated = source_keys.iter().find(|k| k.key_hash == used.key_hash);
        assert_eq!(migrated.map(|k| k.used_quota), Some(9));
        assert_eq!(by_key(target.list_keys().await.unwrap()), source_keys);
        assert_eq!(
            target.load_model_costs().await.unwrap(),
            source.load_model_costs().await.unwrap()
        );
        source.close().await.unwrap();
    }

    pub async fn audit_entries_are_listed_filtered_and_pruned(store: Arc<dyn Store>) {
        use gcli2api::store::{AuditAction, AuditEntry, AuditQuery};
        let entry = |time: i64, action: AuditAction| AuditEntry {
            id: format!("id-{time}"),
            time,
            actor: "session:abcd1234".into(),
            address: "10.0.0.1".into(),
            action,
            target: format!("t-{time}"),
            changes: json!({"n": time, "list": [1, 2], "nested": {"s": "x"}}),
        };
        let all: Vec<AuditEntry> = (1..=6)
            .map(|t| {
                let action = if t % 2 == 0 {
                    AuditAction::ConfigSaved
                } else {
                    AuditAction::Login
                };
                entry(1_000 + t, action)
            })
            .collect();
        for e in &all {
            store.append_audit(e).await.unwrap();
        }
        let query = |limit, before, action| AuditQuery {
            limit,
            before,
            action,
        };
        let listed = store.list_audit(&query(10, None, None)).await.unwrap();
        let expected: Vec<AuditEntry> = all.iter().rev().cloned().collect();
        assert_eq!(listed, expected, "newest first, every field kept");
        let times = |entries: Vec<AuditEntry>| entries.iter().map(|e| e.time).collect::<Vec<_>>();
        let page = store
            .list_audit(&query(2, Some(1_005), None))
            .await
            .unwrap();
        assert_eq!(times(page), vec![1_004, 1_003]);
        let saves = store
            .list_audit(&query(10, None, Some(AuditAction::ConfigSaved)))
            .await
            .unwrap();
        assert_eq!(times(saves), vec![1_006, 1_004, 1_002]);
        let older_saves = store
            .list_audit(&query(1, Some(1_004), Some(AuditAction::ConfigSaved)))
            .await
            .unwrap();
        assert_eq!(times(older_saves), vec![1_002]);

        // Older than 1_003 goes, then all but the newest three.
        assert_eq!(store.prune_audit(1_003, 100).await.unwrap(), 2);
        assert_eq!(store.prune_audit(0, 3).await.unwrap(), 1);
        let left = store.list_audit(&query(10, None, None)).await.unwrap();
        assert_eq!(times(left), vec![1_006, 1_005, 1_004]);
        assert_eq!(store.prune_audit(0, 3).await.unwrap(), 0);
    }
}

/// A backend that cannot be reached fails the open with `Unavailable`, naming the backend and never
/// showing the password; nothing falls back to another backend.
#[tokio::test]
async fn unreachable_backends_fail_with_unavailable() {
    use gcli2api::store::StoreError;
    for url in [
        "redis://:hunter2@127.0.0.1:1/0",
        "postgres://postgres:hunter2@127.0.0.1:1/test",
        "mongodb://admin:hunter2@127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300",
    ] {
        let url = StoreUrl::parse(url).unwrap();
        match open_store(&url, "gcli2api").await {
            Err(StoreError::Unavailable(message)) => {
                assert!(!message.contains("hunter2"), "password shown: {message}");
                assert!(
                    message.contains(url.backend_name()),
                    "backend not named: {message}"
                );
            }
            Err(other) => panic!("{url}: expected Unavailable, got {other:?}"),
            Ok(store) => panic!("{url}: opened {}", store.backend_name()),
        }
    }
}

/// The Redis store reconnects by itself after the server drops its connection.
#[cfg(feature = "redis-tests")]
#[tokio::test]
async fn redis_reconnects_after_the_server_drops_the_connection() {
    // A database of its own, so killing its clients cannot disturb tests running alongside.
    const DATABASE: i64 = 13;
    let uri = service("REDIS_URI");
    let prefix = unique_prefix();
    let url = StoreUrl::Redis {
        uri: uri.clone(),
        database: DATABASE,
    };
    let store = open_store(&url, &prefix).await.unwrap();
    store.set_model_cost("gemini-2.5-pro", 3).await.unwrap();

    let mut info = ::redis::IntoConnectionInfo::into_connection_info(uri.as_str()).unwrap();
    info.redis.db = 0;
    let admin = ::redis::Client::open(info).unwrap();
    let mut admin = admin.get_multiplexed_async_connection().await.unwrap();
    let clients: String = ::redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut admin)
        .await
        .unwrap();
    let ids: Vec<String> = clients
        .lines()
        .filter(|line| line.contains(&format!(" db={DATABASE} ")))
        .filter_map(|line| line.strip_prefix("id="))
        .filter_map(|rest| rest.split(' ').next())
        .map(str::to_string)
        .collect();
    assert!(!ids.is_empty(), "the store's connection is not listed");
    for id in &ids {
        let _: i64 = ::redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query_async(&mut admin)
            .await
            .unwrap();
    }

    // The request that meets the dead socket may fail; the manager must be back within seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let costs = loop {
        match store.load_model_costs().await {
            Ok(costs) => break costs,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("while reconnecting: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no reconnection: {e}"),
        }
    };
    assert_eq!(costs.get("gemini-2.5-pro"), Some(&3));
    assert!(store.delete_model_cost("gemini-2.5-pro").await.unwrap());
    let left: Vec<String> = {
        let mut info = ::redis::IntoConnectionInfo::into_connection_info(uri.as_str()).unwrap();
        info.redis.db = DATABASE;
        let mut conn = ::redis::Client::open(info)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        ::redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(&mut conn)
            .await
            .unwrap()
    };
    assert!(left.is_empty(), "{left:?}");
}

/// Instances starting together migrate the schema once, without tripping over each other.
#[cfg(feature = "postgres-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_instances_opening_together_share_one_schema() {
    let dsn = service("POSTGRES_DSN");
    let prefix = unique_prefix();
    let url = StoreUrl::parse(&dsn).unwrap();
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            let prefix = prefix.clone();
            tokio::spawn(async move { open_store(&url, &prefix).await })
        })
        .collect();
    let mut stores = Vec::new();
    let mut failures = Vec::new();
    for open in opens {
        match open.await.unwrap() {
            Ok(store) => stores.push(store),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let written = match stores.first() {
        Some(store) => store
            .set_model_cost("m", 1)
            .await
            .map_err(|e| e.to_string()),
        None => Err("no store opened".into()),
    };
    let seen = match stores.last() {
        Some(store) => store.load_model_costs().await.map_err(|e| e.to_string()),
        None => Err("no store opened".into()),
    };
    for store in &stores {
        store.close().await.unwrap();
    }
    clean(Cleanup::Postgres { dsn, prefix }).await;
    assert!(failures.is_empty(), "{failures:?}");
    written.unwrap();
    assert_eq!(seen.unwrap().get("m"), Some(&1));
}
