//! Merging a credential record written by another instance into ours. Whole-record "last writer wins"
//! would let a busy instance's usage write undo another instance's ban, so each part merges by its own
//! rule: the latest enable/disable wins, cooldowns and errors are united, the later token wins, counters
//! take the larger value. The larger of two instances' counts is not their sum, so on a shared store the
//! usage the panel shows does not come from these record copies but from the store's counters, which
//! every instance adds to (`usage_sheet`).

use crate::credentials::json::parse_expiry;
use crate::credentials::{CredentialRecord, CredentialState, MAX_ERROR_HISTORY};

/// The token's expiry, read alone so it works for every kind that holds a token (OAuth, Vertex).
fn expiry_of(record: &CredentialRecord) -> i64 {
    record
        .credential
        .get("expiry")
        .and_then(|v| v.as_str())
        .and_then(parse_expiry)
        .map_or(0, |e| e.timestamp())
}

/// `local` updated with what `external` knows. Idempotent: merging the result again changes nothing.
pub fn merge(local: &CredentialRecord, external: &CredentialRecord) -> CredentialRecord {
    let mut out = local.clone();
    let (ls, es) = (&local.state, &external.state);
    if expiry_of(external) > expiry_of(local) {
        out.credential = external.credential.clone();
    }
    if es.disabled_changed_at > ls.disabled_changed_at {
        out.state.disabled = es.disabled;
        out.state.disabled_reason = es.disabled_reason.clone();
        out.state.disabled_changed_at = es.disabled_changed_at;
    }
    merge_cooldowns(&mut out.state, es);
    for error in &es.errors {
        if !out.state.errors.contains(error) {
            out.state.errors.push(error.clone());
        }
    }
    out.state.errors.sort_by_key(|e| e.at);
    let excess = out.state.errors.len().saturating_sub(MAX_ERROR_HISTORY);
    out.state.errors.drain(..excess);
    out.state.last_success = ls.last_success.max(es.last_success);
    if out.state.user_email.is_none() {
        out.state.user_email = es.user_email.clone();
    }
    // A 404 on a preview model anywhere means this account lacks preview access.
    out.state.preview = ls.preview && es.preview;
    let (lu, eu) = (&ls.usage, &es.usage);
    let usage = &mut out.state.usage;
    if eu.next_reset > lu.next_reset {
        *usage = eu.clone();
    } else if eu.next_reset == lu.next_reset {
        usage.total_calls = lu.total_calls.max(eu.total_calls);
        usage.pro_calls = lu.pro_calls.max(eu.pro_calls);
        for (m, n) in &eu.calls_per_model {
            let slot = usage.calls_per_model.entry(m.clone()).or_default();
            *slot = (*slot).max(*n);
        }
    }
    usage.success_total = lu.success_total.max(eu.success_total);
    usage.failure_total = lu.failure_total.max(eu.failure_total);
    for (d, n) in &eu.history {
        let slot = usage.history.entry(d.clone()).or_default();
        *slot = (*slot).max(*n);
    }
    out.state.revision = ls.revision.max(es.revision);
    out
}

/// Per model the latest event wins — a rest, or the success or clear that ended it — so a clear on one
/// instance is not undone by another's older copy. Entries from before `cooldowns` existed (only in
/// `model_cooldowns`) keep the later end.
fn merge_cooldowns(out: &mut CredentialState, external: &CredentialState) {
    for (model, theirs) in &external.cooldowns {
        let newer = out
            .cooldowns
            .get(model)
            .is_none_or(|ours| (theirs.at, theirs.until) > (ours.at, ours.until));
        if newer {
            out.cooldowns.insert(model.clone(), theirs.clone());
        }
    }
    for (model, until) in &external.model_cooldowns {
        if !out.cooldowns.contains_key(model) {
            let slot = out.model_cooldowns.entry(model.clone()).or_insert(*until);
            *slot = (*slot).max(*until);
        }
    }
    for (model, entry) in &out.cooldowns {
        if entry.until > 0 {
            out.model_cooldowns.insert(model.clone(), entry.until);
        } else {
            out.model_cooldowns.remove(model);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{CooldownRecord, ErrorRecord};
    use serde_json::json;

    fn record(expiry: &str) -> CredentialRecord {
        CredentialRecord {
            name: "a.json".into(),
            kind: Default::default(),
            credential:
                json!({"client_id":"c","client_secret":"s","refresh_token":"r","expiry":expiry})
                    .as_object()
                    .cloned()
                    .unwrap(),
            state: CredentialState::default(),
        }
    }

    #[test]
    fn a_ban_survives_a_busier_instance_and_the_later_token_wins() {
        let mut busy = record("2026-01-01T01:00:00Z");
        busy.state.revision = 500;
        busy.state.usage.success_total = 400;
        let mut banned = record("2026-01-01T02:00:00Z");
        banned.state.revision = 3;
        banned.state.disabled = true;
        banned.state.disabled_reason = Some("auto-ban: HTTP 403".into());
        banned.state.disabled_changed_at = 1000;
        banned
            .state
            .model_cooldowns
            .insert("gemini-2.5-pro".into(), 99);
        banned.state.errors.push(ErrorRecord {
            code: 403,
            message: "no".into(),
            at: 5,
        });
        let merged = merge(&busy, &banned);
        assert!(merged.state.disabled);
        assert_eq!(merged.state.usage.success_total, 400);
        assert_eq!(merged.state.model_cooldowns["gemini-2.5-pro"], 99);
        assert_eq!(merged.credential["expiry"], "2026-01-01T02:00:00Z");
        assert_eq!(merge(&merged, &banned), merged, "idempotent");
        // A later re-enable elsewhere wins over the ban.
        let mut enabled = merged.clone();
        enabled.state.disabled = false;
        enabled.state.disabled_changed_at = 2000;
        assert!(!merge(&merged, &enabled).state.disabled);
    }

    #[test]
    fn the_latest_cooldown_event_wins_so_a_clear_sticks() {
        let rest = |until, at| CooldownRecord {
            until,
            kind: "daily_quota".into(),
            message: "quota".into(),
            streak: 0,
            at,
        };
        let mut cooling = record("2026-01-01T01:00:00Z");
        cooling.state.cooldowns.insert("m".into(), rest(500, 10));
        cooling.state.model_cooldowns.insert("m".into(), 500);
        let mut cleared = cooling.clone();
        cleared.state.cooldowns.insert("m".into(), rest(0, 20));
        cleared.state.model_cooldowns.clear();
        // The instance still holding the cooldown learns of the clear…
        let merged = merge(&cooling, &cleared);
        assert!(merged.state.model_cooldowns.is_empty());
        assert_eq!(merged.state.cooldowns["m"].until, 0);
        // …and the clearing instance is not handed the old cooldown back.
        assert_eq!(merge(&cleared, &cooling), cleared);
        assert_eq!(merge(&merged, &cooling), merged, "idempotent");
        // A newer rest elsewhere comes through with its kind and message.
        let mut again = cleared.clone();
        again.state.cooldowns.insert("m".into(), rest(900, 30));
        again.state.model_cooldowns.insert("m".into(), 900);
        let merged = merge(&cleared, &again);
        assert_eq!(merged.state.model_cooldowns["m"], 900);
        assert_eq!(merged.state.cooldowns["m"].kind, "daily_quota");
    }
}
