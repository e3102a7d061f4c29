//! The web pages, compiled into the binary so they are served from any working directory and in the
//! container image. No inline scripts or styles, so a strict Content-Security-Policy holds.

use actix_web::{web, HttpResponse};

use crate::error::ApiError;

/// (file name, content type, bytes)
static ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "panel.html",
        "text/html; charset=utf-8",
        include_bytes!("../../static/panel.html"),
    ),
    (
        "auth.html",
        "text/html; charset=utf-8",
        include_bytes!("../../static/auth.html"),
    ),
    (
        "api-key-admin.html",
        "text/html; charset=utf-8",
        include_bytes!("../../static/api-key-admin.html"),
    ),
    (
        "api-key-query.html",
        "text/html; charset=utf-8",
        include_bytes!("../../static/api-key-query.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/style.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../static/favicon.svg"),
    ),
    (
        "i18n-zh-CN.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/i18n-zh-CN.js"),
    ),
    (
        "i18n-en.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/i18n-en.js"),
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/i18n.js"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/common.js"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/charts.js"),
    ),
    (
        "oauth-flow.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/oauth-flow.js"),
    ),
    (
        "panel.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/panel.js"),
    ),
    (
        "panel-quota.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/panel-quota.js"),
    ),
    (
        "panel-creds.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/panel-creds.js"),
    ),
    (
        "panel-config.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/panel-config.js"),
    ),
    (
        "panel-usage.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/panel-usage.js"),
    ),
    (
        "panel-requests.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/panel-requests.js"),
    ),
    (
        "panel-models.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/panel-models.js"),
    ),
    (
        "panel-audit.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/panel-audit.js"),
    ),
    (
        "panel-logs.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/panel-logs.js"),
    ),
    (
        "auth.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/auth.js"),
    ),
    (
        "keys-admin.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/keys-admin.js"),
    ),
    (
        "keys-query.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/keys-query.js"),
    ),
];

fn serve(name: &str) -> Result<HttpResponse, ApiError> {
    let (_, content_type, bytes) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| ApiError::not_found(format!("no file {name:?}")))?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'",
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("Cache-Control", "no-cache"))
        .body(*bytes))
}

pub async fn panel() -> Result<HttpResponse, ApiError> {
    serve("panel.html")
}

/// The public onboarding page; gone when `PUBLIC_ONBOARDING=false` (the panel's OAuth tab remains).
pub async fn auth_page(state: web::Data<crate::state::AppState>) -> Result<HttpResponse, ApiError> {
    if !state.settings.current().public_onboarding {
        return Err(ApiError::not_found(
            "public onboarding is turned off; accounts are added from the panel",
        ));
    }
    serve("auth.html")
}

pub async fn key_admin() -> Result<HttpResponse, ApiError> {
    serve("api-key-admin.html")
}

pub async fn key_query() -> Result<HttpResponse, ApiError> {
    serve("api-key-query.html")
}

pub async fn asset(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    if name.ends_with(".html") {
        return Err(ApiError::not_found("pages are served at their own paths"));
    }
    serve(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_static_is_compiled_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                ASSETS.iter().any(|(n, _, _)| *n == name),
                "{name} is not served"
            );
        }
    }
}
