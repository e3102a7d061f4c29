//! The outbound `awc::Client`: rustls with the webpki roots (plus an optional operator CA bundle),
//! pooled keep-alive connections, and an optional HTTP `CONNECT` proxy.
//!
//! awc types are `!Send`, so each actix worker calls [`build_client`] once in its `HttpServer::new`
//! factory and keeps the result; building is cheap (no I/O, no global state).
//!
//! # Timeouts
//!
//! - `connect_timeout` bounds DNS + TCP connect (+ the proxy `CONNECT` exchange), and separately
//!   the TLS handshake.
//! - `request_timeout` is the client-wide default of awc's request timeout, which runs from sending
//!   until the response head arrives. awc does not apply it to the body unless asked: non-streaming
//!   callers read the body with `response.timeout(remaining)` (or wrap the whole call in
//!   `tokio::time::timeout`).
//! - Streaming callers override the head wait per request with `client.post(url).timeout(d)` and
//!   enforce their own idle timeout between chunks; the client never cuts a long stream short.

use std::{path::Path, sync::Arc, time::Duration};

use rustls::{pki_types::CertificateDer, ClientConfig, RootCertStore};

use super::proxy_tunnel::{ProxySettings, ProxyTunnel};
pub use super::transport_error::TransportError;

/// Connections idle longer than this are closed instead of reused; short enough that the far end
/// (Google front ends, corporate proxies) has not silently dropped them yet.
const POOL_KEEP_ALIVE: Duration = Duration::from_secs(30);
/// Bounds how long a single pooled connection lives so DNS changes are picked up eventually.
const POOL_LIFETIME: Duration = Duration::from_secs(300);
/// Per worker and scheme. Streams may stay open for minutes, so awc's default of 100 would make
/// the 101st concurrent stream of a worker wait for a free slot.
const POOL_LIMIT: usize = 1024;

#[derive(Debug, Clone)]
pub struct TransportConfig {
    pub connect_timeout: Duration,
    /// Whole non-streaming call; see the module docs for how it is applied.
    pub request_timeout: Duration,
    /// `http://[user:pass@]host:port`
    pub proxy: Option<String>,
    /// PEM bundle trusted in addition to the webpki roots.
    pub extra_ca_pem: Option<Vec<u8>>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(900),
            proxy: None,
            extra_ca_pem: None,
        }
    }
}

/// Builds one client; call once per worker. The client never follows redirects by itself.
pub fn build_client(cfg: &TransportConfig) -> Result<awc::Client, TransportError> {
    let tls = Arc::new(tls_config(cfg.extra_ca_pem.as_deref())?);
    let proxy = cfg.proxy.as_deref().map(ProxySettings::parse).transpose()?;

    // awc follows redirects by default, re-using a pinned address for the new host and skipping
    // any checks the caller makes per hop; upstream APIs do not redirect, so a redirect is surfaced.
    let builder = awc::Client::builder()
        .timeout(cfg.request_timeout)
        .disable_redirects();
    let client = match proxy {
        None => builder
            .connector(
                awc::Connector::new()
                    .rustls_0_23(tls)
                    .timeout(cfg.connect_timeout)
                    .handshake_timeout(cfg.connect_timeout)
                    .conn_keep_alive(POOL_KEEP_ALIVE)
                    .conn_lifetime(POOL_LIFETIME)
                    .limit(POOL_LIMIT),
            )
            .finish(),
        Some(settings) => builder
            .connector(
                awc::Connector::new()
                    .connector(ProxyTunnel::new(settings))
                    .rustls_0_23(tls)
                    .timeout(cfg.connect_timeout)
                    .handshake_timeout(cfg.connect_timeout)
                    .conn_keep_alive(POOL_KEEP_ALIVE)
                    .conn_lifetime(POOL_LIFETIME)
                    .limit(POOL_LIMIT),
            )
            .finish(),
    };
    Ok(client)
}

/// Reads a PEM bundle and checks that it holds at least one certificate, so a wrong path or file
/// fails at start-up rather than as TLS errors later.
pub fn load_ca_file(path: &Path) -> Result<Vec<u8>, TransportError> {
    let pem = std::fs::read(path).map_err(|source| TransportError::CaFile {
        path: path.display().to_string(),
        source,
    })?;
    parse_pem_certs(&pem)?;
    Ok(pem)
}

fn tls_config(extra_ca_pem: Option<&[u8]>) -> Result<ClientConfig, TransportError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        for cert in parse_pem_certs(pem)? {
            roots
                .add(cert)
                .map_err(|e| TransportError::InvalidCa(e.to_string()))?;
        }
    }

    // The provider is passed explicitly so no process-wide default has to be installed first.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn parse_pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs = rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TransportError::InvalidCa(e.to_string()))?;
    if certs.is_empty() {
        return Err(TransportError::InvalidCa(
            "no PEM certificate found".to_owned(),
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_pem_without_certificates() {
        let err = parse_pem_certs(b"not a certificate").unwrap_err();
        assert!(matches!(err, TransportError::InvalidCa(_)), "{err}");
    }

    #[test]
    fn load_ca_file_reports_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_ca_file(&dir.path().join("absent.pem")).unwrap_err();
        assert!(matches!(err, TransportError::CaFile { .. }), "{err}");
    }

    #[test]
    fn socks_proxy_is_refused_with_clear_message() {
        let cfg = TransportConfig {
            proxy: Some("socks5://127.0.0.1:1080".to_owned()),
            ..TransportConfig::default()
        };
        let err = build_client(&cfg).err().unwrap();
        assert!(matches!(err, TransportError::UnsupportedProxy(_)));
        assert!(err.to_string().contains("socks5"), "{err}");
    }
}
