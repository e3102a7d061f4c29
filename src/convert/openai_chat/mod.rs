//! OpenAI `/v1/chat/completions`: the request (messages, content parts, tools, tool turns) → Gemini,
//! Gemini's answer → chat completions whole or streamed, the dialect that renders them, and the
//! detection of Gemini-shaped bodies sent to the chat route.

pub mod body;
pub mod content;
pub mod detect;
pub mod dialect;
pub mod heartbeat;
pub mod message_context;
pub mod messages;
pub mod request;
pub mod response;
pub mod tool_turns;
pub mod tools;
