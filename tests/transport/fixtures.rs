//! Local servers for the transport tests: a test PKI, actix-web servers (plain or TLS) and a
//! minimal CONNECT proxy that records what it was asked.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{dev::ServerHandle, web, App, HttpServer};
use gcli2api::upstream::transport::{build_client, TransportConfig};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

pub struct TestPki {
    pub ca_pem: String,
    pub server_config: rustls::ServerConfig,
}

/// A throw-away CA and a server certificate for `localhost` and `127.0.0.1` signed by it.
pub fn test_pki() -> TestPki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gcli2api test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_cert = params.signed_by(&server_key, &ca_cert, &ca_key).unwrap();

    let chain: Vec<CertificateDer<'static>> = vec![server_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let server_config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();

    TestPki {
        ca_pem: ca_cert.pem(),
        server_config,
    }
}

pub struct RunningServer {
    pub port: u16,
    handle: ServerHandle,
}

impl RunningServer {
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Starts an actix-web server on 127.0.0.1 (TLS when a config is given) with the given routes.
pub fn start_server<C>(configure: C, tls: Option<rustls::ServerConfig>) -> RunningServer
where
    C: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let server = HttpServer::new(move || App::new().configure(configure.clone()))
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1);
    let server = match tls {
        Some(config) => server.bind_rustls_0_23(("127.0.0.1", 0), config),
        None => server.bind(("127.0.0.1", 0)),
    }
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    RunningServer { port, handle }
}

/// Routes of the fake HTTPS upstream: `/hello` answers with the HTTP version it was reached by.
pub fn hello_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/hello",
        web::get().to(|req: actix_web::HttpRequest| async move {
            format!("hello over {:?}", req.version())
        }),
    );
}

pub fn client_with_ca(pki: &TestPki, proxy: Option<String>) -> awc::Client {
    build_client(&TransportConfig {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        proxy,
        extra_ca_pem: Some(pki.ca_pem.clone().into_bytes()),
    })
    .unwrap()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRecord {
    pub target: String,
    pub proxy_authorization: Option<String>,
}

#[derive(Clone)]
pub enum ProxyMode {
    Open,
    /// Tunnels only when `Proxy-Authorization` equals this value, 407 otherwise.
    RequireAuthorization(String),
}

pub struct ConnectProxy {
    pub port: u16,
    seen: Arc<Mutex<Vec<ConnectRecord>>>,
    task: actix_rt::task::JoinHandle<()>,
}

impl ConnectProxy {
    pub async fn start(mode: ProxyMode) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task_seen = Arc::clone(&seen);
        let task = actix_rt::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                actix_rt::spawn(serve_connect(stream, mode.clone(), Arc::clone(&task_seen)));
            }
        });
        Self { port, seen, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn seen(&self) -> Vec<ConnectRecord> {
        self.seen.lock().unwrap().clone()
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

async fn serve_connect(
    mut client: TcpStream,
    mode: ProxyMode,
    seen: Arc<Mutex<Vec<ConnectRecord>>>,
) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    assert_eq!(parts.next(), Some("CONNECT"), "proxy got {request_line:?}");
    let target = parts.next().unwrap_or_default().to_owned();
    let proxy_authorization = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, value)| value.trim().to_owned());
    seen.lock().unwrap().push(ConnectRecord {
        target: target.clone(),
        proxy_authorization: proxy_authorization.clone(),
    });

    if let ProxyMode::RequireAuthorization(expected) = &mode {
        if proxy_authorization.as_deref() != Some(expected.as_str()) {
            let _ = client
                .write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                      Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
                )
                .await;
            return;
        }
    }
    let Ok(mut upstream) = TcpStream::connect(target.as_str()).await else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
