//! gcli2api
//!
//! - `convert`: Gemini ⇄ OpenAI conversion (responses, tool-call ids).
//! - `store`: storage trait and records.
//! - `streaming`: fake streaming and anti-truncation shaping.

pub mod convert;
pub mod store;
pub mod streaming;
