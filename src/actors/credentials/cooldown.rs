//! A credential's rests per model: turning a verdict's [`Wait`] into "until when", and keeping the
//! `cooldowns` records and their `model_cooldowns` mirror in step.

use crate::gateway::classify::Wait;
use crate::store::{CooldownRecord, CredentialState};

use super::usage::next_reset_after;

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
    let resting = state
        .cooldowns
        .get(model)
        .is_some_and(|c| c.until != 0 || c.streak != 0);
    if !resting && !state.model_cooldowns.contains_key(model) {
        return false;
    }
    record(state, model, ended(at_ms));
    true
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
