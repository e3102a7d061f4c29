//! The stored credential: the credential JSON as uploaded plus the gateway's state for it. Plain data:
//! serde only, every store backend persists it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::CredentialKind;

/// How many recent upstream errors a credential remembers.
pub const MAX_ERROR_HISTORY: usize = 10;

/// One Google account: the OAuth JSON exactly as uploaded (unknown fields kept) plus the gateway's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialRecord {
    /// File-style name, e.g. `my-project-1751713012.json`. Unique; the key in every backend.
    pub name: String,
    /// Which Google API the credential calls. Records written before kinds existed have none: Code Assist.
    #[serde(default)]
    pub kind: CredentialKind,
    /// The OAuth credential object (`client_id`, `client_secret`, `refresh_token`, `token`, `expiry`,
    /// `project_id`, …). Kept as a JSON object so fields we do not know survive a round trip.
    pub credential: Map<String, Value>,
    #[serde(default)]
    pub state: CredentialState,
}

/// Health, cooldowns and usage of one credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CredentialState {
    pub disabled: bool,
    /// Why it is disabled: `invalid_grant`, `auto-ban: 403`, `by hand`, …
    pub disabled_reason: Option<String>,
    /// Unix milliseconds of the last enable/disable, so instances sharing a store agree on the latest.
    pub disabled_changed_at: i64,
    /// Most recent last; at most [`MAX_ERROR_HISTORY`].
    pub errors: Vec<ErrorRecord>,
    /// Unix seconds of the last successful upstream call.
    pub last_success: Option<i64>,
    pub user_email: Option<String>,
    /// Base model → unix seconds until which this credential must not be used for it. Mirrors the
    /// resting entries of `cooldowns`, kept for readers (and records) that predate it.
    pub model_cooldowns: BTreeMap<String, i64>,
    /// Base model → why and how long the credential rests for it (or, with `until` 0, the event that
    /// ended the rest: a success or a clear).
    pub cooldowns: BTreeMap<String, CooldownRecord>,
    /// False once a preview model answered 404 for this credential.
    pub preview: bool,
    pub usage: UsageCounters,
    /// Incremented by every write of this record; lets other instances notice changes.
    pub revision: u64,
}

impl Default for CredentialState {
    fn default() -> Self {
        Self {
            disabled: false,
            disabled_reason: None,
            disabled_changed_at: 0,
            errors: Vec::new(),
            last_success: None,
            user_email: None,
            model_cooldowns: BTreeMap::new(),
            cooldowns: BTreeMap::new(),
            preview: true,
            usage: UsageCounters::default(),
            revision: 0,
        }
    }
}

/// One model's rest for one credential.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CooldownRecord {
    /// Unix seconds until which the credential rests; 0 once a success or a clear ended the rest.
    pub until: i64,
    /// What Google's answer was classified as: `rate_limited`, `daily_quota`, `capacity`, …
    pub kind: String,
    /// Google's own message.
    pub message: String,
    /// Plain 429s in a row with no success between them; drives the exponential back-off.
    pub streak: u32,
    /// Unix milliseconds of the event that wrote this entry: across instances the latest event wins.
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    pub code: u16,
    pub message: String,
    /// Unix seconds.
    pub at: i64,
}

/// Daily usage of one credential; the day rolls over at 07:00 UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UsageCounters {
    /// Unix seconds of the next reset boundary; counters are zeroed lazily once now ≥ this.
    pub next_reset: i64,
    pub total_calls: u64,
    pub pro_calls: u64,
    pub daily_limit_total: u64,
    pub daily_limit_pro: u64,
    /// Successful calls per model today.
    pub calls_per_model: BTreeMap<String, u64>,
    /// Lifetime counters for success-rate charts.
    pub success_total: u64,
    pub failure_total: u64,
    /// Calls per UTC day (`YYYY-MM-DD`), kept for the last 30 days.
    pub history: BTreeMap<String, u64>,
}

impl Default for UsageCounters {
    fn default() -> Self {
        Self {
            next_reset: 0,
            total_calls: 0,
            pro_calls: 0,
            daily_limit_total: 1000,
            daily_limit_pro: 100,
            calls_per_model: BTreeMap::new(),
            success_total: 0,
            failure_total: 0,
            history: BTreeMap::new(),
        }
    }
}
