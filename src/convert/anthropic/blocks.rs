//! Single Anthropic content blocks → Gemini parts: images (base64, data or http(s) URL), documents
//! (PDF base64, plain text, nested content) and system text. Remote images must already be fetched by
//! the caller.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::convert::anthropic::body::AnthropicMessagesBody;
use crate::convert::gemini::parts::parse_data_url;
use crate::convert::gemini::parts::InlineImage;
use crate::convert::gemini::remote_images::RemoteUrls;
use crate::convert::ConvertError;

/// Claude Code puts this attribution line first in `system`; it is metadata, not an instruction.
const BILLING_HEADER_PREFIX: &str = "x-anthropic-billing-header:";

/// The block's `type` and its fields.
pub fn block_type<'a>(
    block: &'a Value,
    field: &str,
) -> Result<(&'a str, &'a Map<String, Value>), ConvertError> {
    let Some(obj) = block.as_object() else {
        return Err(ConvertError::invalid(field, "must be an object"));
    };
    match obj.get("type") {
        Some(Value::String(kind)) => Ok((kind.as_str(), obj)),
        None | Some(Value::Null) => Err(ConvertError::invalid(
            format!("{field}.type"),
            "Field required",
        )),
        Some(_) => Err(ConvertError::invalid(
            format!("{field}.type"),
            "must be a string",
        )),
    }
}

pub fn required_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'a str, ConvertError> {
    match obj.get(key) {
        Some(Value::String(text)) => Ok(text),
        None | Some(Value::Null) => Err(ConvertError::invalid(
            format!("{field}.{key}"),
            "Field required",
        )),
        Some(_) => Err(ConvertError::invalid(
            format!("{field}.{key}"),
            "must be a string",
        )),
    }
}

/// `system` (a string or text blocks) → text parts, without Claude Code's billing header.
pub fn system_parts(system: Option<&Value>) -> Result<Vec<Value>, ConvertError> {
    match system {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(system_text_part(text).into_iter().collect()),
        Some(Value::Array(blocks)) => system_texts(blocks, "system"),
        Some(_) => Err(ConvertError::invalid(
            "system",
            "must be a string or an array of text blocks",
        )),
    }
}

/// Text blocks of a system prompt or a `system` message → text parts.
pub fn system_texts(blocks: &[Value], field: &str) -> Result<Vec<Value>, ConvertError> {
    let mut parts = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let block_field = if field == "system" {
            format!("system.{i}")
        } else {
            format!("{field}.content.{i}")
        };
        let (kind, obj) = block_type(block, &block_field)?;
        if kind != "text" {
            return Err(ConvertError::invalid(
                format!("{block_field}.type"),
                "system content may only contain text blocks",
            ));
        }
        parts.extend(system_text_part(required_str(obj, "text", &block_field)?));
    }
    Ok(parts)
}

fn system_text_part(text: &str) -> Option<Value> {
    let billing = text.trim_start().starts_with(BILLING_HEADER_PREFIX);
    (!text.is_empty() && !billing).then(|| json!({"text": text}))
}

fn inline_data(mime_type: &str, data: &str) -> Value {
    json!({"inlineData": {"mimeType": mime_type, "data": data}})
}

fn source_of<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
) -> Result<(&'a str, &'a Map<String, Value>, String), ConvertError> {
    let source_field = format!("{field}.source");
    let Some(Value::Object(source)) = obj.get("source") else {
        return Err(ConvertError::invalid(source_field, "Field required"));
    };
    let (kind, _) = block_type(obj.get("source").unwrap_or(&Value::Null), &source_field)?;
    Ok((kind, source, source_field))
}

fn base64_source(source: &Map<String, Value>, field: &str) -> Result<Value, ConvertError> {
    let mime = required_str(source, "media_type", field)?;
    let data = required_str(source, "data", field)?;
    if !mime.contains('/') || data.is_empty() || !is_base64(data) {
        return Err(ConvertError::invalid(
            format!("{field}.data"),
            "must be base64 data with a media_type such as image/png",
        ));
    }
    Ok(inline_data(mime, data))
}

/// Standard or URL-safe alphabet, padding allowed; both are accepted upstream.
fn is_base64(data: &str) -> bool {
    data.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=' | b'\n'))
}

/// An `image` block → `inlineData`.
pub fn image_part(
    obj: &Map<String, Value>,
    field: &str,
    images: &HashMap<String, InlineImage>,
) -> Result<Value, ConvertError> {
    let (kind, source, source_field) = source_of(obj, field)?;
    match kind {
        "base64" => base64_source(source, &source_field),
        "url" => {
            let url = required_str(source, "url", &source_field)?;
            let url_field = format!("{source_field}.url");
            if url.starts_with("data:") {
                let (mime, data) = parse_data_url(url)
                    .ok_or_else(|| ConvertError::invalid(&url_field, "malformed data URL"))?;
                return Ok(inline_data(mime, data));
            }
            match images.get(url) {
                Some(image) => Ok(inline_data(&image.mime_type, &image.data_base64)),
                None => Err(ConvertError::invalid(
                    url_field,
                    "image could not be fetched",
                )),
            }
        }
        other => Err(ConvertError::invalid(
            format!("{source_field}.type"),
            format!("unsupported image source \"{other}\" (expected base64 or url)"),
        )),
    }
}

/// A `document` block: PDF (or other) base64 → `inlineData`, plain text → a text part, nested
/// `content` blocks → their text and images.
pub fn document_parts(
    obj: &Map<String, Value>,
    field: &str,
    images: &HashMap<String, InlineImage>,
) -> Result<Vec<Value>, ConvertError> {
    let (kind, source, source_field) = source_of(obj, field)?;
    match kind {
        "base64" => Ok(vec![base64_source(source, &source_field)?]),
        "text" => {
            let text = required_str(source, "data", &source_field)?;
            Ok((!text.is_empty())
                .then(|| json!({"text": text}))
                .into_iter()
                .collect())
        }
        "content" => {
            let mut parts = Vec::new();
            let blocks = match source.get("content") {
                Some(Value::String(text)) => return Ok(vec![json!({"text": text})]),
                Some(Value::Array(blocks)) => blocks,
                _ => {
                    return Err(ConvertError::invalid(
                        format!("{source_field}.content"),
                        "must be a string or an array of content blocks",
                    ))
                }
            };
            for (k, block) in blocks.iter().enumerate() {
                let block_field = format!("{source_field}.content.{k}");
                let (inner_kind, inner) = block_type(block, &block_field)?;
                match inner_kind {
                    "text" => {
                        parts.push(json!({"text": required_str(inner, "text", &block_field)?}))
                    }
                    "image" => parts.push(image_part(inner, &block_field, images)?),
                    other => {
                        return Err(ConvertError::invalid(
                            format!("{block_field}.type"),
                            format!("unsupported content block type \"{other}\" in a document"),
                        ))
                    }
                }
            }
            Ok(parts)
        }
        other => Err(ConvertError::invalid(
            format!("{source_field}.type"),
            format!("unsupported document source \"{other}\" (expected base64, text or content)"),
        )),
    }
}

/// Every http(s) image URL in the messages (tool results included), first occurrence order,
/// without duplicates. The caller fetches them before conversion.
pub fn collect_remote_image_urls(body: &AnthropicMessagesBody) -> Vec<String> {
    let mut urls = RemoteUrls::default();
    let messages = body.messages.as_ref().and_then(Value::as_array);
    for message in messages.into_iter().flatten() {
        let blocks = message.get("content").and_then(Value::as_array);
        for block in blocks.into_iter().flatten() {
            let nested = block.get("content").and_then(Value::as_array);
            for candidate in std::iter::once(block).chain(nested.into_iter().flatten()) {
                if candidate.get("type").and_then(Value::as_str) != Some("image") {
                    continue;
                }
                let Some(source) = candidate.get("source") else {
                    continue;
                };
                if source.get("type").and_then(Value::as_str) != Some("url") {
                    continue;
                }
                if let Some(url) = source.get("url").and_then(Value::as_str) {
                    urls.offer(url);
                }
            }
        }
    }
    urls.into_urls()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_drops_billing_header_and_empty_text() {
        let system = json!([
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1; cc_entrypoint=cli;"},
            {"type": "text", "text": "You are helpful.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": ""}
        ]);
        assert_eq!(
            system_parts(Some(&system)).unwrap(),
            vec![json!({"text": "You are helpful."})]
        );
        assert_eq!(
            system_parts(Some(&json!("be brief"))).unwrap(),
            vec![json!({"text": "be brief"})]
        );
        let err = system_parts(Some(&json!([{"type": "image"}]))).unwrap_err();
        assert_eq!(err.field(), "system.0.type");
    }

    #[test]
    fn images_from_base64_data_url_and_fetched_url() {
        let mut images = HashMap::new();
        images.insert(
            "https://img.example/a.png".to_owned(),
            InlineImage {
                mime_type: "image/png".into(),
                data_base64: "QQ==".into(),
            },
        );
        let block = |source: Value| json!({"type": "image", "source": source});
        let part = |b: Value| image_part(b.as_object().unwrap(), "m", &images);
        assert_eq!(
            part(block(
                json!({"type": "base64", "media_type": "image/jpeg", "data": "/9j/"})
            ))
            .unwrap(),
            json!({"inlineData": {"mimeType": "image/jpeg", "data": "/9j/"}})
        );
        assert_eq!(
            part(block(
                json!({"type": "url", "url": "data:image/gif;base64,R0lG"})
            ))
            .unwrap(),
            json!({"inlineData": {"mimeType": "image/gif", "data": "R0lG"}})
        );
        assert_eq!(
            part(block(
                json!({"type": "url", "url": "https://img.example/a.png"})
            ))
            .unwrap(),
            json!({"inlineData": {"mimeType": "image/png", "data": "QQ=="}})
        );
        let cases = [
            (
                block(json!({"type": "url", "url": "https://other.example/b.png"})),
                "m.source.url",
            ),
            (
                block(json!({"type": "base64", "media_type": "image/png", "data": "!!"})),
                "m.source.data",
            ),
            (
                block(json!({"type": "file", "file_id": "f"})),
                "m.source.type",
            ),
            (json!({"type": "image"}), "m.source"),
        ];
        for (b, field) in cases {
            assert_eq!(part(b.clone()).unwrap_err().field(), field, "{b}");
        }
    }

    #[test]
    fn documents_pdf_text_and_content() {
        let images = HashMap::new();
        let doc = |source: Value| {
            document_parts(
                json!({"type": "document", "source": source})
                    .as_object()
                    .unwrap(),
                "d",
                &images,
            )
        };
        assert_eq!(
            doc(json!({"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}))
                .unwrap(),
            vec![json!({"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}})]
        );
        assert_eq!(
            doc(json!({"type": "text", "media_type": "text/plain", "data": "plain"})).unwrap(),
            vec![json!({"text": "plain"})]
        );
        assert_eq!(
            doc(json!({"type": "content", "content": [{"type": "text", "text": "a"}]})).unwrap(),
            vec![json!({"text": "a"})]
        );
        assert_eq!(
            doc(json!({"type": "url", "url": "https://x/y.pdf"}))
                .unwrap_err()
                .field(),
            "d.source.type"
        );
    }

    #[test]
    fn remote_urls_are_collected_once_including_tool_results() {
        let body = AnthropicMessagesBody::from_value(json!({"messages": [
            {"role": "user", "content": [
                {"type": "image", "source": {"type": "url", "url": "https://a/x.png"}},
                {"type": "image", "source": {"type": "url", "url": "data:image/png;base64,AA"}},
                {"type": "tool_result", "tool_use_id": "t", "content": [
                    {"type": "image", "source": {"type": "url", "url": "HTTP://b/y.png"}},
                    {"type": "image", "source": {"type": "url", "url": "https://a/x.png"}}
                ]}
            ]},
            {"role": "user", "content": "text only"}
        ]}))
        .unwrap();
        assert_eq!(
            collect_remote_image_urls(&body),
            vec!["https://a/x.png".to_owned(), "HTTP://b/y.png".to_owned()]
        );
    }
}
