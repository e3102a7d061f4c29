//! Fake streaming (`假流式/` models): the answer comes from one non-streaming upstream call, while the
//! client holds a stream open. Heartbeats keep idle proxies and clients from giving up meanwhile;
//! the finished response is then sent as stream chunks. The OpenAI side sends the whole response
//! through `OpenAiStreamConverter` (one `on_event`, then `finish`), reusing its id for heartbeats.

use serde_json::{json, Map, Value};

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

/// An empty model turn that Gemini clients accept as a normal stream chunk.
pub fn gemini_heartbeat_chunk() -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "index": 0}]})
}

/// Re-emits a complete unwrapped Gemini response as stream chunks: a single chunk holding every
/// part, the finish reason and the usage, as a real stream's last event would.
pub fn gemini_response_as_chunks(resp: &Value) -> Vec<Value> {
    let Some(body) = resp.as_object() else {
        return Vec::new();
    };
    let mut chunk: Map<String, Value> = body.clone();
    if let Some(candidates) = chunk.get_mut("candidates").and_then(Value::as_array_mut) {
        for (position, candidate) in candidates.iter_mut().enumerate() {
            let Some(candidate) = candidate.as_object_mut() else {
                continue;
            };
            candidate.entry("index").or_insert_with(|| json!(position));
            let content = candidate
                .entry("content")
                .or_insert_with(|| json!({"parts": []}));
            if let Some(content) = content.as_object_mut() {
                content.entry("role").or_insert_with(|| json!("model"));
            }
        }
    }
    vec![Value::Object(chunk)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::openai_response::{OpenAiStreamConverter, ResponseOptions};

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
    fn gemini_heartbeat_shape() {
        assert_eq!(
            gemini_heartbeat_chunk(),
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "index": 0}]})
        );
    }

    #[test]
    fn gemini_response_becomes_one_chunk_with_everything() {
        let resp = json!({
            "candidates": [{
                "content": {"parts": [{"text": "plan", "thought": true}, {"text": "Hi"}]},
                "finishReason": "STOP"
            }],
            "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 1, "totalTokenCount": 3},
            "modelVersion": "gemini-2.5-pro"
        });
        assert_eq!(
            gemini_response_as_chunks(&resp),
            vec![json!({
                "candidates": [{
                    "content": {"role": "model", "parts": [{"text": "plan", "thought": true}, {"text": "Hi"}]},
                    "finishReason": "STOP",
                    "index": 0
                }],
                "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 1, "totalTokenCount": 3},
                "modelVersion": "gemini-2.5-pro"
            })]
        );
        assert!(gemini_response_as_chunks(&json!("not a response")).is_empty());
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
