//! `GET /config/get` and `POST /config/save` for the panel. Secrets are never shown in clear.

use actix_web::{web, HttpResponse};
use serde_json::{Map, Value};

use super::body::parse_json;
use crate::actors::config_actor::messages::{ConfigSaveError, GetConfig, SaveConfig};
use crate::auth::admin::Admin;
use crate::auth::panel::PanelSession;
use crate::config::keys::{self, Kind};
use crate::error::ApiError;
use crate::logging::mask;
use crate::state::AppState;
use crate::store::AuditAction;

pub async fn get(_: PanelSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let config = state
        .config
        .send(GetConfig)
        .await
        .map_err(ApiError::mailbox("the config service"))?;
    Ok(HttpResponse::Ok().json(config))
}

pub async fn save(
    admin: Admin,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let json = parse_json(&body)?;
    let changes = match json.get("config") {
        Some(Value::Object(map)) => map.clone(),
        _ => {
            return Err(ApiError::bad_request(
                "config: expected an object of key → value",
            ))
        }
    };
    let audited = audit_changes(&changes);
    let result = state
        .config
        .send(SaveConfig { changes })
        .await
        .map_err(ApiError::mailbox("the config service"))?;
    match result {
        Ok(answer) => {
            let target = audited.keys().cloned().collect::<Vec<_>>().join(",");
            admin.audit(
                &state,
                AuditAction::ConfigSaved,
                &target,
                Value::Object(audited),
            );
            Ok(HttpResponse::Ok().json(answer))
        }
        Err(ConfigSaveError::Invalid(msg)) => Err(ApiError::bad_request(msg)),
        Err(ConfigSaveError::Storage) => {
            Err(ApiError::internal("could not save the configuration"))
        }
    }
}

/// The saved values for the audit log, secret keys masked (the audit masks secret-sounding names
/// and token prefixes again).
fn audit_changes(changes: &Map<String, Value>) -> Map<String, Value> {
    changes
        .iter()
        .map(|(key, value)| {
            let secret = keys::find(key).is_some_and(|d| d.kind == Kind::Secret);
            let shown = match value {
                Value::String(s) if secret && !s.is_empty() => Value::String(mask(s)),
                _ => value.clone(),
            };
            (key.clone(), shown)
        })
        .collect()
}
