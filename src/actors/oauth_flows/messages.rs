//! The messages of `OAuthFlows` and the flow they carry: each message a struct with named fields and a
//! typed result.

use actix::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub enum FlowStatus {
    Pending,
    CodeReceived,
    Completed,
}

/// One pending Google sign-in.
#[derive(Debug, Clone)]
pub struct Flow {
    pub state: String,
    pub verifier: String,
    pub redirect_uri: String,
    pub project_id: Option<String>,
    pub get_all_projects: bool,
    pub created_at: i64,
    pub code: Option<String>,
    pub status: FlowStatus,
}

/// Register `flow`, started from the address `client` (rate-limited per address).
#[derive(Message)]
#[rtype(result = "Result<(), TooManyStarts>")]
pub struct StartFlow {
    pub flow: Flow,
    pub client: String,
}

/// Too many sign-ins were started from the address: try again after `wait_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many sign-ins started from this address; try again in {wait_secs} s")]
pub struct TooManyStarts {
    pub wait_secs: i64,
}

/// Record the code Google sent back; false when the state is unknown or expired.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct CodeReceived {
    pub state: String,
    pub code: String,
}

/// The flow for `state`, or the newest one when `state` is `None`.
#[derive(Message)]
#[rtype(result = "Option<Flow>")]
pub struct GetFlow {
    pub state: Option<String>,
}

/// Take the code of the flow `state` for completion (so it is exchanged once).
#[derive(Message)]
#[rtype(result = "Option<Flow>")]
pub struct ClaimCode {
    pub state: String,
}

/// The flow `state` saved its credential.
#[derive(Message)]
#[rtype(result = "()")]
pub struct FlowDone {
    pub state: String,
}

/// Completing a claimed code failed (Google refused it, no project was found): the flow waits for a
/// new code again, so the same consent link can be retried and status pollers don't see `completed`
/// for a sign-in that saved nothing.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseCode {
    pub state: String,
}
