//! Keys stored as hashes: the store keeps a key's SHA-256 and a short prefix, never the key; the key's
//! id (`k-` and 16 hex digits of the hash) or the key itself names it in `/auth/keys/{key}`; stores
//! written before (records named by the key) are converted at start and by `migrate`, and their keys
//! keep working with the quota they had used. Every store is read directly afterwards: no full key.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use gcli2api::key_id::{display_prefix, hash_key, id_of_key};
use serde_json::json;

use crate::cluster::{backend, until, upload_creds};
use crate::fake_google::FakeGoogle;
use crate::harness::*;
use crate::process::{gateway_env, Gateway};

/// A key as the previous version stored it: by name, in the clear.
const OLD_KEY: &str = "sk-written-before-hashing-0123456789abcdefghijk";
const MODEL: &str = "gemini-2.5-flash";
/// What the old record had spent, all on `MODEL`.
const OLD_USED: u64 = 7;

fn env_value(env: &[(&str, String)], name: &str) -> String {
    env.iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.clone())
        .unwrap()
}

/// `api_keys.toml` as the files backend wrote it before keys were hashed: one table per key,
/// named by the key.
fn old_keys_toml() -> String {
    format!(
        r#"["{OLD_KEY}"]
total_quota = 100
used_quota = {OLD_USED}
created_at = 1751700000
description = "before hashing"
allowed_models = []

["{OLD_KEY}".model_stats]
"{MODEL}" = {OLD_USED}
"#
    )
}

/// Every file under `dir`, as text (lossy), with its path.
fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                out.push((path, text));
            }
        }
    }
    out
}

fn assert_no_key_in(what: &str, text: &str, keys: &[&str]) {
    for key in keys {
        // The part after the display prefix is what only the key holds.
        assert!(
            !text.contains(&key[7..]),
            "{what} holds a full key ({}…)",
            &key[..7]
        );
    }
}

async fn cost_of(gw: &Gateway, model: &str) -> u64 {
    let answer = gw
        .send("GET", &format!("/auth/models/{model}/cost"), PASSWORD, None)
        .await;
    answer.json()["cost"].as_u64().unwrap()
}

/// The old key chats, and its balance went on from what it had used, by id and by key alike.
async fn old_key_keeps_working(gw: &Gateway) {
    let cost = cost_of(gw, MODEL).await;
    let before = gw.key(OLD_KEY).await;
    assert_eq!(before.status, 200, "{}", before.text());
    let before = before.json()["used_quota"].as_u64().unwrap();
    assert_eq!(gw.chat(OLD_KEY, MODEL).await, 200);
    for name in [OLD_KEY.to_string(), id_of_key(OLD_KEY)] {
        let answer = gw.key(&name).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let record = answer.json();
        assert_eq!(record["used_quota"].as_u64(), Some(before + cost));
        assert_eq!(record["model_stats"][MODEL].as_u64(), Some(before + cost));
        assert_eq!(record["total_quota"], 100);
        assert_eq!(record["description"], "before hashing");
        assert_eq!(record["id"], json!(id_of_key(OLD_KEY)));
        assert_eq!(record["api_key"], json!(display_prefix(OLD_KEY)));
    }
}

/// A key created now, used once; answers the key.
async fn new_key_used(gw: &Gateway) -> String {
    let key = gw.create_key(50).await.unwrap();
    assert_eq!(gw.chat(&key, MODEL).await, 200);
    key
}

#[actix_rt::test]
async fn the_id_or_the_full_key_names_a_key_and_no_answer_shows_the_key() {
    let app = spawn_app().await;
    let token = app.login().await;
    let created = app
        .create_key(&token, json!({"total_quota": 10, "description": "by id"}))
        .await;
    let key = created["api_key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id, id_of_key(&key));
    assert!(id.starts_with("k-") && id.len() == 18, "{id}");
    assert_eq!(app.chat_as(&key, MODEL).await.status, 200);
    let cost = app
        .send(
            app.client
                .get(app.url(&format!("/auth/models/{MODEL}/cost"))),
            None,
        )
        .await
        .json()["cost"]
        .clone();

    let get = |name: String| {
        let req = app
            .client
            .get(app.url(&format!("/auth/keys/{name}")))
            .bearer_auth(&token);
        app.send(req, None)
    };
    let delete = |name: String| {
        let req = app
            .client
            .delete(app.url(&format!("/auth/keys/{name}")))
            .bearer_auth(&token);
        app.send(req, None)
    };
    let list = app
        .send(
            app.client.get(app.url("/auth/keys")).bearer_auth(&token),
            None,
        )
        .await;
    assert_eq!(list.json()["keys"][0]["id"], json!(id));
    assert_eq!(
        list.json()["keys"][0]["api_key"],
        json!(display_prefix(&key))
    );
    assert_no_key_in("the key list", &list.text(), &[&key]);
    for name in [id.clone(), key.clone()] {
        let answer = get(name).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(answer.json()["id"], json!(id));
        assert_eq!(answer.json()["used_quota"], cost);
        assert_no_key_in("a key's record", &answer.text(), &[&key]);
    }
    for unknown in [
        "k-0000000000000000",
        "k-12",
        "sk-not-a-stored-key",
        "nonsense",
    ] {
        assert_eq!(get(unknown.into()).await.status, 404, "{unknown}");
        assert_eq!(delete(unknown.into()).await.status, 404, "{unknown}");
    }
    // The self-service lookups still take the key.
    let own = app
        .send(
            app.client.get(app.url("/auth/quota")).bearer_auth(&key),
            None,
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.text());
    assert_eq!(own.json()["id"], json!(id));
    assert_no_key_in("/auth/quota", &own.text(), &[&key]);
    let query = app
        .send(
            app.client.post(app.url("/auth/query")),
            Some(&json!({"api_key": key})),
        )
        .await;
    assert_eq!(query.status, 200, "{}", query.text());
    assert_no_key_in("/auth/query", &query.text(), &[&key]);

    // Deleted by its id, then gone by either name.
    let deleted = delete(id.clone()).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert_no_key_in("the deletion", &deleted.text(), &[&key]);
    assert_eq!(get(key.clone()).await.status, 404);
    assert_eq!(app.chat_as(&key, MODEL).await.status, 403);
    // Deleted by the full key.
    let other = app.create_key(&token, json!({"total_quota": 10})).await;
    let other_key = other["api_key"].as_str().unwrap().to_string();
    assert_eq!(delete(other_key.clone()).await.status, 200);
    assert_eq!(get(id_of_key(&other_key)).await.status, 404);

    // The audit names keys by id.
    let audit = app
        .send(
            app.client
                .get(app.url("/audit?limit=50"))
                .bearer_auth(&token),
            None,
        )
        .await;
    assert_eq!(audit.status, 200, "{}", audit.text());
    assert!(audit.text().contains(&id), "{}", audit.text());
    assert_no_key_in("the audit log", &audit.text(), &[&key, &other_key]);
    app.stop().await;
}

/// Files: an `api_keys.toml` written before is converted at start; its key works with its old
/// balance, also after a restart; no file of the store and no debug log line holds a key.
#[actix_rt::test]
async fn a_files_store_written_before_is_converted_at_start() {
    let google = FakeGoogle::start().await;
    let backend = backend("files");
    let dir = PathBuf::from(env_value(&backend.env, "CREDENTIALS_DIR"));
    std::fs::write(dir.join("api_keys.toml"), old_keys_toml()).unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log_file = logs.path().join("gateway.log");
    let mut env = gateway_env(&google.url(), &backend.env);
    env.insert("LOG_LEVEL".into(), "debug".into());
    env.insert("LOG_FILE".into(), log_file.display().to_string());
    let mut gw = Gateway::start(&env).await;
    upload_creds(&gw, &[("a.json", "rt-a", "pa")]).await;

    old_key_keeps_working(&gw).await;
    let key = new_key_used(&gw).await;
    // Converting again at the next start changes nothing.
    gw.restart().await;
    old_key_keeps_working(&gw).await;
    assert_eq!(gw.chat(&key, MODEL).await, 200);

    let stored = std::fs::read_to_string(dir.join("api_keys.toml")).unwrap();
    assert!(stored.contains(&hash_key(OLD_KEY)), "{stored}");
    for (path, text) in files_under(&dir) {
        assert_no_key_in(&path.display().to_string(), &text, &[OLD_KEY, &key]);
    }
    // The access lines are written by the log's own thread: wait for the last one.
    let id = id_of_key(&key);
    let read_log = || std::fs::read_to_string(&log_file).unwrap_or_default();
    until("the log names the key by its id", || async {
        read_log().contains(&format!("key={id}"))
    })
    .await;
    let log = read_log();
    assert_no_key_in("the debug log", &log, &[OLD_KEY, &key]);
}

/// `migrate` from a files store written before: the target holds hashed records with the same
/// balances, and migrating again leaves it as it was.
#[actix_rt::test]
async fn migrate_converts_a_store_written_before_and_twice_changes_nothing() {
    let from = tempfile::tempdir().unwrap();
    let to = tempfile::tempdir().unwrap();
    std::fs::write(from.path().join("api_keys.toml"), old_keys_toml()).unwrap();
    let migrate = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gcli2api"))
            .env_clear()
            .args(["migrate", "--from"])
            .arg(from.path())
            .arg("--to")
            .arg(to.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(to.path().join("api_keys.toml")).unwrap()
    };
    let first = migrate();
    let table: toml::Table = first.parse().unwrap();
    let record = table[&hash_key(OLD_KEY)].as_table().unwrap();
    assert_eq!(record["used_quota"].as_integer(), Some(OLD_USED as i64));
    assert_eq!(
        record["prefix"].as_str(),
        Some(display_prefix(OLD_KEY).as_str())
    );
    assert_eq!(table.len(), 1);
    for (path, text) in files_under(to.path()) {
        assert_no_key_in(&path.display().to_string(), &text, &[OLD_KEY]);
    }
    assert_eq!(migrate(), first);
}

#[cfg(feature = "redis-tests")]
mod redis_store {
    use futures_util::future::join_all;

    use super::*;

    async fn connection() -> redis::aio::MultiplexedConnection {
        let uri = std::env::var("REDIS_URI").unwrap();
        redis::Client::open(uri)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// Everything stored under `prefix`, as one text.
    async fn dump(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> String {
        let names: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(conn)
            .await
            .unwrap();
        let mut out = String::new();
        for name in names {
            let kind: String = redis::cmd("TYPE")
                .arg(&name)
                .query_async(conn)
                .await
                .unwrap();
            let value: Vec<String> = match kind.as_str() {
                "hash" => redis::cmd("HGETALL").arg(&name).query_async(conn).await,
                "string" => redis::cmd("GET")
                    .arg(&name)
                    .query_async::<String>(conn)
                    .await
                    .map(|v| vec![v]),
                "list" => {
                    redis::cmd("LRANGE")
                        .arg(&name)
                        .arg(0)
                        .arg(-1)
                        .query_async(conn)
                        .await
                }
                "zset" => {
                    redis::cmd("ZRANGE")
                        .arg(&name)
                        .arg(0)
                        .arg(-1)
                        .query_async(conn)
                        .await
                }
                "set" => redis::cmd("SMEMBERS").arg(&name).query_async(conn).await,
                _ => Ok(Vec::new()),
            }
            .unwrap();
            out.push_str(&format!("{name} {}\n", value.join(" ")));
        }
        out
    }

    #[actix_rt::test]
    async fn a_redis_store_written_before_is_converted_at_start() {
        let google = FakeGoogle::start().await;
        let backend = backend("redis");
        let prefix = env_value(&backend.env, "STORAGE_PREFIX");
        let mut conn = connection().await;
        // The old shape: the key names the static record, its used quota and its model counters.
        let record = json!({
            "api_key": OLD_KEY, "total_quota": 100, "created_at": 1751700000,
            "description": "before hashing", "allowed_models": [], "max_concurrent": null,
            "expires_at": null,
        });
        let _: () = redis::cmd("HSET")
            .arg(format!("{prefix}:api_keys"))
            .arg(OLD_KEY)
            .arg(record.to_string())
            .query_async(&mut conn)
            .await
            .unwrap();
        let _: () = redis::cmd("HSET")
            .arg(format!("{prefix}:api_key_used"))
            .arg(OLD_KEY)
            .arg(OLD_USED)
            .query_async(&mut conn)
            .await
            .unwrap();
        let _: () = redis::cmd("HSET")
            .arg(format!("{prefix}:api_key_models:{OLD_KEY}"))
            .arg(MODEL)
            .arg(OLD_USED)
            .query_async(&mut conn)
            .await
            .unwrap();

        // Three instances start at once on the old store: one converts, the others wait for it,
        // and the record is converted once, its balance whole.
        let env = gateway_env(&google.url(), &backend.env);
        let mut gateways = join_all((0..3).map(|_| Gateway::start(&env))).await;
        let listed = gateways[1].send("GET", "/auth/keys", PASSWORD, None).await;
        let keys = listed.json()["keys"].as_array().unwrap().clone();
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert_eq!(keys[0]["used_quota"].as_u64(), Some(OLD_USED));
        let mut gw = gateways.remove(0);
        drop(gateways);
        upload_creds(&gw, &[("a.json", "rt-a", "pa")]).await;
        old_key_keeps_working(&gw).await;
        let key = new_key_used(&gw).await;
        gw.restart().await;
        old_key_keeps_working(&gw).await;

        let stored = dump(&mut conn, &prefix).await;
        assert!(stored.contains(&hash_key(OLD_KEY)), "{stored}");
        assert_no_key_in("Redis", &stored, &[OLD_KEY, &key]);
        drop(gw);
        backend.clean().await;
    }
}

#[cfg(feature = "postgres-tests")]
mod postgres_store {
    use super::*;

    async fn client() -> tokio_postgres::Client {
        let dsn = std::env::var("POSTGRES_DSN").unwrap();
        let (client, conn) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
            .await
            .unwrap();
        actix_rt::spawn(conn);
        client
    }

    /// Every row of every table of the schema, as text.
    async fn dump(client: &tokio_postgres::Client, schema: &str) -> String {
        let tables = client
            .query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
                &[&schema],
            )
            .await
            .unwrap();
        let mut out = String::new();
        for table in tables {
            let name: String = table.get(0);
            let rows = client
                .query(
                    &format!("SELECT t::text FROM \"{schema}\".\"{name}\" t"),
                    &[],
                )
                .await
                .unwrap();
            for row in rows {
                let text: String = row.get(0);
                out.push_str(&format!("{name} {text}\n"));
            }
        }
        out
    }

    #[actix_rt::test]
    async fn a_postgres_store_written_before_is_converted_at_start() {
        let google = FakeGoogle::start().await;
        let backend = backend("postgres");
        let schema = env_value(&backend.env, "STORAGE_PREFIX");
        let env = gateway_env(&google.url(), &backend.env);
        // A first start creates the schema; it is then put back as the previous version left it:
        // without migration 9 (no `prefix` column), with a row named by its key.
        let mut gw = Gateway::start(&env).await;
        gw.kill9();
        let db = client().await;
        db.batch_execute(&format!(
            "DELETE FROM \"{schema}\".schema_migrations WHERE version = 9;
             ALTER TABLE \"{schema}\".api_keys DROP COLUMN prefix;"
        ))
        .await
        .unwrap();
        let stats = json!({ MODEL: OLD_USED });
        let allowed: serde_json::Value = json!([]);
        db.execute(
            &format!(
                "INSERT INTO \"{schema}\".api_keys (api_key, total_quota, used_quota, created_at,
                     description, model_stats, allowed_models)
                 VALUES ($1, 100, $2, 1751700000, 'before hashing', $3, $4)"
            ),
            &[&OLD_KEY, &(OLD_USED as i64), &stats, &allowed],
        )
        .await
        .unwrap();

        gw.restart().await;
        upload_creds(&gw, &[("a.json", "rt-a", "pa")]).await;
        old_key_keeps_working(&gw).await;
        let key = new_key_used(&gw).await;
        gw.restart().await;
        old_key_keeps_working(&gw).await;

        let stored = dump(&db, &schema).await;
        assert!(stored.contains(&hash_key(OLD_KEY)), "{stored}");
        assert_no_key_in("PostgreSQL", &stored, &[OLD_KEY, &key]);
        drop(gw);
        backend.clean().await;
    }
}
