//! Wall-clock time with an adjustable offset, so tests can cross a daily reset or a cooldown without
//! sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

#[derive(Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    /// Unix seconds.
    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.offset_secs.load(Ordering::Relaxed)
    }

    /// Unix milliseconds.
    pub fn now_millis(&self) -> i64 {
        self.now_datetime().timestamp_millis()
    }

    pub fn now_datetime(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}
