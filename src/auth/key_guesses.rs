//! Throttle for made-up API keys. Every client route checks a presented `sk-` key against the key
//! table (a store read when the key is not cached), so a flood of invented keys costs the store and
//! would otherwise go unseen. Failures are counted per client address: past [`MAX_FAILURES`] in
//! [`WINDOW_SECS`] the address gets 429 until its window passes. An address's first failure and the
//! one that throttles it are logged, at most [`MAX_LINES`] lines per window for the whole gateway,
//! the others summed up in the next line, so a flood cannot flood the log either.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// Failed API authentications allowed per address and window.
pub const MAX_FAILURES: usize = 30;
pub const WINDOW_SECS: i64 = 60;
/// Log lines about failures per window, gateway-wide.
const MAX_LINES: u32 = 10;
/// Addresses remembered at once; past it the table starts again (a flood from many addresses is
/// each address's first few tries, which the limit would not stop anyway).
const MAX_ADDRESSES: usize = 10_000;

#[derive(Default)]
struct Inner {
    failures: HashMap<String, VecDeque<i64>>,
    window_start: i64,
    lines: u32,
    suppressed: u64,
}

#[derive(Default)]
pub struct KeyGuesses {
    inner: Mutex<Inner>,
}

impl Inner {
    fn prune(&mut self, address: &str, now: i64) -> usize {
        let Some(times) = self.failures.get_mut(address) else {
            return 0;
        };
        while times.front().is_some_and(|t| *t <= now - WINDOW_SECS) {
            times.pop_front();
        }
        let left = times.len();
        if left == 0 {
            self.failures.remove(address);
        }
        left
    }
}

impl KeyGuesses {
    /// `Err(wait_secs)` while `address` is throttled.
    pub fn check(&self, address: &str, now: i64) -> Result<(), i64> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.prune(address, now) < MAX_FAILURES {
            return Ok(());
        }
        let oldest = inner
            .failures
            .get(address)
            .and_then(|t| t.front().copied())
            .unwrap_or(now);
        Err((oldest + WINDOW_SECS - now).max(1))
    }

    /// Counts a failed API authentication from `address` and logs it, within the log budget.
    pub fn failed(&self, address: &str, now: i64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.failures.len() >= MAX_ADDRESSES && !inner.failures.contains_key(address) {
            inner.failures.clear();
        }
        let times = inner.failures.entry(address.to_owned()).or_default();
        times.push_back(now);
        let count = times.len();
        if now - inner.window_start >= WINDOW_SECS {
            inner.window_start = now;
            inner.lines = 0;
        }
        // Per address, its first failure in a window and the one that throttles it are worth a line;
        // the rest are counted into the next line.
        let notable = count == 1 || count == MAX_FAILURES;
        if !notable || inner.lines >= MAX_LINES {
            inner.suppressed = inner.suppressed.saturating_add(1);
            return;
        }
        inner.lines += 1;
        let suppressed = std::mem::take(&mut inner.suppressed);
        let more = if suppressed > 0 {
            format!(" ({suppressed} more failures since the last line)")
        } else {
            String::new()
        };
        if count >= MAX_FAILURES {
            log::warn!(
                "invalid API key from {address}: {count} in {WINDOW_SECS} s, throttled{more}"
            );
        } else {
            log::warn!("invalid API key from {address}{more}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_throttled_after_its_failures_and_others_are_not() {
        let guesses = KeyGuesses::default();
        for _ in 0..MAX_FAILURES {
            assert!(guesses.check("a", 100).is_ok());
            guesses.failed("a", 100);
        }
        assert_eq!(guesses.check("a", 110), Err(50));
        assert!(guesses.check("b", 110).is_ok());
        assert!(guesses.check("a", 161).is_ok());
    }
}
