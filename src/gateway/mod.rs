//! The request path shared by the client APIs.

pub mod calls;
pub mod classify;
pub mod client_stream;
pub mod dispatch;
pub mod quota_gate;
pub mod state;
pub mod upstream_events;

pub use state::{AppState, UpstreamClient};
