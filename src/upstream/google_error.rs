//! Reading Google's structured error bodies: `{"error":{"code","message","status","details":[…]}}`
//! whose `details` may hold `google.rpc.ErrorInfo`, `RetryInfo` and `QuotaFailure`. Only reading — what
//! a body *means* for a credential is decided in `upstream::classify`.
//!
//! The same body reaches us in several wrappings: bare, as the first item of a JSON array (the stream
//! endpoint without `alt=sse`), or stringified inside another error's `message`. All are unwrapped.

use serde_json::Value;

const ERROR_INFO: &str = "google.rpc.ErrorInfo";
const RETRY_INFO: &str = "google.rpc.RetryInfo";
const QUOTA_FAILURE: &str = "google.rpc.QuotaFailure";
/// How deep a stringified error inside a `message` is followed.
const MAX_NESTING: usize = 5;

/// The parts of a Google error body the classifier looks at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoogleError {
    pub code: Option<u16>,
    pub message: String,
    /// `RESOURCE_EXHAUSTED`, `UNAVAILABLE`, …
    pub status: String,
    /// `ErrorInfo.reason`, e.g. `RATE_LIMIT_EXCEEDED`, `QUOTA_EXHAUSTED`, `MODEL_CAPACITY_EXHAUSTED`.
    pub reason: Option<String>,
    pub domain: Option<String>,
    /// `ErrorInfo.metadata.quota_limit`.
    pub quota_limit: Option<String>,
    /// `ErrorInfo.metadata.quotaResetDelay` in seconds.
    pub reset_delay_secs: Option<f64>,
    /// `ErrorInfo.metadata.quotaResetTimeStamp` as unix seconds.
    pub reset_at: Option<i64>,
    /// `RetryInfo.retryDelay` in seconds.
    pub retry_delay_secs: Option<f64>,
    /// `QuotaFailure.violations[].quotaId`.
    pub quota_ids: Vec<String>,
}

impl GoogleError {
    /// Reads an error body; `None` when it is not Google-shaped at all.
    pub fn parse(body: &Value) -> Option<Self> {
        // Error bodies are small; owning the current level keeps the unwrapping simple.
        let mut error = error_object(body)?.clone();
        for _ in 0..MAX_NESTING {
            let nested = error
                .get("message")
                .and_then(Value::as_str)
                .and_then(|m| serde_json::from_str::<Value>(m.trim()).ok())
                .and_then(|v| error_object(&v).cloned());
            match nested {
                Some(inner) => error = inner,
                None => break,
            }
        }
        Some(Self::from_error(&error))
    }

    fn from_error(error: &Value) -> Self {
        let mut out = GoogleError {
            code: error
                .get("code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok()),
            message: text(error.get("message")),
            status: text(error.get("status")),
            ..GoogleError::default()
        };
        let details = error.get("details").and_then(Value::as_array);
        for detail in details.into_iter().flatten() {
            let kind = detail_type(detail);
            if kind.ends_with(ERROR_INFO) {
                out.reason = out.reason.or_else(|| opt_text(detail.get("reason")));
                out.domain = out.domain.or_else(|| opt_text(detail.get("domain")));
                let meta = detail.get("metadata");
                let field = |name: &str| meta.and_then(|m| m.get(name)).and_then(Value::as_str);
                out.quota_limit = out
                    .quota_limit
                    .or_else(|| field("quota_limit").map(str::to_string));
                out.reset_delay_secs = out
                    .reset_delay_secs
                    .or_else(|| field("quotaResetDelay").and_then(parse_duration_secs));
                out.reset_at = out.reset_at.or_else(|| {
                    field("quotaResetTimeStamp")
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
                        .map(|t| t.timestamp())
                });
            } else if kind.ends_with(RETRY_INFO) {
                out.retry_delay_secs = out.retry_delay_secs.or_else(|| {
                    detail
                        .get("retryDelay")
                        .and_then(Value::as_str)
                        .and_then(parse_duration_secs)
                });
            } else if kind.ends_with(QUOTA_FAILURE) {
                let violations = detail.get("violations").and_then(Value::as_array);
                out.quota_ids.extend(
                    violations
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.get("quotaId").and_then(Value::as_str))
                        .map(str::to_string),
                );
            }
        }
        out
    }

    /// The wait Google's message names: "Please retry in 12.3s" / "… in 900ms".
    pub fn message_retry_secs(&self) -> Option<f64> {
        let (_, rest) = self.message.split_once("Please retry in ")?;
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        parse_duration_secs(token.trim_end_matches('.'))
    }

    /// The wait a message like "Your quota will reset after 135h10m5s." names.
    pub fn message_reset_secs(&self) -> Option<f64> {
        let (_, rest) = self.message.split_once("reset after ")?;
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        parse_duration_secs(token.trim_end_matches('.'))
    }
}

/// `{"error":{…}}` or `[{"error":{…}}, …]` → the inner error object.
fn error_object(body: &Value) -> Option<&Value> {
    let body = match body {
        Value::Array(items) => items.first()?,
        other => other,
    };
    body.get("error").filter(|e| e.is_object())
}

/// `@type`, tolerating stray whitespace in the key as some stream parsers leave it.
fn detail_type(detail: &Value) -> &str {
    detail
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.trim() == "@type"))
        .and_then(|(_, v)| v.as_str())
        .unwrap_or_default()
}

fn text(value: Option<&Value>) -> String {
    opt_text(value).unwrap_or_default()
}

fn opt_text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_string)
}

/// Google's durations: protobuf `"2.5s"`, `"900ms"`, and Go-style `"135h9m46s"` / `"1h0m0s"`.
pub fn parse_duration_secs(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let value: f64 = number.parse().ok()?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += value * scale;
        rest = after;
    }
    (total.is_finite() && total >= 0.0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_in_every_spelling() {
        assert_eq!(parse_duration_secs("2.5s"), Some(2.5));
        assert_eq!(parse_duration_secs("900ms"), Some(0.9));
        assert_eq!(parse_duration_secs("1h0m0s"), Some(3600.0));
        assert_eq!(parse_duration_secs("135h9m46s"), Some(486_586.0));
        assert_eq!(parse_duration_secs("34.074824224s"), Some(34.074824224));
        assert_eq!(parse_duration_secs("soon"), None);
        assert_eq!(parse_duration_secs("12"), None);
        assert_eq!(parse_duration_secs(""), None);
    }

    #[test]
    fn array_wrapped_and_stringified_bodies_are_unwrapped() {
        let inner = json!({"error":{"code":429,"message":"Please retry in 12.3s.","status":"RESOURCE_EXHAUSTED",
            "details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerMinute"}]}]}});
        let wrapped = json!([{"error":{"code":429,"message": inner.to_string()}}]);
        let parsed = GoogleError::parse(&wrapped).unwrap();
        assert_eq!(parsed.status, "RESOURCE_EXHAUSTED");
        assert_eq!(parsed.quota_ids, ["GenerateRequestsPerMinute"]);
        assert_eq!(parsed.message_retry_secs(), Some(12.3));
        assert!(GoogleError::parse(&json!({"candidates": []})).is_none());
    }
}
