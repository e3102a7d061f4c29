//! The files backend's window counters (`store::windows`): in memory, saved to `key_windows.state`.
//!
//! Why not in the journal: one process owns a files store, so a lock makes each charge atomic, and a
//! journal line per request would double the writes of every limited key. Instead the books are saved
//! whole, at most every [`SAVE_INTERVAL`] after they change (a change too soon after a save is saved
//! one interval later) and once more when the store closes, and read back at open: a restart keeps
//! the use of the windows in progress (a `day` or `month` window does not start again from zero); a
//! crash loses at most the last interval's charges.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::disk;
use crate::store::windows::{charge_books, SlotBook};
use crate::store::{WindowCharge, WindowUse, WindowVerdict};

/// The file the books are saved to (JSON), in the store's directory. Not `*.json`: loose `.json`
/// files there are credential uploads to import.
pub(super) const FILE_NAME: &str = "key_windows.state";
/// Longest time between a change and its save while charges keep coming.
pub(super) const SAVE_INTERVAL: Duration = Duration::from_secs(2);

/// One slot's buckets and when the slot stops mattering (wall clock, Unix seconds).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Slot {
    book: SlotBook,
    expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    slots: HashMap<String, Slot>,
}

pub(super) struct WindowBooks {
    /// `<key hash> <slot>` → its buckets.
    slots: Mutex<HashMap<String, Slot>>,
    /// Changed since the last snapshot was taken.
    dirty: AtomicBool,
    /// When the last snapshot was taken; `None` while one is being written.
    last_save: Mutex<Option<Instant>>,
    /// A later save is already scheduled for the changes that came too soon after the last one.
    pub(super) save_scheduled: AtomicBool,
}

fn slot_key(api_key: &str, charge: &WindowCharge) -> String {
    format!("{api_key} {}", charge.slot)
}

fn wall_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Default for WindowBooks {
    fn default() -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            dirty: AtomicBool::new(false),
            last_save: Mutex::new(Some(Instant::now())),
            save_scheduled: AtomicBool::new(false),
        }
    }
}

impl WindowBooks {
    /// The books saved in `dir`, without the slots that no longer matter. A missing file is an empty
    /// book; an unreadable one is logged and set aside (the windows start empty rather than the store
    /// refusing to open over counters).
    pub fn load(dir: &Path) -> Self {
        let books = Self::default();
        let path = dir.join(FILE_NAME);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return books,
            Err(e) => {
                log::warn!("key windows not read from {}: {e}", path.display());
                return books;
            }
        };
        match serde_json::from_slice::<Saved>(&bytes) {
            Ok(saved) => {
                let now = wall_now();
                let mut slots = books.lock();
                slots.extend(saved.slots.into_iter().filter(|(_, s)| s.expires_at > now));
            }
            Err(e) => log::warn!(
                "key windows in {} are unreadable, not used: {e}",
                path.display()
            ),
        }
        books
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        // Every update is a whole bucket change: nothing is left half done by a panic.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn last_save(&self) -> MutexGuard<'_, Option<Instant>> {
        // A plain value: nothing can be half written.
        self.last_save
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn touch(slot: &mut Slot, charge: &WindowCharge) {
        slot.expires_at = slot
            .expires_at
            .max(wall_now().saturating_add(charge.ttl_secs));
    }

    pub fn charge(&self, api_key: &str, charges: &[WindowCharge], cost: u64) -> WindowVerdict {
        let mut slots = self.lock();
        let mut books: Vec<SlotBook> = charges
            .iter()
            .map(|c| {
                slots
                    .get(&slot_key(api_key, c))
                    .map(|s| s.book.clone())
                    .unwrap_or_default()
            })
            .collect();
        // Two limits of one slot must see one book: the first copy is the one kept.
        let verdict = charge_books(&mut books, charges, cost);
        if verdict == WindowVerdict::Charged {
            let mut written = std::collections::BTreeSet::new();
            for (charge, book) in charges.iter().zip(books) {
                if written.insert(charge.slot.as_str()) {
                    let slot = slots.entry(slot_key(api_key, charge)).or_default();
                    slot.book = book;
                    Self::touch(slot, charge);
                }
            }
            self.dirty.store(true, Ordering::Release);
        }
        verdict
    }

    pub fn uncharge(&self, api_key: &str, charges: &[WindowCharge], cost: u64) {
        let mut slots = self.lock();
        let mut done = std::collections::BTreeSet::new();
        for charge in charges {
            if done.insert(charge.slot.as_str()) {
                if let Some(slot) = slots.get_mut(&slot_key(api_key, charge)) {
                    slot.book.take_back(charge.bucket, 1, cost);
                }
            }
        }
        self.dirty.store(true, Ordering::Release);
    }

    pub fn add_tokens(&self, api_key: &str, charges: &[WindowCharge], tokens: u64) {
        let mut slots = self.lock();
        let mut done = std::collections::BTreeSet::new();
        for charge in charges {
            if done.insert(charge.slot.as_str()) {
                let slot = slots.entry(slot_key(api_key, charge)).or_default();
                slot.book.add(charge.bucket, 0, 0, tokens);
                Self::touch(slot, charge);
            }
        }
        self.dirty.store(true, Ordering::Release);
    }

    pub fn usage(&self, api_key: &str, charges: &[WindowCharge]) -> Vec<WindowUse> {
        let slots = self.lock();
        charges
            .iter()
            .map(|c| {
                slots
                    .get(&slot_key(api_key, c))
                    .map(|slot| slot.book.usage(c.from, i64::MAX))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Forgets every slot of the key (it was deleted).
    pub fn forget(&self, api_key: &str) {
        let prefix = format!("{api_key} ");
        let mut slots = self.lock();
        let before = slots.len();
        slots.retain(|name, _| !name.starts_with(&prefix));
        if slots.len() != before {
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// The books as they are now, to be written with [`write`], when they changed and the last
    /// snapshot is at least [`SAVE_INTERVAL`] old (or `force`) and no other is being written. The
    /// caller must hand the snapshot to [`Self::saved`] once written.
    pub fn snapshot_if_due(&self, force: bool) -> Option<Vec<u8>> {
        {
            let mut last = self.last_save();
            let due = match *last {
                None => false,
                Some(at) => force || at.elapsed() >= SAVE_INTERVAL,
            };
            if !due || !self.dirty.swap(false, Ordering::AcqRel) {
                return None;
            }
            *last = None;
        }
        let now = wall_now();
        let saved = {
            let mut slots = self.lock();
            slots.retain(|_, s| s.expires_at > now);
            Saved {
                slots: slots.clone(),
            }
        };
        match serde_json::to_vec(&saved) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                log::error!("key windows not serialised: {e}");
                self.saved(false);
                None
            }
        }
    }

    /// Whether changes wait for a save.
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }

    /// A snapshot was written (or failed: then the books stay marked as changed).
    pub fn saved(&self, ok: bool) {
        if !ok {
            self.dirty.store(true, Ordering::Release);
        }
        *self.last_save() = Some(Instant::now());
    }
}

/// Writes a snapshot of the books into `dir` (owner-only, replaced atomically).
pub(super) fn write(dir: &Path, bytes: &[u8]) -> bool {
    match disk::write_atomically(dir, FILE_NAME, bytes) {
        Ok(()) => true,
        Err(e) => {
            log::error!("key windows not saved in {}: {e}", dir.display());
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(bucket: i64) -> WindowCharge {
        WindowCharge {
            slot: "1m|*".into(),
            bucket,
            from: bucket - 59,
            ttl_secs: 120,
            requests: Some(2),
            cost: None,
            tokens: None,
        }
    }

    #[test]
    fn books_saved_are_read_back_with_their_use() {
        let dir = tempfile::tempdir().unwrap();
        let books = WindowBooks::default();
        let c = charge(1000);
        assert_eq!(
            books.charge("h", std::slice::from_ref(&c), 1),
            WindowVerdict::Charged
        );
        books.add_tokens("h", std::slice::from_ref(&c), 40);
        let bytes = books.snapshot_if_due(true).unwrap();
        assert!(write(dir.path(), &bytes));
        books.saved(true);
        assert!(
            books.snapshot_if_due(true).is_none(),
            "nothing changed since"
        );

        let again = WindowBooks::load(dir.path());
        let used = again.usage("h", std::slice::from_ref(&c));
        assert_eq!((used[0].requests, used[0].tokens), (1, 40));
        assert_eq!(
            again.charge("h", std::slice::from_ref(&c), 1),
            WindowVerdict::Charged
        );
        assert_ne!(
            again.charge("h", &[c], 1),
            WindowVerdict::Charged,
            "2 requests per window"
        );
    }

    #[test]
    fn a_deleted_key_and_an_unreadable_file_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let books = WindowBooks::default();
        let c = charge(1000);
        books.charge("h", std::slice::from_ref(&c), 1);
        books.forget("h");
        assert_eq!(books.usage("h", std::slice::from_ref(&c))[0].requests, 0);
        std::fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
        assert_eq!(
            WindowBooks::load(dir.path()).usage("h", &[c])[0].requests,
            0
        );
    }
}
