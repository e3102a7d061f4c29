//! Gemini thought signatures carried in Responses `reasoning` items.
//!
//! Gemini 3 rejects a replayed function call whose `thoughtSignature` is missing. A Responses client
//! replays output items unchanged (Codex sends them back with `store: false` and
//! `include: ["reasoning.encrypted_content"]`), so the gateway emits a `reasoning` item right before the
//! item whose Gemini part carried a signature, with the signature in `encrypted_content`. On the way
//! back in, that signature is put on the next model part. A prefix tells our values apart from opaque
//! values another server produced, which are ignored.

const PREFIX: &str = "gemini-thought-signature:";

/// The `encrypted_content` for a Gemini thought signature.
pub fn encode(signature: &str) -> String {
    format!("{PREFIX}{signature}")
}

/// The Gemini thought signature inside an `encrypted_content` value, if it is one of ours.
pub fn decode(encrypted_content: &str) -> Option<&str> {
    encrypted_content
        .strip_prefix(PREFIX)
        .filter(|signature| !signature.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_round_trip_and_foreign_values_are_ignored() {
        let value = encode("CiQB+/x==");
        assert_eq!(value, "gemini-thought-signature:CiQB+/x==");
        assert_eq!(decode(&value), Some("CiQB+/x=="));
        assert_eq!(decode("gAAAAABoXyz"), None);
        assert_eq!(decode("gemini-thought-signature:"), None);
    }
}
