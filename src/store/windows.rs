//! Counters of a key's limits per time window, as every backend keeps them.
//!
//! A limit counts into a *slot* (`<window>|<model or *>`, so two limits over the same window and
//! model share one count) made of *buckets*: a bucket is a number the caller picks (for a rolling
//! window the current time divided by the bucket length, for a calendar window the period's start),
//! holding the requests, cost and tokens counted in it. A check sums the buckets from `from` to
//! `bucket`; buckets older than `from` are dropped. What the numbers mean is the quota actor's
//! business (`quota::windows`): here they are plain integers, so files, Redis (Lua) and
//! PostgreSQL apply the same arithmetic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One limit of one request: where it counts, what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowCharge {
    /// `<window>|<model or *>`.
    pub slot: String,
    /// The bucket this request counts in.
    pub bucket: i64,
    /// The oldest bucket still in the window.
    pub from: i64,
    /// Seconds a bucket may still matter for (the stores expire slots after it).
    pub ttl_secs: i64,
    pub requests: Option<u64>,
    pub cost: Option<u64>,
    pub tokens: Option<u64>,
}

/// The answer to a window charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowVerdict {
    /// Every limit had room: one request and the cost were counted in each.
    Charged,
    /// The limit at `index` had no room; nothing was counted. `frees_at` is the bucket whose leaving
    /// makes room (`None`: no bucket leaving is enough, the whole window must pass).
    Refused { index: usize, frees_at: Option<i64> },
}

/// What one slot counted over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowUse {
    pub requests: u64,
    pub cost: u64,
    pub tokens: u64,
    /// The oldest bucket with anything counted.
    pub oldest: Option<i64>,
}

/// One bucket's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub requests: u64,
    pub cost: u64,
    pub tokens: u64,
}

/// One slot's buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotBook {
    pub buckets: BTreeMap<i64, Counts>,
}

impl SlotBook {
    /// Drops the buckets older than `from`.
    pub fn trim(&mut self, from: i64) {
        self.buckets = self.buckets.split_off(&from);
    }

    /// The sums of the buckets from `from` to `to`.
    pub fn usage(&self, from: i64, to: i64) -> WindowUse {
        let mut out = WindowUse::default();
        for (bucket, counts) in self.buckets.range(from..=to) {
            if out.oldest.is_none() && *counts != Counts::default() {
                out.oldest = Some(*bucket);
            }
            out.requests = out.requests.saturating_add(counts.requests);
            out.cost = out.cost.saturating_add(counts.cost);
            out.tokens = out.tokens.saturating_add(counts.tokens);
        }
        out
    }

    /// Whether one more request costing `cost` fits `charge`'s limits: `Ok`, or the bucket whose
    /// leaving makes it fit (`None` when none does). Tokens are counted after the answer, so a
    /// token limit refuses once it is reached. Buckets newer than the charge's own count too: a
    /// request that waited for the store (its time taken before) must see what others counted
    /// meanwhile.
    pub fn check(&self, charge: &WindowCharge, cost: u64) -> Result<(), Option<i64>> {
        let used = self.usage(charge.from, i64::MAX);
        let fits = |u: &WindowUse| {
            charge
                .requests
                .is_none_or(|l| u.requests.saturating_add(1) <= l)
                && charge.cost.is_none_or(|l| u.cost.saturating_add(cost) <= l)
                && charge.tokens.is_none_or(|l| u.tokens < l)
        };
        if fits(&used) {
            return Ok(());
        }
        let mut left = used;
        for (bucket, counts) in self.buckets.range(charge.from..) {
            left.requests = left.requests.saturating_sub(counts.requests);
            left.cost = left.cost.saturating_sub(counts.cost);
            left.tokens = left.tokens.saturating_sub(counts.tokens);
            // The current bucket never leaves before the window moves on: no answer from it.
            if *bucket < charge.bucket && fits(&left) {
                return Err(Some(*bucket));
            }
        }
        Err(None)
    }

    pub fn add(&mut self, bucket: i64, requests: u64, cost: u64, tokens: u64) {
        let counts = self.buckets.entry(bucket).or_default();
        counts.requests = counts.requests.saturating_add(requests);
        counts.cost = counts.cost.saturating_add(cost);
        counts.tokens = counts.tokens.saturating_add(tokens);
    }

    /// Takes back a charge (never below zero).
    pub fn take_back(&mut self, bucket: i64, requests: u64, cost: u64) {
        if let Some(counts) = self.buckets.get_mut(&bucket) {
            counts.requests = counts.requests.saturating_sub(requests);
            counts.cost = counts.cost.saturating_sub(cost);
        }
    }
}

/// Checks every limit of one request against `books` (one per charge, in order) and counts the
/// request in all of them when all have room: the one decision every backend makes the same way.
pub fn charge_books(books: &mut [SlotBook], charges: &[WindowCharge], cost: u64) -> WindowVerdict {
    for (index, (book, charge)) in books.iter_mut().zip(charges).enumerate() {
        book.trim(charge.from);
        if let Err(frees_at) = book.check(charge, cost) {
            return WindowVerdict::Refused { index, frees_at };
        }
    }
    // Limits sharing a slot share its book once: count each slot once.
    let mut seen = std::collections::BTreeSet::new();
    for (book, charge) in books.iter_mut().zip(charges) {
        if seen.insert(charge.slot.as_str()) {
            book.add(charge.bucket, 1, cost, 0);
        }
    }
    WindowVerdict::Charged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(requests: Option<u64>, tokens: Option<u64>, bucket: i64) -> WindowCharge {
        WindowCharge {
            slot: "1m|*".into(),
            bucket,
            from: bucket - 59,
            ttl_secs: 60,
            requests,
            cost: None,
            tokens,
        }
    }

    #[test]
    fn requests_fill_then_free_with_the_oldest_bucket() {
        let mut books = vec![SlotBook::default()];
        let c = charge(Some(3), None, 100);
        for _ in 0..2 {
            assert_eq!(
                charge_books(&mut books, std::slice::from_ref(&c), 1),
                WindowVerdict::Charged
            );
        }
        let later = charge(Some(3), None, 110);
        assert_eq!(
            charge_books(&mut books, std::slice::from_ref(&later), 1),
            WindowVerdict::Charged
        );
        assert_eq!(
            charge_books(&mut books, std::slice::from_ref(&later), 1),
            WindowVerdict::Refused {
                index: 0,
                frees_at: Some(100)
            }
        );
        // Bucket 100 leaves at bucket 160: the two requests in it go.
        let moved = charge(Some(3), None, 160);
        assert_eq!(
            charge_books(&mut books, std::slice::from_ref(&moved), 1),
            WindowVerdict::Charged
        );
        assert_eq!(books[0].usage(moved.from, moved.bucket).requests, 2);
    }

    #[test]
    fn a_request_that_waited_counts_what_newer_buckets_hold() {
        // Another instance, a moment ahead, counted 3 in bucket 105 while this request (its time
        // taken at bucket 100) waited for the store.
        let mut books = vec![SlotBook::default()];
        books[0].add(105, 3, 0, 0);
        assert_eq!(
            charge_books(&mut books, &[charge(Some(3), None, 100)], 1),
            WindowVerdict::Refused {
                index: 0,
                frees_at: None
            }
        );
    }

    #[test]
    fn a_token_limit_refuses_once_reached_and_a_refusal_counts_nothing() {
        let mut books = vec![SlotBook::default(), SlotBook::default()];
        let requests = charge(Some(10), None, 5);
        let tokens = WindowCharge {
            slot: "1m|gemini".into(),
            ..charge(None, Some(100), 5)
        };
        let both = [requests.clone(), tokens.clone()];
        assert_eq!(charge_books(&mut books, &both, 1), WindowVerdict::Charged);
        books[1].add(5, 0, 0, 100);
        assert_eq!(
            charge_books(&mut books, &both, 1),
            WindowVerdict::Refused {
                index: 1,
                frees_at: None
            }
        );
        assert_eq!(
            books[0].usage(0, 5).requests,
            1,
            "the refusal counted nothing"
        );
    }

    #[test]
    fn cost_limits_count_the_cost() {
        let mut books = vec![SlotBook::default()];
        let c = WindowCharge {
            cost: Some(5),
            ..charge(None, None, 0)
        };
        assert_eq!(
            charge_books(&mut books, std::slice::from_ref(&c), 3),
            WindowVerdict::Charged
        );
        assert!(matches!(
            charge_books(&mut books, std::slice::from_ref(&c), 3),
            WindowVerdict::Refused { .. }
        ));
        books[0].take_back(0, 1, 3);
        assert_eq!(books[0].usage(-59, 0), WindowUse::default());
    }
}
