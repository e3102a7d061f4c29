//! Tool-call ids that carry a Gemini thought signature.
//!
//! Gemini 3 rejects a replayed `functionCall` whose `thoughtSignature` is missing, while OpenAI clients
//! echo back nothing but the tool-call id. The signature therefore travels inside the id:
//! `<plain id>__sig__<signature>`. Signatures are base64 already, so they are embedded unchanged.

use std::fmt::Write;

const SIGNATURE_SEPARATOR: &str = "__sig__";

/// Builds the id handed to OpenAI clients: the plain id, or the plain id with the signature appended.
pub fn encode(plain_id: &str, signature: Option<&str>) -> String {
    match signature.filter(|sig| !sig.is_empty()) {
        Some(sig) => format!("{plain_id}{SIGNATURE_SEPARATOR}{sig}"),
        None => plain_id.to_owned(),
    }
}

/// Splits an id produced by [`encode`] into the plain id and the signature, if any.
pub fn decode(id: &str) -> (String, Option<String>) {
    match id.split_once(SIGNATURE_SEPARATOR) {
        Some((plain, sig)) if !sig.is_empty() => (plain.to_owned(), Some(sig.to_owned())),
        Some((plain, _)) => (plain.to_owned(), None),
        None => (id.to_owned(), None),
    }
}

/// A fresh OpenAI-style id for a function call that Gemini sent without one.
pub fn new_call_id() -> String {
    let bytes: [u8; 12] = rand::random();
    let mut id = String::with_capacity(5 + 2 * bytes.len());
    id.push_str("call_");
    for byte in bytes {
        // Writing into a String cannot fail.
        let _ = write!(id, "{byte:02x}");
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_without_signature_stays_plain() {
        assert_eq!(encode("call_abc", None), "call_abc");
        assert_eq!(encode("call_abc", Some("")), "call_abc");
        assert_eq!(decode("call_abc"), ("call_abc".to_owned(), None));
    }

    #[test]
    fn signature_round_trips() {
        let sig = "CiQB0e2Kb+/x9z==";
        let id = encode("call_abc", Some(sig));
        assert_eq!(id, "call_abc__sig__CiQB0e2Kb+/x9z==");
        assert_eq!(decode(&id), ("call_abc".to_owned(), Some(sig.to_owned())));
    }

    #[test]
    fn url_safe_signature_containing_separator_characters_round_trips() {
        let sig = "ab__sig__cd_-";
        let id = encode("fc_1", Some(sig));
        assert_eq!(decode(&id), ("fc_1".to_owned(), Some(sig.to_owned())));
    }

    #[test]
    fn dangling_separator_means_no_signature() {
        assert_eq!(decode("call_x__sig__"), ("call_x".to_owned(), None));
    }

    #[test]
    fn new_ids_are_call_prefixed_hex_and_distinct() {
        let a = new_call_id();
        let b = new_call_id();
        assert_eq!(a.len(), 29);
        assert!(a.starts_with("call_"));
        assert!(a[5..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }
}
