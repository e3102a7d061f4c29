//! Settings of the process allocator. The binary allocates with mimalloc (`main.rs`), built without
//! transparent huge pages (feature `no_thp`: a huge page makes a few touched kilobytes resident as
//! 2 MiB).
//!
//! Start-up parses the whole credential store once and throws most of that memory away. mimalloc
//! hands freed pages back to the system only after a delay, checked when the freeing thread
//! allocates again; the store's thread then sits idle, so the start-up peak would stay as the idle
//! footprint. Start-up therefore runs with immediate purging, and the usual delay comes back once the
//! gateway serves: purging every freed page at once costs measurable CPU under load.

// The one module allowed unsafe code (`[lints]` in Cargo.toml denies it elsewhere): mimalloc's
// options are reachable only through its C functions.
#![allow(unsafe_code)]

use std::os::raw::c_long;
use std::sync::{Mutex, PoisonError};

use libmimalloc_sys as ffi;

/// `mi_option_purge_delay` in mimalloc 3 (`mi_option_e` in `mimalloc.h`); the Rust bindings name
/// only a few older options.
const PURGE_DELAY: ffi::mi_option_t = 15;
/// The option number above holds for this major version only.
const MAJOR_VERSION: i32 = 3;
/// The usual purge delay while start-up purging is on.
static SAVED_PURGE_DELAY: Mutex<Option<c_long>> = Mutex::new(None);

fn saved_purge_delay() -> std::sync::MutexGuard<'static, Option<c_long>> {
    SAVED_PURGE_DELAY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// mimalloc's version as `major * 10000 + minor * 100 + patch`.
pub fn mimalloc_version() -> i32 {
    // SAFETY: a pure getter without arguments.
    unsafe { ffi::mi_version() }
}

fn known_layout() -> bool {
    mimalloc_version() / 10_000 == MAJOR_VERSION
}

/// Purge freed pages at once. Call first thing in `main`; returns whether it took effect (not on a
/// mimalloc whose option numbering is unknown).
pub fn purge_during_startup() -> bool {
    if !known_layout() {
        return false;
    }
    let mut saved = saved_purge_delay();
    // SAFETY: reading and setting a known option to a valid value; options are atomics.
    unsafe {
        saved.get_or_insert(ffi::mi_option_get(PURGE_DELAY));
        ffi::mi_option_set(PURGE_DELAY, 0);
    }
    true
}

/// Back to the usual purge delay, once start-up garbage is gone; a no-op without
/// [`purge_during_startup`].
pub fn purge_as_usual() {
    let Some(usual) = saved_purge_delay().take() else {
        return;
    };
    // SAFETY: restoring the value read from the same option; collecting is always allowed.
    unsafe {
        ffi::mi_collect(true);
        ffi::mi_option_set(PURGE_DELAY, usual);
    }
}

/// Hands the pages this thread's heap has freed back to the system now, instead of when the thread
/// next allocates (an idle worker never does). Called once after a burst of large request bodies.
pub fn collect_freed() {
    // SAFETY: collecting is always allowed; it only returns memory no live allocation uses.
    unsafe { ffi::mi_collect(true) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purge_delay() -> c_long {
        // SAFETY: a getter of a known option.
        unsafe { ffi::mi_option_get(PURGE_DELAY) }
    }

    #[test]
    fn startup_purging_is_switched_on_and_back() {
        assert_eq!(mimalloc_version() / 10_000, MAJOR_VERSION);
        let usual = purge_delay();
        assert!(
            usual > 0,
            "mimalloc purges with a delay by default: {usual}"
        );
        assert!(purge_during_startup());
        assert_eq!(purge_delay(), 0);
        purge_as_usual();
        assert_eq!(purge_delay(), usual);
        // A second call has nothing saved and changes nothing.
        purge_as_usual();
        assert_eq!(purge_delay(), usual);
    }
}
