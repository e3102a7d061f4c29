//! Reading JSON request bodies ourselves, so malformed input gets our 400 (in the route scope's style,
//! see `error_style`) instead of a framework default.

use serde_json::Value;

use crate::error::ApiError;

pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "request body is empty; expected a JSON object",
        ));
    }
    check_containers(body)?;
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("request body must be a JSON object"));
    }
    Ok(value)
}

/// Objects and arrays one request body may hold. Parsing builds an ordered map or a vector for each,
/// so this, not the byte count, is what a 20 MB body costs: 487,000 tiny Gemini turns (1.5 million
/// containers) took a worker over a second of CPU and 600 MB to parse before the input limits could
/// refuse them. The bound is several times what a request within those limits holds (20,000 parts,
/// 512 tools with their schemas).
pub const MAX_JSON_CONTAINERS: usize = 250_000;

/// Refuses a body with more than [`MAX_JSON_CONTAINERS`] objects and arrays, counted in one pass
/// over the raw bytes (no allocation) before it is parsed. Malformed JSON passes through to the
/// parser, which names the error.
pub fn check_containers(body: &[u8]) -> Result<(), ApiError> {
    if count_containers(body, MAX_JSON_CONTAINERS) > MAX_JSON_CONTAINERS {
        return Err(ApiError::bad_request(format!(
            "request body holds more than {MAX_JSON_CONTAINERS} JSON objects and arrays"
        )));
    }
    Ok(())
}

/// `{` and `[` outside strings, counting stopped just past `limit`. UTF-8 continuation bytes are
/// never ASCII, so scanning bytes is exact for valid input.
fn count_containers(body: &[u8], limit: usize) -> usize {
    let mut count = 0;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if byte == b'"' {
            in_string = true;
        } else if byte == b'{' || byte == b'[' {
            count += 1;
            if count > limit {
                break;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_inside_strings_do_not_count() {
        let body = br#"{"a": [{"b": "{[{[ \" [{"}, []], "c": "\\"}"#;
        assert_eq!(count_containers(body, 100), 4);
    }

    #[test]
    fn counting_stops_past_the_limit() {
        let body = "[".repeat(1000);
        assert_eq!(count_containers(body.as_bytes(), 10), 11);
    }

    #[test]
    fn too_many_containers_are_refused_before_parsing() {
        let turn = r#"{"role":"user","parts":[{"text":"hi"}]},"#;
        let body = format!(
            r#"{{"contents":[{}{{}}]}}"#,
            turn.repeat(MAX_JSON_CONTAINERS / 3 + 1)
        );
        let err = parse_json(body.as_bytes()).unwrap_err();
        assert_eq!(actix_web::ResponseError::status_code(&err).as_u16(), 400);
        assert!(
            err.message.contains("JSON objects and arrays"),
            "{}",
            err.message
        );
        let fits = format!(r#"{{"contents":[{}{{}}]}}"#, turn.repeat(1000));
        assert!(parse_json(fits.as_bytes()).is_ok());
    }
}
