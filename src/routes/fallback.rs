//! JSON answers for unknown routes and wrong methods.

use actix_web::{HttpRequest, HttpResponse};

use crate::error::{ApiError, ErrorStyle};

fn style_for(path: &str) -> ErrorStyle {
    if path.starts_with("/v1/messages") {
        ErrorStyle::Anthropic
    } else if path.starts_with("/v1/chat") || path == "/v1/models" {
        ErrorStyle::OpenAi
    } else {
        ErrorStyle::Google
    }
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let err = ApiError::not_found(format!("no route for {} {}", req.method(), req.path()))
        .with_style(style_for(req.path()));
    actix_web::ResponseError::error_response(&err)
}

pub async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let err = ApiError::new(
        crate::error::ErrorKind::MethodNotAllowed,
        format!("method {} is not allowed on {}", req.method(), req.path()),
    )
    .with_style(style_for(req.path()));
    actix_web::ResponseError::error_response(&err)
}
