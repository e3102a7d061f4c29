//! Code Assist `retrieveUserQuota`: `{"project": id}` → `{"buckets": [...]}`, scripted per project
//! (`set_quota_buckets`, served verbatim; none when unscripted), or failing with a scripted status
//! (`set_quota_failure`).

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::dispatch::{google_error, status_code, Call};
use super::reply::google_error_body;
use super::state::Shared;

/// One bucket as Google writes it: `remainingAmount` is an int64, so a JSON string; `resetTime` is
/// RFC 3339.
pub fn quota_bucket(
    model: &str,
    token_type: &str,
    remaining_amount: i64,
    remaining_fraction: f64,
    reset_rfc3339: &str,
) -> Value {
    json!({
        "modelId": model,
        "tokenType": token_type,
        "remainingAmount": remaining_amount.to_string(),
        "remainingFraction": remaining_fraction,
        "resetTime": reset_rfc3339,
    })
}

pub(crate) fn retrieve_user_quota(shared: &Shared, call: &Call) -> HttpResponse {
    let Some(project) = call.body_str("project").filter(|p| !p.is_empty()) else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Invalid JSON payload: missing field \"project\".",
        );
    };
    let state = shared.lock();
    if let Some(status) = state.quota_failures.get(project) {
        let status = status_code(*status);
        return HttpResponse::build(status).json(failure_body(status));
    }
    let buckets = state
        .quota_buckets
        .get(project)
        .cloned()
        .unwrap_or_default();
    HttpResponse::Ok().json(json!({ "buckets": buckets }))
}

/// Google's error body for a status, with the status name and message Google uses for it.
fn failure_body(status: StatusCode) -> Value {
    let (name, message) = match status.as_u16() {
        400 => ("INVALID_ARGUMENT", "Request contains an invalid argument."),
        401 => (
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        ),
        403 => ("PERMISSION_DENIED", "The caller does not have permission"),
        404 => ("NOT_FOUND", "Requested entity was not found."),
        429 => (
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
        ),
        503 => ("UNAVAILABLE", "The service is currently unavailable."),
        504 => ("DEADLINE_EXCEEDED", "The request timed out."),
        500..=599 => ("INTERNAL", "Internal error encountered."),
        _ => ("UNKNOWN", "Unknown error."),
    };
    google_error_body(status.as_u16(), name, message)
}
