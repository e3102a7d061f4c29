//! The per-instance cap on open Responses WebSocket connections (`RESPONSES_WS_MAX_CONNECTIONS`).
//!
//! A connection holds a [`SocketPass`] for its whole life; the pass gives its place back when dropped,
//! so a connection that ends any way (closed, timed out, its actor stopped) frees its place. The count
//! is one atomic shared by all workers of the instance; the `/metrics` gauge follows it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use prometheus::IntGauge;

#[derive(Debug, Default)]
pub struct SocketGate {
    open: AtomicUsize,
}

impl SocketGate {
    /// A place for one more connection, or `None` when `max` are open.
    pub fn enter(self: &Arc<Self>, max: usize, gauge: IntGauge) -> Option<SocketPass> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        gauge.inc();
        Some(SocketPass {
            gate: self.clone(),
            gauge,
        })
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

/// One connection's place; given back on drop.
#[derive(Debug)]
pub struct SocketPass {
    gate: Arc<SocketGate>,
    gauge: IntGauge,
}

impl Drop for SocketPass {
    fn drop(&mut self) {
        self.gate.open.fetch_sub(1, Ordering::AcqRel);
        self.gauge.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_capped_and_given_back() {
        let gate = Arc::new(SocketGate::default());
        let gauge = IntGauge::new("g", "g").unwrap();
        let a = gate.enter(2, gauge.clone()).unwrap();
        let _b = gate.enter(2, gauge.clone()).unwrap();
        assert!(gate.enter(2, gauge.clone()).is_none());
        assert_eq!(gauge.get(), 2);
        drop(a);
        assert_eq!(gate.open(), 1);
        assert_eq!(gauge.get(), 1);
        assert!(gate.enter(2, gauge.clone()).is_some());
    }
}
