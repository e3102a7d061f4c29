//! What choosing a credential reads of it without asking its actor: the status the actor publishes
//! (see `live_credential`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::credentials::CredentialKind;

/// What choosing a credential needs to know of it, published by its actor whenever it changes (see
/// `live_credential`), so choosing never waits on the credential actors.
#[derive(Debug, Clone, Default)]
pub struct CredentialStatus {
    pub kind: CredentialKind,
    pub location: Option<Arc<str>>,
    pub enabled: bool,
    pub access_token: Option<Arc<str>>,
    /// Unix seconds after which the token must not be used.
    pub token_valid_until: i64,
    pub project: Option<Arc<str>>,
    /// Model → until when the credential rests for it. Rests that ran out but were not yet ended by a
    /// success stay here (with `until` in the past): the next call for the model is a half-open probe.
    pub cooldowns: BTreeMap<String, i64>,
    pub preview: bool,
    /// A permanent problem (no refresh token, unparseable file) keeps it out of rotation.
    pub broken: bool,
    /// Statuses of the remembered upstream errors, for the panel's error filter.
    pub error_codes: Box<[u16]>,
    /// Models with a rest or a 429 streak that the next success must end, so a success with one of
    /// them is reported to the actor at once instead of tallied.
    pub rests: BTreeSet<String>,
}
