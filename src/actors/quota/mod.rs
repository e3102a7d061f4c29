//! The quota's actors: `KeyAdminActor` on the main arbiter (key records and the cost table's store
//! writes) and one `QuotaActor` per request worker (that worker's debit queue and its batch at the
//! store). The state request workers read and tally without a message is `crate::quota`'s.

mod cost_table;
pub mod key_admin;
pub mod messages;
pub mod worker;

pub use key_admin::KeyAdminActor;
pub use worker::QuotaActor;
