//! The quota of `sk-` keys as request workers meet it: the state they read and tally on their own
//! thread under short locks, never across an await. Actors own lifecycles and durable writes; this
//! hot-path state is published and tallied here, in named structures:
//!
//! - [`debits::Debits`]: admission (rules, windows, concurrency, balance seen) and the commit of a
//!   batch of debits at the store; [`ledger`] holds its counts and the parking of debits.
//! - [`batch`]: a worker's queue and its one batch at the store, owned by the worker's
//!   `QuotaActor` (`actors::quota::worker`), which serialises that worker's debits; key
//!   administration is the `KeyAdminActor` beside it.
//! - [`key_rules`]: the cache of each key's rules; [`costs`] and [`windows`]: what a request costs
//!   and where it counts; [`check_key`], [`view`]: checks and the public view of a key.
//! - [`guard::QuotaGuard`]: the debit a request holds, refunded unless the client got an answer.
//!
//! Ordering: debits are group-committed: those that arrive while a worker's batch is at the store
//! go together in its next one, which the store applies atomically and in order (one script,
//! statement or journal fsync), so several gateway instances sharing a store never overspend a key.

pub mod admission;
pub mod batch;
pub mod check_key;
pub mod costs;
pub mod debits;
pub mod error;
#[cfg(test)]
pub(crate) mod fake_store;
pub mod guard;
pub mod key_rules;
mod ledger;
pub mod view;
pub mod windows;

pub use error::QuotaError;

#[cfg(test)]
mod tests;
