//! What a request worker holds of one credential: its lease (token, project, the handle of its actor
//! and its live tally) and the choice that hands one out. `A` is the actor's handle
//! (`Addr<CredentialActor>` in the gateway); the fleet only carries it, so it never names an actor.

use std::sync::Arc;

use super::live_credential::LiveCredential;
use crate::credentials::CredentialKind;

/// What a handler needs to call Google with one credential, and to report back.
#[derive(Clone)]
pub struct Lease<A> {
    pub name: Arc<str>,
    /// Which API the call goes to (`upstream::kind`).
    pub kind: CredentialKind,
    /// Access token, or the API key of a key credential.
    pub access_token: Arc<str>,
    pub project: Arc<str>,
    /// Vertex service accounts: the region their calls go to.
    pub location: Option<Arc<str>>,
    /// The credential's actor: failures, refreshes and folds go there.
    pub actor: A,
    /// Where successes are counted without a message (see `live_credential`).
    pub live: Arc<LiveCredential>,
    /// The call may spend the account's credits (`CREDITS_OVERAGE=always`, credits left).
    pub spend_credits: bool,
}

impl<A> Lease<A> {
    /// The credential as the upstream call needs it.
    pub fn upstream(&self) -> crate::upstream::kind::Credential<'_> {
        crate::upstream::kind::Credential {
            kind: self.kind,
            token: &self.access_token,
            project: &self.project,
            location: self.location.as_deref(),
            spend_credits: self.spend_credits,
        }
    }
}

pub enum Choice<A> {
    Ready(Lease<A>),
    /// Usable but its token or project is not ready; ask its actor to make it ready (`EnsureReady`).
    NeedsRefresh {
        name: Arc<str>,
        actor: A,
        live: Arc<LiveCredential>,
    },
}

impl<A> Choice<A> {
    /// The credential chosen, ready or not.
    pub fn name(&self) -> &Arc<str> {
        match self {
            Choice::Ready(lease) => &lease.name,
            Choice::NeedsRefresh { name, .. } => name,
        }
    }
}
