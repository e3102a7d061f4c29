//! Observability: Prometheus metrics, the decision trace of each request and its one-line access log,
//! and how failures are named in them. The request id middleware is `routes::observing`; the history of traces is kept by the
//! `request_history` actor. Nothing here depends on actors or state, so every layer may note into a trace.

pub mod access_line;
pub mod metrics;
pub mod outcome;
pub mod socket_gate;
pub mod trace;
