//! gcli2api: OpenAI-compatible, Anthropic-compatible and Gemini-native APIs over the Gemini CLI / Code
//! Assist backend.
//! `docs/architecture.md` draws the request path, the actors and who writes what to the store.
//!
//! - `cli`: the command line (`serve`, `migrate`; clap).
//! - `config`: layered settings (defaults → TOML → panel-saved → env) and the table of every key.
//! - `startup`: binds the listener, starts the actors in order, builds the HTTP server.
//! - `state`: `AppState` (actor addresses, settings, store) and the per-worker `UpstreamClient`.
//! - `actors`: the owners of lifecycles and durable writes — credential actors and their supervisor,
//!   storage writer, key administration and each request worker's debit queue (`QuotaActor`), config,
//!   panel sessions, OAuth flows, log broadcaster, request history. Each has its messages beside it,
//!   and nothing else shared.
//! - `fleet`: the credential fleet as request workers read and tally it without a message — the
//!   published membership and statuses (`FleetView`, `LiveCredential`), the rotation policy, session
//!   affinity and the live model catalogue.
//! - `quota`: the hot-path state of `sk-` keys that request workers read and tally under a short
//!   lock (rules cache, in-flight counts, parking of debits, costs, windows), and the guard that
//!   refunds a debit.
//! - `routes`: HTTP handlers, one file per URL family. Model routes extract, authenticate, convert with
//!   their dialect, and make one `gateway::serve` call.
//! - `enrolment`: how credentials join the rotation — a completed Google sign-in, environment
//!   variables — as services the routes and start-up call.
//! - `gateway`: the one request path of a model call: quota guard, credential choice and retries, the
//!   stream modes (relay, fake streaming, anti-truncation) and their drivers.
//! - `convert`: pure shaping — OpenAI and Anthropic ⇄ Gemini conversion, model-name features,
//!   tool-schema cleaning, the client dialects (`Dialect`: how an API renders answers, streams and
//!   errors), fake-stream chunks and the anti-truncation text rules.
//! - `upstream`: calls to Google (Code Assist, OAuth, onboarding), the outbound transport and SSE reader,
//!   and the one classifier of Google's error answers.
//! - `store`: persistence backends behind one trait (files, Redis, PostgreSQL, MongoDB); its module
//!   doc lists the one writer of each kind of record.
//! - `auth`: API callers (password or `sk-` key) and panel sessions (JWT).
//! - `credentials`: what a credential is — its kinds (one module per kind behind one trait: URL and
//!   envelope, auth, token, models), the stored record, the OAuth JSON format, and credentials given
//!   in environment variables.
//! - `logging`: the process logger and secret masking.
//! - `observe`: Prometheus metrics, the decision trace of each request and the inbox the finished
//!   traces wait in for the request history.
//! - `json_size`: how many bytes a value takes as JSON, the measure of the in-memory histories' caps.
//! - `key_id`: how an `sk-` key is named once handed out: its SHA-256 (what the store keeps), its id
//!   (`k-` and 16 hex digits of the hash) and its display prefix.
//! - `error`: the one error table (`ErrorKind` → status, OpenAI / Google / Anthropic shapes) and its
//!   renderer per `ErrorStyle`, for HTTP bodies and in-stream errors alike.
//! - `shutdown`: the graceful stop (readiness off, listener closed after a delay, streams ended with an
//!   error event at the timeout) and the detached tasks it drains.
//! - `clock`: wall clock with an adjustable offset for tests.
//! - `compaction_seal`: the AES-256-GCM key (kept in the store) sealing remote-compaction summaries.
//! - `allocator`: settings of the binary's allocator.
//! - `private_files`: owner-only modes for every directory and file the gateway writes.
//!
//! Modules depend on each other in one direction (`tests/layering.rs` fails on a circle between any
//! two files, and on a dependency pointing up its `LAYERS`):
//! routes → enrolment → gateway → auth → state → actors, quota → fleet → store / upstream → credentials
//! → convert → error.

// A panic inside an actor silently kills it: none outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::indexing_slicing
    )
)]

pub mod actors;
pub mod allocator;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod compaction_seal;
pub mod config;
pub mod convert;
pub mod credentials;
pub mod enrolment;
pub mod error;
pub mod fleet;
pub mod gateway;
pub mod json_size;
pub mod key_id;
pub mod logging;
pub mod observe;
pub mod private_files;
pub mod quota;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod store;
pub mod upstream;
