//! Vertex AI service-account key files: the fields the token needs, read and checked when the file
//! arrives, and the JWT (RS256, signed with the account's private key) that the JWT-bearer grant
//! exchanges for an hour-long `cloud-platform` token (`upstream::vertex_token` makes that call).

use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Map, Value};

/// What the token is for: every Vertex AI call.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The audience Google expects when the key file names no `token_uri`.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Google accepts assertions valid for at most an hour.
const ASSERTION_LIFE_SECS: i64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VertexTokenError {
    #[error("service account JSON lacks `{0}`")]
    Missing(&'static str),
    #[error("service account private key is not a PEM-encoded RSA key")]
    BadKey,
    #[error("signing the token request failed: {0}")]
    Sign(String),
}

/// The fields of a service-account key file the token needs.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub client_email: String,
    private_key: String,
    /// The JWT's audience (`token_uri` of the key file).
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccount {
    // The private key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

fn text<'a>(map: &'a Map<String, Value>, key: &'static str) -> Option<&'a str> {
    map.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

impl ServiceAccount {
    pub fn parse(map: &Map<String, Value>) -> Result<Self, VertexTokenError> {
        let client_email =
            text(map, "client_email").ok_or(VertexTokenError::Missing("client_email"))?;
        let private_key =
            text(map, "private_key").ok_or(VertexTokenError::Missing("private_key"))?;
        // Checked now so a broken upload is refused at once, not at the first call.
        rsa_der(private_key)?;
        Ok(Self {
            client_email: client_email.to_string(),
            private_key: private_key.to_string(),
            token_uri: text(map, "token_uri")
                .unwrap_or(DEFAULT_TOKEN_URI)
                .to_string(),
        })
    }

    /// The signed JWT asking for a `cloud-platform` token, issued at `now` (unix seconds).
    pub fn assertion(&self, now: i64) -> Result<String, VertexTokenError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            scope: &'a str,
            aud: &'a str,
            iat: i64,
            exp: i64,
        }
        let claims = Claims {
            iss: &self.client_email,
            scope: SCOPE,
            aud: &self.token_uri,
            iat: now,
            exp: now + ASSERTION_LIFE_SECS,
        };
        let key = EncodingKey::from_rsa_der(&rsa_der(&self.private_key)?);
        encode(&Header::new(Algorithm::RS256), &claims, &key)
            .map_err(|e| VertexTokenError::Sign(e.to_string()))
    }
}

/// The PKCS#1 `RSAPrivateKey` DER inside a key file's PEM, which is PKCS#8 (`BEGIN PRIVATE KEY`, as
/// Google writes it) or already PKCS#1 (`BEGIN RSA PRIVATE KEY`). The signer takes PKCS#1.
fn rsa_der(pem: &str) -> Result<Vec<u8>, VertexTokenError> {
    let pkcs8 = pem.contains("BEGIN PRIVATE KEY");
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----") && !line.is_empty())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| VertexTokenError::BadKey)?;
    if !pkcs8 {
        return Ok(der);
    }
    pkcs8_inner(&der)
        .map(<[u8]>::to_vec)
        .ok_or(VertexTokenError::BadKey)
}

/// `PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm SEQUENCE, privateKey OCTET STRING }`:
/// answers the octet string's content.
fn pkcs8_inner(der: &[u8]) -> Option<&[u8]> {
    let (tag, outer, _) = der_item(der)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, _, rest) = der_item(outer)?;
    if tag != 0x02 {
        return None;
    }
    let (tag, _, rest) = der_item(rest)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, key, _) = der_item(rest)?;
    (tag == 0x04).then_some(key)
}

/// One DER item: (tag, content, what follows it).
fn der_item(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, after) = rest.split_at_checked(count)?;
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let (content, after) = rest.split_at_checked(len)?;
    Some((tag, content, after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, DecodingKey, Validation};
    use serde_json::json;

    const PRIVATE: &str = include_str!("../../tests/fixtures/vertex_test_sa_private.pem");
    const PUBLIC: &str = include_str!("../../tests/fixtures/vertex_test_sa_public.pem");

    fn account() -> ServiceAccount {
        let map = json!({
            "type": "service_account",
            "client_email": "sa@test.iam.gserviceaccount.com",
            "private_key": PRIVATE,
        });
        ServiceAccount::parse(map.as_object().unwrap()).unwrap()
    }

    #[test]
    fn assertion_is_rs256_signed_with_the_key_files_claims() {
        let jwt = account().assertion(1_800_000_000).unwrap();
        let public = rsa_der(PUBLIC).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.set_audience(&[DEFAULT_TOKEN_URI]);
        let claims = decode::<Value>(&jwt, &DecodingKey::from_rsa_der(&public), &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["iss"], "sa@test.iam.gserviceaccount.com");
        assert_eq!(claims["scope"], SCOPE);
        assert_eq!(claims["exp"], 1_800_003_600i64);
    }

    #[test]
    fn broken_key_files_are_named() {
        let missing = json!({"client_email": "a@b"});
        assert_eq!(
            ServiceAccount::parse(missing.as_object().unwrap()).unwrap_err(),
            VertexTokenError::Missing("private_key")
        );
        let bad = json!({"client_email": "a@b", "private_key": "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n"});
        assert_eq!(
            ServiceAccount::parse(bad.as_object().unwrap()).unwrap_err(),
            VertexTokenError::BadKey
        );
        assert!(!format!("{:?}", account()).contains("PRIVATE"));
    }
}
