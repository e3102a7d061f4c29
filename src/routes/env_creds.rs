//! Credentials from environment variables: load them now, delete the loaded ones, or see what is set.

use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

use super::cred_lookup::all_records;
use crate::actors::credentials::messages::RemoveCredential;
use crate::auth::admin::Admin;
use crate::auth::panel::PanelSession;
use crate::credentials::env_code_assist::ENV_PREFIX;
use crate::enrolment::environment::{collect, load_all};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::AuditAction;

pub async fn load_route(
    admin: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let answer = load_all(&state).await;
    let loaded = answer
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("success").and_then(Value::as_bool) == Some(true));
    for result in loaded {
        let name = result.get("filename").and_then(Value::as_str);
        let changes = json!({"via": "environment", "variable": result.get("variable")});
        admin.audit(
            &state,
            AuditAction::CredentialAdded,
            name.unwrap_or_default(),
            changes,
        );
    }
    Ok(HttpResponse::Ok().json(answer))
}

pub async fn delete(admin: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let names: Vec<String> = all_records(&state)
        .await?
        .into_iter()
        .map(|r| r.name)
        .filter(|n| n.starts_with(ENV_PREFIX))
        .collect();
    for name in &names {
        let _ = state
            .supervisor
            .send(RemoveCredential { name: name.clone() })
            .await;
        let changes = json!({"via": "environment"});
        admin.audit(&state, AuditAction::CredentialRemoved, name, changes);
    }
    Ok(HttpResponse::Ok().json(json!({
        "deleted_count": names.len(),
        "deleted_files": names,
        "message": format!("deleted {} environment credential(s)", names.len()),
    })))
}

pub async fn status(_: PanelSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let available: Map<String, Value> = collect(&state.env)
        .into_iter()
        .map(|c| {
            let shown = match c.result {
                Ok(_) => "set".to_string(),
                Err(e) => format!("set but invalid: {e}"),
            };
            (c.var, Value::String(shown))
        })
        .collect();
    let existing: Vec<String> = all_records(&state)
        .await?
        .into_iter()
        .map(|r| r.name)
        .filter(|n| n.starts_with(ENV_PREFIX))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "available_env_vars": available,
        "auto_load_enabled": state.settings.current().auto_load_env_creds,
        "existing_env_files_count": existing.len(),
        "existing_env_files": existing,
    })))
}
