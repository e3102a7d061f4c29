//! Actors own lifecycles and durable writes; handlers talk to them by message. Hot-path state that
//! request workers read and tally on their own thread is published and tallied in named structures
//! outside this folder (`quota/` for keys), never here.

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
