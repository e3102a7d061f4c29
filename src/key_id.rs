//! How an `sk-` key is named once it has been handed out. The store keeps only the SHA-256 of a key
//! (`hash_key`) and a short prefix to recognise it by (`display_prefix`); logs, traces, counters, audit
//! entries and API answers name it by its id (`id_of_hash`), derived from the hash. Nothing here
//! depends on the rest of the crate, so every layer can name keys the same way.
//!
//! Why the id has 16 hex digits (64 bits) and not 8: the id addresses a key in the admin API
//! (`/auth/keys/{id}`) and labels its counters, so two keys must not share one. With 32 bits two of
//! ten thousand keys already share an id with a chance near 1 %; with 64 bits that chance stays below
//! one in a billion up to about 190,000 keys. (Checking each new id against every stored key would
//! make creating many keys quadratic for a risk that small.)

use sha2::{Digest, Sha256};

/// Length of a key hash: SHA-256 in lowercase hex.
pub const HASH_HEX_LEN: usize = 64;
/// Hex digits of the hash an id keeps.
pub const ID_HEX_LEN: usize = 16;
/// Characters of the key the display prefix keeps (`sk-` and four more).
const PREFIX_CHARS: usize = 7;

/// The SHA-256 of the full key, in lowercase hex: what the store keys its records by.
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `k-` and the first 16 hex digits of the key's hash.
pub fn id_of_hash(hash: &str) -> String {
    let head: String = hash.chars().take(ID_HEX_LEN).collect();
    format!("k-{head}")
}

/// The id of a full key.
pub fn id_of_key(key: &str) -> String {
    id_of_hash(&hash_key(key))
}

/// `sk-ab12…`: enough to recognise a key in a list, nothing to guess it from.
pub fn display_prefix(key: &str) -> String {
    let head: String = key.chars().take(PREFIX_CHARS).collect();
    format!("{head}…")
}

/// Whether `text` is a key hash (64 lowercase hex digits), as opposed to a key written before keys
/// were stored hashed.
pub fn is_key_hash(text: &str) -> bool {
    text.len() == HASH_HEX_LEN && is_lower_hex(text)
}

/// Whether `text` has the shape of an id (`k-` and 16 lowercase hex digits).
pub fn is_key_id(text: &str) -> bool {
    text.strip_prefix("k-")
        .is_some_and(|hex| hex.len() == ID_HEX_LEN && is_lower_hex(hex))
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_the_hash() {
        let key = "sk-0123456789abcdef";
        let hash = hash_key(key);
        assert!(is_key_hash(&hash));
        assert!(!is_key_hash(key));
        let id = id_of_key(key);
        assert_eq!(id, format!("k-{}", &hash[..16]));
        assert!(is_key_id(&id));
        assert!(!is_key_id("k-0123"));
        assert_eq!(display_prefix(key), "sk-0123…");
    }
}
