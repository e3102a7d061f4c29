//! Settings of the process allocator. The binary allocates with mimalloc (`main.rs`), built without
//! transparent huge pages (feature `no_thp`: a huge page makes a few touched kilobytes resident as
//! 2 MiB). Its defaults suit a server that allocates all the time; this one parses its whole
//! credential store once at start and may then sit idle, and by default memory freed by a thread
//! stays resident until that thread allocates again, so the start-up peak would stay as the idle
//! footprint.

use libmimalloc_sys as ffi;

/// `mi_option_purge_delay` in mimalloc 3 (`mi_option_e` in `mimalloc.h`); the Rust bindings name
/// only a few older options.
const PURGE_DELAY: ffi::mi_option_t = 15;
/// The option numbers above hold for this major version only.
const MAJOR_VERSION: i32 = 3;

/// mimalloc's version as `major * 10000 + minor * 100 + patch`.
pub fn mimalloc_version() -> i32 {
    // SAFETY: a pure getter without arguments.
    unsafe { ffi::mi_version() }
}

/// Hand freed pages back to the system at once instead of after a delay counted in later allocator
/// calls. Call first thing in `main`, before other threads start. Returns whether the setting was
/// applied (it is skipped on a mimalloc whose option numbering is unknown).
pub fn tune_mimalloc() -> bool {
    if mimalloc_version() / 10_000 != MAJOR_VERSION {
        return false;
    }
    // SAFETY: setting a known option to a valid value; mimalloc reads options with atomics.
    unsafe { ffi::mi_option_set(PURGE_DELAY, 0) };
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_numbers_match_the_linked_mimalloc() {
        assert_eq!(mimalloc_version() / 10_000, MAJOR_VERSION);
        assert!(tune_mimalloc());
        // SAFETY: the getter of the option just set.
        let delay = unsafe { ffi::mi_option_get(PURGE_DELAY) };
        assert_eq!(delay, 0);
    }
}
