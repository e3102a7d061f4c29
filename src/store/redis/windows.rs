//! Window counters on Redis (`store::windows`): one hash per key and slot
//! (`win:<key>:<slot>`), a field per bucket and amount (`<bucket>:r`, `:c`, `:t`), expiring with the
//! window. The check and the charge are one script, so instances sharing the store never let more
//! through than a limit allows; the script is [`charge_books`] in Lua.
//!
//! [`charge_books`]: crate::store::windows::charge_books

use std::collections::{BTreeSet, HashMap};

use ::redis::aio::ConnectionManager;
use ::redis::{AsyncCommands, Script};

use super::redis_error;
use crate::store::windows::{Counts, SlotBook};
use crate::store::{StoreError, WindowCharge, WindowUse, WindowVerdict};

/// KEYS: one slot hash per charge. ARGV: cost, then bucket, from, ttl, request, cost and token
/// limits (-1: none) of each charge. Returns {1} charged, or {0, index, found, frees_at}.
const CHARGE: &str = r"
local cost = tonumber(ARGV[1])
for i = 1, #KEYS do
  local a = 1 + 6 * (i - 1)
  local bucket, from = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local rl, cl, tl = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  local flat = redis.call('HGETALL', KEYS[i])
  local rows, stale, order = {}, {}, {}
  local ur, uc, ut = 0, 0, 0
  for j = 1, #flat, 2 do
    local b, kind = string.match(flat[j], '^(-?%d+):(%a)$')
    b = tonumber(b)
    if b then
      if b < from then
        stale[#stale + 1] = flat[j]
      else
        local row = rows[b]
        if row == nil then row = {0, 0, 0}; rows[b] = row; order[#order + 1] = b end
        local v = tonumber(flat[j + 1]) or 0
        if kind == 'r' then row[1] = row[1] + v; ur = ur + v
        elseif kind == 'c' then row[2] = row[2] + v; uc = uc + v
        else row[3] = row[3] + v; ut = ut + v end
      end
    end
  end
  if #stale > 0 then redis.call('HDEL', KEYS[i], unpack(stale)) end
  local function fits(r, c, t)
    return (rl < 0 or r + 1 <= rl) and (cl < 0 or c + cost <= cl) and (tl < 0 or t < tl)
  end
  if not fits(ur, uc, ut) then
    table.sort(order)
    for _, b in ipairs(order) do
      local row = rows[b]
      ur, uc, ut = ur - row[1], uc - row[2], ut - row[3]
      if b < bucket and fits(ur, uc, ut) then return {0, i - 1, 1, b} end
    end
    return {0, i - 1, 0, 0}
  end
end
local seen = {}
for i = 1, #KEYS do
  if not seen[KEYS[i]] then
    seen[KEYS[i]] = true
    local a = 1 + 6 * (i - 1)
    redis.call('HINCRBY', KEYS[i], ARGV[a + 1] .. ':r', 1)
    if cost > 0 then redis.call('HINCRBY', KEYS[i], ARGV[a + 1] .. ':c', cost) end
    redis.call('EXPIRE', KEYS[i], ARGV[a + 3])
  end
end
return {1}
";

/// KEYS: slot hashes (each once). ARGV: cost, then the bucket of each. Never below zero.
const UNCHARGE: &str = r"
local cost = tonumber(ARGV[1])
for i = 1, #KEYS do
  local b = ARGV[i + 1]
  local r = tonumber(redis.call('HGET', KEYS[i], b .. ':r') or '0')
  if r > 0 then redis.call('HINCRBY', KEYS[i], b .. ':r', -1) end
  local c = math.min(cost, tonumber(redis.call('HGET', KEYS[i], b .. ':c') or '0'))
  if c > 0 then redis.call('HINCRBY', KEYS[i], b .. ':c', string.format('%d', -c)) end
end
return 1
";

pub(super) struct WindowScripts {
    charge: Script,
    uncharge: Script,
}

impl Default for WindowScripts {
    fn default() -> Self {
        Self {
            charge: Script::new(CHARGE),
            uncharge: Script::new(UNCHARGE),
        }
    }
}

fn limit(value: Option<u64>) -> i64 {
    value.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// The charges with their slot's hash name, each slot once.
fn distinct<'a>(
    slot_key: &impl Fn(&str) -> String,
    charges: &'a [WindowCharge],
) -> Vec<(String, &'a WindowCharge)> {
    let mut seen = BTreeSet::new();
    charges
        .iter()
        .filter(|c| seen.insert(c.slot.as_str()))
        .map(|c| (slot_key(&c.slot), c))
        .collect()
}

pub(super) async fn charge(
    mut conn: ConnectionManager,
    scripts: &WindowScripts,
    slot_key: impl Fn(&str) -> String,
    charges: &[WindowCharge],
    cost: u64,
) -> Result<WindowVerdict, StoreError> {
    let mut invocation = scripts.charge.prepare_invoke();
    invocation.arg(cost);
    for c in charges {
        invocation
            .key(slot_key(&c.slot))
            .arg(c.bucket)
            .arg(c.from)
            .arg(c.ttl_secs.max(1))
            .arg(limit(c.requests))
            .arg(limit(c.cost))
            .arg(limit(c.tokens));
    }
    let reply: Vec<i64> = invocation
        .invoke_async(&mut conn)
        .await
        .map_err(redis_error)?;
    match reply.as_slice() {
        [1] => Ok(WindowVerdict::Charged),
        [0, index, found, bucket] => Ok(WindowVerdict::Refused {
            index: usize::try_from(*index).unwrap_or(0),
            frees_at: (*found == 1).then_some(*bucket),
        }),
        _ => Err(StoreError::Backend(
            "Redis window script: unexpected reply".into(),
        )),
    }
}

pub(super) async fn uncharge(
    mut conn: ConnectionManager,
    scripts: &WindowScripts,
    slot_key: impl Fn(&str) -> String,
    charges: &[WindowCharge],
    cost: u64,
) -> Result<(), StoreError> {
    let mut invocation = scripts.uncharge.prepare_invoke();
    invocation.arg(cost);
    for (key, c) in distinct(&slot_key, charges) {
        invocation.key(key).arg(c.bucket);
    }
    let _: i64 = invocation
        .invoke_async(&mut conn)
        .await
        .map_err(redis_error)?;
    Ok(())
}

pub(super) async fn add_tokens(
    mut conn: ConnectionManager,
    slot_key: impl Fn(&str) -> String,
    charges: &[WindowCharge],
    tokens: u64,
) -> Result<(), StoreError> {
    let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
    let mut pipe = ::redis::pipe();
    pipe.atomic();
    for (key, c) in distinct(&slot_key, charges) {
        pipe.hincr(&key, format!("{}:t", c.bucket), tokens)
            .ignore()
            .expire(&key, c.ttl_secs.max(1))
            .ignore();
    }
    let _: () = pipe.query_async(&mut conn).await.map_err(redis_error)?;
    Ok(())
}

pub(super) async fn usage(
    mut conn: ConnectionManager,
    slot_key: impl Fn(&str) -> String,
    charges: &[WindowCharge],
) -> Result<Vec<WindowUse>, StoreError> {
    let mut out = Vec::with_capacity(charges.len());
    for c in charges {
        let flat: HashMap<String, i64> =
            conn.hgetall(slot_key(&c.slot)).await.map_err(redis_error)?;
        out.push(book_of(&flat).usage(c.from, i64::MAX));
    }
    Ok(out)
}

fn book_of(flat: &HashMap<String, i64>) -> SlotBook {
    let mut book = SlotBook::default();
    for (field, value) in flat {
        let Some((bucket, kind)) = field.split_once(':') else {
            continue;
        };
        let (Ok(bucket), Ok(value)) = (bucket.parse::<i64>(), u64::try_from(*value)) else {
            continue;
        };
        let counts: &mut Counts = book.buckets.entry(bucket).or_default();
        match kind {
            "r" => counts.requests = value,
            "c" => counts.cost = value,
            "t" => counts.tokens = value,
            _ => {}
        }
    }
    book
}
