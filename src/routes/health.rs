//! Probes for orchestrators: `GET /healthz` (the process answers) and `GET /readyz` (the store answers and
//! at least one credential can serve; 503 with the reason otherwise). No authentication, no secrets.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::actors::credentials::messages::CountFleet;
use crate::credentials::CredentialRecord;
use crate::state::AppState;

/// A probe that waits longer than this has its answer: not ready.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Credentials by state. Cooling means enabled with a cooldown on some model: it still serves the
/// others, so it counts towards readiness.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FleetCounts {
    pub usable: usize,
    pub cooling: usize,
    pub disabled: usize,
}

impl FleetCounts {
    pub fn of(records: &[CredentialRecord], now: i64) -> Self {
        let mut counts = Self::default();
        for r in records {
            if r.state.disabled {
                counts.disabled += 1;
            } else if r.state.model_cooldowns.values().any(|until| *until > now) {
                counts.cooling += 1;
            } else {
                counts.usable += 1;
            }
        }
        counts
    }
}

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

fn not_ready(reason: &str) -> HttpResponse {
    HttpResponse::ServiceUnavailable().json(json!({"status": "not ready", "reason": reason}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.shutdown.is_draining() {
        return not_ready("shutting down");
    }
    match tokio::time::timeout(PROBE_TIMEOUT, state.store.credentials_generation()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            log::warn!("readiness: store check failed: {e}");
            return not_ready("the store is not reachable");
        }
        Err(_) => return not_ready("the store did not answer in time"),
    }
    // Counted from the supervisor's cached statuses: a probe costs the same at 100,000 credentials.
    let fleet = match tokio::time::timeout(PROBE_TIMEOUT, state.supervisor.send(CountFleet)).await {
        Ok(Ok(fleet)) => fleet,
        _ => return not_ready("the credential registry is not answering"),
    };
    let counts = FleetCounts {
        usable: fleet.usable,
        cooling: fleet.total - fleet.disabled - fleet.usable,
        disabled: fleet.disabled,
    };
    if fleet.total == 0 {
        return not_ready("no credentials are loaded");
    }
    if counts.usable + counts.cooling == 0 {
        return not_ready("every credential is disabled");
    }
    HttpResponse::Ok().json(json!({
        "status": "ready",
        "store": state.store.backend_name(),
        "credentials": {"usable": counts.usable, "cooling": counts.cooling, "disabled": counts.disabled},
    }))
}
