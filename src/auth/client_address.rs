//! The client's address for login limits, OAuth flow ownership and logs. It is the TCP peer, unless
//! the peer is one of `TRUSTED_PROXIES`: then the one header those proxies set
//! (`TRUSTED_PROXY_HEADER`: `X-Forwarded-For` by default, or `Forwarded`) says who the client is.
//!
//! Only the nearest entries of that header are the proxies' own words: a proxy appends the address it
//! saw to whatever the client sent, so everything left of the rightmost untrusted entry is the
//! client's claim. The other header is never read, since a proxy passes it through unchanged and a
//! client could name any address in it. Forwarding headers from untrusted peers are ignored.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use ipnet::IpNet;

use crate::config::{Settings, TrustedProxyHeader};

/// `TRUSTED_PROXIES` entries parsed: CIDRs, or plain addresses (a single host). Entries that are
/// neither are reported once at start (see [`invalid_trusted_proxies`]) and otherwise ignored.
pub fn trusted_nets(entries: &[String]) -> Vec<IpNet> {
    entries.iter().filter_map(|e| parse_net(e)).collect()
}

fn parse_net(entry: &str) -> Option<IpNet> {
    let entry = entry.trim();
    entry
        .parse::<IpNet>()
        .ok()
        .or_else(|| entry.parse::<IpAddr>().ok().map(IpNet::from))
}

/// The entries of `TRUSTED_PROXIES` that are not addresses or CIDRs.
pub fn invalid_trusted_proxies(entries: &[String]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| parse_net(e).is_none())
        .cloned()
        .collect()
}

/// The client address as text (`unknown` when the peer is not known, as in some tests).
pub fn client_address(req: &HttpRequest, settings: &Settings) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    resolve(
        peer,
        req.headers(),
        settings.trusted_proxy_header,
        &trusted_nets(&settings.trusted_proxies),
    )
    .map(|ip| ip.to_string())
    .unwrap_or_else(|| "unknown".into())
}

/// The client behind a chain of trusted proxies: walk the addresses of `header` from the nearest hop
/// back, skipping trusted proxies; the first untrusted one is the client. A malformed entry stops the
/// walk at the last address that is known to be right.
pub fn resolve(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    header: TrustedProxyHeader,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops = forwarded_hops(headers, header);
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = hop else {
            break;
        };
        client = *ip;
        if !is_trusted(ip) {
            break;
        }
    }
    Some(client)
}

/// Most entries read from a forwarding header: more hops than this are the client's padding.
const MAX_HOPS: usize = 64;

/// The addresses of `header`, nearest last (at most the nearest [`MAX_HOPS`]). `None` marks an entry
/// that is not an address (`unknown`, an obfuscated name, garbage).
fn forwarded_hops(headers: &HeaderMap, header: TrustedProxyHeader) -> Vec<Option<IpAddr>> {
    let hops: Vec<Option<IpAddr>> = match header {
        TrustedProxyHeader::Forwarded => headers
            .get_all("forwarded")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_forwarded_for(v))
                })?
            })
            .collect(),
        TrustedProxyHeader::XForwardedFor => headers
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().parse::<IpAddr>().ok())
            .collect(),
    };
    let skip = hops.len().saturating_sub(MAX_HOPS);
    hops.into_iter().skip(skip).collect()
}

/// `for=192.0.2.1`, `for="192.0.2.1:4711"`, `for="[2001:db8::1]:4711"`.
fn parse_forwarded_for(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    value
        .parse()
        .ok()
        .or_else(|| value.rsplit_once(':')?.0.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    const XFF: TrustedProxyHeader = TrustedProxyHeader::XForwardedFor;
    const RFC: TrustedProxyHeader = TrustedProxyHeader::Forwarded;

    #[test]
    fn forwarding_headers_count_only_from_trusted_peers() {
        let trusted = trusted_nets(&["10.0.0.0/8".into(), "127.0.0.1".into()]);
        let xff = headers(&[("x-forwarded-for", "203.0.113.9, 10.1.1.1")]);
        assert_eq!(
            resolve(ip("127.0.0.1"), &xff, XFF, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve(ip("192.0.2.7"), &xff, XFF, &trusted),
            ip("192.0.2.7")
        );
        assert_eq!(resolve(ip("127.0.0.1"), &xff, XFF, &[]), ip("127.0.0.1"));
        // A client cannot hide behind a forged entry placed before its real address.
        let forged = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.2")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &forged, XFF, &trusted),
            ip("198.51.100.2")
        );
        let rfc = headers(&[(
            "forwarded",
            "for=\"[2001:db8::1]:4711\";proto=https, for=10.0.0.2",
        )]);
        assert_eq!(
            resolve(ip("10.0.0.3"), &rfc, RFC, &trusted),
            ip("2001:db8::1")
        );
        let junk = headers(&[("x-forwarded-for", "nonsense")]);
        assert_eq!(
            resolve(ip("10.0.0.3"), &junk, XFF, &trusted),
            ip("10.0.0.3")
        );
        assert_eq!(
            invalid_trusted_proxies(&["10.0.0.0/8".into(), "x".into()]),
            ["x"]
        );
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let trusted = trusted_nets(&["127.0.0.1".into()]);
        // The proxy set X-Forwarded-For; the client added its own Forwarded, which must not win.
        let both = headers(&[
            ("forwarded", "for=192.0.2.66"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(
            resolve(ip("127.0.0.1"), &both, XFF, &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve(ip("127.0.0.1"), &both, RFC, &trusted),
            ip("192.0.2.66")
        );
        let only_forwarded = headers(&[("forwarded", "for=192.0.2.66")]);
        assert_eq!(
            resolve(ip("127.0.0.1"), &only_forwarded, XFF, &trusted),
            ip("127.0.0.1")
        );
        // An RFC element without `for=` is an unknown hop, not skipped.
        let by_only = headers(&[("forwarded", "for=192.0.2.1, by=10.0.0.1")]);
        assert_eq!(
            resolve(ip("127.0.0.1"), &by_only, RFC, &trusted),
            ip("127.0.0.1")
        );
    }
}
