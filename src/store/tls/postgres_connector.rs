//! The `tokio-postgres` TLS connector over tokio-rustls, configured by [`PgTlsOptions`].
//!
//! The driver decides *whether* to use TLS (`sslmode` disable / prefer / require); this connector
//! decides *what is checked*: nothing for `prefer` and `require` (as libpq: encryption without
//! authentication), the chain for `verify-ca`, the chain and the host name for `verify-full`. A
//! refused certificate fails the connection with a message that says what was wrong with it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::Socket;
use tokio_rustls::TlsConnector;

use super::end_point::tls_server_end_point;
use super::postgres_dsn::{PgTlsOptions, RootSource, SslMode};
use super::{
    explain_handshake, read_certificates, read_private_key, roots_from_file, rustls_error_in,
    system_roots, TlsSetupError,
};

/// Cheap to clone: one rustls configuration shared by every pooled connection.
#[derive(Clone)]
pub struct PgTls {
    config: Arc<ClientConfig>,
    /// Which roots are trusted, for error messages ("sslrootcert /etc/ca.pem").
    trusted: Arc<str>,
}

impl PgTls {
    /// Reads the files the options name; a missing or unreadable file fails here, at start-up.
    pub fn new(options: &PgTlsOptions) -> Result<Self, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (roots, trusted) = match &options.roots {
            RootSource::System => (system_roots(), "the system's public CA roots".to_string()),
            RootSource::File(path) => (
                roots_from_file("sslrootcert", path)?,
                format!("sslrootcert {}", path.display()),
            ),
        };
        let check = match options.mode {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => Check::Nothing,
            SslMode::VerifyCa => Check::Chain,
            SslMode::VerifyFull => Check::ChainAndName,
        };
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| TlsSetupError::Settings(format!("PostgreSQL TLS roots: {e}")))?;
        let verifier = Arc::new(Verifier {
            check,
            webpki,
            provider: provider.clone(),
        });
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError::Settings(format!("PostgreSQL TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match (&options.client_cert, &options.client_key) {
            (Some(cert), Some(key)) => {
                let (_, chain) = read_certificates("sslcert", cert)?;
                let (_, key_der) = read_private_key("sslkey", key)?;
                builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                    TlsSetupError::Unusable {
                        setting: "sslkey",
                        path: key.clone(),
                        message: format!("does not fit sslcert: {e}"),
                    }
                })?
            }
            _ => builder.with_no_client_auth(),
        };
        // PostgreSQL 17 asks for it with direct TLS negotiation; older servers ignore it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            trusted: trusted.into(),
        })
    }
}

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy)]
enum Check {
    Nothing,
    Chain,
    ChainAndName,
}

#[derive(Debug)]
struct Verifier {
    check: Check,
    webpki: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = || {
            self.webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )
        };
        match self.check {
            Check::Nothing => Ok(ServerCertVerified::assertion()),
            Check::ChainAndName => verified(),
            // webpki checks the name only after the chain verified, so a name mismatch here means
            // the chain is good: exactly what verify-ca asks.
            Check::Chain => match verified() {
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            },
        }
    }

    // The handshake signatures are checked in every mode: they prove the server holds the key of
    // the certificate it presented, which the channel binding relies on.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A failed TLS connection, explained.
#[derive(Debug, thiserror::Error)]
pub enum PgTlsError {
    #[error("host name `{0}` cannot be used for TLS")]
    BadHostName(String),
    #[error("no host name for TLS (Unix sockets do not use TLS)")]
    NoHostName,
    #[error("{0}")]
    Handshake(String),
}

impl MakeTlsConnect<Socket> for PgTls {
    type Stream = PgTlsStream;
    type TlsConnect = PgTlsConnect;
    type Error = PgTlsError;

    /// The driver calls this for every host, Unix sockets included (with an empty name), before it
    /// knows whether TLS will be used; a name that cannot be used fails only if TLS is attempted.
    fn make_tls_connect(&mut self, host: &str) -> Result<PgTlsConnect, PgTlsError> {
        let name = if host.is_empty() {
            Err(PgTlsError::NoHostName)
        } else {
            ServerName::try_from(host.to_string())
                .map_err(|_| PgTlsError::BadHostName(host.to_string()))
        };
        Ok(PgTlsConnect {
            connector: TlsConnector::from(self.config.clone()),
            name,
            host: host.to_string(),
            trusted: self.trusted.clone(),
        })
    }
}

pub struct PgTlsConnect {
    connector: TlsConnector,
    name: Result<ServerName<'static>, PgTlsError>,
    host: String,
    trusted: Arc<str>,
}

impl TlsConnect<Socket> for PgTlsConnect {
    type Stream = PgTlsStream;
    type Error = PgTlsError;
    type Future = Pin<Box<dyn Future<Output = Result<PgTlsStream, PgTlsError>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let name = self.name?;
            let stream = self
                .connector
                .connect(name, stream)
                .await
                .map_err(|e| PgTlsError::Handshake(explain(&e, &self.trusted, &self.host)))?;
            Ok(PgTlsStream(Box::new(stream)))
        })
    }
}

fn explain(error: &io::Error, trusted: &str, host: &str) -> String {
    match rustls_error_in(error) {
        Some(tls) => format!("{} (host {host})", explain_handshake(tls, trusted)),
        None => format!("TLS handshake with {host} failed: {error}"),
    }
}

/// A TLS connection to PostgreSQL.
pub struct PgTlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl TlsStream for PgTlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        let (_, connection) = self.0.get_ref();
        connection
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|cert| tls_server_end_point(cert))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
    }
}

impl AsyncRead for PgTlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(self.0.as_mut()).poll_read(cx, buf)
    }
}

impl AsyncWrite for PgTlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.0.as_mut()).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.0.as_mut()).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.0.as_mut()).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.0.as_mut()).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}
