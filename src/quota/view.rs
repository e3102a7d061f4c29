//! What the panel and the key's owner see of a key record: its id and display prefix, never the key
//! (the store does not have it).

use crate::key_id::id_of_hash;
use crate::store::ApiKeyRecord;

pub fn public_view(record: &ApiKeyRecord) -> serde_json::Value {
    serde_json::json!({
        "id": id_of_hash(&record.key_hash),
        "api_key": record.prefix,
        "total_quota": record.total_quota,
        "used_quota": record.used_quota,
        "remaining_quota": record.remaining(),
        "created_at": record.created_at,
        "description": record.description,
        "model_stats": record.model_stats,
        "allowed_models": record.allowed_models,
        "max_concurrent": record.max_concurrent,
        "expires_at": record.expires_at,
    })
}
