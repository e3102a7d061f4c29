//! Counters on PostgreSQL (table `counters` of migration 7): one row per sheet and name, added to by an
//! upsert, so every instance's additions land.

/// The SQL of the counter operations, with the schema filled in once.
pub(super) struct CounterSql {
    pub add: String,
    pub load: String,
    pub remove: String,
}

impl CounterSql {
    pub fn new(s: &str) -> Self {
        Self {
            add: format!(
                "INSERT INTO {s}.counters AS c (sheet, name, value)
                 SELECT $1, n, v FROM unnest($2::text[], $3::bigint[]) AS t(n, v)
                 ON CONFLICT (sheet, name) DO UPDATE SET value = c.value + EXCLUDED.value"
            ),
            load: format!("SELECT name, value FROM {s}.counters WHERE sheet = $1"),
            remove: format!("DELETE FROM {s}.counters WHERE sheet = $1 AND name = ANY($2)"),
        }
    }
}
