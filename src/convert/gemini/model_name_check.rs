//! What a client-chosen model name may look like, checked before the name is used anywhere: in an
//! upstream URL or header, a metric label, the request history or a log line. Every model Google
//! serves is named with ASCII letters, digits and `. _ : / -`; the gateway's own features add the two
//! streaming prefixes (`假流式/`, `流式抗截断/`, and their old suffix forms). Anything else — control
//! characters, spaces, `%`, `?`, `#`, a megabyte of text — is refused with a 400 that does not repeat
//! the name.

use crate::convert::ConvertError;

/// Answer a streaming request with one non-streaming upstream call cut into chunks.
pub const FAKE_STREAM_PREFIX: &str = "假流式/";
/// Stream, and continue the answer when it ends without the completion marker.
pub const ANTI_TRUNCATION_PREFIX: &str = "流式抗截断/";

/// Longest model name accepted, in bytes (feature prefix included).
pub const MAX_MODEL_NAME_BYTES: usize = 128;

/// The streaming markers of the time they were suffixes; still accepted (see `model_name`).
const LEGACY_MARKERS: [&str; 2] = ["-假流式", "-流式抗截断"];

/// Whether `name` may be used as a model name: at most [`MAX_MODEL_NAME_BYTES`] bytes of
/// `[A-Za-z0-9._:/-]` after an optional feature prefix. With `context_tags`, bracketed context tags
/// (`claude-opus-4-8[1m]`, Anthropic clients) are allowed too.
pub fn check_model_name(name: &str, context_tags: bool) -> Result<(), ConvertError> {
    if name.len() > MAX_MODEL_NAME_BYTES {
        return Err(ConvertError::invalid(
            "model",
            format!("must be at most {MAX_MODEL_NAME_BYTES} bytes"),
        ));
    }
    let rest = name
        .strip_prefix(FAKE_STREAM_PREFIX)
        .or_else(|| name.strip_prefix(ANTI_TRUNCATION_PREFIX))
        .unwrap_or(name);
    let mut plain = rest.to_owned();
    for marker in LEGACY_MARKERS {
        plain = plain.replace(marker, "");
    }
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '.' | '_' | ':' | '/' | '-')
            || (context_tags && matches!(c, '[' | ']'))
    };
    // `.` and `..` as a segment mean a path to any URL resolver, never a model.
    let climbs = plain
        .split('/')
        .any(|segment| segment == "." || segment == "..");
    if climbs || !plain.chars().all(allowed) {
        return Err(ConvertError::invalid(
            "model",
            "may contain only letters, digits and . _ : / - (after an optional 假流式/ or 流式抗截断/ prefix), and no . or .. segment",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_names_and_feature_prefixes_pass() {
        for name in [
            "gemini-2.5-pro",
            "models/gemini-2.5-flash-high-search",
            "假流式/gemini-2.5-flash",
            "流式抗截断/gemini-3-pro-preview-low",
            "gemini-2.5-pro-假流式",
            "tunedModels/my_model.v1:latest",
        ] {
            assert!(check_model_name(name, false).is_ok(), "{name}");
        }
        assert!(check_model_name("claude-opus-4-8[1m]", true).is_ok());
    }

    #[test]
    fn anything_else_is_refused_without_repeating_the_name() {
        let long = "a".repeat(MAX_MODEL_NAME_BYTES + 1);
        for name in [
            long.as_str(),
            "gemini-2.5-pro\r\nX-Injected: 1",
            "gemini%2F..%2Fv1beta",
            "gemini-2.5-flash/../../v1beta/cachedContents",
            "./gemini",
            "gemini?alt=json",
            "gemini#frag",
            "gemini 2.5",
            "gemini\0",
            "gemini-2.5-pro[1m]",
            "假流式/假流式/gemini",
            "模型",
        ] {
            let err = check_model_name(name, false).unwrap_err();
            assert_eq!(err.field(), "model");
            assert!(!err.message().contains(name), "{name}");
        }
        assert!(check_model_name(&"a".repeat(MAX_MODEL_NAME_BYTES), false).is_ok());
    }
}
