//! Pure conversion and shaping: model-name features, OpenAI and Anthropic ⇄ Gemini bodies,
//! Gemini-native request preparation, tool-schema cleaning, the client dialects that render Google's
//! answers (`dialect`, `openai_dialect`, `gemini_dialect`, `anthropic_dialect`), fake-stream chunks and
//! the anti-truncation text rules. No I/O here: remote images are fetched by the caller and handed in,
//! so every rule can be tested with plain JSON.

pub mod anthropic_blocks;
pub mod anthropic_context;
pub mod anthropic_dialect;
pub mod anthropic_effort;
pub mod anthropic_fallback;
pub mod anthropic_messages;
pub mod anthropic_model;
pub mod anthropic_request;
pub mod anthropic_response;
pub mod anthropic_signature;
pub mod anthropic_stop;
pub mod anthropic_stream;
pub mod anthropic_tools;
pub mod anti_truncation;
pub mod detect;
pub mod dialect;
pub mod fake_stream;
pub mod features;
pub mod gemini_dialect;
pub mod gemini_request;
pub mod gemini_validate;
pub mod input_limits;
pub mod lenient_json;
pub mod model_name;
pub mod model_name_check;
pub mod openai_content;
pub mod openai_dialect;
pub mod openai_messages;
pub mod openai_params;
pub mod openai_request;
pub mod openai_response;
pub mod openai_tool_turns;
pub mod openai_tools;
pub mod output_limit;
pub mod remote_images;
pub mod responses_compaction;
pub mod responses_compaction_dialect;
pub mod responses_content;
pub mod responses_dialect;
pub mod responses_header;
pub mod responses_input;
pub mod responses_request;
pub mod responses_response;
pub mod responses_signature;
pub mod responses_tools;
pub mod schema;
pub mod session_key;
pub mod session_trajectory;
pub mod tool_call_id;

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
