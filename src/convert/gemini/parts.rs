//! Gemini parts every dialect builds the same way: inline data (images, audio, files) from data URLs,
//! base64 or already-fetched remote images.

use serde_json::{json, Value};

/// A remote image fetched by the caller, keyed by its URL in the map given to `openai_to_gemini`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineImage {
    pub mime_type: String,
    pub data_base64: String,
}

pub fn inline_data(mime_type: &str, data: &str) -> Value {
    json!({"inlineData": {"mimeType": mime_type, "data": data}})
}

/// `data:<mime>[;params];base64,<data>` → (mime, data).
pub fn parse_data_url(url: &str) -> Option<(&str, &str)> {
    let (meta, data) = url.strip_prefix("data:")?.split_once(',')?;
    let meta = meta.strip_suffix(";base64")?;
    let mime = meta.split(';').next()?.trim();
    let valid_mime = mime
        .split_once('/')
        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty());
    (valid_mime && is_base64(data)).then_some((mime, data))
}

/// Standard or URL-safe alphabet, padding allowed; both are accepted upstream.
pub fn is_base64(data: &str) -> bool {
    !data.is_empty()
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'='))
}

pub fn mime_for_filename(filename: &str) -> Option<&'static str> {
    let (_, extension) = filename.rsplit_once('.')?;
    let mime = match extension.to_ascii_lowercase().as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "xml" => "text/xml",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "mp3" => "audio/mp3",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        _ => return None,
    };
    Some(mime)
}
