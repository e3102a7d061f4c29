//! Window counters on PostgreSQL (table `key_windows` of migration 10): a row per key, slot and
//! bucket. A charge is one transaction that takes the key's advisory lock, reads the slots' rows in
//! the window, decides with [`charge_books`] (the same arithmetic as every backend) and writes the
//! counts, so instances sharing the database never let more through than a limit allows.

use std::collections::BTreeSet;

use deadpool_postgres::{GenericClient, Pool};

use super::{pg_error, pool_error, to_i64, to_u64};
use crate::store::windows::{charge_books, Counts, SlotBook};
use crate::store::{StoreError, WindowCharge, WindowUse, WindowVerdict};

pub(super) struct WindowSql {
    lock: String,
    read: String,
    trim: String,
    add: String,
    take_back: String,
}

impl WindowSql {
    pub fn new(s: &str) -> Self {
        Self {
            lock: "SELECT pg_advisory_xact_lock(hashtext($1))".into(),
            // Newer buckets than the caller's own count too (see `SlotBook::check`).
            read: format!(
                "SELECT bucket, requests, cost, tokens FROM {s}.key_windows
                 WHERE api_key = $1 AND slot = $2 AND bucket >= $3"
            ),
            trim: format!(
                "DELETE FROM {s}.key_windows WHERE api_key = $1 AND slot = $2 AND bucket < $3"
            ),
            add: format!(
                "INSERT INTO {s}.key_windows AS w (api_key, slot, bucket, requests, cost, tokens)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (api_key, slot, bucket) DO UPDATE SET
                   requests = w.requests + EXCLUDED.requests,
                   cost = w.cost + EXCLUDED.cost,
                   tokens = w.tokens + EXCLUDED.tokens"
            ),
            take_back: format!(
                "UPDATE {s}.key_windows SET requests = GREATEST(requests - 1, 0),
                   cost = GREATEST(cost - $4, 0)
                 WHERE api_key = $1 AND slot = $2 AND bucket = $3"
            ),
        }
    }
}

/// The rows of `charge`'s slot in its window, as the book a charge decides on and the usage shows:
/// read inside the charge's transaction or on a plain connection.
async fn read_book(
    client: &impl GenericClient,
    sql: &WindowSql,
    api_key: &str,
    charge: &WindowCharge,
) -> Result<SlotBook, StoreError> {
    let rows = client
        .query(sql.read.as_str(), &[&api_key, &charge.slot, &charge.from])
        .await
        .map_err(pg_error)?;
    let mut book = SlotBook::default();
    for row in rows {
        let bucket: i64 = row.try_get(0).map_err(pg_error)?;
        let counts = Counts {
            requests: to_u64(row.try_get(1).map_err(pg_error)?),
            cost: to_u64(row.try_get(2).map_err(pg_error)?),
            tokens: to_u64(row.try_get(3).map_err(pg_error)?),
        };
        book.buckets.insert(bucket, counts);
    }
    Ok(book)
}

fn distinct(charges: &[WindowCharge]) -> Vec<&WindowCharge> {
    let mut seen = BTreeSet::new();
    charges
        .iter()
        .filter(|c| seen.insert(c.slot.as_str()))
        .collect()
}

pub(super) async fn charge(
    pool: &Pool,
    sql: &WindowSql,
    schema: &str,
    api_key: &str,
    charges: &[WindowCharge],
    cost: u64,
) -> Result<WindowVerdict, StoreError> {
    let cost_i = to_i64(cost, "cost")?;
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute(sql.lock.as_str(), &[&format!("{schema}:win:{api_key}")])
        .await
        .map_err(pg_error)?;
    let mut books = Vec::with_capacity(charges.len());
    for c in charges {
        books.push(read_book(&tx, sql, api_key, c).await?);
    }
    let verdict = charge_books(&mut books, charges, cost);
    if verdict == WindowVerdict::Charged {
        for c in distinct(charges) {
            tx.execute(
                sql.add.as_str(),
                &[&api_key, &c.slot, &c.bucket, &1i64, &cost_i, &0i64],
            )
            .await
            .map_err(pg_error)?;
            tx.execute(sql.trim.as_str(), &[&api_key, &c.slot, &c.from])
                .await
                .map_err(pg_error)?;
        }
    }
    tx.commit().await.map_err(pg_error)?;
    Ok(verdict)
}

pub(super) async fn uncharge(
    pool: &Pool,
    sql: &WindowSql,
    api_key: &str,
    charges: &[WindowCharge],
    cost: u64,
) -> Result<(), StoreError> {
    let cost = to_i64(cost, "cost")?;
    let client = pool.get().await.map_err(pool_error)?;
    for c in distinct(charges) {
        client
            .execute(
                sql.take_back.as_str(),
                &[&api_key, &c.slot, &c.bucket, &cost],
            )
            .await
            .map_err(pg_error)?;
    }
    Ok(())
}

pub(super) async fn add_tokens(
    pool: &Pool,
    sql: &WindowSql,
    api_key: &str,
    charges: &[WindowCharge],
    tokens: u64,
) -> Result<(), StoreError> {
    let tokens = to_i64(tokens, "tokens")?;
    let client = pool.get().await.map_err(pool_error)?;
    for c in distinct(charges) {
        client
            .execute(
                sql.add.as_str(),
                &[&api_key, &c.slot, &c.bucket, &0i64, &0i64, &tokens],
            )
            .await
            .map_err(pg_error)?;
    }
    Ok(())
}

pub(super) async fn usage(
    pool: &Pool,
    sql: &WindowSql,
    api_key: &str,
    charges: &[WindowCharge],
) -> Result<Vec<WindowUse>, StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    let mut out = Vec::with_capacity(charges.len());
    for c in charges {
        let book = read_book(&client, sql, api_key, c).await?;
        out.push(book.usage(c.from, i64::MAX));
    }
    Ok(out)
}
