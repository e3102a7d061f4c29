//! The human-readable layout of the files backend: JSON values ⇄ TOML tables.
//!
//! TOML has no null and no integers beyond `i64`, so:
//! - state and API-key records drop their `null` members (serde reads a missing `Option` as `None`);
//! - a credential that cannot be written field by field (a `null` anywhere, a huge integer, or a field
//!   named like one of the reserved keys below) is kept verbatim as a JSON string in `credential_json`,
//!   so unknown fields always survive a round trip;
//! - config values and costs that TOML cannot hold are refused before they reach the journal.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::credentials::{CredentialKind, CredentialRecord, CredentialState};
use crate::store::{ApiKeyRecord, StoreError};

/// Sub-table holding [`CredentialState`] inside a credential's table.
const STATE_KEY: &str = "state";
/// Fallback: the whole credential object as one JSON string.
const CREDENTIAL_JSON_KEY: &str = "credential_json";
/// The credential's kind; written only when it is not Code Assist, so older files read unchanged.
const KIND_KEY: &str = "kind";

pub(super) const HEADER: &str =
    "# Written by gcli2api. Edit only while gcli2api is stopped: a running instance \
                      overwrites this file.\n\n";

/// Converts a JSON value to TOML; `None` when TOML cannot hold it losslessly.
pub(super) fn json_to_toml(value: &Value) -> Option<toml::Value> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(toml::Value::Boolean(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(toml::Value::Integer(i)),
            None if n.is_f64() => n.as_f64().map(toml::Value::Float),
            None => None,
        },
        Value::String(s) => Some(toml::Value::String(s.clone())),
        Value::Array(items) => items
            .iter()
            .map(json_to_toml)
            .collect::<Option<Vec<_>>>()
            .map(toml::Value::Array),
        Value::Object(map) => object_to_table(map).map(toml::Value::Table),
    }
}

fn object_to_table(map: &Map<String, Value>) -> Option<toml::Table> {
    map.iter()
        .map(|(k, v)| json_to_toml(v).map(|t| (k.clone(), t)))
        .collect()
}

pub(super) fn toml_to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        // Only appears when someone writes a TOML date by hand; keep its text.
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(table_to_object(t)),
    }
}

fn table_to_object(table: &toml::Table) -> Map<String, Value> {
    table
        .iter()
        .map(|(k, v)| (k.clone(), toml_to_json(v)))
        .collect()
}

/// Removes `null` object members at every depth (they mean "absent" for our own records).
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Serialises one of our own records (nulls dropped) into a TOML table.
fn record_table<T: serde::Serialize>(record: &T, what: &str) -> Result<toml::Table, StoreError> {
    let mut json = serde_json::to_value(record)
        .map_err(|e| StoreError::Backend(format!("cannot serialise {what}: {e}")))?;
    strip_nulls(&mut json);
    match json_to_toml(&json) {
        Some(toml::Value::Table(t)) => Ok(t),
        _ => Err(StoreError::Backend(format!(
            "{what} holds a number too large for the files backend"
        ))),
    }
}

fn parse_root(text: &str, file: &str) -> Result<toml::Table, StoreError> {
    text.parse::<toml::Table>()
        .map_err(|e| StoreError::Corrupt(format!("{file}: {e}")))
}

fn render(root: &toml::Table, file: &str) -> Result<String, StoreError> {
    let body = toml::to_string(root)
        .map_err(|e| StoreError::Backend(format!("cannot render {file}: {e}")))?;
    Ok(format!("{HEADER}{body}"))
}

// ---- creds.toml ----

pub(super) fn credential_table(record: &CredentialRecord) -> Result<toml::Table, StoreError> {
    let reserved = [STATE_KEY, CREDENTIAL_JSON_KEY, KIND_KEY]
        .iter()
        .any(|key| record.credential.contains_key(*key));
    let direct = if reserved {
        None
    } else {
        object_to_table(&record.credential)
    };
    let mut table = match direct {
        Some(t) => t,
        None => {
            let json = serde_json::to_string(&record.credential)
                .map_err(|e| StoreError::Backend(format!("cannot serialise credential: {e}")))?;
            toml::Table::from_iter([(CREDENTIAL_JSON_KEY.to_string(), toml::Value::String(json))])
        }
    };
    let state = record_table(&record.state, "credential state")?;
    table.insert(STATE_KEY.to_string(), toml::Value::Table(state));
    if record.kind != CredentialKind::default() {
        table.insert(
            KIND_KEY.to_string(),
            toml::Value::String(record.kind.as_str().to_string()),
        );
    }
    Ok(table)
}

#[cfg(test)]
pub(super) fn render_credentials(
    credentials: &BTreeMap<String, CredentialRecord>,
) -> Result<String, StoreError> {
    let mut root = toml::Table::new();
    for (name, record) in credentials {
        root.insert(name.clone(), toml::Value::Table(credential_table(record)?));
    }
    render(&root, "creds.toml")
}

pub(super) fn parse_credentials(
    text: &str,
) -> Result<BTreeMap<String, CredentialRecord>, StoreError> {
    let root = parse_root(text, "creds.toml")?;
    let mut out = BTreeMap::new();
    for (name, value) in root {
        let record = credential_record(name, value)?;
        out.insert(record.name.clone(), record);
    }
    Ok(out)
}

/// One credential's tables (`[name]`, `[name.state]`, …) as `creds.toml` holds them.
pub(super) fn render_credential(record: &CredentialRecord) -> Result<String, StoreError> {
    let root = toml::Table::from_iter([(
        record.name.clone(),
        toml::Value::Table(credential_table(record)?),
    )]);
    toml::to_string(&root)
        .map_err(|e| StoreError::Backend(format!("cannot render a credential: {e}")))
}

/// Reads back the text of one credential's tables; `None` when it holds anything but the tables
/// of exactly one credential.
pub(super) fn parse_credential(text: &str) -> Result<Option<CredentialRecord>, StoreError> {
    let mut root = parse_root(text, "creds.toml")?;
    let Some(name) = root.keys().next().cloned() else {
        return Ok(None);
    };
    if root.len() != 1 {
        return Ok(None);
    }
    match root.remove(&name) {
        Some(value) => credential_record(name, value).map(Some),
        None => Ok(None),
    }
}

fn credential_record(name: String, value: toml::Value) -> Result<CredentialRecord, StoreError> {
    let toml::Value::Table(mut table) = value else {
        return Err(StoreError::Corrupt(format!(
            "creds.toml: `{name}` is not a table"
        )));
    };
    let state = match table.remove(STATE_KEY) {
        Some(v) => serde_json::from_value::<CredentialState>(toml_to_json(&v))
            .map_err(|e| StoreError::Corrupt(format!("creds.toml: state of `{name}`: {e}")))?,
        None => CredentialState::default(),
    };
    let kind = match table.remove(KIND_KEY) {
        Some(toml::Value::String(text)) => CredentialKind::parse(&text).ok_or_else(|| {
            StoreError::Corrupt(format!("creds.toml: unknown kind `{text}` of `{name}`"))
        })?,
        Some(_) => {
            return Err(StoreError::Corrupt(format!(
                "creds.toml: kind of `{name}` is not a string"
            )))
        }
        None => CredentialKind::default(),
    };
    let credential = match table.get(CREDENTIAL_JSON_KEY) {
        Some(toml::Value::String(json)) => serde_json::from_str::<Map<String, Value>>(json)
            .map_err(|e| {
                StoreError::Corrupt(format!("creds.toml: credential_json of `{name}`: {e}"))
            })?,
        _ => table_to_object(&table),
    };
    Ok(CredentialRecord {
        name,
        kind,
        credential,
        state,
    })
}

// ---- config.toml ----

pub(super) fn config_value(key: &str, value: &Value) -> Result<toml::Value, StoreError> {
    json_to_toml(value).ok_or_else(|| {
        StoreError::Backend(format!(
            "config value `{key}` holds a null or a number the files backend cannot store"
        ))
    })
}

pub(super) fn render_config(config: &Map<String, Value>) -> Result<String, StoreError> {
    let mut root = toml::Table::new();
    for (key, value) in config {
        root.insert(key.clone(), config_value(key, value)?);
    }
    render(&root, "config.toml")
}

pub(super) fn parse_config(text: &str) -> Result<Map<String, Value>, StoreError> {
    Ok(table_to_object(&parse_root(text, "config.toml")?))
}

// ---- api_keys.toml ----

pub(super) fn key_table(record: &ApiKeyRecord) -> Result<toml::Table, StoreError> {
    let mut table = record_table(record, "API key")?;
    // The table name already is the key's hash.
    table.remove("key_hash");
    Ok(table)
}

pub(super) fn render_keys(keys: &BTreeMap<String, ApiKeyRecord>) -> Result<String, StoreError> {
    let mut root = toml::Table::new();
    for (api_key, record) in keys {
        root.insert(api_key.clone(), toml::Value::Table(key_table(record)?));
    }
    render(&root, "api_keys.toml")
}

pub(super) fn parse_keys(text: &str) -> Result<BTreeMap<String, ApiKeyRecord>, StoreError> {
    let root = parse_root(text, "api_keys.toml")?;
    let mut out = BTreeMap::new();
    for (index, (api_key, value)) in root.into_iter().enumerate() {
        let mut json = toml_to_json(&value);
        if let Value::Object(map) = &mut json {
            map.insert("key_hash".to_string(), Value::String(api_key.clone()));
        }
        // A file written before keys were hashed names entries by the key: name them by position.
        let record = serde_json::from_value::<ApiKeyRecord>(json)
            .map_err(|e| StoreError::Corrupt(format!("api_keys.toml: entry #{index}: {e}")))?;
        out.insert(api_key, record);
    }
    Ok(out)
}

// ---- model_costs.toml ----

pub(super) fn check_cost(model: &str, cost: u64) -> Result<(), StoreError> {
    i64::try_from(cost).map(|_| ()).map_err(|_| {
        StoreError::Backend(format!(
            "cost of `{model}` is too large for the files backend"
        ))
    })
}

pub(super) fn render_costs(costs: &BTreeMap<String, u64>) -> Result<String, StoreError> {
    let mut root = toml::Table::new();
    for (model, cost) in costs {
        let cost = i64::try_from(*cost).map_err(|_| {
            StoreError::Backend(format!(
                "cost of `{model}` is too large for the files backend"
            ))
        })?;
        root.insert(model.clone(), toml::Value::Integer(cost));
    }
    render(&root, "model_costs.toml")
}

pub(super) fn parse_costs(text: &str) -> Result<BTreeMap<String, u64>, StoreError> {
    let root = parse_root(text, "model_costs.toml")?;
    let mut out = BTreeMap::new();
    for (model, value) in root {
        let cost = value
            .as_integer()
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "model_costs.toml: cost of `{model}` is not a non-negative integer"
                ))
            })?;
        out.insert(model, cost);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(credential: Value) -> CredentialRecord {
        CredentialRecord {
            name: "a.json".into(),
            kind: Default::default(),
            credential: credential.as_object().cloned().unwrap_or_default(),
            state: CredentialState::default(),
        }
    }

    fn round_trip(record: &CredentialRecord) -> CredentialRecord {
        let map = BTreeMap::from([(record.name.clone(), record.clone())]);
        let text = render_credentials(&map).unwrap();
        parse_credentials(&text)
            .unwrap()
            .remove(&record.name)
            .unwrap()
    }

    #[test]
    fn plain_credential_is_written_field_by_field() {
        let r = record(json!({"client_id": "c", "scopes": ["a", "b"], "nested": {"x": 1.5}}));
        let text = render_credentials(&BTreeMap::from([(r.name.clone(), r.clone())])).unwrap();
        assert!(text.contains("client_id = \"c\""), "{text}");
        assert!(text.contains("[\"a.json\".state]"), "{text}");
        assert_eq!(round_trip(&r), r);
    }

    #[test]
    fn credentials_toml_cannot_hold_fall_back_to_json() {
        for credential in [
            json!({"client_id": "c", "quota_project_id": null}),
            json!({"big": u64::MAX}),
            json!({"state": "reserved name"}),
            json!({"credential_json": "reserved name"}),
            json!({"list": [1, null]}),
        ] {
            let r = record(credential);
            let text = render_credentials(&BTreeMap::from([(r.name.clone(), r.clone())])).unwrap();
            assert!(text.contains("credential_json"), "{text}");
            assert_eq!(round_trip(&r), r);
        }
    }

    #[test]
    fn state_with_options_and_errors_round_trips() {
        let mut r = record(json!({"refresh_token": "1//x"}));
        r.state.disabled_reason = Some("by hand".into());
        r.state.errors.push(crate::credentials::ErrorRecord {
            code: 429,
            message: "slow down".into(),
            at: 17,
        });
        r.state.model_cooldowns.insert("gemini-2.5-pro".into(), 99);
        assert_eq!(round_trip(&r), r);
    }

    #[test]
    fn api_keys_round_trip_without_storing_the_key_twice() {
        let hash = crate::key_id::hash_key("sk-test");
        let key = ApiKeyRecord {
            key_hash: hash.clone(),
            prefix: "sk-test…".into(),
            total_quota: 10,
            used_quota: 3,
            created_at: 5,
            description: None,
            model_stats: BTreeMap::from([("gemini-2.5-pro".into(), 3)]),
            allowed_models: vec![],
            max_concurrent: Some(2),
            expires_at: None,
            policy: Default::default(),
        };
        let text = render_keys(&BTreeMap::from([(key.key_hash.clone(), key.clone())])).unwrap();
        assert!(!text.contains("key_hash ="), "{text}");
        assert_eq!(parse_keys(&text).unwrap().remove(&hash), Some(key));
    }

    #[test]
    fn config_refuses_nulls_and_costs_refuse_huge_numbers() {
        assert!(config_value("k", &json!([null])).is_err());
        assert!(config_value("k", &json!({"a": 1})).is_ok());
        assert!(check_cost("m", u64::MAX).is_err());
        let costs = BTreeMap::from([("gemini-2.5-pro".to_string(), 7)]);
        assert_eq!(parse_costs(&render_costs(&costs).unwrap()).unwrap(), costs);
    }
}
