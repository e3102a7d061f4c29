//! TLS to the shared stores, with rustls (no OpenSSL):
//!
//! - [`postgres_dsn`] reads libpq's TLS options out of a `POSTGRES_DSN` (`sslmode`, `sslrootcert`,
//!   `sslcert`, `sslkey`) and hands the driver a DSN it understands;
//! - [`postgres_connector`] is the `tokio-postgres` connector those options configure, with the
//!   `tls-server-end-point` channel binding of [`end_point`];
//! - [`redis_tls`] turns `REDIS_CA_CERT` / `REDIS_CLIENT_CERT` / `REDIS_CLIENT_KEY` into the redis
//!   crate's certificates for a `rediss://` URI.
//!
//! This file holds what both use: reading PEM files with errors that name the file, and explaining a
//! failed handshake in words an operator can act on ("not signed by a trusted CA", "not valid for
//! host name …") instead of a bare rustls variant.

pub mod end_point;
pub mod postgres_connector;
pub mod postgres_dsn;
pub mod redis_tls;

use std::path::{Path, PathBuf};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, CertificateError, RootCertStore};

/// A TLS setting that cannot be used; messages name the setting and the file, never key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("{setting}: cannot read {path}: {source}")]
    Read {
        setting: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{setting}: {path} holds no PEM certificate")]
    NoCertificate {
        setting: &'static str,
        path: PathBuf,
    },
    #[error("{setting}: {path} holds no PEM private key")]
    NoKey {
        setting: &'static str,
        path: PathBuf,
    },
    #[error("{setting}: {path} is not valid PEM: {message}")]
    BadPem {
        setting: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("{setting}: {path}: {message}")]
    Unusable {
        setting: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("{0}")]
    Settings(String),
}

fn read_file(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsSetupError> {
    std::fs::read(path).map_err(|source| TlsSetupError::Read {
        setting,
        path: path.to_path_buf(),
        source,
    })
}

/// Every certificate of a PEM file; a file without one is an error, not an empty trust store.
pub fn read_certificates(
    setting: &'static str,
    path: &Path,
) -> Result<(Vec<u8>, Vec<CertificateDer<'static>>), TlsSetupError> {
    let pem = read_file(setting, path)?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError::BadPem {
            setting,
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            setting,
            path: path.to_path_buf(),
        });
    }
    Ok((pem, certs))
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) of a PEM file.
pub fn read_private_key(
    setting: &'static str,
    path: &Path,
) -> Result<(Vec<u8>, PrivateKeyDer<'static>), TlsSetupError> {
    let pem = read_file(setting, path)?;
    let key = rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| TlsSetupError::BadPem {
            setting,
            path: path.to_path_buf(),
            message: e.to_string(),
        })?
        .ok_or_else(|| TlsSetupError::NoKey {
            setting,
            path: path.to_path_buf(),
        })?;
    Ok((pem, key))
}

/// The certificates of `path` as the only trust anchors.
pub fn roots_from_file(setting: &'static str, path: &Path) -> Result<RootCertStore, TlsSetupError> {
    let (_, certs) = read_certificates(setting, path)?;
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| TlsSetupError::Unusable {
            setting,
            path: path.to_path_buf(),
            message: format!("not a usable CA certificate: {e}"),
        })?;
    }
    Ok(roots)
}

/// The public CAs browsers trust (webpki-roots), for managed services with public certificates.
pub fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots
}

/// The rustls error inside an error chain (rustls errors travel wrapped in `io::Error`s).
pub fn rustls_error_in<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(found) = inner.downcast_ref::<rustls::Error>() {
                return Some(found);
            }
        }
        current = e.source();
    }
    None
}

/// A failed handshake in words: what was wrong with the server's certificate, and which roots were
/// trusted (`trusted` names them, e.g. "sslrootcert /etc/ssl/db-ca.pem").
pub fn explain_handshake(error: &rustls::Error, trusted: &str) -> String {
    match error {
        rustls::Error::InvalidCertificate(problem) => {
            format!(
                "server certificate rejected: {}",
                certificate_problem(problem, trusted)
            )
        }
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::CertificateRequired
            | AlertDescription::HandshakeFailure
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA),
        ) => format!(
            "the server refused the TLS handshake ({alert:?}): it may require a client certificate \
             it trusts"
        ),
        other => format!("TLS handshake failed: {other}"),
    }
}

fn certificate_problem(problem: &CertificateError, trusted: &str) -> String {
    match problem {
        CertificateError::UnknownIssuer => {
            format!("certificate signed by an unknown authority, not by a CA in {trusted} (UnknownIssuer)")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("certificate name mismatch: {problem}")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("certificate has expired: {problem}")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("certificate is not valid yet: {problem}")
        }
        other => format!("certificate problem: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_errors_name_the_certificate_problem() {
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let text = explain_handshake(&unknown, "sslrootcert /x/ca.pem");
        assert!(text.contains("unknown authority"), "{text}");
        assert!(text.contains("/x/ca.pem"), "{text}");
        let wrapped = std::io::Error::new(std::io::ErrorKind::InvalidData, unknown);
        assert!(matches!(
            rustls_error_in(&wrapped),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        ));
        let alert = rustls::Error::AlertReceived(AlertDescription::CertificateRequired);
        assert!(explain_handshake(&alert, "").contains("client certificate"));
    }

    #[test]
    fn pem_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "no certificate here").unwrap();
        let err = roots_from_file("REDIS_CA_CERT", &path).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        let err = read_private_key("REDIS_CLIENT_KEY", &path).unwrap_err();
        assert!(err.to_string().contains("no PEM private key"), "{err}");
        let missing = roots_from_file("sslrootcert", &dir.path().join("absent.pem")).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
    }
}
