//! The one lookup of `/auth/keys/{key}`: a key named by its id or by the full key. Its own file so
//! that the key routes and the key settings both use it without reaching into each other.

use crate::error::ApiError;
use crate::key_id::{hash_key, id_of_hash, is_key_id};
use crate::state::AppState;
use crate::store::{ApiKeyRecord, StoreError};

fn storage_error(e: StoreError) -> ApiError {
    log::error!("API key storage: {e}");
    ApiError::internal("storage failed")
}

/// The stored key whose id is `id`, if any. Ids are a prefix of the hash the store is keyed by, so
/// this reads the list; it serves the admin routes only, never a model call.
async fn find_by_id(state: &AppState, id: &str) -> Result<Option<ApiKeyRecord>, ApiError> {
    let keys = state.store.list_keys().await.map_err(storage_error)?;
    Ok(keys.into_iter().find(|k| id_of_hash(&k.key_hash) == id))
}

/// The record `/auth/keys/{key}` names: by its id (`k-` and 16 hex digits) or by the full key.
/// Every route under that path resolves it here. Anything else, or a key not stored, is a 404.
pub async fn resolve_key_param(state: &AppState, param: &str) -> Result<ApiKeyRecord, ApiError> {
    let not_found = || ApiError::not_found("API key not found");
    let param = param.trim();
    if is_key_id(param) {
        return find_by_id(state, param).await?.ok_or_else(not_found);
    }
    if !param.starts_with("sk-") {
        return Err(not_found());
    }
    by_hash(state, &hash_key(param)).await
}

/// The stored record of the key whose hash is `hash`; a key not stored is a 404.
pub async fn by_hash(state: &AppState, hash: &str) -> Result<ApiKeyRecord, ApiError> {
    state
        .store
        .get_key(hash)
        .await
        .map_err(storage_error)?
        .ok_or_else(|| ApiError::not_found("API key not found"))
}
