//! The records every backend stores. Plain data: serde only, no behaviour beyond small helpers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

/// The kinds of Google credential one pool can hold. Each knows its own envelope, URL and auth
/// (`upstream::kind`); everything else (rotation, cooldowns, usage) is shared.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// An OAuth login calling the Code Assist API (`v1internal:*`), as the Gemini CLI does.
    #[default]
    CodeAssist,
    /// An AI Studio key calling the Generative Language API (`v1beta/models/*`).
    GeminiApiKey,
    /// A Vertex AI service account (JWT-bearer token) or an express-mode API key.
    Vertex,
}

impl CredentialKind {
    pub const ALL: [CredentialKind; 3] = [Self::CodeAssist, Self::GeminiApiKey, Self::Vertex];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CodeAssist => "code_assist",
            Self::GeminiApiKey => "gemini_api_key",
            Self::Vertex => "vertex",
        }
    }

    /// The kind of a bare credential JSON (a file dropped in the credentials folder, an upload): a
    /// service-account key is Vertex, anything else an OAuth login.
    pub fn detect(credential: &Map<String, Value>) -> Self {
        match credential.get("type").and_then(Value::as_str) {
            Some("service_account") => Self::Vertex,
            _ => Self::CodeAssist,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text.trim().to_ascii_lowercase())
    }
}

impl std::fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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

/// An `sk-` key handed to a user, with its quota.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub api_key: String,
    pub total_quota: u64,
    pub used_quota: u64,
    /// Unix seconds.
    pub created_at: i64,
    pub description: Option<String>,
    /// Model → quota consumed by it.
    #[serde(default)]
    pub model_stats: BTreeMap<String, u64>,
    /// Empty means every model.
    #[serde(default)]
    pub allowed_models: Vec<String>,
    pub max_concurrent: Option<u32>,
    /// Unix seconds after which the key is refused.
    pub expires_at: Option<i64>,
    /// Limits per time window and source addresses; empty for keys made before them.
    #[serde(default, skip_serializing_if = "KeyPolicy::is_empty")]
    pub policy: KeyPolicy,
}

/// A key's limits per time window and the addresses it may be used from, as the panel wrote them
/// (`rpm`, `tpm` and the per-model maps are answered back as written, not folded into `limits`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyPolicy {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<KeyLimit>,
    /// Requests per minute of the whole key: a `1m` limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// Tokens per minute of the whole key: a `1m` limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// Model → requests per minute to that model.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub model_rpm: BTreeMap<String, u64>,
    /// Model → tokens per minute of that model.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub model_tpm: BTreeMap<String, u64>,
    /// CIDRs the key may be used from; empty means anywhere.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_ips: Vec<String>,
}

impl KeyPolicy {
    pub fn is_empty(&self) -> bool {
        *self == KeyPolicy::default()
    }
}

/// One limit of a key over a time window: at least one of the amounts is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLimit {
    /// `1m`, `1h`, `1d`, `7d`, `30d` (rolling) or `day`, `month` (calendar).
    pub window: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<u64>,
    /// Counts only requests to this model (the name as requested, after any prefix is stripped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl ApiKeyRecord {
    pub fn remaining(&self) -> u64 {
        self.total_quota.saturating_sub(self.used_quota)
    }
}

/// One debit of a batch ([`crate::store::Store::debit_keys`]): the arguments of `debit_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebitRequest {
    pub api_key: String,
    pub model: String,
    pub cost: u64,
    /// Unix seconds; the key must expire after it.
    pub now: i64,
}

/// Result of an atomic debit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebitOutcome {
    /// The cost was taken; the balance after it.
    Debited {
        used_quota: u64,
        total_quota: u64,
    },
    /// Remaining quota is smaller than the cost; nothing taken.
    Exhausted {
        used_quota: u64,
        total_quota: u64,
    },
    /// The key is past its expiry; nothing taken.
    Expired,
    NotFound,
}
