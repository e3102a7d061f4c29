//! How a failed upstream call is named in traces beside the classifier's kind: Google's own error
//! `status` and reason (`RESOURCE_EXHAUSTED / QUOTA_EXHAUSTED`), as an operator would search for them.

use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn googles_status_and_reason_are_joined() {
        let body = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED"}]}});
        assert_eq!(
            google_reason(Some(&body)).as_deref(),
            Some("RESOURCE_EXHAUSTED / RATE_LIMIT_EXCEEDED")
        );
        let plain = json!({"error": {"code": 500, "status": "INTERNAL"}});
        assert_eq!(google_reason(Some(&plain)).as_deref(), Some("INTERNAL"));
        assert_eq!(google_reason(Some(&json!({"error": {"code": 500}}))), None);
        assert_eq!(google_reason(None), None);
    }
}
