//! Google's own formats for the names that go into upstream URLs from a credential file or a client:
//! a Cloud location becomes part of a host name (`{location}-aiplatform.googleapis.com`) and a project
//! id a path segment. Anything else is refused before it reaches a URL, so a crafted value cannot send
//! a minted token to another host (`127.0.0.1:18053/steal?`) or walk the path (`../`, `?`, `#`).

/// Most bytes of a location or a project id (Google's own limits are lower: 30 for project ids).
const MAX_NAME: usize = 63;

/// A Cloud region or multi-region: lower-case words joined by `-`, the last may end in digits
/// (`us-central1`, `europe-west4`, `northamerica-northeast1`, `us`, `eu`, `global`).
pub fn is_location(text: &str) -> bool {
    if text.is_empty() || text.len() > MAX_NAME {
        return false;
    }
    let words: Vec<&str> = text.split('-').collect();
    let last = words.len().saturating_sub(1);
    words.iter().enumerate().all(|(i, word)| {
        let letters = word.trim_end_matches(|c: char| c.is_ascii_digit());
        let digits_ok = i == last || letters.len() == word.len();
        !letters.is_empty() && letters.bytes().all(|b| b.is_ascii_lowercase()) && digits_ok
    })
}

/// A project id: a lower-case letter, then lower-case letters, digits and hyphens, not ending in a
/// hyphen; optionally after a legacy `domain:` prefix (`example.com:my-project`).
pub fn is_project_id(text: &str) -> bool {
    let id = match text.rsplit_once(':') {
        Some((domain, id)) => {
            let domain_ok = !domain.is_empty()
                && domain.len() <= MAX_NAME
                && domain.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'
                });
            if !domain_ok {
                return false;
            }
            id
        }
        None => text,
    };
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME
        && bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes.last().is_some_and(|b| *b != b'-')
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_locations_pass_and_hosts_do_not() {
        for ok in [
            "us-central1",
            "europe-west4",
            "global",
            "us",
            "eu",
            "northamerica-northeast1",
            "me-central2",
        ] {
            assert!(is_location(ok), "{ok}");
        }
        for bad in [
            "127.0.0.1:18053/steal?",
            "",
            "US-central1",
            "us-central1.evil.com",
            "a-",
            "-a",
            "1us",
            "us1-central",
            "x".repeat(64).as_str(),
        ] {
            assert!(!is_location(bad), "{bad}");
        }
    }

    #[test]
    fn project_ids_are_one_plain_segment() {
        for ok in [
            "p1",
            "proj-x",
            "my-project-123456",
            "example.com:my-project",
        ] {
            assert!(is_project_id(ok), "{ok}");
        }
        for bad in [
            "", "../x", "a/b", "a?b", "a#b", "p%2F", "-a", "a-", "1abc", "Proj", "a b", ":a",
        ] {
            assert!(!is_project_id(bad), "{bad}");
        }
    }
}
