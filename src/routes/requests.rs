//! The request history for the panel: `GET /auth/requests?status=&model=&key=&credential=&limit=` (newest
//! first, summaries), `GET /auth/requests/{id}` (one whole decision trace), and `GET /usage/tokens?days=`
//! (tokens per day per model and per key, from the counts kept in the store).

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::actors::request_history::{GetRequest, ListRequests, RequestFilter, TokenUsage};
use crate::auth::panel::PanelSession;
use crate::error::ApiError;
use crate::key_id::id_of_hash;
use crate::observe::trace::TraceRecord;
use crate::state::AppState;

fn summary(r: &TraceRecord) -> Value {
    let credential = r
        .attempts
        .iter()
        .rev()
        .find(|a| a.decision == "answered")
        .or(r.attempts.last())
        .map(|a| a.credential.clone());
    json!({
        "id": r.id,
        "at": r.at,
        "method": r.method,
        "path": r.path,
        "model": r.model,
        "key": r.key,
        "key_masked": r.key_masked,
        "status": r.status,
        "duration_ms": r.duration_ms,
        "ttft_ms": r.ttft_ms,
        "overhead_ms": r.overhead_ms,
        "attempts": r.attempts.len(),
        "credential": credential,
        "tokens": r.tokens,
        "refunded": r.quota.as_ref().is_some_and(|q| q.refunded),
    })
}

/// The query string as `T`, or a JSON 400 naming what did not parse.
fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::bad_request(format!("query: {e}")))
}

fn history_unavailable() -> ApiError {
    ApiError::internal("request history unavailable")
}

pub async fn list(
    _: PanelSession,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let filter: RequestFilter = query(&req)?;
    if filter.limit.is_some_and(|l| l == 0 || l > 1000) {
        return Err(ApiError::bad_request("limit: expected 1 to 1000"));
    }
    let records = state
        .history
        .send(ListRequests(filter))
        .await
        .map_err(|_| history_unavailable())?;
    let items: Vec<Value> = records.iter().map(|r| summary(r)).collect();
    Ok(HttpResponse::Ok().json(json!({"requests": items})))
}

pub async fn get(
    _: PanelSession,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let record = state
        .history
        .send(GetRequest(id.clone()))
        .await
        .map_err(|_| history_unavailable())?
        .ok_or_else(|| ApiError::not_found(format!("no request {id:?} in the history")))?;
    Ok(HttpResponse::Ok().json(record.as_ref()))
}

#[derive(Deserialize)]
pub struct TokensQuery {
    days: Option<usize>,
}

pub async fn tokens(
    _: PanelSession,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let want = query::<TokensQuery>(&req)?.days.unwrap_or(14);
    if !(1..=31).contains(&want) {
        return Err(ApiError::bad_request("days: expected 1 to 31"));
    }
    let days = state
        .history
        .send(TokenUsage)
        .await
        .map_err(|_| history_unavailable())?
        .map_err(|e| {
            log::error!("token usage: {e}");
            ApiError::internal("token usage could not be read")
        })?;
    let skip = days.len().saturating_sub(want);
    let list: Vec<Value> = days
        .iter()
        .skip(skip)
        .map(|(date, day)| json!({"date": date, "models": day.models, "keys": day.keys}))
        .collect();
    // The panel shows keys by their display prefix; the counts are kept by id only. Counts kept
    // before ids had 16 hex digits are under `k-` and the first 8 digits of the same hash.
    let names: BTreeMap<String, String> = state
        .store
        .list_keys()
        .await
        .map(|keys| {
            keys.iter()
                .flat_map(|k| {
                    let old_label = format!("k-{}", k.key_hash.get(..8).unwrap_or_default());
                    [
                        (id_of_hash(&k.key_hash), k.prefix.clone()),
                        (old_label, k.prefix.clone()),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(HttpResponse::Ok().json(json!({"days": list, "key_names": names})))
}
