//! The credential fleet: one actor per Google account under a supervisor that chooses who serves.

pub mod affinity;
pub mod cooldown;
pub mod credential_actor;
pub mod kind_auth;
pub mod kind_select;
pub mod merge;
pub mod messages;
pub mod supervisor;
pub mod usage;

pub use credential_actor::{CredentialActor, CredentialEnv};
pub use supervisor::CredentialSupervisor;
