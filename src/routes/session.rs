//! `POST /auth/login` and `POST /auth/logout` for the control panel.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::body::parse_json;
use crate::actors::sessions::messages::{CheckLogin, LoginFailed, LoginSucceeded, Revoke};
use crate::auth::client_address::client_address;
use crate::auth::constant_time_eq;
use crate::auth::panel::{issue_token, PanelSession};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn login(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let address = client_address(&req, &state.settings.current());
    let check = CheckLogin {
        address: address.clone(),
    };
    if let Ok(Err(throttled)) = state.sessions.send(check).await {
        return Err(ApiError::too_many(throttled.to_string())
            .with_retry_after(throttled.wait_secs.unsigned_abs()));
    }
    let json = parse_json(&body)?;
    let password = json
        .get("password")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("password: a string is required"))?;
    let settings = state.settings.current();
    if !constant_time_eq(password, settings.panel_password()) {
        log::warn!("failed panel login from {address}");
        state.audit.login(&address, false);
        // Awaited: the next try, on any instance, must see this failure.
        let _ = state.sessions.send(LoginFailed { address }).await;
        return Err(ApiError::unauthorized("wrong password"));
    }
    state.audit.login(&address, true);
    state.sessions.do_send(LoginSucceeded { address });
    // Bounded by its key (at most a year), and computed so no value can wrap.
    let lifetime = i64::try_from(settings.jwt_expiry_hours)
        .unwrap_or(i64::MAX)
        .saturating_mul(3600);
    let token = issue_token(&state.panel_secret, state.clock.now(), lifetime)?;
    // With the built-in password the panel's first screen asks for a new one (saved under this key).
    let default_password = settings.panel_password() == crate::config::DEFAULT_PASSWORD;
    Ok(HttpResponse::Ok().json(json!({
        "token": token,
        "expires_in": lifetime,
        "message": "logged in",
        "default_password": default_password,
        "password_key": settings.panel_password_key(),
    })))
}

pub async fn logout(
    session: PanelSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if let Some(claims) = session.claims {
        // Awaited: once the answer says logged out, no instance accepts the token.
        let _ = state
            .sessions
            .send(Revoke {
                jti: claims.jti,
                until: claims.exp,
            })
            .await;
    }
    Ok(HttpResponse::Ok().json(json!({"message": "logged out"})))
}
