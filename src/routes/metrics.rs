//! `GET /metrics`: Prometheus text format. Readable with the panel password, a panel session, or
//! `METRICS_TOKEN` as a Bearer token. Counters are kept by the request path; the fleet gauges
//! (credentials by state, cooldowns, keys' remaining quota) are read here, at scrape time.

use actix_web::{web, HttpRequest, HttpResponse};

use super::health::FleetCounts;
use crate::actors::credentials::messages::ListCredentials;
use crate::auth::client_address::client_address;
use crate::auth::constant_time_eq;
use crate::auth::panel::{check_panel_token, presented_panel_token};
use crate::error::ApiError;
use crate::key_id::id_of_hash;
use crate::state::AppState;

/// Label of a cooldown's kind when the credential does not record one (records from before kinds).
const UNCLASSIFIED: &str = "unclassified";

async fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let token = presented_panel_token(req).ok_or_else(|| {
        ApiError::unauthorized("send 'Authorization: Bearer <METRICS_TOKEN or panel password>'")
    })?;
    let settings = state.settings.current();
    if let Some(expected) = settings.metrics_token.as_deref().filter(|t| !t.is_empty()) {
        if constant_time_eq(&token, expected) {
            return Ok(());
        }
    }
    let client = client_address(req, &settings);
    check_panel_token(state, &token, &client).await.map(|_| ())
}

async fn fill_gauges(state: &AppState) {
    let m = &state.metrics;
    let now = state.clock.now();
    if let Ok(records) = state.supervisor.send(ListCredentials).await {
        let counts = FleetCounts::of(&records, now);
        for (label, n) in [
            ("usable", counts.usable),
            ("cooling", counts.cooling),
            ("disabled", counts.disabled),
        ] {
            m.credentials
                .with_label_values(&[label])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        m.cooldowns.reset();
        for r in &records {
            for (model, until) in &r.state.model_cooldowns {
                if *until <= now {
                    continue;
                }
                let kind = r
                    .state
                    .cooldowns
                    .get(model)
                    .filter(|c| c.until > now && !c.kind.is_empty())
                    .map_or(UNCLASSIFIED, |c| c.kind.as_str());
                m.cooldowns
                    .with_label_values(&[&r.name, model, kind])
                    .set(until - now);
            }
        }
    }
    fill_quota(state, now);
    match state.store.list_keys().await {
        Ok(keys) => {
            m.api_key_remaining.reset();
            for k in keys {
                let remaining = k.total_quota.saturating_sub(k.used_quota);
                m.api_key_remaining
                    .with_label_values(&[&id_of_hash(&k.key_hash)])
                    .set(i64::try_from(remaining).unwrap_or(i64::MAX));
            }
        }
        Err(e) => log::warn!("metrics: keys not read: {e}"),
    }
}

/// Each credential's quota buckets and credits, as its last snapshot says.
fn fill_quota(state: &AppState, now: i64) {
    let m = &state.metrics;
    m.quota_remaining_fraction.reset();
    m.quota_reset_seconds.reset();
    m.credits.reset();
    let snapshot = state.fleet.snapshot();
    for slot in snapshot.slots() {
        let Some(insight) = slot.live.insight() else {
            continue;
        };
        for bucket in &insight.quota {
            let labels = [&*slot.name, bucket.model.as_str()];
            if let Some(fraction) = bucket.remaining_fraction {
                m.quota_remaining_fraction
                    .with_label_values(&labels)
                    .set(fraction);
            }
            if let Some(reset) = bucket.reset_time {
                m.quota_reset_seconds
                    .with_label_values(&labels)
                    .set((reset - now).max(0));
            }
        }
        for credit in &insight.credits {
            m.credits
                .with_label_values(&[&*slot.name, credit.credit_type.as_str()])
                .set(credit.amount);
        }
    }
}

pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state).await?;
    fill_gauges(&state).await;
    let text = state.metrics.render().map_err(|e| {
        log::error!("metrics: {e}");
        ApiError::internal("metrics could not be rendered")
    })?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
