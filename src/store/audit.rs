//! The audit log's records: who did which admin action to what, and when. Plain data with its bounds;
//! written by the audit writer (`crate::audit`), read by `GET /audit` and its export, pruned after
//! `AUDIT_RETENTION_DAYS`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// At most this many entries are kept per store, whatever their age, so a flood of failed logins
/// cannot grow the store without end. Oldest go first.
pub const MAX_AUDIT_ENTRIES: usize = 50_000;
/// Longest `actor`, `address` and `target`, in characters.
pub const MAX_FIELD_CHARS: usize = 200;
/// Longest `changes`, as JSON text; a bigger one is replaced by a truncated summary.
pub const MAX_CHANGES_BYTES: usize = 4096;
/// Most entries one `list_audit` answers.
pub const MAX_LIST_LIMIT: usize = 10_000;

/// What was done. The wire names are the snake_case forms (`login_failed`, `key_created`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Login,
    LoginFailed,
    KeyCreated,
    KeyUpdated,
    KeyDeleted,
    CredentialAdded,
    CredentialRemoved,
    CredentialEnabled,
    CredentialDisabled,
    CooldownCleared,
    ConfigSaved,
    QuotaRefreshed,
}

impl AuditAction {
    pub const ALL: [AuditAction; 12] = [
        AuditAction::Login,
        AuditAction::LoginFailed,
        AuditAction::KeyCreated,
        AuditAction::KeyUpdated,
        AuditAction::KeyDeleted,
        AuditAction::CredentialAdded,
        AuditAction::CredentialRemoved,
        AuditAction::CredentialEnabled,
        AuditAction::CredentialDisabled,
        AuditAction::CooldownCleared,
        AuditAction::ConfigSaved,
        AuditAction::QuotaRefreshed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::KeyCreated => "key_created",
            AuditAction::KeyUpdated => "key_updated",
            AuditAction::KeyDeleted => "key_deleted",
            AuditAction::CredentialAdded => "credential_added",
            AuditAction::CredentialRemoved => "credential_removed",
            AuditAction::CredentialEnabled => "credential_enabled",
            AuditAction::CredentialDisabled => "credential_disabled",
            AuditAction::CooldownCleared => "cooldown_cleared",
            AuditAction::ConfigSaved => "config_saved",
            AuditAction::QuotaRefreshed => "quota_refreshed",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
                format!("unknown action; use one of {}", names.join(", "))
            })
    }
}

/// One admin action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Random, so two entries of the same millisecond stay two (Redis keeps a set).
    pub id: String,
    /// Unix milliseconds.
    pub time: i64,
    /// Who: `password` (the raw panel password as a token), `session:<id>` (a panel session, by the
    /// first characters of its token id), or `anonymous` for a failed login. Never a secret.
    pub actor: String,
    /// The client address as the gateway determines it (`TRUSTED_PROXIES`).
    pub address: String,
    pub action: AuditAction,
    /// What was acted on: a credential name, a masked key, a configuration key list, …
    pub target: String,
    /// What changed, secrets masked.
    pub changes: Value,
}

impl AuditEntry {
    /// The entry cut to its bounds: long fields shortened, a big `changes` replaced by a summary.
    pub fn bounded(mut self) -> Self {
        self.actor = shorten(&self.actor);
        self.address = shorten(&self.address);
        self.target = shorten(&self.target);
        let text = self.changes.to_string();
        if text.len() > MAX_CHANGES_BYTES {
            let head: String = text.chars().take(MAX_CHANGES_BYTES / 2).collect();
            self.changes = serde_json::json!({"truncated": true, "summary": head});
        }
        self
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_FIELD_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_FIELD_CHARS).collect();
    out.push('…');
    out
}

/// Which entries `list_audit` answers: newest first, older than `before` (unix ms) when set, of one
/// action when set, at most `limit`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditQuery {
    pub limit: usize,
    pub before: Option<i64>,
    pub action: Option<AuditAction>,
}

impl AuditQuery {
    /// Whether `entry` passes the filters (not the limit).
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        self.before.is_none_or(|b| entry.time < b) && self.action.is_none_or(|a| entry.action == a)
    }

    /// The limit within its bound.
    pub fn bounded_limit(&self) -> usize {
        self.limit.clamp(1, MAX_LIST_LIMIT)
    }
}

/// Sorts newest first (ties by id, so paging is stable) and keeps what `query` asks for.
/// An id seen twice (a log copied twice by `migrate` into files) is listed once.
pub fn select(mut entries: Vec<AuditEntry>, query: &AuditQuery) -> Vec<AuditEntry> {
    entries.retain(|e| query.matches(e));
    entries.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.id.cmp(&a.id)));
    entries.dedup_by(|a, b| a.id == b.id);
    entries.truncate(query.bounded_limit());
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time: i64, action: AuditAction) -> AuditEntry {
        AuditEntry {
            id: format!("{time}"),
            time,
            actor: "password".into(),
            address: "127.0.0.1".into(),
            action,
            target: "t".into(),
            changes: Value::Null,
        }
    }

    #[test]
    fn actions_round_trip_through_their_wire_names() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(action));
            assert_eq!(
                serde_json::to_value(action).unwrap(),
                Value::String(action.as_str().into())
            );
        }
        assert!("logout".parse::<AuditAction>().is_err());
    }

    #[test]
    fn select_filters_sorts_newest_first_and_limits() {
        let all = vec![
            entry(1, AuditAction::Login),
            entry(3, AuditAction::KeyCreated),
            entry(2, AuditAction::Login),
            entry(4, AuditAction::Login),
        ];
        let query = AuditQuery {
            limit: 2,
            before: Some(4),
            action: Some(AuditAction::Login),
        };
        let times: Vec<i64> = select(all, &query).iter().map(|e| e.time).collect();
        assert_eq!(times, vec![2, 1]);
    }

    #[test]
    fn big_entries_are_cut_to_their_bounds() {
        let mut e = entry(1, AuditAction::ConfigSaved);
        e.target = "x".repeat(1000);
        e.changes = serde_json::json!({"big": "y".repeat(10_000)});
        let e = e.bounded();
        assert_eq!(e.target.chars().count(), MAX_FIELD_CHARS + 1);
        assert!(e.changes.to_string().len() <= MAX_CHANGES_BYTES);
        assert_eq!(e.changes["truncated"], true);
    }
}
