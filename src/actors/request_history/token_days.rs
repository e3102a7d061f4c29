//! Token usage per UTC day, per model and per key, as kept in the store: one config-store entry
//! (`_token_usage`) holding the last [`KEEP_DAYS`] days. Each instance adds its own counts since its last
//! save to what the store holds (read, add, write), so instances sharing a store add up and the charts
//! survive restarts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::observe::trace::Tokens;

/// Config-store key of the daily token counts (not a user-editable setting).
pub const STORE_KEY: &str = "_token_usage";
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
}
