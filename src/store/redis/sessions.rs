//! Panel sessions shared by every instance on one Redis: failed logins per address (a sorted set of
//! attempt times that expires with the limiter's window) and logged-out sessions (a key per session
//! that expires when the session would have).

use ::redis::aio::ConnectionManager;
use ::redis::AsyncCommands;

use super::redis_error;
use crate::store::{LoginFailures, StoreError};

/// `(count, [(member, time)])` of the window's failures and its oldest one.
type Window = (usize, Vec<(String, f64)>);

fn window(reply: Window) -> LoginFailures {
    let (count, oldest) = reply;
    LoginFailures {
        count,
        oldest: oldest.first().map_or(0, |(_, at)| *at as i64),
    }
}

pub(super) async fn add_failure(
    mut conn: ConnectionManager,
    key: &str,
    now: i64,
    window_secs: i64,
) -> Result<LoginFailures, StoreError> {
    // Unique members: two failures in one second are two failures.
    let member = format!("{now}:{}", uuid::Uuid::new_v4().simple());
    let reply: Window = ::redis::pipe()
        .atomic()
        .zadd(key, member, now)
        .ignore()
        .zrembyscore(key, "-inf", now - window_secs)
        .ignore()
        .expire(key, window_secs.max(1))
        .ignore()
        .zcard(key)
        .zrange_withscores(key, 0, 0)
        .query_async(&mut conn)
        .await
        .map_err(redis_error)?;
    Ok(window(reply))
}

pub(super) async fn failures(
    mut conn: ConnectionManager,
    key: &str,
    now: i64,
    window_secs: i64,
) -> Result<LoginFailures, StoreError> {
    let after = format!("({}", now - window_secs);
    let reply: Window = ::redis::pipe()
        .zcount(key, &after, "+inf")
        .zrangebyscore_limit_withscores(key, &after, "+inf", 0, 1)
        .query_async(&mut conn)
        .await
        .map_err(redis_error)?;
    Ok(window(reply))
}

pub(super) async fn clear_failures(
    mut conn: ConnectionManager,
    key: &str,
) -> Result<(), StoreError> {
    let _: i64 = conn.del(key).await.map_err(redis_error)?;
    Ok(())
}

pub(super) async fn revoke(
    mut conn: ConnectionManager,
    key: &str,
    until: i64,
) -> Result<(), StoreError> {
    let _: () = ::redis::cmd("SET")
        .arg(key)
        .arg(1)
        .arg("EXAT")
        .arg(until.max(1))
        .query_async(&mut conn)
        .await
        .map_err(redis_error)?;
    Ok(())
}

pub(super) async fn is_revoked(mut conn: ConnectionManager, key: &str) -> Result<bool, StoreError> {
    conn.exists(key).await.map_err(redis_error)
}
