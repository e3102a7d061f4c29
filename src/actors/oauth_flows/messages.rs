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
    /// The address that started the flow: only it (or the panel) may complete it.
    pub owner: String,
    /// Started from a panel session: never evicted to make room for anonymous starts.
    pub by_panel: bool,
}

/// Register `flow`, started from the address `flow.owner` (rate-limited per address).
#[derive(Message)]
#[rtype(result = "Result<(), StartRefused>")]
pub struct StartFlow {
    pub flow: Flow,
}

/// Why a start was refused; either way, try again after `wait_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StartRefused {
    /// Too many sign-ins were started from the address lately.
    #[error("too many sign-ins started from this address; try again in {wait_secs} s")]
    TooManyStarts { wait_secs: i64 },
    /// The table is full of sign-ins that are not pushed out (the panel's, or ones whose code arrived).
    #[error("too many sign-ins are in progress; try again in {wait_secs} s")]
    Full { wait_secs: i64 },
}

impl StartRefused {
    pub fn wait_secs(&self) -> i64 {
        match self {
            StartRefused::TooManyStarts { wait_secs } | StartRefused::Full { wait_secs } => {
                *wait_secs
            }
        }
    }
}

/// Record the code Google sent back; false when the state is unknown or expired.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct CodeReceived {
    pub state: String,
    pub code: String,
}

/// The flow for `state` (completion always names its flow).
#[derive(Message)]
#[rtype(result = "Option<Flow>")]
pub struct GetFlow {
    pub state: String,
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
