//! The panel's view of the model catalogue: `GET /models/catalogue` — each model, where it comes from,
//! which credentials and kinds serve it, its limits, what it taught about thinking levels, its
//! `MODEL_ALIASES`, its cost for `sk-` keys, when it was first seen and its quota left.

use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

use super::models::current_catalogue;
use crate::auth::panel::PanelSession;
use crate::config::Settings;
use crate::credentials::CredentialKind;
use crate::error::ApiError;
use crate::fleet::catalogue::CatalogueModel;
use crate::quota::costs::cost_of;
use crate::state::AppState;
use crate::upstream::model_alias::sent_model;

/// The model's alias target per kind, for the kinds whose `MODEL_ALIASES` entry renames it.
fn aliases(settings: &Settings, id: &str) -> Map<String, Value> {
    CredentialKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let sent = sent_model(&settings.model_aliases, kind, id);
            (sent != id).then(|| (kind.as_str().to_string(), json!(sent)))
        })
        .collect()
}

fn entry(
    state: &AppState,
    settings: &Settings,
    model: &CatalogueModel,
    costs: &std::collections::BTreeMap<String, u64>,
) -> Value {
    let thinking_level = state.catalogue.thinking_levels(&model.id).map(|learned| {
        let substitutes: Map<String, Value> = learned
            .substitutes
            .iter()
            .map(|(from, to)| {
                (
                    json!(from).as_str().unwrap_or_default().to_string(),
                    json!(to),
                )
            })
            .collect();
        json!({"supported": learned.supported, "substitutes": substitutes})
    });
    json!({
        "id": model.id,
        "source": model.source,
        "kinds": model.kinds,
        "credentials": model.credentials.iter().map(|n| n.as_ref()).collect::<Vec<&str>>(),
        "credential_count": model.credential_count,
        "input_token_limit": model.input_token_limit,
        "output_token_limit": model.output_token_limit,
        "thinking": model.thinking,
        "thinking_level": thinking_level,
        "aliases": aliases(settings, &model.id),
        "cost": cost_of(&model.id, costs),
        "first_seen": model.first_seen,
        "quota": model.quota,
    })
}

/// The body of `GET /models/catalogue` (and of a refresh, which answers the same shape).
pub async fn catalogue_body(state: &AppState) -> Result<Value, ApiError> {
    let costs = super::keys::configured_costs(state).await?;
    let settings = state.settings.current();
    let catalogue = current_catalogue(state);
    let models: Vec<Value> = catalogue
        .models()
        .iter()
        .map(|model| entry(state, &settings, model, &costs))
        .collect();
    Ok(json!({"models": models, "refresh_seconds": settings.model_refresh_seconds}))
}

pub async fn get(_: PanelSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(catalogue_body(&state).await?))
}

/// `POST /models/refresh`: every credential's model list (and Code Assist quota, which names its models)
/// fetched now, the catalogue rebuilt from them, answered as `GET /models/catalogue` is.
pub async fn refresh(
    _: PanelSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state
        .scout
        .send(crate::actors::scout::messages::Refresh { names: None })
        .await
        .map_err(ApiError::mailbox("the credential scout"))?;
    // The scout's own rebuild waits for its next tick; the panel wants the result now.
    state.catalogue.rebuild(
        &state.fleet.snapshot(),
        &state.settings.current(),
        state.clock.now(),
    );
    Ok(HttpResponse::Ok().json(catalogue_body(&state).await?))
}
