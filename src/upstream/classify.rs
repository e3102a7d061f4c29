//! The one reading of a failed Google call: what went wrong (kind), how long the credential should rest,
//! whether that rest concerns the model or the whole credential, and whether another credential may
//! succeed. Pure: the retry loop (`dispatch`) and the credential's bookkeeping (`CredentialActor`) both
//! act on the same [`Verdict`] instead of each guessing from the status code.
//!
//! The order of the checks follows the official Gemini CLI's `classifyGoogleError`: a daily quota in
//! `QuotaFailure` first, then `ErrorInfo.reason`, then `RetryInfo`, then per-minute quotas, then the
//! "Please retry in …" message, and a plain 429 last.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::google_error::GoogleError;
use super::UpstreamError;
use crate::config::Settings;

/// A hint longer than this is not a burst limit but a spent quota (the CLI's "terminal" threshold).
const LONG_WAIT_SECS: f64 = 300.0;
/// `RATE_LIMIT_EXCEEDED` without a delay: the CLI waits this long.
const RATE_LIMIT_DEFAULT_SECS: f64 = 10.0;
/// A per-minute quota frees itself within a minute.
const PER_MINUTE_SECS: f64 = 60.0;
/// Capacity is Google's problem, not the account's: a short pause spreads retries, nothing more.
pub const CAPACITY_REST_SECS: u64 = 2;
pub const CAPACITY_MAX_REST_SECS: u64 = 5;

/// What a failure was, in the words the panel, the log and `/creds/status` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// A short-term limit (per minute, `RATE_LIMIT_EXCEEDED`, or a 429 that says nothing more).
    RateLimited,
    /// The model's daily (or otherwise long) quota is spent for this account.
    DailyQuota,
    /// Google has no capacity for the model right now; any account may hit it.
    Capacity,
    /// The account has no credits left (`INSUFFICIENT_G1_CREDITS_BALANCE`).
    NoCredits,
    /// Google refused the credential itself (401, 403).
    Auth,
    /// Google does not know the API key (400 `API_KEY_INVALID`): it never will.
    InvalidKey,
    /// The account may not use this (preview) model.
    NoModelAccess,
    /// A server error, timeout or cut connection: says nothing about the account.
    Transient,
    /// The request itself was refused; another credential would be refused too.
    ClientError,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::DailyQuota => "daily_quota",
            Self::Capacity => "capacity",
            Self::NoCredits => "no_credits",
            Self::Auth => "auth",
            Self::InvalidKey => "invalid_key",
            Self::NoModelAccess => "no_model_access",
            Self::Transient => "transient",
            Self::ClientError => "client_error",
        }
    }

    /// Back from the stored string; unknown strings (a newer instance's kind) read as rate-limited.
    pub fn parse(text: &str) -> Self {
        match text {
            "daily_quota" => Self::DailyQuota,
            "capacity" => Self::Capacity,
            "no_credits" => Self::NoCredits,
            "auth" => Self::Auth,
            "invalid_key" => Self::InvalidKey,
            "no_model_access" => Self::NoModelAccess,
            "transient" => Self::Transient,
            "client_error" => Self::ClientError,
            _ => Self::RateLimited,
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long the credential rests. Resolved to a time by `cooldown::rest_until`, which knows the clock,
/// the credential's 429 streak and the configured caps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Wait {
    /// Usable again at once.
    None,
    /// Google said how long, in seconds.
    Secs(f64),
    /// Google named the moment (unix seconds).
    Until(i64),
    /// A plain 429: exponential back-off by the number of 429s in a row.
    Backoff,
    /// Until the next daily quota reset.
    DailyReset,
    /// Out of rotation until an admin enables it again.
    Disabled,
}

/// What a rest applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// This credential, for this model only.
    Model,
    /// This credential, for every model.
    Credential,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub kind: FailureKind,
    pub wait: Wait,
    pub scope: Scope,
    /// Whether trying another credential for the same request makes sense.
    pub retry_elsewhere: bool,
    /// Google's own message (or a short description when it sent none).
    pub message: String,
}

/// Whether a model needs an account with preview access (the one place that decides it).
pub fn is_preview_model(base_model: &str) -> bool {
    base_model.contains("preview")
}

/// Classifies any failed upstream call.
pub fn classify_error(err: &UpstreamError, base_model: &str, settings: &Settings) -> Verdict {
    match err {
        UpstreamError::Status { status, body } => {
            classify(*status, body.as_ref(), base_model, settings)
        }
        UpstreamError::Timeout | UpstreamError::Network(_) | UpstreamError::Cut => Verdict {
            kind: FailureKind::Transient,
            wait: Wait::None,
            scope: Scope::Model,
            retry_elsewhere: settings.retry_429_enabled,
            message: err.to_string(),
        },
        // A 2xx we could not read: another account would get the same answer. A stop is no
        // credential's fault and leaves no time for another.
        UpstreamError::Protocol(_) | UpstreamError::Stopping => Verdict {
            kind: FailureKind::Transient,
            wait: Wait::None,
            scope: Scope::Model,
            retry_elsewhere: false,
            message: err.to_string(),
        },
    }
}

/// Classifies Google's error answer `status` + `body` for a call to `base_model`.
pub fn classify(
    status: u16,
    body: Option<&Value>,
    base_model: &str,
    settings: &Settings,
) -> Verdict {
    let parsed = body.and_then(GoogleError::parse).unwrap_or_default();
    let message = if parsed.message.is_empty() {
        format!("HTTP {status}")
    } else {
        parsed.message.clone()
    };
    let (kind, wait, scope) = read(status, &parsed, base_model);
    let retry_elsewhere = match kind {
        FailureKind::RateLimited
        | FailureKind::DailyQuota
        | FailureKind::Capacity
        | FailureKind::Transient => settings.retry_429_enabled,
        FailureKind::NoCredits | FailureKind::NoModelAccess | FailureKind::InvalidKey => true,
        FailureKind::Auth => status == 401,
        FailureKind::ClientError => false,
    };
    let mut verdict = Verdict {
        kind,
        wait,
        scope,
        retry_elsewhere,
        message,
    };
    // The configured auto-ban codes take the credential out whatever the body says.
    if settings.auto_ban && settings.auto_ban_error_codes.contains(&status) {
        verdict.wait = Wait::Disabled;
        verdict.scope = Scope::Credential;
        verdict.retry_elsewhere = true;
    }
    verdict
}

fn read(status: u16, e: &GoogleError, base_model: &str) -> (FailureKind, Wait, Scope) {
    use FailureKind as K;
    let exhausted = e.status == "RESOURCE_EXHAUSTED";
    match status {
        401 | 403 => return (K::Auth, Wait::None, Scope::Credential),
        // A dead key (AI Studio, Vertex express) is the credential's fault, not the request's.
        400 if e.reason.as_deref() == Some("API_KEY_INVALID") => {
            return (K::InvalidKey, Wait::Disabled, Scope::Credential)
        }
        404 if is_preview_model(base_model) => return (K::NoModelAccess, Wait::None, Scope::Model),
        429 | 499 | 503 => {}
        _ if exhausted => {}
        500..=599 => return (K::Transient, Wait::None, Scope::Model),
        _ => return (K::ClientError, Wait::None, Scope::Model),
    }
    let (kind, wait) = read_limit(status, e);
    let scope = if kind == K::NoCredits {
        Scope::Credential
    } else {
        Scope::Model
    };
    (kind, wait, scope)
}

/// The quota reading of a 429 / 499 / 503 / RESOURCE_EXHAUSTED body.
fn read_limit(status: u16, e: &GoogleError) -> (FailureKind, Wait) {
    use FailureKind as K;
    let hint = reset_hint(e);
    if e.quota_ids
        .iter()
        .any(|id| id.contains("PerDay") || id.contains("Daily"))
    {
        return (K::DailyQuota, hint.unwrap_or(Wait::DailyReset));
    }
    match e.reason.as_deref() {
        Some("INSUFFICIENT_G1_CREDITS_BALANCE") => return (K::NoCredits, Wait::Disabled),
        Some("MODEL_CAPACITY_EXHAUSTED" | "MODEL_CAPACITY_EXCEEDED") => {
            return (K::Capacity, capacity_wait(e));
        }
        Some("QUOTA_EXHAUSTED") => return (K::DailyQuota, hint.unwrap_or(Wait::DailyReset)),
        Some("RATE_LIMIT_EXCEEDED") => {
            let secs = e.retry_delay_secs.unwrap_or(RATE_LIMIT_DEFAULT_SECS);
            return by_length(secs);
        }
        _ => {}
    }
    // A reset moment with no reason: the quota is spent until then.
    if let Some(at) = e.reset_at {
        return (K::DailyQuota, Wait::Until(at));
    }
    if let Some(secs) = e.message_reset_secs() {
        return (K::DailyQuota, Wait::Secs(secs));
    }
    if mentions_capacity(&e.message) {
        return (K::Capacity, capacity_wait(e));
    }
    if let Some(secs) = e.retry_delay_secs.or(e.reset_delay_secs) {
        return by_length(secs);
    }
    let per_minute = e.quota_ids.iter().any(|id| id.contains("PerMinute"))
        || e.quota_limit
            .as_deref()
            .is_some_and(|l| l.contains("PerMinute"));
    if per_minute {
        return (K::RateLimited, Wait::Secs(PER_MINUTE_SECS));
    }
    if let Some(secs) = e.message_retry_secs() {
        return by_length(secs);
    }
    if status == 503 && e.status != "RESOURCE_EXHAUSTED" {
        // "The model is overloaded" is capacity; any other 503 is an ordinary server hiccup.
        let lower = e.message.to_ascii_lowercase();
        if lower.contains("overloaded") {
            return (K::Capacity, capacity_wait(e));
        }
        return (K::Transient, Wait::None);
    }
    (K::RateLimited, Wait::Backoff)
}

fn by_length(secs: f64) -> (FailureKind, Wait) {
    if secs > LONG_WAIT_SECS {
        (FailureKind::DailyQuota, Wait::Secs(secs))
    } else {
        (FailureKind::RateLimited, Wait::Secs(secs))
    }
}

/// Google's hint of when a spent quota comes back, if any.
fn reset_hint(e: &GoogleError) -> Option<Wait> {
    e.reset_at
        .map(Wait::Until)
        .or_else(|| e.reset_delay_secs.map(Wait::Secs))
        .or_else(|| e.retry_delay_secs.map(Wait::Secs))
}

fn capacity_wait(e: &GoogleError) -> Wait {
    let secs = e
        .retry_delay_secs
        .unwrap_or(CAPACITY_REST_SECS as f64)
        .min(CAPACITY_MAX_REST_SECS as f64);
    Wait::Secs(secs)
}

fn mentions_capacity(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("no capacity available") || lower.contains("exhausted your capacity")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigLayers;
    use std::collections::HashMap;

    fn settings(env: &[(&str, &str)]) -> Settings {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConfigLayers::load(None, &env).unwrap().resolve().unwrap()
    }

    macro_rules! fixture {
        ($name:literal) => {
            serde_json::from_str::<Value>(include_str!(concat!(
                "../../tests/fixtures/google_errors/",
                $name,
                ".json"
            )))
            .unwrap()
        };
    }

    fn verdict(status: u16, body: Value, model: &str) -> Verdict {
        classify(status, Some(&body), model, &settings(&[]))
    }

    #[test]
    fn plain_429_backs_off_and_retries_elsewhere() {
        let v = verdict(429, fixture!("429_plain"), "gemini-2.5-pro");
        assert_eq!(v.kind, FailureKind::RateLimited);
        assert_eq!(v.wait, Wait::Backoff);
        assert_eq!(v.scope, Scope::Model);
        assert!(v.retry_elsewhere);
        assert_eq!(v.message, "Resource has been exhausted (e.g. check quota).");
    }

    #[test]
    fn retry_info_is_the_wait() {
        let v = verdict(429, fixture!("429_retry_info_3s"), "gemini-2.5-pro");
        assert_eq!(
            (v.kind, v.wait),
            (FailureKind::RateLimited, Wait::Secs(3.0))
        );
        let v = verdict(429, fixture!("429_stream_array"), "gemini-2.5-pro");
        assert_eq!(
            (v.kind, v.wait),
            (FailureKind::RateLimited, Wait::Secs(0.9))
        );
    }

    #[test]
    fn rate_limit_exceeded_reason_wins_over_its_message() {
        let v = verdict(429, fixture!("429_rate_limit_exceeded"), "gemini-2.5-pro");
        assert_eq!(
            (v.kind, v.wait),
            (FailureKind::RateLimited, Wait::Secs(2.5))
        );
    }

    #[test]
    fn capacity_by_reason_or_message_is_never_a_long_rest() {
        for body in [
            fixture!("429_capacity"),
            fixture!("429_capacity_message_only"),
        ] {
            let v = verdict(429, body, "gemini-2.5-pro");
            assert_eq!(v.kind, FailureKind::Capacity);
            assert_eq!(v.scope, Scope::Model);
            assert!(v.retry_elsewhere);
            assert!(matches!(v.wait, Wait::Secs(s) if s <= CAPACITY_MAX_REST_SECS as f64));
        }
        let v = verdict(503, fixture!("503_overloaded"), "gemini-2.5-pro");
        assert_eq!(v.kind, FailureKind::Capacity);
    }

    #[test]
    fn daily_quota_without_hint_waits_for_the_daily_reset() {
        let v = verdict(429, fixture!("429_daily_quota"), "gemini-2.5-pro");
        assert_eq!(
            (v.kind, v.wait),
            (FailureKind::DailyQuota, Wait::DailyReset)
        );
        assert_eq!(v.scope, Scope::Model);
        assert!(v.retry_elsewhere);
    }

    #[test]
    fn quota_exhausted_waits_for_the_named_reset() {
        let v = verdict(429, fixture!("429_quota_exhausted_reset"), "gemini-2.5-pro");
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-05T07:20:42Z")
            .unwrap()
            .timestamp();
        assert_eq!((v.kind, v.wait), (FailureKind::DailyQuota, Wait::Until(at)));
    }

    #[test]
    fn per_minute_quotas_wait_a_minute() {
        for body in [
            fixture!("429_per_minute"),
            fixture!("429_quota_limit_per_minute"),
        ] {
            let v = verdict(429, body, "gemini-2.5-flash");
            assert_eq!(
                (v.kind, v.wait),
                (FailureKind::RateLimited, Wait::Secs(60.0))
            );
        }
    }

    #[test]
    fn retry_in_message_is_read() {
        let v = verdict(429, fixture!("429_retry_in_message"), "gemini-2.5-flash");
        assert_eq!(
            (v.kind, v.wait),
            (FailureKind::RateLimited, Wait::Secs(12.3))
        );
    }

    #[test]
    fn no_credits_benches_the_whole_credential() {
        let v = verdict(429, fixture!("429_no_credits"), "gemini-2.5-pro");
        assert_eq!(v.kind, FailureKind::NoCredits);
        assert_eq!(v.wait, Wait::Disabled);
        assert_eq!(v.scope, Scope::Credential);
        assert!(v.retry_elsewhere);
    }

    #[test]
    fn auth_transient_and_client_errors() {
        let v = verdict(403, fixture!("403_permission_denied"), "gemini-2.5-pro");
        assert_eq!((v.kind, v.wait), (FailureKind::Auth, Wait::Disabled));
        assert!(v.retry_elsewhere, "auto-ban is on by default");
        let no_ban = classify(
            403,
            Some(&fixture!("403_permission_denied")),
            "gemini-2.5-pro",
            &settings(&[("AUTO_BAN", "false")]),
        );
        assert_eq!((no_ban.wait, no_ban.retry_elsewhere), (Wait::None, false));
        let v = classify(401, None, "gemini-2.5-pro", &settings(&[]));
        assert_eq!(
            (v.kind, v.scope, v.retry_elsewhere),
            (FailureKind::Auth, Scope::Credential, true)
        );
        assert_eq!(v.message, "HTTP 401");
        let v = verdict(500, fixture!("500_internal"), "gemini-2.5-pro");
        assert_eq!(
            (v.kind, v.wait, v.retry_elsewhere),
            (FailureKind::Transient, Wait::None, true)
        );
        let v = verdict(400, fixture!("400_invalid_argument"), "gemini-2.5-pro");
        assert_eq!(
            (v.kind, v.retry_elsewhere),
            (FailureKind::ClientError, false)
        );
        let v = verdict(404, fixture!("404_not_found"), "gemini-2.5-pro");
        assert_eq!(v.kind, FailureKind::ClientError);
        let v = verdict(404, fixture!("404_not_found"), "gemini-3-pro-preview");
        assert_eq!(
            (v.kind, v.retry_elsewhere),
            (FailureKind::NoModelAccess, true)
        );
    }

    #[test]
    fn an_invalid_api_key_disables_the_credential_and_retries_elsewhere() {
        let v = verdict(400, fixture!("400_api_key_invalid"), "gemini-2.5-pro");
        assert_eq!(
            (v.kind, v.wait, v.scope, v.retry_elsewhere),
            (
                FailureKind::InvalidKey,
                Wait::Disabled,
                Scope::Credential,
                true
            )
        );
        assert_eq!(v.message, "API key not valid. Please pass a valid API key.");
    }

    #[test]
    fn retries_follow_the_retry_switch() {
        let off = settings(&[("RETRY_429_ENABLED", "false")]);
        let v = classify(429, Some(&fixture!("429_plain")), "gemini-2.5-pro", &off);
        assert!(!v.retry_elsewhere);
        let cut = classify_error(&UpstreamError::Timeout, "gemini-2.5-pro", &off);
        assert_eq!(
            (cut.kind, cut.retry_elsewhere),
            (FailureKind::Transient, false)
        );
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in [
            FailureKind::RateLimited,
            FailureKind::DailyQuota,
            FailureKind::Capacity,
            FailureKind::NoCredits,
            FailureKind::Auth,
            FailureKind::InvalidKey,
            FailureKind::NoModelAccess,
            FailureKind::Transient,
            FailureKind::ClientError,
        ] {
            assert_eq!(FailureKind::parse(kind.as_str()), kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
