//! The `/v1/responses` body (also a WebSocket `response.create` frame and `/v1/responses/compact`)
//! as the client sends it.

use serde_json::Value;

use crate::convert::gemini::fields::wire_body;

wire_body! {
    /// `null` reads as absent; errors name the Responses field in this API's words
    /// (`input: must not be empty`). The settings that are only echoed back are named too, so they
    /// come back exactly as sent; keys not named here (`include`, `client_metadata`, …) are
    /// ignored.
    pub struct ResponsesBody {
        model,
        /// A string (one user message) or an array of items.
        input,
        instructions,
        previous_response_id,
        tools,
        tool_choice,
        parallel_tool_calls,
        stream,
        /// Keep the response for `previous_response_id` and `GET` (default true).
        store,
        /// Codex's warm-up: `false` answers an empty response without calling Google.
        generate,
        /// The client's cache / session key, used for credential affinity.
        prompt_cache_key,
        temperature,
        top_p,
        max_output_tokens,
        /// `{"effort", "summary"}`: `effort` is read, the whole object echoed.
        reasoning,
        /// `{"format": {"type", "schema", …}}`.
        text,
        /// Echoed only.
        truncation,
        /// Echoed only.
        metadata,
        /// Echoed only.
        user,
    }
}

impl ResponsesBody {
    /// `generate: false`: a warm-up, answered without calling Google. Anything else generates.
    pub fn is_warm_up(&self) -> bool {
        self.generate.as_ref().and_then(Value::as_bool) == Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_body_names_what_it_reads_and_keeps_the_rest_apart() {
        let body = ResponsesBody::from_value(json!({
            "model": "gemini-2.5-flash", "input": "hi", "stream": null, "user": "u1",
            "include": ["reasoning.encrypted_content"], "client_metadata": {"x": "y"}
        }))
        .unwrap();
        assert_eq!(body.model, Some(json!("gemini-2.5-flash")));
        assert_eq!(body.input, Some(json!("hi")));
        // `null` reads as absent, as it did when the map was read directly.
        assert_eq!(body.stream, None);
        assert_eq!(body.user, Some(json!("u1")));
        assert!(!body.is_warm_up());
        // Unknown keys are kept apart, in the client's order, and never read.
        assert_eq!(
            body.extra.into_iter().collect::<Vec<_>>(),
            vec![
                (
                    "include".to_string(),
                    json!(["reasoning.encrypted_content"])
                ),
                ("client_metadata".to_string(), json!({"x": "y"})),
            ]
        );
    }

    #[test]
    fn only_an_object_is_a_body_and_only_false_is_a_warm_up() {
        let err = ResponsesBody::from_value(json!([])).unwrap_err();
        assert_eq!(err.to_string(), "body: must be a JSON object");
        // Wrong-typed fields are the converter's to refuse, with its own words.
        let body = ResponsesBody::from_value(json!({"store": 1, "generate": "no"})).unwrap();
        assert_eq!(body.store, Some(json!(1)));
        assert!(!body.is_warm_up());
        assert!(ResponsesBody::from_value(json!({"generate": false}))
            .unwrap()
            .is_warm_up());
    }
}
