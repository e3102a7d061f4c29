//! Work a request leaves behind when it ends (a quota refund): it must not hold up the request, yet a
//! graceful stop must not drop it. Each task runs on the system arbiter, which outlives the HTTP
//! workers (a worker's runtime, and every task on it, goes when the worker stops), and is counted until
//! it ends, so the stop can wait for the count to reach zero. Work that runs on a worker's own thread
//! (a batch of debits at the store) is counted too, with [`DetachedTasks::hold`], and moves here if
//! its worker stops first.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct DetachedTasks(Arc<Inner>);

#[derive(Default)]
struct Inner {
    running: AtomicUsize,
    idle: Notify,
}

/// Counts one task from its spawn until it ends or is dropped.
struct Running(Arc<Inner>);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// One piece of work counted by [`DetachedTasks::hold`].
pub struct Held {
    _running: Running,
}

impl DetachedTasks {
    /// Runs `task` detached; `what` names it in the log if it cannot run at all.
    pub fn spawn<F>(&self, what: &str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.running.fetch_add(1, Ordering::AcqRel);
        let running = Running(self.0.clone());
        let task = async move {
            task.await;
            drop(running);
        };
        if let Some(system) = actix_rt::System::try_current() {
            if system.arbiter().spawn(task) {
                return;
            }
            // The arbiter stopped (the task and its count were dropped with the refusal).
            log::error!("{what} dropped: the system arbiter has stopped");
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(task);
            }
            Err(_) => log::error!("{what} dropped: no runtime to run it on"),
        }
    }

    /// Counts work running elsewhere as one of these tasks until the answer is dropped, so a
    /// graceful stop waits for it as well. Hand it to the task that takes the work over (drop it
    /// after [`DetachedTasks::spawn`]) and the count never touches zero in between.
    pub fn hold(&self) -> Held {
        self.0.running.fetch_add(1, Ordering::AcqRel);
        Held {
            _running: Running(self.0.clone()),
        }
    }

    /// Tasks spawned and not yet ended.
    pub fn running(&self) -> usize {
        self.0.running.load(Ordering::Acquire)
    }

    /// Waits until every task ended, at most `limit`; answers how many are still running.
    pub async fn drain(&self, limit: Duration) -> usize {
        let wait = async {
            loop {
                let idle = self.0.idle.notified();
                if self.running() == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
        self.running()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn drain_waits_for_every_task() {
        let tasks = DetachedTasks::default();
        let done = Arc::new(AtomicUsize::new(0));
        for i in 0..3u64 {
            let done = done.clone();
            tasks.spawn("test task", async move {
                tokio::time::sleep(Duration::from_millis(10 * i)).await;
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        assert_eq!(tasks.drain(Duration::from_secs(5)).await, 0);
        assert_eq!(done.load(Ordering::SeqCst), 3);
    }

    #[actix_rt::test]
    async fn held_work_counts_until_dropped() {
        let tasks = DetachedTasks::default();
        let held = tasks.hold();
        assert_eq!(tasks.drain(Duration::from_millis(10)).await, 1);
        drop(held);
        assert_eq!(tasks.drain(Duration::from_secs(5)).await, 0);
    }
}
