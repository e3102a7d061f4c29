//! The key that seals remote-compaction summaries (`POST /v1/responses/compact`, `compaction_trigger`).
//!
//! A summary leaves the gateway only inside a `compaction` item's `encrypted_content`, sealed with
//! AES-256-GCM under a key only the gateway holds: the client can carry it but neither read nor alter
//! it, and a blob from another gateway (or a changed byte) fails to open. Like the panel's JWT secret
//! the key is created once and kept in the store, so every instance sharing the store opens what any
//! of them sealed, and restarts do not invalidate the summaries clients still hold.
//!
//! Blob format: `gcmp1.` + base64url(12-byte random nonce ‖ ciphertext ‖ 16-byte tag). The prefix
//! names the format version and is also the authenticated associated data.

use base64::Engine;
use rand::RngCore;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use serde_json::{Map, Value};

use crate::store::{Store, StoreError};

/// Config-store key of the sealing key (not a user-editable setting).
const KEY_NAME: &str = "_compaction_key";
const PREFIX: &str = "gcmp1.";
const KEY_LEN: usize = 32;
/// Longest blob accepted for opening; a summary is a few thousand tokens, far below this.
pub const MAX_BLOB_LEN: usize = 4 * 1024 * 1024;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("encrypted_content was not made by this gateway or was changed")]
    Invalid,
    #[error("encrypted_content is longer than {MAX_BLOB_LEN} bytes")]
    TooLong,
    #[error("the compaction key could not be used")]
    Key,
}

/// Seals and opens compaction summaries.
pub struct CompactionSeal {
    key: LessSafeKey,
}

impl std::fmt::Debug for CompactionSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompactionSeal(…)")
    }
}

impl CompactionSeal {
    pub fn from_key(bytes: &[u8]) -> Result<Self, SealError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::Key)?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// The stored key, or a new random one saved for every instance (the first saved wins).
    pub async fn load_or_create(store: &dyn Store) -> Result<Self, StoreError> {
        let bytes = load_or_create_key(store).await?;
        Self::from_key(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    pub fn seal(&self, summary: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut in_out = summary.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(PREFIX.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| SealError::Key)?;
        let mut raw = Vec::with_capacity(NONCE_LEN + in_out.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&in_out);
        Ok(format!("{PREFIX}{}", B64.encode(raw)))
    }

    pub fn open(&self, blob: &str) -> Result<String, SealError> {
        if blob.len() > MAX_BLOB_LEN {
            return Err(SealError::TooLong);
        }
        let encoded = blob.strip_prefix(PREFIX).ok_or(SealError::Invalid)?;
        let mut raw = B64.decode(encoded).map_err(|_| SealError::Invalid)?;
        if raw.len() < NONCE_LEN {
            return Err(SealError::Invalid);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(raw.get(..NONCE_LEN).ok_or(SealError::Invalid)?);
        let sealed = raw.get_mut(NONCE_LEN..).ok_or(SealError::Invalid)?;
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(PREFIX.as_bytes()),
                sealed,
            )
            .map_err(|_| SealError::Invalid)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SealError::Invalid)
    }
}

async fn load_or_create_key(store: &dyn Store) -> Result<Vec<u8>, StoreError> {
    let stored = |config: &Map<String, Value>| {
        config
            .get(KEY_NAME)
            .and_then(Value::as_str)
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .filter(|bytes| bytes.len() == KEY_LEN)
    };
    if let Some(bytes) = stored(&store.load_config().await?) {
        return Ok(bytes);
    }
    let mut bytes = vec![0u8; KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut change = Map::new();
    change.insert(
        KEY_NAME.into(),
        Value::String(base64::engine::general_purpose::STANDARD.encode(&bytes)),
    );
    store.save_config(&change).await?;
    // Another instance may have saved its key first: use whichever the store kept.
    Ok(stored(&store.load_config().await?).unwrap_or(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal() -> CompactionSeal {
        CompactionSeal::from_key(&[7u8; 32]).unwrap()
    }

    #[test]
    fn a_sealed_summary_opens_and_is_not_readable() {
        let s = seal();
        let blob = s.seal("the user wants the tests fixed").unwrap();
        assert!(blob.starts_with(PREFIX));
        assert!(!blob.contains("tests"));
        let raw = B64.decode(blob.strip_prefix(PREFIX).unwrap()).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("tests fixed"));
        assert_eq!(s.open(&blob).unwrap(), "the user wants the tests fixed");
        // Random nonces: the same summary never seals to the same blob.
        assert_ne!(s.seal("x").unwrap(), s.seal("x").unwrap());
    }

    #[test]
    fn changed_or_foreign_blobs_do_not_open() {
        let s = seal();
        let blob = s.seal("summary").unwrap();
        let mut raw = B64.decode(blob.strip_prefix(PREFIX).unwrap()).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let tampered = format!("{PREFIX}{}", B64.encode(&raw));
        assert_eq!(s.open(&tampered), Err(SealError::Invalid));
        let other = CompactionSeal::from_key(&[8u8; 32]).unwrap();
        assert_eq!(other.open(&blob), Err(SealError::Invalid));
        for bad in ["", "gcmp1.", "gcmp1.!!", "nope", "gcmp1.AAAA"] {
            assert_eq!(s.open(bad), Err(SealError::Invalid), "{bad}");
        }
        assert_eq!(
            s.open(&"a".repeat(MAX_BLOB_LEN + 1)),
            Err(SealError::TooLong)
        );
    }
}
