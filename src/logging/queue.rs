//! The lines waiting for the log thread: request threads append under a short lock (a copy of a line
//! already formatted), the log thread swaps the whole queue out at once. The thread is woken when the
//! queue stops being empty, when it grows large, and when someone waits for a flush; not per line.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::batch::LogBatch;

/// Bytes waiting at most; beyond this a burst drops lines (counted and reported) rather than growing
/// memory or making a request wait for the disk.
const MAX_PENDING_BYTES: usize = 8 << 20;
/// Waiting bytes that end the log thread's gathering window early.
const EARLY_BYTES: usize = 256 << 10;

/// Someone waiting until every line logged before they asked has been handed on.
pub(super) enum Waiter {
    Task(oneshot::Sender<()>),
    Thread(std::sync::mpsc::Sender<()>),
}

impl Waiter {
    pub(super) fn wake(self) {
        match self {
            Waiter::Task(tx) => drop(tx.send(())),
            Waiter::Thread(tx) => drop(tx.send(())),
        }
    }
}

#[derive(Default)]
pub(super) struct Pending {
    /// Formatted lines, not yet redacted.
    pub lines: LogBatch,
    /// Lines refused because the queue was full.
    pub dropped: u64,
    pub waiters: Vec<Waiter>,
}

impl Pending {
    fn is_idle(&self) -> bool {
        self.lines.is_empty() && self.dropped == 0 && self.waiters.is_empty()
    }
}

#[derive(Default)]
pub(super) struct LineQueue {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl LineQueue {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Nothing panics while holding the lock; a poisoned queue is still a queue.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn push(&self, line: &str) {
        let mut pending = self.lock();
        let before = pending.lines.bytes();
        if before + line.len() + 1 > MAX_PENDING_BYTES {
            pending.dropped += 1;
            return;
        }
        pending.lines.push(line);
        let wake = before == 0 || (before < EARLY_BYTES && pending.lines.bytes() >= EARLY_BYTES);
        drop(pending);
        if wake {
            self.wake.notify_one();
        }
    }

    pub(super) fn wait_for_flush(&self, waiter: Waiter) {
        self.lock().waiters.push(waiter);
        self.wake.notify_one();
    }

    /// Blocks until there is something to do, lets lines gather for up to `window` (less when many
    /// arrive or a flush is awaited), then swaps them into `into`, which must have been emptied.
    pub(super) fn take(&self, window: Duration, into: &mut Pending) {
        let mut pending = self.lock();
        while pending.is_idle() {
            pending = self
                .wake
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let deadline = Instant::now() + window;
        while pending.waiters.is_empty() && pending.lines.bytes() < EARLY_BYTES {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            pending = self
                .wake
                .wait_timeout(pending, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        std::mem::swap(&mut *pending, into);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_counts_what_it_drops_and_a_flush_ends_the_window() {
        let queue = LineQueue::default();
        let line = "x".repeat(1 << 20);
        for _ in 0..10 {
            queue.push(&line);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        queue.wait_for_flush(Waiter::Thread(tx));
        let mut taken = Pending::default();
        let started = Instant::now();
        queue.take(Duration::from_secs(30), &mut taken);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            taken.lines.len(),
            7,
            "8 MiB hold seven lines of 1 MiB + newline"
        );
        assert_eq!(taken.dropped, 3);
        for waiter in taken.waiters.drain(..) {
            waiter.wake();
        }
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn lines_gather_for_the_window() {
        let queue = LineQueue::default();
        queue.push("one");
        queue.push("two");
        let mut taken = Pending::default();
        let started = Instant::now();
        queue.take(Duration::from_millis(30), &mut taken);
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(taken.lines.text(), "one\ntwo\n");
    }
}
