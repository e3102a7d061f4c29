//! gcli2api: OpenAI-compatible and Gemini-native APIs over the Gemini CLI / Code Assist backend.
//!
//! - `cli`: the command line (`serve`, `migrate`).
//! - `config`: layered settings (defaults → TOML → panel-saved → env) and the table of every key.
//! - `startup`: binds the listener, starts the actors in order, builds the HTTP server.
//! - `actors`: the owners of mutable state — credential fleet, storage writer, quotas, config, panel
//!   sessions, OAuth flows, log broadcaster.
//! - `routes`: HTTP handlers, one file per URL family.
//! - `gateway`: the request path shared by the client APIs (credential choice, retries, relaying streams).
//! - `convert`: OpenAI ⇄ Gemini conversion, model-name features, tool-schema cleaning.
//! - `streaming`: fake streaming and anti-truncation, their logic and their drivers.
//! - `upstream`: calls to Google (Code Assist, OAuth, onboarding), the outbound transport and SSE reader.
//! - `store`: persistence backends behind one trait (files, Redis, PostgreSQL, MongoDB).
//! - `auth`: API callers (password or `sk-` key) and panel sessions (JWT).
//! - `credential`: the OAuth credential JSON format.
//! - `env_credentials`: credentials given in environment variables.
//! - `logging`: the process logger and secret masking.
//! - `error`: the one mapping from failures to HTTP responses.
//! - `clock`: wall clock with an adjustable offset for tests.
//! - `allocator`: settings of the binary's allocator.

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
pub mod config;
pub mod convert;
pub mod credential;
pub mod env_credentials;
pub mod error;
pub mod gateway;
pub mod logging;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod upstream;
