//! Where finished requests leave their traces for the `RequestHistory`, without a message per request:
//! the worker that finishes a request pushes its trace here, and only the first push since the history
//! last took the queue asks it (one message) to take it a moment later. Every query to the history takes
//! the queue first, so a query still sees every trace pushed before it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::observe::trace::TraceRecord;

#[derive(Default)]
pub struct TraceInbox {
    queue: Mutex<Vec<Arc<TraceRecord>>>,
    take_pending: AtomicBool,
}

impl TraceInbox {
    /// Queues a finished request's trace; answers whether the history must be asked to take the queue.
    pub fn push(&self, record: Arc<TraceRecord>) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
        !self.take_pending.swap(true, Ordering::AcqRel)
    }

    /// Everything queued, oldest first. The flag is cleared first, so a trace pushed after the take
    /// asks again rather than waiting in the queue.
    pub fn take(&self) -> Vec<Arc<TraceRecord>> {
        self.take_pending.store(false, Ordering::Release);
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> Arc<TraceRecord> {
        Arc::new(TraceRecord {
            id: id.to_string(),
            ..TraceRecord::default()
        })
    }

    #[test]
    fn only_the_first_push_after_a_take_asks_for_one() {
        let inbox = TraceInbox::default();
        assert!(inbox.push(record("a")));
        assert!(!inbox.push(record("b")));
        let ids: Vec<String> = inbox.take().iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(inbox.take().is_empty());
        assert!(inbox.push(record("c")));
    }
}
