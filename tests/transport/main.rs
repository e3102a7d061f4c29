//! Outbound transport against local servers: TLS trust, the CONNECT proxy tunnel and the guarded
//! image download.

mod fixtures;
mod image_fetch;
mod proxy;
mod sse_stream;
mod tls;
