//! The one reader of a credential given in an environment variable: the JSON itself, or base64 of it
//! in any of the spellings people paste (standard or URL-safe alphabet, with or without `=` padding,
//! wrapped over several lines).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::{Map, Value};

/// Padding optional: `base64 -w0` writes it, many other tools leave it out.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Base64 in either alphabet, padded or not; line breaks and spaces (a wrapped paste) are ignored.
pub fn decode_base64(raw: &str) -> Option<Vec<u8>> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    STANDARD
        .decode(&compact)
        .or_else(|_| URL_SAFE.decode(&compact))
        .ok()
}

/// The JSON object in `raw` (JSON, or base64 of JSON); the error says which step failed, never
/// quoting the value (it is a secret).
pub fn json_object(raw: &str) -> Result<Map<String, Value>, String> {
    let raw = raw.trim();
    let text = if raw.starts_with('{') {
        raw.to_string()
    } else {
        let bytes =
            decode_base64(raw).ok_or_else(|| "neither JSON nor base64 of JSON".to_string())?;
        String::from_utf8(bytes).map_err(|_| "base64 does not decode to text".to_string())?
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err("not a JSON object".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose;

    /// Bytes whose encodings differ between the alphabets (`+/` vs `-_`) and need padding.
    const AWKWARD: &[u8] = &[0xfb, 0xff, 0xbf, 0x3e, 0x01];

    #[test]
    fn every_spelling_of_base64_decodes() {
        for encoded in [
            general_purpose::STANDARD.encode(AWKWARD),
            general_purpose::STANDARD_NO_PAD.encode(AWKWARD),
            general_purpose::URL_SAFE.encode(AWKWARD),
            general_purpose::URL_SAFE_NO_PAD.encode(AWKWARD),
        ] {
            assert_eq!(
                decode_base64(&encoded).as_deref(),
                Some(AWKWARD),
                "{encoded}"
            );
        }
        assert!(general_purpose::STANDARD.encode(AWKWARD).contains('+'));
        assert!(general_purpose::URL_SAFE.encode(AWKWARD).contains('-'));
    }

    #[test]
    fn wrapped_base64_decodes_and_garbage_does_not() {
        let json = r#"{"client_id":"c","client_secret":"s","refresh_token":"r"}"#;
        let encoded = general_purpose::STANDARD.encode(json);
        let (a, b) = encoded.split_at(20);
        assert_eq!(
            decode_base64(&format!("{a}\n  {b}\n")).as_deref(),
            Some(json.as_bytes())
        );
        assert_eq!(decode_base64("not base64!"), None);
        assert_eq!(decode_base64("  "), None);
    }

    #[test]
    fn json_object_reads_json_and_base64_and_names_failures() {
        let json = r#"{"api_key":"k"}"#;
        for raw in [
            json.to_string(),
            general_purpose::STANDARD.encode(json),
            general_purpose::URL_SAFE_NO_PAD.encode(json),
        ] {
            assert_eq!(json_object(&raw).unwrap()["api_key"], "k");
        }
        assert_eq!(
            json_object("%%%").unwrap_err(),
            "neither JSON nor base64 of JSON"
        );
        assert_eq!(
            json_object(&general_purpose::STANDARD.encode([0xff, 0xfe])).unwrap_err(),
            "base64 does not decode to text"
        );
        assert!(json_object("{").unwrap_err().starts_with("not valid JSON"));
        assert_eq!(
            json_object(&general_purpose::STANDARD.encode("[1]")).unwrap_err(),
            "not a JSON object"
        );
    }
}
