//! The credential scout's messages.

use std::sync::Arc;

use actix::prelude::*;

use crate::store::{CredentialInsight, CreditBalance};

/// Fetch now, whatever a peer fetched recently: the quota and credits of Code Assist credentials, the
/// model lists of the others. `names: None` means every credential. Answers each credential's insight
/// once its fetch ended (the previous one where the fetch failed; `None` when there is none).
#[derive(Message)]
#[rtype(result = "Vec<Refreshed>")]
pub struct Refresh {
    pub names: Option<Vec<String>>,
}

/// One credential's insight after a [`Refresh`].
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub name: Arc<str>,
    pub insight: Option<Arc<CredentialInsight>>,
}

/// Google refused a call of this credential with 429: its quota is worth a look (at most one fetch
/// per credential per [`super::HINT_GAP_MS`]).
#[derive(Message)]
#[rtype(result = "()")]
pub struct QuotaHint {
    pub name: Arc<str>,
}

/// An answer carried the credential's remaining credits (`remainingCredits`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CreditsSeen {
    pub name: Arc<str>,
    pub credits: Vec<CreditBalance>,
}
