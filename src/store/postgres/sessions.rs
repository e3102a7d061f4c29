//! Panel sessions shared by every instance on one PostgreSQL: failed logins per address and
//! logged-out sessions (tables of migration 6). Old rows are removed by the writes themselves, so both
//! tables hold at most one limiter window of failures and the sessions not yet expired.

use tokio_postgres::Row;

use super::pg_error;
use crate::store::{LoginFailures, StoreError};

/// The SQL of the session operations, with the schema filled in once.
pub(super) struct SessionSql {
    pub add_failure: String,
    pub failures: String,
    pub clear_failures: String,
    pub revoke: String,
    pub is_revoked: String,
}

impl SessionSql {
    pub fn new(s: &str) -> Self {
        Self {
            // One statement: the address's expired failures go, the new one is added, and the
            // window is counted with it.
            add_failure: format!(
                "WITH gone AS (DELETE FROM {s}.login_failures WHERE address = $1 AND at <= $2::bigint - $3::bigint),
                      added AS (INSERT INTO {s}.login_failures (address, at) VALUES ($1, $2::bigint)
                                RETURNING at)
                 SELECT count(*) + 1, LEAST(min(f.at), $2::bigint) FROM {s}.login_failures AS f
                 WHERE f.address = $1 AND f.at > $2::bigint - $3::bigint"
            ),
            failures: format!(
                "SELECT count(*), COALESCE(min(at), 0) FROM {s}.login_failures
                 WHERE address = $1 AND at > $2::bigint - $3::bigint"
            ),
            clear_failures: format!("DELETE FROM {s}.login_failures WHERE address = $1"),
            revoke: format!(
                "WITH gone AS (DELETE FROM {s}.revoked_sessions WHERE until <= $3)
                 INSERT INTO {s}.revoked_sessions (jti, until) VALUES ($1, $2::bigint)
                 ON CONFLICT (jti) DO UPDATE SET until = EXCLUDED.until"
            ),
            is_revoked: format!(
                "SELECT 1 FROM {s}.revoked_sessions WHERE jti = $1 AND until > $2"
            ),
        }
    }
}

/// `count, oldest` of a failures query.
pub(super) fn failures_from(rows: &[Row]) -> Result<LoginFailures, StoreError> {
    let Some(row) = rows.first() else {
        return Ok(LoginFailures {
            count: 0,
            oldest: 0,
        });
    };
    let count: i64 = row.try_get(0).map_err(pg_error)?;
    let oldest: Option<i64> = row.try_get(1).map_err(pg_error)?;
    Ok(LoginFailures {
        count: usize::try_from(count).unwrap_or(0),
        oldest: oldest.unwrap_or(0),
    })
}
