//! Which addresses count as "the public internet" for fetches driven by client-supplied URLs.
//! Everything else (loopback, private, link-local, CGNAT, multicast, reserved, and IPv6 forms that
//! embed such an IPv4 address) could reach the operator's own network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let this_network = a == 0; // 0.0.0.0/8
    let cgnat = a == 100 && (b & 0xc0) == 64; // 100.64.0.0/10
    let ietf_protocol = a == 192 && b == 0 && c == 0; // 192.0.0.0/24
    let benchmarking = a == 198 && (b & 0xfe) == 18; // 198.18.0.0/15
    let reserved = a >= 240; // 240.0.0.0/4 and broadcast
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || this_network
        || cgnat
        || ietf_protocol
        || benchmarking
        || reserved)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() {
        return false;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let [s0, s1, s2, s3, s4, s5, s6, s7] = ip.segments();
    let embedded = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    // Deprecated IPv4-compatible form ::a.b.c.d.
    if [s0, s1, s2, s3, s4, s5] == [0; 6] {
        return is_public_v4(embedded(s6, s7));
    }
    // NAT64 64:ff9b::/96 reaches the embedded IPv4 address through the local translator.
    if [s0, s1, s2, s3, s4, s5] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded(s6, s7));
    }
    // 6to4 2002::/16 carries the relay's IPv4 address in the next 32 bits.
    if s0 == 0x2002 {
        return is_public_v4(embedded(s1, s2));
    }
    let unique_local = (s0 & 0xfe00) == 0xfc00; // fc00::/7
    let link_local = (s0 & 0xffc0) == 0xfe80; // fe80::/10
    let site_local = (s0 & 0xffc0) == 0xfec0; // fec0::/10, deprecated but still routed internally
    !(unique_local || link_local || site_local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn refuses_internal_ipv4() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.8",
            "198.18.0.1",
        ] {
            assert!(!public(ip), "{ip} must not be public");
        }
    }

    #[test]
    fn accepts_public_ipv4() {
        for ip in [
            "8.8.8.8",
            "142.250.185.78",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
        ] {
            assert!(public(ip), "{ip} must be public");
        }
    }

    #[test]
    fn refuses_internal_ipv6_and_embedded_ipv4() {
        for ip in [
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:c0a8:0101::1",
        ] {
            assert!(!public(ip), "{ip} must not be public");
        }
    }

    #[test]
    fn accepts_public_ipv6() {
        for ip in [
            "2607:f8b0:4004:800::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert!(public(ip), "{ip} must be public");
        }
    }
}
