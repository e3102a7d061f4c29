//! Credentials from environment variables, added to the rotation: at start-up (API keys and Vertex
//! credentials always, OAuth logins when `AUTO_LOAD_ENV_CREDS` is on) and when the panel asks. The
//! variables are read by `credentials::env_code_assist` and `credentials::env_keys`; this adds them.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::actors::credentials::messages::AddCredential;
use crate::credentials::env_code_assist::EnvCredential;
use crate::credentials::{CredentialRecord, CredentialState};
use crate::state::AppState;

/// Every credential variable: OAuth logins, then API keys and Vertex credentials.
pub fn collect(env: &HashMap<String, String>) -> Vec<EnvCredential> {
    let mut all = crate::credentials::env_code_assist::collect(env);
    all.extend(crate::credentials::env_keys::collect(env));
    all
}

/// Adds every valid credential variable to the rotation; answers a per-variable result.
pub async fn load_all(state: &AppState) -> Value {
    load(state, true).await
}

/// API keys and Vertex credentials from the environment: setting them is the opt-in, so they load at
/// every start, `AUTO_LOAD_ENV_CREDS` or not.
pub async fn load_other_kinds(state: &AppState) -> Value {
    load(state, false).await
}

async fn load(state: &AppState, with_oauth: bool) -> Value {
    let mut results = Vec::new();
    let mut loaded = 0usize;
    let found_all = collect(&state.env)
        .into_iter()
        .filter(|c| with_oauth || !c.kind.rules().is_account_login());
    for found in found_all {
        match found.result {
            Ok(credential) => {
                let record = CredentialRecord {
                    name: found.name.clone(),
                    kind: found.kind,
                    credential,
                    state: CredentialState::default(),
                };
                let added = state
                    .supervisor
                    .send(AddCredential { record })
                    .await
                    .is_ok();
                if added {
                    loaded += 1;
                }
                results
                    .push(json!({"variable": found.var, "filename": found.name, "success": added}));
            }
            Err(e) => {
                log::warn!("environment credential {} ignored: {e}", found.var);
                results.push(json!({"variable": found.var, "filename": found.name, "success": false, "error": e}));
            }
        }
    }
    json!({
        "loaded_count": loaded,
        "total_count": results.len(),
        "results": results,
        "message": format!("loaded {loaded} credential(s) from the environment"),
    })
}
