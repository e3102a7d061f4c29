//! `tls-server-end-point` channel binding (RFC 5929 §4.1), which PostgreSQL's SCRAM-SHA-256-PLUS
//! uses: the hash of the server's certificate, with the hash of the certificate's own signature
//! algorithm (MD5 and SHA-1 become SHA-256). PostgreSQL computes the same on its side, so a
//! connection relayed by someone holding a different certificate fails authentication.
//!
//! Only the signature algorithm is read from the certificate, by a minimal DER walk (rustls does not
//! expose it); algorithms without one hash (Ed25519, RSA-PSS) have no binding, as in PostgreSQL.

use sha2::{Digest, Sha256, Sha384, Sha512};

enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// The binding data for `certificate` (DER), `None` when its signature algorithm defines no hash.
pub fn tls_server_end_point(certificate: &[u8]) -> Option<Vec<u8>> {
    Some(match signature_hash(certificate)? {
        Hash::Sha256 => Sha256::digest(certificate).to_vec(),
        Hash::Sha384 => Sha384::digest(certificate).to_vec(),
        Hash::Sha512 => Sha512::digest(certificate).to_vec(),
    })
}

/// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE { OID, … }, … }
fn signature_hash(certificate: &[u8]) -> Option<Hash> {
    let (certificate, _) = element(certificate, SEQUENCE)?;
    let (_tbs, rest) = element(certificate, SEQUENCE)?;
    let (algorithm, _) = element(rest, SEQUENCE)?;
    let (oid, _) = element(algorithm, OBJECT_IDENTIFIER)?;
    hash_of(oid)
}

const SEQUENCE: u8 = 0x30;
const OBJECT_IDENTIFIER: u8 = 0x06;

/// The content of the DER element at the start of `input` if its tag is `tag`, and what follows.
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

/// The hash for a signature algorithm OID (its DER content bytes).
fn hash_of(oid: &[u8]) -> Option<Hash> {
    // 1.2.840.113549.1.1.x: PKCS#1 RSA signatures.
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    // 1.2.840.10045.4.1 (SHA-1) and 1.2.840.10045.4.3.x: ECDSA signatures.
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    if let Some(rest) = oid.strip_prefix(RSA) {
        return match rest {
            // md5, sha1 → SHA-256 (RFC 5929), then sha256, sha384, sha512, sha224 (→ SHA-256).
            [0x04] | [0x05] | [0x0b] | [0x0e] => Some(Hash::Sha256),
            [0x0c] => Some(Hash::Sha384),
            [0x0d] => Some(Hash::Sha512),
            _ => None,
        };
    }
    if oid == ECDSA_SHA1 {
        return Some(Hash::Sha256);
    }
    match oid.strip_prefix(ECDSA)? {
        [0x01] | [0x02] => Some(Hash::Sha256),
        [0x03] => Some(Hash::Sha384),
        [0x04] => Some(Hash::Sha512),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate's DER, signed with `alg`.
    fn certificate(alg: &'static rcgen::SignatureAlgorithm) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db.example".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        cert.der().to_vec()
    }

    #[test]
    fn ecdsa_p256_certificates_bind_with_sha256() {
        let der = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
        assert_eq!(
            tls_server_end_point(&der).unwrap(),
            Sha256::digest(&der).to_vec()
        );
    }

    #[test]
    fn ecdsa_p384_certificates_bind_with_sha384() {
        let der = certificate(&rcgen::PKCS_ECDSA_P384_SHA384);
        assert_eq!(
            tls_server_end_point(&der).unwrap(),
            Sha384::digest(&der).to_vec()
        );
    }

    #[test]
    fn ed25519_and_garbage_have_no_binding() {
        let der = certificate(&rcgen::PKCS_ED25519);
        assert!(tls_server_end_point(&der).is_none());
        assert!(tls_server_end_point(&[]).is_none());
        assert!(tls_server_end_point(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(tls_server_end_point(&[0x30, 0x03, 0x30, 0x01]).is_none());
    }
}
