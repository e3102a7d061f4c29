//! A real crash: a child process writes to a files store as fast as it can, printing every
//! acknowledgement, and is killed with SIGKILL at a random moment (often mid-compaction, since the
//! child compacts every 64 entries). The reopened store must hold every acknowledged write.
//!
//! The test binary is its own child: run with `--writer <dir>` it becomes the writer. No test
//! harness (`harness = false`), so that mode is a plain `main`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gcli2api::store::{
    ApiKeyRecord, CredentialRecord, CredentialState, DebitOutcome, FileStore, FileStoreOptions,
    Store,
};
use rand::Rng;
use serde_json::{json, Map, Value};

const ROUNDS: usize = 4;
const WRITER_TASKS: usize = 6;
/// A key hash (the store is keyed by hashes, never by keys): SHA-256 of `sk-crash-test-key`.
const KEY: &str = "5d8a4b7e8e5b1c2f3a4d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3";
const TEST_NAME: &str = "kill_9_loses_no_acknowledged_write";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--writer") {
        let dir = args.get(at + 1).expect("--writer needs a directory");
        writer(Path::new(dir));
        return;
    }
    // Behave like a libtest binary towards `cargo test` arguments: `--list`, name filters.
    if args.iter().any(|a| a == "--list") {
        // The test is not ignored: list it only when asked for the normal tests.
        if !args.iter().any(|a| a == "--ignored") {
            println!("{TEST_NAME}: test");
        }
        return;
    }
    let filters: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if args.iter().any(|a| a == "--ignored")
        || (!filters.is_empty() && !filters.iter().any(|f| TEST_NAME.contains(f.as_str())))
    {
        println!("store_crash: 0 passed, 0 failed");
        return;
    }
    for round in 0..ROUNDS {
        crash_round(round);
    }
    println!("{TEST_NAME}: {ROUNDS} rounds of kill -9, every acknowledged write survived");
    println!("store_crash: 1 passed, 0 failed");
}

fn credential(name: &str) -> CredentialRecord {
    CredentialRecord {
        name: name.into(),
        kind: Default::default(),
        credential: json!({"client_id": "c", "refresh_token": "1//r", "name": name})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        state: CredentialState::default(),
    }
}

/// Child mode: several tasks writing concurrently (so batches hold many entries), each printing an
/// acknowledgement line only after its write returned.
fn writer(dir: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let options = FileStoreOptions {
            compact_after_entries: 64,
            ..FileStoreOptions::default()
        };
        let store = Arc::new(FileStore::open_with(dir, options).await.unwrap());
        let key = ApiKeyRecord {
            key_hash: KEY.into(),
            prefix: "sk-cras…".into(),
            total_quota: 1 << 40,
            used_quota: 0,
            created_at: 0,
            description: None,
            model_stats: BTreeMap::new(),
            allowed_models: vec![],
            max_concurrent: None,
            expires_at: None,
            policy: Default::default(),
        };
        store.insert_key(&key).await.unwrap();
        println!("ready");
        let tasks: Vec<_> = (0..WRITER_TASKS)
            .map(|task| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0u64.. {
                        let name = format!("t{task}-{i}.json");
                        store.put_credential(&credential(&name)).await.unwrap();
                        println!("put {name}");
                        if let DebitOutcome::Debited { .. } =
                            store.debit_key(KEY, "gemini-2.5-pro", 1, 0).await.unwrap()
                        {
                            println!("debit");
                        }
                        let mut change = Map::new();
                        change.insert(format!("task{task}"), Value::from(i));
                        store.save_config(&change).await.unwrap();
                        println!("config {task} {i}");
                        if i % 3 == 2 {
                            let old = format!("t{task}-{}.json", i - 1);
                            println!("deleting {old}");
                            store.delete_credential(&old).await.unwrap();
                            println!("deleted {old}");
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    });
}

#[derive(Default)]
struct Acks {
    ready: bool,
    puts: BTreeSet<String>,
    deleting: BTreeSet<String>,
    deleted: BTreeSet<String>,
    debits: u64,
    config: BTreeMap<String, u64>,
}

impl Acks {
    fn record(&mut self, line: &str) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("ready"), _, _) => self.ready = true,
            (Some("put"), Some(name), _) => {
                self.puts.insert(name.into());
            }
            (Some("deleting"), Some(name), _) => {
                self.deleting.insert(name.into());
            }
            (Some("deleted"), Some(name), _) => {
                self.deleted.insert(name.into());
            }
            (Some("debit"), _, _) => self.debits += 1,
            (Some("config"), Some(task), Some(i)) => {
                let i: u64 = i.parse().unwrap();
                let entry = self.config.entry(format!("task{task}")).or_default();
                *entry = (*entry).max(i);
            }
            _ => {}
        }
    }

    fn count(&self) -> usize {
        self.puts.len() + self.debits as usize + self.config.len()
    }
}

fn crash_round(round: usize) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .arg("--writer")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();

    let kill_after = rand::thread_rng().gen_range(50..3000);
    let started = Instant::now();
    let mut acks = Acks::default();
    let mut seen = 0;
    while seen < kill_after && started.elapsed() < Duration::from_secs(20) {
        match lines.next() {
            Some(Ok(line)) => {
                acks.record(&line);
                seen += 1;
            }
            _ => break,
        }
    }
    // `Child::kill` is SIGKILL on unix: no destructor, no flush, no compaction.
    child.kill().unwrap();
    child.wait().unwrap();
    // Lines the child printed before dying are still in the pipe; each is an acknowledged write.
    for line in lines.map_while(Result::ok) {
        acks.record(&line);
    }
    assert!(acks.ready, "round {round}: the writer never started");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(verify(round, dir.path(), &acks));
    println!(
        "round {round}: killed after {seen} lines; {} acknowledged writes checked",
        acks.count()
    );
}

async fn verify(round: usize, dir: &Path, acks: &Acks) {
    let store = FileStore::open(dir).await.unwrap();
    let stored: BTreeSet<String> = store
        .load_credentials()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    for name in &acks.puts {
        if acks.deleted.contains(name) {
            assert!(
                !stored.contains(name),
                "round {round}: deleted {name} is back"
            );
        } else if !acks.deleting.contains(name) {
            assert!(
                stored.contains(name),
                "round {round}: acknowledged {name} lost"
            );
        }
    }
    let key = store.get_key(KEY).await.unwrap().unwrap();
    assert!(
        key.used_quota >= acks.debits,
        "round {round}: {} debits acknowledged, {} stored",
        acks.debits,
        key.used_quota
    );
    // Each task has at most one debit in flight when killed.
    assert!(key.used_quota <= acks.debits + WRITER_TASKS as u64);
    let config = store.load_config().await.unwrap();
    for (task, acked) in &acks.config {
        let stored = config.get(task).and_then(Value::as_u64).unwrap_or(0);
        assert!(
            stored >= *acked,
            "round {round}: {task} acknowledged {acked}, stored {stored}"
        );
    }
    store.close().await.unwrap();
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
}
