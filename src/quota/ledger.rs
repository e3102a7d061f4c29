//! The counts of the debits in flight, shared by every request worker under one short lock (held for
//! a few map updates, never across an await): which keys' concurrency slots are taken, which debits
//! the store has not answered, and which wait, parked, for an earlier debit of their key.
//!
//! Plain state: no queue, no store I/O. `Debits` takes the lock around it; the tests below drive it
//! directly.

use std::collections::{BTreeMap, HashMap};

use super::admission::QueuedDebit;
use super::error::QuotaError;

#[derive(Default)]
pub(super) struct Ledger {
    /// Configured costs (model → cost); defaults apply to everything else.
    pub(super) costs: BTreeMap<String, u64>,
    /// Requests of each key with a concurrency limit admitted and not yet ended (a failed debit
    /// ends its request).
    in_flight: HashMap<String, u32>,
    /// Debits of each key admitted and not yet answered by the store.
    unsettled: HashMap<String, u32>,
    /// Of those, the ones admitted with `overlap`: Google was promised their balance.
    overlapped: HashMap<String, u32>,
    /// Debits of a key admitted without `overlap` while some of its overlapped ones are unanswered:
    /// they go to a queue once those are answered (see [`Ledger::place`]).
    parked: HashMap<String, Vec<QueuedDebit>>,
}

impl Ledger {
    pub(super) fn with_costs(costs: BTreeMap<String, u64>) -> Self {
        Self {
            costs,
            ..Self::default()
        }
    }

    /// Whether `key` may start one more request under its concurrency limit `max`.
    pub(super) fn has_free_slot(&self, key: &str, max: Option<u32>) -> Result<(), QuotaError> {
        match max {
            Some(max) if self.in_flight.get(key).copied().unwrap_or(0) >= max => {
                Err(QuotaError::TooManyConcurrent(max))
            }
            _ => Ok(()),
        }
    }

    /// Takes one of `key`'s concurrency slots when it is limited (`max`), and counts one more debit
    /// of it unanswered. Answers whether a slot was taken and how many debits of the key are now
    /// unanswered, this one included.
    pub(super) fn take(&mut self, key: &str, max: Option<u32>) -> Result<(bool, u32), QuotaError> {
        // Only a limited key counts its requests: for the others nothing needs telling when a
        // request ends.
        if let Some(max) = max {
            let in_flight = self.in_flight.entry(key.to_string()).or_default();
            if *in_flight >= max {
                if *in_flight == 0 {
                    self.in_flight.remove(key);
                }
                return Err(QuotaError::TooManyConcurrent(max));
            }
            *in_flight += 1;
        }
        let unsettled = self.unsettled.entry(key.to_string()).or_default();
        *unsettled += 1;
        Ok((max.is_some(), *unsettled))
    }

    /// Where an admitted debit goes next: answered `Some` when it may go to a queue now, `None` when
    /// it was parked.
    ///
    /// An overlapped debit was promised the balance it saw, which counted every debit of the key
    /// admitted before it; debits admitted after it are not counted, so none of them may reach the
    /// store first. The workers' queues do not keep order between them, so a debit admitted without
    /// overlap waits, parked, until the key has no overlapped debit unanswered. (An overlapped debit
    /// admitted later counted every unanswered one, parked or not: it may go in any order.)
    pub(super) fn place(&mut self, debit: QueuedDebit) -> Option<QueuedDebit> {
        let key = &debit.request.api_key;
        if debit.overlap {
            *self.overlapped.entry(key.clone()).or_default() += 1;
            Some(debit)
        } else if self.overlapped.contains_key(key) {
            self.parked.entry(key.clone()).or_default().push(debit);
            None
        } else {
            Some(debit)
        }
    }

    /// The store answered one debit of `key` (`overlap` as admitted, `holds_slot` as taken, `refused`
    /// whether the store or a failure refused it): its counts go down, a refused debit ends its
    /// request and frees its slot. Answers the debits of the key that may go to a queue now.
    pub(super) fn answered(
        &mut self,
        key: &str,
        overlap: bool,
        holds_slot: bool,
        refused: bool,
    ) -> Vec<QueuedDebit> {
        count_down(&mut self.unsettled, key);
        if refused && holds_slot {
            count_down(&mut self.in_flight, key);
        }
        if overlap && count_down(&mut self.overlapped, key) {
            return self.parked.remove(key).unwrap_or_default();
        }
        Vec::new()
    }

    /// Ends one request of `key`: frees its concurrency slot.
    pub(super) fn release(&mut self, key: &str) {
        count_down(&mut self.in_flight, key);
    }

    /// A deleted key: its in-flight count goes with it.
    pub(super) fn forget(&mut self, key: &str) {
        self.in_flight.remove(key);
    }

    /// Requests of `key` holding a concurrency slot.
    #[cfg(test)]
    pub(super) fn in_flight(&self, key: &str) -> u32 {
        self.in_flight.get(key).copied().unwrap_or(0)
    }
}

/// Takes one from `key`'s count; answers whether it reached zero (and was removed).
fn count_down(counts: &mut HashMap<String, u32>, key: &str) -> bool {
    let Some(n) = counts.get_mut(key) else {
        return false;
    };
    *n = n.saturating_sub(1);
    if *n == 0 {
        counts.remove(key);
        return true;
    }
    false
}
