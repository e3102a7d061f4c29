//! JSON answers for unknown routes and wrong methods, as errors: below a client API scope they come
//! out in its style (`error_style`), elsewhere in Google's.

use actix_web::{HttpRequest, HttpResponse};

use crate::error::{ApiError, ErrorKind};

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

pub async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        ErrorKind::MethodNotAllowed,
        format!("method {} is not allowed on {}", req.method(), req.path()),
    ))
}
