//! The credential actors: one `CredentialActor` per Google account and the `CredentialSupervisor`, the
//! registry that starts them and publishes the fleet's membership. What request workers read and tally
//! without a message (the published fleet, each credential's live status, the rotation policy, the
//! model catalogue) is in `crate::fleet`; the files here beside the actors are private to them.

mod cooldown;
pub mod credential_actor;
mod kind_auth;
mod merge;
pub mod messages;
pub mod supervisor;
mod token_view;

pub use credential_actor::{CredentialActor, CredentialEnv};
pub use supervisor::{CredentialSupervisor, FindCredential};
