//! The messages of the `SessionGuard`: each a struct with named fields and a typed result.

use actix::prelude::*;

/// May a login from `address` be tried now?
#[derive(Message)]
#[rtype(result = "Result<(), LoginThrottled>")]
pub struct CheckLogin {
    pub address: String,
}

/// Too many failed logins from the address: try again after `wait_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins; try again in {wait_secs} s")]
pub struct LoginThrottled {
    pub wait_secs: i64,
}

/// A login from `address` failed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LoginFailed {
    pub address: String,
}

/// A login from `address` succeeded: its failures are forgotten.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LoginSucceeded {
    pub address: String,
}

/// The panel token `jti` was ended by logout; remember it until it would have expired (`until`,
/// Unix seconds).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Revoke {
    pub jti: String,
    pub until: i64,
}

/// Whether the panel token `jti` was revoked.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct IsRevoked {
    pub jti: String,
}
