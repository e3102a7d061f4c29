//! The token endpoint's JWT-bearer grant (RFC 7523), as Vertex service accounts use it: the
//! `assertion` must be an RS256 JWT signed by a registered service account's key
//! (`register_service_account`), issued by that account, for the `cloud-platform` scope, addressed
//! to Google's token URI and not expired.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use base64::Engine;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use super::dispatch::Call;
use super::state::Shared;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const AUDIENCE: &str = "https://oauth2.googleapis.com/token";
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// DER of an `RSA PUBLIC KEY` PEM.
pub fn public_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap_or_default()
}

pub(crate) fn grant(shared: &Arc<Shared>, call: &Call) -> HttpResponse {
    let Some(assertion) = call.body_str("assertion") else {
        return invalid_grant("Missing required parameter: assertion");
    };
    // Unverified look at the issuer, to pick the key; the signature check below is what counts.
    let issuer = assertion
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|c| c.get("iss").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    let (key, lifetime) = {
        let mut state = shared.lock();
        *state.jwt_grants.entry(issuer.clone()).or_default() += 1;
        (
            state.service_accounts.get(&issuer).cloned(),
            state.service_account_token_secs,
        )
    };
    let lifetime = if lifetime == 0 { 3600 } else { lifetime };
    let Some(key) = key else {
        return invalid_grant("Invalid JWT Signature.");
    };
    if decode_header(assertion).map(|h| h.alg).ok() != Some(Algorithm::RS256) {
        return invalid_grant("Invalid JWT: unsupported algorithm.");
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[issuer.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let claims = match decode::<Value>(assertion, &DecodingKey::from_rsa_der(&key), &validation) {
        Ok(data) => data.claims,
        Err(_) => return invalid_grant("Invalid JWT Signature."),
    };
    if claims.get("scope").and_then(Value::as_str) != Some(SCOPE) {
        return invalid_grant("Invalid OAuth scope or ID token audience provided.");
    }
    let access_token = shared
        .lock()
        .issue_access_token(&format!("sa:{issuer}"), lifetime);
    HttpResponse::Ok().json(json!({
        "access_token": access_token,
        "expires_in": lifetime,
        "token_type": "Bearer",
    }))
}

fn invalid_grant(description: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::BAD_REQUEST)
        .json(json!({"error": "invalid_grant", "error_description": description}))
}
