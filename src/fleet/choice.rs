//! Choosing the credential for one upstream call: pure functions over the fleet's published slots, the
//! rotation cursor and the request. They never wait and never message anyone, so request workers run
//! them on their own thread (see `view`). They are generic over `A`, the handle of a credential's
//! actor, which they only copy into the lease: the tests in `rotation_tests` run them with none.
//!
//! Rotation: the credential under the cursor serves `CALLS_PER_ROTATION` calls, then the cursor moves on.
//! Disabled, cooling (for the requested model), broken or already-tried credentials are skipped; preview
//! models only go to credentials not known to lack preview access. A usable credential whose token or
//! project is not ready is chosen only when no ready one is left (`Choice::NeedsRefresh`).

use std::sync::Arc;

use super::catalogue;
use super::error::CredentialError;
use super::kind_select;
use super::lease::{Choice, Lease};
use super::live_credential::LiveCredential;
use super::slot::Slot;
use super::status::CredentialStatus;
use crate::config::{CreditsOverage, RotationPolicy, Settings};
use crate::convert::session_key::SessionKey;
use crate::credentials::CredentialKind;
use crate::store::CredentialInsight;
use crate::upstream::classify::is_preview_model;

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

/// How a credential stands for the requested model by its last quota snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QuotaStand {
    /// Quota left: the remaining fraction (1.0 when only an amount is known) and the reset time.
    Left { fraction: f64, reset: Option<i64> },
    /// No snapshot, or no bucket for the model, or an empty bucket whose reset time has passed.
    Unknown,
    /// Nothing left until `reset` (unix seconds; `None`: until a new snapshot says otherwise).
    Empty { reset: Option<i64> },
}

impl QuotaStand {
    pub fn of<A>(slot: &Slot<A>, model: &str, now: i64) -> Self {
        Self::of_insight(slot.live.insight_ref().as_deref(), model, now)
    }

    /// The stand `insight` gives for `model` at `now` (unix seconds).
    pub fn of_insight(insight: Option<&CredentialInsight>, model: &str, now: i64) -> Self {
        let Some(bucket) = insight.and_then(|i| i.bucket(model)) else {
            return Self::Unknown;
        };
        if bucket.is_empty() {
            return match bucket.reset_time {
                Some(reset) if reset <= now => Self::Unknown,
                reset => Self::Empty { reset },
            };
        }
        match (bucket.remaining_fraction, bucket.remaining) {
            (Some(fraction), _) => Self::Left {
                fraction,
                reset: bucket.reset_time,
            },
            (None, Some(_)) => Self::Left {
                fraction: 1.0,
                reset: bucket.reset_time,
            },
            (None, None) => Self::Unknown,
        }
    }

    pub fn is_empty(self) -> bool {
        matches!(self, Self::Empty { .. })
    }
}

/// Whether the credential may serve this request at all (ready or not): `Some(probe)` when it may,
/// `probe` telling that its rest for the model ran out and the call would be the half-open probe.
fn usable<A>(
    slot: &Slot<A>,
    s: &CredentialStatus,
    req: &ChoiceRequest<'_>,
    now: i64,
    serving: kind_select::Serving,
) -> Option<bool> {
    let rest = s.cooldowns.get(req.base_model);
    let cooling = rest.is_some_and(|until| *until > now);
    let preview_ok = !is_preview_model(req.base_model) || s.preview;
    let ok = s.enabled
        && !s.broken
        && !cooling
        && preview_ok
        && !req.exclude.contains(&slot.name)
        && serving.kind(s.kind)
        && lists(slot, s, req);
    ok.then_some(rest.is_some())
}

/// Whether the credential's model list (if it has one) names the requested model.
fn lists<A>(slot: &Slot<A>, s: &CredentialStatus, req: &ChoiceRequest<'_>) -> bool {
    let insight = slot.live.insight_ref();
    catalogue::lists(s.kind, insight.as_deref(), req.base_model, req.settings)
}

/// Whether the slot's call may go now: a half-open probe only when no other call probes the model.
fn may_call<A>(slot: &Slot<A>, req: &ChoiceRequest<'_>, probe: bool, now: i64) -> bool {
    !probe
        || slot
            .live
            .try_probe(req.base_model, now.saturating_mul(1000))
}

/// Whether a call of this credential for `model` may spend its credits: `CREDITS_OVERAGE=always`, a
/// Code Assist account with credits left, and the model among `CREDITS_MODELS` (empty: every model).
pub fn spends_credits(
    live: &LiveCredential,
    kind: CredentialKind,
    settings: &Settings,
    model: &str,
) -> bool {
    if settings.credits_overage != CreditsOverage::Always || !kind.rules().is_account_login() {
        return false;
    }
    let listed =
        settings.credits_models.is_empty() || settings.credits_models.iter().any(|m| m == model);
    listed
        && live
            .insight_ref()
            .as_ref()
            .is_some_and(|i| i.credits.iter().any(|c| c.amount > 0))
}

/// The slot as a choice: a lease when its token and project are ready, otherwise a refresh to ask for.
fn as_choice<A: Clone>(
    slot: &Slot<A>,
    s: &CredentialStatus,
    req: &ChoiceRequest<'_>,
    now: i64,
) -> Choice<A> {
    match (&s.access_token, &s.project) {
        (Some(token), Some(project)) if s.token_valid_until > now => Choice::Ready(Lease {
            name: slot.name.clone(),
            kind: s.kind,
            access_token: token.clone(),
            project: project.clone(),
            location: s.location.clone(),
            actor: slot.actor().clone(),
            live: slot.live.clone(),
            spend_credits: spends_credits(&slot.live, s.kind, req.settings, req.base_model),
        }),
        _ => Choice::NeedsRefresh {
            name: slot.name.clone(),
            actor: slot.actor().clone(),
            live: slot.live.clone(),
        },
    }
}

/// The bound credential of a conversation as a choice, if it may serve this request.
pub fn bound<A: Clone>(slot: &Slot<A>, req: &ChoiceRequest<'_>, now: i64) -> Option<Choice<A>> {
    let status = slot.live.status();
    let serving = kind_select::Serving::of(req.settings, req.base_model);
    let probe = usable(slot, &status, req, now, serving)?;
    // A conversation keeps its credential while that one has quota left for the model.
    if QuotaStand::of(slot, req.base_model, now).is_empty() || !may_call(slot, req, probe, now) {
        return None;
    }
    Some(as_choice(slot, &status, req, now))
}

/// The next credential: by `ROTATION_POLICY` within each rank of `UPSTREAM_PREFERENCE`. Every policy
/// skips a credential whose snapshot says nothing is left for the model until its reset.
pub fn rotate<A: Clone>(
    slots: &[Slot<A>],
    rotation: &mut Rotation,
    req: &ChoiceRequest<'_>,
    now: i64,
    per_rotation: u64,
) -> Result<Choice<A>, CredentialError> {
    if slots.is_empty() {
        return Err(CredentialError::NoneLoaded);
    }
    match req.settings.rotation_policy {
        RotationPolicy::RoundRobin => round_robin(slots, rotation, req, now, per_rotation),
        policy => ranked(slots, rotation, req, now, policy),
    }
}

/// The slot as the choice, when it may be called now: a ready lease is answered at once; a credential
/// that needs a refresh is kept as `fallback` (the first such one) in case no ready one is left.
fn try_slot<A: Clone>(
    slot: &Slot<A>,
    status: &CredentialStatus,
    req: &ChoiceRequest<'_>,
    probe: bool,
    now: i64,
    fallback: &mut Option<Choice<A>>,
) -> Option<Choice<A>> {
    let choice = as_choice(slot, status, req, now);
    if matches!(choice, Choice::NeedsRefresh { .. }) {
        if fallback.is_none() && may_call(slot, req, probe, now) {
            *fallback = Some(choice);
        }
        return None;
    }
    may_call(slot, req, probe, now).then_some(choice)
}

/// Whether the slot is a candidate in this pass: of the pass's kind rank, usable for the request, and
/// not spent for the model by its snapshot. Answers whether its call is a probe, and its quota stand.
fn candidate<A>(
    slot: &Slot<A>,
    status: &CredentialStatus,
    req: &ChoiceRequest<'_>,
    now: i64,
    pass: &Pass,
    rank: usize,
) -> Option<(bool, QuotaStand)> {
    if pass.several_ranks && pass.rank_of.kind(status.kind) != rank {
        return None;
    }
    let probe = usable(slot, status, req, now, pass.serving)?;
    let stand = QuotaStand::of(slot, req.base_model, now);
    (!stand.is_empty()).then_some((probe, stand))
}

/// The kind ranks of `UPSTREAM_PREFERENCE` (one pass each) and what every pass reads.
fn passes_of(req: &ChoiceRequest<'_>) -> (Vec<usize>, Pass) {
    let preference = &req.settings.upstream_preference;
    let ranks = kind_select::ranks(preference);
    let pass = Pass {
        several_ranks: ranks.len() > 1,
        rank_of: kind_select::Ranks::of(preference),
        serving: kind_select::Serving::of(req.settings, req.base_model),
    };
    (ranks, pass)
}

/// What every pass of a choice reads from the settings once.
struct Pass {
    several_ranks: bool,
    rank_of: kind_select::Ranks,
    serving: kind_select::Serving,
}

/// The credential under the cursor serves `CALLS_PER_ROTATION` calls, then the cursor moves on.
fn round_robin<A: Clone>(
    slots: &[Slot<A>],
    rotation: &mut Rotation,
    req: &ChoiceRequest<'_>,
    now: i64,
    per_rotation: u64,
) -> Result<Choice<A>, CredentialError> {
    let n = slots.len();
    let per_rotation = per_rotation.max(1);
    let start = rotation.cursor % n;
    let mut fallback: Option<Choice<A>> = None;
    // One pass per rank of `UPSTREAM_PREFERENCE` (a single pass when it is empty); within a pass the
    // rotation is the usual one.
    let (ranks, pass) = passes_of(req);
    let passes = ranks
        .iter()
        .flat_map(|rank| (0..n).map(move |step| (*rank, step)));
    for (rank, step) in passes {
        let idx = (start + step) % n;
        let Some(slot) = slots.get(idx) else {
            continue;
        };
        let status = slot.live.status();
        let Some((probe, _)) = candidate(slot, &status, req, now, &pass, rank) else {
            continue;
        };
        let Some(choice) = try_slot(slot, &status, req, probe, now, &mut fallback) else {
            continue;
        };
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

/// The order a ranked policy tries candidates in: lower first.
fn rank_key(policy: RotationPolicy, stand: QuotaStand, distance: usize) -> (u8, f64, usize) {
    // Ties (and unknown snapshots) go in rotation order from the cursor, so equal credentials share.
    match (policy, stand) {
        (RotationPolicy::FillFirst, _) => (0, 0.0, distance),
        (RotationPolicy::MostRemaining, QuotaStand::Left { fraction, .. }) => {
            (0, -fraction, distance)
        }
        (RotationPolicy::EarliestReset, QuotaStand::Left { reset, .. }) => {
            (0, reset.map_or(f64::MAX, |r| r as f64), distance)
        }
        _ => (1, 0.0, distance),
    }
}

/// `most_remaining`, `earliest_reset` and `fill_first`: every usable credential of the best rank is
/// ranked (a walk over the fleet per choice; round-robin stops at the first usable one).
fn ranked<A: Clone>(
    slots: &[Slot<A>],
    rotation: &mut Rotation,
    req: &ChoiceRequest<'_>,
    now: i64,
    policy: RotationPolicy,
) -> Result<Choice<A>, CredentialError> {
    let n = slots.len();
    let start = rotation.cursor % n;
    let (ranks, pass) = passes_of(req);
    let mut fallback: Option<Choice<A>> = None;
    for rank in ranks.iter() {
        let mut candidates: Vec<((u8, f64, usize), usize, bool)> = Vec::new();
        for (idx, slot) in slots.iter().enumerate() {
            let status = slot.live.status();
            let Some((probe, stand)) = candidate(slot, &status, req, now, &pass, *rank) else {
                continue;
            };
            let distance = if policy == RotationPolicy::FillFirst {
                idx
            } else {
                (idx + n - start) % n
            };
            candidates.push((rank_key(policy, stand, distance), idx, probe));
        }
        candidates.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        for (_, idx, probe) in candidates {
            let Some(slot) = slots.get(idx) else {
                continue;
            };
            let status = slot.live.status();
            let Some(choice) = try_slot(slot, &status, req, probe, now, &mut fallback) else {
                continue;
            };
            rotation.cursor = (idx + 1) % n;
            rotation.calls_on_cursor = 0;
            return Ok(choice);
        }
    }
    fallback.ok_or_else(|| explain(slots, req, now))
}

/// Why nothing could be chosen, in the most useful words for the client.
pub fn explain<A>(slots: &[Slot<A>], req: &ChoiceRequest<'_>, now: i64) -> CredentialError {
    if slots.is_empty() {
        return CredentialError::NoneLoaded;
    }
    let statuses: Vec<_> = slots
        .iter()
        .map(|slot| {
            let status = slot.live.status();
            let listed = lists(slot, &status, req);
            (status, QuotaStand::of(slot, req.base_model, now), listed)
        })
        .collect();
    let serving: Vec<(&CredentialStatus, QuotaStand)> = statuses
        .iter()
        .filter(|(s, _, listed)| {
            *listed && kind_select::serves(s.kind, req.settings, req.base_model)
        })
        .map(|(s, stand, _)| (&***s, *stand))
        .collect();
    if serving.is_empty() {
        return CredentialError::NoneServes(req.base_model.to_string());
    }
    let enabled: Vec<(&CredentialStatus, QuotaStand)> = serving
        .into_iter()
        .filter(|(s, _)| s.enabled && !s.broken)
        .collect();
    if enabled.is_empty() {
        return CredentialError::AllDisabled;
    }
    let preview = is_preview_model(req.base_model);
    if preview && enabled.iter().all(|(s, _)| !s.preview) {
        return CredentialError::NoPreviewAccess(req.base_model.to_string());
    }
    // Only credentials that could serve this model count towards "everyone is cooling"; one whose
    // snapshot says its quota is spent rests until the bucket's reset (an hour when Google gave none,
    // as a new snapshot comes at least that often).
    let cooling_until = |(s, stand): &(&CredentialStatus, QuotaStand)| {
        let rest = s
            .cooldowns
            .get(req.base_model)
            .copied()
            .filter(|until| *until > now);
        let spent = match stand {
            QuotaStand::Empty { reset } => Some(reset.unwrap_or(now + 3600)),
            _ => None,
        };
        rest.into_iter().chain(spent).max()
    };
    let candidates: Vec<(&CredentialStatus, QuotaStand)> = enabled
        .into_iter()
        .filter(|(s, _)| !preview || s.preview)
        .collect();
    let soonest = candidates.iter().filter_map(&cooling_until).min();
    let cooling_all = candidates.iter().all(|s| cooling_until(s).is_some());
    match soonest {
        Some(until) if cooling_all => CredentialError::AllCooling {
            model: req.base_model.to_string(),
            wait_secs: until - now,
        },
        _ => CredentialError::Exhausted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(policy: RotationPolicy, stands: &[QuotaStand]) -> Vec<usize> {
        let mut keyed: Vec<((u8, f64, usize), usize)> = stands
            .iter()
            .enumerate()
            .map(|(i, s)| (rank_key(policy, *s, i), i))
            .collect();
        keyed.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        keyed.into_iter().map(|(_, i)| i).collect()
    }

    const fn left(fraction: f64, reset: Option<i64>) -> QuotaStand {
        QuotaStand::Left { fraction, reset }
    }

    #[test]
    fn most_remaining_puts_the_fullest_first_and_the_unknown_after_the_known() {
        let stands = [
            QuotaStand::Unknown,
            left(0.1, Some(10)),
            left(0.9, Some(99)),
            left(0.5, None),
        ];
        assert_eq!(order(RotationPolicy::MostRemaining, &stands), [2, 3, 1, 0]);
    }

    #[test]
    fn earliest_reset_spends_the_soonest_reset_first() {
        let stands = [
            left(0.9, Some(500)),
            QuotaStand::Unknown,
            left(0.1, Some(100)),
            left(0.5, None),
        ];
        assert_eq!(order(RotationPolicy::EarliestReset, &stands), [2, 0, 3, 1]);
    }

    #[test]
    fn fill_first_keeps_the_slot_order_and_ties_keep_rotation_order() {
        let stands = [QuotaStand::Unknown, left(0.9, None), left(0.1, None)];
        assert_eq!(order(RotationPolicy::FillFirst, &stands), [0, 1, 2]);
        let equal = [left(0.5, None), left(0.5, None), left(0.5, None)];
        assert_eq!(order(RotationPolicy::MostRemaining, &equal), [0, 1, 2]);
    }
}
