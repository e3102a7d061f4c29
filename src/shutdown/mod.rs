//! A graceful stop, in the order a rolling deploy needs it: on SIGTERM or SIGINT `/readyz` answers 503
//! at once and every answer carries `Connection: close`, while the listener keeps serving for
//! `SHUTDOWN_READY_DELAY` (load balancers notice the probe); then the listener closes and in-flight
//! requests and streams get `SHUTDOWN_TIMEOUT` to finish. Streams still open then end with their
//! dialect's error event (never a silent cut). Detached work (quota refunds) is drained, and the
//! caller flushes counters and logs before exiting 0. A second signal stops at once.
//!
//! [`Shutdown`] is the state every worker reads (one atomic load per request); [`signals`] drives the
//! sequence.

pub mod detached;
pub mod signals;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

pub use detached::DetachedTasks;

/// Where the gateway is in its stop, shared by every worker.
pub struct Shutdown {
    draining: AtomicBool,
    /// A second signal cut the stop short.
    forced: AtomicBool,
    /// Turns `true` when streams still open must end (the `SHUTDOWN_TIMEOUT` ran out).
    streams_end: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self {
            draining: AtomicBool::new(false),
            forced: AtomicBool::new(false),
            streams_end: watch::Sender::new(false),
        }
    }
}

impl Shutdown {
    /// Whether a stop has begun: not ready, and connections close after their current answer.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn note_forced(&self) {
        self.forced.store(true, Ordering::Relaxed);
    }

    /// Whether a second signal stopped the server at once.
    pub fn was_forced(&self) -> bool {
        self.forced.load(Ordering::Relaxed)
    }

    /// Tells every open stream to end now, with an error event.
    pub fn end_streams(&self) {
        self.streams_end.send_replace(true);
    }

    /// Resolves once [`Shutdown::end_streams`] was called (at once if it already was).
    pub fn streams_ended(&self) -> impl Future<Output = ()> + 'static {
        let mut rx = self.streams_end.subscribe();
        async move {
            // An error means the sender is gone with the gateway: nothing will end the stream then.
            if rx.wait_for(|ended| *ended).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn streams_end_only_when_told_and_late_listeners_hear_it_too() {
        let shutdown = Shutdown::default();
        assert!(!shutdown.is_draining());
        let early = shutdown.streams_ended();
        let waited = tokio::time::timeout(std::time::Duration::from_millis(20), early).await;
        assert!(waited.is_err(), "ended before end_streams");
        shutdown.start_draining();
        assert!(shutdown.is_draining());
        let waiting = shutdown.streams_ended();
        shutdown.end_streams();
        waiting.await;
        shutdown.streams_ended().await;
    }
}
