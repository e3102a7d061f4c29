//! Daily usage counters of a credential. The day rolls over at 07:00 UTC (the original project called it
//! "UTC+7"); counters are zeroed lazily the first time they are touched after the boundary.

use chrono::{DateTime, Duration, NaiveTime, Utc};

use crate::credentials::UsageCounters;

pub const RESET_HOUR_UTC: u32 = 7;
pub const HISTORY_DAYS: usize = 30;

/// The first 07:00 UTC strictly after `now`.
pub fn next_reset_after(now: i64) -> i64 {
    let now_dt = DateTime::<Utc>::from_timestamp(now, 0).unwrap_or_default();
    let reset_time = NaiveTime::from_hms_opt(RESET_HOUR_UTC, 0, 0).unwrap_or_default();
    let today = now_dt.date_naive().and_time(reset_time).and_utc();
    let next = if today.timestamp() > now {
        today
    } else {
        today + Duration::days(1)
    };
    next.timestamp()
}

/// Zeroes the daily counters when the boundary has passed.
pub fn roll(usage: &mut UsageCounters, now: i64) {
    if now >= usage.next_reset {
        usage.total_calls = 0;
        usage.pro_calls = 0;
        usage.calls_per_model.clear();
        usage.next_reset = next_reset_after(now);
    }
}

/// Counts one successful call to `base_model`.
pub fn count_success(usage: &mut UsageCounters, base_model: &str, now: i64) {
    count_successes(usage, base_model, 1, now);
}

/// Counts `n` successful calls to `base_model` (a tally folded at once).
pub fn count_successes(usage: &mut UsageCounters, base_model: &str, n: u64, now: i64) {
    roll(usage, now);
    usage.total_calls += n;
    if base_model == "gemini-2.5-pro" {
        usage.pro_calls += n;
    }
    *usage
        .calls_per_model
        .entry(base_model.to_string())
        .or_default() += n;
    usage.success_total += n;
    let day = DateTime::<Utc>::from_timestamp(now, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    *usage.history.entry(day).or_default() += n;
    while usage.history.len() > HISTORY_DAYS {
        let Some(oldest) = usage.history.keys().next().cloned() else {
            break;
        };
        usage.history.remove(&oldest);
    }
}

pub fn count_failure(usage: &mut UsageCounters, now: i64) {
    roll(usage, now);
    usage.failure_total += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn boundary_is_seven_utc() {
        assert_eq!(
            next_reset_after(ts("2026-03-01T06:59:59Z")),
            ts("2026-03-01T07:00:00Z")
        );
        assert_eq!(
            next_reset_after(ts("2026-03-01T07:00:00Z")),
            ts("2026-03-02T07:00:00Z")
        );
        assert_eq!(
            next_reset_after(ts("2026-03-01T23:00:00Z")),
            ts("2026-03-02T07:00:00Z")
        );
    }

    #[test]
    fn counters_reset_at_the_boundary_only() {
        let mut u = UsageCounters::default();
        count_success(&mut u, "gemini-2.5-pro", ts("2026-03-01T06:00:00Z"));
        count_success(&mut u, "gemini-2.5-flash", ts("2026-03-01T06:30:00Z"));
        assert_eq!((u.total_calls, u.pro_calls), (2, 1));
        roll(&mut u, ts("2026-03-01T06:59:00Z"));
        assert_eq!(u.total_calls, 2);
        count_success(&mut u, "gemini-2.5-flash", ts("2026-03-01T07:00:01Z"));
        assert_eq!((u.total_calls, u.pro_calls), (1, 0));
        assert_eq!(u.success_total, 3);
        assert_eq!(u.history.values().sum::<u64>(), 3);
    }
}
