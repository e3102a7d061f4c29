//! Downloads an `image_url` given by an API client, without letting that client use the gateway
//! to reach the operator's own network.
//!
//! Each hop (the first URL and every redirect target) is resolved once with
//! `tokio::net::lookup_host`; every resolved address must be public (see [`super::public_ip`])
//! unless `allow_private` is set. The request is then pinned to the checked address with awc's
//! `ClientRequest::address`, which hands it to the connector as pre-resolved: no second DNS
//! lookup can swap in another address, while the URL (and so the `Host` header and TLS server
//! name) stays unchanged. Behind a proxy the tunnel is opened to that address too.
//!
//! awc's pool keys idle connections by host:port, so a fetch may reuse an idle connection to the
//! same authority; such connections were themselves opened to vetted addresses or by the
//! gateway's own upstream calls.

use std::{net::IpAddr, net::SocketAddr, time::Duration};

use awc::error::{ConnectError, SendRequestError};
use futures_util::StreamExt as _;
use url::Url;

use super::public_ip::is_public;

#[derive(Debug, Clone)]
pub struct ImageFetchPolicy {
    pub max_bytes: usize,
    /// Whole fetch, redirects and body included.
    pub timeout: Duration,
    /// Only for tests and deliberately internal deployments.
    pub allow_private: bool,
    pub max_redirects: u8,
}

impl Default for ImageFetchPolicy {
    fn default() -> Self {
        Self {
            max_bytes: 20 * 1024 * 1024,
            timeout: Duration::from_secs(15),
            allow_private: false,
            max_redirects: 3,
        }
    }
}

/// Display texts are safe to show to the API client; the `Network` detail is for logs only.
#[derive(Debug, thiserror::Error)]
pub enum ImageFetchError {
    #[error("image URL points to an address that is not allowed")]
    Forbidden,
    #[error("image is larger than the allowed size")]
    TooLarge,
    #[error("image URL did not return an image")]
    NotImage,
    /// Also used when the redirect limit is reached, with the last redirect's status.
    #[error("image server answered HTTP {0}")]
    Status(u16),
    #[error("image download timed out")]
    Timeout,
    #[error("image could not be downloaded")]
    Network(String),
    #[error("image URL is not a valid http(s) URL")]
    BadUrl,
}

/// Returns the lower-cased media type (without parameters) and the body.
pub async fn fetch_image(
    client: &awc::Client,
    url: &str,
    policy: &ImageFetchPolicy,
) -> Result<(String, Vec<u8>), ImageFetchError> {
    let allow_private = policy.allow_private;
    fetch_with_guard(client, url, policy, &|ip| allow_private || is_public(ip)).await
}

/// The address rule is a parameter so tests can prove each redirect hop is checked using only
/// loopback servers.
async fn fetch_with_guard(
    client: &awc::Client,
    url: &str,
    policy: &ImageFetchPolicy,
    allowed: &dyn Fn(IpAddr) -> bool,
) -> Result<(String, Vec<u8>), ImageFetchError> {
    tokio::time::timeout(policy.timeout, follow(client, url, policy, allowed))
        .await
        .unwrap_or(Err(ImageFetchError::Timeout))
}

async fn follow(
    client: &awc::Client,
    url: &str,
    policy: &ImageFetchPolicy,
    allowed: &dyn Fn(IpAddr) -> bool,
) -> Result<(String, Vec<u8>), ImageFetchError> {
    let mut current = parse_http_url(url)?;
    let mut redirects = 0u8;
    loop {
        let addr = checked_address(&current, allowed).await?;
        let mut response = client
            .get(current.as_str())
            .address(addr)
            .timeout(policy.timeout)
            .insert_header((awc::http::header::ACCEPT, "image/*"))
            .send()
            .await
            .map_err(send_error)?;

        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(awc::http::header::LOCATION)
                .and_then(|v| v.to_str().ok());
            if let Some(location) = location {
                if redirects >= policy.max_redirects {
                    return Err(ImageFetchError::Status(status.as_u16()));
                }
                redirects += 1;
                let next = current
                    .join(location)
                    .map_err(|_| ImageFetchError::BadUrl)?;
                current = parse_http_url(next.as_str())?;
                continue;
            }
        }
        if !status.is_success() {
            return Err(ImageFetchError::Status(status.as_u16()));
        }

        let mime = image_mime(response.headers()).ok_or(ImageFetchError::NotImage)?;
        let declared = response
            .headers()
            .get(awc::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > policy.max_bytes as u64) {
            return Err(ImageFetchError::TooLarge);
        }

        let mut body = Vec::with_capacity(declared.map_or(0, |len| len as usize));
        while let Some(chunk) = response.next().await {
            let chunk = chunk.map_err(|e| ImageFetchError::Network(e.to_string()))?;
            if body.len() + chunk.len() > policy.max_bytes {
                return Err(ImageFetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        return Ok((mime, body));
    }
}

fn parse_http_url(raw: &str) -> Result<Url, ImageFetchError> {
    let url = Url::parse(raw.trim()).map_err(|_| ImageFetchError::BadUrl)?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ImageFetchError::BadUrl);
    }
    Ok(url)
}

/// Resolves the URL's host once and returns an address every resolved record of which is
/// allowed; one forbidden record refuses the host, so mixed answers cannot be played.
async fn checked_address(
    url: &Url,
    allowed: &dyn Fn(IpAddr) -> bool,
) -> Result<SocketAddr, ImageFetchError> {
    let port = url.port_or_known_default().ok_or(ImageFetchError::BadUrl)?;
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(url::Host::Domain(name)) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|e| ImageFetchError::Network(format!("cannot resolve {name}: {e}")))?
            .collect(),
        None => return Err(ImageFetchError::BadUrl),
    };
    if addrs.iter().any(|a| !allowed(a.ip())) {
        return Err(ImageFetchError::Forbidden);
    }
    addrs
        .first()
        .copied()
        .ok_or_else(|| ImageFetchError::Network("host has no addresses".to_owned()))
}

fn image_mime(headers: &awc::http::header::HeaderMap) -> Option<String> {
    let value = headers
        .get(awc::http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    let essence = value.split(';').next()?.trim().to_ascii_lowercase();
    let subtype = essence.strip_prefix("image/")?;
    (!subtype.is_empty()).then_some(essence)
}

fn send_error(err: SendRequestError) -> ImageFetchError {
    match err {
        SendRequestError::Timeout | SendRequestError::Connect(ConnectError::Timeout) => {
            ImageFetchError::Timeout
        }
        other => ImageFetchError::Network(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use actix_web::{web, App, HttpResponse, HttpServer};

    #[test]
    fn mime_essence_is_normalised() {
        let mut h = awc::http::header::HeaderMap::new();
        h.insert(
            awc::http::header::CONTENT_TYPE,
            "IMAGE/PNG; charset=binary".parse().unwrap(),
        );
        assert_eq!(image_mime(&h).as_deref(), Some("image/png"));
        h.insert(
            awc::http::header::CONTENT_TYPE,
            "text/html".parse().unwrap(),
        );
        assert_eq!(image_mime(&h), None);
        h.insert(awc::http::header::CONTENT_TYPE, "image/".parse().unwrap());
        assert_eq!(image_mime(&h), None);
    }

    #[test]
    fn only_http_urls_with_hosts() {
        assert!(parse_http_url("https://example.com/a.png").is_ok());
        for bad in [
            "ftp://example.com/a.png",
            "file:///etc/passwd",
            "data:image/png;base64,AA",
            "nope",
        ] {
            assert!(
                matches!(parse_http_url(bad), Err(ImageFetchError::BadUrl)),
                "{bad}"
            );
        }
    }

    /// A redirect from an allowed host to a forbidden one is refused at the second hop. The guard
    /// allows 127.0.0.1 only; the redirect goes to the same server's 127.0.0.2 socket. The control
    /// run with an allow-all guard proves that hop would otherwise succeed.
    #[actix_rt::test]
    async fn every_redirect_hop_is_checked() {
        let second = std::net::TcpListener::bind(("127.0.0.2", 0)).unwrap();
        let second_port = second.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .route(
                    "/hop",
                    web::get().to(move || async move {
                        HttpResponse::Found()
                            .insert_header((
                                "Location",
                                format!("http://127.0.0.2:{second_port}/img"),
                            ))
                            .finish()
                    }),
                )
                .route(
                    "/img",
                    web::get()
                        .to(|| async { HttpResponse::Ok().content_type("image/png").body("png") }),
                )
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap()
        .listen(second)
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);

        let client = crate::upstream::transport::build_client(&Default::default()).unwrap();
        let url = format!("http://127.0.0.1:{port}/hop");
        let policy = ImageFetchPolicy::default();

        let allow_all = |_: IpAddr| true;
        let fetched = fetch_with_guard(&client, &url, &policy, &allow_all).await;
        assert_eq!(fetched.unwrap(), ("image/png".to_owned(), b"png".to_vec()));

        let only_first = |ip: IpAddr| ip == IpAddr::from([127, 0, 0, 1]);
        let refused = fetch_with_guard(&client, &url, &policy, &only_first).await;
        assert!(
            matches!(refused, Err(ImageFetchError::Forbidden)),
            "{refused:?}"
        );
        handle.stop(false).await;
    }
}
