//! Credentials given in the environment, for containers without a writable volume: `GCLI_CREDS_<id>`
//! (JSON) and `GOOGLE_CREDENTIALS` / `GOOGLE_CREDENTIALS_<n>` (JSON or base64 of it). Each becomes a
//! credential named `env-<id>.json`; the names are stable, so loading twice replaces instead of
//! duplicating.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::env_text::json_object;
use super::json::CredentialFields;
use super::CredentialKind;

pub const ENV_PREFIX: &str = "env-";

#[derive(Debug, Clone, PartialEq)]
pub struct EnvCredential {
    pub var: String,
    pub name: String,
    pub kind: CredentialKind,
    pub result: Result<Map<String, Value>, String>,
}

fn sanitise(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn decode(raw: &str) -> Result<Map<String, Value>, String> {
    let map = json_object(raw)?;
    CredentialFields::parse(&map).map_err(|e| e.to_string())?;
    Ok(map)
}

/// Names of the variables that carry credentials.
pub fn is_credential_var(name: &str) -> bool {
    name.starts_with("GCLI_CREDS_")
        || name == "GOOGLE_CREDENTIALS"
        || name.starts_with("GOOGLE_CREDENTIALS_")
}

/// Every OAuth credential variable in `env`, parsed, in name order (API keys and Vertex credentials:
/// `env_keys::collect`).
pub fn collect(env: &HashMap<String, String>) -> Vec<EnvCredential> {
    let mut vars: Vec<(&String, &String)> =
        env.iter().filter(|(k, _)| is_credential_var(k)).collect();
    vars.sort();
    vars.into_iter()
        .map(|(var, raw)| {
            let id = var
                .strip_prefix("GCLI_CREDS_")
                .map(str::to_string)
                .unwrap_or_else(|| var.to_ascii_lowercase().replace('_', "-"));
            let result = decode(raw);
            let id = match (&result, id.chars().all(|c| c.is_ascii_digit())) {
                // A numbered variable is named after its project, so names say which account it is.
                (Ok(map), true) => match map.get("project_id").and_then(Value::as_str) {
                    Some(p) => format!("{}-{id}", sanitise(p)),
                    None => id,
                },
                _ => id,
            };
            EnvCredential {
                var: var.clone(),
                name: format!("{ENV_PREFIX}{}.json", sanitise(&id)),
                kind: CredentialKind::CodeAssist,
                result,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use serde_json::json;

    fn cred(project: &str) -> String {
        json!({"client_id":"c","client_secret":"s","refresh_token":"r","project_id":project})
            .to_string()
    }

    #[test]
    fn json_and_base64_forms_are_read() {
        let mut env = HashMap::new();
        env.insert("GCLI_CREDS_1".to_string(), cred("proj-a"));
        env.insert("GCLI_CREDS_team".to_string(), cred("proj-b"));
        env.insert(
            "GOOGLE_CREDENTIALS".to_string(),
            base64::engine::general_purpose::STANDARD.encode(cred("proj-c")),
        );
        env.insert("GCLI_CREDS_bad".to_string(), "{not json".to_string());
        env.insert("PATH".to_string(), "/bin".to_string());
        let found = collect(&env);
        let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "env-proj-a-1.json",
                "env-bad.json",
                "env-team.json",
                "env-google-credentials.json"
            ]
        );
        assert!(found[1].result.is_err());
        assert_eq!(found[3].result.as_ref().unwrap()["project_id"], "proj-c");
    }
}
