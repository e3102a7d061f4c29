//! Pure conversion and shaping. One folder per client dialect (`openai_chat`, `anthropic`,
//! `responses`, `gemini_native`), each with its request, response/stream and dialect files, over the
//! shared Gemini core (`gemini`: model names and features, parts, tool names and schema cleaning, tool
//! turns, validation). A dialect folder uses `gemini` and never another dialect's folder. Beside them
//! what the gateway uses whatever the dialect: the `Dialect` trait and SSE helpers (`dialect`),
//! conversation naming (`session_key`, `session_trajectory`), input limits and the anti-truncation
//! text rules. No I/O here: remote images are fetched by the caller and handed in, so every rule can
//! be tested with plain JSON.

pub mod anthropic;
pub mod anti_truncation;
pub mod dialect;
pub mod gemini;
pub mod gemini_native;
pub mod input_limits;
pub mod openai_chat;
pub mod responses;
pub mod session_key;
pub mod session_trajectory;

/// Runtime switches that change how requests are converted (hot-reloadable config values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvertOptions {
    /// Send every system message as a user message (for upstream paths that reject `systemInstruction`).
    pub compatibility_mode: bool,
    /// Ask Gemini to include its thoughts in the answer.
    pub return_thoughts: bool,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        Self {
            compatibility_mode: false,
            return_thoughts: true,
        }
    }
}

/// A client request that cannot be converted. The message is meant for the API client and always
/// starts with the offending field, e.g. `messages[2].role: unknown role "foo"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("{message}")]
    Invalid { field: String, message: String },
}

impl ConvertError {
    /// `detail` is prefixed with the field path, so callers only describe what is wrong.
    pub fn invalid(field: impl Into<String>, detail: impl AsRef<str>) -> Self {
        let field = field.into();
        let detail = detail.as_ref();
        let message = if field.is_empty() {
            detail.to_owned()
        } else {
            format!("{field}: {detail}")
        };
        ConvertError::Invalid { field, message }
    }

    /// The JSON path of the offending field (`model`, `messages[1].content[0].image_url.url`, …).
    pub fn field(&self) -> &str {
        match self {
            ConvertError::Invalid { field, .. } => field,
        }
    }

    /// The client-facing message (field path included).
    pub fn message(&self) -> &str {
        match self {
            ConvertError::Invalid { message, .. } => message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_prefixes_the_field_into_the_message() {
        let err = ConvertError::invalid("messages[2].role", "unknown role \"foo\"");
        assert_eq!(err.field(), "messages[2].role");
        assert_eq!(err.to_string(), "messages[2].role: unknown role \"foo\"");
        assert_eq!(err.message(), err.to_string());
    }

    #[test]
    fn default_options_return_thoughts_without_compatibility_mode() {
        let opts = ConvertOptions::default();
        assert!(!opts.compatibility_mode);
        assert!(opts.return_thoughts);
    }
}
