//! Choosing the credential for one upstream call: pure functions over the fleet's published slots, the
//! rotation cursor and the request. They never wait and never message anyone, so request workers run
//! them on their own thread (see `fleet_view`).
//!
//! Rotation: the credential under the cursor serves `CALLS_PER_ROTATION` calls, then the cursor moves on.
//! Disabled, cooling (for the requested model), broken or already-tried credentials are skipped; preview
//! models only go to credentials not known to lack preview access. A usable credential whose token or
//! project is not ready is chosen only when no ready one is left (`Choice::NeedsRefresh`).

use std::sync::Arc;

use actix::Addr;

use super::catalogue;
use super::credential_actor::CredentialActor;
use super::kind_select;
use super::live_credential::LiveCredential;
use super::messages::{Choice, CredentialError, CredentialStatus, Lease};
use crate::config::Settings;
use crate::convert::session_key::SessionKey;
use crate::upstream::classify::is_preview_model;

/// One credential as the fleet publishes it: its name, its actor (for failures, refreshes and folds)
/// and what the actor publishes for the hot path.
#[derive(Clone)]
pub struct Slot {
    pub name: Arc<str>,
    actor: Addr<CredentialActor>,
    pub live: Arc<LiveCredential>,
}

impl Slot {
    pub fn new(name: Arc<str>, actor: Addr<CredentialActor>, live: Arc<LiveCredential>) -> Self {
        Self { name, actor, live }
    }

    /// The credential's actor, started first if it is dormant: whoever asks for the address is
    /// about to send it something.
    pub fn actor(&self) -> &Addr<CredentialActor> {
        self.live.wake(&self.name);
        &self.actor
    }

    /// The address without waking the credential (the supervisor, which knows it is dormant).
    pub(super) fn mailbox(&self) -> &Addr<CredentialActor> {
        &self.actor
    }
}

/// What one choice is asked for.
#[derive(Debug, Clone, Copy)]
pub struct ChoiceRequest<'a> {
    pub base_model: &'a str,
    /// Credentials already tried by this request.
    pub exclude: &'a [Arc<str>],
    /// The conversation the request belongs to (session affinity), if known.
    pub session: Option<SessionKey>,
    /// Which kinds serve which models, and the order of the kinds (`UPSTREAM_PREFERENCE`).
    pub settings: &'a Settings,
}

/// The rotation cursor: which credential (index into the slots) serves, and how many calls it has served.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub cursor: usize,
    pub calls_on_cursor: u64,
}

/// Whether the credential may serve this request at all (ready or not).
fn usable(
    slot: &Slot,
    s: &CredentialStatus,
    req: &ChoiceRequest<'_>,
    now: i64,
    serving: kind_select::Serving,
) -> bool {
    let cooling = s
        .cooldowns
        .get(req.base_model)
        .is_some_and(|until| *until > now);
    let preview_ok = !is_preview_model(req.base_model) || s.preview;
    s.enabled
        && !s.broken
        && !cooling
        && preview_ok
        && !req.exclude.contains(&slot.name)
        && serving.kind(s.kind)
        && catalogue::lists(
            s.kind,
            slot.live.insight().as_deref(),
            req.base_model,
            req.settings,
        )
}

/// The slot as a choice: a lease when its token and project are ready, otherwise a refresh to ask for.
fn as_choice(slot: &Slot, s: &CredentialStatus, now: i64) -> Choice {
    match (&s.access_token, &s.project) {
        (Some(token), Some(project)) if s.token_valid_until > now => Choice::Ready(Lease {
            name: slot.name.clone(),
            kind: s.kind,
            access_token: token.clone(),
            project: project.clone(),
            location: s.location.clone(),
            actor: slot.actor().clone(),
            live: slot.live.clone(),
        }),
        _ => Choice::NeedsRefresh {
            name: slot.name.clone(),
            actor: slot.actor().clone(),
            live: slot.live.clone(),
        },
    }
}

/// The bound credential of a conversation as a choice, if it may serve this request.
pub fn bound(slot: &Slot, req: &ChoiceRequest<'_>, now: i64) -> Option<Choice> {
    let status = slot.live.status();
    let serving = kind_select::Serving::of(req.settings, req.base_model);
    usable(slot, &status, req, now, serving).then(|| as_choice(slot, &status, now))
}

/// The next credential in rotation, moving the cursor as `CALLS_PER_ROTATION` says.
pub fn rotate(
    slots: &[Slot],
    rotation: &mut Rotation,
    req: &ChoiceRequest<'_>,
    now: i64,
    per_rotation: u64,
) -> Result<Choice, CredentialError> {
    let n = slots.len();
    if n == 0 {
        return Err(CredentialError::NoneLoaded);
    }
    let per_rotation = per_rotation.max(1);
    let start = rotation.cursor % n;
    let mut fallback: Option<Choice> = None;
    // One pass per rank of `UPSTREAM_PREFERENCE` (a single pass when it is empty); within a pass the
    // rotation is the usual one.
    let preference = &req.settings.upstream_preference;
    let ranks = kind_select::ranks(preference);
    let rank_of = kind_select::Ranks::of(preference);
    let serving = kind_select::Serving::of(req.settings, req.base_model);
    let passes = ranks
        .iter()
        .flat_map(|rank| (0..n).map(move |step| (*rank, step)));
    for (rank, step) in passes {
        let idx = (start + step) % n;
        let Some(slot) = slots.get(idx) else {
            continue;
        };
        let status = slot.live.status();
        if ranks.len() > 1 && rank_of.kind(status.kind) != rank {
            continue;
        }
        if !usable(slot, &status, req, now, serving) {
            continue;
        }
        let choice = as_choice(slot, &status, now);
        if matches!(choice, Choice::NeedsRefresh { .. }) {
            fallback.get_or_insert(choice);
            continue;
        }
        if idx != start {
            rotation.cursor = idx;
            rotation.calls_on_cursor = 0;
        }
        rotation.calls_on_cursor += 1;
        if rotation.calls_on_cursor >= per_rotation {
            rotation.cursor = (idx + 1) % n;
            rotation.calls_on_cursor = 0;
        }
        return Ok(choice);
    }
    fallback.ok_or_else(|| explain(slots, req, now))
}

/// Why nothing could be chosen, in the most useful words for the client.
pub fn explain(slots: &[Slot], req: &ChoiceRequest<'_>, now: i64) -> CredentialError {
    if slots.is_empty() {
        return CredentialError::NoneLoaded;
    }
    let statuses: Vec<_> = slots
        .iter()
        .map(|slot| slot.live.status())
        .zip(slots.iter().map(|slot| slot.live.insight()))
        .collect();
    let serving: Vec<&CredentialStatus> = statuses
        .iter()
        .filter(|(s, insight)| {
            kind_select::serves(s.kind, req.settings, req.base_model)
                && catalogue::lists(s.kind, insight.as_deref(), req.base_model, req.settings)
        })
        .map(|(s, _)| &***s)
        .collect();
    if serving.is_empty() {
        return CredentialError::NoneServes(req.base_model.to_string());
    }
    let enabled: Vec<&CredentialStatus> = serving
        .into_iter()
        .filter(|s| s.enabled && !s.broken)
        .collect();
    if enabled.is_empty() {
        return CredentialError::AllDisabled;
    }
    let preview = is_preview_model(req.base_model);
    if preview && enabled.iter().all(|s| !s.preview) {
        return CredentialError::NoPreviewAccess(req.base_model.to_string());
    }
    // Only credentials that could serve this model count towards "everyone is cooling".
    let cooling_until = |s: &CredentialStatus| {
        s.cooldowns
            .get(req.base_model)
            .copied()
            .filter(|until| *until > now)
    };
    let candidates: Vec<&CredentialStatus> = enabled
        .into_iter()
        .filter(|s| !preview || s.preview)
        .collect();
    let soonest = candidates.iter().filter_map(|s| cooling_until(s)).min();
    let cooling_all = candidates.iter().all(|s| cooling_until(s).is_some());
    match soonest {
        Some(until) if cooling_all => CredentialError::AllCooling {
            model: req.base_model.to_string(),
            wait_secs: until - now,
        },
        _ => CredentialError::Exhausted,
    }
}
