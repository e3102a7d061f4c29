//! The credential fleet: one actor per Google account, a supervisor that publishes the fleet, and the
//! choice request workers make from what they publish (`fleet_view`, `choice`, `live_credential`).

pub mod affinity;
pub mod catalogue;
pub mod choice;
pub mod cooldown;
pub mod credential_actor;
pub mod fleet_view;
pub mod kind_auth;
pub mod kind_select;
pub mod lease;
pub mod live_credential;
pub mod merge;
pub mod messages;
pub mod status;
pub mod supervisor;
mod token_view;
pub mod usage;
pub mod usage_sheet;

pub use credential_actor::{CredentialActor, CredentialEnv};
pub use fleet_view::FleetView;
pub use supervisor::CredentialSupervisor;
