//! The OAuth credential JSON as Google tools write it, read leniently (`token` or `access_token`; expiry
//! with `Z`, an offset, or none meaning UTC) and updated in place so unknown fields survive.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CredentialFormatError {
    #[error("credential is not a JSON object")]
    NotAnObject,
    #[error("credential lacks `{0}`")]
    Missing(&'static str),
    #[error("credential field `{0}` must be a string")]
    NotAString(&'static str),
}

/// The fields the gateway uses, borrowed out of the JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialFields {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub access_token: Option<String>,
    pub expiry: Option<DateTime<Utc>>,
    pub project_id: Option<String>,
}

fn opt_str(
    map: &Map<String, Value>,
    key: &'static str,
) -> Result<Option<String>, CredentialFormatError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(CredentialFormatError::NotAString(key)),
    }
}

fn req_str(map: &Map<String, Value>, key: &'static str) -> Result<String, CredentialFormatError> {
    opt_str(map, key)?.ok_or(CredentialFormatError::Missing(key))
}

impl CredentialFields {
    pub fn parse(map: &Map<String, Value>) -> Result<Self, CredentialFormatError> {
        let access_token = match opt_str(map, "token")? {
            Some(t) => Some(t),
            None => opt_str(map, "access_token")?,
        };
        Ok(Self {
            client_id: req_str(map, "client_id")?,
            client_secret: req_str(map, "client_secret")?,
            refresh_token: req_str(map, "refresh_token")?,
            access_token,
            expiry: opt_str(map, "expiry")?.as_deref().and_then(parse_expiry),
            project_id: opt_str(map, "project_id")?,
        })
    }

    pub fn parse_value(value: &Value) -> Result<Self, CredentialFormatError> {
        value
            .as_object()
            .ok_or(CredentialFormatError::NotAnObject)
            .and_then(Self::parse)
    }
}

/// Accepts `2026-01-10T02:55:29.123456+00:00`, `...Z`, and naive timestamps (taken as UTC).
pub fn parse_expiry(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(raw) {
        return Some(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(raw, fmt) {
            return Some(naive.and_utc());
        }
    }
    None
}

/// Writes a refreshed token into the JSON, keeping both spellings the tools read.
pub fn store_token(
    map: &mut Map<String, Value>,
    access_token: &str,
    expiry: DateTime<Utc>,
    new_refresh_token: Option<&str>,
) {
    map.insert("token".into(), Value::String(access_token.to_string()));
    map.insert(
        "access_token".into(),
        Value::String(access_token.to_string()),
    );
    map.insert(
        "expiry".into(),
        Value::String(expiry.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)),
    );
    if let Some(rt) = new_refresh_token {
        map.insert("refresh_token".into(), Value::String(rt.to_string()));
    }
}

/// A copy safe to show: tokens and the client secret masked.
pub fn masked_copy(map: &Map<String, Value>) -> Map<String, Value> {
    let mut out = map.clone();
    for key in [
        "token",
        "access_token",
        "refresh_token",
        "client_secret",
        "api_key",
        "private_key",
        "private_key_id",
    ] {
        if let Some(Value::String(s)) = out.get(key) {
            let masked = crate::logging::mask(s);
            out.insert(key.into(), Value::String(masked));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn accepts_both_token_spellings_and_expiry_forms() {
        let a = CredentialFields::parse(&obj(json!({"client_id":"c","client_secret":"s","refresh_token":"r","access_token":"a","expiry":"2026-01-10T02:55:29Z"}))).unwrap();
        assert_eq!(a.access_token.as_deref(), Some("a"));
        assert_eq!(a.expiry.unwrap().timestamp(), 1768013729);
        let b = CredentialFields::parse(&obj(json!({"client_id":"c","client_secret":"s","refresh_token":"r","token":"t","expiry":"2026-01-10T02:55:29.123456+00:00"}))).unwrap();
        assert_eq!(b.access_token.as_deref(), Some("t"));
        assert_eq!(b.expiry.unwrap().timestamp(), 1768013729);
        let c = CredentialFields::parse(&obj(json!({"client_id":"c","client_secret":"s","refresh_token":"r","expiry":"2026-01-10T02:55:29.5"}))).unwrap();
        assert_eq!(c.expiry.unwrap().timestamp(), 1768013729);
        let d = CredentialFields::parse(&obj(json!({"client_id":"c","client_secret":"s","refresh_token":"r","expiry":"2026-01-10T10:55:29+08:00"}))).unwrap();
        assert_eq!(d.expiry.unwrap().timestamp(), 1768013729);
    }

    #[test]
    fn missing_fields_are_named() {
        let err = CredentialFields::parse(&obj(json!({"client_id":"c","client_secret":"s"})))
            .unwrap_err();
        assert_eq!(err, CredentialFormatError::Missing("refresh_token"));
        assert_eq!(
            CredentialFields::parse_value(&json!([1])).unwrap_err(),
            CredentialFormatError::NotAnObject
        );
    }

    #[test]
    fn store_token_keeps_unknown_fields() {
        let mut m = obj(json!({"client_id":"c","custom":1}));
        store_token(&mut m, "new", Utc::now(), Some("rt2"));
        assert_eq!(m["custom"], 1);
        assert_eq!(m["token"], "new");
        assert_eq!(m["access_token"], "new");
        assert_eq!(m["refresh_token"], "rt2");
    }
}
