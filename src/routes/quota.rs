//! Quota and credits as the panel and `/creds/status` show them, and the refresh on demand
//! (`POST /creds/quota/refresh`): each credential's buckets from its last snapshot, numbers as numbers,
//! times as RFC 3339 strings, `null` where Google did not say.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::actors::scout::messages::{Refresh, Refreshed};
use crate::auth::admin::Admin;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::AuditAction;
use crate::store::CredentialInsight;

use super::body::parse_json;

/// Names one refresh may list at most (the whole pool is asked for with no list).
const MAX_NAMES: usize = 1_000;

fn rfc3339(unix_secs: Option<i64>) -> Value {
    unix_secs
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or(Value::Null, |t| json!(t.to_rfc3339()))
}

fn rfc3339_ms(unix_ms: Option<i64>) -> Value {
    unix_ms
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or(Value::Null, |t| json!(t.to_rfc3339()))
}

/// `[{model, remaining_fraction, remaining, limit, reset_time, fetched_at}]`.
pub fn quota_items(insight: Option<&CredentialInsight>) -> Value {
    let Some(insight) = insight else {
        return json!([]);
    };
    let fetched_at = rfc3339_ms(insight.quota_fetched_at);
    Value::Array(
        insight
            .quota
            .iter()
            .map(|b| {
                json!({
                    "model": b.model,
                    "token_type": b.token_type,
                    "remaining_fraction": b.remaining_fraction,
                    "remaining": b.remaining,
                    "limit": b.limit,
                    "reset_time": rfc3339(b.reset_time),
                    "fetched_at": fetched_at,
                })
            })
            .collect(),
    )
}

/// `[{type, amount}]`.
pub fn credit_items(insight: Option<&CredentialInsight>) -> Value {
    Value::Array(
        insight
            .map(|i| i.credits.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|c| json!({"type": c.credit_type, "amount": c.amount}))
            .collect(),
    )
}

/// The quota fields of one `/creds/status` entry.
pub fn status_fields(insight: Option<&CredentialInsight>) -> [(&'static str, Value); 4] {
    [
        ("quota", quota_items(insight)),
        ("credits", credit_items(insight)),
        (
            "quota_fetched_at",
            rfc3339_ms(insight.and_then(|i| i.quota_fetched_at)),
        ),
        (
            "quota_error",
            json!(insight.and_then(|i| i.quota_error.clone())),
        ),
    ]
}

fn refreshed_item(r: &Refreshed) -> Value {
    let insight = r.insight.as_deref();
    let mut item = json!({"name": &*r.name});
    if let Some(map) = item.as_object_mut() {
        for (key, value) in status_fields(insight) {
            map.insert(key.to_string(), value);
        }
    }
    item
}

/// `POST /creds/quota/refresh` with an optional `{"names": [...]}`: fetches now (Code Assist quota and
/// credits, the model lists of the other kinds) and answers `{"credentials": [{name, quota, credits}]}`.
pub async fn refresh(
    admin: Admin,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let names = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let json = parse_json(&body)?;
        match json.get("names") {
            None | Some(Value::Null) => None,
            Some(Value::Array(list)) => {
                if list.len() > MAX_NAMES {
                    return Err(ApiError::bad_request(format!(
                        "names: at most {MAX_NAMES}; send none to refresh every credential"
                    )));
                }
                let names: Option<Vec<String>> = list
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect();
                Some(names.ok_or_else(|| ApiError::bad_request("names: expected strings"))?)
            }
            Some(_) => return Err(ApiError::bad_request("names: expected a list")),
        }
    };
    let target = names
        .as_ref()
        .map_or_else(|| "all".to_string(), |n| n.join(","));
    admin.audit(&state, AuditAction::QuotaRefreshed, &target, Value::Null);
    let results = state
        .scout
        .send(Refresh { names })
        .await
        .map_err(ApiError::mailbox("the credential scout"))?;
    let credentials: Vec<Value> = results.iter().map(refreshed_item).collect();
    Ok(HttpResponse::Ok().json(json!({ "credentials": credentials })))
}
