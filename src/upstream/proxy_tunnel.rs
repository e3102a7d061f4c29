//! TCP connector for awc that reaches every target through an HTTP proxy's `CONNECT` tunnel.
//!
//! awc has no proxy support of its own, but it lets the TCP step be replaced. This service opens
//! TCP to the proxy, asks it for a tunnel to the target, and hands the tunnelled stream back; awc
//! then runs TLS inside it for https targets, so the proxy only ever sees ciphertext. Plain-http
//! targets use a `CONNECT` tunnel too (instead of absolute-form requests): one code path, and
//! proxies that allow `CONNECT` to port 80 are the norm.
//!
//! When the request was given a pre-resolved address (`ClientRequest::address`), the tunnel is
//! opened to that address rather than the host name, so a caller that vetted an address (image
//! fetching) still connects to exactly that address.

use std::{io, rc::Rc};

use actix_service::Service;
use actix_tls::connect::{ConnectError, ConnectInfo, Connection};
use awc::http::Uri;
use base64::Engine as _;
use futures_util::future::LocalBoxFuture;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use super::transport_error::TransportError;

/// A proxy reply head longer than this is not a proxy we can talk to.
const MAX_REPLY_HEAD: usize = 8 * 1024;

/// Where the proxy is and how to authenticate to it. No `Debug`: it holds the credentials.
pub(crate) struct ProxySettings {
    host: String,
    port: u16,
    /// Full `Proxy-Authorization` header value.
    authorization: Option<String>,
}

impl ProxySettings {
    /// Accepts `http://[user:pass@]host[:port]`. Error texts never repeat the URL, which may
    /// carry a password.
    pub(crate) fn parse(raw: &str) -> Result<Self, TransportError> {
        let url = url::Url::parse(raw.trim())
            .map_err(|e| TransportError::InvalidProxy(format!("not a URL ({e})")))?;
        match url.scheme() {
            "http" => {}
            scheme @ ("socks" | "socks4" | "socks4a" | "socks5" | "socks5h") => {
                return Err(TransportError::UnsupportedProxy(format!(
                    "{scheme}:// proxies are not supported; use an http:// proxy that accepts CONNECT"
                )))
            }
            "https" => {
                return Err(TransportError::UnsupportedProxy(
                    "https:// proxies (TLS to the proxy itself) are not supported; use http://"
                        .to_owned(),
                ))
            }
            other => {
                return Err(TransportError::UnsupportedProxy(format!(
                    "proxy scheme `{other}` is not supported; use http://host:port"
                )))
            }
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(TransportError::InvalidProxy("missing host".to_owned())),
        };
        let port = url.port_or_known_default().unwrap_or(80);

        let authorization = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            let user = decode_userinfo(url.username())?;
            let pass = decode_userinfo(url.password().unwrap_or(""))?;
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            Some(format!("Basic {token}"))
        };

        Ok(Self {
            host,
            port,
            authorization,
        })
    }
}

fn decode_userinfo(part: &str) -> Result<String, TransportError> {
    percent_encoding::percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| TransportError::InvalidProxy("credentials are not valid UTF-8".to_owned()))
}

/// The replacement TCP connector handed to `awc::Connector::connector`.
#[derive(Clone)]
pub(crate) struct ProxyTunnel {
    settings: Rc<ProxySettings>,
}

impl ProxyTunnel {
    pub(crate) fn new(settings: ProxySettings) -> Self {
        Self {
            settings: Rc::new(settings),
        }
    }
}

impl Service<ConnectInfo<Uri>> for ProxyTunnel {
    type Response = Connection<Uri, TcpStream>;
    // Only `Io` is ever returned: awc panics on `ConnectError::InvalidInput`.
    type Error = ConnectError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    actix_service::always_ready!();

    fn call(&self, req: ConnectInfo<Uri>) -> Self::Future {
        let settings = Rc::clone(&self.settings);
        Box::pin(async move {
            let target = tunnel_target(&req).map_err(ConnectError::Io)?;
            let stream = open_tunnel(&settings, &target)
                .await
                .map_err(ConnectError::Io)?;
            Ok(Connection::new(req.request().clone(), stream))
        })
    }
}

/// `host:port` for the `CONNECT` line; a pre-resolved address wins over the name.
fn tunnel_target(req: &ConnectInfo<Uri>) -> io::Result<String> {
    if let Some(addr) = req.addrs().next() {
        return Ok(addr.to_string());
    }
    let host = req.hostname();
    if host.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "request URL has no host",
        ));
    }
    let port = req.port();
    if host.contains(':') && !host.starts_with('[') {
        Ok(format!("[{host}]:{port}"))
    } else {
        Ok(format!("{host}:{port}"))
    }
}

async fn open_tunnel(settings: &ProxySettings, target: &str) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect((settings.host.as_str(), settings.port))
        .await
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot reach proxy {}:{}: {e}",
                    settings.host, settings.port
                ),
            )
        })?;
    if let Err(e) = stream.set_nodelay(true) {
        log::debug!("proxy connection: cannot set TCP_NODELAY: {e}");
    }

    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = &settings.authorization {
        head.push_str("Proxy-Authorization: ");
        head.push_str(auth);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;

    let reply = read_reply_head(&mut stream).await?;
    let (code, reason) = parse_status_line(&reply)?;
    if (200..300).contains(&code) {
        return Ok(stream);
    }
    let message = if code == 407 {
        if settings.authorization.is_some() {
            format!("proxy rejected the credentials in PROXY (HTTP 407 {reason})")
        } else {
            format!("proxy requires authentication: put user:pass in PROXY (HTTP 407 {reason})")
        }
    } else {
        format!("proxy refused the tunnel to {target} (HTTP {code} {reason})")
    };
    Err(io::Error::new(io::ErrorKind::ConnectionRefused, message))
}

/// Reads up to the blank line ending the proxy's reply head. Nothing may follow it: neither a TLS
/// server nor an HTTP server speaks first, so extra bytes mean a confused proxy.
async fn read_reply_head(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "proxy closed the connection before answering CONNECT",
            ));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if let Some(end) = find_head_end(&buf) {
            if end != buf.len() {
                return Err(io::Error::other(
                    "proxy sent data after its CONNECT reply before the tunnel was used",
                ));
            }
            return Ok(buf);
        }
        if buf.len() > MAX_REPLY_HEAD {
            return Err(io::Error::other("proxy reply to CONNECT is too long"));
        }
    }
}

/// Index just past the head terminator (`\r\n\r\n`, or a bare `\n\n` from sloppy proxies).
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn parse_status_line(head: &[u8]) -> io::Result<(u16, String)> {
    let text = String::from_utf8_lossy(head);
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().and_then(|c| c.trim().parse::<u16>().ok());
    match code {
        Some(code) if version.starts_with("HTTP/") => {
            let reason: String = parts
                .next()
                .unwrap_or_default()
                .trim()
                .chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .take(80)
                .collect();
            Ok((code, reason))
        }
        _ => Err(io::Error::other(
            "proxy answered CONNECT with something that is not HTTP",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_credentials_into_basic_header() {
        let s = ProxySettings::parse("http://us%40er:p%3Ass@proxy.example:3128").unwrap();
        assert_eq!(s.host, "proxy.example");
        assert_eq!(s.port, 3128);
        let expected = base64::engine::general_purpose::STANDARD.encode("us@er:p:ss");
        assert_eq!(
            s.authorization.as_deref(),
            Some(&*format!("Basic {expected}"))
        );
    }

    #[test]
    fn ipv6_proxy_host_loses_brackets_for_connect() {
        let s = ProxySettings::parse("http://[::1]:8080").unwrap();
        assert_eq!(s.host, "::1");
        assert!(s.authorization.is_none());
    }

    #[test]
    fn error_text_never_repeats_the_password() {
        for raw in [
            "socks5://u:secretpw@h:1",
            "https://u:secretpw@h:1",
            "ftp://u:secretpw@h",
        ] {
            let err = ProxySettings::parse(raw).err().unwrap();
            assert!(!err.to_string().contains("secretpw"), "{err}");
        }
    }

    #[test]
    fn status_line_parsing() {
        let (code, reason) =
            parse_status_line(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").unwrap();
        assert_eq!(code, 407);
        assert_eq!(reason, "Proxy Authentication Required");
        assert!(parse_status_line(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }

    #[test]
    fn head_end_is_found_for_both_line_endings() {
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\n\r\n"), Some(19));
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\n\n"), Some(17));
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\n"), None);
    }

    #[test]
    fn target_uses_preresolved_address() {
        let uri: Uri = "https://example.com/x".parse().unwrap();
        let info = ConnectInfo::new(uri.clone());
        assert_eq!(tunnel_target(&info).unwrap(), "example.com:443");
        let pinned = ConnectInfo::new(uri).set_addr(Some("[2001:db8::1]:443".parse().unwrap()));
        assert_eq!(tunnel_target(&pinned).unwrap(), "[2001:db8::1]:443");
    }
}
