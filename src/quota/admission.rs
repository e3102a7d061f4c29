//! What a debit is on its way from admission to the store's verdict: the caller's side
//! ([`Admitted`], [`Debit`]) and the side that waits in a worker's queue ([`QueuedDebit`]).

use std::sync::Arc;

use actix::MessageResponse;
use tokio::sync::oneshot;

use super::error::QuotaError;
use crate::store::{DebitRequest, WindowCharge};

/// The window charges of one admitted request, taken back if its debit fails or is refunded, and
/// where its tokens are added after the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargedWindows {
    pub key: String,
    pub cost: u64,
    pub charges: Vec<WindowCharge>,
}

/// A debit that passed the key's rules and is on its way to the store.
#[derive(Debug)]
pub struct Admitted {
    /// The balance this instance last saw for the key covers this request and every other one of
    /// the key in flight here, so Google may be called while the debit is at the store (the client
    /// is still answered only once it is durable). Otherwise the debit is awaited first, so a key
    /// near its end never spends a Google call it cannot pay for.
    pub overlap: bool,
    /// The store's verdict.
    pub durable: oneshot::Receiver<Result<Debit, QuotaError>>,
}

/// A successful debit; refunded unless committed, and its concurrency slot released, when dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Debit {
    pub key: String,
    pub model: String,
    pub cost: u64,
    pub remaining: u64,
    /// It took one of its key's concurrency slots, to be released when the request ends.
    pub holds_slot: bool,
    /// Its key has limits per time window that count it.
    pub windows: Option<Arc<ChargedWindows>>,
}

/// The cost a request to a model would have now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, MessageResponse)]
pub struct ModelCost {
    pub cost: u64,
    /// No cost is configured for the model: the default applies.
    pub is_default: bool,
}

/// A debit admitted and waiting for a batch: in its worker's queue, or parked in the ledger.
#[derive(Debug)]
pub struct QueuedDebit {
    pub(super) request: DebitRequest,
    /// The key has a concurrency limit and this debit took one of its slots.
    pub(super) holds_slot: bool,
    /// Google is called before this debit is durable (see [`Admitted::overlap`]).
    pub(super) overlap: bool,
    /// Its window charges, taken back if the debit is refused.
    pub(super) windows: Option<Arc<ChargedWindows>>,
    pub(super) reply: oneshot::Sender<Result<Debit, QuotaError>>,
}
