//! Fake streaming (`假流式/` models): the answer comes from one non-streaming upstream call, while the
//! client holds a stream open. Heartbeats keep idle proxies and clients from giving up meanwhile;
//! the finished response is then sent as stream chunks. The OpenAI side sends the whole response
//! through `OpenAiStreamConverter` (one `on_event`, then `finish`), reusing its id for heartbeats.

use serde_json::{json, Map, Value};

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
}
