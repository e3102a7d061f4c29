//! Gemini API keys and Vertex AI credentials given in the environment: `GEMINI_API_KEYS` (comma-
//! separated), `GEMINI_API_KEYS_FILE` (a file of keys, one a line, `#` comments) and
//! `VERTEX_CREDENTIALS_<id>` (a service-account key file as JSON or base64 of it, optionally with
//! `location`; or `{"api_key": …}` for express mode). Names are stable, so loading twice replaces:
//! a key is named after a digest of itself (never the key), a Vertex credential after its id.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::env_code_assist::{EnvCredential, ENV_PREFIX};
use super::env_text::json_object;
use super::CredentialKind;

pub const KEYS_VAR: &str = "GEMINI_API_KEYS";
pub const KEYS_FILE_VAR: &str = "GEMINI_API_KEYS_FILE";
pub const VERTEX_PREFIX: &str = "VERTEX_CREDENTIALS_";

/// Whether `name` is one of the variables read here.
pub fn is_kind_var(name: &str) -> bool {
    name == KEYS_VAR || name == KEYS_FILE_VAR || name.starts_with(VERTEX_PREFIX)
}

/// Splits pasted text (commas, whitespace, new lines; `#` starts a comment) into keys.
pub fn split_keys(text: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        for key in line.split(|c: char| c == ',' || c.is_whitespace()) {
            if !key.is_empty() && !keys.iter().any(|k| k == key) {
                keys.push(key.to_string());
            }
        }
    }
    keys
}

fn key_entry(var: &str, key: &str) -> EnvCredential {
    let kind = CredentialKind::GeminiApiKey;
    let (name, credential) = kind.rules().key_credential(key).unzip();
    EnvCredential {
        var: var.to_string(),
        name: format!("{ENV_PREFIX}{}", name.unwrap_or_default()),
        kind,
        result: credential.ok_or_else(|| format!("{kind} is not a key")),
    }
}

/// Reads a Vertex credential (JSON or base64 of it); an error names what is wrong.
pub fn parse_vertex(raw: &str) -> Result<Map<String, Value>, String> {
    let map = json_object(raw)?;
    CredentialKind::Vertex.rules().fields(&map)?;
    Ok(map)
}

/// Every key and Vertex variable in `env`, parsed, in variable-name order.
pub fn collect(env: &HashMap<String, String>) -> Vec<EnvCredential> {
    let mut out = Vec::new();
    if let Some(raw) = env.get(KEYS_VAR) {
        out.extend(split_keys(raw).iter().map(|k| key_entry(KEYS_VAR, k)));
    }
    if let Some(path) = env.get(KEYS_FILE_VAR).filter(|p| !p.trim().is_empty()) {
        match std::fs::read_to_string(path.trim()) {
            Ok(text) => out.extend(
                split_keys(&text)
                    .iter()
                    .map(|k| key_entry(KEYS_FILE_VAR, k)),
            ),
            Err(e) => out.push(EnvCredential {
                var: KEYS_FILE_VAR.to_string(),
                name: format!("{ENV_PREFIX}gemini-keys-file"),
                kind: CredentialKind::GeminiApiKey,
                result: Err(format!("cannot read {}: {e}", path.trim())),
            }),
        }
    }
    let mut vertex: Vec<(&String, &String)> = env
        .iter()
        .filter(|(k, _)| k.starts_with(VERTEX_PREFIX))
        .collect();
    vertex.sort();
    for (var, raw) in vertex {
        let id = var.trim_start_matches(VERTEX_PREFIX).to_ascii_lowercase();
        let id: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        out.push(EnvCredential {
            var: var.clone(),
            name: format!("{ENV_PREFIX}vertex-{id}.json"),
            kind: CredentialKind::Vertex,
            result: parse_vertex(raw),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_on_commas_lines_and_comments() {
        assert_eq!(
            split_keys("AIza1, AIza2\n# note\nAIza3 # trailing\nAIza1"),
            vec!["AIza1", "AIza2", "AIza3"]
        );
    }

    #[test]
    fn env_keys_get_stable_names_without_the_key() {
        let env = HashMap::from([
            (
                KEYS_VAR.to_string(),
                "AIzaSecretOne,AIzaSecretTwo".to_string(),
            ),
            (
                format!("{VERTEX_PREFIX}EU"),
                r#"{"api_key":"vk"}"#.to_string(),
            ),
            (format!("{VERTEX_PREFIX}BAD"), "{".to_string()),
        ]);
        let found = collect(&env);
        assert_eq!(found.len(), 4);
        assert!(found[0].name.starts_with("env-gemini-key-"));
        assert!(!found[0].name.contains("Secret"));
        assert_eq!(found[0].name, collect(&env)[0].name);
        assert_eq!(found[0].kind, CredentialKind::GeminiApiKey);
        let vertex: Vec<&EnvCredential> = found
            .iter()
            .filter(|c| c.kind == CredentialKind::Vertex)
            .collect();
        assert_eq!(vertex[0].name, "env-vertex-bad.json");
        assert!(vertex[0].result.is_err());
        assert_eq!(vertex[1].name, "env-vertex-eu.json");
        assert!(vertex[1].result.is_ok());
    }
}
