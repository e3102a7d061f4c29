//! Copying everything from one backend to another (e.g. files → Redis when moving to several
//! instances). Credentials, config and costs are upserted; an API key already present in the target
//! is replaced, so the target ends with the source's balances. Keys the source still holds in the
//! clear (written before keys were hashed) reach the target hashed (`key_hashing`).
//!
//! Audit entries are copied too (newest first, a page at a time).
//!
//! Credential insights (`get_insight`) are not copied: they are snapshots of what Google answered,
//! which the credential scout fetches again for every credential soon after the gateway starts on
//! the target (and the files backend keeps none on disk to copy).

use super::audit::{AuditQuery, MAX_LIST_LIMIT};
use super::{Store, StoreError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub credentials: usize,
    pub config_keys: usize,
    pub api_keys: usize,
    /// API keys that existed in the target and were overwritten.
    pub api_keys_replaced: usize,
    pub model_costs: usize,
    /// Audit log entries copied (an entry already in the target is kept once).
    pub audit_entries: usize,
}

pub async fn migrate(from: &dyn Store, to: &dyn Store) -> Result<MigrationReport, StoreError> {
    let mut report = MigrationReport::default();

    for record in from.load_credentials().await? {
        to.put_credential(&record).await?;
        report.credentials += 1;
    }

    let config = from.load_config().await?;
    to.save_config(&config).await?;
    report.config_keys = config.len();

    for key in from.list_keys().await? {
        let key = super::key_hashing::hashed_record(&key).unwrap_or(key);
        match to.insert_key(&key).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                to.delete_key(&key.key_hash).await?;
                to.insert_key(&key).await?;
                report.api_keys_replaced += 1;
            }
            Err(e) => return Err(e),
        }
        report.api_keys += 1;
    }

    for (model, cost) in from.load_model_costs().await? {
        to.set_model_cost(&model, cost).await?;
        report.model_costs += 1;
    }

    report.audit_entries = copy_audit(from, to).await?;

    log::info!(
        "migrated {} → {}: {} credentials, {} config keys, {} API keys ({} replaced), {} model costs, {} audit entries",
        from.backend_name(),
        to.backend_name(),
        report.credentials,
        report.config_keys,
        report.api_keys,
        report.api_keys_replaced,
        report.model_costs,
        report.audit_entries
    );
    Ok(report)
}

/// Every audit entry, a page at a time from the newest; the log is bounded, so this is too.
async fn copy_audit(from: &dyn Store, to: &dyn Store) -> Result<usize, StoreError> {
    let mut copied = 0;
    let mut before = None;
    loop {
        let query = AuditQuery {
            limit: MAX_LIST_LIMIT,
            before,
            action: None,
        };
        let page = from.list_audit(&query).await?;
        let Some(last) = page.last() else {
            return Ok(copied);
        };
        before = Some(last.time);
        for entry in &page {
            to.append_audit(entry).await?;
        }
        copied += page.len();
    }
}

/// `gcli2api migrate --from <url-or-dir> --to <url-or-dir>`: opens both stores (default prefix), copies,
/// and closes them so the file store's journal is compacted.
/// `redis_tls` are the certificate settings for whichever side is a `rediss://` store.
pub async fn migrate_urls(
    from: &str,
    to: &str,
    redis_tls: &super::tls::redis_tls::RedisTls,
) -> Result<MigrationReport, StoreError> {
    use super::open::{open_store_with_tls, StoreUrl, DEFAULT_PREFIX};
    use super::tls::redis_tls::RedisTls;
    let tls_for = |url: &StoreUrl| match url {
        StoreUrl::Redis { uri, .. } if uri.to_ascii_lowercase().starts_with("rediss://") => {
            redis_tls.clone()
        }
        _ => RedisTls::default(),
    };
    let from = StoreUrl::parse(from)?;
    let to = StoreUrl::parse(to)?;
    let source = open_store_with_tls(&from, DEFAULT_PREFIX, &tls_for(&from)).await?;
    let target = open_store_with_tls(&to, DEFAULT_PREFIX, &tls_for(&to)).await?;
    let report = migrate(source.as_ref(), target.as_ref()).await?;
    target.close().await?;
    source.close().await?;
    Ok(report)
}
