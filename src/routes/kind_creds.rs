//! Adding Gemini API keys and Vertex AI credentials from the panel: keys are pasted (one or many) and
//! answered masked; a Vertex service-account key file is uploaded as JSON with its location. Each
//! becomes a credential of its kind in the same pool as the OAuth logins.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::body::parse_json;
use crate::actors::credentials::messages::AddCredential;
use crate::auth::admin::Admin;
use crate::credentials::env_keys::split_keys;
use crate::credentials::kinds::key_digest;
use crate::credentials::{CredentialKind, CredentialRecord, CredentialState};
use crate::error::ApiError;
use crate::logging::mask;
use crate::state::AppState;
use crate::store::AuditAction;

/// At most this many keys per paste.
const MAX_KEYS: usize = 1000;

#[derive(Deserialize)]
#[serde(untagged)]
enum Keys {
    Text(String),
    List(Vec<String>),
}

#[derive(Deserialize)]
struct AddKeys {
    keys: Keys,
    /// `gemini_api_key` (AI Studio, the default) or `vertex` (express mode).
    #[serde(default)]
    kind: Option<String>,
}

/// The body as `T`, every failure a 400 naming the problem.
fn typed<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value = parse_json(body)?;
    serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("request body: {e}")))
}

async fn add(state: &AppState, record: CredentialRecord) -> Result<(), ApiError> {
    state
        .supervisor
        .send(AddCredential { record })
        .await
        .map_err(ApiError::mailbox("the credential registry"))
}

/// `POST /creds/api-keys` `{"keys": "k1,k2\nk3" | ["k1", …], "kind"?}`.
pub async fn add_keys(
    admin: Admin,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: AddKeys = typed(&body)?;
    // Only the kinds that are keys can be pasted; no kind named means an AI Studio key.
    let kind = match request.kind.as_deref() {
        None | Some("") => Some(CredentialKind::GeminiApiKey),
        Some(name) => CredentialKind::parse(name),
    }
    .filter(|kind| kind.rules().key_credential("probe").is_some())
    .ok_or_else(|| {
        ApiError::bad_request(format!(
            "kind: expected gemini_api_key or vertex, got {:?}",
            request.kind.as_deref().unwrap_or_default()
        ))
    })?;
    let keys = match request.keys {
        Keys::Text(text) => split_keys(&text),
        Keys::List(list) => split_keys(&list.join("\n")),
    };
    if keys.is_empty() {
        return Err(ApiError::bad_request("keys: no key found in the text"));
    }
    if keys.len() > MAX_KEYS {
        return Err(ApiError::bad_request(format!(
            "keys: at most {MAX_KEYS} keys at once"
        )));
    }
    let mut added = Vec::new();
    for key in &keys {
        if key.len() < 8 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ApiError::bad_request(format!(
                "keys: {} is not an API key",
                mask(key)
            )));
        }
    }
    for key in keys {
        let Some((name, credential)) = kind.rules().key_credential(&key) else {
            continue;
        };
        add(
            &state,
            CredentialRecord {
                name: name.clone(),
                kind,
                credential,
                state: CredentialState::default(),
            },
        )
        .await?;
        added.push(json!({"filename": name, "api_key": mask(&key), "kind": kind.as_str()}));
    }
    for entry in &added {
        let target = entry
            .get("filename")
            .and_then(Value::as_str)
            .unwrap_or_default();
        admin.audit(&state, AuditAction::CredentialAdded, target, entry.clone());
    }
    Ok(HttpResponse::Ok().json(json!({
        "count": added.len(),
        "added": added,
        "message": format!("added {} key(s)", added.len()),
    })))
}

#[derive(Deserialize)]
struct AddVertex {
    /// The key file: an object, or its text.
    service_account: Value,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
}

/// `POST /creds/vertex` `{"service_account": {…} | "…", "location"?, "project_id"?}`.
pub async fn add_vertex(
    admin: Admin,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: AddVertex = typed(&body)?;
    let mut credential: Map<String, Value> = match request.service_account {
        Value::Object(map) => map,
        Value::String(text) => serde_json::from_str::<Map<String, Value>>(&text).map_err(|e| {
            ApiError::bad_request(format!("service_account: not a JSON object: {e}"))
        })?,
        _ => {
            return Err(ApiError::bad_request(
                "service_account: expected the key file JSON",
            ))
        }
    };
    if credential.get("type").and_then(Value::as_str) != Some("service_account") {
        return Err(ApiError::bad_request(
            "service_account: not a service-account key file (type must be service_account)",
        ));
    }
    for (field, value) in [
        ("location", request.location),
        ("project_id", request.project_id),
    ] {
        if let Some(v) = value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        {
            if !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ApiError::bad_request(format!(
                    "{field}: unexpected characters"
                )));
            }
            credential.insert(field.into(), Value::String(v));
        }
    }
    CredentialKind::Vertex
        .rules()
        .fields(&credential)
        .map_err(|e| ApiError::bad_request(format!("service_account: {e}")))?;
    let project = credential
        .get("project_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let email = credential
        .get("client_email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = format!("vertex-{project}-{}.json", key_digest(&email));
    add(
        &state,
        CredentialRecord {
            name: name.clone(),
            kind: CredentialKind::Vertex,
            credential,
            state: CredentialState::default(),
        },
    )
    .await?;
    let changes = json!({"kind": "vertex", "client_email": email, "project_id": project});
    admin.audit(&state, AuditAction::CredentialAdded, &name, changes);
    Ok(HttpResponse::Ok().json(json!({
        "filename": name,
        "client_email": email,
        "project_id": project,
        "message": "Vertex AI service account added",
    })))
}
