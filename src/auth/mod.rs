//! Who is calling. Client APIs accept the API password or an `sk-` key, presented as
//! `Authorization: Bearer`, `x-goog-api-key`, `x-api-key` or `?key=`. Secrets are compared in constant time.

use actix_web::http::header;
use actix_web::HttpRequest;
use subtle::ConstantTimeEq;

pub mod admin;
pub mod caller_check;
pub mod client_address;
pub mod key_guesses;
pub mod panel;

use crate::config::Settings;
use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiCaller {
    /// The operator's API password.
    Password,
    /// An `sk-` key, by its SHA-256 in hex (`crate::key_id::hash_key`): hashed once here, so
    /// nothing below the caller check (quota, in-flight maps, stored answers, traces) holds the key.
    /// Whether it exists and has quota is the quota's call.
    Key(String),
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The secret the client presented, from the first source that has one.
pub fn presented_secret(req: &HttpRequest) -> Result<Option<String>, &'static str> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| "malformed Authorization header")?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or("use 'Authorization: Bearer <key>'")?;
        return Ok(Some(token.trim().to_string()));
    }
    for name in ["x-goog-api-key", "x-api-key"] {
        if let Some(value) = req.headers().get(name) {
            let value = value.to_str().map_err(|_| "malformed API key header")?;
            return Ok(Some(value.trim().to_string()));
        }
    }
    Ok(query_param(req, "key"))
}

pub fn authenticate_api(req: &HttpRequest, settings: &Settings) -> Result<ApiCaller, ApiError> {
    let secret = presented_secret(req)
        .map_err(ApiError::unauthorized)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing API key: send 'Authorization: Bearer <key>', 'x-goog-api-key', or '?key='",
            )
        })?;
    if constant_time_eq(&secret, settings.api_password()) {
        return Ok(ApiCaller::Password);
    }
    if secret.starts_with("sk-") {
        return Ok(ApiCaller::Key(crate::key_id::hash_key(&secret)));
    }
    Err(ApiError::forbidden("invalid API key"))
}
