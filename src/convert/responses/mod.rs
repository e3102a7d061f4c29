//! OpenAI `/v1/responses`: the request (input items, content, tools, signatures) → Gemini, Gemini's
//! answer → response objects and stream events, the dialects that render them, and compaction.

pub mod body;
pub mod compaction;
pub mod compaction_dialect;
pub mod content;
pub mod dialect;
pub mod header;
pub mod input;
pub mod request;
pub mod response;
pub mod signature;
pub mod tools;
