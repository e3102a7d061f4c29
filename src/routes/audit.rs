//! The audit log for the panel: `GET /audit?limit=&before=&action=` (newest first) and
//! `GET /audit/export?format=csv|json` with the same filters. Both need a panel session.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::audit_csv::to_csv;
use crate::auth::panel::PanelSession;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{AuditAction, AuditQuery, StoreError};

/// Entries a page answers when `limit` is not given, and at most.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1000;
/// Entries an export holds at most (page further with `before`).
const MAX_EXPORT: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    limit: Option<String>,
    before: Option<String>,
    action: Option<String>,
    format: Option<String>,
}

fn params(req: &HttpRequest) -> Result<Params, ApiError> {
    web::Query::<Params>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::bad_request(format!("query: {e}")))
}

/// The filters of `params`, `limit` defaulting to `default` and at most `max`.
fn audit_query(params: &Params, default: usize, max: usize) -> Result<AuditQuery, ApiError> {
    let limit = match params.limit.as_deref() {
        None | Some("") => default,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!("limit: expected an integer from 1 to {max}"))
            })?,
    };
    let before = match params.before.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(raw.parse::<i64>().ok().filter(|t| *t > 0).ok_or_else(|| {
            ApiError::bad_request("before: expected a time in unix milliseconds")
        })?),
    };
    let action = match params.action.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            raw.parse::<AuditAction>()
                .map_err(|e| ApiError::bad_request(format!("action: {e}")))?,
        ),
    };
    Ok(AuditQuery {
        limit,
        before,
        action,
    })
}

fn storage_error(e: StoreError) -> ApiError {
    log::error!("audit log storage: {e}");
    ApiError::unavailable("the audit log could not be read from the store")
}

pub async fn list(
    _: PanelSession,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = params(&req)?;
    if params.format.is_some() {
        return Err(ApiError::bad_request(
            "format: only /audit/export takes a format",
        ));
    }
    let query = audit_query(&params, DEFAULT_PAGE, MAX_PAGE)?;
    let entries = state
        .store
        .list_audit(&query)
        .await
        .map_err(storage_error)?;
    Ok(HttpResponse::Ok().json(json!({ "entries": entries })))
}

pub async fn export(
    _: PanelSession,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = params(&req)?;
    let csv = match params.format.as_deref() {
        Some("csv") => true,
        Some("json") | None => false,
        Some(_) => return Err(ApiError::bad_request("format: expected csv or json")),
    };
    let query = audit_query(&params, MAX_EXPORT, MAX_EXPORT)?;
    let entries = state
        .store
        .list_audit(&query)
        .await
        .map_err(storage_error)?;
    let mut answer = HttpResponse::Ok();
    if csv {
        Ok(answer
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Content-Disposition", "attachment; filename=\"audit.csv\""))
            .body(to_csv(&entries)))
    } else {
        Ok(answer
            .insert_header(("Content-Disposition", "attachment; filename=\"audit.json\""))
            .json(json!({ "entries": entries })))
    }
}
