//! The static part of each key record — expiry, allowed models, concurrency limit — cached so a keyed
//! request costs no store read of its own: the debit itself (in a batch) is the only round trip.
//!
//! Why caching is safe: a key's rules change only through the panel (`PATCH /auth/keys/{key}`), which
//! forgets them on its own instance at once, and keys are random, so a deleted key never comes back
//! with other rules. Other instances see a change within [`RULES_TTL`], like a delete. What can change is whether the key
//! exists and how much it has left, and both are decided by the store's debit every time. A delete on
//! this instance forgets the rules at once. A delete on another instance of a shared store is seen by
//! the next debit (the store answers "not found", which also forgets the rules); requests that debit
//! nothing (model lists, `countTokens`) and the body guard may still accept the key for at most
//! [`RULES_TTL`]. Unknown keys are never cached: a key created on another instance works at once, and
//! made-up `sk-` strings cannot fill memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::check_key::allows_model;
use super::error::QuotaError;
use super::windows::{parse_net, resolve, Limit};
use crate::store::ApiKeyRecord;

/// How long cached rules stand before the key is read again: the bound on accepting a key that
/// another instance deleted, on routes that debit nothing.
pub const RULES_TTL: Duration = Duration::from_secs(5);

/// What a request must satisfy besides the balance.
#[derive(Debug)]
pub struct KeyRules {
    pub expires_at: Option<i64>,
    pub allowed_models: Vec<String>,
    pub max_concurrent: Option<u32>,
    /// Limits per time window (`rpm` and the like included); empty for most keys, which then take
    /// the plain debit path.
    pub limits: Vec<Limit>,
    /// Networks the key may be used from; empty means anywhere.
    pub allowed_ips: Vec<ipnet::IpNet>,
    fetched: Instant,
}

impl KeyRules {
    /// Expiry at `now` (unix seconds), then the model when one is given.
    pub fn check(&self, model: Option<&str>, now: i64) -> Result<(), QuotaError> {
        if self.expires_at.is_some_and(|t| t <= now) {
            return Err(QuotaError::Expired);
        }
        match model {
            Some(model) if !allows_model(&self.allowed_models, model) => {
                Err(QuotaError::ModelNotAllowed(model.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// Whether a request from `address` may use the key (`None`: the address is not known).
    pub fn check_address(&self, address: Option<std::net::IpAddr>) -> Result<(), QuotaError> {
        if self.allowed_ips.is_empty()
            || address.is_some_and(|ip| self.allowed_ips.iter().any(|net| net.contains(&ip)))
        {
            return Ok(());
        }
        Err(QuotaError::AddressNotAllowed)
    }
}

/// A cached key: its rules, and the balance this instance saw last (at the lookup, then after each
/// of its debits here). Other instances spend the same key, so the balance only ever guides
/// [`RulesCache::balance_covers`]; the store's debit decides.
struct Entry {
    rules: Arc<KeyRules>,
    balance: u64,
}

#[derive(Default)]
pub struct RulesCache {
    entries: HashMap<String, Entry>,
    /// Moves with every forgotten key, so a lookup that started before a delete does not cache the
    /// deleted key's rules when it lands after it.
    epoch: u64,
    /// Size at which stale entries are swept next.
    sweep_at: usize,
}

/// The cache, shared: request workers fill it and check keys in it on their own thread (`Debits`), so a
/// keyed request wakes no other thread while its key is cached. The lock
/// is held for a map lookup at most, never across an await.
#[derive(Clone, Default)]
pub struct SharedRules(Arc<Mutex<RulesCache>>);

impl SharedRules {
    pub fn lock(&self) -> MutexGuard<'_, RulesCache> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sweeps happen no more often than every this many new entries.
const MIN_SWEEP: usize = 1024;

impl RulesCache {
    /// The rules of `key` if cached and younger than [`RULES_TTL`].
    pub fn fresh(&self, key: &str) -> Option<Arc<KeyRules>> {
        self.entries
            .get(key)
            .filter(|entry| entry.rules.fetched.elapsed() < RULES_TTL)
            .map(|entry| entry.rules.clone())
    }

    /// Whether the balance last seen for `key`, within [`RULES_TTL`], is at least `needed`.
    pub fn balance_covers(&self, key: &str, needed: u64) -> bool {
        self.entries.get(key).is_some_and(|entry| {
            entry.rules.fetched.elapsed() < RULES_TTL && entry.balance >= needed
        })
    }

    /// Notes the balance a debit of `key` left (or found) in the store. The lower figure stands: two
    /// batches at the store at once may answer in either order, and the later answer of the earlier
    /// batch must not raise the balance back above what the other one already showed. (A refund
    /// raises the real balance unseen; the rules are read again within [`RULES_TTL`].)
    pub fn saw_balance(&mut self, key: &str, balance: u64) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.balance = entry.balance.min(balance);
        }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Caches the rules of `record`, unless a key was forgotten since `epoch` (when its lookup
    /// started); answers the rules either way.
    pub fn remember(&mut self, record: &ApiKeyRecord, epoch: u64) -> Arc<KeyRules> {
        let rules = Arc::new(KeyRules {
            expires_at: record.expires_at,
            allowed_models: record.allowed_models.clone(),
            max_concurrent: record.max_concurrent,
            limits: resolve(&record.policy),
            allowed_ips: record
                .policy
                .allowed_ips
                .iter()
                .filter_map(|n| parse_net(n))
                .collect(),
            fetched: Instant::now(),
        });
        if epoch == self.epoch {
            if self.entries.len() >= self.sweep_at {
                self.entries
                    .retain(|_, entry| entry.rules.fetched.elapsed() < RULES_TTL);
                self.sweep_at = (self.entries.len() * 2).max(MIN_SWEEP);
            }
            // A lookup may have read the record before a batch of this instance's debits landed:
            // the lower of the two balances stands while the older one is still fresh.
            let mut balance = record.total_quota.saturating_sub(record.used_quota);
            if let Some(old) = self.entries.get(&record.key_hash) {
                if old.rules.fetched.elapsed() < RULES_TTL {
                    balance = balance.min(old.balance);
                }
            }
            let entry = Entry {
                rules: rules.clone(),
                balance,
            };
            self.entries.insert(record.key_hash.clone(), entry);
        }
        rules
    }

    pub fn forget(&mut self, key: &str) {
        self.entries.remove(key);
        self.epoch = self.epoch.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str) -> ApiKeyRecord {
        ApiKeyRecord {
            key_hash: key.into(),
            prefix: String::new(),
            total_quota: 10,
            used_quota: 0,
            created_at: 0,
            description: None,
            model_stats: Default::default(),
            allowed_models: vec!["gemini-2.5-flash".into()],
            max_concurrent: Some(2),
            expires_at: Some(100),
            policy: Default::default(),
        }
    }

    #[test]
    fn rules_check_expiry_then_model() {
        let mut cache = RulesCache::default();
        let rules = cache.remember(&record("sk-a"), cache.epoch());
        assert_eq!(rules.check(Some("gemini-2.5-flash"), 99), Ok(()));
        assert_eq!(rules.check(None, 99), Ok(()));
        assert_eq!(
            rules.check(Some("gemini-2.5-pro"), 99),
            Err(QuotaError::ModelNotAllowed("gemini-2.5-pro".into()))
        );
        assert_eq!(
            rules.check(Some("gemini-2.5-flash"), 100),
            Err(QuotaError::Expired)
        );
        assert!(cache.fresh("sk-a").is_some());
    }

    #[test]
    fn a_lookup_older_than_a_delete_is_not_cached() {
        let mut cache = RulesCache::default();
        let started = cache.epoch();
        cache.forget("sk-a");
        cache.remember(&record("sk-a"), started);
        assert!(cache.fresh("sk-a").is_none());
        cache.remember(&record("sk-a"), cache.epoch());
        assert!(cache.fresh("sk-a").is_some());
        cache.forget("sk-a");
        assert!(cache.fresh("sk-a").is_none());
    }

    #[test]
    fn the_seen_balance_starts_at_the_record_and_follows_debits() {
        let mut cache = RulesCache::default();
        assert!(
            !cache.balance_covers("sk-a", 1),
            "unknown keys are never covered"
        );
        cache.remember(&record("sk-a"), cache.epoch());
        assert!(cache.balance_covers("sk-a", 10));
        assert!(!cache.balance_covers("sk-a", 11));
        cache.saw_balance("sk-a", 3);
        assert!(cache.balance_covers("sk-a", 3));
        assert!(!cache.balance_covers("sk-a", 4));
        cache.saw_balance("sk-a", 7);
        assert!(
            !cache.balance_covers("sk-a", 4),
            "an answer that arrives late never raises the balance"
        );
        cache.saw_balance("sk-b", 100);
        assert!(
            !cache.balance_covers("sk-b", 1),
            "only cached keys keep a balance"
        );
        cache.forget("sk-a");
        assert!(!cache.balance_covers("sk-a", 0));
    }
}
