//! The credential fleet as request workers read it: an immutable snapshot of the slots (published by the
//! `CredentialSupervisor`, the only writer of membership), each slot's live status (published by its
//! `CredentialActor`), and the small state a choice moves — the rotation cursor and the session
//! bindings — behind one short lock. A worker chooses a credential on its own thread: no message, no
//! await, no other thread woken.
//!
//! Session affinity: a request of a known conversation goes to the credential its session is bound to
//! while that one is usable for the request (enabled, not broken, not cooling for the model, not already
//! tried by this request); otherwise rotation chooses and the session is bound to the new choice. Bound
//! requests do not move the rotation cursor: `CALLS_PER_ROTATION` counts the requests rotation places
//! (new conversations and requests without a session).
//!
//! Bindings are per instance, even with a shared store: the binding is read on every request, and a
//! store round trip (or a sync that lags by its interval) on the hot path would cost more than a
//! missed cache hit. A conversation that moves to another instance simply binds there on its next
//! turn; deployments that want one credential per conversation across instances route by the
//! session (e.g. a load balancer hashing the `x-session-id` header).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use super::affinity::AffinityTable;
use super::choice::{self, ChoiceRequest, Rotation};
use super::error::CredentialError;
use super::lease::Choice;
use super::slot::Slot;
use crate::convert::session_key::SessionKey;

/// The fleet's membership at one moment, in rotation order. `A`: the handle of each credential's
/// actor (see `slot`).
pub struct FleetSnapshot<A> {
    slots: Vec<Slot<A>>,
    index: HashMap<Arc<str>, usize>,
}

impl<A> Default for FleetSnapshot<A> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<A> FleetSnapshot<A> {
    pub fn new(slots: Vec<Slot<A>>) -> Self {
        let index = slots
            .iter()
            .enumerate()
            .map(|(i, slot)| (slot.name.clone(), i))
            .collect();
        Self { slots, index }
    }

    pub fn slots(&self) -> &[Slot<A>] {
        &self.slots
    }

    pub fn get(&self, name: &str) -> Option<&Slot<A>> {
        self.slots.get(*self.index.get(name)?)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// What a choice changes: where rotation stands and which conversation is on which credential.
#[derive(Default)]
struct ChoiceState {
    rotation: Rotation,
    affinity: AffinityTable,
}

/// Shared by the supervisor (which publishes snapshots) and every request worker (which choose).
pub struct FleetView<A> {
    snapshot: ArcSwap<FleetSnapshot<A>>,
    /// Held only for the few comparisons of one choice; never across an await.
    choosing: Mutex<ChoiceState>,
}

impl<A> Default for FleetView<A> {
    fn default() -> Self {
        Self {
            snapshot: ArcSwap::from_pointee(FleetSnapshot::default()),
            choosing: Mutex::default(),
        }
    }
}

impl<A> FleetView<A> {
    pub fn snapshot(&self) -> Arc<FleetSnapshot<A>> {
        self.snapshot.load_full()
    }

    /// Replaces the membership (the supervisor only).
    pub fn publish(&self, snapshot: FleetSnapshot<A>) {
        self.snapshot.store(Arc::new(snapshot));
    }
}

impl<A: Clone> FleetView<A> {
    /// Chooses the credential for the next upstream call.
    pub fn choose(&self, req: &ChoiceRequest<'_>, now: i64) -> Result<Choice<A>, CredentialError> {
        let settings = req.settings;
        let snapshot = self.snapshot.load();
        let mut state = self.choosing.lock().unwrap_or_else(PoisonError::into_inner);
        let ChoiceState { rotation, affinity } = &mut *state;
        let per_rotation = settings.calls_per_rotation;
        if !settings.session_affinity {
            if !affinity.is_empty() {
                affinity.clear();
            }
            return choice::rotate(snapshot.slots(), rotation, req, now, per_rotation);
        }
        let ttl = i64::try_from(settings.session_affinity_ttl).unwrap_or(i64::MAX);
        if let Some(key) = req.session.filter(SessionKey::follows_binding) {
            if let Some(bound) = affinity.lookup(key.id(), now, ttl) {
                let choice = snapshot
                    .get(&bound)
                    .and_then(|slot| choice::bound(slot, req, now));
                if let Some(choice) = choice {
                    return Ok(choice);
                }
                log::debug!("credential {bound} cannot serve its conversation now; rebinding");
            }
        }
        let choice = choice::rotate(snapshot.slots(), rotation, req, now, per_rotation)?;
        if let Some(key) = req.session {
            let name = choice.name().clone();
            let cap = settings.session_affinity_max_sessions;
            affinity.bind(key.id(), name, now, ttl, cap);
        }
        Ok(choice)
    }
}
