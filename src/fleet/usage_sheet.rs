//! Credential usage as counters in the store (sheet [`SHEET`]), for stores several instances share:
//! each instance adds what it counted (`Store::add_counters`, atomic per counter), so the panel's
//! figures are the cluster's sum with every call once. Copying whole records between instances can
//! only keep the larger of two counts (`actors/credentials/merge.rs`), which is why the records' own counters are not
//! what the usage routes show on a shared store.
//!
//! Names are JSON arrays: `["a.json","day",<next reset>,"total"]`, `[…,"pro"]`,
//! `[…,"model","gemini-2.5-pro"]` (the day is named by its 07:00 UTC end, so a new day starts from
//! zero by itself), `["a.json","success"]`, `["a.json","failure"]`, `["a.json","hist","2026-12-07"]`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::usage::{next_reset_after, HISTORY_DAYS};
use crate::credentials::UsageCounters;

pub const SHEET: &str = "usage";

/// The counters to add for `n` successful calls of `cred` to `base_model` at `now`.
pub fn successes(cred: &str, base_model: &str, n: u64, now: i64) -> BTreeMap<String, u64> {
    let day = next_reset_after(now);
    let date = chrono::DateTime::<chrono::Utc>::from_timestamp(now, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    let mut out = BTreeMap::new();
    out.insert(json!([cred, "day", day, "total"]).to_string(), n);
    if base_model == "gemini-2.5-pro" {
        out.insert(json!([cred, "day", day, "pro"]).to_string(), n);
    }
    out.insert(
        json!([cred, "day", day, "model", base_model]).to_string(),
        n,
    );
    out.insert(json!([cred, "success"]).to_string(), n);
    out.insert(json!([cred, "hist", date]).to_string(), n);
    out
}

/// The counter to add for one failed call of `cred`.
pub fn failure(cred: &str) -> BTreeMap<String, u64> {
    BTreeMap::from([(json!([cred, "failure"]).to_string(), 1)])
}

fn parse(name: &str) -> Option<Vec<Value>> {
    serde_json::from_str(name).ok()
}

/// Each credential's usage as the counters say at `now` (today's day counters only). Daily limits
/// are not counters: the caller takes them from the record.
pub fn read(counters: &BTreeMap<String, u64>, now: i64) -> BTreeMap<String, UsageCounters> {
    let today = next_reset_after(now);
    let mut out: BTreeMap<String, UsageCounters> = BTreeMap::new();
    for (name, n) in counters {
        let Some(parts) = parse(name) else { continue };
        let Some(cred) = parts.first().and_then(Value::as_str) else {
            continue;
        };
        let usage = out
            .entry(cred.to_string())
            .or_insert_with(|| UsageCounters {
                next_reset: today,
                ..UsageCounters::default()
            });
        match parts.get(1).and_then(Value::as_str) {
            Some("day") if parts.get(2).and_then(Value::as_i64) == Some(today) => {
                match parts.get(3).and_then(Value::as_str) {
                    Some("total") => usage.total_calls += n,
                    Some("pro") => usage.pro_calls += n,
                    Some("model") => {
                        if let Some(model) = parts.get(4).and_then(Value::as_str) {
                            *usage.calls_per_model.entry(model.to_string()).or_default() += n;
                        }
                    }
                    _ => {}
                }
            }
            Some("success") => usage.success_total += n,
            Some("failure") => usage.failure_total += n,
            Some("hist") => {
                if let Some(date) = parts.get(2).and_then(Value::as_str) {
                    *usage.history.entry(date.to_string()).or_default() += n;
                }
            }
            _ => {}
        }
    }
    for usage in out.values_mut() {
        while usage.history.len() > HISTORY_DAYS {
            let Some(oldest) = usage.history.keys().next().cloned() else {
                break;
            };
            usage.history.remove(&oldest);
        }
    }
    out
}

/// Counters nobody reads any more: day counters of past days, history older than the days kept.
pub fn stale(counters: &BTreeMap<String, u64>, now: i64) -> Vec<String> {
    let today = next_reset_after(now);
    let oldest_date = chrono::DateTime::<chrono::Utc>::from_timestamp(now, 0)
        .unwrap_or_default()
        .checked_sub_signed(chrono::Duration::days(HISTORY_DAYS as i64))
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    counters
        .keys()
        .filter(|name| {
            let Some(parts) = parse(name) else {
                return false;
            };
            match parts.get(1).and_then(Value::as_str) {
                Some("day") => parts.get(2).and_then(Value::as_i64) != Some(today),
                Some("hist") => parts
                    .get(2)
                    .and_then(Value::as_str)
                    .is_some_and(|d| d < oldest_date.as_str()),
                _ => false,
            }
        })
        .cloned()
        .collect()
}

/// Today's day counters of `cred` (what a panel reset zeroes).
pub fn day_counters_of(counters: &BTreeMap<String, u64>, cred: &str) -> Vec<String> {
    counters
        .keys()
        .filter(|name| {
            parse(name).is_some_and(|p| {
                p.first().and_then(Value::as_str) == Some(cred)
                    && p.get(1).and_then(Value::as_str) == Some("day")
            })
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(into: &mut BTreeMap<String, u64>, more: BTreeMap<String, u64>) {
        for (k, v) in more {
            *into.entry(k).or_default() += v;
        }
    }

    #[test]
    fn counters_from_several_instances_add_up_and_a_new_day_starts_at_zero() {
        let now = 1_765_000_000;
        let mut store = BTreeMap::new();
        // Two instances counting the same credential.
        add(&mut store, successes("a.json", "gemini-2.5-pro", 3, now));
        add(&mut store, successes("a.json", "gemini-2.5-flash", 2, now));
        add(&mut store, failure("a.json"));
        let usage = &read(&store, now)["a.json"];
        assert_eq!((usage.total_calls, usage.pro_calls), (5, 3));
        assert_eq!(usage.calls_per_model["gemini-2.5-flash"], 2);
        assert_eq!((usage.success_total, usage.failure_total), (5, 1));
        assert_eq!(usage.history.values().sum::<u64>(), 5);
        let tomorrow = next_reset_after(now) + 60;
        let later = &read(&store, tomorrow)["a.json"];
        assert_eq!(later.total_calls, 0);
        assert_eq!(later.success_total, 5);
        // total, pro, and one per model.
        assert_eq!(stale(&store, tomorrow).len(), 4);
        assert_eq!(day_counters_of(&store, "a.json").len(), 4);
        assert!(stale(&store, now).is_empty());
    }
}
