//! In-memory state of the files backend and the journal entries that change it.
//!
//! Every entry sets values rather than adding to them (a debit is journaled as the resulting
//! `used_quota`), so replaying a journal over TOML files that already contain part of it — a crash
//! between a compaction's renames and the journal truncation — still ends in the right state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::credential_text::CredentialText;
use super::toml_format;
use crate::credentials::CredentialRecord;
use crate::store::{ApiKeyRecord, DebitOutcome, StoreError};

#[derive(Debug, Default)]
pub(super) struct FileState {
    /// As the text of their tables in `creds.toml`: see `credential_text`.
    pub credentials: BTreeMap<String, CredentialText>,
    pub config: Map<String, Value>,
    pub keys: BTreeMap<String, ApiKeyRecord>,
    pub costs: BTreeMap<String, u64>,
}

/// Which TOML file an entry touches, so compaction rewrites only those.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Credentials,
    Config,
    Keys,
    Costs,
}

impl Section {
    pub const ALL: [Section; 4] = [
        Section::Credentials,
        Section::Config,
        Section::Keys,
        Section::Costs,
    ];

    pub fn file_name(self) -> &'static str {
        match self {
            Section::Credentials => "creds.toml",
            Section::Config => "config.toml",
            Section::Keys => "api_keys.toml",
            Section::Costs => "model_costs.toml",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Section::Credentials => 0,
            Section::Config => 1,
            Section::Keys => 2,
            Section::Costs => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum JournalEntry {
    /// Boxed: a credential record is far larger than the other entries.
    PutCredential {
        record: Box<CredentialRecord>,
    },
    DeleteCredential {
        name: String,
    },
    SaveConfig {
        changes: Map<String, Value>,
    },
    /// Boxed like a credential: a key record with its policy is far larger than most entries.
    PutKey {
        record: Box<ApiKeyRecord>,
    },
    DeleteKey {
        api_key: String,
    },
    /// Balance of one key after a debit or refund; `model_used` is `None` when the model's counter
    /// is unchanged.
    KeyUsage {
        api_key: String,
        used_quota: u64,
        model: String,
        model_used: Option<u64>,
    },
    SetModelCost {
        model: String,
        cost: u64,
    },
    DeleteModelCost {
        model: String,
    },
}

impl JournalEntry {
    pub fn section(&self) -> Section {
        match self {
            JournalEntry::PutCredential { .. } | JournalEntry::DeleteCredential { .. } => {
                Section::Credentials
            }
            JournalEntry::SaveConfig { .. } => Section::Config,
            JournalEntry::PutKey { .. }
            | JournalEntry::DeleteKey { .. }
            | JournalEntry::KeyUsage { .. } => Section::Keys,
            JournalEntry::SetModelCost { .. } | JournalEntry::DeleteModelCost { .. } => {
                Section::Costs
            }
        }
    }

    /// Whether the entry moves `credentials_generation`.
    pub fn touches_credentials(&self) -> bool {
        self.section() == Section::Credentials
    }
}

impl FileState {
    pub fn apply(&mut self, entry: &JournalEntry) {
        match entry {
            JournalEntry::PutCredential { record } => {
                // Journaled only after `put_credential` rendered it, so this cannot fail short of
                // a bug; the journal still holds the record then, and compaction is what is lost.
                match CredentialText::render(record) {
                    Ok(text) => {
                        self.credentials.insert(record.name.clone(), text);
                    }
                    Err(e) => log::error!("files store: credential {} not kept: {e}", record.name),
                }
            }
            JournalEntry::DeleteCredential { name } => {
                self.credentials.remove(name);
            }
            JournalEntry::SaveConfig { changes } => {
                for (key, value) in changes {
                    if value.is_null() {
                        self.config.remove(key);
                    } else {
                        self.config.insert(key.clone(), value.clone());
                    }
                }
            }
            JournalEntry::PutKey { record } => {
                self.keys
                    .insert(record.key_hash.clone(), (**record).clone());
            }
            JournalEntry::DeleteKey { api_key } => {
                self.keys.remove(api_key);
            }
            JournalEntry::KeyUsage {
                api_key,
                used_quota,
                model,
                model_used,
            } => {
                if let Some(key) = self.keys.get_mut(api_key) {
                    key.used_quota = *used_quota;
                    if let Some(model_used) = model_used {
                        key.model_stats.insert(model.clone(), *model_used);
                    }
                }
            }
            JournalEntry::SetModelCost { model, cost } => {
                self.costs.insert(model.clone(), *cost);
            }
            JournalEntry::DeleteModelCost { model } => {
                self.costs.remove(model);
            }
        }
    }

    /// Checks a credential can be written to `creds.toml` before it is journaled; a record that
    /// could not be compacted would otherwise pin the journal forever.
    pub fn put_credential(&self, record: &CredentialRecord) -> Result<JournalEntry, StoreError> {
        CredentialText::render(record)?;
        Ok(JournalEntry::PutCredential {
            record: Box::new(record.clone()),
        })
    }

    pub fn save_config(&self, changes: &Map<String, Value>) -> Result<JournalEntry, StoreError> {
        for (key, value) in changes {
            if !value.is_null() {
                toml_format::config_value(key, value)?;
            }
        }
        Ok(JournalEntry::SaveConfig {
            changes: changes.clone(),
        })
    }

    /// Replaces every record still named by its key (written before keys were hashed) by its
    /// hashed copy; answers how many. The caller compacts, so neither the TOML file nor the journal
    /// keeps the key.
    pub fn hash_plain_keys(&mut self) -> usize {
        let plain: Vec<String> = self
            .keys
            .keys()
            .filter(|k| !crate::key_id::is_key_hash(k))
            .cloned()
            .collect();
        for key in &plain {
            let Some(record) = self.keys.remove(key) else {
                continue;
            };
            let hashed = crate::store::key_hashing::hashed_record(&record).unwrap_or(record);
            self.keys.entry(hashed.key_hash.clone()).or_insert(hashed);
        }
        plain.len()
    }

    pub fn insert_key(&self, record: &ApiKeyRecord) -> Result<JournalEntry, StoreError> {
        if self.keys.contains_key(&record.key_hash) {
            return Err(StoreError::Conflict(format!(
                "API key {}",
                crate::key_id::id_of_hash(&record.key_hash)
            )));
        }
        toml_format::key_table(record)?;
        Ok(JournalEntry::PutKey {
            record: Box::new(record.clone()),
        })
    }

    pub fn set_model_cost(&self, model: &str, cost: u64) -> Result<JournalEntry, StoreError> {
        toml_format::check_cost(model, cost)?;
        Ok(JournalEntry::SetModelCost {
            model: model.to_string(),
            cost,
        })
    }

    pub fn debit(
        &self,
        api_key: &str,
        model: &str,
        cost: u64,
        now: i64,
    ) -> (DebitOutcome, Option<JournalEntry>) {
        let Some(key) = self.keys.get(api_key) else {
            return (DebitOutcome::NotFound, None);
        };
        if key.expires_at.is_some_and(|at| at <= now) {
            return (DebitOutcome::Expired, None);
        }
        if key.remaining() < cost {
            return (
                DebitOutcome::Exhausted {
                    used_quota: key.used_quota,
                    total_quota: key.total_quota,
                },
                None,
            );
        }
        let used_quota = key.used_quota.saturating_add(cost);
        let model_used = key
            .model_stats
            .get(model)
            .copied()
            .unwrap_or(0)
            .saturating_add(cost);
        (
            DebitOutcome::Debited {
                used_quota,
                total_quota: key.total_quota,
            },
            Some(JournalEntry::KeyUsage {
                api_key: api_key.to_string(),
                used_quota,
                model: model.to_string(),
                model_used: Some(model_used),
            }),
        )
    }

    pub fn refund(&self, api_key: &str, model: &str, cost: u64) -> Option<JournalEntry> {
        let key = self.keys.get(api_key)?;
        Some(JournalEntry::KeyUsage {
            api_key: api_key.to_string(),
            used_quota: key.used_quota.saturating_sub(cost),
            model: model.to_string(),
            model_used: key
                .model_stats
                .get(model)
                .map(|used| used.saturating_sub(cost)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(total: u64, used: u64, expires_at: Option<i64>) -> ApiKeyRecord {
        ApiKeyRecord {
            key_hash: "sk-1".into(),
            prefix: String::new(),
            total_quota: total,
            used_quota: used,
            created_at: 0,
            description: None,
            model_stats: BTreeMap::new(),
            allowed_models: vec![],
            max_concurrent: None,
            expires_at,
            policy: Default::default(),
        }
    }

    fn state_with(record: ApiKeyRecord) -> FileState {
        let mut state = FileState::default();
        state.apply(&JournalEntry::PutKey {
            record: Box::new(record),
        });
        state
    }

    #[test]
    fn replaying_usage_twice_does_not_double_count() {
        let mut state = state_with(key(10, 0, None));
        let (outcome, entry) = state.debit("sk-1", "m", 4, 0);
        assert_eq!(
            outcome,
            DebitOutcome::Debited {
                used_quota: 4,
                total_quota: 10
            }
        );
        let entry = entry.unwrap();
        state.apply(&entry);
        state.apply(&entry);
        assert_eq!(state.keys["sk-1"].used_quota, 4);
        assert_eq!(state.keys["sk-1"].model_stats["m"], 4);
    }

    #[test]
    fn expiry_is_inclusive_and_checked_before_quota() {
        let state = state_with(key(1, 1, Some(100)));
        assert_eq!(state.debit("sk-1", "m", 1, 100).0, DebitOutcome::Expired);
        assert!(matches!(
            state.debit("sk-1", "m", 1, 99).0,
            DebitOutcome::Exhausted { .. }
        ));
    }

    #[test]
    fn refund_leaves_unknown_models_alone() {
        let mut state = state_with(key(10, 2, None));
        state.apply(&state.refund("sk-1", "other", 5).unwrap());
        assert_eq!(state.keys["sk-1"].used_quota, 0);
        assert!(state.keys["sk-1"].model_stats.is_empty());
        assert!(state.refund("sk-missing", "m", 1).is_none());
    }
}
