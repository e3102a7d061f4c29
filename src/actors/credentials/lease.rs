//! What a request worker holds of one credential: its lease (token, project, the actor's address and
//! live tally), the choice that hands one out, and the supervisor's look-up of an actor. These name
//! the actor; its messages (`messages`) do not, so the actor, its messages and its published status
//! import each other in one direction only.

use std::sync::Arc;

use actix::prelude::*;

use super::credential_actor::CredentialActor;
use super::live_credential::LiveCredential;
use crate::credentials::CredentialKind;

/// What a handler needs to call Google with one credential, and to report back.
#[derive(Clone)]
pub struct Lease {
    pub name: Arc<str>,
    /// Which API the call goes to (`upstream::kind`).
    pub kind: CredentialKind,
    /// Access token, or the API key of a key credential.
    pub access_token: Arc<str>,
    pub project: Arc<str>,
    /// Vertex service accounts: the region their calls go to.
    pub location: Option<Arc<str>>,
    pub actor: Addr<CredentialActor>,
    /// Where successes are counted without a message (see `live_credential`).
    pub live: Arc<LiveCredential>,
    /// The call may spend the account's credits (`CREDITS_OVERAGE=always`, credits left).
    pub spend_credits: bool,
}

impl Lease {
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

pub enum Choice {
    Ready(Lease),
    /// Usable but its token or project is not ready; ask the actor with [`EnsureReady`].
    NeedsRefresh {
        name: Arc<str>,
        actor: Addr<CredentialActor>,
        live: Arc<LiveCredential>,
    },
}

/// The actor of the credential `name`.
#[derive(Message)]
#[rtype(result = "Option<Addr<CredentialActor>>")]
pub struct FindCredential {
    pub name: String,
}
