//! API keys with quotas: admin routes (panel session), the key's own balance, a public lookup that masks
//! the key, and the model-cost table.
//!
//! The store keeps a key's SHA-256 only (`crate::key_id`): the full key is in the answer to its
//! creation and nowhere after. Admin routes name a key by its id or, for whoever holds it, the key.

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use rand::RngCore;
use serde_json::{json, Value};

use super::body::parse_json;
pub use super::key_lookup::resolve_key_param;
use super::key_settings::{
    insert_policy, parse_allowed_models, parse_description, parse_expires_at, parse_max_concurrent,
    parse_policy, parse_total_quota, windows_of,
};
use crate::actors::quota::messages::{CostOf, CreateKey, DeleteCost, DeleteKey, GetCosts, SetCost};
use crate::auth::admin::Admin;
use crate::auth::panel::PanelSession;
use crate::auth::{authenticate_api, ApiCaller};
use crate::error::ApiError;
use crate::key_id::{display_prefix, hash_key, id_of_hash};
use crate::quota::admission::ModelCost;
use crate::quota::costs::{effective_table, DEFAULT_COST};
use crate::quota::view::public_view;
use crate::quota::QuotaError;
use crate::state::AppState;
use crate::store::{ApiKeyRecord, AuditAction, KeyPolicy, StoreError};

fn storage_error(e: StoreError) -> ApiError {
    log::error!("API key storage: {e}");
    ApiError::internal("storage failed")
}

/// The key administration already logged the cause.
fn quota_storage_error(_: QuotaError) -> ApiError {
    ApiError::internal("storage failed")
}

/// `sk-` followed by 32 CSPRNG bytes in URL-safe base64 (43 characters).
pub fn new_api_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "sk-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub async fn create_key(
    admin: Admin,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Value::Object(json) = parse_json(&body)? else {
        return Err(ApiError::bad_request("expected a JSON object"));
    };
    let field = |name: &str| json.get(name).unwrap_or(&Value::Null);
    let total_quota = match json.get("total_quota") {
        None => 1000,
        Some(v) => parse_total_quota(v)?,
    };
    let api_key = new_api_key();
    let description = parse_description(field("description"))?;
    let allowed_models = parse_allowed_models(field("allowed_models"))?;
    let max_concurrent = parse_max_concurrent(field("max_concurrent"))?;
    let expires_at = parse_expires_at(field("expires_at"))?;
    let policy = parse_policy(&json, &KeyPolicy::default())?;
    let record = ApiKeyRecord {
        key_hash: hash_key(&api_key),
        prefix: display_prefix(&api_key),
        total_quota,
        used_quota: 0,
        created_at: state.clock.now(),
        description,
        model_stats: Default::default(),
        allowed_models,
        max_concurrent,
        expires_at,
        policy,
    };
    let id = id_of_hash(&record.key_hash);
    state
        .key_admin
        .send(CreateKey {
            record: record.clone(),
        })
        .await
        .map_err(ApiError::mailbox("the quota service"))?
        .map_err(quota_storage_error)?;
    log::info!("API key {id} created with quota {total_quota}");
    let mut changes = serde_json::Map::new();
    changes.insert("total_quota".into(), json!(record.total_quota));
    changes.insert("description".into(), json!(record.description));
    changes.insert("allowed_models".into(), json!(record.allowed_models));
    changes.insert("max_concurrent".into(), json!(record.max_concurrent));
    changes.insert("expires_at".into(), json!(record.expires_at));
    insert_policy(&mut changes, &record.policy);
    admin.audit(&state, AuditAction::KeyCreated, &id, Value::Object(changes));
    // The one answer that holds the key: the store keeps only its hash.
    let mut answer = full_view(&record);
    if let Some(fields) = answer.as_object_mut() {
        fields.insert("api_key".into(), Value::String(api_key));
    }
    Ok(HttpResponse::Ok().json(answer))
}

/// A key as the panel lists it: the record, with its policy fields.
fn full_view(record: &ApiKeyRecord) -> Value {
    let mut view = public_view(record);
    if let Value::Object(map) = &mut view {
        insert_policy(map, &record.policy);
    }
    view
}

pub async fn list_keys(
    _: PanelSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut keys = state.store.list_keys().await.map_err(storage_error)?;
    keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    let list: Vec<Value> = keys.iter().map(full_view).collect();
    Ok(HttpResponse::Ok().json(json!({"total_keys": list.len(), "keys": list})))
}

pub async fn get_key(
    _: PanelSession,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let record = resolve_key_param(&state, &path).await?;
    let mut view = full_view(&record);
    if let Value::Object(map) = &mut view {
        map.insert("windows".into(), windows_of(&state, &record).await?);
    }
    Ok(HttpResponse::Ok().json(view))
}

pub async fn delete_key(
    admin: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let record = resolve_key_param(&state, &path).await?;
    let key = record.key_hash;
    let id = id_of_hash(&key);
    let existed = state
        .key_admin
        .send(DeleteKey { key: key.clone() })
        .await
        .map_err(ApiError::mailbox("the quota service"))?
        .map_err(quota_storage_error)?;
    if !existed {
        return Err(ApiError::not_found("API key not found"));
    }
    // Its stored /v1/responses answers go with it (on this instance; another instance's copies
    // are refused anyway, since reading one needs a key that still exists).
    state
        .responses
        .do_send(crate::actors::response_store::ForgetOwner {
            owner: crate::actors::response_store::key_owner(&key),
        });
    log::info!("API key {id} deleted");
    admin.audit(&state, AuditAction::KeyDeleted, &id, Value::Null);
    Ok(HttpResponse::Ok()
        .json(json!({"message": "API key deleted", "id": id, "api_key": record.prefix})))
}

/// `GET /auth/quota`: the balance of the key that authenticates the request.
pub async fn own_quota(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.current();
    let key = match authenticate_api(&req, &settings)? {
        ApiCaller::Key(key) => key,
        ApiCaller::Password => {
            return Err(ApiError::bad_request(
                "authenticate with an sk- API key to see its quota",
            ))
        }
    };
    let record = state
        .store
        .get_key(&key)
        .await
        .map_err(storage_error)?
        .ok_or_else(|| ApiError::forbidden("invalid API key"))?;
    Ok(HttpResponse::Ok().json(json!({
        "id": id_of_hash(&record.key_hash),
        "api_key": record.prefix,
        "total_quota": record.total_quota,
        "used_quota": record.used_quota,
        "remaining_quota": record.remaining(),
        "model_stats": record.model_stats,
        "expires_at": record.expires_at,
        "windows": windows_of(&state, &record).await?,
    })))
}

/// `POST /auth/query`: public self-service lookup; the answer masks the key.
pub async fn query_key(
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let json = parse_json(&body)?;
    let key = json
        .get("api_key")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::bad_request("api_key: required"))?;
    let record = state
        .store
        .get_key(&hash_key(key))
        .await
        .map_err(storage_error)?
        .ok_or_else(|| ApiError::not_found("API key not found"))?;
    let percentage = if record.total_quota == 0 {
        0.0
    } else {
        (record.used_quota as f64 / record.total_quota as f64 * 10_000.0).round() / 100.0
    };
    Ok(HttpResponse::Ok().json(json!({
        "id": id_of_hash(&record.key_hash),
        "api_key": record.prefix,
        "total_quota": record.total_quota,
        "used_quota": record.used_quota,
        "remaining_quota": record.remaining(),
        "created_at": record.created_at,
        "description": record.description,
        "model_stats": record.model_stats,
        "expires_at": record.expires_at,
        "usage_percentage": percentage,
        "windows": windows_of(&state, &record).await?,
    })))
}

/// The model costs configured in the panel (models not named cost their family's default).
pub(super) async fn configured_costs(
    state: &AppState,
) -> Result<std::collections::BTreeMap<String, u64>, ApiError> {
    state
        .key_admin
        .send(GetCosts)
        .await
        .map_err(ApiError::mailbox("the quota service"))?
        .map_err(|e| ApiError::internal(e.to_string()))
}

pub async fn get_costs(
    _: PanelSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let configured = configured_costs(&state).await?;
    let ids = super::models::current_catalogue(&state).ids();
    Ok(HttpResponse::Ok().json(json!({
        "default_cost": DEFAULT_COST,
        "model_costs": effective_table(&ids, &configured),
        "configured": configured,
        "anti_truncation_multiplier": 2,
    })))
}

pub async fn set_cost(
    admin: Admin,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let json = parse_json(&body)?;
    let model = json
        .get("model_name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::bad_request("model_name: required"))?
        .to_string();
    let cost = json
        .get("cost")
        .and_then(Value::as_u64)
        .ok_or_else(|| ApiError::bad_request("cost: expected a non-negative integer"))?;
    state
        .key_admin
        .send(SetCost {
            model: model.clone(),
            cost,
        })
        .await
        .map_err(ApiError::mailbox("the quota service"))?
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let changes = json!({"model_name": model, "cost": cost});
    admin.audit(&state, AuditAction::ConfigSaved, "model_costs", changes);
    Ok(HttpResponse::Ok()
        .json(json!({"message": "model cost saved", "model_name": model, "cost": cost})))
}

pub async fn delete_cost(
    admin: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let model = path.into_inner();
    let existed = state
        .key_admin
        .send(DeleteCost {
            model: model.clone(),
        })
        .await
        .map_err(ApiError::mailbox("the quota service"))?
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if !existed {
        return Err(ApiError::not_found("no cost configured for this model"));
    }
    let changes = json!({"model_name": model, "cost": null});
    admin.audit(&state, AuditAction::ConfigSaved, "model_costs", changes);
    Ok(HttpResponse::Ok().json(json!({"message": "model cost removed", "model_name": model})))
}

/// `GET /auth/models/{model}/cost`: public, so users can see what a call costs.
pub async fn model_cost(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let model = path.into_inner();
    let ModelCost { cost, is_default } = state
        .key_admin
        .send(CostOf {
            model: model.clone(),
        })
        .await
        .map_err(ApiError::mailbox("the quota service"))?;
    Ok(HttpResponse::Ok()
        .json(json!({"model_name": model, "cost": cost, "is_default": is_default})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape() {
        let key = new_api_key();
        assert!(key.starts_with("sk-"));
        assert_eq!(key.len(), 46);
        assert!(key[3..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(key, new_api_key());
    }
}
