//! Session affinity: which conversation a request belongs to, so that its turns go to the same
//! credential while it stays usable. Gemini's implicit context cache lives per account and project, and
//! thought signatures are checked against the account that issued them; hopping between credentials
//! loses both.
//!
//! Every client dialect builds one [`SessionKey`] from what it knows ([`SessionParts`]) and puts it on
//! its `gateway::ModelCall`; the gateway hands it to the fleet's choice, which keeps the binding
//! table (`fleet::affinity`). Pure: the header value is read by the route.
//!
//! The conversation is identified by, first of:
//! 1. the client's own key: OpenAI chat / Responses `prompt_cache_key`; on Anthropic, Claude Code's
//!    `X-Claude-Code-Session-Id` header, else `metadata.user_id`; a Gemini-native body's `session_id`;
//! 2. the `x-session-id` request header;
//! 3. a SHA-256 of the model, the system instruction and the first user turn of the converted Gemini
//!    request — stable across the turns of one conversation, since each turn resends the history.
//!
//! A prefix-derived key of a request with no model turn yet is a *new* conversation: it is not sent to
//! an existing binding (identical first prompts of different users would otherwise all land on one
//! credential) but rotates as usual and binds the credential it gets. Client-given keys always follow
//! their binding: the client said the requests belong together.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The request header naming a session when the request body has no key of its own.
pub const SESSION_HEADER: &str = "x-session-id";

/// Identifies a conversation for session affinity. Cheap to copy; holds only a 128-bit digest, never
/// the prompt or the client's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey {
    id: u128,
    follows_binding: bool,
}

/// What a dialect knows about the conversation of one request.
#[derive(Debug, Clone, Copy)]
pub struct SessionParts<'a> {
    /// The client's own session key: OpenAI chat / Responses `prompt_cache_key`, Anthropic
    /// `X-Claude-Code-Session-Id` or `metadata.user_id`, Gemini-native `session_id`. Blank counts as
    /// absent.
    pub client_key: Option<&'a str>,
    /// The value of the [`SESSION_HEADER`] header. Blank counts as absent.
    pub header: Option<&'a str>,
    /// The model the request is for (the base model, without feature suffixes).
    pub model: &'a str,
    /// The converted Gemini request (`systemInstruction`, `contents`).
    pub gemini_request: &'a Value,
}

impl SessionKey {
    /// The session of a request, or `None` when nothing identifies it (no system instruction and no
    /// user turn).
    pub fn of(parts: SessionParts<'_>) -> Option<SessionKey> {
        let named = [parts.client_key, parts.header]
            .into_iter()
            .flatten()
            .map(str::trim)
            .find(|key| !key.is_empty());
        if let Some(key) = named {
            return Some(SessionKey {
                id: digest(&[b"client", key.as_bytes()]),
                follows_binding: true,
            });
        }
        Self::from_prefix(parts.model, parts.gemini_request)
    }

    fn from_prefix(model: &str, request: &Value) -> Option<SessionKey> {
        let contents = request
            .get("contents")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let first_user = contents
            .iter()
            .find(|c| matches!(role_of(c), None | Some("user")));
        let system = request.get("systemInstruction");
        if first_user.is_none() && system.is_none() {
            return None;
        }
        // The JSON is serialised straight into the hash (no copy of a possibly large first turn). A
        // NUL byte separates the parts: serialised JSON never contains one.
        let mut hasher = Sha256::new();
        hasher.update(b"prefix");
        hasher.update((model.len() as u64).to_le_bytes());
        hasher.update(model.as_bytes());
        for part in [system, first_user] {
            hasher.update([0u8]);
            if let Some(part) = part {
                // Writing into a hasher cannot fail; a serialisation error would only shorten the input.
                let _ = serde_json::to_writer(HashWriter(&mut hasher), part);
            }
        }
        let continues = contents.iter().any(|c| role_of(c) == Some("model"));
        Some(SessionKey {
            id: first_128_bits(hasher),
            follows_binding: continues,
        })
    }

    /// The digest the binding table is keyed by.
    pub fn id(&self) -> u128 {
        self.id
    }

    /// Whether an existing binding may be followed (false for the first turn of a conversation known
    /// only by its prefix, which rotates like any new conversation).
    pub fn follows_binding(&self) -> bool {
        self.follows_binding
    }
}

fn role_of(content: &Value) -> Option<&str> {
    content.get("role").and_then(Value::as_str)
}

/// Feeds serialised JSON into the hash.
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// SHA-256 of length-prefixed fields (so field boundaries cannot shift), first 128 bits.
fn digest(fields: &[&[u8]]) -> u128 {
    let mut hasher = Sha256::new();
    for field in fields {
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field);
    }
    first_128_bits(hasher)
}

fn first_128_bits(hasher: Sha256) -> u128 {
    let hash = hasher.finalize();
    let mut first = [0u8; 16];
    for (slot, byte) in first.iter_mut().zip(hash.iter()) {
        *slot = *byte;
    }
    u128::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(contents: Value) -> Value {
        json!({"systemInstruction": {"parts": [{"text": "be brief"}]}, "contents": contents})
    }

    fn key(client_key: Option<&str>, header: Option<&str>, req: &Value) -> Option<SessionKey> {
        SessionKey::of(SessionParts {
            client_key,
            header,
            model: "gemini-2.5-pro",
            gemini_request: req,
        })
    }

    #[test]
    fn the_prefix_is_stable_across_turns_and_only_later_turns_follow() {
        let first = request(json!([{"role": "user", "parts": [{"text": "hi"}]}]));
        let second = request(json!([
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [{"text": "hello"}]},
            {"role": "user", "parts": [{"text": "more"}]}
        ]));
        let a = key(None, None, &first).unwrap();
        let b = key(None, None, &second).unwrap();
        assert_eq!(a.id(), b.id());
        assert!(!a.follows_binding());
        assert!(b.follows_binding());
    }

    #[test]
    fn model_system_and_first_turn_each_separate_conversations() {
        let base = request(json!([{"role": "user", "parts": [{"text": "hi"}]}]));
        let other_turn = request(json!([{"role": "user", "parts": [{"text": "hello"}]}]));
        let mut other_system = base.clone();
        other_system["systemInstruction"] = json!({"parts": [{"text": "be long"}]});
        let id = |r: &Value| key(None, None, r).unwrap().id();
        assert_ne!(id(&base), id(&other_turn));
        assert_ne!(id(&base), id(&other_system));
        let other_model = SessionKey::of(SessionParts {
            client_key: None,
            header: None,
            model: "gemini-2.5-flash",
            gemini_request: &base,
        })
        .unwrap();
        assert_ne!(id(&base), other_model.id());
    }

    #[test]
    fn client_keys_win_over_the_header_and_the_prefix() {
        let req = request(json!([{"role": "user", "parts": [{"text": "hi"}]}]));
        let by_body = key(Some("conv-1"), Some("hdr"), &req).unwrap();
        let by_header = key(None, Some("conv-1"), &req).unwrap();
        let by_prefix = key(None, None, &req).unwrap();
        assert_eq!(by_body.id(), by_header.id());
        assert!(by_body.follows_binding());
        assert_ne!(by_body.id(), by_prefix.id());
        assert_eq!(key(Some("  "), None, &req).unwrap().id(), by_prefix.id());
        assert_eq!(
            key(Some(" "), Some("conv-1"), &req).unwrap().id(),
            by_header.id()
        );
    }

    #[test]
    fn nothing_to_identify_is_none() {
        assert_eq!(key(None, None, &json!({"contents": []})), None);
        assert_eq!(
            key(
                None,
                None,
                &json!({"contents": [{"role": "model", "parts": []}]})
            ),
            None
        );
    }
}
