//! The `/v1/messages` (and `/v1/messages/count_tokens`) body as the client sends it.

use serde_json::Value;

use crate::convert::gemini::fields::wire_body;

wire_body! {
    /// `null` reads as absent, as everywhere in this API; errors name the field in the Messages
    /// API's dotted form and words (`max_tokens: Field required`). Keys not named here
    /// (`context_management`, `service_tier`, …) are ignored.
    pub struct AnthropicMessagesBody {
        /// A Claude or Gemini name; Claude names are mapped (`ANTHROPIC_MODEL_MAP`).
        model,
        messages,
        /// A string or an array of text blocks.
        system,
        max_tokens,
        stream,
        tools,
        tool_choice,
        /// `{"type": "enabled" | "adaptive" | "disabled", "budget_tokens", "display"}`.
        thinking,
        /// `{"effort": "low" | … | "max"}`.
        output_config,
        temperature,
        top_p,
        top_k,
        stop_sequences,
        /// `"default"`: the client accepts an answer from another model (`ANTHROPIC_FALLBACK_MAP`).
        fallbacks,
        /// Only `user_id` is read: it names the conversation for session affinity.
        metadata,
    }
}

impl AnthropicMessagesBody {
    /// `metadata.user_id`, when it is a string.
    pub fn user_id(&self) -> Option<&str> {
        self.metadata
            .as_ref()
            .and_then(|metadata| metadata.get("user_id"))
            .and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_body_names_what_it_reads_and_keeps_the_rest_apart() {
        let body = AnthropicMessagesBody::from_value(json!({
            "model": "claude-opus-4", "max_tokens": 10, "messages": [], "stream": null,
            "metadata": {"user_id": "u1"}, "service_tier": "auto", "context_management": null
        }))
        .unwrap();
        assert_eq!(body.model, Some(json!("claude-opus-4")));
        assert_eq!(body.max_tokens, Some(json!(10)));
        assert_eq!(body.messages, Some(json!([])));
        // `null` reads as absent, as it did when the map was read directly.
        assert_eq!(body.stream, None);
        assert_eq!(body.user_id(), Some("u1"));
        // Unknown keys are kept apart, in the client's order, and never read.
        assert_eq!(
            body.extra.into_iter().collect::<Vec<_>>(),
            vec![
                ("service_tier".to_string(), json!("auto")),
                ("context_management".to_string(), Value::Null),
            ]
        );
    }

    #[test]
    fn only_an_object_is_a_body() {
        let err = AnthropicMessagesBody::from_value(json!([])).unwrap_err();
        assert_eq!(err.to_string(), "body: must be a JSON object");
        // Wrong-typed fields are the converter's to refuse, with its own words.
        let body = AnthropicMessagesBody::from_value(json!({"model": 3, "stream": "yes"})).unwrap();
        assert_eq!(body.model, Some(json!(3)));
        assert_eq!(body.stream, Some(json!("yes")));
        assert_eq!(
            AnthropicMessagesBody::from_value(json!({"metadata": {"user_id": 7}}))
                .unwrap()
                .user_id(),
            None
        );
    }
}
