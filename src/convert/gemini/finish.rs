//! Gemini finish reasons, read the same way by every dialect's answer.

/// Gemini finish reasons that mean the answer was withheld by a filter rather than completed.
pub fn is_content_filter_reason(reason: &str) -> bool {
    matches!(
        reason,
        "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT"
            | "IMAGE_RECITATION"
    )
}
