//! How long a credential must rest after a 429, read from Google's error body.

use serde_json::Value;

/// Used when Google says RESOURCE_EXHAUSTED without saying until when: long enough not to hammer an
/// exhausted account, short enough that a transient burst limit does not sideline it for hours.
pub const DEFAULT_COOLDOWN_SECS: i64 = 300;

/// Unix seconds until which the credential should not be used for this model, or `None` when the body
/// gives no reason to rest (e.g. a capacity 503 without a hint).
pub fn cooldown_until(status: u16, body: Option<&Value>, now: i64, cap_secs: i64) -> Option<i64> {
    let until = hinted_until(body, now).or_else(|| {
        let exhausted = body
            .and_then(|b| b.pointer("/error/status"))
            .and_then(Value::as_str)
            == Some("RESOURCE_EXHAUSTED");
        (status == 429 || exhausted).then_some(now + DEFAULT_COOLDOWN_SECS)
    })?;
    Some(until.clamp(now + 1, now + cap_secs.max(1)))
}

fn hinted_until(body: Option<&Value>, now: i64) -> Option<i64> {
    let details = body?.pointer("/error/details")?.as_array()?;
    let reset = details.iter().find_map(|d| {
        let ts = d.pointer("/metadata/quotaResetTimeStamp")?.as_str()?;
        chrono::DateTime::parse_from_rfc3339(ts)
            .ok()
            .map(|t| t.timestamp())
    });
    if reset.is_some() {
        return reset;
    }
    details.iter().find_map(|d| {
        let delay = d.get("retryDelay")?.as_str()?;
        let secs: f64 = delay.trim().trim_end_matches('s').parse().ok()?;
        Some(now + secs.ceil() as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reset_timestamp_wins() {
        let body = json!({"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[
            {"@type":"type.googleapis.com/google.rpc.ErrorInfo","metadata":{"quotaResetTimeStamp":"2026-01-01T00:10:00Z"}},
            {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"5s"}]}});
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .timestamp();
        assert_eq!(
            cooldown_until(429, Some(&body), now, 86400),
            Some(now + 600)
        );
    }

    #[test]
    fn retry_delay_and_plain_exhaustion() {
        let body = json!({"error":{"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"47.2s"}]}});
        assert_eq!(cooldown_until(429, Some(&body), 1000, 86400), Some(1048));
        let plain = json!({"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"Resource has been exhausted"}});
        assert_eq!(
            cooldown_until(429, Some(&plain), 1000, 86400),
            Some(1000 + DEFAULT_COOLDOWN_SECS)
        );
        assert_eq!(cooldown_until(503, None, 1000, 86400), None);
    }

    #[test]
    fn capped() {
        let body = json!({"error":{"details":[{"retryDelay":"999999s"}]}});
        assert_eq!(cooldown_until(429, Some(&body), 0, 3600), Some(3600));
    }
}
