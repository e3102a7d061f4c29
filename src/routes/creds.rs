//! Credential management for the panel: status listing with filters and paging, actions one by one or
//! in batches, downloads, and account emails.

use std::io::Write;

use actix_web::{web, HttpResponse};
use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::parse_json;
use super::cred_lookup::{all_records, find};
use crate::actors::credentials::messages::{
    ClearCooldown, CooldownFilter, ErrorCodeFilter, FetchEmail, GetRecord, KindFilter,
    ListCredentialPage, PageFilter, RemoveCredential, SetEnabled, StatusFilter,
};
use crate::auth::admin::Admin;
use crate::auth::panel::PanelSession;
use crate::credentials::{CredentialKind, CredentialRecord};
use crate::error::{ApiError, ErrorStyle};
use crate::state::AppState;
use crate::store::AuditAction;

const PAGE_SIZES: &[usize] = &[10, 20, 50, 100, 200, 500, 1000];

#[derive(Deserialize)]
pub struct StatusQuery {
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
    #[serde(default)]
    status_filter: Option<String>,
    #[serde(default)]
    error_code_filter: Option<String>,
    #[serde(default)]
    cooldown_filter: Option<String>,
    /// `all` or a credential kind (`code_assist`, `gemini_api_key`, `vertex`).
    #[serde(default)]
    kind_filter: Option<String>,
}

fn default_limit() -> usize {
    50
}

fn error_codes(record: &CredentialRecord) -> Vec<u16> {
    let mut codes: Vec<u16> = Vec::new();
    for e in record.state.errors.iter().rev() {
        if !codes.contains(&e.code) {
            codes.push(e.code);
        }
    }
    codes
}

fn active_cooldowns(record: &CredentialRecord, now: i64) -> serde_json::Map<String, Value> {
    record
        .state
        .model_cooldowns
        .iter()
        .filter(|(_, until)| **until > now)
        .map(|(m, until)| (m.clone(), json!(until)))
        .collect()
}

/// Per resting model: what it waits for (kind), Google's message and the seconds left.
fn cooldown_details(record: &CredentialRecord, now: i64) -> Vec<Value> {
    record
        .state
        .model_cooldowns
        .iter()
        .filter(|(_, until)| **until > now)
        .map(|(model, until)| {
            let entry = record.state.cooldowns.get(model);
            json!({
                "model": model,
                "kind": entry.map_or("unknown", |e| e.kind.as_str()),
                "message": entry.map(|e| e.message.as_str()),
                "until": until,
                "seconds_left": until - now,
                "streak": entry.map_or(0, |e| e.streak),
            })
        })
        .collect()
}

pub fn status_item(
    record: &CredentialRecord,
    insight: Option<&crate::store::CredentialInsight>,
    now: i64,
) -> Value {
    let usage = &record.state.usage;
    let (total, pro) = if now >= usage.next_reset {
        (0, 0)
    } else {
        (usage.total_calls, usage.pro_calls)
    };
    let text = |key: &str| record.credential.get(key).and_then(Value::as_str);
    let mut item = json!({
        "filename": record.name,
        "kind": record.kind.as_str(),
        // Keys are shown masked, never whole.
        "api_key": text("api_key").map(crate::logging::mask),
        "client_email": text("client_email"),
        "location": text("location"),
        "user_email": record.state.user_email,
        "project_id": record.credential.get("project_id"),
        "disabled": record.state.disabled,
        "disabled_reason": record.state.disabled_reason,
        "error_codes": error_codes(record),
        "errors": record.state.errors,
        "last_success": record.state.last_success,
        "model_cooldowns": active_cooldowns(record, now),
        "cooldowns": cooldown_details(record, now),
        "preview": record.state.preview,
        "usage": {
            "total_calls": total,
            "pro_calls": pro,
            "daily_limit_total": usage.daily_limit_total,
            "daily_limit_pro": usage.daily_limit_pro,
            "next_reset": usage.next_reset,
        },
    });
    if let Some(map) = item.as_object_mut() {
        for (key, value) in super::quota::status_fields(insight) {
            map.insert(key.to_string(), value);
        }
    }
    item
}

pub async fn status(
    _: PanelSession,
    query: web::Query<StatusQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !PAGE_SIZES.contains(&query.limit) {
        return Err(ApiError::bad_request(format!(
            "limit: expected one of {PAGE_SIZES:?}"
        )));
    }
    let now = state.clock.now();
    let filter = PageFilter {
        status: match query.status_filter.as_deref() {
            Some("enabled") => StatusFilter::Enabled,
            Some("disabled") => StatusFilter::Disabled,
            _ => StatusFilter::All,
        },
        error_code: match query.error_code_filter.as_deref().unwrap_or("all") {
            "all" => ErrorCodeFilter::All,
            "none" => ErrorCodeFilter::None,
            code => code
                .parse::<u16>()
                .map_or(ErrorCodeFilter::Nothing, ErrorCodeFilter::Code),
        },
        cooldown: match query.cooldown_filter.as_deref() {
            Some("in_cooldown") => CooldownFilter::InCooldown,
            Some("no_cooldown") => CooldownFilter::NoCooldown,
            _ => CooldownFilter::All,
        },
        kind: match query.kind_filter.as_deref().unwrap_or("all") {
            "all" => KindFilter::All,
            kind => CredentialKind::parse(kind).map_or(KindFilter::Nothing, KindFilter::Kind),
        },
    };
    let page = state
        .supervisor
        .send(ListCredentialPage {
            filter,
            offset: query.offset,
            limit: query.limit,
        })
        .await
        .map_err(ApiError::mailbox("the credential registry"))?;
    let stats = json!({
        "total": page.stats.total,
        "normal": page.stats.total - page.stats.disabled,
        "disabled": page.stats.disabled,
        "cooling": page.stats.cooling,
        "kinds": CredentialKind::ALL
            .iter()
            .zip(page.stats.kinds)
            .map(|(kind, count)| (kind.as_str().to_string(), json!(count)))
            .collect::<serde_json::Map<String, Value>>(),
    });
    let total = page.matching;
    let mut records = page.records;
    // The calls shown are the cluster's; without them the page still answers, with this instance's.
    if let Err(e) = super::usage::with_cluster_usage(&state, &mut records).await {
        log::warn!("credential status without the cluster's usage: {e}");
    }
    let fleet = state.fleet.snapshot();
    let items: Vec<Value> = records
        .iter()
        .map(|r| {
            let insight = fleet.get(&r.name).and_then(|slot| slot.live.insight());
            status_item(r, insight.as_deref(), now)
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "items": items,
        "total": total,
        "offset": query.offset,
        "limit": query.limit,
        "has_more": query.offset.saturating_add(query.limit) < total,
        "stats": stats,
    })))
}

/// Waits for the credential actor, so the change is in effect (rotation included) when the panel
/// hears back.
/// `model` narrows `clear_cooldown` to one model's rest.
/// Each change done leaves an audit entry by `admin`.
async fn apply(
    state: &AppState,
    admin: &Admin,
    name: &str,
    action: &str,
    model: Option<&str>,
) -> Result<String, ApiError> {
    let message = change(state, name, action, model).await?;
    let audited = match action {
        "enable" => AuditAction::CredentialEnabled,
        "disable" => AuditAction::CredentialDisabled,
        "clear_cooldown" => AuditAction::CooldownCleared,
        _ => AuditAction::CredentialRemoved,
    };
    admin.audit(state, audited, name, json!({ "model": model }));
    Ok(message)
}

async fn change(
    state: &AppState,
    name: &str,
    action: &str,
    model: Option<&str>,
) -> Result<String, ApiError> {
    let gone = ApiError::mailbox::<actix::MailboxError>("the credential");
    match action {
        "enable" => {
            let msg = SetEnabled {
                enabled: true,
                reason: None,
            };
            find(state, name).await?.send(msg).await.map_err(gone)?;
            Ok(format!("{name} enabled"))
        }
        "disable" => {
            let msg = SetEnabled {
                enabled: false,
                reason: Some("disabled by hand".into()),
            };
            find(state, name).await?.send(msg).await.map_err(gone)?;
            Ok(format!("{name} disabled"))
        }
        "clear_cooldown" => {
            let msg = ClearCooldown {
                model: model.map(str::to_string),
            };
            find(state, name).await?.send(msg).await.map_err(gone)?;
            Ok(match model {
                Some(model) => format!("{name}: cooldown of {model} cleared"),
                None => format!("{name}: cooldowns cleared"),
            })
        }
        "delete" => {
            let existed = state
                .supervisor
                .send(RemoveCredential {
                    name: name.to_string(),
                })
                .await
                .map_err(ApiError::mailbox("the credential registry"))?;
            if !existed {
                return Err(ApiError::not_found(format!("no credential named {name:?}")));
            }
            log::info!("credential {name} deleted");
            Ok(format!("{name} deleted"))
        }
        other => Err(ApiError::bad_request(format!(
            "action: unknown {other:?}; use enable, disable, delete or clear_cooldown"
        ))),
    }
}

fn string_field<'a>(json: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    json.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("{field}: required")))
}

pub async fn action(
    admin: Admin,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let json = parse_json(&body)?;
    let name = string_field(&json, "filename")?;
    let action = string_field(&json, "action")?;
    let model = json
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty());
    let message = apply(&state, &admin, name, action, model).await?;
    Ok(HttpResponse::Ok().json(json!({"message": message})))
}

pub async fn batch_action(
    admin: Admin,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let json = parse_json(&body)?;
    let action = string_field(&json, "action")?;
    let names: Vec<&str> = json
        .get("filenames")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request("filenames: expected a list"))?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut ok = 0usize;
    let mut errors = Vec::new();
    for name in &names {
        match apply(&state, &admin, name, action, None).await {
            Ok(_) => ok += 1,
            Err(e) => errors.push(json!({"filename": name, "error": e.message})),
        }
    }
    Ok(HttpResponse::Ok().json(json!({
        "success_count": ok,
        "total_count": names.len(),
        "errors": errors,
        "message": format!("{action}: {ok} of {} done", names.len()),
    })))
}

/// The credential file as it is now (refreshed token included): the operator's own backup.
pub async fn download(
    _: PanelSession,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let record = find(&state, &name)
        .await?
        .send(GetRecord)
        .await
        .map_err(ApiError::mailbox("the credential"))?;
    let body = serde_json::to_vec_pretty(&record.credential)
        .map_err(|_| ApiError::internal("could not serialise the credential"))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", name.replace('"', "")),
        ))
        .body(body))
}

pub async fn download_all(
    _: PanelSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let records = all_records(&state).await?;
    if records.is_empty() {
        return Err(ApiError::not_found("there are no credentials to download"));
    }
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut cursor);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for record in &records {
            let body = serde_json::to_vec_pretty(&record.credential)
                .map_err(|_| ApiError::internal("could not serialise a credential"))?;
            zip.start_file(record.name.as_str(), options)
                .and_then(|_| zip.write_all(&body).map_err(Into::into))
                .map_err(|_| ApiError::internal("could not build the archive"))?;
        }
        zip.finish()
            .map_err(|_| ApiError::internal("could not build the archive"))?;
    }
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"credentials.zip\"",
        ))
        .body(cursor.into_inner()))
}

pub async fn fetch_email(
    _: PanelSession,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let actor = find(&state, &name).await?;
    match actor.send(FetchEmail).await {
        Ok(Ok(email)) => Ok(HttpResponse::Ok().json(json!({
            "filename": name, "user_email": email, "message": "email fetched",
        }))),
        Ok(Err(e)) => {
            let message = format!("could not fetch the email: {e}");
            let error = ApiError::bad_request(message.clone()).render(ErrorStyle::Google);
            Ok(HttpResponse::BadRequest().json(json!({
                "filename": name, "user_email": Value::Null,
                "message": message,
                "error": error.get("error"),
            })))
        }
        Err(_) => Err(ApiError::actor_unavailable("the credential")),
    }
}

pub async fn refresh_all_emails(
    _: PanelSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let records = all_records(&state).await?;
    let missing: Vec<String> = records
        .iter()
        .filter(|r| r.state.user_email.is_none())
        .map(|r| r.name.clone())
        .collect();
    let skipped = records.len() - missing.len();
    let lookups = missing.iter().map(|name| {
        let state = state.clone();
        async move {
            let result = match find(&state, name).await {
                Ok(actor) => actor.send(FetchEmail).await.map_or_else(
                    |_| Err("unavailable".into()),
                    |r| r.map_err(|e| e.to_string()),
                ),
                Err(e) => Err(e.message),
            };
            match result {
                Ok(email) => json!({"filename": name, "user_email": email, "success": true}),
                Err(e) => json!({"filename": name, "success": false, "error": e}),
            }
        }
    });
    let results = join_all(lookups).await;
    let ok = results.iter().filter(|r| r["success"] == true).count();
    Ok(HttpResponse::Ok().json(json!({
        "success_count": ok,
        "total_count": missing.len(),
        "skipped_count": skipped,
        "results": results,
        "message": format!("fetched {ok} of {} missing emails", missing.len()),
    })))
}
