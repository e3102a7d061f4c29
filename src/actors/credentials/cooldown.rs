//! A credential's rests per model: turning a verdict's [`Wait`] into "until when", and keeping the
//! `cooldowns` records and their `model_cooldowns` mirror in step.

use crate::credentials::{CooldownRecord, CredentialState};
use crate::fleet::usage::next_reset_after;
use crate::upstream::classify::{FailureKind, Scope, Verdict, Wait};

/// Longest back-off for plain 429s: Google's own client treats anything longer as a spent quota.
pub const BACKOFF_MAX_SECS: i64 = 300;
/// Google's messages are kept for the panel, not as an archive.
const MAX_MESSAGE: usize = 300;

/// How the waits are bounded, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct RestPolicy {
    /// First plain-429 back-off in seconds; doubles with each further 429 in a row.
    pub backoff_base_secs: i64,
    /// `COOLDOWN_MAX_SECONDS`: no rest is longer.
    pub max_secs: i64,
}

/// Unix seconds until which the credential rests, or `None` when it does not rest. `streak` counts the
/// 429s in a row including this one (1 for the first).
pub fn rest_until(wait: Wait, now: i64, streak: u32, policy: RestPolicy) -> Option<i64> {
    let cap = policy.max_secs.max(1);
    let secs = match wait {
        Wait::None | Wait::Disabled => return None,
        Wait::Secs(secs) => secs.ceil() as i64,
        Wait::Until(at) => at - now,
        Wait::Backoff => {
            let doublings = streak.saturating_sub(1).min(20);
            policy
                .backoff_base_secs
                .max(1)
                .saturating_mul(1i64 << doublings)
                .min(BACKOFF_MAX_SECS)
        }
        Wait::DailyReset => next_reset_after(now) - now,
    };
    Some(now + secs.clamp(1, cap))
}

/// What a failure does to the credential beyond its error history.
#[derive(Debug, Clone, PartialEq)]
pub struct Booked {
    /// Until when (unix seconds) the credential rests for the model.
    pub rests_until: Option<i64>,
    /// Why the whole credential must be taken out (auto-ban, no credits).
    pub disable: Option<String>,
}

/// Books a failure's verdict for `model`: a rest with its kind, Google's message and the 429 streak, or
/// the reason to take the whole credential out; a 404 on a preview model ends preview access. `now` is
/// `(unix seconds, unix milliseconds)`.
pub fn book(
    state: &mut CredentialState,
    model: &str,
    status: u16,
    verdict: &Verdict,
    now: (i64, i64),
    policy: RestPolicy,
) -> Booked {
    let (now, at_ms) = now;
    let mut booked = Booked {
        rests_until: None,
        disable: None,
    };
    if verdict.kind == FailureKind::NoModelAccess {
        state.preview = false;
    }
    if verdict.wait == Wait::Disabled {
        let message = &verdict.message;
        booked.disable = Some(match verdict.kind {
            FailureKind::NoCredits => format!("no credits: {message}"),
            FailureKind::InvalidKey => format!("invalid API key: {message}"),
            _ => format!("auto-ban: HTTP {status}: {message}"),
        });
        return booked;
    }
    if verdict.scope != Scope::Model {
        return booked;
    }
    let previous = streak(state, model);
    let streak = match verdict.kind {
        FailureKind::RateLimited => previous.saturating_add(1),
        _ => previous,
    };
    let until = rest_until(verdict.wait, now, streak.max(1), policy);
    if until.is_some() || streak != previous {
        let entry = CooldownRecord {
            until: until.unwrap_or(0),
            kind: verdict.kind.as_str().to_string(),
            message: verdict.message.clone(),
            streak,
            at: at_ms,
        };
        record(state, model, entry);
    }
    booked.rests_until = until;
    booked
}

/// The 429 streak this model has built up for the credential.
pub fn streak(state: &CredentialState, model: &str) -> u32 {
    state.cooldowns.get(model).map_or(0, |c| c.streak)
}

/// Records a rest (or a streak without one, `until` 0) and mirrors it.
pub fn record(state: &mut CredentialState, model: &str, mut entry: CooldownRecord) {
    if entry.message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !entry.message.is_char_boundary(cut) {
            cut -= 1;
        }
        entry.message.truncate(cut);
    }
    if entry.until > 0 {
        state.model_cooldowns.insert(model.to_string(), entry.until);
    } else {
        state.model_cooldowns.remove(model);
    }
    state.cooldowns.insert(model.to_string(), entry);
}

/// A success: the rest and the streak end. Answers whether anything changed.
pub fn end(state: &mut CredentialState, model: &str, at_ms: i64) -> bool {
    if !has_rest(state, model) {
        return false;
    }
    record(state, model, ended(at_ms));
    true
}

/// Whether a success with `model` would change anything ([`end`] answers `true`).
pub fn has_rest(state: &CredentialState, model: &str) -> bool {
    let resting = state
        .cooldowns
        .get(model)
        .is_some_and(|c| c.until != 0 || c.streak != 0);
    resting || state.model_cooldowns.contains_key(model)
}

/// Every model a success would end a rest or streak of.
pub fn models_with_rests(state: &CredentialState) -> std::collections::BTreeSet<String> {
    state
        .cooldowns
        .keys()
        .chain(state.model_cooldowns.keys())
        .filter(|model| has_rest(state, model))
        .cloned()
        .collect()
}

/// An admin's clear: every rest ends (the entries stay as "ended" so other instances learn of it).
pub fn clear_all(state: &mut CredentialState, at_ms: i64) {
    let models: Vec<String> = state
        .cooldowns
        .keys()
        .chain(state.model_cooldowns.keys())
        .cloned()
        .collect();
    for model in models {
        record(state, &model, ended(at_ms));
    }
}

/// An admin's clear of one model's rest.
pub fn clear_model(state: &mut CredentialState, model: &str, at_ms: i64) -> bool {
    let known = state.cooldowns.contains_key(model) || state.model_cooldowns.contains_key(model);
    if known {
        record(state, model, ended(at_ms));
    }
    known
}

/// A fresh quota snapshot (fetched at `fetched_at_ms`) shows quota for `model` again: a daily-quota rest
/// booked before it ends now. The record stays, expired, so the next call is a half-open probe whose
/// success ends it and whose failure books the rest again. Short rate-limit rests keep their hint.
pub fn heal(state: &mut CredentialState, model: &str, now: i64, fetched_at_ms: i64) -> bool {
    let Some(entry) = state.cooldowns.get(model) else {
        return false;
    };
    let daily = entry.kind == FailureKind::DailyQuota.as_str();
    if !daily || entry.until <= now || entry.at >= fetched_at_ms {
        return false;
    }
    let healed = CooldownRecord {
        until: now,
        at: fetched_at_ms,
        ..entry.clone()
    };
    record(state, model, healed);
    true
}

fn ended(at_ms: i64) -> CooldownRecord {
    CooldownRecord {
        at: at_ms,
        ..CooldownRecord::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RestPolicy = RestPolicy {
        backoff_base_secs: 2,
        max_secs: 86400,
    };

    #[test]
    fn plain_429s_double_from_the_base_up_to_the_limit() {
        let waits: Vec<i64> = (1..=10)
            .map(|n| rest_until(Wait::Backoff, 1000, n, POLICY).unwrap() - 1000)
            .collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }

    #[test]
    fn hints_are_rounded_up_and_capped() {
        assert_eq!(rest_until(Wait::Secs(2.5), 1000, 1, POLICY), Some(1003));
        assert_eq!(rest_until(Wait::Secs(0.2), 1000, 1, POLICY), Some(1001));
        assert_eq!(rest_until(Wait::Until(1600), 1000, 1, POLICY), Some(1600));
        let small = RestPolicy {
            max_secs: 3600,
            ..POLICY
        };
        assert_eq!(rest_until(Wait::Secs(1e9), 0, 1, small), Some(3600));
        assert_eq!(rest_until(Wait::None, 0, 1, POLICY), None);
        assert_eq!(rest_until(Wait::Disabled, 0, 1, POLICY), None);
    }

    #[test]
    fn daily_reset_is_the_next_boundary() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T08:00:00Z")
            .unwrap()
            .timestamp();
        assert_eq!(
            rest_until(Wait::DailyReset, now, 1, POLICY),
            Some(now + 23 * 3600)
        );
    }

    fn verdict(kind: FailureKind, wait: Wait, scope: Scope) -> Verdict {
        Verdict {
            kind,
            wait,
            scope,
            retry_elsewhere: true,
            message: "Google says no".into(),
        }
    }

    #[test]
    fn booking_rests_the_model_or_benches_the_credential() {
        let mut state = CredentialState::default();
        let plain = verdict(FailureKind::RateLimited, Wait::Backoff, Scope::Model);
        let first = book(&mut state, "m", 429, &plain, (1000, 1), POLICY);
        assert_eq!(first.rests_until, Some(1002));
        let second = book(&mut state, "m", 429, &plain, (1010, 2), POLICY);
        assert_eq!(second.rests_until, Some(1014), "doubled");
        let entry = &state.cooldowns["m"];
        assert_eq!(
            (entry.kind.as_str(), entry.streak, entry.at),
            ("rate_limited", 2, 2)
        );
        assert_eq!(entry.message, "Google says no");
        // A capacity blip keeps the streak and rests briefly.
        let capacity = verdict(FailureKind::Capacity, Wait::Secs(2.0), Scope::Model);
        let booked = book(&mut state, "m", 429, &capacity, (1020, 3), POLICY);
        assert_eq!(booked.rests_until, Some(1022));
        assert_eq!(streak(&state, "m"), 2);
        // No credits and auto-ban take the whole credential out, with the reason.
        let credits = verdict(FailureKind::NoCredits, Wait::Disabled, Scope::Credential);
        let booked = book(&mut state, "other", 429, &credits, (1030, 4), POLICY);
        assert_eq!(
            booked.disable.as_deref(),
            Some("no credits: Google says no")
        );
        assert_eq!(booked.rests_until, None);
        let ban = verdict(FailureKind::Auth, Wait::Disabled, Scope::Credential);
        let booked = book(&mut state, "other", 403, &ban, (1030, 5), POLICY);
        assert_eq!(
            booked.disable.as_deref(),
            Some("auto-ban: HTTP 403: Google says no")
        );
        assert!(!state.cooldowns.contains_key("other"));
        let preview = verdict(FailureKind::NoModelAccess, Wait::None, Scope::Model);
        book(&mut state, "p-preview", 404, &preview, (1040, 6), POLICY);
        assert!(!state.preview);
        assert!(!state.model_cooldowns.contains_key("p-preview"));
    }

    #[test]
    fn a_fresh_snapshot_heals_only_daily_rests_booked_before_it() {
        let mut state = CredentialState::default();
        let daily = |until, at| CooldownRecord {
            until,
            kind: "daily_quota".into(),
            message: String::new(),
            streak: 0,
            at,
        };
        record(&mut state, "pro", daily(90_000, 1_000));
        record(
            &mut state,
            "flash",
            CooldownRecord {
                kind: "rate_limited".into(),
                ..daily(90_000, 1_000)
            },
        );
        assert!(
            !heal(&mut state, "pro", 500, 900),
            "snapshot older than the rest"
        );
        assert!(
            !heal(&mut state, "flash", 500, 2_000),
            "a short rest keeps its hint"
        );
        assert!(heal(&mut state, "pro", 500, 2_000));
        let entry = &state.cooldowns["pro"];
        assert_eq!((entry.until, entry.at), (500, 2_000));
        assert!(has_rest(&state, "pro"), "half-open until a success");
        assert!(!heal(&mut state, "pro", 600, 3_000), "already ended");
        assert!(clear_model(&mut state, "flash", 4_000));
        assert!(!state.model_cooldowns.contains_key("flash"));
        assert!(state.model_cooldowns.contains_key("pro"));
        assert!(!clear_model(&mut state, "none", 4_000));
    }

    #[test]
    fn a_success_ends_the_rest_and_the_streak() {
        let mut state = CredentialState::default();
        record(
            &mut state,
            "m",
            CooldownRecord {
                until: 50,
                kind: "rate_limited".into(),
                message: "x".repeat(1000),
                streak: 3,
                at: 1,
            },
        );
        assert_eq!(state.model_cooldowns["m"], 50);
        assert_eq!(state.cooldowns["m"].message.len(), MAX_MESSAGE);
        assert_eq!(streak(&state, "m"), 3);
        assert!(end(&mut state, "m", 2));
        assert!(state.model_cooldowns.is_empty());
        assert_eq!(streak(&state, "m"), 0);
        assert!(!end(&mut state, "m", 3), "nothing left to end");
    }
}
