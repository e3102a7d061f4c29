//! Cross-site request forgery on the panel. CORS keeps a foreign page from reading panel answers, but
//! a browser still sends a "simple" cross-origin request (a form post, `text/plain`) without asking
//! first: a page the operator visits could post wrong passwords to `/auth/login` and lock the
//! operator out, or open the log WebSocket. So every state-changing request outside the client API,
//! and every WebSocket upgrade, must come from the gateway's own origin when it names one (browsers
//! always do on these requests; scripts and curl send none), and state-changing requests must not
//! carry a body type a plain HTML form can send: JSON, or a multipart upload where files are uploaded.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::ResponseError;

use super::cors::is_client_api_path;
use crate::error::{ApiError, ErrorKind};

/// Routes that take a multipart form (credential uploads).
const MULTIPART_ROUTES: &[&str] = &["/auth/upload"];

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn is_upgrade(req: &ServiceRequest) -> bool {
    req.headers().contains_key(header::UPGRADE)
}

/// `scheme://host[:port]` → `host[:port]`, lower-cased; `None` for `null` or anything else.
fn origin_authority(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.trim().split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains(['/', '@']) {
        return None;
    }
    Some(rest.to_ascii_lowercase())
}

/// The authorities the request was addressed to: its `Host`, and the `X-Forwarded-Host` a reverse
/// proxy sets (a page cannot add that header to a simple request, so it is safe to accept).
fn addressed_to(req: &ServiceRequest) -> Vec<String> {
    [
        header::HOST,
        header::HeaderName::from_static("x-forwarded-host"),
    ]
    .iter()
    .filter_map(|name| req.headers().get(name))
    .filter_map(|v| v.to_str().ok())
    .flat_map(|v| v.split(','))
    .map(|v| v.trim().to_ascii_lowercase())
    .filter(|v| !v.is_empty())
    .collect()
}

/// Same host and port, allowing for a default port left out on one side.
fn same_authority(origin: &str, host: &str) -> bool {
    let strip = |a: &str| {
        a.strip_suffix(":80")
            .or_else(|| a.strip_suffix(":443"))
            .unwrap_or(a)
            .to_string()
    };
    origin == host || strip(origin) == strip(host)
}

/// Why the request is refused, if it is.
fn refusal(req: &ServiceRequest) -> Option<ApiError> {
    let path = req.path();
    if is_client_api_path(path) {
        return None;
    }
    let upgrade = is_upgrade(req);
    if !changes_state(req.method()) && !upgrade {
        return None;
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().ok().and_then(origin_authority);
        let hosts = addressed_to(req);
        let same = origin.is_some_and(|o| hosts.iter().any(|h| same_authority(&o, h)));
        if !same {
            return Some(ApiError::forbidden(
                "cross-origin request refused: the control panel only accepts requests from its own pages",
            ));
        }
    }
    if !changes_state(req.method()) {
        return None;
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let accepted = match content_type.as_deref() {
        None | Some("application/json") => true,
        Some("multipart/form-data") => MULTIPART_ROUTES.contains(&path),
        Some(_) => false,
    };
    (!accepted).then(|| {
        ApiError::new(
            ErrorKind::UnsupportedMediaType,
            "send the request body as Content-Type: application/json",
        )
    })
}

pub async fn origin_check(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Some(err) = refusal(&req) {
        let (req, _) = req.into_parts();
        return Ok(ServiceResponse::new(req, err.error_response()));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_by_host_and_port() {
        assert_eq!(
            origin_authority("http://127.0.0.1:7861").as_deref(),
            Some("127.0.0.1:7861")
        );
        assert_eq!(origin_authority("null"), None);
        assert_eq!(origin_authority("file://"), None);
        assert!(same_authority("gw.example", "gw.example:443"));
        assert!(!same_authority("evil.example", "gw.example"));
        assert!(!same_authority("127.0.0.1:7862", "127.0.0.1:7861"));
    }
}
