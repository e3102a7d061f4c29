//! Outbound HTTP: the per-worker client (TLS, proxy tunnel), the SSE reader for streamed upstream
//! answers, and the guarded image download used by the OpenAI `image_url` conversion.

pub mod image_fetch;
mod proxy_tunnel;
pub mod public_ip;
pub mod sse;
pub mod transport;
