//! Per-credential usage for the panel. Days end at 07:00 UTC. On a store several instances share, the
//! figures are the store's usage counters, which every instance adds to (`usage_sheet`): the cluster's
//! sum, each call once; otherwise the credential records' own counters.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::parse_json;
use super::cred_lookup::{all_records, find};
use crate::actors::credentials::messages::{ResetUsage, UpdateLimits};
use crate::auth::panel::PanelSession;
use crate::credentials::{CredentialRecord, UsageCounters};
use crate::error::ApiError;
use crate::fleet::usage::next_reset_after;
use crate::fleet::usage_sheet;
use crate::state::AppState;

/// Every credential record, with its usage as the whole cluster counted it when the store is shared.
async fn records_with_usage(state: &AppState) -> Result<Vec<CredentialRecord>, ApiError> {
    let mut records = all_records(state).await?;
    with_cluster_usage(state, &mut records).await?;
    Ok(records)
}

/// Replaces the usage of `records` by what the whole cluster counted, when the store is shared
/// (daily limits stay the records' own).
pub async fn with_cluster_usage(
    state: &AppState,
    records: &mut [CredentialRecord],
) -> Result<(), ApiError> {
    if !state.store.is_shared() {
        return Ok(());
    }
    let now = state.clock.now();
    let counters = state
        .store
        .load_counters(usage_sheet::SHEET)
        .await
        .map_err(|e| {
            log::error!("usage counters: {e}");
            ApiError::unavailable("usage counters could not be read from the store")
        })?;
    let stale = usage_sheet::stale(&counters, now);
    if !stale.is_empty() {
        if let Err(e) = state
            .store
            .remove_counters(usage_sheet::SHEET, &stale)
            .await
        {
            log::warn!("old usage counters not removed: {e}");
        }
    }
    let mut counted = usage_sheet::read(&counters, now);
    for record in records.iter_mut() {
        let mine = &record.state.usage;
        let mut usage = counted
            .remove(&record.name)
            .unwrap_or_else(|| UsageCounters {
                next_reset: next_reset_after(now),
                ..UsageCounters::default()
            });
        usage.daily_limit_total = mine.daily_limit_total;
        usage.daily_limit_pro = mine.daily_limit_pro;
        record.state.usage = usage;
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct StatsQuery {
    filename: Option<String>,
}

fn iso(ts: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .to_rfc3339()
}

fn entry(record: &CredentialRecord, now: i64) -> Value {
    let u = &record.state.usage;
    let fresh = now < u.next_reset;
    json!({
        "total_calls": if fresh { u.total_calls } else { 0 },
        "gemini_2_5_pro_calls": if fresh { u.pro_calls } else { 0 },
        "daily_limit_total": u.daily_limit_total,
        "daily_limit_gemini_2_5_pro": u.daily_limit_pro,
        "next_reset_time": iso(if fresh { u.next_reset } else { next_reset_after(now) }),
        "calls_per_model": if fresh { json!(u.calls_per_model) } else { json!({}) },
        "history": u.history,
        "success_total": u.success_total,
        "failure_total": u.failure_total,
    })
}

pub async fn stats(
    _: PanelSession,
    query: web::Query<StatsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let records = records_with_usage(&state).await?;
    let data: serde_json::Map<String, Value> = records
        .iter()
        .filter(|r| query.filename.as_deref().is_none_or(|f| f == r.name))
        .map(|r| (r.name.clone(), entry(r, now)))
        .collect();
    if let Some(name) = &query.filename {
        if data.is_empty() {
            return Err(ApiError::not_found(format!("no credential named {name:?}")));
        }
    }
    Ok(HttpResponse::Ok().json(json!({"success": true, "data": data})))
}

pub async fn aggregated(
    _: PanelSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let records = records_with_usage(&state).await?;
    let mut total = 0u64;
    let mut pro = 0u64;
    let mut per_model: BTreeMap<String, u64> = BTreeMap::new();
    let mut history: BTreeMap<String, u64> = BTreeMap::new();
    let (mut ok, mut failed) = (0u64, 0u64);
    for r in &records {
        let u = &r.state.usage;
        if now < u.next_reset {
            total += u.total_calls;
            pro += u.pro_calls;
            for (m, n) in &u.calls_per_model {
                *per_model.entry(m.clone()).or_default() += n;
            }
        }
        for (d, n) in &u.history {
            *history.entry(d.clone()).or_default() += n;
        }
        ok += u.success_total;
        failed += u.failure_total;
    }
    let files = records.len() as u64;
    let avg = |n: u64| {
        if files == 0 {
            0.0
        } else {
            n as f64 / files as f64
        }
    };
    let rate = if ok + failed == 0 {
        Value::Null
    } else {
        json!(ok as f64 / (ok + failed) as f64)
    };
    Ok(HttpResponse::Ok().json(json!({"success": true, "data": {
        "total_files": files,
        "total_gemini_2_5_pro_calls": pro,
        "total_all_model_calls": total,
        "avg_gemini_2_5_pro_per_file": avg(pro),
        "avg_total_per_file": avg(total),
        "next_reset_time": iso(next_reset_after(now)),
        "calls_per_model": per_model,
        "history": history,
        "success_total": ok,
        "failure_total": failed,
        "success_rate": rate,
    }})))
}

pub async fn update_limits(
    _: PanelSession,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let json = parse_json(&body)?;
    let name = json
        .get("filename")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("filename: required"))?;
    let read = |field: &str| -> Result<Option<u64>, ApiError> {
        match json.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| ApiError::bad_request(format!("{field}: expected an integer ≥ 0"))),
        }
    };
    let pro = read("gemini_2_5_pro_limit")?;
    let total = read("total_limit")?;
    find(&state, name)
        .await?
        .do_send(UpdateLimits { total, pro });
    Ok(HttpResponse::Ok()
        .json(json!({"success": true, "message": format!("limits of {name} updated")})))
}

pub async fn reset(
    _: PanelSession,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let json: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        parse_json(&body)?
    };
    match json.get("filename").and_then(Value::as_str) {
        Some(name) => {
            find(&state, name)
                .await?
                .send(ResetUsage)
                .await
                .map_err(ApiError::mailbox("the credential"))?;
            Ok(HttpResponse::Ok()
                .json(json!({"success": true, "message": format!("usage of {name} reset")})))
        }
        None => {
            let records = all_records(&state).await?;
            for r in &records {
                if let Ok(actor) = find(&state, &r.name).await {
                    actor.do_send(ResetUsage);
                }
            }
            Ok(HttpResponse::Ok().json(json!({"success": true, "message": format!("usage of {} credentials reset", records.len())})))
        }
    }
}
