use std::collections::BTreeMap;
use std::sync::Arc;

use actix::prelude::*;
use serde_json::Value;

use super::credential_actor::CredentialActor;
use crate::convert::session_key::SessionKey;
use crate::store::CredentialRecord;
use crate::upstream::classify::Verdict;

/// What a handler needs to call Google with one credential, and to report back.
#[derive(Clone)]
pub struct Lease {
    pub name: Arc<str>,
    pub access_token: Arc<str>,
    pub project: Arc<str>,
    pub actor: Addr<CredentialActor>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CredentialError {
    #[error("no credentials are loaded; add one in the control panel")]
    NoneLoaded,
    #[error("every credential is disabled")]
    AllDisabled,
    #[error("every usable credential is cooling down for {model} (next free in {wait_secs} s)")]
    AllCooling { model: String, wait_secs: i64 },
    #[error("no credential with access to preview model {0}")]
    NoPreviewAccess(String),
    #[error("every credential was tried for this request")]
    Exhausted,
    #[error("credential {0} could not get a token: {1}")]
    NotReady(String, String),
}

/// The supervisor's cached view of one credential, pushed by its actor whenever it changes, so choosing a
/// credential never waits on the credential actors.
#[derive(Debug, Clone, Default)]
pub struct CredentialStatus {
    pub enabled: bool,
    pub access_token: Option<Arc<str>>,
    /// Unix seconds after which the token must not be used.
    pub token_valid_until: i64,
    pub project: Option<Arc<str>>,
    pub cooldowns: BTreeMap<String, i64>,
    pub preview: bool,
    /// A permanent problem (no refresh token, unparseable file) keeps it out of rotation.
    pub broken: bool,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct StatusChanged {
    pub name: Arc<str>,
    pub status: CredentialStatus,
}

/// Choose the credential for the next upstream call.
#[derive(Message)]
#[rtype(result = "Result<Choice, CredentialError>")]
pub struct AcquireCredential {
    pub base_model: String,
    /// Credentials already tried by this request.
    pub exclude: Vec<Arc<str>>,
    /// The conversation the request belongs to (session affinity), if known.
    pub session: Option<SessionKey>,
}

pub enum Choice {
    Ready(Lease),
    /// Usable but its token or project is not ready; ask the actor with [`EnsureReady`].
    NeedsRefresh(Arc<str>, Addr<CredentialActor>),
}

/// Single-flight: refresh the token / discover the project if needed, then answer the lease fields.
#[derive(Message)]
#[rtype(result = "Result<(Arc<str>, Arc<str>), CredentialError>")]
pub struct EnsureReady;

#[derive(Debug, Clone)]
pub enum Outcome {
    Success,
    /// Google answered with an error status, read by the one classifier.
    Failure {
        status: u16,
        verdict: Verdict,
    },
    /// Network error or timeout: no statement about the account.
    Transport(String),
}

/// Report after each upstream call. Answers until when (unix seconds) the credential now rests for the
/// model, if it does; successes are sent without waiting for the answer.
#[derive(Message)]
#[rtype(result = "Option<i64>")]
pub struct ReportOutcome {
    pub base_model: String,
    pub outcome: Outcome,
}

#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct AddCredential(pub CredentialRecord);

#[derive(Message)]
#[rtype(result = "bool")]
pub struct RemoveCredential(pub String);

/// Snapshot of every credential record (for the panel).
#[derive(Message)]
#[rtype(result = "Vec<CredentialRecord>")]
pub struct ListCredentials;

#[derive(Message)]
#[rtype(result = "Option<Addr<CredentialActor>>")]
pub struct FindCredential(pub String);

#[derive(Message)]
#[rtype(result = "usize")]
pub struct CountCredentials;

#[derive(Message)]
#[rtype(result = "CredentialRecord")]
pub struct GetRecord;

#[derive(Message)]
#[rtype(result = "()")]
pub struct SetEnabled {
    pub enabled: bool,
    pub reason: Option<String>,
}

/// Ends every rest of the credential (the panel's "clear cooldown").
#[derive(Message)]
#[rtype(result = "()")]
pub struct ClearCooldown;

#[derive(Message)]
#[rtype(result = "Result<String, String>")]
pub struct FetchEmail;

#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateLimits {
    pub total: Option<u64>,
    pub pro: Option<u64>,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct ResetUsage;

/// Replace the credential JSON (re-upload of the same name) keeping the state.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReplaceCredential(pub serde_json::Map<String, Value>);

/// State written by another gateway instance sharing the store.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ExternalUpdate(pub CredentialRecord);

#[derive(Message)]
#[rtype(result = "()")]
pub struct StopCredential;
