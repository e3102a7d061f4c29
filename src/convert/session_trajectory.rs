//! The Code Assist `session_id`, which Google also reads as the conversation's trajectory id. The
//! Gemini CLI puts it inside `request`, keeps it for a whole session and starts a new one when it
//! falls back to another model "to prevent stateful API errors". The gateway does the same for every
//! client: the id is derived from the conversation's session key (`convert::session_key`) and the
//! model, so it is stable across the turns of a conversation — on every instance, without shared
//! state — and new when the conversation changes model (going back to a model finds that model's
//! trajectory again). A `session_id` the client sent itself (Gemini-native bodies) is kept.
//!
//! Only Code Assist knows the field: `upstream::kind::request_for` removes it for the bare APIs.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::session_key::SessionKey;

/// The field inside the Code Assist `request`.
pub const SESSION_ID_FIELD: &str = "session_id";

/// A UUID-shaped id (version 4 layout, as the CLI's random ones) for the conversation on `model`.
/// It reveals nothing of the session key but its equality.
pub fn session_id(session: SessionKey, model: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"code-assist-session");
    hasher.update(session.id().to_le_bytes());
    hasher.update(model.as_bytes());
    let hash = hasher.finalize();
    let mut bytes = [0u8; 16];
    for (slot, byte) in bytes.iter_mut().zip(hash.iter()) {
        *slot = *byte;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// Gives `request` the conversation's `session_id` unless it has one (the client's) or nothing
/// identifies the conversation.
pub fn stamp(request: &mut Value, session: Option<SessionKey>, model: &str) {
    let (Some(session), Some(object)) = (session, request.as_object_mut()) else {
        return;
    };
    if !object.contains_key(SESSION_ID_FIELD) {
        object.insert(
            SESSION_ID_FIELD.into(),
            Value::String(session_id(session, model)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::session_key::SessionParts;
    use serde_json::json;

    fn key(name: &str) -> SessionKey {
        SessionKey::of(SessionParts {
            client_key: Some(name),
            header: None,
            model: "gemini-2.5-pro",
            gemini_request: &json!({}),
        })
        .unwrap()
    }

    #[test]
    fn one_id_per_conversation_and_model() {
        let a = session_id(key("conv-a"), "gemini-2.5-pro");
        assert_eq!(a, session_id(key("conv-a"), "gemini-2.5-pro"));
        assert_ne!(a, session_id(key("conv-b"), "gemini-2.5-pro"));
        assert_ne!(a, session_id(key("conv-a"), "gemini-2.5-flash"));
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert_eq!(a.get(14..15), Some("4"));
        assert!(!a.contains("conv-a"));
    }

    #[test]
    fn the_clients_own_id_is_kept() {
        let mut own = json!({"contents": [], "session_id": "cli-session"});
        stamp(&mut own, Some(key("c")), "gemini-2.5-pro");
        assert_eq!(own["session_id"], "cli-session");
        let mut fresh = json!({"contents": []});
        stamp(&mut fresh, None, "gemini-2.5-pro");
        assert!(fresh.get("session_id").is_none());
        stamp(&mut fresh, Some(key("c")), "gemini-2.5-pro");
        assert_eq!(
            fresh["session_id"],
            json!(session_id(key("c"), "gemini-2.5-pro"))
        );
    }
}
