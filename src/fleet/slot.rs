//! One credential as the fleet publishes it: its name, the handle of its actor (for failures, refreshes
//! and folds) and what the actor publishes for the hot path. `A` is that handle — the actor's address
//! in the gateway, anything cloneable in a test — so choosing a credential needs no actor at all.

use std::sync::Arc;

use super::live_credential::LiveCredential;

#[derive(Clone)]
pub struct Slot<A> {
    pub name: Arc<str>,
    actor: A,
    pub live: Arc<LiveCredential>,
}

impl<A> Slot<A> {
    pub fn new(name: Arc<str>, actor: A, live: Arc<LiveCredential>) -> Self {
        Self { name, actor, live }
    }

    /// The credential's actor, started first if it is dormant: whoever asks for the handle is about to
    /// send it something.
    pub fn actor(&self) -> &A {
        self.live.wake(&self.name);
        &self.actor
    }

    /// The handle without waking the credential (the supervisor, which knows it is dormant).
    pub fn mailbox(&self) -> &A {
        &self.actor
    }
}
