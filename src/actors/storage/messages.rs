//! The messages of the `StorageActor`: each a struct with named fields and a typed result.

use actix::prelude::*;

use crate::credentials::CredentialRecord;
use crate::store::StoreError;

/// Queue `record` for writing: health changes (`urgent`) are written at once, counters coalesced.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SaveCredential {
    pub record: CredentialRecord,
    pub urgent: bool,
}

/// Write `record` now and answer once it is durable (a refreshed token other instances wait for).
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct SaveCredentialNow {
    pub record: CredentialRecord,
}

/// Delete the credential `name`; answers whether it existed.
#[derive(Message)]
#[rtype(result = "Result<bool, StoreError>")]
pub struct DeleteCredential {
    pub name: String,
}

/// Write everything pending now; answers once it is durable.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Flush;

/// Add these usage counters (`credentials::usage_sheet`) to the store's, coalesced with the others
/// pending. Only a shared store keeps them; otherwise the records' own counters are the figures.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AddUsage {
    pub deltas: std::collections::BTreeMap<String, u64>,
}

/// The panel reset the credential `name`'s usage of today: its day counters go.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ResetUsageCounters {
    pub name: String,
}

/// Answers once every write started before it has ended: a write holds the mailbox while it runs
/// (`ctx.wait`), so this is handled only after them. Sent after [`Flush`] at a graceful stop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Settle;
