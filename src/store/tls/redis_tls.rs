//! Certificates for a `rediss://` store: `REDIS_CA_CERT` (a PEM file of the CAs that sign the
//! server's certificate, replacing the public roots, for providers with a private CA) and
//! `REDIS_CLIENT_CERT` / `REDIS_CLIENT_KEY` (for providers that ask for a client certificate).
//!
//! The files are read and parsed here, so a wrong path or a key that is no key fails at start-up
//! with the setting's name rather than as a handshake error.

use std::path::PathBuf;
use std::time::Duration;

use ::redis::{ClientTlsConfig, TlsCertificates};

use super::{read_certificates, read_private_key, TlsSetupError};

/// The three settings; all `None` means the public roots and no client certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedisTls {
    pub ca_cert: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

impl RedisTls {
    pub fn is_empty(&self) -> bool {
        self.ca_cert.is_none() && self.client_cert.is_none() && self.client_key.is_none()
    }

    /// Which roots are trusted, for error messages.
    pub fn trusted(&self) -> String {
        match &self.ca_cert {
            Some(path) => format!("REDIS_CA_CERT {}", path.display()),
            None => "the system's public CA roots".into(),
        }
    }

    /// The redis crate's certificates for `uri`; a TLS setting with a plain `redis://` URI is refused
    /// (it would be silently ignored otherwise).
    pub fn certificates(&self, tls_uri: bool) -> Result<TlsCertificates, TlsSetupError> {
        if !tls_uri && !self.is_empty() {
            return Err(TlsSetupError::Settings(
                "REDIS_CA_CERT, REDIS_CLIENT_CERT and REDIS_CLIENT_KEY need a rediss:// REDIS_URI"
                    .into(),
            ));
        }
        let root_cert = match &self.ca_cert {
            Some(path) => Some(read_certificates("REDIS_CA_CERT", path)?.0),
            None => None,
        };
        let client_tls = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => Some(ClientTlsConfig {
                client_cert: read_certificates("REDIS_CLIENT_CERT", cert)?.0,
                client_key: read_private_key("REDIS_CLIENT_KEY", key)?.0,
            }),
            (None, None) => None,
            _ => {
                return Err(TlsSetupError::Settings(
                    "REDIS_CLIENT_CERT and REDIS_CLIENT_KEY must be set together".into(),
                ))
            }
        };
        Ok(TlsCertificates {
            client_tls,
            root_cert,
        })
    }
}

/// The reason a first connection failed, in words. The multiplexed connection reports a TLS alert
/// the server sends after the handshake (TLS 1.3 refuses a missing client certificate that way) only
/// as "driver unexpectedly terminated"; a second, plain connection reads the alert itself, so a
/// `rediss://` failure without an explanation is tried once more that way to find one.
pub async fn diagnose(
    client: &::redis::Client,
    error: &::redis::RedisError,
    tls: &RedisTls,
    connect_timeout: Duration,
    response_timeout: Duration,
) -> String {
    let first = explain_redis_error(error, tls);
    let is_tls = matches!(
        client.get_connection_info().addr,
        ::redis::ConnectionAddr::TcpTls { .. }
    );
    if !is_tls || first != error.to_string() {
        return first;
    }
    let client = client.clone();
    let second = tokio::task::spawn_blocking(move || -> ::redis::RedisResult<()> {
        let mut connection = client.get_connection_with_timeout(connect_timeout)?;
        connection.set_read_timeout(Some(response_timeout))?;
        connection.set_write_timeout(Some(response_timeout))?;
        ::redis::cmd("PING").query::<String>(&mut connection)?;
        Ok(())
    })
    .await;
    match second {
        Ok(Err(e)) if explain_redis_error(&e, tls) != e.to_string() => {
            format!("{} ({error})", explain_redis_error(&e, tls))
        }
        _ => first,
    }
}

/// A Redis connection error, with a refused certificate explained. The redis crate keeps the
/// rustls error only as text (its I/O cause is reachable through nothing but the deprecated, non-
/// `'static` `cause`), so the known texts of rustls are recognised here.
pub fn explain_redis_error(error: &::redis::RedisError, tls: &RedisTls) -> String {
    let text = error.to_string();
    let hint = if text.contains("UnknownIssuer") {
        format!(
            "server certificate rejected: certificate signed by an unknown authority, not by a CA \
             in {}",
            tls.trusted()
        )
    } else if text.contains("not valid for name") || text.contains("NotValidForName") {
        "server certificate rejected: certificate name mismatch, it was not issued for the host \
         of REDIS_URI"
            .to_string()
    } else if text.contains("invalid peer certificate") {
        "server certificate rejected".to_string()
    } else if text.contains("CertificateRequired")
        || text.contains("HandshakeFailure")
        || text.contains("UnknownCA")
        || text.contains("BadCertificate")
    {
        "the server refused the TLS handshake: it may require a client certificate it trusts \
         (REDIS_CLIENT_CERT / REDIS_CLIENT_KEY)"
            .to_string()
    } else {
        return text;
    };
    format!("TLS: {hint} ({text})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_before_any_connection() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["cache".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(&ca, cert.pem()).unwrap();
        let with_ca = RedisTls {
            ca_cert: Some(ca.clone()),
            ..RedisTls::default()
        };
        let err = with_ca.certificates(false).err().unwrap();
        assert!(err.to_string().contains("rediss://"), "{err}");
        assert!(with_ca.certificates(true).unwrap().root_cert.is_some());
        let half = RedisTls {
            client_cert: Some(ca.clone()),
            ..RedisTls::default()
        };
        let err = half.certificates(true).err().unwrap();
        assert!(err.to_string().contains("set together"), "{err}");
        let key_path = dir.path().join("key.pem");
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        let client = RedisTls {
            ca_cert: None,
            client_cert: Some(ca),
            client_key: Some(key_path),
        };
        assert!(client.certificates(true).unwrap().client_tls.is_some());
        assert!(RedisTls::default().certificates(false).is_ok());
    }
}
