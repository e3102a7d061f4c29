//! Everything that talks to Google, and the outbound HTTP transport it runs on.

pub mod classify;
pub mod code_assist;
pub mod error;
pub mod gemini_api;
pub mod google_error;
pub mod image_fetch;
pub mod kind;
pub mod model_alias;
pub mod model_list;
pub mod oauth;
pub mod onboarding;
pub mod path_segment;
mod proxy_tunnel;
pub mod public_ip;
pub mod quota;
pub mod sse;
pub mod transport;
pub mod transport_error;
pub mod vertex;
pub mod vertex_token;

pub use error::UpstreamError;
