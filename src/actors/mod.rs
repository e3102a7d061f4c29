//! Actors own lifecycles and durable writes; handlers talk to them by message. Hot-path state is
//! published and tallied in named structures outside this module (`crate::fleet` for credentials,
//! `crate::quota` for `sk-` keys, `observe::trace_inbox`), never reached through an actor's folder: from
//! outside, only an actor, its messages and its constructor or settings types are named here
//! (`tests/layering.rs` checks it).

pub mod config_actor;
pub mod credentials;
pub mod log_broadcaster;
pub mod oauth_flows;
pub mod quota;
pub mod request_history;
pub mod response_store;
pub mod scout;
pub mod sessions;
pub mod storage;
