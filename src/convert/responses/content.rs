//! Responses content items (`input_text`, `output_text`, `refusal`, `input_image` by URL or data URL,
//! `input_file` as base64 data) → Gemini parts. Remote images must already be fetched by the caller.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::convert::gemini::fields::{required_non_empty, required_string};
use crate::convert::gemini::parts::InlineImage;
use crate::convert::gemini::parts::{inline_data, mime_for_filename, parse_data_url};
use crate::convert::ConvertError;

/// A message's `content` (a string or content items) → Gemini parts. Empty text is skipped.
pub fn content_parts(
    content: Option<&Value>,
    field: &str,
    images: &HashMap<String, InlineImage>,
) -> Result<Vec<Value>, ConvertError> {
    let text_part = |text: &str| (!text.is_empty()).then(|| json!({"text": text}));
    let items = match content {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) => return Ok(text_part(text).into_iter().collect()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ConvertError::invalid(
                format!("{field}.content"),
                "must be a string or an array of content items",
            ))
        }
    };
    let mut parts = Vec::new();
    for (j, item) in items.iter().enumerate() {
        let item_field = format!("{field}.content[{j}]");
        let Some(obj) = item.as_object() else {
            return Err(ConvertError::invalid(item_field, "must be an object"));
        };
        let kind = required_non_empty(obj, "type", &item_field)?;
        let part = match kind {
            "input_text" | "output_text" | "text" | "summary_text" | "reasoning_text" => {
                text_part(required_string(obj, "text", &item_field)?)
            }
            "refusal" => text_part(required_string(obj, "refusal", &item_field)?),
            "input_image" => Some(image_part(obj, &item_field, images)?),
            "input_file" => Some(file_part(obj, &item_field)?),
            other => {
                return Err(ConvertError::invalid(
                    format!("{item_field}.type"),
                    format!("unsupported content type \"{other}\""),
                ))
            }
        };
        parts.extend(part);
    }
    Ok(parts)
}

fn image_part(
    obj: &Map<String, Value>,
    field: &str,
    images: &HashMap<String, InlineImage>,
) -> Result<Value, ConvertError> {
    if obj.get("file_id").is_some_and(|id| !id.is_null()) && !obj.contains_key("image_url") {
        return Err(ConvertError::invalid(
            format!("{field}.file_id"),
            "uploaded file references are not supported; send image_url",
        ));
    }
    let url = required_non_empty(obj, "image_url", field)?;
    let url_field = format!("{field}.image_url");
    if url.starts_with("data:") {
        let (mime, data) = parse_data_url(url).ok_or_else(|| {
            ConvertError::invalid(
                &url_field,
                "malformed data URL (expected data:<mime type>;base64,<data>)",
            )
        })?;
        return Ok(inline_data(mime, data));
    }
    if is_remote(url) {
        return match images.get(url) {
            Some(image) => Ok(inline_data(&image.mime_type, &image.data_base64)),
            None => Err(ConvertError::invalid(
                url_field,
                "image could not be fetched",
            )),
        };
    }
    Err(ConvertError::invalid(
        url_field,
        "must be a data URL or an http(s) URL",
    ))
}

fn file_part(obj: &Map<String, Value>, field: &str) -> Result<Value, ConvertError> {
    let data_field = format!("{field}.file_data");
    let data = match obj.get("file_data") {
        Some(Value::String(data)) => data.as_str(),
        Some(_) => return Err(ConvertError::invalid(data_field, "must be a string")),
        None if obj.contains_key("file_id") || obj.contains_key("file_url") => {
            return Err(ConvertError::invalid(
                field,
                "file references (file_id, file_url) are not supported; send file_data",
            ))
        }
        None => return Err(ConvertError::invalid(data_field, "is required")),
    };
    if data.starts_with("data:") {
        let (mime, data) = parse_data_url(data).ok_or_else(|| {
            ConvertError::invalid(
                &data_field,
                "malformed data URL (expected data:<mime type>;base64,<data>)",
            )
        })?;
        return Ok(inline_data(mime, data));
    }
    let filename = obj.get("filename").and_then(Value::as_str).unwrap_or("");
    let mime = mime_for_filename(filename).unwrap_or("application/pdf");
    if data.is_empty()
        || !data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'='))
    {
        return Err(ConvertError::invalid(
            data_field,
            "must be a data URL or base64 data",
        ));
    }
    Ok(inline_data(mime, data))
}

/// Whether an image URL must be fetched by the caller before conversion.
pub fn is_remote(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}
