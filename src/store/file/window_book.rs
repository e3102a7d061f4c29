//! The files backend's window counters (`store::windows`), in memory.
//!
//! Why not in the journal: one process owns a files store, so a lock makes each charge atomic, and a
//! journal line per request would double the writes of every limited key. The cost: a restart
//! forgets the use counted in the windows in progress (a `1m` window is over before the gateway is
//! back; a `day` or `month` window starts again from zero). Shared stores (Redis, PostgreSQL) keep
//! them durably.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::store::windows::{charge_books, SlotBook};
use crate::store::{WindowCharge, WindowUse, WindowVerdict};

#[derive(Default)]
pub(super) struct WindowBooks {
    /// `<api key> <slot>` → its buckets.
    slots: Mutex<HashMap<String, SlotBook>>,
}

fn slot_key(api_key: &str, charge: &WindowCharge) -> String {
    format!("{api_key} {}", charge.slot)
}

impl WindowBooks {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, SlotBook>> {
        // Every update is a whole bucket change: nothing is left half done by a panic.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn charge(&self, api_key: &str, charges: &[WindowCharge], cost: u64) -> WindowVerdict {
        let mut slots = self.lock();
        let mut books: Vec<SlotBook> = charges
            .iter()
            .map(|c| {
                slots
                    .get(&slot_key(api_key, c))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        // Two limits of one slot must see one book: the first copy is the one kept.
        let verdict = charge_books(&mut books, charges, cost);
        if verdict == WindowVerdict::Charged {
            let mut written = std::collections::BTreeSet::new();
            for (charge, book) in charges.iter().zip(books) {
                if written.insert(charge.slot.as_str()) {
                    slots.insert(slot_key(api_key, charge), book);
                }
            }
        }
        verdict
    }

    pub fn uncharge(&self, api_key: &str, charges: &[WindowCharge], cost: u64) {
        let mut slots = self.lock();
        let mut done = std::collections::BTreeSet::new();
        for charge in charges {
            if done.insert(charge.slot.as_str()) {
                if let Some(book) = slots.get_mut(&slot_key(api_key, charge)) {
                    book.take_back(charge.bucket, 1, cost);
                }
            }
        }
    }

    pub fn add_tokens(&self, api_key: &str, charges: &[WindowCharge], tokens: u64) {
        let mut slots = self.lock();
        let mut done = std::collections::BTreeSet::new();
        for charge in charges {
            if done.insert(charge.slot.as_str()) {
                slots.entry(slot_key(api_key, charge)).or_default().add(
                    charge.bucket,
                    0,
                    0,
                    tokens,
                );
            }
        }
    }

    pub fn usage(&self, api_key: &str, charges: &[WindowCharge]) -> Vec<WindowUse> {
        let slots = self.lock();
        charges
            .iter()
            .map(|c| {
                slots
                    .get(&slot_key(api_key, c))
                    .map(|book| book.usage(c.from, i64::MAX))
                    .unwrap_or_default()
            })
            .collect()
    }
}
