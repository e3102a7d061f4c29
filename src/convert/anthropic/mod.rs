//! Anthropic `/v1/messages`: the request (blocks, context notes, effort, tools, signatures, model map
//! and fallbacks) → Gemini, Gemini's answer → Anthropic messages and stream events, and the dialect
//! that renders them.

pub mod blocks;
pub mod body;
pub mod context;
pub mod dialect;
pub mod effort;
pub mod fallback;
pub mod messages;
pub mod model;
pub mod request;
pub mod response;
pub mod signature;
pub mod stop;
pub mod stream;
pub mod tools;
