//! Converting API key records written before keys were stored hashed. Such a record is named by the
//! key itself; its hashed copy is named by the key's SHA-256 and keeps everything else (quota used,
//! model stats, rules). Run at every start and by `migrate`; a store with nothing to convert is only
//! listed.
//!
//! Several instances may start at once on a shared store: the conversion runs under one lease, and
//! each step is safe to repeat — a copy that already exists is kept (`Conflict`), a plain record
//! already removed is not an error — so an instance that crashed halfway is finished by the next.

use std::time::Duration;

use super::{ApiKeyRecord, Store, StoreError};
use crate::key_id::{display_prefix, hash_key, id_of_hash, is_key_hash};

/// The lease that lets one instance at a time convert.
const LEASE: &str = "api-key-hashing";
/// Long enough for thousands of keys; renewed after each one.
const LEASE_TTL_MS: u64 = 30_000;
/// How often an instance waiting for another's conversion asks again.
const WAIT_STEP: Duration = Duration::from_millis(200);
/// How long it waits before converting anyway (each step is safe to repeat).
const MAX_WAIT: Duration = Duration::from_secs(60);

/// The record as stored from now on, if `record` still holds its key in the clear.
pub fn hashed_record(record: &ApiKeyRecord) -> Option<ApiKeyRecord> {
    if is_key_hash(&record.key_hash) {
        return None;
    }
    let plain = &record.key_hash;
    Some(ApiKeyRecord {
        key_hash: hash_key(plain),
        prefix: display_prefix(plain),
        ..record.clone()
    })
}

/// Replaces every plain record of `store` by its hashed copy; answers how many were converted.
pub async fn hash_plain_keys(store: &dyn Store, holder: &str) -> Result<usize, StoreError> {
    let plain = |keys: &[ApiKeyRecord]| keys.iter().any(|k| !is_key_hash(&k.key_hash));
    if !plain(&store.list_keys().await?) {
        return Ok(0);
    }
    let waited = std::time::Instant::now();
    while !store.try_lease(LEASE, holder, LEASE_TTL_MS).await? {
        if waited.elapsed() >= MAX_WAIT {
            log::warn!("API key hashing: the lease stayed taken; converting anyway");
            break;
        }
        tokio::time::sleep(WAIT_STEP).await;
    }
    let converted = convert_all(store, holder).await;
    // A lease left behind expires by itself; failing to release it is no reason to fail the start.
    if let Err(e) = store.release_lease(LEASE, holder).await {
        log::warn!("API key hashing: lease not released: {e}");
    }
    let converted = converted?;
    if converted > 0 {
        log::info!(
            "{}: {converted} API keys converted to hashed records",
            store.backend_name()
        );
    }
    Ok(converted)
}

/// Reads the keys again under the lease: another instance may have converted them meanwhile.
async fn convert_all(store: &dyn Store, holder: &str) -> Result<usize, StoreError> {
    let mut converted = 0;
    for record in store.list_keys().await? {
        let Some(hashed) = hashed_record(&record) else {
            continue;
        };
        match store.insert_key(&hashed).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        store.delete_key(&record.key_hash).await?;
        log::debug!("API key {} stored hashed", id_of_hash(&hashed.key_hash));
        converted += 1;
        store.try_lease(LEASE, holder, LEASE_TTL_MS).await?;
    }
    Ok(converted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_record() -> ApiKeyRecord {
        ApiKeyRecord {
            key_hash: "sk-0123456789abcdef".into(),
            prefix: String::new(),
            total_quota: 10,
            used_quota: 4,
            created_at: 1,
            description: Some("team".into()),
            model_stats: [("gemini-2.5-pro".to_string(), 4)].into(),
            allowed_models: vec![],
            max_concurrent: Some(2),
            expires_at: None,
            policy: Default::default(),
        }
    }

    #[test]
    fn a_plain_record_keeps_everything_but_the_key() {
        let hashed = hashed_record(&plain_record()).unwrap();
        assert_eq!(hashed.key_hash, hash_key("sk-0123456789abcdef"));
        assert_eq!(hashed.prefix, "sk-0123…");
        assert_eq!(hashed.used_quota, 4);
        assert_eq!(hashed.model_stats.get("gemini-2.5-pro"), Some(&4));
        assert!(
            hashed_record(&hashed).is_none(),
            "converting twice changes nothing"
        );
    }

    #[tokio::test]
    async fn the_files_store_converts_plain_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::FileStore::open(dir.path()).await.unwrap();
        store.insert_key(&plain_record()).await.unwrap();
        assert_eq!(hash_plain_keys(&store, "test").await.unwrap(), 1);
        assert_eq!(hash_plain_keys(&store, "test").await.unwrap(), 0);
        let keys = store.list_keys().await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].key_hash, hash_key("sk-0123456789abcdef"));
        assert_eq!(keys[0].used_quota, 4);
    }
}
