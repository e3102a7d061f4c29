//! What Google says of an account beyond answering prompts: its quota per model (Code Assist
//! `retrieveUserQuota`), its Google One AI credits (`loadCodeAssist`'s `paidTier.availableCredits`, and the
//! `remainingCredits` an answer carries), read into the plain records of `store::insight`.

use std::time::Duration;

use serde_json::{json, Value};

use super::code_assist::{method_url, post_json, user_agent};
use super::error::UpstreamError;
use crate::store::{CreditBalance, QuotaBucket};

/// The credit type the Gemini CLI spends once the free quota is out.
pub const GOOGLE_ONE_AI: &str = "GOOGLE_ONE_AI";
/// Buckets beyond this are not kept: an account has a handful of models, not thousands.
const MAX_BUCKETS: usize = 256;

/// `POST {endpoint}/v1internal:retrieveUserQuota` for `project`: the account's buckets.
pub async fn retrieve_user_quota(
    client: &awc::Client,
    endpoint: &str,
    token: &str,
    project: &str,
    timeout: Duration,
) -> Result<Vec<QuotaBucket>, UpstreamError> {
    let answer = post_json(
        client,
        &method_url(endpoint, "retrieveUserQuota"),
        token,
        &user_agent(None),
        &json!({ "project": project }),
        timeout,
    )
    .await?;
    Ok(parse_buckets(&answer))
}

/// `POST {endpoint}/v1internal:loadCodeAssist`: the credits the account's paid tier offers.
pub async fn load_credits(
    client: &awc::Client,
    endpoint: &str,
    token: &str,
    project: &str,
    timeout: Duration,
) -> Result<Vec<CreditBalance>, UpstreamError> {
    let body = json!({
        "cloudaicompanionProject": project,
        "metadata": {
            "ideType": "IDE_UNSPECIFIED",
            "platform": "PLATFORM_UNSPECIFIED",
            "pluginType": "GEMINI",
            "duetProject": project,
        },
    });
    let answer = post_json(
        client,
        &method_url(endpoint, "loadCodeAssist"),
        token,
        &user_agent(None),
        &body,
        timeout,
    )
    .await?;
    Ok(parse_credits(answer.pointer("/paidTier/availableCredits")))
}

/// An int64 as Google's JSON writes it: a string of digits, or (from lenient servers) a number.
fn int64(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    }
}

/// RFC 3339 text as unix seconds.
fn unix_seconds(value: Option<&Value>) -> Option<i64> {
    let text = value?.as_str()?;
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp())
}

/// `{"buckets":[{"modelId","tokenType","remainingAmount","remainingFraction","resetTime"}]}`.
pub fn parse_buckets(answer: &Value) -> Vec<QuotaBucket> {
    let Some(list) = answer.get("buckets").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|b| {
            let model = b.get("modelId").and_then(Value::as_str)?.trim();
            if model.is_empty() {
                return None;
            }
            let remaining = int64(b.get("remainingAmount"));
            let fraction = b
                .get("remainingFraction")
                .and_then(Value::as_f64)
                .filter(|f| f.is_finite())
                .map(|f| f.clamp(0.0, 1.0));
            let limit = match (remaining, fraction) {
                (Some(left), Some(f)) if f > 0.0 => Some((left as f64 / f).round() as i64),
                _ => None,
            };
            Some(QuotaBucket {
                model: model.to_string(),
                token_type: b
                    .get("tokenType")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                remaining_fraction: fraction,
                remaining,
                limit,
                reset_time: unix_seconds(b.get("resetTime")),
            })
        })
        .take(MAX_BUCKETS)
        .collect()
}

/// `[{"creditType","creditAmount"}]` (in `paidTier.availableCredits`, or an answer's `remainingCredits`).
pub fn parse_credits(list: Option<&Value>) -> Vec<CreditBalance> {
    let Some(list) = list.and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|c| {
            Some(CreditBalance {
                credit_type: c.get("creditType").and_then(Value::as_str)?.to_string(),
                amount: int64(c.get("creditAmount")).unwrap_or(0),
            })
        })
        .take(16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_read_google_int64_strings_and_derive_the_limit() {
        let answer = json!({"buckets": [
            {"modelId": "gemini-2.5-pro", "tokenType": "REQUESTS", "remainingAmount": "25",
             "remainingFraction": 0.25, "resetTime": "2026-12-08T07:00:00Z"},
            {"modelId": "gemini-2.5-flash", "remainingFraction": 1},
            {"modelId": "", "remainingFraction": 1},
            {"remainingFraction": 1},
        ]});
        let buckets = parse_buckets(&answer);
        assert_eq!(buckets.len(), 2);
        assert_eq!(buckets[0].model, "gemini-2.5-pro");
        assert_eq!(buckets[0].remaining, Some(25));
        assert_eq!(buckets[0].limit, Some(100));
        assert_eq!(buckets[0].reset_time, Some(1_796_713_200));
        assert_eq!(buckets[0].token_type.as_deref(), Some("REQUESTS"));
        assert_eq!(buckets[1].remaining_fraction, Some(1.0));
        assert_eq!(buckets[1].limit, None);
        assert!(parse_buckets(&json!({})).is_empty());
    }

    #[test]
    fn an_empty_fraction_gives_no_limit_and_reads_as_empty() {
        let buckets = parse_buckets(&json!({"buckets": [
            {"modelId": "m", "remainingAmount": "0", "remainingFraction": 0.0}
        ]}));
        assert_eq!(buckets[0].limit, None);
        assert!(buckets[0].is_empty());
    }

    #[test]
    fn credits_accept_strings_and_numbers() {
        let list = json!([
            {"creditType": "GOOGLE_ONE_AI", "creditAmount": "1200"},
            {"creditType": "OTHER", "creditAmount": 5},
            {"creditAmount": "1"},
        ]);
        let credits = parse_credits(Some(&list));
        assert_eq!(
            credits,
            vec![
                CreditBalance {
                    credit_type: GOOGLE_ONE_AI.into(),
                    amount: 1200
                },
                CreditBalance {
                    credit_type: "OTHER".into(),
                    amount: 5
                },
            ]
        );
        assert!(parse_credits(None).is_empty());
    }
}
