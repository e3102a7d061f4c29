//! PostgreSQL backend (`POSTGRES_DSN`). Every table lives in a schema named after the prefix;
//! the schema is created and migrated at open, serialised across instances by an advisory lock.
//! TLS follows the DSN's libpq options (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`,
//! `channel_binding`) with rustls, see [`super::tls::postgres_dsn`].

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde_json::{Map, Value};
use tokio_postgres::Row;

mod counters;
mod sessions;
mod windows;

use super::tls::postgres_connector::PgTls;
use super::tls::postgres_dsn;
use super::{
    ApiKeyRecord, AuditEntry, AuditQuery, CredentialInsight, CredentialKind, CredentialRecord,
    DebitOutcome, DebitRequest, KeyPolicy, LoginFailures, Store, StoreError, WindowCharge,
    WindowUse, WindowVerdict,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const POOL_SIZE: usize = 16;

/// Applied in order, each once, recorded in `schema_migrations`. `{s}` is the quoted schema.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r"
CREATE TABLE {s}.credentials (
    name text PRIMARY KEY,
    credential jsonb NOT NULL,
    state jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {s}.generation (
    id int PRIMARY KEY CHECK (id = 1),
    value bigint NOT NULL
);
INSERT INTO {s}.generation (id, value) VALUES (1, 0);
CREATE TABLE {s}.config (
    key text PRIMARY KEY,
    value jsonb NOT NULL
);
CREATE TABLE {s}.api_keys (
    api_key text PRIMARY KEY,
    total_quota bigint NOT NULL,
    used_quota bigint NOT NULL DEFAULT 0,
    created_at bigint NOT NULL,
    description text,
    model_stats jsonb NOT NULL DEFAULT '{}'::jsonb,
    allowed_models jsonb NOT NULL DEFAULT '[]'::jsonb,
    max_concurrent int,
    expires_at bigint
);
CREATE TABLE {s}.model_costs (
    model text PRIMARY KEY,
    cost bigint NOT NULL
);
CREATE TABLE {s}.leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    expires_at timestamptz NOT NULL
);
",
    ),
    (
        2,
        // A batch of debits in one statement (group commit), each exactly as the single debit and in
        // the order given, so several debits of one key in a batch see each other. Status per row:
        // 0 not found, 1 expired, 2 exhausted, 3 debited.
        r"
CREATE FUNCTION {s}.debit_keys(p_keys text[], p_models text[], p_costs bigint[], p_now bigint[])
RETURNS TABLE (status int, used bigint, total bigint)
LANGUAGE plpgsql AS $$
DECLARE
    expiry bigint;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        UPDATE {s}.api_keys AS k
        SET used_quota = k.used_quota + p_costs[i],
            model_stats = jsonb_set(k.model_stats, ARRAY[p_models[i]],
                to_jsonb(COALESCE((k.model_stats ->> p_models[i])::bigint, 0) + p_costs[i]))
        WHERE k.api_key = p_keys[i] AND k.total_quota - k.used_quota >= p_costs[i]
          AND (k.expires_at IS NULL OR k.expires_at > p_now[i])
        RETURNING k.used_quota, k.total_quota INTO used, total;
        IF FOUND THEN
            status := 3;
        ELSE
            SELECT k.used_quota, k.total_quota, k.expires_at INTO used, total, expiry
            FROM {s}.api_keys AS k WHERE k.api_key = p_keys[i];
            IF NOT FOUND THEN
                status := 0; used := 0; total := 0;
            ELSIF expiry IS NOT NULL AND expiry <= p_now[i] THEN
                status := 1;
            ELSE
                status := 2;
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
",
    ),
    // Credential kinds: rows written before them are Code Assist logins.
    (
        3,
        "ALTER TABLE {s}.credentials ADD COLUMN kind text NOT NULL DEFAULT 'code_assist';",
    ),
    (
        4,
        // The batch as migration 2 answers it, but each key's row is locked, read and written once:
        // one UPDATE per debit made a new row version per debit, so a batch of 32 debits of one key
        // walked a growing chain of versions of one row. The batch arrives sorted by key (the caller
        // sorts, keeping each key's own debits in order), so each key is one run of the loop.
        r"
CREATE OR REPLACE FUNCTION {s}.debit_keys(p_keys text[], p_models text[], p_costs bigint[], p_now bigint[])
RETURNS TABLE (status int, used bigint, total bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(array_length(p_keys, 1), 0);
    cur text;
    present boolean := false;
    changed boolean := false;
    k_used bigint;
    k_total bigint;
    k_expiry bigint;
    k_stats jsonb;
    st int[] := '{}';
    us bigint[] := '{}';
    tt bigint[] := '{}';
BEGIN
    FOR i IN 1 .. n LOOP
        IF cur IS DISTINCT FROM p_keys[i] THEN
            IF changed THEN
                UPDATE {s}.api_keys SET used_quota = k_used, model_stats = k_stats
                WHERE api_key = cur;
            END IF;
            cur := p_keys[i];
            changed := false;
            SELECT k.used_quota, k.total_quota, k.expires_at, k.model_stats
            INTO k_used, k_total, k_expiry, k_stats
            FROM {s}.api_keys AS k WHERE k.api_key = cur FOR UPDATE;
            present := FOUND;
        END IF;
        IF NOT present THEN
            st[i] := 0; us[i] := 0; tt[i] := 0;
        ELSIF k_expiry IS NOT NULL AND k_expiry <= p_now[i] THEN
            st[i] := 1; us[i] := k_used; tt[i] := k_total;
        ELSIF k_total - k_used >= p_costs[i] THEN
            k_used := k_used + p_costs[i];
            k_stats := jsonb_set(k_stats, ARRAY[p_models[i]],
                to_jsonb(COALESCE((k_stats ->> p_models[i])::bigint, 0) + p_costs[i]));
            changed := true;
            st[i] := 3; us[i] := k_used; tt[i] := k_total;
        ELSE
            st[i] := 2; us[i] := k_used; tt[i] := k_total;
        END IF;
    END LOOP;
    IF changed THEN
        UPDATE {s}.api_keys SET used_quota = k_used, model_stats = k_stats WHERE api_key = cur;
    END IF;
    FOR i IN 1 .. n LOOP
        status := st[i]; used := us[i]; total := tt[i];
        RETURN NEXT;
    END LOOP;
END
$$;
",
    ),
    (
        5,
        // What Google last told about each credential (the credential scout's snapshots). No foreign
        // key to `credentials`: a scout may write a snapshot just as another instance deletes the
        // credential, and that write must not fail; the delete path removes the snapshot itself.
        r"
CREATE TABLE {s}.insights (
    name text PRIMARY KEY,
    body jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
",
    ),
    (
        6,
        // Panel sessions shared by the instances (`postgres/sessions.rs`).
        r"
CREATE TABLE {s}.login_failures (
    address text NOT NULL,
    at bigint NOT NULL
);
CREATE INDEX login_failures_by_address ON {s}.login_failures (address, at);
CREATE TABLE {s}.revoked_sessions (
    jti text PRIMARY KEY,
    until bigint NOT NULL
);
",
    ),
    (
        7,
        // Counters every instance adds to (`postgres/counters.rs`).
        r"
CREATE TABLE {s}.counters (
    sheet text NOT NULL,
    name text NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (sheet, name)
);
",
    ),
    (
        8,
        // The audit log: one row per admin action, the entry whole in `body`; time and action in
        // columns of their own for the newest-first pages, the action filter and pruning.
        r"
CREATE TABLE {s}.audit (
    id text PRIMARY KEY,
    time_ms bigint NOT NULL,
    action text NOT NULL,
    body jsonb NOT NULL
);
CREATE INDEX audit_time ON {s}.audit (time_ms DESC, id DESC);
",
    ),
    (
        9,
        // Keys are stored hashed: `api_key` keeps its name but holds the key's SHA-256 in hex, and
        // `prefix` the start of the key for display. Rows written before still hold the key; the
        // gateway converts them at start (`store::key_hashing`), which needs no SQL of its own.
        r"
ALTER TABLE {s}.api_keys ADD COLUMN prefix text NOT NULL DEFAULT '';
",
    ),
    (
        10,
        // Limits per time window and source addresses of a key (`policy`, JSON as the record has
        // it), and the window counters (`postgres/windows.rs`): a row per key, slot and bucket.
        r"
ALTER TABLE {s}.api_keys ADD COLUMN policy jsonb NOT NULL DEFAULT '{}'::jsonb;
CREATE TABLE {s}.key_windows (
    api_key text NOT NULL,
    slot text NOT NULL,
    bucket bigint NOT NULL,
    requests bigint NOT NULL DEFAULT 0,
    cost bigint NOT NULL DEFAULT 0,
    tokens bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (api_key, slot, bucket)
);
",
    ),
];

/// The SQL of every operation, with the schema filled in once.
struct Sql {
    load_credentials: String,
    get_credential: String,
    put_credential: String,
    delete_credential: String,
    generation: String,
    load_config: String,
    upsert_config: String,
    delete_config: String,
    list_keys: String,
    get_key: String,
    insert_key: String,
    delete_key: String,
    update_key: String,
    debit: String,
    debit_batch: String,
    key_balance: String,
    refund: String,
    load_costs: String,
    set_cost: String,
    delete_cost: String,
    try_lease: String,
    release_lease: String,
    put_insight: String,
    get_insight: String,
    delete_insight: String,
    append_audit: String,
    list_audit: String,
    prune_audit_age: String,
    prune_audit_count: String,
}

const KEY_COLUMNS: &str =
    "api_key, total_quota, used_quota, created_at, description, model_stats, \
                           allowed_models, max_concurrent, expires_at, prefix, policy";

impl Sql {
    fn new(s: &str) -> Self {
        Self {
            load_credentials: format!(
                "SELECT name, credential, state, kind FROM {s}.credentials ORDER BY name"
            ),
            get_credential: format!(
                "SELECT name, credential, state, kind FROM {s}.credentials WHERE name = $1"
            ),
            // One statement, so the generation moves in the same transaction as the write.
            put_credential: format!(
                "WITH written AS (
                     INSERT INTO {s}.credentials (name, credential, state, kind, updated_at)
                     VALUES ($1, $2, $3, $4, now())
                     ON CONFLICT (name) DO UPDATE
                     SET credential = EXCLUDED.credential, state = EXCLUDED.state,
                         kind = EXCLUDED.kind, updated_at = now()
                     RETURNING 1)
                 UPDATE {s}.generation SET value = value + 1 WHERE id = 1"
            ),
            delete_credential: format!(
                "WITH removed AS (DELETE FROM {s}.credentials WHERE name = $1 RETURNING 1),
                      bumped AS (UPDATE {s}.generation SET value = value + 1
                                 WHERE id = 1 AND EXISTS (SELECT 1 FROM removed) RETURNING 1)
                 SELECT count(*) FROM removed"
            ),
            generation: format!("SELECT value FROM {s}.generation WHERE id = 1"),
            load_config: format!("SELECT key, value FROM {s}.config ORDER BY key"),
            upsert_config: format!(
                "INSERT INTO {s}.config (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            delete_config: format!("DELETE FROM {s}.config WHERE key = $1"),
            list_keys: format!("SELECT {KEY_COLUMNS} FROM {s}.api_keys ORDER BY created_at, api_key"),
            get_key: format!("SELECT {KEY_COLUMNS} FROM {s}.api_keys WHERE api_key = $1"),
            insert_key: format!(
                "INSERT INTO {s}.api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (api_key) DO NOTHING"
            ),
            // The key's window counters go with it (migration 10).
            delete_key: format!(
                "WITH w AS (DELETE FROM {s}.key_windows WHERE api_key = $1)
                 DELETE FROM {s}.api_keys WHERE api_key = $1"
            ),
            update_key: format!(
                "UPDATE {s}.api_keys SET total_quota = $2, description = $3, allowed_models = $4,
                   max_concurrent = $5, expires_at = $6, policy = $7 WHERE api_key = $1"
            ),
            debit: format!(
                "UPDATE {s}.api_keys
                 SET used_quota = used_quota + $2,
                     model_stats = jsonb_set(model_stats, ARRAY[$3::text],
                         to_jsonb(COALESCE((model_stats ->> $3::text)::bigint, 0) + $2))
                 WHERE api_key = $1 AND total_quota - used_quota >= $2
                   AND (expires_at IS NULL OR expires_at > $4)
                 RETURNING used_quota, total_quota"
            ),
            debit_batch: format!("SELECT status, used, total FROM {s}.debit_keys($1, $2, $3, $4)"),
            key_balance: format!(
                "SELECT used_quota, total_quota, expires_at FROM {s}.api_keys WHERE api_key = $1"
            ),
            refund: format!(
                "UPDATE {s}.api_keys
                 SET used_quota = GREATEST(used_quota - $2, 0),
                     model_stats = CASE WHEN model_stats -> $3::text IS NULL THEN model_stats
                         ELSE jsonb_set(model_stats, ARRAY[$3::text],
                             to_jsonb(GREATEST((model_stats ->> $3::text)::bigint - $2, 0))) END
                 WHERE api_key = $1"
            ),
            load_costs: format!("SELECT model, cost FROM {s}.model_costs ORDER BY model"),
            set_cost: format!(
                "INSERT INTO {s}.model_costs (model, cost) VALUES ($1, $2)
                 ON CONFLICT (model) DO UPDATE SET cost = EXCLUDED.cost"
            ),
            delete_cost: format!("DELETE FROM {s}.model_costs WHERE model = $1"),
            // The database clock decides expiry, so instances with skewed clocks agree.
            try_lease: format!(
                "INSERT INTO {s}.leases (name, holder, expires_at)
                 VALUES ($1, $2, now() + make_interval(secs => $3::float8 / 1000.0))
                 ON CONFLICT (name) DO UPDATE
                 SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                 WHERE {s}.leases.holder = EXCLUDED.holder OR {s}.leases.expires_at <= now()
                 RETURNING 1"
            ),
            release_lease: format!("DELETE FROM {s}.leases WHERE name = $1 AND holder = $2"),
            put_insight: format!(
                "INSERT INTO {s}.insights (name, body, updated_at) VALUES ($1, $2, now())
                 ON CONFLICT (name) DO UPDATE SET body = EXCLUDED.body, updated_at = now()"
            ),
            get_insight: format!("SELECT body FROM {s}.insights WHERE name = $1"),
            delete_insight: format!("DELETE FROM {s}.insights WHERE name = $1"),
            append_audit: format!(
                "INSERT INTO {s}.audit (id, time_ms, action, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO NOTHING"
            ),
            list_audit: format!(
                "SELECT body FROM {s}.audit WHERE time_ms < $1 AND ($2::text IS NULL OR action = $2)
                 ORDER BY time_ms DESC, id DESC LIMIT $3"
            ),
            prune_audit_age: format!("DELETE FROM {s}.audit WHERE time_ms < $1"),
            prune_audit_count: format!(
                "DELETE FROM {s}.audit WHERE id IN
                 (SELECT id FROM {s}.audit ORDER BY time_ms DESC, id DESC OFFSET $1)"
            ),
        }
    }
}

pub struct PostgresStore {
    pool: Pool,
    sql: Sql,
    sessions: sessions::SessionSql,
    counters: counters::CounterSql,
    windows: windows::WindowSql,
    /// The quoted schema: names the advisory locks of the window counters.
    schema: String,
}

/// Double-quoted identifier; the prefix is validated by `open_store`, quoting keeps it exact.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Where the DSN points, without user or password.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("");
    format!("{host}:{port}/{db}")
}

/// The server's message and SQLSTATE, never its DETAIL (which can quote key values); for client-side
/// errors the cause (`tokio_postgres` prints only "error connecting to server").
fn pg_error(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        return StoreError::Backend(format!(
            "PostgreSQL: {} (SQLSTATE {})",
            db.message(),
            db.code().code()
        ));
    }
    let cause = std::error::Error::source(&e);
    let text = match cause {
        Some(cause) => format!("PostgreSQL: {e}: {cause}"),
        None => format!("PostgreSQL: {e}"),
    };
    if e.is_closed() || cause.is_some_and(|c| c.is::<std::io::Error>()) {
        StoreError::Unavailable(text)
    } else {
        StoreError::Backend(text)
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => match pg_error(e) {
            StoreError::Backend(m) => StoreError::Unavailable(m),
            other => other,
        },
        other => StoreError::Unavailable(format!("PostgreSQL pool: {other}")),
    }
}

fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::Backend(format!("{what} is too large for PostgreSQL bigint")))
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn json<T: serde::Serialize>(value: &T, what: &str) -> Result<Value, StoreError> {
    serde_json::to_value(value).map_err(|e| StoreError::Backend(format!("serialise {what}: {e}")))
}

fn credential_from_row(row: &Row) -> Result<CredentialRecord, StoreError> {
    let name: String = row.try_get(0).map_err(pg_error)?;
    let corrupt = |e: String| StoreError::Corrupt(format!("PostgreSQL credential `{name}`: {e}"));
    let credential: Value = row.try_get(1).map_err(|e| corrupt(e.to_string()))?;
    let state: Value = row.try_get(2).map_err(|e| corrupt(e.to_string()))?;
    let Value::Object(credential) = credential else {
        return Err(corrupt("credential is not a JSON object".into()));
    };
    let state = serde_json::from_value(state).map_err(|e| corrupt(e.to_string()))?;
    let kind: String = row.try_get(3).map_err(|e| corrupt(e.to_string()))?;
    let kind = CredentialKind::parse(&kind)
        .ok_or_else(|| corrupt(format!("unknown credential kind `{kind}`")))?;
    Ok(CredentialRecord {
        name: name.clone(),
        kind,
        credential,
        state,
    })
}

fn key_from_row(row: &Row) -> Result<ApiKeyRecord, StoreError> {
    let corrupt = |e: String| StoreError::Corrupt(format!("PostgreSQL API key row: {e}"));
    let get_err = |e: tokio_postgres::Error| corrupt(e.to_string());
    let model_stats: Value = row.try_get(5).map_err(get_err)?;
    let allowed_models: Value = row.try_get(6).map_err(get_err)?;
    let max_concurrent: Option<i32> = row.try_get(7).map_err(get_err)?;
    Ok(ApiKeyRecord {
        key_hash: row.try_get(0).map_err(get_err)?,
        prefix: row.try_get(9).map_err(get_err)?,
        total_quota: to_u64(row.try_get(1).map_err(get_err)?),
        used_quota: to_u64(row.try_get(2).map_err(get_err)?),
        created_at: row.try_get(3).map_err(get_err)?,
        description: row.try_get(4).map_err(get_err)?,
        model_stats: serde_json::from_value(model_stats).map_err(|e| corrupt(e.to_string()))?,
        allowed_models: serde_json::from_value(allowed_models)
            .map_err(|e| corrupt(e.to_string()))?,
        max_concurrent: max_concurrent.and_then(|n| u32::try_from(n).ok()),
        expires_at: row.try_get(8).map_err(get_err)?,
        policy: serde_json::from_value::<KeyPolicy>(row.try_get(10).map_err(get_err)?)
            .map_err(|e| corrupt(e.to_string()))?,
    })
}

impl PostgresStore {
    pub async fn open(dsn: &str, prefix: &str) -> Result<Self, StoreError> {
        let split = postgres_dsn::split(dsn)
            .map_err(|m| StoreError::Backend(format!("PostgreSQL DSN: {m}")))?;
        let tls = PgTls::new(&split.tls)
            .map_err(|e| StoreError::Backend(format!("PostgreSQL DSN: {e}")))?;
        let mut config: tokio_postgres::Config = split
            .driver_dsn
            .parse()
            .map_err(|e| StoreError::Unavailable(format!("PostgreSQL DSN is invalid: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let target = describe(&config);
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT * 2))
            .create_timeout(Some(CONNECT_TIMEOUT * 2))
            .build()
            .map_err(|e| StoreError::Backend(format!("PostgreSQL pool: {e}")))?;
        let schema = quote_ident(prefix);
        apply_migrations(&pool, &schema, prefix)
            .await
            .map_err(|e| match e {
                StoreError::Unavailable(m) => {
                    StoreError::Unavailable(format!("PostgreSQL at {target} unreachable: {m}"))
                }
                other => other,
            })?;
        Ok(Self {
            pool,
            sql: Sql::new(&schema),
            sessions: sessions::SessionSql::new(&schema),
            counters: counters::CounterSql::new(&schema),
            windows: windows::WindowSql::new(&schema),
            schema,
        })
    }

    /// Runs `debit_keys` over `requests`, one outcome a row in the same order.
    async fn debit_batch(
        &self,
        requests: &[&DebitRequest],
    ) -> Result<Vec<DebitOutcome>, StoreError> {
        let keys: Vec<&str> = requests.iter().map(|r| r.api_key.as_str()).collect();
        let models: Vec<&str> = requests.iter().map(|r| r.model.as_str()).collect();
        let costs = requests
            .iter()
            .map(|r| to_i64(r.cost, "cost"))
            .collect::<Result<Vec<i64>, _>>()?;
        let nows: Vec<i64> = requests.iter().map(|r| r.now).collect();
        let rows = self
            .query(&self.sql.debit_batch, &[&keys, &models, &costs, &nows])
            .await?;
        rows.iter()
            .map(|row| {
                let status: i32 = row.try_get(0).map_err(pg_error)?;
                let used = to_u64(row.try_get(1).map_err(pg_error)?);
                let total = to_u64(row.try_get(2).map_err(pg_error)?);
                Ok(match status {
                    0 => DebitOutcome::NotFound,
                    1 => DebitOutcome::Expired,
                    2 => DebitOutcome::Exhausted {
                        used_quota: used,
                        total_quota: total,
                    },
                    3 => DebitOutcome::Debited {
                        used_quota: used,
                        total_quota: total,
                    },
                    other => {
                        return Err(StoreError::Backend(format!(
                            "PostgreSQL debit batch: unknown status {other}"
                        )))
                    }
                })
            })
            .collect()
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
        client.query(&statement, params).await.map_err(pg_error)
    }

    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
        client.execute(&statement, params).await.map_err(pg_error)
    }
}

async fn apply_migrations(pool: &Pool, schema: &str, prefix: &str) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await.map_err(pg_error)?;
    // Two instances starting together would otherwise race on CREATE SCHEMA / CREATE TABLE.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        &[&format!("gcli2api-migrations:{prefix}")],
    )
    .await
    .map_err(pg_error)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
             version int PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now());"
    ))
    .await
    .map_err(pg_error)?;
    let applied: Vec<i32> = tx
        .query(
            &format!("SELECT version FROM {schema}.schema_migrations"),
            &[],
        )
        .await
        .map_err(pg_error)?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(pg_error)?;
    for (version, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        tx.batch_execute(&sql.replace("{s}", schema))
            .await
            .map_err(pg_error)?;
        tx.execute(
            &format!("INSERT INTO {schema}.schema_migrations (version) VALUES ($1)"),
            &[version],
        )
        .await
        .map_err(pg_error)?;
        log::info!("PostgreSQL schema {schema}: applied migration {version}");
    }
    tx.commit().await.map_err(pg_error)
}

#[async_trait]
impl Store for PostgresStore {
    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn load_credentials(&self) -> Result<Vec<CredentialRecord>, StoreError> {
        self.query(&self.sql.load_credentials, &[])
            .await?
            .iter()
            .map(credential_from_row)
            .collect()
    }

    async fn get_credential(&self, name: &str) -> Result<Option<CredentialRecord>, StoreError> {
        self.query(&self.sql.get_credential, &[&name])
            .await?
            .first()
            .map(credential_from_row)
            .transpose()
    }

    async fn put_credential(&self, record: &CredentialRecord) -> Result<(), StoreError> {
        let credential = Value::Object(record.credential.clone());
        let state = json(&record.state, "credential state")?;
        self.execute(
            &self.sql.put_credential,
            &[&record.name, &credential, &state, &record.kind.as_str()],
        )
        .await
        .map(|_| ())
    }

    async fn delete_credential(&self, name: &str) -> Result<bool, StoreError> {
        let rows = self.query(&self.sql.delete_credential, &[&name]).await?;
        let removed: i64 = match rows.first() {
            Some(row) => row.try_get(0).map_err(pg_error)?,
            None => 0,
        };
        Ok(removed > 0)
    }

    async fn credentials_generation(&self) -> Result<u64, StoreError> {
        let rows = self.query(&self.sql.generation, &[]).await?;
        match rows.first() {
            Some(row) => Ok(to_u64(row.try_get(0).map_err(pg_error)?)),
            None => Ok(0),
        }
    }

    async fn load_config(&self) -> Result<Map<String, Value>, StoreError> {
        self.query(&self.sql.load_config, &[])
            .await?
            .iter()
            .map(|row| {
                let key: String = row.try_get(0).map_err(pg_error)?;
                let value: Value = row.try_get(1).map_err(pg_error)?;
                Ok((key, value))
            })
            .collect()
    }

    async fn save_config(&self, changes: &Map<String, Value>) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let upsert = tx
            .prepare_cached(&self.sql.upsert_config)
            .await
            .map_err(pg_error)?;
        let delete = tx
            .prepare_cached(&self.sql.delete_config)
            .await
            .map_err(pg_error)?;
        for (key, value) in changes {
            if value.is_null() {
                tx.execute(&delete, &[key]).await.map_err(pg_error)?;
            } else {
                tx.execute(&upsert, &[key, value]).await.map_err(pg_error)?;
            }
        }
        tx.commit().await.map_err(pg_error)
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.query(&self.sql.list_keys, &[])
            .await?
            .iter()
            .map(key_from_row)
            .collect()
    }

    async fn get_key(&self, api_key: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.query(&self.sql.get_key, &[&api_key])
            .await?
            .first()
            .map(key_from_row)
            .transpose()
    }

    async fn insert_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let total = to_i64(record.total_quota, "total_quota")?;
        let used = to_i64(record.used_quota, "used_quota")?;
        for (model, used) in &record.model_stats {
            to_i64(*used, &format!("model_stats[{model}]"))?;
        }
        let model_stats = json(&record.model_stats, "model_stats")?;
        let allowed_models = json(&record.allowed_models, "allowed_models")?;
        let policy = json(&record.policy, "policy")?;
        let max_concurrent = record
            .max_concurrent
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        let inserted = self
            .execute(
                &self.sql.insert_key,
                &[
                    &record.key_hash,
                    &total,
                    &used,
                    &record.created_at,
                    &record.description,
                    &model_stats,
                    &allowed_models,
                    &max_concurrent,
                    &record.expires_at,
                    &record.prefix,
                    &policy,
                ],
            )
            .await?;
        if inserted == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "API key {}",
                crate::key_id::id_of_hash(&record.key_hash)
            )))
        }
    }

    async fn update_key(&self, record: &ApiKeyRecord) -> Result<bool, StoreError> {
        let total = to_i64(record.total_quota, "total_quota")?;
        let allowed_models = json(&record.allowed_models, "allowed_models")?;
        let policy = json(&record.policy, "policy")?;
        let max_concurrent = record
            .max_concurrent
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        let updated = self
            .execute(
                &self.sql.update_key,
                &[
                    &record.key_hash,
                    &total,
                    &record.description,
                    &allowed_models,
                    &max_concurrent,
                    &record.expires_at,
                    &policy,
                ],
            )
            .await?;
        Ok(updated > 0)
    }

    async fn charge_windows(
        &self,
        api_key: &str,
        charges: &[WindowCharge],
        cost: u64,
    ) -> Result<WindowVerdict, StoreError> {
        windows::charge(
            &self.pool,
            &self.windows,
            &self.schema,
            api_key,
            charges,
            cost,
        )
        .await
    }

    async fn uncharge_windows(
        &self,
        api_key: &str,
        charges: &[WindowCharge],
        cost: u64,
    ) -> Result<(), StoreError> {
        windows::uncharge(&self.pool, &self.windows, api_key, charges, cost).await
    }

    async fn add_window_tokens(
        &self,
        api_key: &str,
        charges: &[WindowCharge],
        tokens: u64,
    ) -> Result<(), StoreError> {
        windows::add_tokens(&self.pool, &self.windows, api_key, charges, tokens).await
    }

    async fn window_usage(
        &self,
        api_key: &str,
        charges: &[WindowCharge],
    ) -> Result<Vec<WindowUse>, StoreError> {
        windows::usage(&self.pool, &self.windows, api_key, charges).await
    }

    async fn delete_key(&self, api_key: &str) -> Result<bool, StoreError> {
        Ok(self.execute(&self.sql.delete_key, &[&api_key]).await? > 0)
    }

    async fn debit_key(
        &self,
        api_key: &str,
        model: &str,
        cost: u64,
        now: i64,
    ) -> Result<DebitOutcome, StoreError> {
        let cost = to_i64(cost, "cost")?;
        let rows = self
            .query(&self.sql.debit, &[&api_key, &cost, &model, &now])
            .await?;
        if let Some(row) = rows.first() {
            return Ok(DebitOutcome::Debited {
                used_quota: to_u64(row.try_get(0).map_err(pg_error)?),
                total_quota: to_u64(row.try_get(1).map_err(pg_error)?),
            });
        }
        // Nothing taken: find out why.
        let rows = self.query(&self.sql.key_balance, &[&api_key]).await?;
        let Some(row) = rows.first() else {
            return Ok(DebitOutcome::NotFound);
        };
        let used: i64 = row.try_get(0).map_err(pg_error)?;
        let total: i64 = row.try_get(1).map_err(pg_error)?;
        let expires_at: Option<i64> = row.try_get(2).map_err(pg_error)?;
        if expires_at.is_some_and(|at| at <= now) {
            return Ok(DebitOutcome::Expired);
        }
        Ok(DebitOutcome::Exhausted {
            used_quota: to_u64(used),
            total_quota: to_u64(total),
        })
    }

    async fn debit_keys(&self, requests: &[DebitRequest]) -> Vec<Result<DebitOutcome, StoreError>> {
        if requests.is_empty() {
            return Vec::new();
        }
        // Row locks are taken in key order, so two instances' batches never deadlock; a stable sort
        // keeps each key's own debits in arrival order, which is all its outcomes depend on.
        let mut order: Vec<usize> = (0..requests.len()).collect();
        order.sort_by(|a, b| {
            let key = |i: &usize| requests.get(*i).map(|r| r.api_key.as_str());
            key(a).cmp(&key(b))
        });
        let sorted: Vec<&DebitRequest> = order.iter().filter_map(|i| requests.get(*i)).collect();
        let rows = match self.debit_batch(&sorted).await {
            Ok(rows) if rows.len() == requests.len() => rows,
            Ok(_) => {
                return StoreError::Backend("PostgreSQL debit batch: wrong row count".into())
                    .for_each(requests.len())
            }
            Err(e) => return e.for_each(requests.len()),
        };
        let mut outcomes: Vec<Result<DebitOutcome, StoreError>> = (0..requests.len())
            .map(|_| Err(StoreError::Backend(String::new())))
            .collect();
        for (i, row) in order.into_iter().zip(rows) {
            if let Some(slot) = outcomes.get_mut(i) {
                *slot = Ok(row);
            }
        }
        outcomes
    }

    async fn refund_key(&self, api_key: &str, model: &str, cost: u64) -> Result<(), StoreError> {
        let cost = to_i64(cost, "cost")?;
        self.execute(&self.sql.refund, &[&api_key, &cost, &model])
            .await
            .map(|_| ())
    }

    async fn load_model_costs(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        self.query(&self.sql.load_costs, &[])
            .await?
            .iter()
            .map(|row| {
                let model: String = row.try_get(0).map_err(pg_error)?;
                let cost: i64 = row.try_get(1).map_err(pg_error)?;
                Ok((model, to_u64(cost)))
            })
            .collect()
    }

    async fn set_model_cost(&self, model: &str, cost: u64) -> Result<(), StoreError> {
        let cost = to_i64(cost, "cost")?;
        self.execute(&self.sql.set_cost, &[&model, &cost])
            .await
            .map(|_| ())
    }

    async fn delete_model_cost(&self, model: &str) -> Result<bool, StoreError> {
        Ok(self.execute(&self.sql.delete_cost, &[&model]).await? > 0)
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl_ms: u64) -> Result<bool, StoreError> {
        // f64 is exact for every TTL anyone would use.
        let ttl_ms = ttl_ms as f64;
        let rows = self
            .query(&self.sql.try_lease, &[&name, &holder, &ttl_ms])
            .await?;
        Ok(!rows.is_empty())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.execute(&self.sql.release_lease, &[&name, &holder])
            .await
            .map(|_| ())
    }

    async fn put_insight(&self, name: &str, insight: &CredentialInsight) -> Result<(), StoreError> {
        let body = json(insight, "credential insight")?;
        self.execute(&self.sql.put_insight, &[&name, &body])
            .await
            .map(|_| ())
    }

    async fn get_insight(&self, name: &str) -> Result<Option<CredentialInsight>, StoreError> {
        let rows = self.query(&self.sql.get_insight, &[&name]).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let corrupt =
            |e: String| StoreError::Corrupt(format!("PostgreSQL insight of `{name}`: {e}"));
        let body: Value = row.try_get(0).map_err(|e| corrupt(e.to_string()))?;
        serde_json::from_value(body)
            .map(Some)
            .map_err(|e| corrupt(e.to_string()))
    }

    async fn delete_insight(&self, name: &str) -> Result<(), StoreError> {
        self.execute(&self.sql.delete_insight, &[&name])
            .await
            .map(|_| ())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let body = json(entry, "audit entry")?;
        let action = entry.action.as_str();
        self.execute(
            &self.sql.append_audit,
            &[&entry.id, &entry.time, &action, &body],
        )
        .await
        .map(|_| ())
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let before = query.before.unwrap_or(i64::MAX);
        let action = query.action.map(|a| a.as_str().to_string());
        let limit = i64::try_from(query.bounded_limit()).unwrap_or(i64::MAX);
        let rows = self
            .query(&self.sql.list_audit, &[&before, &action, &limit])
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            let body: Value = row
                .try_get(0)
                .map_err(|e| StoreError::Corrupt(format!("PostgreSQL audit entry: {e}")))?;
            if let Ok(entry) = serde_json::from_value(body) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    async fn prune_audit(&self, before: i64, keep: usize) -> Result<u64, StoreError> {
        let old = self.execute(&self.sql.prune_audit_age, &[&before]).await?;
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let over = self.execute(&self.sql.prune_audit_count, &[&keep]).await?;
        Ok(old + over)
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.pool.close();
        Ok(())
    }

    async fn add_login_failure(
        &self,
        address: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<Option<LoginFailures>, StoreError> {
        let rows = self
            .query(&self.sessions.add_failure, &[&address, &now, &window_secs])
            .await?;
        sessions::failures_from(&rows).map(Some)
    }

    async fn login_failures(
        &self,
        address: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<Option<LoginFailures>, StoreError> {
        let rows = self
            .query(&self.sessions.failures, &[&address, &now, &window_secs])
            .await?;
        sessions::failures_from(&rows).map(Some)
    }

    async fn clear_login_failures(&self, address: &str) -> Result<(), StoreError> {
        self.execute(&self.sessions.clear_failures, &[&address])
            .await
            .map(|_| ())
    }

    async fn revoke_session(&self, jti: &str, until: i64) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp();
        self.execute(&self.sessions.revoke, &[&jti, &until, &now])
            .await
            .map(|_| ())
    }

    async fn is_session_revoked(&self, jti: &str, now: i64) -> Result<bool, StoreError> {
        let rows = self.query(&self.sessions.is_revoked, &[&jti, &now]).await?;
        Ok(!rows.is_empty())
    }

    async fn add_counters(
        &self,
        sheet: &str,
        deltas: &BTreeMap<String, u64>,
    ) -> Result<(), StoreError> {
        if deltas.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = deltas.keys().map(String::as_str).collect();
        let values = deltas
            .values()
            .map(|n| to_i64(*n, "counter"))
            .collect::<Result<Vec<i64>, _>>()?;
        self.execute(&self.counters.add, &[&sheet, &names, &values])
            .await
            .map(|_| ())
    }

    async fn load_counters(&self, sheet: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        let rows = self.query(&self.counters.load, &[&sheet]).await?;
        let mut out = BTreeMap::new();
        for row in &rows {
            let name: String = row.try_get(0).map_err(pg_error)?;
            let value: i64 = row.try_get(1).map_err(pg_error)?;
            out.insert(name, to_u64(value));
        }
        Ok(out)
    }

    async fn remove_counters(&self, sheet: &str, names: &[String]) -> Result<(), StoreError> {
        if names.is_empty() {
            return Ok(());
        }
        self.execute(&self.counters.remove, &[&sheet, &names])
            .await
            .map(|_| ())
    }
}
