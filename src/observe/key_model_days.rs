//! Usage per UTC day, per key **and** model: requests, tokens by kind and the quota cost charged to
//! the key, as kept in the store in the counters sheet [`SHEET`] (`["2026-12-07","k-1a2b3c4d",
//! "gemini-2.5-pro","cost"]`). Like the per-model and per-key counts of `token_days` (same
//! retention, [`KEEP_DAYS`] days), each instance adds what it counted since its last save
//! (`Store::add_counters`, atomic per counter), so instances sharing a store add up. This is what
//! `/usage/export` answers; a sheet of its own keeps the charts' reads as small as before.

use std::collections::BTreeMap;

use crate::observe::trace::Tokens;

pub use super::token_days::KEEP_DAYS;
use super::token_days::{day_of, stale_counters};

/// The counters sheet of the per key and model counts.
pub const SHEET: &str = "key_model_tokens";

/// One key's use of one model on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub requests: u64,
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub thinking: u64,
    /// Quota units charged to the key (refunded debits are not counted).
    pub cost: u64,
}

impl Usage {
    fn add(&mut self, other: &Usage) {
        for ((_, mine), (_, theirs)) in self.figures_mut().into_iter().zip(other.figures()) {
            *mine = mine.saturating_add(theirs);
        }
    }

    fn figures(&self) -> [(&'static str, u64); 6] {
        [
            ("requests", self.requests),
            ("input", self.input),
            ("output", self.output),
            ("cached", self.cached),
            ("thinking", self.thinking),
            ("cost", self.cost),
        ]
    }

    fn figures_mut(&mut self) -> [(&'static str, &mut u64); 6] {
        [
            ("requests", &mut self.requests),
            ("input", &mut self.input),
            ("output", &mut self.output),
            ("cached", &mut self.cached),
            ("thinking", &mut self.thinking),
            ("cost", &mut self.cost),
        ]
    }
}

/// (key label, model) → usage.
pub type Day = BTreeMap<(String, String), Usage>;
/// Date (`YYYY-MM-DD`, UTC) → that day's usage.
pub type Days = BTreeMap<String, Day>;

/// Adds one request: its tokens and the cost its key was charged.
pub fn add_request(days: &mut Days, at: i64, key: &str, model: &str, tokens: &Tokens, cost: u64) {
    let usage = Usage {
        requests: 1,
        input: tokens.input,
        output: tokens.output,
        cached: tokens.cached,
        thinking: tokens.thinking,
        cost,
    };
    days.entry(day_of(at))
        .or_default()
        .entry((key.to_string(), model.to_string()))
        .or_default()
        .add(&usage);
}

/// Adds every count of `other` into `into`.
pub fn merge(into: &mut Days, other: &Days) {
    for (date, day) in other {
        let target = into.entry(date.clone()).or_default();
        for (pair, usage) in day {
            target.entry(pair.clone()).or_default().add(usage);
        }
    }
}

/// `days` as counters to add (zero figures left out).
pub fn to_counters(days: &Days) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (date, day) in days {
        for ((key, model), usage) in day {
            for (figure, n) in usage.figures() {
                if n > 0 {
                    let name = serde_json::json!([date, key, model, figure]).to_string();
                    out.insert(name, n);
                }
            }
        }
    }
    out
}

/// The days the counters hold; names that are not ours are skipped.
pub fn from_counters(counters: &BTreeMap<String, u64>) -> Days {
    let mut days = Days::new();
    for (name, n) in counters {
        let Ok((date, key, model, figure)) =
            serde_json::from_str::<(String, String, String, String)>(name)
        else {
            continue;
        };
        let mut usage = Usage::default();
        let Some((_, slot)) = usage
            .figures_mut()
            .into_iter()
            .find(|(name, _)| *name == figure)
        else {
            continue;
        };
        *slot = *n;
        days.entry(date)
            .or_default()
            .entry((key, model))
            .or_default()
            .add(&usage);
    }
    days
}

/// The counters of days older than the newest [`KEEP_DAYS`] (the same rule as the charts' counts).
pub fn stale(counters: &BTreeMap<String, u64>) -> Vec<String> {
    stale_counters(counters)
}

/// Keeps the newest [`KEEP_DAYS`] days.
pub fn prune(days: &mut Days) {
    while days.len() > KEEP_DAYS {
        let Some(oldest) = days.keys().next().cloned() else {
            break;
        };
        days.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens {
            input: 3,
            output: 5,
            thinking: 2,
            cached: 1,
        }
    }

    #[test]
    fn requests_add_per_day_key_and_model_and_round_trip_through_counters() {
        let mut days = Days::new();
        add_request(&mut days, 0, "k-1", "gemini-2.5-pro", &tokens(), 10);
        add_request(&mut days, 5, "k-1", "gemini-2.5-pro", &tokens(), 10);
        add_request(&mut days, 9, "k-1", "gemini|odd \"name\"", &tokens(), 0);
        add_request(&mut days, 86_400, "k-2", "gemini-2.5-pro", &tokens(), 1);
        let first = &days["1970-01-01"];
        let pro = first[&("k-1".to_string(), "gemini-2.5-pro".to_string())];
        assert_eq!(
            pro,
            Usage {
                requests: 2,
                input: 6,
                output: 10,
                cached: 2,
                thinking: 4,
                cost: 20
            }
        );
        assert_eq!(first.len(), 2);
        let counters = to_counters(&days);
        // The odd model's zero cost is left out.
        assert_eq!(counters.len(), 6 + 5 + 6);
        assert_eq!(from_counters(&counters), days);
        let mut twice = days.clone();
        merge(&mut twice, &days);
        assert_eq!(
            twice["1970-01-02"][&("k-2".to_string(), "gemini-2.5-pro".to_string())].cost,
            2
        );
    }

    #[test]
    fn old_days_are_found_and_pruned() {
        let mut days = Days::new();
        for d in 0..40 {
            add_request(&mut days, d * 86_400, "k", "m", &tokens(), 1);
        }
        let counters = to_counters(&days);
        assert_eq!(stale(&counters).len(), 9 * 6);
        prune(&mut days);
        assert_eq!(days.len(), KEEP_DAYS);
        assert!(!days.contains_key("1970-01-01"));
    }
}
