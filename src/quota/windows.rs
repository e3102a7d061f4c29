//! The arithmetic of a key's limits per time window: which windows a request counts in, their buckets,
//! and when a refused request may come back.
//!
//! Granularity: a rolling window (`1m`, `1h`, `1d`, `7d`, `30d`) is 60 buckets of a sixtieth of it
//! (1 s for `1m`, 1 min for `1h`, 24 min for `1d`, …); a use leaves the window when its whole bucket
//! has, so a window holds between 59/60 and all of its length's uses. A calendar window (`day`,
//! `month`, in `KEYS_TIMEZONE`) is one bucket per period, renewed at the period's first second.
//!
//! `model` of a limit (and the models of `model_rpm` / `model_tpm`) matches a request as
//! `allowed_models` does: the name as the client requested it, or its base model (feature prefixes and
//! suffixes stripped), or its display name. Naming the base model counts every variant of it.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};

pub use jiff::tz::TimeZone as Tz;

use crate::store::{KeyLimit, KeyPolicy, WindowCharge};

/// Buckets per rolling window.
pub const BUCKETS: i64 = 60;
/// Most limits one key may carry (after `rpm`, `tpm` and the per-model maps are added).
pub const MAX_LIMITS: usize = 32;
/// Most CIDRs in `allowed_ips`.
pub const MAX_ALLOWED_IPS: usize = 64;

/// A window as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last `secs` seconds.
    Rolling { secs: i64 },
    /// The current day in the time zone.
    Day,
    /// The current month in the time zone.
    Month,
}

impl Window {
    pub fn parse(text: &str) -> Option<Self> {
        let secs = match text {
            "1m" => 60,
            "1h" => 3_600,
            "1d" => 86_400,
            "7d" => 7 * 86_400,
            "30d" => 30 * 86_400,
            "day" => return Some(Self::Day),
            "month" => return Some(Self::Month),
            _ => return None,
        };
        Some(Self::Rolling { secs })
    }
}

/// One limit of a key, resolved: `rpm` and the like become `1m` limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// As written (`1m`, `day`): named in refusals and the usage answer.
    pub label: String,
    pub window: Window,
    pub model: Option<String>,
    pub requests: Option<u64>,
    pub tokens: Option<u64>,
    pub cost: Option<u64>,
}

impl Limit {
    fn slot(&self) -> String {
        format!("{}|{}", self.label, self.model.as_deref().unwrap_or("*"))
    }

    /// Matched as `allowed_models` are: the name as requested, its base model or its display name.
    pub fn applies_to(&self, model: &str) -> bool {
        self.model
            .as_ref()
            .is_none_or(|m| super::check_key::allows_model(std::slice::from_ref(m), model))
    }
}

/// Why a policy was refused: the message names the field.
pub fn validate(policy: &KeyPolicy) -> Result<(), String> {
    for (i, limit) in policy.limits.iter().enumerate() {
        if Window::parse(&limit.window).is_none() {
            return Err(format!(
                "limits[{i}].window: expected one of 1m, 1h, 1d, 7d, 30d, day, month"
            ));
        }
        if limit.requests.is_none() && limit.tokens.is_none() && limit.cost.is_none() {
            return Err(format!(
                "limits[{i}]: set at least one of requests, tokens, cost"
            ));
        }
        for (field, value) in [
            ("requests", limit.requests),
            ("tokens", limit.tokens),
            ("cost", limit.cost),
        ] {
            if value == Some(0) {
                return Err(format!("limits[{i}].{field}: expected an integer ≥ 1"));
            }
        }
        if limit.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return Err(format!("limits[{i}].model: expected a model name"));
        }
    }
    for (field, value) in [("rpm", policy.rpm), ("tpm", policy.tpm)] {
        if value == Some(0) {
            return Err(format!("{field}: expected an integer ≥ 1"));
        }
    }
    for (field, map) in [
        ("model_rpm", &policy.model_rpm),
        ("model_tpm", &policy.model_tpm),
    ] {
        for (model, n) in map {
            if model.trim().is_empty() || *n == 0 {
                return Err(format!("{field}: expected model names with integers ≥ 1"));
            }
        }
    }
    if resolve(policy).len() > MAX_LIMITS {
        return Err(format!("limits: at most {MAX_LIMITS} limits per key"));
    }
    if policy.allowed_ips.len() > MAX_ALLOWED_IPS {
        return Err(format!("allowed_ips: at most {MAX_ALLOWED_IPS} entries"));
    }
    for (i, net) in policy.allowed_ips.iter().enumerate() {
        if parse_net(net).is_none() {
            return Err(format!(
                "allowed_ips[{i}]: expected a CIDR such as 10.0.0.0/8 or an address"
            ));
        }
    }
    Ok(())
}

/// A CIDR, or a plain address meaning that host.
pub fn parse_net(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

/// Every limit of `policy`: `limits` as written, then `rpm`, `tpm`, `model_rpm`, `model_tpm`.
pub fn resolve(policy: &KeyPolicy) -> Vec<Limit> {
    let mut out: Vec<Limit> = policy
        .limits
        .iter()
        .filter_map(|l: &KeyLimit| {
            Some(Limit {
                label: l.window.clone(),
                window: Window::parse(&l.window)?,
                model: l.model.clone(),
                requests: l.requests,
                tokens: l.tokens,
                cost: l.cost,
            })
        })
        .collect();
    let minute = |model: Option<&String>, requests: Option<u64>, tokens: Option<u64>| Limit {
        label: "1m".into(),
        window: Window::Rolling { secs: 60 },
        model: model.cloned(),
        requests,
        tokens,
        cost: None,
    };
    if let Some(n) = policy.rpm {
        out.push(minute(None, Some(n), None));
    }
    if let Some(n) = policy.tpm {
        out.push(minute(None, None, Some(n)));
    }
    for (model, n) in &policy.model_rpm {
        out.push(minute(Some(model), Some(*n), None));
    }
    for (model, n) in &policy.model_tpm {
        out.push(minute(Some(model), None, Some(*n)));
    }
    out
}

/// `text` as a time zone; UTC when it is none (the key table validated it).
///
/// The zones come from the time-zone database compiled into the binary as one compressed blob
/// (`jiff`'s bundled tzdb), so `KEYS_TIMEZONE` works the same on a host without `/usr/share/zoneinfo`
/// and costs nothing at rest: a database of one static value per transition would be relocated, and
/// so resident, in every running gateway.
pub fn time_zone(text: &str) -> Tz {
    Tz::get(text.trim()).unwrap_or(Tz::UTC)
}

/// Start of the calendar period holding `now`, and of the next one (unix seconds).
pub fn period(window: Window, now: i64, tz: &Tz) -> (i64, i64) {
    let local = Timestamp::from_second(now)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(tz.clone())
        .date();
    let (start, next) = match window {
        Window::Month => {
            let first = local.first_of_month();
            (first, first.checked_add(1.month()).unwrap_or(first))
        }
        _ => (local, local.tomorrow().unwrap_or(local)),
    };
    (midnight(start, tz), midnight(next, tz))
}

/// The first second of `date` in `tz`: a day starting in a clock change starts when the gap ends.
/// (Only a date at the edge of the representable range has no start in `tz`; UTC's is taken then.)
fn midnight(date: Date, tz: &Tz) -> i64 {
    date.to_zoned_datetime(tz.clone())
        .or_else(|_| date.to_zoned_datetime(Tz::UTC))
        .map(|day| day.timestamp().as_second())
        .unwrap_or_default()
}

/// Where `limit` counts a request at `now`.
pub fn charge_of(limit: &Limit, now: i64, tz: &Tz) -> WindowCharge {
    let (bucket, from, ttl_secs) = match limit.window {
        Window::Rolling { secs } => {
            let size = secs / BUCKETS;
            let bucket = now.div_euclid(size);
            (bucket, bucket - (BUCKETS - 1), secs + size)
        }
        calendar => {
            let (start, next) = period(calendar, now, tz);
            (start, start, next - now + 3_600)
        }
    };
    WindowCharge {
        slot: limit.slot(),
        bucket,
        from,
        ttl_secs,
        requests: limit.requests,
        cost: limit.cost,
        tokens: limit.tokens,
    }
}

/// Seconds until `limit` has room again, from the bucket whose leaving makes room (`None`: the current
/// bucket alone is too much, so it must leave). At least 1.
pub fn retry_after(limit: &Limit, frees_at: Option<i64>, now: i64, tz: &Tz) -> u64 {
    let at = match limit.window {
        Window::Rolling { secs } => {
            let size = secs / BUCKETS;
            let bucket = frees_at.unwrap_or_else(|| now.div_euclid(size));
            (bucket + BUCKETS) * size
        }
        calendar => period(calendar, now, tz).1,
    };
    u64::try_from(at - now).unwrap_or(0).max(1)
}

/// When the window's counted use starts to go: rolling, when the oldest counted bucket leaves (now
/// when nothing is counted); calendar, the next period.
pub fn renews_at(limit: &Limit, oldest: Option<i64>, now: i64, tz: &Tz) -> i64 {
    match limit.window {
        Window::Rolling { secs } => {
            let size = secs / BUCKETS;
            oldest.map_or(now, |bucket| (bucket + BUCKETS) * size)
        }
        calendar => period(calendar, now, tz).1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(window: &str, requests: u64) -> Limit {
        Limit {
            label: window.into(),
            window: Window::parse(window).unwrap(),
            model: None,
            requests: Some(requests),
            tokens: None,
            cost: None,
        }
    }

    #[test]
    fn rolling_buckets_are_a_sixtieth_of_the_window() {
        let one_minute = charge_of(&limit("1m", 5), 1_000, &Tz::UTC);
        assert_eq!((one_minute.bucket, one_minute.from), (1_000, 941));
        let hour = charge_of(&limit("1h", 5), 7_259, &Tz::UTC);
        assert_eq!((hour.bucket, hour.from), (120, 61));
        assert_eq!(hour.slot, "1h|*");
    }

    #[test]
    fn retry_after_waits_for_the_freeing_bucket_to_leave() {
        let l = limit("1m", 5);
        // Bucket 1000 (second 1000) leaves the window at second 1060.
        assert_eq!(retry_after(&l, Some(1_000), 1_030, &Tz::UTC), 30);
        assert_eq!(retry_after(&l, None, 1_030, &Tz::UTC), 60);
        assert_eq!(retry_after(&l, Some(900), 1_030, &Tz::UTC), 1);
        let hour = limit("1h", 5);
        // Bucket 10 covers [600, 660) and leaves at 60 × 70 = 4200.
        assert_eq!(retry_after(&hour, Some(10), 4_000, &Tz::UTC), 200);
        assert_eq!(renews_at(&hour, Some(10), 4_000, &Tz::UTC), 4_200);
        assert_eq!(renews_at(&hour, None, 4_000, &Tz::UTC), 4_000);
    }

    #[test]
    fn calendar_days_follow_the_time_zone() {
        // 2024-03-10 12:00 UTC.
        let now = 1_710_072_000;
        let day = limit("day", 5);
        assert_eq!(
            period(Window::Day, now, &Tz::UTC),
            (1_710_028_800, 1_710_115_200)
        );
        // Tokyo is UTC+9: its 2024-03-10 started at 2024-03-09 15:00 UTC.
        let tokyo = Tz::get("Asia/Tokyo").unwrap();
        let (start, next) = period(Window::Day, now, &tokyo);
        assert_eq!(start, 1_710_028_800 - 9 * 3_600);
        assert_eq!(next, start + 86_400);
        assert_eq!(retry_after(&day, None, now, &tokyo), (next - now) as u64);
        // New York's 2024-03-10 lost an hour to daylight saving time: 23 hours long.
        let new_york = Tz::get("America/New_York").unwrap();
        let (start, next) = period(Window::Day, now, &new_york);
        assert_eq!(next - start, 23 * 3_600);
        let charge = charge_of(&day, now, &tokyo);
        assert_eq!(
            (charge.bucket, charge.from),
            (start_of_tokyo(), start_of_tokyo())
        );
    }

    #[test]
    fn a_day_that_starts_in_a_clock_change_starts_when_the_gap_ends() {
        // Santiago moved its clocks from 00:00 to 01:00 on 2024-09-08 (UTC-4 to UTC-3): that day
        // began at 01:00 local, 04:00 UTC, and lasted 23 hours.
        let santiago = Tz::get("America/Santiago").unwrap();
        let (start, next) = period(Window::Day, 1_725_796_800, &santiago);
        assert_eq!(start, 1_725_768_000);
        assert_eq!(next, 1_725_850_800);
        assert_eq!(time_zone(" Asia/Tokyo "), Tz::get("Asia/Tokyo").unwrap());
        assert_eq!(time_zone("Nowhere/Atlantis"), Tz::UTC);
    }

    fn start_of_tokyo() -> i64 {
        1_710_028_800 - 9 * 3_600
    }

    #[test]
    fn months_renew_on_the_first() {
        // 2024-02-20 00:00 UTC → February 2024 (29 days).
        let (start, next) = period(Window::Month, 1_708_387_200, &Tz::UTC);
        assert_eq!(start, 1_706_745_600);
        assert_eq!(next - start, 29 * 86_400);
    }

    #[test]
    fn shorthands_become_minute_limits_and_validation_names_the_field() {
        let policy = KeyPolicy {
            rpm: Some(10),
            model_tpm: [("gemini-2.5-pro".to_string(), 500)].into(),
            ..KeyPolicy::default()
        };
        let limits = resolve(&policy);
        assert_eq!(limits.len(), 2);
        assert_eq!(limits[1].model.as_deref(), Some("gemini-2.5-pro"));
        assert!(limits[1].applies_to("gemini-2.5-pro") && !limits[1].applies_to("x"));
        assert!(validate(&policy).is_ok());
        let bad_window = KeyPolicy {
            limits: vec![KeyLimit {
                window: "2m".into(),
                requests: Some(1),
                ..KeyLimit::default()
            }],
            ..KeyPolicy::default()
        };
        assert!(validate(&bad_window)
            .unwrap_err()
            .starts_with("limits[0].window"));
        let no_amount = KeyPolicy {
            limits: vec![KeyLimit {
                window: "1m".into(),
                ..KeyLimit::default()
            }],
            ..KeyPolicy::default()
        };
        assert!(validate(&no_amount).unwrap_err().starts_with("limits[0]"));
        let bad_ip = KeyPolicy {
            allowed_ips: vec!["10.0.0.0/33".into()],
            ..KeyPolicy::default()
        };
        assert!(validate(&bad_ip).unwrap_err().starts_with("allowed_ips[0]"));
        let too_many = KeyPolicy {
            model_rpm: (0..40).map(|i| (format!("m{i}"), 1)).collect(),
            ..KeyPolicy::default()
        };
        assert!(validate(&too_many).unwrap_err().starts_with("limits"));
    }
}
