//! MongoDB backend (`MONGODB_URI`, database `MONGODB_DATABASE`). Collections `<prefix>_credentials`,
//! `_config`, `_api_keys`, `_model_costs`, `_leases`, `_insights`, `_audit` and `_meta`; every document's `_id`
//! is its name. An insight document holds the [`CredentialInsight`] under `insight`.
//!
//! `model_stats` of an API key is stored as an array of `{model, used}` documents, not as a
//! sub-document keyed by model: model names contain dots (`gemini-2.5-pro`), which update operators
//! would read as nested paths. Debit and refund are single `findOneAndUpdate`/`updateOne` calls with
//! an aggregation-pipeline update, where every model name enters through `$literal` so a name
//! starting with `$` is never taken for a field path.
//!
//! Multi-document transactions need a replica set, so a credential write and its generation bump
//! are two operations (write first, then `$inc`): a poller may reload once too often, never too few.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, ReturnDocument};
use mongodb::{Client, Collection};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    ApiKeyRecord, AuditEntry, AuditQuery, CredentialInsight, CredentialKind, CredentialRecord,
    DebitOutcome, KeyPolicy, Store, StoreError,
};

const SELECTION_TIMEOUT: Duration = Duration::from_secs(5);
const DUPLICATE_KEY: i32 = 11000;
const GENERATION_ID: &str = "credentials_generation";

pub struct MongoStore {
    client: Client,
    credentials: Collection<Document>,
    config: Collection<Document>,
    api_keys: Collection<Document>,
    model_costs: Collection<Document>,
    leases: Collection<Document>,
    insights: Collection<Document>,
    /// Audit entries: `_id` the entry's id, `time` and `action` to query by, the entry as JSON text in
    /// `entry` (kept as text so its free-form `changes` round-trip exactly).
    audit: Collection<Document>,
    meta: Collection<Document>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ModelUsage {
    model: String,
    used: i64,
}

/// The stored shape of an [`ApiKeyRecord`]: signed integers, because BSON has no unsigned 64-bit.
#[derive(Debug, Serialize, Deserialize)]
struct KeyDocument {
    #[serde(rename = "_id")]
    api_key: String,
    /// The start of the key, for display; `_id` is the key's hash.
    #[serde(default)]
    prefix: String,
    total_quota: i64,
    used_quota: i64,
    created_at: i64,
    description: Option<String>,
    #[serde(default)]
    model_stats: Vec<ModelUsage>,
    #[serde(default)]
    allowed_models: Vec<String>,
    max_concurrent: Option<i64>,
    expires_at: Option<i64>,
    #[serde(default)]
    policy: KeyPolicy,
}

fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::Backend(format!("{what} is too large for MongoDB int64")))
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl KeyDocument {
    fn from_record(record: &ApiKeyRecord) -> Result<Self, StoreError> {
        Ok(Self {
            api_key: record.key_hash.clone(),
            prefix: record.prefix.clone(),
            total_quota: to_i64(record.total_quota, "total_quota")?,
            used_quota: to_i64(record.used_quota, "used_quota")?,
            created_at: record.created_at,
            description: record.description.clone(),
            model_stats: record
                .model_stats
                .iter()
                .map(|(model, used)| {
                    Ok(ModelUsage {
                        model: model.clone(),
                        used: to_i64(*used, "model_stats")?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            allowed_models: record.allowed_models.clone(),
            max_concurrent: record.max_concurrent.map(i64::from),
            expires_at: record.expires_at,
            policy: record.policy.clone(),
        })
    }

    fn into_record(self) -> ApiKeyRecord {
        ApiKeyRecord {
            key_hash: self.api_key,
            prefix: self.prefix,
            total_quota: to_u64(self.total_quota),
            used_quota: to_u64(self.used_quota),
            created_at: self.created_at,
            description: self.description,
            model_stats: self
                .model_stats
                .into_iter()
                .map(|m| (m.model, to_u64(m.used)))
                .collect(),
            allowed_models: self.allowed_models,
            max_concurrent: self.max_concurrent.and_then(|n| u32::try_from(n).ok()),
            expires_at: self.expires_at,
            policy: self.policy,
        }
    }
}

fn mongo_error(e: MongoError) -> StoreError {
    match *e.kind {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown => StoreError::Unavailable(format!("MongoDB: {e}")),
        _ => StoreError::Backend(format!("MongoDB: {e}")),
    }
}

fn is_duplicate_key(e: &MongoError) -> bool {
    match &*e.kind {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("MongoDB {what}: {e}"))
}

fn to_bson_document<T: Serialize>(value: &T, what: &str) -> Result<Document, StoreError> {
    bson::to_document(value).map_err(|e| StoreError::Backend(format!("serialise {what}: {e}")))
}

fn credential_from_document(doc: Document) -> Result<CredentialRecord, StoreError> {
    let name = doc
        .get_str("_id")
        .map_err(|e| corrupt("credential", e))?
        .to_string();
    let credential = match doc.get_document("credential") {
        Ok(d) => bson::from_document::<Map<String, Value>>(d.clone())
            .map_err(|e| corrupt(&format!("credential `{name}`"), e))?,
        Err(e) => return Err(corrupt(&format!("credential `{name}`"), e)),
    };
    let state = match doc.get_document("state") {
        Ok(d) => {
            bson::from_document(d.clone()).map_err(|e| corrupt(&format!("state of `{name}`"), e))?
        }
        Err(_) => Default::default(),
    };
    // Documents written before kinds existed have none: Code Assist.
    let kind = match doc.get_str("kind") {
        Ok(text) => CredentialKind::parse(text)
            .ok_or_else(|| corrupt(&format!("kind of `{name}`"), text))?,
        Err(_) => CredentialKind::default(),
    };
    Ok(CredentialRecord {
        name,
        kind,
        credential,
        state,
    })
}

fn key_from_document(doc: Document) -> Result<ApiKeyRecord, StoreError> {
    bson::from_document::<KeyDocument>(doc)
        .map(KeyDocument::into_record)
        .map_err(|e| corrupt("API key", e))
}

impl MongoStore {
    pub async fn open(uri: &str, database: &str, prefix: &str) -> Result<Self, StoreError> {
        let unreachable = |e: MongoError| StoreError::Unavailable(format!("MongoDB: {e}"));
        let mut options = ClientOptions::parse(uri).await.map_err(unreachable)?;
        options
            .server_selection_timeout
            .get_or_insert(SELECTION_TIMEOUT);
        options.connect_timeout.get_or_insert(SELECTION_TIMEOUT);
        options.app_name.get_or_insert_with(|| "gcli2api".into());
        let client = Client::with_options(options).map_err(unreachable)?;
        let db = client.database(database);
        // The driver connects lazily: ask now so a dead server fails the start, not the first request.
        db.run_command(doc! { "ping": 1 })
            .await
            .map_err(unreachable)?;
        let collection = |kind: &str| db.collection::<Document>(&format!("{prefix}_{kind}"));
        Ok(Self {
            credentials: collection("credentials"),
            config: collection("config"),
            api_keys: collection("api_keys"),
            model_costs: collection("model_costs"),
            leases: collection("leases"),
            insights: collection("insights"),
            audit: collection("audit"),
            meta: collection("meta"),
            client,
        })
    }

    async fn bump_generation(&self) -> Result<(), StoreError> {
        self.meta
            .update_one(
                doc! { "_id": GENERATION_ID },
                doc! { "$inc": { "value": 1_i64 } },
            )
            .upsert(true)
            .await
            .map_err(mongo_error)?;
        Ok(())
    }

    async fn all(&self, collection: &Collection<Document>) -> Result<Vec<Document>, StoreError> {
        collection
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await
            .map_err(mongo_error)?
            .try_collect()
            .await
            .map_err(mongo_error)
    }
}

/// `{model, used}` entries with `model` changed by `delta`, clamped at zero; appends the entry when
/// `append_missing` and the model has none yet.
fn model_stats_update(model: &str, delta: Bson, append_missing: bool) -> Document {
    let model = doc! { "$literal": model };
    let stats = doc! { "$ifNull": ["$model_stats", []] };
    let changed = doc! {
        "$map": {
            "input": stats.clone(),
            "as": "m",
            "in": { "$cond": {
                "if": { "$eq": ["$$m.model", model.clone()] },
                "then": {
                    "model": "$$m.model",
                    "used": { "$max": [0_i64, { "$add": ["$$m.used", delta.clone()] }] },
                },
                "else": "$$m",
            } },
        }
    };
    if !append_missing {
        return changed;
    }
    doc! {
        "$cond": {
            "if": { "$in": [model.clone(), { "$map": { "input": stats.clone(), "as": "m", "in": "$$m.model" } }] },
            "then": changed,
            "else": { "$concatArrays": [stats, [{ "model": model, "used": delta }]] },
        }
    }
}

#[async_trait]
impl Store for MongoStore {
    fn backend_name(&self) -> &'static str {
        "mongodb"
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn load_credentials(&self) -> Result<Vec<CredentialRecord>, StoreError> {
        self.all(&self.credentials)
            .await?
            .into_iter()
            .map(credential_from_document)
            .collect()
    }

    async fn get_credential(&self, name: &str) -> Result<Option<CredentialRecord>, StoreError> {
        self.credentials
            .find_one(doc! { "_id": name })
            .await
            .map_err(mongo_error)?
            .map(credential_from_document)
            .transpose()
    }

    async fn put_credential(&self, record: &CredentialRecord) -> Result<(), StoreError> {
        let document = doc! {
            "_id": &record.name,
            "kind": record.kind.as_str(),
            "credential": to_bson_document(&record.credential, "credential")?,
            "state": to_bson_document(&record.state, "credential state")?,
        };
        self.credentials
            .replace_one(doc! { "_id": &record.name }, document)
            .upsert(true)
            .await
            .map_err(mongo_error)?;
        self.bump_generation().await
    }

    async fn delete_credential(&self, name: &str) -> Result<bool, StoreError> {
        let result = self
            .credentials
            .delete_one(doc! { "_id": name })
            .await
            .map_err(mongo_error)?;
        if result.deleted_count == 0 {
            return Ok(false);
        }
        self.bump_generation().await?;
        Ok(true)
    }

    async fn credentials_generation(&self) -> Result<u64, StoreError> {
        let doc = self
            .meta
            .find_one(doc! { "_id": GENERATION_ID })
            .await
            .map_err(mongo_error)?;
        Ok(doc.and_then(|d| d.get_i64("value").ok()).map_or(0, to_u64))
    }

    async fn load_config(&self) -> Result<Map<String, Value>, StoreError> {
        self.all(&self.config)
            .await?
            .into_iter()
            .map(|doc| {
                let key = doc
                    .get_str("_id")
                    .map_err(|e| corrupt("config", e))?
                    .to_string();
                let value = doc.get("value").cloned().unwrap_or(Bson::Null);
                let value: Value =
                    bson::from_bson(value).map_err(|e| corrupt(&format!("config `{key}`"), e))?;
                Ok((key, value))
            })
            .collect()
    }

    async fn save_config(&self, changes: &Map<String, Value>) -> Result<(), StoreError> {
        for (key, value) in changes {
            if value.is_null() {
                self.config
                    .delete_one(doc! { "_id": key })
                    .await
                    .map_err(mongo_error)?;
            } else {
                let value = bson::to_bson(value)
                    .map_err(|e| StoreError::Backend(format!("serialise config `{key}`: {e}")))?;
                self.config
                    .replace_one(doc! { "_id": key }, doc! { "_id": key, "value": value })
                    .upsert(true)
                    .await
                    .map_err(mongo_error)?;
            }
        }
        Ok(())
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut keys = self
            .all(&self.api_keys)
            .await?
            .into_iter()
            .map(key_from_document)
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| (a.created_at, &a.key_hash).cmp(&(b.created_at, &b.key_hash)));
        Ok(keys)
    }

    async fn get_key(&self, api_key: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.api_keys
            .find_one(doc! { "_id": api_key })
            .await
            .map_err(mongo_error)?
            .map(key_from_document)
            .transpose()
    }

    async fn insert_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let document = to_bson_document(&KeyDocument::from_record(record)?, "API key")?;
        match self.api_keys.insert_one(document).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate_key(&e) => Err(StoreError::Conflict(format!(
                "API key {}",
                crate::key_id::id_of_hash(&record.key_hash)
            ))),
            Err(e) => Err(mongo_error(e)),
        }
    }

    async fn update_key(&self, record: &ApiKeyRecord) -> Result<bool, StoreError> {
        let document = KeyDocument::from_record(record)?;
        let policy = bson::to_bson(&document.policy)
            .map_err(|e| StoreError::Backend(format!("serialise key policy: {e}")))?;
        let change = doc! { "$set": {
            "total_quota": document.total_quota,
            "description": document.description,
            "allowed_models": document.allowed_models,
            "max_concurrent": document.max_concurrent,
            "expires_at": document.expires_at,
            "policy": policy,
        }};
        let result = self
            .api_keys
            .update_one(doc! { "_id": &record.key_hash }, change)
            .await
            .map_err(mongo_error)?;
        Ok(result.matched_count > 0)
    }

    async fn delete_key(&self, api_key: &str) -> Result<bool, StoreError> {
        let result = self
            .api_keys
            .delete_one(doc! { "_id": api_key })
            .await
            .map_err(mongo_error)?;
        Ok(result.deleted_count > 0)
    }

    async fn debit_key(
        &self,
        api_key: &str,
        model: &str,
        cost: u64,
        now: i64,
    ) -> Result<DebitOutcome, StoreError> {
        let cost = to_i64(cost, "cost")?;
        let filter = doc! {
            "_id": api_key,
            "$expr": { "$gte": [{ "$subtract": ["$total_quota", "$used_quota"] }, cost] },
            "$or": [{ "expires_at": null }, { "expires_at": { "$gt": now } }],
        };
        let update = vec![doc! {
            "$set": {
                "used_quota": { "$add": ["$used_quota", cost] },
                "model_stats": model_stats_update(model, Bson::Int64(cost), true),
            }
        }];
        let updated = self
            .api_keys
            .find_one_and_update(filter, update)
            .return_document(ReturnDocument::After)
            .await
            .map_err(mongo_error)?;
        if let Some(doc) = updated {
            let key = key_from_document(doc)?;
            return Ok(DebitOutcome::Debited {
                used_quota: key.used_quota,
                total_quota: key.total_quota,
            });
        }
        // Nothing taken: find out why.
        let Some(key) = self.get_key(api_key).await? else {
            return Ok(DebitOutcome::NotFound);
        };
        if key.expires_at.is_some_and(|at| at <= now) {
            return Ok(DebitOutcome::Expired);
        }
        Ok(DebitOutcome::Exhausted {
            used_quota: key.used_quota,
            total_quota: key.total_quota,
        })
    }

    async fn refund_key(&self, api_key: &str, model: &str, cost: u64) -> Result<(), StoreError> {
        let cost = to_i64(cost, "cost")?;
        let update = vec![doc! {
            "$set": {
                "used_quota": { "$max": [0_i64, { "$subtract": ["$used_quota", cost] }] },
                "model_stats": model_stats_update(model, Bson::Int64(-cost), false),
            }
        }];
        self.api_keys
            .update_one(doc! { "_id": api_key }, update)
            .await
            .map_err(mongo_error)?;
        Ok(())
    }

    async fn load_model_costs(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        self.all(&self.model_costs)
            .await?
            .into_iter()
            .map(|doc| {
                let model = doc
                    .get_str("_id")
                    .map_err(|e| corrupt("model cost", e))?
                    .to_string();
                let cost = match doc.get("cost") {
                    Some(Bson::Int64(n)) => to_u64(*n),
                    Some(Bson::Int32(n)) => to_u64(i64::from(*n)),
                    _ => return Err(corrupt(&format!("cost of `{model}`"), "not an integer")),
                };
                Ok((model, cost))
            })
            .collect()
    }

    async fn set_model_cost(&self, model: &str, cost: u64) -> Result<(), StoreError> {
        let cost = to_i64(cost, "cost")?;
        self.model_costs
            .replace_one(doc! { "_id": model }, doc! { "_id": model, "cost": cost })
            .upsert(true)
            .await
            .map_err(mongo_error)?;
        Ok(())
    }

    async fn delete_model_cost(&self, model: &str) -> Result<bool, StoreError> {
        let result = self
            .model_costs
            .delete_one(doc! { "_id": model })
            .await
            .map_err(mongo_error)?;
        Ok(result.deleted_count > 0)
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl_ms: u64) -> Result<bool, StoreError> {
        let ttl_ms = to_i64(ttl_ms, "lease ttl")?;
        // Matches a lease we may take; when it is held by someone else the upsert collides with the
        // existing `_id` and fails, which is the "not taken" answer. The server clock decides expiry.
        let filter = doc! {
            "_id": name,
            "$or": [
                { "holder": holder },
                { "$expr": { "$lte": ["$expires_at", "$$NOW"] } },
            ],
        };
        let update = vec![doc! {
            "$set": {
                "holder": { "$literal": holder },
                "expires_at": { "$add": ["$$NOW", ttl_ms] },
            }
        }];
        match self.leases.update_one(filter, update).upsert(true).await {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(mongo_error(e)),
        }
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.leases
            .delete_one(doc! { "_id": name, "holder": holder })
            .await
            .map_err(mongo_error)?;
        Ok(())
    }

    async fn put_insight(&self, name: &str, insight: &CredentialInsight) -> Result<(), StoreError> {
        let document = doc! {
            "_id": name,
            "insight": to_bson_document(insight, "credential insight")?,
        };
        self.insights
            .replace_one(doc! { "_id": name }, document)
            .upsert(true)
            .await
            .map_err(mongo_error)?;
        Ok(())
    }

    async fn get_insight(&self, name: &str) -> Result<Option<CredentialInsight>, StoreError> {
        let Some(doc) = self
            .insights
            .find_one(doc! { "_id": name })
            .await
            .map_err(mongo_error)?
        else {
            return Ok(None);
        };
        let what = format!("insight of `{name}`");
        let insight = doc.get_document("insight").map_err(|e| corrupt(&what, e))?;
        bson::from_document(insight.clone())
            .map(Some)
            .map_err(|e| corrupt(&what, e))
    }

    async fn delete_insight(&self, name: &str) -> Result<(), StoreError> {
        self.insights
            .delete_one(doc! { "_id": name })
            .await
            .map_err(mongo_error)?;
        Ok(())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let text = serde_json::to_string(entry)
            .map_err(|e| StoreError::Backend(format!("audit entry: {e}")))?;
        let document = doc! {
            "_id": &entry.id,
            "time": entry.time,
            "action": entry.action.as_str(),
            "entry": text,
        };
        // Replaced rather than inserted, so copying a log twice (`migrate`) keeps one of each.
        self.audit
            .replace_one(doc! { "_id": &entry.id }, document)
            .upsert(true)
            .await
            .map_err(mongo_error)?;
        Ok(())
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let mut filter = doc! {};
        if let Some(before) = query.before {
            filter.insert("time", doc! { "$lt": before });
        }
        if let Some(action) = query.action {
            filter.insert("action", action.as_str());
        }
        let limit = i64::try_from(query.bounded_limit()).unwrap_or(i64::MAX);
        let documents: Vec<Document> = self
            .audit
            .find(filter)
            .sort(doc! { "time": -1, "_id": -1 })
            .limit(limit)
            .await
            .map_err(mongo_error)?
            .try_collect()
            .await
            .map_err(mongo_error)?;
        Ok(documents
            .iter()
            .filter_map(|d| d.get_str("entry").ok())
            .filter_map(|text| serde_json::from_str(text).ok())
            .collect())
    }

    async fn prune_audit(&self, before: i64, keep: usize) -> Result<u64, StoreError> {
        let old = self
            .audit
            .delete_many(doc! { "time": { "$lt": before } })
            .await
            .map_err(mongo_error)?
            .deleted_count;
        // The time of the newest entry beyond `keep`; everything at or before it goes.
        let skip = u64::try_from(keep).unwrap_or(u64::MAX);
        let cut = self
            .audit
            .find_one(doc! {})
            .sort(doc! { "time": -1, "_id": -1 })
            .skip(skip)
            .await
            .map_err(mongo_error)?;
        let over = match cut.and_then(|d| d.get_i64("time").ok()) {
            Some(time) => {
                self.audit
                    .delete_many(doc! { "time": { "$lte": time } })
                    .await
                    .map_err(mongo_error)?
                    .deleted_count
            }
            None => 0,
        };
        Ok(old + over)
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.client.clone().shutdown().await;
        Ok(())
    }
}
