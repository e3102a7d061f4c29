//! Why the outbound transport could not be built. Its own file so the proxy tunnel, which the
//! transport uses, can name it without importing the transport back.

/// Messages never contain proxy credentials.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("unsupported proxy: {0}")]
    UnsupportedProxy(String),
    #[error("invalid proxy URL: {0}")]
    InvalidProxy(String),
    #[error("invalid CA bundle: {0}")]
    InvalidCa(String),
    #[error("cannot read CA file {path}: {source}")]
    CaFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS setup failed: {0}")]
    Tls(String),
}
