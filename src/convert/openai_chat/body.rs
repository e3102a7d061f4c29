//! The `/v1/chat/completions` body as the client sends it.

use crate::convert::gemini::fields::wire_body;

wire_body! {
    /// `null` reads as absent; errors name the field and say what is wrong in this API's words
    /// (`messages: must not be empty`). `extra` holds the sampling parameters, `response_format`
    /// and `reasoning_effort` that `generation_config` reads (the Responses API shares that reader);
    /// other keys there are ignored and never forwarded.
    pub struct ChatCompletionBody {
        model,
        messages,
        stream,
        /// `{"include_usage": bool}`.
        stream_options,
        tools,
        tool_choice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn the_body_names_what_it_reads_and_keeps_the_rest_apart() {
        let body = json!({
            "model": "gemini-2.5-pro", "messages": [], "stream": null,
            "temperature": 0.5, "user": "u1", "top_p": null
        });
        let parsed = ChatCompletionBody::from_value(body).unwrap();
        assert_eq!(parsed.model, Some(json!("gemini-2.5-pro")));
        assert_eq!(parsed.messages, Some(json!([])));
        // `null` reads as absent, as it did when the map was read directly.
        assert_eq!(parsed.stream, None);
        assert_eq!(parsed.tools, None);
        // The sampling parameters and unknown keys stay together, in the client's order.
        assert_eq!(
            parsed.extra.into_iter().collect::<Vec<_>>(),
            vec![
                ("temperature".to_string(), json!(0.5)),
                ("user".to_string(), json!("u1")),
                ("top_p".to_string(), Value::Null),
            ]
        );
    }
}
