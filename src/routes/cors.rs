//! Cross-origin access: browser chat apps call the client API from their own origin (authentication is
//! by bearer key, never by cookie), so any origin may call `/v1/…` and `/v1beta/…`. Everything else —
//! panel, admin, OAuth onboarding, key query — is same-origin only: no CORS headers for a foreign
//! origin (the browser hides the answer from the page) and preflights refused, so a page the operator
//! visits cannot script the panel, nor send it an `Authorization` header to guess the password.

use actix_cors::Cors;
use actix_web::dev::RequestHead;
use actix_web::http::header::HeaderValue;

/// The client API families; routes added under them later are covered without a change here.
pub fn is_client_api_path(path: &str) -> bool {
    path.starts_with("/v1/") || path.starts_with("/v1beta/")
}

pub fn cors() -> Cors {
    Cors::default()
        .allowed_origin_fn(|_origin: &HeaderValue, head: &RequestHead| {
            is_client_api_path(head.uri.path())
        })
        .allow_any_method()
        .allow_any_header()
        .expose_any_header()
        .max_age(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_client_api_paths_are_cross_origin() {
        assert!(is_client_api_path("/v1/chat/completions"));
        assert!(is_client_api_path("/v1beta/models"));
        assert!(!is_client_api_path("/auth/login"));
        assert!(!is_client_api_path("/config/get"));
        assert!(!is_client_api_path("/v1"));
        assert!(!is_client_api_path("/api-key-query"));
    }
}
