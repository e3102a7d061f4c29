//! The credential fleet: one actor per Google account under a supervisor that chooses who serves.

pub mod affinity;
pub mod choice;
pub mod cooldown;
pub mod credential_actor;
pub mod fleet_view;
pub mod live_credential;
pub mod merge;
pub mod messages;
pub mod supervisor;
pub mod usage;

pub use credential_actor::{CredentialActor, CredentialEnv};
pub use fleet_view::FleetView;
pub use supervisor::CredentialSupervisor;
