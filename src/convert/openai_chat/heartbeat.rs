//! The OpenAI side of fake streaming (see `convert::gemini::fake_stream`): an empty assistant delta sent
//! while the one non-streaming upstream call runs, then the whole answer through `OpenAiStreamConverter`.

use serde_json::{json, Value};

/// An empty assistant delta that OpenAI clients accept as a normal chunk.
pub fn openai_heartbeat_chunk(id: &str, created: i64, model: &str) -> Value {
    json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::openai_chat::response::{OpenAiStreamConverter, ResponseOptions};

    #[test]
    fn openai_heartbeat_is_a_complete_chunk() {
        assert_eq!(
            openai_heartbeat_chunk("chatcmpl-1", 1_700_000_000, "gemini-2.5-pro"),
            json!({
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1_700_000_000,
                "model": "gemini-2.5-pro",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]
            })
        );
    }

    #[test]
    fn heartbeat_then_converted_response_share_the_stream_id() {
        let mut conv = OpenAiStreamConverter::new(
            "m",
            ResponseOptions {
                return_thoughts: false,
            },
            false,
        );
        let heartbeat = openai_heartbeat_chunk(conv.id(), conv.created(), conv.model());
        let resp = json!({"candidates": [{"content": {"parts": [{"text": "All of it"}]}, "finishReason": "MAX_TOKENS"}]});
        let mut chunks = vec![heartbeat];
        chunks.extend(conv.on_event(&resp));
        chunks.extend(conv.finish());
        let choices: Vec<Value> = chunks.iter().map(|c| c["choices"].clone()).collect();
        assert_eq!(
            choices,
            vec![
                json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
                json!([{"index": 0, "delta": {"role": "assistant", "content": "All of it"}, "finish_reason": null}]),
                json!([{"index": 0, "delta": {}, "finish_reason": "length"}]),
            ]
        );
        assert!(chunks.iter().all(|c| c["id"] == chunks[0]["id"]));
    }
}
