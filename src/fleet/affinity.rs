//! The session → credential binding table, kept in the [`FleetView`](super::FleetView) under its short
//! choice lock (so choosing a credential stays on the worker's thread: no message, no await).
//!
//! A binding expires `ttl` seconds after its conversation's last request (sliding: an active
//! conversation keeps its credential) and the table holds at most `cap` bindings, forgetting the least
//! recently used first. Both bounds are enforced as bindings are used or made: expired bindings are
//! exactly the oldest ones, so they are dropped from the front of the use order in amortised O(1).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

struct Binding {
    credential: Arc<str>,
    last_used: i64,
    /// Position in `order`.
    seq: u64,
}

#[derive(Default)]
pub struct AffinityTable {
    bindings: HashMap<u128, Binding>,
    /// Use order: sequence number → session; the first entry is the least recently used.
    order: BTreeMap<u64, u128>,
    next_seq: u64,
}

impl AffinityTable {
    /// The credential the session is bound to, if the binding is still alive; marks it used.
    pub fn lookup(&mut self, session: u128, now: i64, ttl: i64) -> Option<Arc<str>> {
        self.expire(now, ttl);
        let seq = self.next_seq;
        let binding = self.bindings.get_mut(&session)?;
        self.order.remove(&binding.seq);
        binding.seq = seq;
        binding.last_used = now;
        self.order.insert(seq, session);
        self.next_seq += 1;
        Some(binding.credential.clone())
    }

    /// Binds (or rebinds) the session to `credential`, then enforces the bounds.
    pub fn bind(&mut self, session: u128, credential: Arc<str>, now: i64, ttl: i64, cap: usize) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(old) = self.bindings.insert(
            session,
            Binding {
                credential,
                last_used: now,
                seq,
            },
        ) {
            self.order.remove(&old.seq);
        }
        self.order.insert(seq, session);
        self.expire(now, ttl);
        while self.bindings.len() > cap.max(1) {
            if !self.pop_oldest() {
                break;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    pub fn clear(&mut self) {
        self.bindings.clear();
        self.order.clear();
    }

    /// Drops bindings unused for `ttl` seconds; they are at the front of the use order.
    fn expire(&mut self, now: i64, ttl: i64) {
        while let Some((_, session)) = self.order.first_key_value() {
            let expired = self
                .bindings
                .get(session)
                .is_none_or(|b| now.saturating_sub(b.last_used) >= ttl);
            if !expired || !self.pop_oldest() {
                break;
            }
        }
    }

    fn pop_oldest(&mut self) -> bool {
        match self.order.pop_first() {
            Some((_, session)) => {
                self.bindings.remove(&session);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: i64 = 3600;

    fn name(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn bindings_are_found_and_rebound() {
        let mut table = AffinityTable::default();
        assert_eq!(table.lookup(1, 0, TTL), None);
        table.bind(1, name("a"), 0, TTL, 10);
        table.bind(2, name("b"), 0, TTL, 10);
        assert_eq!(table.lookup(1, 5, TTL).as_deref(), Some("a"));
        table.bind(1, name("c"), 6, TTL, 10);
        assert_eq!(table.lookup(1, 7, TTL).as_deref(), Some("c"));
        assert_eq!(table.lookup(2, 7, TTL).as_deref(), Some("b"));
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn bindings_expire_after_the_ttl_since_last_use() {
        let mut table = AffinityTable::default();
        table.bind(1, name("a"), 0, TTL, 10);
        table.bind(2, name("b"), 0, TTL, 10);
        // Using session 1 keeps it alive; session 2 is not used and expires.
        assert_eq!(table.lookup(1, TTL - 1, TTL).as_deref(), Some("a"));
        assert_eq!(table.lookup(2, TTL, TTL), None);
        assert_eq!(table.len(), 1);
        assert_eq!(table.lookup(1, 2 * TTL - 2, TTL).as_deref(), Some("a"));
        assert_eq!(table.lookup(1, 3 * TTL, TTL), None);
        assert!(table.is_empty());
    }

    #[test]
    fn the_least_recently_used_binding_goes_first_past_the_cap() {
        let mut table = AffinityTable::default();
        table.bind(1, name("a"), 0, TTL, 3);
        table.bind(2, name("b"), 1, TTL, 3);
        table.bind(3, name("c"), 2, TTL, 3);
        assert!(table.lookup(1, 3, TTL).is_some());
        table.bind(4, name("d"), 4, TTL, 3);
        assert_eq!(table.len(), 3);
        assert_eq!(table.lookup(2, 5, TTL), None, "least recently used");
        for (session, credential) in [(1, "a"), (3, "c"), (4, "d")] {
            assert_eq!(table.lookup(session, 5, TTL).as_deref(), Some(credential));
        }
    }

    #[test]
    fn a_hundred_thousand_bindings_stay_bounded_and_fast() {
        let mut table = AffinityTable::default();
        let started = std::time::Instant::now();
        for session in 0..200_000u128 {
            table.bind(session, name("a"), 0, TTL, 100_000);
            let _ = table.lookup(session / 2, 0, TTL);
        }
        assert_eq!(table.len(), 100_000);
        assert_eq!(table.order.len(), 100_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
