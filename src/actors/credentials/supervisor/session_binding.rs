//! Session affinity in the supervisor: a request of a known conversation goes to the credential its
//! session is bound to while that one is usable for the request (enabled, not broken, not cooling for
//! the model, not already tried by this request); otherwise rotation chooses and the session is bound
//! to the new choice. Bound requests do not move the rotation cursor: `CALLS_PER_ROTATION` counts the
//! requests rotation places (new conversations and requests without a session).
//!
//! Bindings are per instance, even with a shared store: the binding is read on every request, and a
//! store round trip (or a sync that lags by its interval) on the hot path would cost more than a
//! missed cache hit. A conversation that moves to another instance simply binds there on its next
//! turn; deployments that want one credential per conversation across instances route by the
//! session (e.g. a load balancer hashing the `x-session-id` header).

use std::sync::Arc;

use actix::prelude::*;

use super::CredentialSupervisor;
use crate::actors::credentials::kind_select;
use crate::actors::credentials::messages::{AcquireCredential, Choice, CredentialError, Lease};
use crate::convert::session_key::SessionKey;

impl Handler<AcquireCredential> for CredentialSupervisor {
    type Result = Result<Choice, CredentialError>;

    fn handle(&mut self, msg: AcquireCredential, _: &mut Self::Context) -> Self::Result {
        let settings = self.settings.current();
        if !settings.session_affinity {
            if !self.affinity.is_empty() {
                self.affinity.clear();
            }
            return self.rotate(&msg);
        }
        let ttl = i64::try_from(settings.session_affinity_ttl).unwrap_or(i64::MAX);
        let now = self.clock.now();
        let session = msg.session;
        if let Some(key) = session.filter(SessionKey::follows_binding) {
            if let Some(bound) = self.affinity.lookup(key.id(), now, ttl) {
                if let Some(choice) = self.bound_choice(&bound, &msg, now) {
                    return Ok(choice);
                }
                log::debug!("credential {bound} cannot serve its conversation now; rebinding");
            }
        }
        let choice = self.rotate(&msg)?;
        if let Some(key) = session {
            let name = match &choice {
                Choice::Ready(lease) => lease.name.clone(),
                Choice::NeedsRefresh { name, .. } => name.clone(),
            };
            let cap = settings.session_affinity_max_sessions;
            self.affinity.bind(key.id(), name, now, ttl, cap);
        }
        Ok(choice)
    }
}

impl CredentialSupervisor {
    /// The bound credential as a choice, if it may serve this request.
    fn bound_choice(&self, name: &Arc<str>, msg: &AcquireCredential, now: i64) -> Option<Choice> {
        let serving = kind_select::Serving::of(&self.settings.current(), &msg.base_model);
        let entry = self.usable(name, msg, now, serving)?;
        let s = &entry.status;
        Some(match (&s.access_token, &s.project) {
            (Some(token), Some(project)) if s.token_valid_until > now => Choice::Ready(Lease {
                name: name.clone(),
                kind: s.kind,
                access_token: token.clone(),
                project: project.clone(),
                location: s.location.clone(),
                actor: entry.addr.clone(),
            }),
            _ => Choice::NeedsRefresh {
                name: name.clone(),
                actor: entry.addr.clone(),
            },
        })
    }
}
