//! Observability: Prometheus metrics, the decision trace of each request and its one-line access log,
//! and how failures are named in them; the audit log of admin actions; the per-day token and key
//! usage counters as the store keeps them (`token_days`, `key_model_days`). The request id middleware
//! is `routes::observing`; the history of traces is kept by the `request_history` actor, and finished
//! traces wait for it in the [`trace_inbox::TraceInbox`] the request workers push to. Nothing here
//! depends on actors or state, so every layer may note into a trace.

pub mod access_line;
pub mod audit_log;
pub mod key_model_days;
pub mod metrics;
pub mod outcome;
pub mod socket_gate;
pub mod token_days;
pub mod trace;
pub mod trace_inbox;
