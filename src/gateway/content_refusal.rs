//! Telling a request Google refuses for what it says from an account that is out of quota. Google answers
//! both with 429 `RESOURCE_EXHAUSTED`; a request whose content trips it (an agent's identity line, a
//! billing header) would otherwise cool down every credential of the pool in turn. The classifier reads
//! one answer and cannot tell; the retry loop can: when one request gets a plain 429 (no rate or daily
//! hint) on two credentials in a row, and both were healthy by their own evidence (quota left in their
//! snapshot, or a success in the last minute), the request is at fault. Its 429s are then booked on
//! neither credential and the client hears so.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use serde_json::Value;

use actix::Addr;

use crate::actors::credentials::CredentialActor;
use crate::fleet::choice::QuotaStand;
use crate::fleet::Lease;
use crate::upstream::classify::{FailureKind, Verdict, Wait};
use crate::upstream::UpstreamError;

/// A credential that served within this long is working: its plain 429 is suspect.
pub const RECENT_SUCCESS_MS: i64 = 60_000;

/// A plain 429 whose booking waits until the retry loop knows whose fault it was.
pub struct Suspect {
    pub lease: Lease<Addr<CredentialActor>>,
    pub error: UpstreamError,
    pub verdict: Verdict,
}

/// A 429 that names neither a rate nor a daily limit: the only kind a request's content causes.
pub fn is_plain_429(error: &UpstreamError, verdict: &Verdict) -> bool {
    error.status() == Some(429)
        && verdict.kind == FailureKind::RateLimited
        && verdict.wait == Wait::Backoff
}

/// Whether the credential had reason to answer: quota left for the model by its last snapshot, or a
/// success in the last minute.
pub fn looks_healthy<A>(lease: &Lease<A>, model: &str, now_ms: i64) -> bool {
    let last = lease.live.last_success_ms();
    let recent = last > 0 && now_ms - last < RECENT_SUCCESS_MS;
    let stand = QuotaStand::of_insight(lease.live.insight_ref().as_deref(), model, now_ms / 1000);
    recent || matches!(stand, QuotaStand::Left { .. })
}

/// A short, stable name for a request body in logs and traces (never the body itself).
pub fn request_hash(request: &Value) -> String {
    let mut hasher = DefaultHasher::new();
    match serde_json::to_vec(request) {
        Ok(bytes) => bytes.hash(&mut hasher),
        Err(_) => 0u8.hash(&mut hasher),
    }
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::classify::Scope;
    use serde_json::json;

    fn verdict(kind: FailureKind, wait: Wait) -> Verdict {
        Verdict {
            kind,
            wait,
            scope: Scope::Model,
            retry_elsewhere: true,
            message: String::new(),
        }
    }

    #[test]
    fn only_a_hintless_rate_limit_429_is_plain() {
        let e429 = UpstreamError::Status {
            status: 429,
            body: None,
        };
        let e500 = UpstreamError::Status {
            status: 500,
            body: None,
        };
        let plain = verdict(FailureKind::RateLimited, Wait::Backoff);
        assert!(is_plain_429(&e429, &plain));
        assert!(!is_plain_429(&e500, &plain));
        assert!(!is_plain_429(
            &e429,
            &verdict(FailureKind::RateLimited, Wait::Secs(3.0))
        ));
        assert!(!is_plain_429(
            &e429,
            &verdict(FailureKind::DailyQuota, Wait::DailyReset)
        ));
    }

    #[test]
    fn the_hash_is_stable_and_says_nothing_of_the_body() {
        let body = json!({"contents": [{"parts": [{"text": "secret words"}]}]});
        let hash = request_hash(&body);
        assert_eq!(hash, request_hash(&body.clone()));
        assert_eq!(hash.len(), 16);
        assert!(!hash.contains("secret"));
        assert_ne!(hash, request_hash(&json!({})));
    }
}
