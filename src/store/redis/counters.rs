//! Counters on Redis: one hash per sheet (`counters:<sheet>`), each counter a field added to with
//! `HINCRBY`, all of one call in one `MULTI`.

use std::collections::{BTreeMap, HashMap};

use ::redis::aio::ConnectionManager;
use ::redis::AsyncCommands;

use super::redis_error;
use crate::store::StoreError;

pub(super) async fn add(
    mut conn: ConnectionManager,
    key: &str,
    deltas: &BTreeMap<String, u64>,
) -> Result<(), StoreError> {
    if deltas.is_empty() {
        return Ok(());
    }
    let mut pipe = ::redis::pipe();
    pipe.atomic();
    for (name, n) in deltas {
        let n = i64::try_from(*n).unwrap_or(i64::MAX);
        pipe.hincr(key, name, n).ignore();
    }
    let _: () = pipe.query_async(&mut conn).await.map_err(redis_error)?;
    Ok(())
}

pub(super) async fn load(
    mut conn: ConnectionManager,
    key: &str,
) -> Result<BTreeMap<String, u64>, StoreError> {
    let all: HashMap<String, i64> = conn.hgetall(key).await.map_err(redis_error)?;
    Ok(all
        .into_iter()
        .map(|(k, v)| (k, u64::try_from(v).unwrap_or(0)))
        .collect())
}

pub(super) async fn remove(
    mut conn: ConnectionManager,
    key: &str,
    names: &[String],
) -> Result<(), StoreError> {
    if names.is_empty() {
        return Ok(());
    }
    let _: i64 = conn.hdel(key, names).await.map_err(redis_error)?;
    Ok(())
}
