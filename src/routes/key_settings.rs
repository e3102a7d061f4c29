//! The settings of an API key as the panel sends them (`POST /auth/keys`, `PATCH /auth/keys/{key}`):
//! parsing and validation of each field, the change itself, and the usage of the key's windows.

use actix_web::{web, HttpResponse};
use chrono::{SecondsFormat, TimeZone, Utc};
use serde_json::{json, Map, Value};

use super::body::parse_json;
use super::key_lookup::{by_hash, resolve_key_param};
use crate::actors::quota::messages::UpdateKey;
use crate::auth::admin::Admin;
use crate::error::ApiError;
use crate::key_id::id_of_hash;
use crate::quota::view::public_view;
use crate::quota::windows::{charge_of, renews_at, resolve, validate};
use crate::state::AppState;
use crate::store::{ApiKeyRecord, AuditAction, KeyLimit, KeyPolicy};

/// Longest description kept.
const MAX_DESCRIPTION_CHARS: usize = 500;

/// The fields `PATCH` may change.
const PATCHABLE: &[&str] = &[
    "description",
    "total_quota",
    "allowed_models",
    "max_concurrent",
    "expires_at",
    "limits",
    "rpm",
    "tpm",
    "model_rpm",
    "model_tpm",
    "allowed_ips",
];

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

fn positive(value: &Value, field: &str) -> Result<u64, ApiError> {
    value
        .as_u64()
        .filter(|n| *n > 0)
        .ok_or_else(|| bad(format!("{field}: expected an integer ≥ 1")))
}

pub(super) fn parse_total_quota(value: &Value) -> Result<u64, ApiError> {
    value
        .as_u64()
        .filter(|n| *n > 0)
        .ok_or_else(|| bad("total_quota: expected an integer > 0"))
}

pub(super) fn parse_description(value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.chars().take(MAX_DESCRIPTION_CHARS).collect())),
        _ => Err(bad("description: expected a string")),
    }
}

pub(super) fn parse_allowed_models(value: &Value) -> Result<Vec<String>, ApiError> {
    let wrong = || bad("allowed_models: expected a list of model names");
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => Ok(items
            .iter()
            .map(|m| m.as_str().map(|s| s.trim().to_string()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(wrong)?
            .into_iter()
            .filter(|m| !m.is_empty())
            .collect()),
        _ => Err(wrong()),
    }
}

pub(super) fn parse_max_concurrent(value: &Value) -> Result<Option<u32>, ApiError> {
    match value {
        Value::Null => Ok(None),
        v => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| bad("max_concurrent: expected an integer ≥ 1")),
    }
}

pub(super) fn parse_expires_at(value: &Value) -> Result<Option<i64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        v => v
            .as_u64()
            .and_then(|t| i64::try_from(t).ok())
            .map(Some)
            .ok_or_else(|| bad("expires_at: expected unix seconds")),
    }
}

fn parse_limits(value: &Value) -> Result<Vec<KeyLimit>, ApiError> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => {
            return Err(bad(
                "limits: expected a list of {window, requests, tokens, cost}",
            ))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(fields) = item else {
                return Err(bad(format!("limits[{i}]: expected an object")));
            };
            if let Some(other) = fields
                .keys()
                .find(|k| !["window", "requests", "tokens", "cost", "model"].contains(&k.as_str()))
            {
                return Err(bad(format!("limits[{i}].{other}: unknown field")));
            }
            let window = fields
                .get("window")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("limits[{i}].window: required")))?
                .to_string();
            let amount = |name: &str| match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => positive(v, &format!("limits[{i}].{name}")).map(Some),
            };
            let model = match fields.get("model") {
                None | Some(Value::Null) => None,
                Some(Value::String(m)) => Some(m.trim().to_string()),
                Some(_) => return Err(bad(format!("limits[{i}].model: expected a model name"))),
            };
            Ok(KeyLimit {
                window,
                requests: amount("requests")?,
                tokens: amount("tokens")?,
                cost: amount("cost")?,
                model,
            })
        })
        .collect()
}

fn parse_per_model(
    value: &Value,
    field: &str,
) -> Result<std::collections::BTreeMap<String, u64>, ApiError> {
    match value {
        Value::Null => Ok(Default::default()),
        Value::Object(map) => map
            .iter()
            .map(|(model, n)| {
                Ok((
                    model.trim().to_string(),
                    positive(n, &format!("{field}.{model}"))?,
                ))
            })
            .collect(),
        _ => Err(bad(format!(
            "{field}: expected an object of model → integer"
        ))),
    }
}

fn parse_ips(value: &Value) -> Result<Vec<String>, ApiError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(|s| s.trim().to_string())
                    .ok_or_else(|| bad(format!("allowed_ips[{i}]: expected a CIDR")))
            })
            .collect(),
        _ => Err(bad("allowed_ips: expected a list of CIDRs")),
    }
}

/// `base` with the policy fields present in `json` replaced (`null` clears one), validated.
pub(super) fn parse_policy(
    json: &Map<String, Value>,
    base: &KeyPolicy,
) -> Result<KeyPolicy, ApiError> {
    let mut policy = base.clone();
    if let Some(v) = json.get("limits") {
        policy.limits = parse_limits(v)?;
    }
    for (field, slot) in [("rpm", &mut policy.rpm), ("tpm", &mut policy.tpm)] {
        match json.get(field) {
            None => {}
            Some(Value::Null) => *slot = None,
            Some(v) => *slot = Some(positive(v, field)?),
        }
    }
    if let Some(v) = json.get("model_rpm") {
        policy.model_rpm = parse_per_model(v, "model_rpm")?;
    }
    if let Some(v) = json.get("model_tpm") {
        policy.model_tpm = parse_per_model(v, "model_tpm")?;
    }
    if let Some(v) = json.get("allowed_ips") {
        policy.allowed_ips = parse_ips(v)?;
    }
    validate(&policy).map_err(bad)?;
    Ok(policy)
}

/// The key's answer: the record as the panel sees it, with its policy fields, the key masked.
pub(super) fn key_answer(record: &ApiKeyRecord) -> Value {
    let mut view = public_view(record);
    if let Value::Object(map) = &mut view {
        map.insert("api_key".into(), json!(record.prefix));
        insert_policy(map, &record.policy);
    }
    view
}

/// The policy fields of a key's JSON, as written.
pub(super) fn insert_policy(map: &mut Map<String, Value>, policy: &KeyPolicy) {
    map.insert("limits".into(), json!(policy.limits));
    map.insert("rpm".into(), json!(policy.rpm));
    map.insert("tpm".into(), json!(policy.tpm));
    map.insert("model_rpm".into(), json!(policy.model_rpm));
    map.insert("model_tpm".into(), json!(policy.model_tpm));
    map.insert("allowed_ips".into(), json!(policy.allowed_ips));
}

/// `PATCH /auth/keys/{api_key}`: changes the fields given, keeps the rest and the key's use.
pub async fn patch_key(
    admin: Admin,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Value::Object(json) = parse_json(&body)? else {
        return Err(bad("expected a JSON object"));
    };
    if let Some(other) = json.keys().find(|k| !PATCHABLE.contains(&k.as_str())) {
        return Err(bad(format!("{other}: not a field that can be changed")));
    }
    if json.is_empty() {
        return Err(bad("nothing to change"));
    }
    let old = resolve_key_param(&state, &path).await?;
    let mut new = old.clone();
    if let Some(v) = json.get("description") {
        new.description = parse_description(v)?;
    }
    if let Some(v) = json.get("total_quota") {
        new.total_quota = parse_total_quota(v)?;
    }
    if let Some(v) = json.get("allowed_models") {
        new.allowed_models = parse_allowed_models(v)?;
    }
    if let Some(v) = json.get("max_concurrent") {
        new.max_concurrent = parse_max_concurrent(v)?;
    }
    if let Some(v) = json.get("expires_at") {
        new.expires_at = parse_expires_at(v)?;
    }
    new.policy = parse_policy(&json, &old.policy)?;
    let existed = state
        .key_admin
        .send(UpdateKey {
            record: new.clone(),
        })
        .await
        .map_err(ApiError::mailbox("the quota service"))?
        .map_err(|_| ApiError::internal("storage failed"))?;
    if !existed {
        return Err(ApiError::not_found("API key not found"));
    }
    admin.audit(
        &state,
        AuditAction::KeyUpdated,
        &id_of_hash(&new.key_hash),
        changes(&old, &new),
    );
    let record = by_hash(&state, &new.key_hash).await?;
    Ok(HttpResponse::Ok().json(key_answer(&record)))
}

/// What changed, field by field: `{field: {"from": …, "to": …}}`.
fn changes(old: &ApiKeyRecord, new: &ApiKeyRecord) -> Value {
    let fields = |r: &ApiKeyRecord| {
        let mut map = Map::new();
        map.insert("description".into(), json!(r.description));
        map.insert("total_quota".into(), json!(r.total_quota));
        map.insert("allowed_models".into(), json!(r.allowed_models));
        map.insert("max_concurrent".into(), json!(r.max_concurrent));
        map.insert("expires_at".into(), json!(r.expires_at));
        insert_policy(&mut map, &r.policy);
        map
    };
    let (before, after) = (fields(old), fields(new));
    let mut out = Map::new();
    for (field, to) in after {
        let from = before.get(&field).cloned().unwrap_or(Value::Null);
        if from != to {
            out.insert(field, json!({"from": from, "to": to}));
        }
    }
    Value::Object(out)
}

fn rfc3339(t: i64) -> Value {
    Utc.timestamp_opt(t, 0)
        .single()
        .map(|d| json!(d.to_rfc3339_opts(SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

/// Each window limit of the key with its use now and when it renews.
pub(super) async fn windows_of(state: &AppState, record: &ApiKeyRecord) -> Result<Value, ApiError> {
    let limits = resolve(&record.policy);
    if limits.is_empty() {
        return Ok(json!([]));
    }
    let tz = state.debits.timezone();
    let now = state.clock.now();
    let charges: Vec<_> = limits.iter().map(|l| charge_of(l, now, &tz)).collect();
    let uses = state
        .store
        .window_usage(&record.key_hash, &charges)
        .await
        .map_err(|e| {
            log::error!("key window usage: {e}");
            ApiError::internal("storage failed")
        })?;
    Ok(Value::Array(
        limits
            .iter()
            .zip(uses)
            .map(|(limit, used)| {
                json!({
                    "window": limit.label,
                    "model": limit.model,
                    "used": {"requests": used.requests, "tokens": used.tokens, "cost": used.cost},
                    "limit": {"requests": limit.requests, "tokens": limit.tokens, "cost": limit.cost},
                    "renews_at": rfc3339(renews_at(limit, used.oldest, now, &tz)),
                })
            })
            .collect(),
    ))
}
