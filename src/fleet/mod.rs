//! The credential fleet as request workers read and tally it without a message: the membership the
//! `CredentialSupervisor` publishes ([`FleetView`]), each credential's status its `CredentialActor`
//! publishes and the successes workers count there ([`LiveCredential`]), the rotation policy that
//! chooses from them (`choice`, with session `affinity` and the kind ranks of `kind_select`), and the
//! live model catalogue built from the same snapshot (`catalogue`).
//!
//! The rule: actors (`actors/`) own lifecycles and durable writes; what the hot path reads or
//! tallies lives here, in named structures the actors publish into. Nothing here sends a message or
//! names an actor: a slot carries its actor's handle as a type parameter `A` (the actor's address in
//! the gateway), and a dormant credential is woken through the [`Wake`] trait, so the rotation policy
//! is tested with plain values (`rotation_tests`).

pub mod affinity;
pub mod catalogue;
pub mod choice;
pub mod error;
pub mod kind_select;
pub mod lease;
pub mod live_credential;
pub mod slot;
pub mod status;
pub mod usage;
pub mod usage_sheet;
pub mod view;

#[cfg(test)]
mod rotation_tests;

pub use error::CredentialError;
pub use lease::{Choice, Lease};
pub use live_credential::{LiveCredential, Wake, Waker};
pub use slot::Slot;
pub use status::CredentialStatus;
pub use view::{FleetSnapshot, FleetView};
