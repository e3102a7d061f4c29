//! OpenAI message `content` (a string or a list of typed parts) → Gemini parts: text, images,
//! audio and files. Remote images must already be fetched by the caller.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::convert::gemini::fields::required_string;
use crate::convert::gemini::parts::{
    inline_data, is_base64, mime_for_filename, parse_data_url, InlineImage,
};
use crate::convert::ConvertError;

/// `content` of the message at `field` (e.g. `messages[1]`) → Gemini parts. Empty text is skipped.
pub fn content_parts(
    content: Option<&Value>,
    field: &str,
    images: &HashMap<String, InlineImage>,
) -> Result<Vec<Value>, ConvertError> {
    match content {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(text_part(text).into_iter().collect()),
        Some(Value::Array(items)) => {
            let mut parts = Vec::new();
            for (j, item) in items.iter().enumerate() {
                let item_field = format!("{field}.content[{j}]");
                if let Some(part) = item_part(item, &item_field, images)? {
                    parts.push(part);
                }
            }
            Ok(parts)
        }
        Some(_) => Err(ConvertError::invalid(
            format!("{field}.content"),
            "must be a string, an array of content parts or null",
        )),
    }
}

/// The text of a tool result's `content`; parts are joined with newlines.
pub fn text_of_content(content: Option<&Value>, field: &str) -> Result<String, ConvertError> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Array(items)) => {
            let mut texts = Vec::new();
            for (j, item) in items.iter().enumerate() {
                let item_field = format!("{field}.content[{j}]");
                match item {
                    Value::String(text) => texts.push(text.clone()),
                    Value::Object(obj) if is_text_type(obj) => {
                        texts.push(required_string(obj, "text", &item_field)?.to_owned())
                    }
                    _ => return Err(ConvertError::invalid(item_field, "must be a text part")),
                }
            }
            Ok(texts.join("\n"))
        }
        Some(_) => Err(ConvertError::invalid(
            format!("{field}.content"),
            "must be a string, an array of text parts or null",
        )),
    }
}

fn is_text_type(obj: &Map<String, Value>) -> bool {
    matches!(
        obj.get("type").and_then(Value::as_str),
        Some("text" | "input_text" | "output_text")
    )
}

fn text_part(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| json!({"text": text}))
}

fn item_part(
    item: &Value,
    field: &str,
    images: &HashMap<String, InlineImage>,
) -> Result<Option<Value>, ConvertError> {
    let obj = match item {
        Value::String(text) => return Ok(text_part(text)),
        Value::Object(obj) => obj,
        _ => return Err(ConvertError::invalid(field, "must be an object")),
    };
    let kind = match obj.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        None | Some(Value::Null) => {
            return Err(ConvertError::invalid(
                format!("{field}.type"),
                "is required",
            ))
        }
        Some(_) => {
            return Err(ConvertError::invalid(
                format!("{field}.type"),
                "must be a string",
            ))
        }
    };
    match kind {
        "text" | "input_text" | "output_text" => {
            Ok(text_part(required_string(obj, "text", field)?))
        }
        "refusal" => Ok(text_part(required_string(obj, "refusal", field)?)),
        "image_url" => {
            let (url, url_field) = match obj.get("image_url") {
                Some(Value::String(url)) => (url.as_str(), format!("{field}.image_url")),
                Some(Value::Object(image)) => (
                    required_string(image, "url", &format!("{field}.image_url"))?,
                    format!("{field}.image_url.url"),
                ),
                _ => {
                    return Err(ConvertError::invalid(
                        format!("{field}.image_url"),
                        "is required",
                    ))
                }
            };
            image_part(url, &url_field, images).map(Some)
        }
        "input_audio" => audio_part(obj, field).map(Some),
        "file" => file_part(obj, field).map(Some),
        other => Err(ConvertError::invalid(
            format!("{field}.type"),
            format!("unsupported content part type \"{other}\""),
        )),
    }
}

fn image_part(
    url: &str,
    field: &str,
    images: &HashMap<String, InlineImage>,
) -> Result<Value, ConvertError> {
    if url.starts_with("data:") {
        let (mime, data) = parse_data_url(url).ok_or_else(|| {
            ConvertError::invalid(
                field,
                "malformed data URL (expected data:<mime type>;base64,<data>)",
            )
        })?;
        return Ok(inline_data(mime, data));
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return match images.get(url) {
            Some(image) => Ok(inline_data(&image.mime_type, &image.data_base64)),
            None => Err(ConvertError::invalid(field, "image could not be fetched")),
        };
    }
    Err(ConvertError::invalid(
        field,
        "must be a data URL or an http(s) URL",
    ))
}

fn audio_part(obj: &Map<String, Value>, field: &str) -> Result<Value, ConvertError> {
    let audio_field = format!("{field}.input_audio");
    let Some(Value::Object(audio)) = obj.get("input_audio") else {
        return Err(ConvertError::invalid(
            audio_field,
            "is required and must be an object",
        ));
    };
    let data = required_string(audio, "data", &audio_field)?;
    if let Some((mime, data)) = parse_data_url(data) {
        return Ok(inline_data(mime, data));
    }
    if !is_base64(data) {
        return Err(ConvertError::invalid(
            format!("{audio_field}.data"),
            "must be base64-encoded audio",
        ));
    }
    let format = required_string(audio, "format", &audio_field)?
        .trim()
        .to_ascii_lowercase();
    if format.is_empty() || !format.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ConvertError::invalid(
            format!("{audio_field}.format"),
            "must name an audio format such as wav or mp3",
        ));
    }
    Ok(inline_data(&format!("audio/{format}"), data))
}

fn file_part(obj: &Map<String, Value>, field: &str) -> Result<Value, ConvertError> {
    let file_field = format!("{field}.file");
    let Some(Value::Object(file)) = obj.get("file") else {
        return Err(ConvertError::invalid(
            file_field,
            "is required and must be an object",
        ));
    };
    let data = match file.get("file_data") {
        Some(Value::String(data)) => data.as_str(),
        Some(_) => {
            return Err(ConvertError::invalid(
                format!("{file_field}.file_data"),
                "must be a string",
            ))
        }
        None if file.contains_key("file_id") => {
            return Err(ConvertError::invalid(
                format!("{file_field}.file_id"),
                "uploaded file references are not supported; send file_data",
            ))
        }
        None => {
            return Err(ConvertError::invalid(
                format!("{file_field}.file_data"),
                "is required",
            ))
        }
    };
    if data.starts_with("data:") {
        let (mime, data) = parse_data_url(data).ok_or_else(|| {
            ConvertError::invalid(
                format!("{file_field}.file_data"),
                "malformed data URL (expected data:<mime type>;base64,<data>)",
            )
        })?;
        return Ok(inline_data(mime, data));
    }
    if !is_base64(data) {
        return Err(ConvertError::invalid(
            format!("{file_field}.file_data"),
            "must be a data URL or base64 data",
        ));
    }
    let filename = file.get("filename").and_then(Value::as_str).unwrap_or("");
    let mime = mime_for_filename(filename).ok_or_else(|| {
        ConvertError::invalid(
            format!("{file_field}.filename"),
            "cannot tell the file type; send file_data as a data URL",
        )
    })?;
    Ok(inline_data(mime, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(content: Value) -> Result<Vec<Value>, ConvertError> {
        let mut images = HashMap::new();
        images.insert(
            "https://example.com/cat.png".to_string(),
            InlineImage {
                mime_type: "image/png".into(),
                data_base64: "Y2F0".into(),
            },
        );
        content_parts(Some(&content), "messages[0]", &images)
    }

    #[test]
    fn every_part_kind_converts() {
        let out = parts(json!([
            {"type": "text", "text": "look "},
            "plain",
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/AA=="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "high"}},
            {"type": "image_url", "image_url": "data:image/gif;base64,R0lG"},
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
            {"type": "file", "file": {"file_data": "JVBERi0=", "filename": "report.PDF"}},
            {"type": "text", "text": ""}
        ]))
        .unwrap();
        assert_eq!(
            out,
            vec![
                json!({"text": "look "}),
                json!({"text": "plain"}),
                json!({"inlineData": {"mimeType": "image/jpeg", "data": "/9j/AA=="}}),
                json!({"inlineData": {"mimeType": "image/png", "data": "Y2F0"}}),
                json!({"inlineData": {"mimeType": "image/gif", "data": "R0lG"}}),
                json!({"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}}),
                json!({"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}}),
                json!({"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}}),
            ]
        );
    }

    #[test]
    fn data_url_parsing() {
        assert_eq!(
            parse_data_url("data:image/png;base64,AAAA"),
            Some(("image/png", "AAAA"))
        );
        assert_eq!(
            parse_data_url("data:image/svg+xml;charset=utf-8;base64,PHN2Zz4="),
            Some(("image/svg+xml", "PHN2Zz4="))
        );
        assert_eq!(parse_data_url("data:image/png,AAAA"), None);
        assert_eq!(parse_data_url("data:;base64,AAAA"), None);
        assert_eq!(parse_data_url("data:image/png;base64,"), None);
        assert_eq!(parse_data_url("data:image/png;base64,not base64!"), None);
    }

    #[test]
    fn content_errors_name_the_field() {
        let cases = [
            (json!(5), "messages[0].content", "must be a string"),
            (json!([5]), "messages[0].content[0]", "must be an object"),
            (
                json!([{"text": "x"}]),
                "messages[0].content[0].type",
                "is required",
            ),
            (
                json!([{"type": "video"}]),
                "messages[0].content[0].type",
                "unsupported content part type \"video\"",
            ),
            (
                json!([{"type": "text"}]),
                "messages[0].content[0].text",
                "is required",
            ),
            (
                json!([{"type": "image_url"}]),
                "messages[0].content[0].image_url",
                "is required",
            ),
            (
                json!([{"type": "image_url", "image_url": {"url": "data:image/png,xx"}}]),
                "messages[0].content[0].image_url.url",
                "malformed data URL",
            ),
            (
                json!([{"type": "image_url", "image_url": {"url": "https://example.com/dog.png"}}]),
                "messages[0].content[0].image_url.url",
                "image could not be fetched",
            ),
            (
                json!([{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]),
                "messages[0].content[0].image_url.url",
                "must be a data URL",
            ),
            (
                json!([{"type": "input_audio", "input_audio": {"data": "AAAA"}}]),
                "messages[0].content[0].input_audio.format",
                "is required",
            ),
            (
                json!([{"type": "input_audio", "input_audio": {"format": "wav"}}]),
                "messages[0].content[0].input_audio.data",
                "is required",
            ),
            (
                json!([{"type": "file", "file": {"file_id": "file-1"}}]),
                "messages[0].content[0].file.file_id",
                "uploaded file references are not supported",
            ),
            (
                json!([{"type": "file", "file": {"file_data": "AAAA", "filename": "x.bin"}}]),
                "messages[0].content[0].file.filename",
                "cannot tell the file type",
            ),
            (
                json!([{"type": "file", "file": {"file_data": "data:application/pdf,xx"}}]),
                "messages[0].content[0].file.file_data",
                "malformed data URL",
            ),
        ];
        for (content, field, detail) in cases {
            let err = parts(content.clone()).unwrap_err();
            assert_eq!(err.field(), field, "{content}");
            assert!(
                err.to_string().starts_with(&format!("{field}: {detail}")),
                "{err}"
            );
        }
    }

    #[test]
    fn tool_content_text_is_joined() {
        let content = json!([{"type": "text", "text": "a"}, "b"]);
        assert_eq!(
            text_of_content(Some(&content), "messages[2]").unwrap(),
            "a\nb"
        );
        let bad = json!([{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]);
        assert_eq!(
            text_of_content(Some(&bad), "messages[2]")
                .unwrap_err()
                .field(),
            "messages[2].content[0]"
        );
    }
}
