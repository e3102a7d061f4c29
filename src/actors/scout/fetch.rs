//! One scouting of one credential: read what a peer may already have fetched, take the cluster-wide
//! turn to fetch, ask Google, store the result. Runs as a future on the scout's thread; the scout
//! publishes what it answers.

use std::sync::Arc;
use std::time::Duration;

use crate::credentials::{CredentialKind, Endpoint};
use crate::store::{CredentialInsight, Store};
use crate::upstream::gemini_api::Auth;
use crate::upstream::model_list::{self, ListSource};
use crate::upstream::{quota, UpstreamError};

/// A fetch that takes longer than this is abandoned (the last snapshot stays).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Google's messages are kept for the panel, not as an archive.
const MAX_ERROR: usize = 300;

/// What to ask Google for, and whether a fresh snapshot from a peer may stand in for asking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wants {
    pub quota: bool,
    pub credits: bool,
    pub models: bool,
    /// On demand or after a 429: ask Google even when a peer fetched within the interval.
    pub forced: bool,
}

/// The credential as one fetch needs it (from its published status).
#[derive(Debug, Clone)]
pub struct Target {
    pub name: Arc<str>,
    pub kind: CredentialKind,
    pub token: Arc<str>,
    pub project: Option<Arc<str>>,
    pub location: Option<Arc<str>>,
}

/// Where the fetch calls and stores, from the settings and the scout.
#[derive(Clone)]
pub struct Reach {
    pub client: awc::Client,
    pub store: Arc<dyn Store>,
    pub instance_id: Arc<str>,
    pub code_assist_endpoint: String,
    pub gemini_api_endpoint: String,
    pub vertex_endpoint: Option<String>,
    /// `QUOTA_REFRESH_SECONDS` and `MODEL_REFRESH_SECONDS` in milliseconds (0: not periodic).
    pub quota_interval_ms: i64,
    pub models_interval_ms: i64,
    /// Whether the models named by quota buckets make the credential's catalogue.
    pub live_models: bool,
}

/// What one scouting found: the insight to publish, and whether Google was asked for the quota.
pub struct Scouted {
    pub insight: CredentialInsight,
    pub asked_quota: bool,
    pub asked_models: bool,
    /// Another instance has the turn to fetch: read its snapshot from the store again soon.
    pub peer_fetching: bool,
}

fn short(e: &UpstreamError) -> String {
    let mut text = e.to_string();
    if text.len() > MAX_ERROR {
        let mut cut = MAX_ERROR;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// The lease that gives one instance the turn to fetch `what` of `name` for `ttl_ms`.
fn lease_name(what: &str, name: &str) -> String {
    format!("scout-{what}:{name}")
}

/// Whether a snapshot taken at `at` (ms) is still within `interval_ms` of `now_ms`. With no periodic
/// refresh, any snapshot counts as fresh: it is refreshed only on demand or after a 429.
fn fresh(at: Option<i64>, interval_ms: i64, now_ms: i64) -> bool {
    at.is_some_and(|at| interval_ms == 0 || now_ms - at < interval_ms)
}

/// Takes the cluster-wide turn to fetch; a store that cannot answer leaves the turn to this instance
/// (a failing store must not stop the quota from being seen).
async fn take_turn(reach: &Reach, what: &str, name: &str, ttl_ms: i64) -> bool {
    if !reach.store.is_shared() {
        return true;
    }
    let ttl = u64::try_from(ttl_ms.max(1_000)).unwrap_or(u64::MAX);
    reach
        .store
        .try_lease(&lease_name(what, name), &reach.instance_id, ttl)
        .await
        .unwrap_or(true)
}

/// Scouts `target`, starting from `known` (what is published now). `now_ms` is the clock at start.
pub async fn scout(
    reach: Reach,
    target: Target,
    mut wants: Wants,
    known: CredentialInsight,
    now_ms: i64,
) -> Scouted {
    let mut insight = known;
    let name = &*target.name;
    // A peer may have fetched within the interval: take its snapshot instead of asking again.
    if reach.store.is_shared() {
        if let Ok(Some(stored)) = reach.store.get_insight(name).await {
            adopt_newer(&mut insight, stored);
        }
        if !wants.forced {
            if fresh(insight.quota_fetched_at, reach.quota_interval_ms, now_ms) {
                wants.quota = false;
                wants.credits = false;
            }
            if fresh(insight.models_fetched_at, reach.models_interval_ms, now_ms) {
                wants.models = false;
            }
        }
    }
    // One instance per interval asks Google; forced fetches (a 429, the panel) take a short turn so
    // two instances reacting to the same burst still ask once.
    let turn_ms = |interval_ms: i64| {
        if wants.forced || interval_ms == 0 {
            10_000
        } else {
            interval_ms - 1_000
        }
    };
    let mut peer_fetching = false;
    if wants.quota && !take_turn(&reach, "quota", name, turn_ms(reach.quota_interval_ms)).await {
        wants.quota = false;
        wants.credits = false;
        peer_fetching = true;
    }
    if wants.models && !take_turn(&reach, "models", name, turn_ms(reach.models_interval_ms)).await {
        wants.models = false;
        peer_fetching = true;
    }
    let login = target.kind.rules().is_account_login();
    let asked_quota = wants.quota && login;
    let asked_models = wants.models && !login;
    if asked_quota {
        fetch_quota(&reach, &target, wants.credits, &mut insight, now_ms).await;
    }
    if asked_models {
        fetch_models(&reach, &target, &mut insight, now_ms).await;
    }
    // A blank answer is stored only where peers need it to know the fetch was done.
    let worth_storing = !is_blank(&insight) || reach.store.is_shared();
    if (asked_quota || asked_models) && worth_storing {
        if let Err(e) = reach.store.put_insight(name, &insight).await {
            log::warn!("saving the quota snapshot of {name}: {e}");
        }
    }
    Scouted {
        insight,
        asked_quota,
        asked_models,
        peer_fetching,
    }
}

/// Whether `insight` says nothing of the account: no buckets, credits, models or error.
pub fn is_blank(insight: &CredentialInsight) -> bool {
    insight.quota.is_empty()
        && insight.credits.is_empty()
        && insight.models.is_none()
        && insight.quota_error.is_none()
}

/// Takes from `stored` whatever it has fetched more recently than `insight`.
pub fn adopt_newer(insight: &mut CredentialInsight, stored: CredentialInsight) {
    if stored.quota_fetched_at > insight.quota_fetched_at {
        insight.quota = stored.quota;
        insight.quota_fetched_at = stored.quota_fetched_at;
        insight.quota_error = stored.quota_error;
        insight.credits = stored.credits;
    }
    if stored.models_fetched_at > insight.models_fetched_at {
        insight.models = stored.models;
        insight.models_fetched_at = stored.models_fetched_at;
    }
}

async fn fetch_quota(
    reach: &Reach,
    target: &Target,
    credits: bool,
    insight: &mut CredentialInsight,
    now_ms: i64,
) {
    let Some(project) = target.project.as_deref() else {
        return;
    };
    let endpoint = &reach.code_assist_endpoint;
    let answer = quota::retrieve_user_quota(
        &reach.client,
        endpoint,
        &target.token,
        project,
        FETCH_TIMEOUT,
    )
    .await;
    match answer {
        Ok(buckets) => {
            if reach.live_models {
                let mut ids: Vec<String> = buckets.iter().map(|b| b.model.clone()).collect();
                ids.sort();
                ids.dedup();
                insight.models = (!ids.is_empty()).then(|| {
                    ids.into_iter()
                        .map(|id| crate::store::ModelInfo {
                            id,
                            ..Default::default()
                        })
                        .collect()
                });
                insight.models_fetched_at = Some(now_ms);
            }
            insight.quota = buckets;
            insight.quota_fetched_at = Some(now_ms);
            insight.quota_error = None;
        }
        Err(e) => {
            log::info!("quota of {} not fetched: {e}", target.name);
            insight.quota_error = Some(short(&e));
        }
    }
    if credits {
        match quota::load_credits(
            &reach.client,
            endpoint,
            &target.token,
            project,
            FETCH_TIMEOUT,
        )
        .await
        {
            Ok(found) => insight.credits = found,
            Err(e) => log::info!("credits of {} not fetched: {e}", target.name),
        }
    }
}

async fn fetch_models(
    reach: &Reach,
    target: &Target,
    insight: &mut CredentialInsight,
    now_ms: i64,
) {
    let (source, header) = match target.kind.rules().endpoint(target.location.as_deref()) {
        Endpoint::GeminiApi { auth } => (
            ListSource::GeminiApi {
                endpoint: &reach.gemini_api_endpoint,
            },
            auth,
        ),
        Endpoint::Vertex { location, auth } => (
            ListSource::Vertex {
                endpoint: reach.vertex_endpoint.as_deref(),
                location,
            },
            auth,
        ),
        // Code Assist has no model list; its quota answer names the models.
        Endpoint::CodeAssist => return,
    };
    let auth = Auth::with(header, &target.token);
    match model_list::fetch_models(&reach.client, source, auth, FETCH_TIMEOUT).await {
        Ok(models) => {
            insight.models = (!models.is_empty()).then_some(models);
            insight.models_fetched_at = Some(now_ms);
        }
        Err(e) => log::info!("model list of {} not fetched: {e}", target.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_follows_the_interval_and_zero_means_until_asked() {
        assert!(fresh(Some(1_000), 5_000, 5_999));
        assert!(!fresh(Some(1_000), 5_000, 6_000));
        assert!(!fresh(None, 5_000, 0));
        assert!(fresh(Some(1), 0, i64::MAX));
    }

    #[test]
    fn a_stored_snapshot_replaces_only_older_parts() {
        let mut mine = CredentialInsight {
            quota_fetched_at: Some(10),
            models_fetched_at: Some(30),
            models: Some(vec![]),
            ..Default::default()
        };
        let theirs = CredentialInsight {
            quota_fetched_at: Some(20),
            quota_error: Some("x".into()),
            models_fetched_at: Some(25),
            models: None,
            ..Default::default()
        };
        adopt_newer(&mut mine, theirs);
        assert_eq!(mine.quota_fetched_at, Some(20));
        assert_eq!(mine.quota_error.as_deref(), Some("x"));
        assert_eq!(mine.models_fetched_at, Some(30));
        assert!(mine.models.is_some());
    }
}
