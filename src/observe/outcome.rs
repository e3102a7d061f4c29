//! How a failed upstream call is named in traces and metrics: the kind, and Google's own error `status` and
//! reason (`RESOURCE_EXHAUSTED / RATE_LIMIT_EXCEEDED`) so an operator can tell a per-minute limit from
//! an exhausted daily quota.

use serde_json::Value;

use crate::upstream::UpstreamError;

/// Google's `error.status` and the first `reason` of its details, joined: `RESOURCE_EXHAUSTED /
/// QUOTA_EXHAUSTED`.
pub fn google_reason(body: Option<&Value>) -> Option<String> {
    let err = body?.get("error")?;
    let status = err.get("status").and_then(Value::as_str);
    let reason = err.get("details").and_then(Value::as_array).and_then(|d| {
        d.iter()
            .find_map(|x| x.get("reason").and_then(Value::as_str))
    });
    match (status, reason) {
        (Some(s), Some(r)) => Some(format!("{s} / {r}")),
        (Some(s), None) => Some(s.to_string()),
        (None, Some(r)) => Some(r.to_string()),
        (None, None) => None,
    }
}

/// The kind label of a failure when no finer classification is given.
pub fn kind_of(err: &UpstreamError) -> String {
    match err {
        UpstreamError::Status { status, body } => match *status {
            429 => {
                let reason = body
                    .as_ref()
                    .and_then(|b| b.pointer("/error/details"))
                    .and_then(Value::as_array)
                    .and_then(|d| {
                        d.iter()
                            .find_map(|x| x.get("reason").and_then(Value::as_str))
                    });
                match reason {
                    Some(r) => format!("rate_limit:{}", r.to_ascii_lowercase()),
                    None => "rate_limit".into(),
                }
            }
            401 | 403 => "auth".into(),
            404 => "not_found".into(),
            400..=499 => "client_error".into(),
            _ => "server_error".into(),
        },
        UpstreamError::Timeout => "timeout".into(),
        UpstreamError::Network(_) => "network".into(),
        UpstreamError::Cut => "cut".into(),
        UpstreamError::Protocol(_) => "protocol".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_429_names_googles_reason() {
        let body = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED"}]}});
        let err = UpstreamError::Status {
            status: 429,
            body: Some(body.clone()),
        };
        assert_eq!(kind_of(&err), "rate_limit:rate_limit_exceeded");
        assert_eq!(
            google_reason(Some(&body)).as_deref(),
            Some("RESOURCE_EXHAUSTED / RATE_LIMIT_EXCEEDED")
        );
        assert_eq!(kind_of(&UpstreamError::Timeout), "timeout");
    }
}
