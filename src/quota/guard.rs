//! The debit a request holds while it runs.

use super::admission::Debit;
use super::debits::Debits;

/// Holds a debit for the life of a request: refunded when dropped uncommitted (the client got nothing),
/// and the key's in-flight slot released in any case.
pub struct QuotaGuard {
    debits: Debits,
    debit: Option<Debit>,
    committed: bool,
}

impl QuotaGuard {
    pub fn new(debits: Debits, debit: Debit) -> Self {
        Self {
            debits,
            debit: Some(debit),
            committed: false,
        }
    }

    /// The client is getting an answer: the debit stands.
    pub fn commit(&mut self) {
        self.committed = true;
    }
}

impl Drop for QuotaGuard {
    fn drop(&mut self) {
        if let Some(debit) = self.debit.take() {
            if debit.holds_slot {
                self.debits.release(&debit.key);
            }
            if !self.committed {
                crate::observe::trace::note_refund();
                self.debits.refund(debit);
            }
        }
    }
}
