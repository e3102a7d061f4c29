//! gcli2api: OpenAI-compatible and Gemini-native APIs over the Gemini CLI / Code Assist backend.
//!
//! - `config`: layered settings (defaults → TOML → panel-saved → env) and the key table.
//! - `startup`: binds the listener, starts the actors, builds the HTTP server.
//! - `actors`: state owners — credential fleet, storage writer, log broadcaster, quotas.
//! - `routes`: HTTP handlers, one file per URL family.
//! - `gateway`: the request path shared by the client APIs (credential choice, retries, streaming).
//! - `convert`: OpenAI ⇄ Gemini conversion and model-name features.
//! - `streaming`: fake streaming and anti-truncation logic.
//! - `upstream`: calls to Google (Code Assist, OAuth, onboarding) and the outbound transport.
//! - `store`: persistence backends behind one trait.
//! - `auth`: extractors for API callers and panel sessions.
//! - `credential`: the OAuth credential JSON format.
//! - `logging`: the process logger and secret masking.
//! - `error`: the mapping from failures to HTTP responses.
//! - `clock`: adjustable wall clock.

pub mod actors;
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
pub mod store;
pub mod streaming;
pub mod upstream;
