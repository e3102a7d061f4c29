//! Client-chosen names (models) and stored ids (projects, locations) as one path segment of an
//! upstream URL. Everything outside RFC 3986's unreserved characters is percent-encoded, so a name
//! cannot add a segment (`/`, `%2F` decoded by the client), a query (`?`), a fragment (`#`) or climb
//! the path (`..`), whatever the edge let through.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// All but the unreserved characters `A-Z a-z 0-9 - . _ ~`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` encoded as one path segment; `.` and `..` (which a URL resolver would follow) encoded too.
pub fn segment(text: &str) -> String {
    match text {
        "." => "%2E".to_string(),
        ".." => "%2E%2E".to_string(),
        _ => utf8_percent_encode(text, SEGMENT).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_one_segment() {
        assert_eq!(segment("gemini-2.5-pro"), "gemini-2.5-pro");
        assert_eq!(
            segment("gemini-2.5-flash/../../v1beta/cachedContents#"),
            "gemini-2.5-flash%2F..%2F..%2Fv1beta%2FcachedContents%23"
        );
        assert_eq!(segment("m?key=x"), "m%3Fkey%3Dx");
        assert_eq!(segment("a:b"), "a%3Ab");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("%2F"), "%252F");
    }
}
