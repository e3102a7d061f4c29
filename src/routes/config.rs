//! `GET /config/get` and `POST /config/save` for the panel. Secrets are never shown in clear.

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::body::parse_json;
use crate::actors::config_actor::messages::{ConfigSaveError, GetConfig, SaveConfig};
use crate::auth::panel::PanelSession;
use crate::error::{ApiError, ErrorStyle};
use crate::state::AppState;

pub async fn get(_: PanelSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let config = state
        .config
        .send(GetConfig)
        .await
        .map_err(ApiError::mailbox("the config service"))?;
    Ok(HttpResponse::Ok().json(config))
}

pub async fn save(
    _: PanelSession,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let json = parse_json(&body, ErrorStyle::Google)?;
    let changes = match json.get("config") {
        Some(Value::Object(map)) => map.clone(),
        _ => {
            return Err(ApiError::bad_request(
                "config: expected an object of key → value",
            ))
        }
    };
    let result = state
        .config
        .send(SaveConfig { changes })
        .await
        .map_err(ApiError::mailbox("the config service"))?;
    match result {
        Ok(answer) => Ok(HttpResponse::Ok().json(answer)),
        Err(ConfigSaveError::Invalid(msg)) => Err(ApiError::bad_request(msg)),
        Err(ConfigSaveError::Storage) => {
            Err(ApiError::internal("could not save the configuration"))
        }
    }
}
