//! The messages of the `StorageActor`: each a struct with named fields and a typed result.

use actix::prelude::*;

use crate::store::{CredentialRecord, StoreError};

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
