//! Reading the credential fleet for the panel's routes: every record, or the actor of one credential.
//! Shared by the credential, usage and environment routes.

use actix::Addr;

use crate::actors::credentials::messages::ListCredentials;
use crate::actors::credentials::{CredentialActor, FindCredential};
use crate::credentials::CredentialRecord;
use crate::error::ApiError;
use crate::state::AppState;

/// Every credential record, as the supervisor holds them.
pub async fn all_records(state: &AppState) -> Result<Vec<CredentialRecord>, ApiError> {
    state
        .supervisor
        .send(ListCredentials)
        .await
        .map_err(ApiError::mailbox("the credential registry"))
}

/// The actor of the credential `name`; 404 when there is none.
pub async fn find(state: &AppState, name: &str) -> Result<Addr<CredentialActor>, ApiError> {
    state
        .supervisor
        .send(FindCredential {
            name: name.to_string(),
        })
        .await
        .map_err(ApiError::mailbox("the credential registry"))?
        .ok_or_else(|| ApiError::not_found(format!("no credential named {name:?}")))
}
