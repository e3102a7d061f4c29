//! The messages of the credential supervisor and the credential actors: each a struct with named
//! fields and a typed result.

use std::sync::Arc;

use actix::prelude::*;
use serde_json::Value;

use crate::credentials::{CredentialKind, CredentialRecord};
use crate::fleet::CredentialError;
use crate::upstream::classify::Verdict;

/// Start the actor of a dormant credential (see `supervisor/dormant.rs`); sent by its first user
/// through the credential's `fleet::Waker`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WakeCredential {
    pub name: Arc<str>,
}

/// Single-flight: refresh the token / discover the project if needed, then answer the lease fields.
#[derive(Message)]
#[rtype(result = "Result<ReadyToken, CredentialError>")]
pub struct EnsureReady;

/// What a call with a credential needs: a fresh access token and the project to bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyToken {
    pub kind: CredentialKind,
    pub access_token: Arc<str>,
    pub project: Arc<str>,
    pub location: Option<Arc<str>>,
}

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

/// Report after a failed upstream call, or a success that ends a rest. Answers until when (unix seconds)
/// the credential now rests for the model, if it does; successes are sent without waiting for the
/// answer. Other successes are tallied in the credential's `LiveCredential` and folded by
/// [`FoldSuccesses`].
#[derive(Message)]
#[rtype(result = "Option<i64>")]
pub struct ReportOutcome {
    pub base_model: String,
    pub outcome: Outcome,
}

/// Fold the successes tallied since the last fold into the usage counters, a moment from now (sent by
/// the first success after a fold, so a busy credential gets about one per `FOLD_DELAY` of
/// `credential_actor`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct FoldSuccesses;

/// Add a credential, or replace the JSON of the one with that name (keeping its state).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AddCredential {
    pub record: CredentialRecord,
}

/// Stop and delete the credential `name`; answers whether it existed.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct RemoveCredential {
    pub name: String,
}

/// Snapshot of every credential record (for the panel).
#[derive(Message)]
#[rtype(result = "Vec<CredentialRecord>")]
pub struct ListCredentials;

/// How many credentials the fleet holds.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct CountCredentials;

/// The credential's whole record (JSON and state) as its actor holds it now.
#[derive(Message)]
#[rtype(result = "CredentialRecord")]
pub struct GetRecord;

/// Enable or disable the credential by hand (`reason` is shown in the panel).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetEnabled {
    pub enabled: bool,
    pub reason: Option<String>,
}

/// Ends the credential's rests (the panel's "clear cooldown"): every model's, or only `model`'s.
#[derive(Message, Default)]
#[rtype(result = "()")]
pub struct ClearCooldown {
    pub model: Option<String>,
}

/// A quota snapshot fetched at `fetched_at_ms` shows quota again for these models: their daily-quota
/// rests end now, through one half-open call (`cooldown::heal`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct QuotaRestored {
    pub models: Vec<String>,
    pub fetched_at_ms: i64,
}

/// Ask Google for the account's email address (and remember it).
#[derive(Message)]
#[rtype(result = "Result<String, FetchEmailError>")]
pub struct FetchEmail;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchEmailError {
    #[error("credential has no access token yet")]
    NoToken,
    #[error("{0}")]
    Google(String),
}

/// Set the credential's daily call limits (total and Pro models); `None` removes a limit.
#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateLimits {
    pub total: Option<u64>,
    pub pro: Option<u64>,
}

/// Zero the credential's usage counters.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ResetUsage;

/// Replace the credential JSON (re-upload of the same name) keeping the state.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReplaceCredential {
    pub credential: serde_json::Map<String, Value>,
}

/// State written by another gateway instance sharing the store.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ExternalUpdate {
    pub record: CredentialRecord,
}

/// Stop the credential's actor (it was removed); waiters get an error.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopCredential;

/// Which credentials the panel's list shows, decided on the supervisor's cached statuses (so a page
/// of a large fleet asks only its own credentials' actors for their records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageFilter {
    pub status: StatusFilter,
    pub error_code: ErrorCodeFilter,
    pub cooldown: CooldownFilter,
    pub kind: KindFilter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KindFilter {
    #[default]
    All,
    Kind(CredentialKind),
    /// A name that is no credential kind: matches nothing.
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    All,
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorCodeFilter {
    #[default]
    All,
    /// No error remembered.
    None,
    /// Some remembered error has this status.
    Code(u16),
    /// A code that is no HTTP status: matches nothing (as before paging moved here).
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CooldownFilter {
    #[default]
    All,
    InCooldown,
    NoCooldown,
}

/// Counts over the whole fleet, unfiltered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FleetStats {
    pub total: usize,
    pub disabled: usize,
    /// Resting for some model, enabled or not.
    pub cooling: usize,
    /// Enabled and resting for no model.
    pub usable: usize,
    /// How many credentials of each kind, in `CredentialKind::ALL` order.
    pub kinds: [usize; CredentialKind::ALL.len()],
}

/// One page of the filtered fleet, in rotation order, with the fleet's counts.
#[derive(Message)]
#[rtype(result = "CredentialPage")]
pub struct ListCredentialPage {
    pub filter: PageFilter,
    pub offset: usize,
    pub limit: usize,
}

#[derive(Debug, Clone, Default)]
pub struct CredentialPage {
    /// How many credentials match the filter.
    pub matching: usize,
    pub stats: FleetStats,
    /// The page's records, as their actors hold them now.
    pub records: Vec<CredentialRecord>,
}

/// The fleet's counts from the cached statuses (readiness, metrics): no credential actor is asked.
#[derive(Message)]
#[rtype(result = "FleetStats")]
pub struct CountFleet;
