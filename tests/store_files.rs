//! Behaviour only the files backend has: the journal, compaction, the TOML layout, loose JSON import
//! and the directory lock. The shared contract lives in `store_contract.rs`; a real `kill -9` test
//! in `store_crash.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use gcli2api::store::{
    ApiKeyRecord, CredentialRecord, CredentialState, DebitOutcome, FileStore, FileStoreOptions,
    Store, StoreError,
};
use serde_json::{json, Map, Value};

/// Never compacts on its own and leaves the journal behind when dropped, as a crash would.
fn crash_like() -> FileStoreOptions {
    FileStoreOptions {
        compact_after_bytes: u64::MAX,
        compact_after_entries: usize::MAX,
        compact_on_drop: false,
        ..FileStoreOptions::default()
    }
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

fn credential(name: &str) -> CredentialRecord {
    CredentialRecord {
        name: name.into(),
        kind: Default::default(),
        credential: object(json!({
            "client_id": "id.apps.googleusercontent.com",
            "refresh_token": "1//token",
            "project_id": "proj",
            "custom": {"kept": [1, 2]},
        })),
        state: CredentialState::default(),
    }
}

/// A record as the gateway stores it: named by the key's hash.
fn key(api_key: &str, total: u64) -> ApiKeyRecord {
    ApiKeyRecord {
        key_hash: gcli2api::key_id::hash_key(api_key),
        prefix: gcli2api::key_id::display_prefix(api_key),
        total_quota: total,
        used_quota: 0,
        created_at: 1,
        description: Some("d".into()),
        model_stats: BTreeMap::new(),
        allowed_models: vec![],
        max_concurrent: None,
        expires_at: None,
        policy: Default::default(),
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn journal_len(dir: &Path) -> u64 {
    fs::metadata(dir.join("journal.jsonl")).map_or(0, |m| m.len())
}

/// Writes one of everything and returns what the store must hold afterwards.
async fn write_everything(store: &FileStore) {
    store.put_credential(&credential("a.json")).await.unwrap();
    store.put_credential(&credential("b.json")).await.unwrap();
    assert!(store.delete_credential("b.json").await.unwrap());
    store
        .save_config(&object(json!({"calls_per_rotation": 7, "gone": 1})))
        .await
        .unwrap();
    store
        .save_config(&object(json!({"gone": null})))
        .await
        .unwrap();
    store.insert_key(&key("sk-kept", 10)).await.unwrap();
    assert_eq!(
        store
            .debit_key(
                &gcli2api::key_id::hash_key("sk-kept"),
                "gemini-2.5-pro",
                4,
                0
            )
            .await
            .unwrap(),
        DebitOutcome::Debited {
            used_quota: 4,
            total_quota: 10
        }
    );
    store.set_model_cost("gemini-2.5-pro", 2).await.unwrap();
}

async fn assert_everything(store: &FileStore) {
    assert_eq!(
        store.load_credentials().await.unwrap(),
        vec![credential("a.json")]
    );
    assert_eq!(
        store.load_config().await.unwrap(),
        object(json!({"calls_per_rotation": 7}))
    );
    let stored = store
        .get_key(&gcli2api::key_id::hash_key("sk-kept"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.used_quota, 4);
    assert_eq!(stored.model_stats["gemini-2.5-pro"], 4);
    assert_eq!(
        store.load_model_costs().await.unwrap(),
        BTreeMap::from([("gemini-2.5-pro".to_string(), 2)])
    );
}

#[tokio::test]
async fn acknowledged_writes_survive_a_drop_without_close() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open_with(dir.path(), crash_like())
        .await
        .unwrap();
    write_everything(&store).await;
    drop(store);

    // Only the journal holds the data: nothing was compacted.
    assert!(journal_len(dir.path()) > 0);
    assert!(!dir.path().join("creds.toml").exists());

    let store = FileStore::open(dir.path()).await.unwrap();
    assert_everything(&store).await;
    // Opening folded the journal into the TOML files.
    assert_eq!(journal_len(dir.path()), 0);
    assert!(dir.path().join("creds.toml").exists());
    store.close().await.unwrap();

    let store = FileStore::open(dir.path()).await.unwrap();
    assert_everything(&store).await;
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_torn_journal_tail_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open_with(dir.path(), crash_like())
        .await
        .unwrap();
    write_everything(&store).await;
    drop(store);

    // A batch cut short mid-line by a crash: never acknowledged.
    let mut journal = fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("journal.jsonl"))
        .unwrap();
    journal
        .write_all(br#"{"op":"put_credential","record":{"name":"torn.js"#)
        .unwrap();
    drop(journal);

    let store = FileStore::open_with(dir.path(), crash_like())
        .await
        .unwrap();
    assert_everything(&store).await;
    assert_eq!(store.get_credential("torn.js").await.unwrap(), None);
    // Later appends start on a clean line, so they replay too.
    store
        .put_credential(&credential("after.json"))
        .await
        .unwrap();
    drop(store);

    let store = FileStore::open(dir.path()).await.unwrap();
    assert!(store.get_credential("after.json").await.unwrap().is_some());
    assert!(store.get_credential("a.json").await.unwrap().is_some());
    store.close().await.unwrap();
}

#[tokio::test]
async fn an_unreadable_line_before_good_entries_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"op":"set_model_cost","model":"m","cost":1}"#;
    fs::write(
        dir.path().join("journal.jsonl"),
        format!("{good}\nnot json\n{good}\n"),
    )
    .unwrap();
    match FileStore::open(dir.path()).await {
        Err(StoreError::Corrupt(message)) => assert!(message.contains("line 2"), "{message}"),
        Err(other) => panic!("expected Corrupt, got {other:?}"),
        Ok(_) => panic!("opened a corrupt journal"),
    }
}

#[tokio::test]
async fn loose_json_files_are_imported_once() {
    let dir = tempfile::tempdir().unwrap();
    let uploaded = json!({
        "client_id": "c", "refresh_token": "1//r", "project_id": "p", "unknown": {"x": null}
    });
    fs::write(dir.path().join("p-1.json"), uploaded.to_string()).unwrap();
    fs::write(dir.path().join("broken.json"), "{ not json").unwrap();
    fs::write(dir.path().join("list.json"), "[1, 2]").unwrap();

    let store = FileStore::open(dir.path()).await.unwrap();
    let imported = store.get_credential("p-1.json").await.unwrap().unwrap();
    assert_eq!(Value::Object(imported.credential.clone()), uploaded);
    assert_eq!(imported.state, CredentialState::default());
    assert_eq!(store.load_credentials().await.unwrap().len(), 1);
    let names = names_in(dir.path());
    assert!(
        names.contains(&"p-1.json.imported".to_string()),
        "{names:?}"
    );
    assert!(!names.contains(&"p-1.json".to_string()), "{names:?}");
    // What cannot be imported stays where it was.
    assert!(names.contains(&"broken.json".to_string()), "{names:?}");
    assert!(names.contains(&"list.json".to_string()), "{names:?}");

    // A fresh upload of a known name replaces the credential but keeps its state.
    let mut disabled = imported.clone();
    disabled.state.disabled = true;
    store.put_credential(&disabled).await.unwrap();
    store.close().await.unwrap();
    fs::write(
        dir.path().join("p-1.json"),
        json!({"client_id": "c2", "refresh_token": "1//r2"}).to_string(),
    )
    .unwrap();

    let store = FileStore::open(dir.path()).await.unwrap();
    let replaced = store.get_credential("p-1.json").await.unwrap().unwrap();
    assert_eq!(replaced.credential["client_id"], json!("c2"));
    assert!(replaced.state.disabled);
    assert_eq!(store.load_credentials().await.unwrap().len(), 1);
    store.close().await.unwrap();
}

#[tokio::test]
async fn compaction_rewrites_toml_atomically_and_empties_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let options = FileStoreOptions {
        compact_after_entries: 10,
        ..FileStoreOptions::default()
    };
    let store = FileStore::open_with(dir.path(), options).await.unwrap();
    for i in 0..25 {
        store
            .put_credential(&credential(&format!("c{i:02}.json")))
            .await
            .unwrap();
    }
    // 25 entries with a threshold of 10: two compactions ran, five entries wait in the journal.
    // (Compaction runs after the acknowledgements, so read once the writer answered again.)
    assert_eq!(store.load_credentials().await.unwrap().len(), 25);
    let journal = fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 5);
    let compacted: toml::Table = fs::read_to_string(dir.path().join("creds.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(compacted.len(), 20);

    store.close().await.unwrap();
    assert_eq!(journal_len(dir.path()), 0);
    assert_eq!(
        names_in(dir.path()),
        vec![".lock", "creds.toml", "journal.jsonl"]
    );
    // Closed means closed; closing again is harmless.
    store.close().await.unwrap();
    assert!(matches!(
        store.get_credential("c00.json").await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_compaction_interrupted_by_a_crash_leaves_the_old_file_in_charge() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).await.unwrap();
    store.put_credential(&credential("old.json")).await.unwrap();
    store.close().await.unwrap();
    // What a crash between writing the temp file and renaming it leaves behind.
    fs::write(dir.path().join(".creds.toml.tmp"), "[\"half").unwrap();

    let store = FileStore::open(dir.path()).await.unwrap();
    assert_eq!(
        store.load_credentials().await.unwrap(),
        vec![credential("old.json")]
    );
    store.close().await.unwrap();
    assert!(!dir.path().join(".creds.toml.tmp").exists());
}

#[tokio::test]
async fn toml_files_are_human_readable() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).await.unwrap();
    let mut record = credential("proj-1751713012.json");
    record.state.disabled = true;
    record.state.disabled_reason = Some("by hand".into());
    record
        .state
        .model_cooldowns
        .insert("gemini-2.5-pro".into(), 1_751_720_000);
    store.put_credential(&record).await.unwrap();
    store
        .save_config(&object(
            json!({"calls_per_rotation": 10, "proxy": "http://p:1"}),
        ))
        .await
        .unwrap();
    let mut api_key = key("sk-readable", 100);
    api_key.allowed_models = vec!["gemini-2.5-pro".into()];
    store.insert_key(&api_key).await.unwrap();
    store.set_model_cost("gemini-2.5-pro", 3).await.unwrap();
    store.close().await.unwrap();

    let read = |name: &str| -> toml::Table {
        fs::read_to_string(dir.path().join(name))
            .unwrap()
            .parse()
            .unwrap()
    };
    let creds = read("creds.toml");
    let entry = creds["proj-1751713012.json"].as_table().unwrap();
    assert_eq!(
        entry["client_id"].as_str(),
        Some("id.apps.googleusercontent.com")
    );
    assert_eq!(entry["custom"]["kept"].as_array().unwrap().len(), 2);
    let state = entry["state"].as_table().unwrap();
    assert_eq!(state["disabled"].as_bool(), Some(true));
    assert_eq!(state["disabled_reason"].as_str(), Some("by hand"));
    assert_eq!(
        state["model_cooldowns"]["gemini-2.5-pro"].as_integer(),
        Some(1_751_720_000)
    );

    let config = read("config.toml");
    assert_eq!(config["calls_per_rotation"].as_integer(), Some(10));
    assert_eq!(config["proxy"].as_str(), Some("http://p:1"));

    let keys = read("api_keys.toml");
    let entry = keys[&gcli2api::key_id::hash_key("sk-readable")]
        .as_table()
        .unwrap();
    assert_eq!(entry["total_quota"].as_integer(), Some(100));
    assert_eq!(entry["description"].as_str(), Some("d"));
    assert!(!entry.contains_key("key_hash"));
    assert!(!fs::read_to_string(dir.path().join("api_keys.toml"))
        .unwrap()
        .contains("sk-readable"));

    let costs = read("model_costs.toml");
    assert_eq!(costs["gemini-2.5-pro"].as_integer(), Some(3));
}

#[tokio::test]
async fn hand_edited_toml_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("creds.toml"),
        r#"
["hand.json"]
client_id = "x"
refresh_token = "1//y"

["hand.json".state]
disabled = true
"#,
    )
    .unwrap();
    fs::write(
        dir.path().join("model_costs.toml"),
        "\"gemini-2.5-pro\" = 4\n",
    )
    .unwrap();
    let store = FileStore::open(dir.path()).await.unwrap();
    let record = store.get_credential("hand.json").await.unwrap().unwrap();
    assert_eq!(
        record.credential,
        object(json!({"client_id": "x", "refresh_token": "1//y"}))
    );
    assert!(record.state.disabled);
    assert!(
        record.state.preview,
        "missing state fields take their defaults"
    );
    assert_eq!(store.load_model_costs().await.unwrap()["gemini-2.5-pro"], 4);
    store.close().await.unwrap();

    fs::write(dir.path().join("config.toml"), "not = [valid").unwrap();
    assert!(matches!(
        FileStore::open(dir.path()).await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn a_second_store_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = FileStore::open(dir.path()).await.unwrap();
    let quick = FileStoreOptions {
        lock_wait: Duration::from_millis(100),
        ..FileStoreOptions::default()
    };
    match FileStore::open_with(dir.path(), quick.clone()).await {
        Err(StoreError::Unavailable(message)) => assert!(message.contains("in use"), "{message}"),
        Err(other) => panic!("expected Unavailable, got {other:?}"),
        Ok(_) => panic!("two stores opened the same directory"),
    }
    first.close().await.unwrap();
    let second = FileStore::open_with(dir.path(), quick).await.unwrap();
    second.close().await.unwrap();
}

#[tokio::test]
async fn unrepresentable_values_are_refused_before_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).await.unwrap();
    assert!(matches!(
        store.save_config(&object(json!({"list": [1, null]}))).await,
        Err(StoreError::Backend(_))
    ));
    assert!(matches!(
        store.set_model_cost("m", u64::MAX).await,
        Err(StoreError::Backend(_))
    ));
    assert!(matches!(
        store.insert_key(&key("sk-huge", u64::MAX)).await,
        Err(StoreError::Backend(_))
    ));
    // The store is still healthy and nothing reached the journal.
    assert_eq!(journal_len(dir.path()), 0);
    store.set_model_cost("m", 1).await.unwrap();
    store.close().await.unwrap();
}

#[tokio::test]
async fn concurrent_writers_all_get_durable_acks() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(
        FileStore::open_with(dir.path(), crash_like())
            .await
            .unwrap(),
    );
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .put_credential(&credential(&format!("w{i:03}.json")))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.credentials_generation().await.unwrap(), 300);
    drop(store);
    let journal = fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 300);
    let store = FileStore::open(dir.path()).await.unwrap();
    assert_eq!(store.load_credentials().await.unwrap().len(), 300);
    store.close().await.unwrap();
}
