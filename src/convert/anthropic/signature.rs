//! Gemini thought signatures carried through Anthropic clients.
//!
//! Gemini 3 wants every signature back on the exact part it came with. Anthropic clients keep a
//! `thinking` block's `signature` (and a `redacted_thinking` block's `data`) verbatim, so that is where
//! signatures of thought and text parts travel, tagged with the part they belong to:
//!
//! - `gcli2api:thought:<sig>` — the thought part that this thinking block stands for;
//! - `gcli2api:part:<sig>` — the text part just before this block in the same turn (Gemini puts a
//!   text answer's signature on its last text part, often an empty one).
//!
//! Function-call signatures travel in the `tool_use` id instead (see `tool_call_id`), which every
//! client echoes back in `tool_result`. Signatures from real Anthropic models never start with the
//! prefix (they are base64, which has no `:`), so they are recognised as foreign and dropped.

const PREFIX: &str = "gcli2api:";
const THOUGHT: &str = "thought:";
const PART: &str = "part:";

/// Which Gemini part a signature was attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureTarget {
    /// The thought part the thinking block itself stands for.
    Thought(String),
    /// The (text) part right before the thinking block.
    PrecedingPart(String),
}

pub fn encode_thought(signature: &str) -> String {
    format!("{PREFIX}{THOUGHT}{signature}")
}

pub fn encode_part(signature: &str) -> String {
    format!("{PREFIX}{PART}{signature}")
}

/// `None` for empty, foreign or malformed signatures: those must never reach Gemini.
pub fn decode(signature: &str) -> Option<SignatureTarget> {
    let rest = signature.strip_prefix(PREFIX)?;
    if let Some(sig) = rest.strip_prefix(THOUGHT).filter(|s| !s.is_empty()) {
        return Some(SignatureTarget::Thought(sig.to_owned()));
    }
    rest.strip_prefix(PART)
        .filter(|s| !s.is_empty())
        .map(|sig| SignatureTarget::PrecedingPart(sig.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_targets_round_trip() {
        assert_eq!(
            decode(&encode_thought("Q+/=")),
            Some(SignatureTarget::Thought("Q+/=".into()))
        );
        assert_eq!(
            decode(&encode_part("c2ln")),
            Some(SignatureTarget::PrecedingPart("c2ln".into()))
        );
    }

    #[test]
    fn foreign_empty_and_malformed_signatures_are_dropped() {
        for foreign in [
            "",
            "ErUBCkYIBxgCIkB3",
            "gcli2api:",
            "gcli2api:thought:",
            "gcli2api:other:abc",
            "xgcli2api:part:abc",
        ] {
            assert_eq!(decode(foreign), None, "{foreign}");
        }
    }
}
