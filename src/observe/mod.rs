//! Observability: Prometheus metrics, the request id and decision trace of each request, and how failures
//! are named in them. The history of traces is kept by the `request_history` actor.

pub mod metrics;
pub mod middleware;
pub mod outcome;
pub mod trace;
