//! Redis backend (`REDIS_URI`, database `REDIS_DATABASE`). Keys, all under `<prefix>:`:
//!
//! | key | type | content |
//! |---|---|---|
//! | `credentials` | hash | name → JSON [`CredentialRecord`] |
//! | `cred_generation` | string | counter, `INCR`'d atomically with every credential write |
//! | `config` | hash | key → JSON value |
//! | `api_keys` | hash | key hash → JSON [`ApiKeyRecord`] without `used_quota` / `model_stats` |
//! | `api_key_used` | hash | key hash → used quota (integer) |
//! | `api_key_models:<key hash>` | hash | model → quota used by it |
//! | `model_costs` | hash | model → cost |
//! | `lease:<name>` | string | holder, with a `PX` expiry |
//! | `insight:<name>` | string | JSON [`CredentialInsight`] of the credential `name` |
//! | `counters:<sheet>` | hash | counter name → value, added to by every instance (`HINCRBY`) |
//! | `login_failures:<address>` | sorted set | failed panel logins (scored by time), expiring with the window |
//! | `revoked:<jti>` | string | a logged-out panel session, expiring with the session |
//! | `audit` | sorted set | JSON [`AuditEntry`] scored by its time (unix ms) |
//! | `win:<key>:<slot>` | hash | a key's window counters, `<bucket>:r/c/t` → amount (`redis/windows.rs`) |
//!
//! The counters sit in hashes of their own so the debit script changes them with `HINCRBY` and never
//! re-encodes the key's JSON (Lua's cjson would turn `[]` into `{}` and big integers into floats).
//! The script only reads `total_quota` and `expires_at` from that JSON, exactly up to 2^53.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::AsyncConnectionConfig;
use ::redis::{AsyncCommands, Client, IntoConnectionInfo, RedisError, Script};
use async_trait::async_trait;
use serde_json::{Map, Value};

mod counters;
mod sessions;
mod windows;

use super::tls::redis_tls::{diagnose, explain_redis_error, RedisTls};
use super::{
    ApiKeyRecord, AuditEntry, AuditQuery, CredentialInsight, CredentialRecord, DebitOutcome,
    DebitRequest, LoginFailures, Store, StoreError, WindowCharge, WindowUse, WindowVerdict,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// KEYS: credentials, generation. ARGV: name. Bumps the generation only when something was deleted.
const DELETE_CREDENTIAL: &str = r"
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if removed == 1 then redis.call('INCR', KEYS[2]) end
return removed
";

/// KEYS: api_keys, api_key_used, api_key_models:<key>. ARGV: key, JSON, used, then model/used pairs.
const INSERT_KEY: &str = r"
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('DEL', KEYS[3])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
return 1
";

/// KEYS: api_keys. ARGV: key, JSON. Replaces the settings of an existing key only.
const UPDATE_KEY: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
";

/// KEYS: api_keys, api_key_used, api_key_models:<key>. ARGV: key, model, cost, now.
/// Returns {0} not found, {1} expired, {2, used, total} exhausted, {3, used, total} debited.
const DEBIT: &str = r"
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {0} end
local record = cjson.decode(raw)
local now = tonumber(ARGV[4])
if type(record.expires_at) == 'number' and record.expires_at <= now then return {1} end
local total = tonumber(record.total_quota) or 0
local used = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if total - used < tonumber(ARGV[3]) then return {2, used, total} end
used = redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[3], ARGV[2], ARGV[3])
return {3, used, total}
";

/// [`DEBIT`] for a batch, in order. KEYS: api_keys, api_key_used, then api_key_models:<key> of each
/// debit. ARGV: key, model, cost, now of each debit. Returns three numbers a debit, as DEBIT's
/// reply padded with zeros. Each key's JSON is decoded once a batch.
const DEBIT_BATCH: &str = r"
local out = {}
local records = {}
for i = 1, #KEYS - 2 do
  local a = 4 * (i - 1)
  local key, model, cost, now = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local record = records[key]
  if record == nil then
    local raw = redis.call('HGET', KEYS[1], key)
    record = raw and cjson.decode(raw) or false
    records[key] = record
  end
  local status, used, total = 0, 0, 0
  if record then
    total = tonumber(record.total_quota) or 0
    used = tonumber(redis.call('HGET', KEYS[2], key) or '0')
    if type(record.expires_at) == 'number' and record.expires_at <= now then
      status, used, total = 1, 0, 0
    elseif total - used < cost then
      status = 2
    else
      used = redis.call('HINCRBY', KEYS[2], key, ARGV[a + 3])
      redis.call('HINCRBY', KEYS[i + 2], model, ARGV[a + 3])
      status = 3
    end
  end
  out[#out + 1] = status
  out[#out + 1] = used
  out[#out + 1] = total
end
return out
";

/// KEYS: api_keys, api_key_used, api_key_models:<key>. ARGV: key, model, cost.
/// Decrements are formatted with `%d`: Lua's default number format would send `-0` or `1e+15`,
/// which `HINCRBY` refuses.
const REFUND: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local cost = tonumber(ARGV[3])
local function give_back(key, field, current)
  local amount = math.min(cost, tonumber(current))
  if amount > 0 then redis.call('HINCRBY', key, field, string.format('%d', -amount)) end
end
give_back(KEYS[2], ARGV[1], redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local model = redis.call('HGET', KEYS[3], ARGV[2])
if model then give_back(KEYS[3], ARGV[2], model) end
return 1
";

/// KEYS: lease. ARGV: holder, ttl ms. Takes a free lease or renews one held by the same holder.
const TRY_LEASE: &str = r"
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// KEYS: lease. ARGV: holder.
const RELEASE_LEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

struct Scripts {
    delete_credential: Script,
    insert_key: Script,
    update_key: Script,
    debit: Script,
    debit_batch: Script,
    refund: Script,
    try_lease: Script,
    release_lease: Script,
    windows: windows::WindowScripts,
}

pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    scripts: Scripts,
}

async fn probe(client: &Client) -> Result<(), RedisError> {
    let mut connection = client
        .get_multiplexed_async_connection_with_config(
            &AsyncConnectionConfig::new()
                .set_connection_timeout(CONNECT_TIMEOUT)
                .set_response_timeout(RESPONSE_TIMEOUT),
        )
        .await?;
    let _: String = ::redis::cmd("PING").query_async(&mut connection).await?;
    Ok(())
}

impl RedisStore {
    /// Connects and checks the server answers; `database` overrides the URI's own index.
    /// `tls` are the certificate settings of a `rediss://` URI (refused with a `redis://` one).
    pub async fn open(
        uri: &str,
        database: i64,
        prefix: &str,
        tls: &RedisTls,
    ) -> Result<Self, StoreError> {
        let unreachable = |e: &RedisError| {
            StoreError::Unavailable(format!("Redis: {}", explain_redis_error(e, tls)))
        };
        let mut info = uri.into_connection_info().map_err(|e| unreachable(&e))?;
        info.redis.db = database;
        let tls_uri = matches!(info.addr, ::redis::ConnectionAddr::TcpTls { .. });
        let certificates = tls
            .certificates(tls_uri)
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let client = if tls_uri {
            Client::build_with_tls(info, certificates)
        } else {
            Client::open(info)
        }
        .map_err(|e| unreachable(&e))?;
        // One direct attempt first: the manager's own retries would hide a dead server for seconds.
        if let Err(e) = probe(&client).await {
            let text = diagnose(&client, &e, tls, CONNECT_TIMEOUT, RESPONSE_TIMEOUT).await;
            return Err(StoreError::Unavailable(format!("Redis: {text}")));
        }
        // Reconnects wait ~1 s, then ~2 s: the manager's default base of 100 would mean minutes.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_factor(2)
            .set_max_delay(2000)
            .set_number_of_retries(2);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| unreachable(&e))?;
        Ok(Self {
            connection,
            prefix: prefix.to_string(),
            scripts: Scripts {
                delete_credential: Script::new(DELETE_CREDENTIAL),
                insert_key: Script::new(INSERT_KEY),
                update_key: Script::new(UPDATE_KEY),
                debit: Script::new(DEBIT),
                debit_batch: Script::new(DEBIT_BATCH),
                refund: Script::new(REFUND),
                try_lease: Script::new(TRY_LEASE),
                release_lease: Script::new(RELEASE_LEASE),
                windows: windows::WindowScripts::default(),
            },
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    fn models_key(&self, api_key: &str) -> String {
        format!("{}:api_key_models:{api_key}", self.prefix)
    }

    fn lease_key(&self, name: &str) -> String {
        format!("{}:lease:{name}", self.prefix)
    }

    /// A key per credential rather than one hash: a snapshot is written whole, read one at a time.
    fn insight_key(&self, name: &str) -> String {
        format!("{}:insight:{name}", self.prefix)
    }

    /// The manager reconnects by itself; each call works on a cheap clone.
    /// The hash of one key's window slot.
    fn window_key(&self, api_key: &str) -> impl Fn(&str) -> String {
        let base = self.key(&format!("win:{api_key}"));
        move |slot: &str| format!("{base}:{slot}")
    }

    fn conn(&self) -> ConnectionManager {
        self.connection.clone()
    }
}

fn redis_error(e: RedisError) -> StoreError {
    if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() {
        StoreError::Unavailable(format!("Redis: {e}"))
    } else {
        StoreError::Backend(format!("Redis: {e}"))
    }
}

/// The reply of [`DEBIT`], or one debit's three numbers of [`DEBIT_BATCH`].
fn debit_outcome(reply: &[i64]) -> Result<DebitOutcome, StoreError> {
    let number = |i: usize| {
        reply
            .get(i)
            .and_then(|n| u64::try_from(*n).ok())
            .ok_or_else(|| StoreError::Backend("Redis debit script: short reply".into()))
    };
    match reply.first() {
        Some(0) => Ok(DebitOutcome::NotFound),
        Some(1) => Ok(DebitOutcome::Expired),
        Some(2) => Ok(DebitOutcome::Exhausted {
            used_quota: number(1)?,
            total_quota: number(2)?,
        }),
        Some(3) => Ok(DebitOutcome::Debited {
            used_quota: number(1)?,
            total_quota: number(2)?,
        }),
        _ => Err(StoreError::Backend(
            "Redis debit script: unexpected reply".into(),
        )),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("serialise: {e}")))
}

fn parse_credential(name: &str, raw: &str) -> Result<CredentialRecord, StoreError> {
    serde_json::from_str(raw)
        .map_err(|e| StoreError::Corrupt(format!("Redis credential `{name}`: {e}")))
}

/// The key's JSON without its counters, which live in their own hashes.
fn static_key_json(record: &ApiKeyRecord) -> Result<String, StoreError> {
    let mut value = serde_json::to_value(record)
        .map_err(|e| StoreError::Backend(format!("serialise API key: {e}")))?;
    if let Value::Object(map) = &mut value {
        map.remove("used_quota");
        map.remove("model_stats");
    }
    to_json(&value)
}

fn assemble_key(
    raw: &str,
    used: Option<u64>,
    models: HashMap<String, u64>,
) -> Result<ApiKeyRecord, StoreError> {
    let corrupt = |e: serde_json::Error| {
        StoreError::Corrupt(format!("Redis API key record is unreadable: {e}"))
    };
    let mut value: Value = serde_json::from_str(raw).map_err(corrupt)?;
    if let Value::Object(map) = &mut value {
        map.insert("used_quota".into(), Value::from(used.unwrap_or(0)));
        let stats: Map<String, Value> = models
            .into_iter()
            .map(|(model, used)| (model, Value::from(used)))
            .collect();
        map.insert("model_stats".into(), Value::Object(stats));
    }
    serde_json::from_value(value).map_err(corrupt)
}

#[async_trait]
impl Store for RedisStore {
    fn backend_name(&self) -> &'static str {
        "redis"
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn load_credentials(&self) -> Result<Vec<CredentialRecord>, StoreError> {
        let all: HashMap<String, String> = self
            .conn()
            .hgetall(self.key("credentials"))
            .await
            .map_err(redis_error)?;
        let mut records = all
            .iter()
            .map(|(name, raw)| parse_credential(name, raw))
            .collect::<Result<Vec<_>, _>>()?;
        records.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(records)
    }

    async fn get_credential(&self, name: &str) -> Result<Option<CredentialRecord>, StoreError> {
        let raw: Option<String> = self
            .conn()
            .hget(self.key("credentials"), name)
            .await
            .map_err(redis_error)?;
        raw.map(|raw| parse_credential(name, &raw)).transpose()
    }

    async fn put_credential(&self, record: &CredentialRecord) -> Result<(), StoreError> {
        let json = to_json(record)?;
        let _: () = ::redis::pipe()
            .atomic()
            .hset(self.key("credentials"), &record.name, json)
            .ignore()
            .incr(self.key("cred_generation"), 1)
            .ignore()
            .query_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    async fn delete_credential(&self, name: &str) -> Result<bool, StoreError> {
        let removed: i64 = self
            .scripts
            .delete_credential
            .key(self.key("credentials"))
            .key(self.key("cred_generation"))
            .arg(name)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok(removed == 1)
    }

    async fn credentials_generation(&self) -> Result<u64, StoreError> {
        let generation: Option<u64> = self
            .conn()
            .get(self.key("cred_generation"))
            .await
            .map_err(redis_error)?;
        Ok(generation.unwrap_or(0))
    }

    async fn load_config(&self) -> Result<Map<String, Value>, StoreError> {
        let all: HashMap<String, String> = self
            .conn()
            .hgetall(self.key("config"))
            .await
            .map_err(redis_error)?;
        let mut keys: Vec<_> = all.into_iter().collect();
        keys.sort();
        keys.into_iter()
            .map(|(key, raw)| {
                let value = serde_json::from_str(&raw)
                    .map_err(|e| StoreError::Corrupt(format!("Redis config `{key}`: {e}")))?;
                Ok((key, value))
            })
            .collect()
    }

    async fn save_config(&self, changes: &Map<String, Value>) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let config = self.key("config");
        let mut pipe = ::redis::pipe();
        pipe.atomic();
        for (key, value) in changes {
            if value.is_null() {
                pipe.hdel(&config, key).ignore();
            } else {
                pipe.hset(&config, key, to_json(value)?).ignore();
            }
        }
        let _: () = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let (records, used): (HashMap<String, String>, HashMap<String, u64>) = ::redis::pipe()
            .atomic()
            .hgetall(self.key("api_keys"))
            .hgetall(self.key("api_key_used"))
            .query_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        let mut names: Vec<&String> = records.keys().collect();
        names.sort();
        let mut pipe = ::redis::pipe();
        for name in &names {
            pipe.hgetall(self.models_key(name));
        }
        let models: Vec<HashMap<String, u64>> = if names.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut self.conn())
                .await
                .map_err(redis_error)?
        };
        let mut keys = names
            .iter()
            .zip(models)
            .filter_map(|(name, models)| {
                records
                    .get(*name)
                    .map(|raw| assemble_key(raw, used.get(*name).copied(), models))
            })
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| (a.created_at, &a.key_hash).cmp(&(b.created_at, &b.key_hash)));
        Ok(keys)
    }

    async fn get_key(&self, api_key: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let (raw, used, models): (Option<String>, Option<u64>, HashMap<String, u64>) =
            ::redis::pipe()
                .atomic()
                .hget(self.key("api_keys"), api_key)
                .hget(self.key("api_key_used"), api_key)
                .hgetall(self.models_key(api_key))
                .query_async(&mut self.conn())
                .await
                .map_err(redis_error)?;
        raw.map(|raw| assemble_key(&raw, used, models)).transpose()
    }

    async fn insert_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut invocation = self.scripts.insert_key.prepare_invoke();
        invocation
            .key(self.key("api_keys"))
            .key(self.key("api_key_used"))
            .key(self.models_key(&record.key_hash))
            .arg(&record.key_hash)
            .arg(static_key_json(record)?)
            .arg(record.used_quota);
        for (model, used) in &record.model_stats {
            invocation.arg(model).arg(*used);
        }
        let inserted: i64 = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
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
        let updated: i64 = self
            .scripts
            .update_key
            .key(self.key("api_keys"))
            .arg(&record.key_hash)
            .arg(static_key_json(record)?)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok(updated == 1)
    }

    async fn charge_windows(
        &self,
        api_key: &str,
        charges: &[WindowCharge],
        cost: u64,
    ) -> Result<WindowVerdict, StoreError> {
        let slot = self.window_key(api_key);
        windows::charge(self.conn(), &self.scripts.windows, slot, charges, cost).await
    }

    async fn uncharge_windows(
        &self,
        api_key: &str,
        charges: &[WindowCharge],
        cost: u64,
    ) -> Result<(), StoreError> {
        let slot = self.window_key(api_key);
        windows::uncharge(self.conn(), &self.scripts.windows, slot, charges, cost).await
    }

    async fn add_window_tokens(
        &self,
        api_key: &str,
        charges: &[WindowCharge],
        tokens: u64,
    ) -> Result<(), StoreError> {
        windows::add_tokens(self.conn(), self.window_key(api_key), charges, tokens).await
    }

    async fn window_usage(
        &self,
        api_key: &str,
        charges: &[WindowCharge],
    ) -> Result<Vec<WindowUse>, StoreError> {
        windows::usage(self.conn(), self.window_key(api_key), charges).await
    }

    async fn delete_key(&self, api_key: &str) -> Result<bool, StoreError> {
        let (removed,): (i64,) = ::redis::pipe()
            .atomic()
            .hdel(self.key("api_keys"), api_key)
            .hdel(self.key("api_key_used"), api_key)
            .ignore()
            .del(self.models_key(api_key))
            .ignore()
            .query_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok(removed == 1)
    }

    async fn debit_key(
        &self,
        api_key: &str,
        model: &str,
        cost: u64,
        now: i64,
    ) -> Result<DebitOutcome, StoreError> {
        let reply: Vec<i64> = self
            .scripts
            .debit
            .key(self.key("api_keys"))
            .key(self.key("api_key_used"))
            .key(self.models_key(api_key))
            .arg(api_key)
            .arg(model)
            .arg(cost)
            .arg(now)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        debit_outcome(&reply)
    }

    async fn debit_keys(&self, requests: &[DebitRequest]) -> Vec<Result<DebitOutcome, StoreError>> {
        if requests.is_empty() {
            return Vec::new();
        }
        let mut invocation = self.scripts.debit_batch.prepare_invoke();
        invocation
            .key(self.key("api_keys"))
            .key(self.key("api_key_used"));
        for r in requests {
            invocation
                .key(self.models_key(&r.api_key))
                .arg(&r.api_key)
                .arg(&r.model)
                .arg(r.cost)
                .arg(r.now);
        }
        let reply: Vec<i64> = match invocation.invoke_async(&mut self.conn()).await {
            Ok(reply) => reply,
            Err(e) => return redis_error(e).for_each(requests.len()),
        };
        if reply.len() != requests.len() * 3 {
            return StoreError::Backend("Redis debit batch script: short reply".into())
                .for_each(requests.len());
        }
        reply.chunks(3).map(debit_outcome).collect()
    }

    async fn refund_key(&self, api_key: &str, model: &str, cost: u64) -> Result<(), StoreError> {
        let _: i64 = self
            .scripts
            .refund
            .key(self.key("api_keys"))
            .key(self.key("api_key_used"))
            .key(self.models_key(api_key))
            .arg(api_key)
            .arg(model)
            .arg(cost)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    async fn load_model_costs(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let all: HashMap<String, u64> = self
            .conn()
            .hgetall(self.key("model_costs"))
            .await
            .map_err(redis_error)?;
        Ok(all.into_iter().collect())
    }

    async fn set_model_cost(&self, model: &str, cost: u64) -> Result<(), StoreError> {
        let _: () = self
            .conn()
            .hset(self.key("model_costs"), model, cost)
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    async fn delete_model_cost(&self, model: &str) -> Result<bool, StoreError> {
        let removed: i64 = self
            .conn()
            .hdel(self.key("model_costs"), model)
            .await
            .map_err(redis_error)?;
        Ok(removed == 1)
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl_ms: u64) -> Result<bool, StoreError> {
        let taken: i64 = self
            .scripts
            .try_lease
            .key(self.lease_key(name))
            .arg(holder)
            // `PX 0` is an error; a zero TTL means "gone at once" anyway.
            .arg(ttl_ms.max(1))
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok(taken == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .scripts
            .release_lease
            .key(self.lease_key(name))
            .arg(holder)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    async fn put_insight(&self, name: &str, insight: &CredentialInsight) -> Result<(), StoreError> {
        let _: () = self
            .conn()
            .set(self.insight_key(name), to_json(insight)?)
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    async fn get_insight(&self, name: &str) -> Result<Option<CredentialInsight>, StoreError> {
        let raw: Option<String> = self
            .conn()
            .get(self.insight_key(name))
            .await
            .map_err(redis_error)?;
        raw.map(|raw| {
            serde_json::from_str(&raw)
                .map_err(|e| StoreError::Corrupt(format!("Redis insight of `{name}`: {e}")))
        })
        .transpose()
    }

    async fn delete_insight(&self, name: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .conn()
            .del(self.insight_key(name))
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    async fn add_login_failure(
        &self,
        address: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<Option<LoginFailures>, StoreError> {
        let key = self.key(&format!("login_failures:{address}"));
        sessions::add_failure(self.conn(), &key, now, window_secs)
            .await
            .map(Some)
    }

    async fn login_failures(
        &self,
        address: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<Option<LoginFailures>, StoreError> {
        let key = self.key(&format!("login_failures:{address}"));
        sessions::failures(self.conn(), &key, now, window_secs)
            .await
            .map(Some)
    }

    async fn clear_login_failures(&self, address: &str) -> Result<(), StoreError> {
        let key = self.key(&format!("login_failures:{address}"));
        sessions::clear_failures(self.conn(), &key).await
    }

    async fn revoke_session(&self, jti: &str, until: i64) -> Result<(), StoreError> {
        sessions::revoke(self.conn(), &self.key(&format!("revoked:{jti}")), until).await
    }

    async fn is_session_revoked(&self, jti: &str, _now: i64) -> Result<bool, StoreError> {
        sessions::is_revoked(self.conn(), &self.key(&format!("revoked:{jti}"))).await
    }

    async fn add_counters(
        &self,
        sheet: &str,
        deltas: &BTreeMap<String, u64>,
    ) -> Result<(), StoreError> {
        counters::add(self.conn(), &self.key(&format!("counters:{sheet}")), deltas).await
    }

    async fn load_counters(&self, sheet: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        counters::load(self.conn(), &self.key(&format!("counters:{sheet}"))).await
    }

    async fn remove_counters(&self, sheet: &str, names: &[String]) -> Result<(), StoreError> {
        counters::remove(self.conn(), &self.key(&format!("counters:{sheet}")), names).await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let _: i64 = self
            .conn()
            .zadd(self.key("audit"), to_json(entry)?, entry.time)
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        // Newest first by score, a page at a time, until the limit is met after the action filter
        // (the set is bounded by pruning, so the walk is too).
        const PAGE: usize = 500;
        let limit = query.bounded_limit();
        let max = query
            .before
            .map_or_else(|| "+inf".to_string(), |b| format!("({b}"));
        let mut found = Vec::new();
        let mut offset = 0usize;
        loop {
            let page: Vec<String> = ::redis::cmd("ZREVRANGEBYSCORE")
                .arg(self.key("audit"))
                .arg(&max)
                .arg("-inf")
                .arg("LIMIT")
                .arg(offset)
                .arg(PAGE)
                .query_async(&mut self.conn())
                .await
                .map_err(redis_error)?;
            let done = page.len() < PAGE;
            offset += page.len();
            for raw in page {
                if let Ok(entry) = serde_json::from_str::<AuditEntry>(&raw) {
                    if query.matches(&entry) {
                        found.push(entry);
                    }
                }
            }
            if done || found.len() >= limit {
                break;
            }
        }
        Ok(super::audit::select(found, query))
    }

    async fn prune_audit(&self, before: i64, keep: usize) -> Result<u64, StoreError> {
        let key = self.key("audit");
        let old: i64 = ::redis::cmd("ZREMRANGEBYSCORE")
            .arg(&key)
            .arg("-inf")
            .arg(format!("({before}"))
            .query_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        // Ranks count from the oldest: everything below the newest `keep`.
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let over: i64 = ::redis::cmd("ZREMRANGEBYRANK")
            .arg(&key)
            .arg(0)
            .arg(-keep.saturating_add(1))
            .query_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok(u64::try_from(old.saturating_add(over)).unwrap_or(0))
    }
}
