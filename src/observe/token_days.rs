//! Token usage per UTC day, per model and per key, as kept in the store: counters of the sheet
//! [`SHEET`], one per day, model or key, and figure (`["2026-12-07","m","gemini-2.5-pro","input"]`),
//! holding the last [`KEEP_DAYS`] days. Each instance adds its own counts since its last save
//! (`Store::add_counters`, atomic per counter), so instances sharing a store add up, each request once,
//! and the charts survive restarts. Counts saved before the counters existed stay in one config-store
//! entry (`_token_usage`), read and added to the counters' figures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::observe::trace::Tokens;

/// Config-store key of the daily token counts saved before the counters (read only).
pub const STORE_KEY: &str = "_token_usage";
/// The counters sheet of the daily token counts.
pub const SHEET: &str = "tokens";
/// Days kept in the store.
pub const KEEP_DAYS: usize = 31;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    #[serde(default)]
    pub input: u64,
    #[serde(default)]
    pub output: u64,
    #[serde(default)]
    pub thinking: u64,
    #[serde(default)]
    pub cached: u64,
    #[serde(default)]
    pub requests: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.input += other.input;
        self.output += other.output;
        self.thinking += other.thinking;
        self.cached += other.cached;
        self.requests += other.requests;
    }

    fn from_tokens(t: &Tokens) -> Self {
        Self {
            input: t.input,
            output: t.output,
            thinking: t.thinking,
            cached: t.cached,
            requests: 1,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Day {
    #[serde(default)]
    pub models: BTreeMap<String, Counts>,
    #[serde(default)]
    pub keys: BTreeMap<String, Counts>,
}

/// Date (`YYYY-MM-DD`, UTC) → that day's counts.
pub type Days = BTreeMap<String, Day>;

pub fn day_of(unix_secs: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix_secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// Adds one request's tokens.
pub fn add_request(days: &mut Days, at: i64, model: &str, key: &str, tokens: &Tokens) {
    let counts = Counts::from_tokens(tokens);
    let day = days.entry(day_of(at)).or_default();
    day.models
        .entry(model.to_string())
        .or_default()
        .add(&counts);
    day.keys.entry(key.to_string()).or_default().add(&counts);
}

/// Adds every count of `other` into `into`.
pub fn merge(into: &mut Days, other: &Days) {
    for (date, day) in other {
        let target = into.entry(date.clone()).or_default();
        for (m, c) in &day.models {
            target.models.entry(m.clone()).or_default().add(c);
        }
        for (k, c) in &day.keys {
            target.keys.entry(k.clone()).or_default().add(c);
        }
    }
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

fn figures(c: &Counts) -> [(&'static str, u64); 5] {
    [
        ("input", c.input),
        ("output", c.output),
        ("thinking", c.thinking),
        ("cached", c.cached),
        ("requests", c.requests),
    ]
}

fn add_figure(c: &mut Counts, figure: &str, n: u64) {
    let slot = match figure {
        "input" => &mut c.input,
        "output" => &mut c.output,
        "thinking" => &mut c.thinking,
        "cached" => &mut c.cached,
        "requests" => &mut c.requests,
        _ => return,
    };
    *slot = slot.saturating_add(n);
}

fn counter_name(date: &str, side: &str, name: &str, figure: &str) -> String {
    serde_json::json!([date, side, name, figure]).to_string()
}

/// `days` as counters to add (zero figures left out).
pub fn to_counters(days: &Days) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (date, day) in days {
        for (side, map) in [("m", &day.models), ("k", &day.keys)] {
            for (name, counts) in map {
                for (figure, n) in figures(counts) {
                    if n > 0 {
                        out.insert(counter_name(date, side, name, figure), n);
                    }
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
        let Ok((date, side, name, figure)) =
            serde_json::from_str::<(String, String, String, String)>(name)
        else {
            continue;
        };
        let day = days.entry(date).or_default();
        let map = match side.as_str() {
            "m" => &mut day.models,
            "k" => &mut day.keys,
            _ => continue,
        };
        add_figure(map.entry(name).or_default(), &figure, *n);
    }
    days
}

/// The counters of days older than the newest [`KEEP_DAYS`].
pub fn stale_counters(counters: &BTreeMap<String, u64>) -> Vec<String> {
    let dates: std::collections::BTreeSet<String> = counters
        .keys()
        .filter_map(|n| serde_json::from_str::<(String, String, String, String)>(n).ok())
        .map(|(date, ..)| date)
        .collect();
    let Some(first_kept) = dates.iter().rev().nth(KEEP_DAYS - 1).cloned() else {
        return Vec::new();
    };
    counters
        .keys()
        .filter(|n| {
            serde_json::from_str::<(String, String, String, String)>(n)
                .is_ok_and(|(date, ..)| date < first_kept)
        })
        .cloned()
        .collect()
}

/// The stored days, from the config-store map; an unreadable entry counts as empty.
pub fn from_config(config: &Map<String, Value>) -> Days {
    config
        .get(STORE_KEY)
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_add_per_day_model_and_key_and_old_days_go() {
        let mut days = Days::new();
        let t = Tokens {
            input: 3,
            output: 5,
            thinking: 1,
            cached: 0,
        };
        add_request(&mut days, 0, "gemini-2.5-pro", "k-1", &t);
        add_request(&mut days, 10, "gemini-2.5-pro", "k-2", &t);
        let day = &days["1970-01-01"];
        assert_eq!(day.models["gemini-2.5-pro"].output, 10);
        assert_eq!(day.models["gemini-2.5-pro"].requests, 2);
        assert_eq!(day.keys["k-2"].input, 3);
        let mut stored = Days::new();
        merge(&mut stored, &days);
        merge(&mut stored, &days);
        assert_eq!(stored["1970-01-01"].models["gemini-2.5-pro"].output, 20);
        for d in 0..40 {
            add_request(&mut stored, d * 86_400, "m", "k", &t);
        }
        prune(&mut stored);
        assert_eq!(stored.len(), KEEP_DAYS);
        assert!(!stored.contains_key("1970-01-01"));
    }

    #[test]
    fn counters_round_trip_and_old_days_are_found() {
        let t = Tokens {
            input: 3,
            output: 5,
            thinking: 0,
            cached: 1,
        };
        let mut days = Days::new();
        for d in 0..40 {
            add_request(&mut days, d * 86_400, "gemini|odd name", "k-1", &t);
        }
        let counters = to_counters(&days);
        assert_eq!(from_counters(&counters), days);
        let stale = stale_counters(&counters);
        // 9 old days × (model + key) × 4 non-zero figures.
        assert_eq!(stale.len(), 9 * 2 * 4);
        assert!(stale.iter().all(|n| n.contains("1970-01-0")));
    }
}
