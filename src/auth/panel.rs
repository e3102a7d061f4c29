//! Panel sessions: `POST /auth/login` with the panel password gives a JWT (HS256) that every panel route
//! requires. The signing secret is generated once and kept in the store, so restarts do not log anyone
//! out and instances sharing a store accept each other's tokens. The raw panel password is accepted as a
//! Bearer token too, for scripts.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client_address::client_address;
use super::constant_time_eq;
use crate::actors::sessions::messages::{CheckLogin, IsRevoked, LoginFailed};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Store, StoreError};

/// Config-store key of the signing secret (not a user-editable setting).
const SECRET_KEY: &str = "_jwt_secret";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// The signing secret: the stored one, or a new random one saved for next time.
pub async fn load_or_create_secret(store: &dyn Store) -> Result<Vec<u8>, StoreError> {
    let config = store.load_config().await?;
    if let Some(secret) = config.get(SECRET_KEY).and_then(Value::as_str) {
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(secret) {
            if bytes.len() >= 32 {
                return Ok(bytes);
            }
        }
    }
    let mut bytes = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut change = Map::new();
    change.insert(
        SECRET_KEY.into(),
        Value::String(base64::engine::general_purpose::STANDARD.encode(&bytes)),
    );
    store.save_config(&change).await?;
    // Another instance may have saved its secret first: use whichever the store kept.
    let config = store.load_config().await?;
    Ok(config
        .get(SECRET_KEY)
        .and_then(Value::as_str)
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .unwrap_or(bytes))
}

pub fn issue_token(secret: &[u8], now: i64, lifetime_secs: i64) -> Result<String, ApiError> {
    let mut jti = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut jti);
    let claims = Claims {
        sub: "panel".into(),
        iat: now,
        exp: now.saturating_add(lifetime_secs),
        jti: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(jti),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|_| ApiError::internal("could not issue a session token"))
}

pub fn verify_token(secret: &[u8], token: &str, now: i64) -> Option<Claims> {
    // Expiry is checked against our clock (tests move it), not the library's.
    decode_signed(secret, token).filter(|c| c.exp > now && c.sub == "panel")
}

/// Proof that the request carries a valid panel session (or the panel password).
pub struct PanelSession {
    pub claims: Option<Claims>,
}

/// The panel token from `Authorization: Bearer`, or `?token=` on a WebSocket upgrade only (browsers
/// cannot set headers there). Elsewhere a query token would end up in proxy logs and browser history.
pub fn presented_panel_token(req: &HttpRequest) -> Option<String> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string());
    header.or_else(|| {
        is_websocket_upgrade(req)
            .then(|| {
                url::form_urlencoded::parse(req.query_string().as_bytes())
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v.into_owned())
            })
            .flatten()
    })
}

pub fn is_websocket_upgrade(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Checks a panel token (a session JWT or the raw panel password) for a request from `client`.
///
/// Every failed guess counts against the same per-address limiter as `/auth/login`, so the password
/// cannot be guessed faster through a Bearer header or the WebSocket. A token that we did sign but that
/// has expired or was logged out is not a guess (nobody can forge our signature) and does not count,
/// so an open panel tab with a stale session cannot lock its operator out.
pub async fn check_panel_token(
    state: &AppState,
    token: &str,
    client: &str,
) -> Result<PanelSession, ApiError> {
    let check = CheckLogin {
        address: client.to_string(),
    };
    if let Ok(Err(throttled)) = state.sessions.send(check).await {
        return Err(ApiError::too_many(format!(
            "too many failed panel logins from this address; try again in {} s",
            throttled.wait_secs
        ))
        .with_retry_after(throttled.wait_secs.max(1).unsigned_abs()));
    }
    let settings = state.settings.current();
    if constant_time_eq(token, settings.panel_password()) {
        return Ok(PanelSession { claims: None });
    }
    let Some(claims) = decode_signed(&state.panel_secret, token) else {
        let _ = state
            .sessions
            .send(LoginFailed {
                address: client.to_string(),
            })
            .await;
        log::warn!("failed panel authentication from {client}");
        return Err(ApiError::unauthorized("invalid session; log in again"));
    };
    if claims.exp <= state.clock.now() || claims.sub != "panel" {
        return Err(ApiError::unauthorized(
            "session expired or invalid; log in again",
        ));
    }
    let revoked = state
        .sessions
        .send(IsRevoked {
            jti: claims.jti.clone(),
        })
        .await
        .unwrap_or(true);
    if revoked {
        return Err(ApiError::unauthorized("session ended; log in again"));
    }
    Ok(PanelSession {
        claims: Some(claims),
    })
}

/// The claims of a token carrying our signature, expired or not.
fn decode_signed(secret: &[u8], token: &str) -> Option<Claims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
        .ok()
        .map(|d| d.claims)
}

impl FromRequest for PanelSession {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = presented_panel_token(req);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("state missing"))?;
            let token = token.ok_or_else(|| {
                ApiError::unauthorized("log in first: send 'Authorization: Bearer <token>'")
            })?;
            let client = client_address(&req, &state.settings.current());
            check_panel_token(&state, &token, &client).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_expiry_and_not_with_another_secret() {
        let secret = [7u8; 32];
        let token = issue_token(&secret, 1000, 60).unwrap();
        assert!(verify_token(&secret, &token, 1059).is_some());
        assert!(verify_token(&secret, &token, 1060).is_none());
        assert!(verify_token(&[8u8; 32], &token, 1000).is_none());
        assert!(verify_token(&secret, "garbage", 1000).is_none());
    }
}
