//! Actors own the gateway's mutable state; handlers talk to them by message.

pub mod audit_log;
pub mod config_actor;
pub mod credentials;
pub mod json_size;
pub mod log_broadcaster;
pub mod oauth_flows;
pub mod quota;
pub mod request_history;
pub mod response_store;
pub mod scout;
pub mod sessions;
pub mod storage;
